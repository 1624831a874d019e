"""Issue 12 in the report: nothing from a run crashes it or lies on screen (lone surrogates,
bidi controls, a results.json that is not an object, the history's span), failures grouped
by cause, an op timeline with hover texts, and partition targets in the fault table."""
from __future__ import annotations

import html
import re

from harness.history import Op
from harness.report.digest import digest_lines
from harness.report.render import render_report
from harness.report.timeline import targets
from tests.unit.report.test_report import SPEC, _results, _run_dir, _text

S = 1_000_000_000


def _section(doc: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}".*?</section>', doc, re.S)
    assert m, sid
    return m.group(0)


def test_lone_surrogates_anywhere_render_escaped(tmp_path):
    rd = tmp_path / "run"
    rd.mkdir()
    # Valid JSON whose strings hold a lone surrogate: in the spec, the results and the history.
    (rd / "test.json").write_text('{"name": "x\\ud800", "workload": "register", '
                                  '"nemesis": ["partition\\ud800"], "time_limit": 5}')
    (rd / "results.json").write_text(
        '{"valid": false, "run": {"started_at": "\\udc00"}, "checkers": {"lin\\ud800": '
        '{"valid": false, "error": "e\\ud800", "keys": {"k\\ud800": {"valid": false, '
        '"explanation": "x\\ud800", "ops": [{"index": 0, "time": 1, "type": "invoke", '
        '"process": 0, "f": "w\\ud800", "value": "\\ud800"}]}}}}}')
    (rd / "history.jsonl").write_text(
        '{"index":0,"time":1000000,"type":"invoke","process":0,"f":"write\\ud800","value":"\\ud800"}\n'
        '{"index":1,"time":2000000,"type":"fail","process":0,"f":"write\\ud800","error":"bad\\ud800"}\n'
        '{"index":2,"time":3000000,"type":"info","process":"nemesis","f":"start-x\\ud800",'
        '"value":{"description":"\\ud800"}}\n')
    out = render_report(rd)  # raised UnicodeEncodeError (matplotlib, then the file write)
    doc = out.read_text(encoding="utf-8")
    assert "\\ud800" in doc and "\\udc00" in doc  # shown as the escape a person can read
    assert "write\\ud800" in _text(doc)


def test_bidi_controls_from_the_run_are_made_visible(tmp_path):
    rlo = "\u202e"
    ops = [Op("invoke", "write", 0, key=f"k{rlo}ey", value=f"{rlo}abc", time=S, index=0),
           Op("fail", "write", 0, key=f"k{rlo}ey", value=f"{rlo}abc", time=2 * S, index=1,
              error=f"refused {rlo}by n1")]
    results = _results(valid=False, anomaly=True)
    results["checkers"]["linearizable"]["keys"][f"z{rlo}"] = {
        "valid": False, "explanation": f"read {rlo}1 after write 2", "ops": []}
    rd = _run_dir(tmp_path, results, spec=SPEC | {"name": f"t{rlo}x"}, ops=ops)
    doc = render_report(rd).read_text(encoding="utf-8")
    # No raw bidi control anywhere; each shows as \u202e text.
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert ch not in doc
    assert "t\\u202ex" in doc and "read \\u202e1 after write 2" in doc


def test_results_that_are_not_an_object_are_not_called_missing(tmp_path):
    rd = _run_dir(tmp_path, None)
    (rd / "results.json").write_text("[1, 2]")
    text = _text(render_report(rd).read_text())
    assert "results.json is not a JSON object" in text
    assert "results.json is missing" not in text


def test_history_span_is_first_op_to_last(tmp_path):
    # _history runs from 1 s to 12.031 s in a 30 s test: the span is 11.0 s, not 30.0 s.
    doc = render_report(_run_dir(tmp_path, _results())).read_text()
    row = re.search(r"history spans</th><td>(.*?)</td>", doc, re.S)
    assert row and row.group(1).startswith("11.0 s"), row and row.group(1)


def test_error_kinds_strip_the_variable_parts():
    from harness.report.causes import error_kind

    assert error_kind("not-leader: leader is n3 (term 7)") == "not-leader"
    assert error_kind("not-leader: leader is n1 (term 12)") == "not-leader"
    assert error_kind("timed out after 1000 ms") == "timed out after N ms"
    assert error_kind("connect to 10.0.0.3:7000 refused") == "connect to ADDR refused"
    assert error_kind([":cas-mismatch", 3]) == "cas-mismatch"
    assert error_kind({"type": "unavailable", "node": "n2"}) == "unavailable"
    assert error_kind(None) == "(no error given)"


def _failing_history() -> list[Op]:
    ops: list[Op] = []
    for i in range(6):
        t = (i + 1) * S
        err = f"not-leader: leader is n{i % 3 + 1} (term {i + 7})"
        ops += [Op("invoke", "write", i, key=1, value=i, time=t),
                Op("fail", "write", i, key=1, value=i, time=t + 1000, error=err)]
    ops += [Op("invoke", "read", 9, key=1, time=3 * S),
            Op("info", "read", 9, key=1, time=3 * S + 5, error="timeout after 1000 ms"),
            Op("invoke", "cas", 10, key=1, value=[1, 2], time=4 * S),
            Op("fail", "cas", 10, key=1, value=[1, 2], time=4 * S + 5, error="cas-mismatch")]
    return [o.with_(index=i) for i, o in enumerate(ops)]


def test_failures_are_grouped_by_cause_per_f_and_over_time(tmp_path):
    from harness.report.causes import causes_by_f, causes_over_time

    d = digest_lines(o.to_dict() for o in _failing_history())
    rows = causes_by_f(d.calls)
    assert [(r["f"], r["kind"], r["fail"], r["info"]) for r in rows] == [
        ("cas", "cas-mismatch", 1, 0), ("read", "timeout after N ms", 0, 1),
        ("write", "not-leader", 6, 0)]
    assert rows[2]["sample"] == "not-leader: leader is n1 (term 7)"  # the first, whole
    ot = causes_over_time(d.calls, [{"f": "partition", "start_ns": 2 * S, "end_ns": 3 * S}],
                          10 * S)
    assert ot is not None and ot["width_s"] == 1
    nl = next(r for r in ot["rows"] if r["kind"] == "not-leader")
    assert nl["counts"][1:7] == [1, 1, 1, 1, 1, 1] and nl["total"] == 6
    assert ot["faults"][2] == ["partition"] and ot["faults"][5] == []

    rd = _run_dir(tmp_path, None, ops=_failing_history())
    doc = render_report(rd).read_text()
    sec = _section(doc, "causes")
    assert "not-leader" in sec and "leader is n1 (term 7)" in sec and "cas-mismatch" in sec
    # After "Latency & throughput", before the timeline.
    assert doc.index('id="performance"') < doc.index('id="causes"') < doc.index('id="timeline"')


def test_every_op_in_the_timeline_has_a_hover_text(tmp_path):
    doc = render_report(_run_dir(tmp_path, _results())).read_text()
    sec = _section(doc, "timeline")
    titles = [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", sec, re.S)]
    assert len(titles) == 3  # the three client ops of _history
    cas = next(t for t in titles if " cas " in t)
    for part in ("op 4", "process 1", "cas [4,1]", "→ info", "error: timeout"):
        assert part in cas, cas
    write = next(t for t in titles if " write " in t)
    assert "5.00 ms" in write and "→ ok" in write


def test_partition_targets_are_filled(tmp_path):
    value = {"grudge": {"n1": ["n4", "n5"], "n2": ["n4", "n5"], "n3": ["n4", "n5"],
                        "n4": ["n1", "n2", "n3"], "n5": ["n1", "n2", "n3"]},
             "shape": "halves", "description": "n1 n2 n3 | n4 n5"}
    assert targets(value) == "n1 n2 n3 n4 n5"
    assert targets({"grudge": {"n10": ["n2"], "n2": ["n10"], "n3": []}}) == "n2 n10"
    results = _results()
    results["faults"][0]["value"] = value
    doc = render_report(_run_dir(tmp_path, results)).read_text()
    row = re.search(r"<tr><td class=\"num\">1</td>.*?</tr>", _section(doc, "faults"), re.S)
    assert row and '<td class="mono">n1 n2 n3 n4 n5</td>' in row.group(0)
