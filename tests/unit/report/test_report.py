"""report.html: renders what a run left behind, escapes everything, fetches nothing."""
from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from harness.history import Op, write_jsonl
from harness.report.render import (
    compact,
    fault_chart,
    flat_checkers,
    ops_chart,
    render_html,
    render_report,
    secs,
)

XSS = "<script>alert(1)</script>"

SPEC: dict[str, Any] = {
    "name": "kvstore-register", "nodes": ["n1", "n2", "n3", "n4", "n5"], "concurrency": 10,
    "time_limit": 30.0, "rate": 100.0, "seed": 42, "db": "kvstore", "mode": "primary",
    "workload": "register", "nemesis": ["partition"], "nemesis_interval": 5.0,
    "options": {"keys": 5},
}


def _history() -> list[Op]:
    s = 1_000_000_000
    ops = [
        Op(type="invoke", f="write", process=0, key=3, value=4, time=1 * s),
        Op(type="ok", f="write", process=0, key=3, value=4, time=1 * s + 5_000_000),
        Op(type="invoke", f="start-partition", process="nemesis", time=5 * s),
        Op(type="info", f="start-partition", process="nemesis", time=5 * s + 1000,
           value={"grudge": {"n1": ["n4", "n5"]}, "description": "n1 n2 n3 | n4 n5"}),
        Op(type="invoke", f="cas", process=1, key=3, value=[4, 1], time=6 * s),
        Op(type="info", f="cas", process=1, key=3, value=[4, 1], time=8 * s,
           error="timeout"),
        Op(type="invoke", f="read", process=2, key=3, time=12 * s),
        Op(type="ok", f="read", process=2, key=3, value=1, time=12 * s + 31_000_000),
        Op(type="invoke", f="stop-partition", process="nemesis", time=10 * s),
        Op(type="info", f="stop-partition", process="nemesis", time=10 * s + 1000),
    ]
    return [op.with_(index=i) for i, op in enumerate(ops)]


def _results(valid: Any = True, anomaly: bool = False) -> dict[str, Any]:
    anomaly_ops = [o.to_dict() for o in _history() if o.key == 3]
    keys: dict[str, Any] = {"4": {"valid": True, "op_count": 200, "explanation": None,
                                  "ops": None}}
    if anomaly:
        keys["3"] = {"valid": False, "op_count": 180,
                     "explanation": "read of key 3 returned 1 at 12.031 s, but no write of 1 "
                                    "could have taken effect",
                     "ops": anomaly_ops}
    return {
        "valid": valid, "interrupted": False,
        "run": {"started_at": "2026-11-21T23:59:00Z", "wall_seconds": 41.2,
                "splitbrain_version": "0.1.0", "run_dir": "x"},
        "counts": {"invoke": 1200, "ok": 1000, "fail": 150, "info": 50},
        "faults": [{"f": "partition", "start_ns": 5_000_000_000, "end_ns": 10_000_000_000,
                    "applied": True, "error": None,
                    "value": {"grudge": {"n1": ["n4", "n5"]}},
                    "description": "n1 n2 n3 | n4 n5"}],
        "checkers": {
            "linearizable": {"valid": valid, "model": "cas-register", "seconds": 0.12,
                             "error": None, "keys": keys},
            "stats": {"valid": True, "by_f": {"read": {"ok": 400, "fail": 10, "info": 0}},
                      "warnings": ["cas never succeeded"]},
            "custom": {"valid": True, "nested": {"deep": [1, 2, 3]}},
        },
        "errors": [],
    }


def _run_dir(tmp_path: Path, results: dict[str, Any] | None, spec: dict[str, Any] = SPEC,
             ops: list[Op] | None = None) -> Path:
    rd = tmp_path / "store" / "kvstore-register" / "20261121T235900.000Z"
    (rd / "nodes" / "n1").mkdir(parents=True)
    (rd / "test.json").write_text(json.dumps(spec))
    write_jsonl(rd / "history.jsonl", _history() if ops is None else ops)
    if results is not None:
        (rd / "results.json").write_text(json.dumps(results))
    (rd / "harness.log").write_text("log\n")
    (rd / "nodes" / "n1" / "kvstore.log").write_text("node log\n")
    return rd


def _text(html_doc: str) -> str:
    """Visible text, roughly: tags stripped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", html_doc))


def test_valid_run_renders_every_section(tmp_path):
    rd = _run_dir(tmp_path, _results(valid=True))
    out = render_report(rd)
    assert out == rd / "report.html" and out.is_file()
    doc = out.read_text()
    for section in ("verdict", "test", "counts", "faults", "checkers", "files"):
        assert f'id="{section}"' in doc
    assert 'class="verdict valid"' in doc and "VALID" in doc
    text = _text(doc)
    assert "kvstore-register" in text and "n1, n2, n3, n4, n5" in text
    assert "2026-11-21T23:59:00Z" in text and "41.2 s" in text
    assert "1200" in text and "400" in text  # counts, and per-f counts from stats
    assert "n1 n2 n3 | n4 n5" in text and "5.000" in text and "10.000" in text
    assert "cas never succeeded" in text
    assert '"deep"' in text  # other checkers as pretty JSON
    assert "<details><summary>1 valid key</summary>" in doc
    assert "<svg" in doc  # fault timeline
    assert "is missing" not in text


def test_invalid_run_shows_anomaly_explanation_and_ops(tmp_path):
    rd = _run_dir(tmp_path, _results(valid=False, anomaly=True))
    doc = render_report(rd).read_text()
    assert 'class="verdict invalid"' in doc and "INVALID" in doc
    text = _text(doc)
    assert "no write of 1 could have taken effect" in text
    # The ops table of key 3: times with 3 decimals, values compact, errors shown.
    assert "12.031" in text and "[4,1]" in text and "timeout" in text
    assert "<th>index</th><th>time s</th><th>process</th>" in doc
    # Invalid keys come before the folded valid ones, with an ops timeline per process.
    assert doc.index("c1-key-1") < doc.index("valid key</summary>")
    assert "op-info open" in doc and "op-ok" in doc and ">p1<" in doc


def test_missing_results_still_renders_and_says_so(tmp_path):
    rd = _run_dir(tmp_path, results=None)
    doc = render_report(rd).read_text()
    text = _text(doc)
    assert "results.json is missing" in text and "UNKNOWN" in text
    assert "results.json (missing)" in text
    # Counts and fault windows recovered from the history itself.
    assert "from history.jsonl" in text and "n1 n2 n3 | n4 n5" in text


def test_empty_run_dir_renders(tmp_path):
    out = render_report(tmp_path)
    text = _text(out.read_text())
    for name in ("test.json", "results.json", "history.jsonl"):
        assert f"{name} is missing" in text


def test_malformed_inputs_do_not_crash(tmp_path):
    rd = _run_dir(tmp_path, results=None)
    (rd / "results.json").write_text("{not json")
    (rd / "history.jsonl").write_text('{"type": "bogus", "f": "x"}\n')
    text = _text(render_report(rd).read_text())
    assert "results.json could not be read" in text
    assert "history.jsonl could not be read" in text
    weird = {"valid": "maybe", "counts": [1], "faults": [3, {"f": None}],
             "checkers": {"a": 5, "b": {"keys": {"k": None, "j": {"valid": False, "ops": 7}}}},
             "run": "x", "errors": "boom", "fault_coverage": {"p": 1}}
    render_html({"options": [1], "nodes": 3}, weird, [], rd)


def test_everything_from_the_run_is_escaped(tmp_path):
    spec = {**SPEC, "name": XSS, "options": {XSS: XSS}}
    ops = _history()
    ops[7] = ops[7].with_(value=XSS)
    ops[3] = ops[3].with_(value={"description": XSS})
    results = _results(valid=False, anomaly=True)
    lin = results["checkers"]["linearizable"]
    bad = lin["keys"].pop("3")
    bad["explanation"] = f"explained {XSS}"
    bad["ops"][-1]["value"] = XSS
    bad["ops"][-1]["process"] = XSS
    lin["keys"][XSS] = bad
    results["faults"][0]["description"] = XSS
    results["errors"] = [XSS]
    results["checkers"][XSS] = {"valid": XSS, "error": XSS, "warnings": [XSS]}
    rd = _run_dir(tmp_path, results, spec=spec, ops=ops)
    (rd / "nodes" / "n1" / f'{XSS.replace("/", "_")}"x.log').write_text("x")
    (rd / "nodes" / "n2").mkdir()
    (rd / "nodes" / "n2" / "javascript:alert(1).log").write_text("x")
    doc = render_report(rd).read_text()
    assert "<script" not in doc.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "explained &lt;script&gt;" in doc
    assert "&lt;script&gt;alert(1)&lt;_script&gt;&#34;x.log" in doc  # link text
    assert 'href="nodes/n1/%3Cscript%3Ealert%281%29%3C_script%3E%22x.log"' in doc
    assert 'href="nodes/n2/javascript%3Aalert%281%29.log"' in doc
    # Values inside the SVG timeline (tooltips, labels) are escaped too.
    assert re.search(r"<title>[^<]*&lt;script&gt;", doc)


def test_no_external_resources(tmp_path):
    results = _results(valid=False, anomaly=True)
    results["errors"] = ["see https://example.com/x"]
    doc = render_report(_run_dir(tmp_path, results)).read_text()
    refs = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([^"' >)]*)""", doc, re.IGNORECASE)
    assert refs, "expected some relative links"
    for ref in refs:
        if ref.startswith("data:image/svg+xml;base64,"):
            continue  # the plots: inline images, nothing fetched
        assert not re.match(r"(?:[a-z][a-z0-9+.-]*:|//)", ref, re.IGNORECASE), ref[:200]
    assert "@import" not in doc and "<link" not in doc and "<script" not in doc


def test_big_history_is_not_embedded(tmp_path):
    ops = []
    for i in range(20_000):
        p = i % 10
        ops.append(Op(type="invoke", f="write", process=p, key=i % 7, value=i,
                      index=2 * i, time=i * 1000))
        ops.append(Op(type="ok", f="write", process=p, key=i % 7, value=i,
                      index=2 * i + 1, time=i * 1000 + 500))
    results = _results(valid=False, anomaly=True)
    results["checkers"]["linearizable"]["keys"]["3"]["ops"] = [o.to_dict() for o in ops[:1000]]
    results["checkers"]["linearizable"]["keys"].update(
        {str(k): {"valid": True, "op_count": 10} for k in range(10, 5000)})
    rd = _run_dir(tmp_path, results, ops=ops)
    t = time.monotonic()
    doc = render_report(rd).read_text()
    elapsed = time.monotonic() - t
    assert doc.count("<td class=\"num\">") < 20_000  # capped tables, not the history
    assert "Showing the first 200 of 1000 ops" in doc
    assert "more valid keys" in doc
    assert len(doc) < 2_000_000, (len(doc), elapsed)


@pytest.mark.parametrize("value,expected", [
    (None, "null"), ([1, [2, None]], "[1,[2,null]]"), ("é", '"é"'), (10**40, str(10**40)),
    ({"a": 1}, '{"a":1}'),
])
def test_compact_is_json(value, expected):
    assert compact(value) == expected


def test_compact_truncates_and_survives_unprintable_values():
    s = compact(list(range(1000)))
    assert len(s) == 80 and s.endswith("…")
    assert compact(10**5000).startswith("<unprintable")
    assert compact({1, 2}) == '"{1, 2}"'  # not JSON: repr'd, as a string


def test_secs_formats_ns():
    assert secs(12_031_000_000) == "12.031" and secs(None) == "—" and secs(-1) == "—"


def test_charts_geometry():
    ops = [o.to_dict() for o in _history() if o.key == 3]
    chart = ops_chart(ops)
    assert chart is not None and [r[1] for r in chart.rows] == ["p0", "p1", "p2"]
    info = [b for b in chart.bars if b.cls == "op-info"]
    assert len(info) == 1 and info[0].open
    assert abs(info[0].x + info[0].w - (70 + 860)) < 1  # runs to the right edge
    assert ops_chart([]) is None
    fc = fault_chart([{"f": "partition", "start_ns": 0, "end_ns": None}], 10e9)
    assert fc is not None and fc.bars[0].open and fc.ticks


def _checkers_section(doc: str) -> str:
    return doc[doc.index('<section id="checkers">'):doc.index('<section id="files">')]


def test_flat_and_nested_checker_results_render_alike(tmp_path):
    lost = [{"value": 7, "acked_at": 1.2}]
    flat = {"set-full": {"valid": False, "lost": lost},
            "set": {"valid": True, "ok_count": 10},
            "stats": {"valid": True, "by_f": {"add": {"ok": 10, "fail": 0, "info": 0}}}}
    # How runs stored before the runtime wrote checkers flat: the workload's composed.
    nested = {"workload": {"valid": False, "seconds": 0.1,
                           "checkers": {"set-full": flat["set-full"], "set": flat["set"]}},
              "stats": flat["stats"]}
    assert flat_checkers(nested) == flat and flat_checkers(flat) == flat
    docs = []
    for checkers in (flat, nested):
        rd = _run_dir(tmp_path / str(len(docs)), {"valid": False, "checkers": checkers})
        docs.append(_checkers_section(render_report(rd).read_text()))
    assert docs[0] == docs[1]
    assert [m for m in re.findall(r"<h3>(\S+) ", docs[0])] == ["set-full", "set", "stats"]
    assert "Lost updates" in docs[0] and "<th>acked_at</th>" in docs[0]


def test_nested_names_that_clash_keep_their_parent():
    nested = {"workload": {"checkers": {"stats": {"valid": True}, "keyed": {
        "valid": False, "checkers": {"x": {"valid": False}}}}}, "stats": {"valid": True}}
    assert list(flat_checkers(nested)) == ["workload/stats", "x", "stats"]
    keyed = {"linearizable": {"valid": False, "keys": {}, "checkers": {"a": {}}}}
    assert flat_checkers(keyed) == keyed  # a per-key result is a leaf, whatever else it has
