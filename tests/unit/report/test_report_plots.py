"""The report's pictures and derived numbers: digest, plots, witness, gapped timelines."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from harness.history import Op, write_jsonl
from harness.report import plots
from harness.report.digest import digest_lines
from harness.report.render import render_report, witness_indices
from harness.report.timeline import GappedScale, ops_chart

S = 1_000_000_000


def _line(**kw: Any) -> str:
    base = {"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "read", "key": 1,
            "value": None, "error": None}
    return json.dumps(base | kw)


def _calls(n: int, f: str = "read", lat_ms: float = 2.0, start: int = 0,
           typ: str = "ok") -> list[str]:
    out = []
    for i in range(n):
        t = start + i * 10_000_000
        out.append(_line(index=2 * i, time=t, process=i % 5, f=f))
        out.append(_line(index=2 * i + 1, time=t + int(lat_ms * 1e6), process=i % 5, f=f,
                         type=typ))
    return out


def test_digest_pairs_counts_and_skips_bad_lines():
    lines = _calls(3) + ["{torn", "", json.dumps([1, 2]), _line(time=-5)]
    lines += [_line(index=99, time=5 * S, process=7, f="write")]  # never completes
    lines += [_line(index=100, time=6 * S, process="nemesis", f="start-clock"),
              _line(index=101, time=6 * S + 1, process="nemesis", f="start-clock",
                    type="info", value={"clock_offsets": {"n1": 1.5, "n2": "x"}})]
    d = digest_lines(lines)
    assert d.counts["invoke"] == 4 and d.counts["ok"] == 3
    assert d.bad_lines == 3  # torn, a list, a negative time; the empty line is no op
    assert [c.type for c in d.calls] == ["ok", "ok", "ok", "open"]
    assert d.end_ns == 6 * S + 1
    assert d.clock_offsets() == [(6 * S + 1, {"n1": 1.5})]


def test_latency_quantiles_are_exact():
    lines = []
    for i in range(100):  # latencies 1..100 ms
        lines.append(_line(index=2 * i, time=i * S, process=0))
        lines.append(_line(index=2 * i + 1, time=i * S + (i + 1) * 1_000_000, process=0,
                           type="ok"))
    lines += _calls(4, f="write", lat_ms=7, start=200 * S)
    lines += _calls(4, f="cas", lat_ms=900, start=300 * S, typ="fail")  # not ok: left out
    q = {r["f"]: r for r in digest_lines(lines).latency_quantiles()}
    assert set(q) == {"read", "write", "all"}
    assert q["read"]["n"] == 100 and q["read"]["max"] == 100.0
    assert 49 <= q["read"]["p50"] <= 51 and 89 <= q["read"]["p90"] <= 91
    assert 98 <= q["read"]["p99"] <= 100 and q["write"]["p50"] == 7.0
    assert q["all"]["n"] == 104


def _svg(p: plots.Plot) -> str:
    assert p.uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(p.uri.split(",", 1)[1]).decode()


def test_plots_draw_and_escape_labels():
    bad_f = "<script>alert(1)</script> $x^2$"
    lines = _calls(50) + _calls(30, f=bad_f, typ="info", start=S)
    d = digest_lines(lines)
    windows = [{"f": "partition", "start_ns": 0, "end_ns": S // 2, "applied": True}]
    lat = plots.latency_plot(d, windows, 2.0)
    assert lat is not None and lat.width > 500
    svg = _svg(lat)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert "$x^2$" in svg  # a dollar in a value is text, not mathtext
    for fn in (plots.throughput_plot, plots.process_plot):
        assert fn(d, windows, 2.0) is not None
    assert plots.clock_plot(d, windows, 2.0) is None  # no clock ops, no picture
    assert plots.latency_plot(digest_lines([]), [], 1.0) is None


def test_scatter_and_timeline_are_capped_with_a_note(monkeypatch):
    monkeypatch.setattr(plots, "MAX_POINTS", 500)
    monkeypatch.setattr(plots, "MAX_TIMELINE_CALLS", 300)
    d = digest_lines(_calls(2000) + _calls(10, f="write", typ="fail", start=30 * S))
    lat = plots.latency_plot(d, [], 40.0)
    assert lat is not None and "500 of 2,010 points drawn" in lat.note
    kept, _ = plots._sample([c for c in d.calls], 500)
    assert sum(c.type == "fail" for c in kept) == 10  # every fail kept
    tl = plots.process_plot(d, [], 40.0, focus_ns=10 * S)
    assert tl is not None and "300 of 2,010 ops drawn" in tl.note
    assert "around the first anomaly" in tl.note


_WITNESS_OPS = [
    {"index": 1, "time": 11_800_000_000, "type": "invoke", "process": 3, "f": "read"},
    {"index": 2, "time": 11_850_000_000, "type": "invoke", "process": 1, "f": "write"},
    {"index": 3, "time": 11_902_000_000, "type": "ok", "process": 1, "f": "write"},
    {"index": 4, "time": 11_950_000_000, "type": "invoke", "process": 4, "f": "write"},
    {"index": 5, "time": 12_031_000_000, "type": "ok", "process": 3, "f": "read"}]
# The sentence names processes and times; the report must not read ops out of it.
_SENTENCE = ("no linearization explains read of 4 by process 3 (invoked at 11.800 s, ok at "
             "12.031 s): the value it could have read was 5 (write of 5 by process 1, ok at "
             "11.902 s)")


def test_witness_is_the_results_witness_field_never_the_explanation():
    ops = _WITNESS_OPS
    assert witness_indices({"witness": [1, 4], "explanation": _SENTENCE}, ops) == {1, 4}
    assert witness_indices({"witness": [4, "x", True]}, ops) == {4}
    # The checker that reports prefix_ops cites the minimal witness itself as its ops.
    assert witness_indices({"explanation": "x", "prefix_ops": 3}, ops) == {1, 2, 4}
    # Neither field: nothing is highlighted, whatever the explanation says.
    assert witness_indices({"explanation": _SENTENCE}, ops) == set()
    assert witness_indices({"explanation": None}, ops) == set()


def _anomaly_results(key_result: dict[str, Any]) -> dict[str, Any]:
    return {"valid": False, "checkers": {"linearizable": {
        "valid": False, "keys": {"3": {"valid": False, "op_count": 5, "ops": _WITNESS_OPS,
                                       "explanation": _SENTENCE} | key_result}}}}


def _witness_marks(doc: str) -> tuple[list[str], int]:
    """Indices of the outlined table rows, and the number of outlined timeline bars."""
    rows = re.findall(r'<tr class="witness"><td class="num">(\d+)</td>', doc)
    return rows, len(re.findall(r'<rect class="[^"]*\bwitness\b', doc))


def test_report_highlights_exactly_the_witness_ops(tmp_path):
    doc = render_report(_run(tmp_path, _anomaly_results({"witness": [1, 4]}), [])).read_text()
    rows, bars = _witness_marks(doc)
    # Invocations 1 and 4 outlined, in the witness table and in the table of all cited ops,
    # and their bars on the timeline; nothing else.
    assert sorted(rows) == ["1", "1", "4", "4"] and bars == 2
    # The witness table: those ops with their completions (1's is index 5), history order.
    table = doc[doc.index("<b>Minimal witness</b>"):doc.index("All 5 ops the checker cites")]
    assert re.findall(r'<tr(?: class="witness")?><td class="num">(\d+)</td>', table) == \
        ["1", "4", "5"]


def test_a_result_without_witness_highlights_nothing(tmp_path):
    doc = render_report(_run(tmp_path, _anomaly_results({}), [])).read_text()
    assert _witness_marks(doc) == ([], 0)
    assert "Minimal witness" not in doc


def test_gapped_scale_cuts_idle_time():
    times = [6.11e9, 6.16e9, 28.79e9, 28.85e9, 29.62e9, 29.82e9]
    g = GappedScale(times)
    assert g.compressed and len(g.breaks) == 1 and g.breaks[0][1] == "+22.6s"
    xs = [g.x(t) for t in times]
    assert xs == sorted(xs) and xs[0] == 70 and abs(xs[-1] - 930) < 1
    assert xs[2] - xs[1] >= 40  # the 22 s gap is a fixed, small break
    ops = [{"index": i, "time": t, "type": "invoke" if i % 2 == 0 else "ok",
            "process": i // 2, "f": "read"} for i, t in enumerate(times)]
    chart = ops_chart(ops, {0}, compress=True)
    assert chart is not None and chart.breaks and chart.edges
    assert [b.witness for b in chart.bars] == [True, False, False]
    assert min(b.w for b in chart.bars) > 20  # every op visible, none a sliver


def _run(tmp_path: Path, results: dict[str, Any], ops: list[Op]) -> Path:
    rd = tmp_path / "run"
    (rd / "nodes" / "n1").mkdir(parents=True)
    (rd / "test.json").write_text(json.dumps({"name": "t", "time_limit": 10, "seed": 3}))
    (rd / "results.json").write_text(json.dumps(results))
    write_jsonl(rd / "history.jsonl", ops)
    return rd


def test_report_draws_clock_offsets_and_lost_updates_table(tmp_path):
    ops = []
    for i in range(20):
        ops += [Op(type="invoke", f="add", process=i % 3, value=i, time=i * 100_000_000),
                Op(type="ok", f="add", process=i % 3, value=i, time=i * 100_000_000 + 5000)]
    ops += [Op(type="invoke", f="start-clock", process="nemesis", time=S),
            Op(type="info", f="start-clock", process="nemesis", time=S + 10,
               value={"clock_offsets": {"n1": 0.0, "n2": 2.5}, "description": "bump n2"}),
            Op(type="invoke", f="stop-clock", process="nemesis", time=3 * S),
            Op(type="info", f="stop-clock", process="nemesis", time=3 * S + 10,
               value={"clock_offsets": {"n1": 0.0, "n2": 0.0}})]
    ops = [o.with_(index=i) for i, o in enumerate(ops)]
    lost = [{"value": 7, "acked_at": 1.2, "note": "<b>gone</b>"}, {"value": 9}]
    results = {"valid": False, "checkers": {"set": {"valid": False, "lost": lost,
                                                    "recovered": [1, 2]}}}
    doc = render_report(_run(tmp_path, results, ops)).read_text()
    assert 'id="clocks"' in doc and doc.count("<img src=\"data:image/svg+xml") == 4
    assert "Lost updates" in doc
    table = doc[doc.index("Lost updates"):]
    assert "<th>acked_at</th>" in table and "&lt;b&gt;gone&lt;/b&gt;" in table
    assert "<h4>recovered</h4>" in doc
    # The summary: counts by f from the history when there is no stats checker.
    assert re.search(r'<td class="mono">add</td><td class="num">20</td>', doc)
    assert "bump n2" in doc
