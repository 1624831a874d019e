"""Issue 12 on the command line: report --recheck on damaged run directories, nothing from a
history read as console markup, check's text output for people, run --test-count."""
from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from harness.app import cli
from harness.history import Op, write_jsonl
from harness.runtime import live
from harness.runtime.runner import LiveStats
from harness.spec import TestSpec

SPEC = TestSpec(name="t", workload="register", time_limit=5, seed=7)


def _main(*argv: str) -> int:
    with pytest.raises(SystemExit) as e:
        cli.main(list(argv))
    return int(e.value.code or 0)


def _run_dir(tmp_path: Path) -> Path:
    rd = tmp_path / "run"
    rd.mkdir()
    write_jsonl(rd / "history.jsonl", [
        Op("invoke", "write", 0, key=1, value=1, time=1, index=0),
        Op("ok", "write", 0, key=1, value=1, time=2, index=1),
        Op("invoke", "read", 1, key=1, time=3, index=2),
        Op("ok", "read", 1, key=1, value=1, time=4, index=3)])
    (rd / "test.json").write_text(SPEC.to_json())
    return rd


@pytest.mark.parametrize("content, needle", [
    (None, "test.json is missing"),
    ("{", "test.json is not readable JSON"),
    ("[1]", "a JSON object was expected, got list"),
    ('{"concurrency": "ten"}', "wrong type"),
    ('{"nodes": 5}', "wrong type"),
    ('{"bogus": 1}', "unknown test spec field"),
])
def test_recheck_with_a_bad_test_json_is_one_line_and_254(tmp_path, capsys, content, needle):
    rd = _run_dir(tmp_path)
    if content is None:
        (rd / "test.json").unlink()
    else:
        (rd / "test.json").write_text(content)
    assert _main("report", "--recheck", str(rd)) == 254
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err


def test_recheck_keeps_the_runs_own_record(tmp_path, capsys):
    rd = _run_dir(tmp_path)
    (rd / "results.json").write_text(json.dumps({
        "valid": "unknown", "interrupted": True, "errors": ["interrupted"],
        "run": {"started_at": "2026-01-02T03:04:05+00:00", "wall_seconds": 12.5,
                "splitbrain_version": "0.0.1", "run_dir": "elsewhere"}}))
    assert _main("report", "--recheck", str(rd)) == 0
    res = json.loads((rd / "results.json").read_text())
    assert res["run"]["started_at"] == "2026-01-02T03:04:05+00:00"
    assert res["run"]["wall_seconds"] == 12.5
    # An interrupted run cannot vouch for the system, however often it is checked again.
    assert res["interrupted"] is True and res["errors"] == ["interrupted"]
    assert res["valid"] == "unknown"


def _console_text(*lines: str) -> str:
    buf = io.StringIO()
    con = Console(file=buf, highlight=False, width=400, color_system=None)
    for line in lines:
        con.print(line)
    return buf.getvalue()


def test_check_text_output_is_for_people_and_keeps_brackets():
    res = {"valid": False, "seconds": 0.0123, "error": None, "keys": {
        None: {"valid": False, "explanation": "a cas value must be [old new], got 0"},
        "[link=https://evil.example]K[/link]": {"valid": False,
                                               "explanation": "values like [bold] stay"},
        7: {"valid": "unknown", "explanation": "search ran out of time"},
        8: {"valid": True, "explanation": "fine"}}}
    out = _console_text(*cli.check_lines("h[red]x[/red].jsonl", res))
    assert out.splitlines()[0] == "h[red]x[/red].jsonl: invalid (0.012 s)"
    assert "  a cas value must be [old new], got 0" in out  # no "key None"
    assert "key [link=https://evil.example]K[/link]: values like [bold] stay" in out
    assert "key 7: search ran out of time" in out
    assert "True" not in out and "None" not in out and "fine" not in out
    assert cli.check_lines("h", {"valid": True, "seconds": 1})[0].endswith("valid[/] (1.000 s)")
    one = cli.check_lines("h", {"valid": False, "keys": {"None": {"valid": False,
                                                                  "explanation": "e"}}})
    assert one[1] == "  e"


def test_verdict_and_errors_from_a_run_keep_their_brackets(capsys):
    cli._print_verdict(False, {
        "counts": {"ok": 1}, "checkers": {"set[bold]": {"valid": "unknown",
                                                         "error": "[old new] expected"}},
        "errors": ["[link=x]boom[/link]"]})
    err = capsys.readouterr().err
    assert "set[bold]: unknown  [old new] expected" in err
    assert "[link=x]boom[/link]" in err and "INVALID" in err


def test_live_display_escapes_names_and_faults():
    stats = LiveStats()
    stats.active_faults["start-[bold]x"] = "n1 [n2]"
    spec = TestSpec(name="t[red]", workload="register")
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(live._table(stats, spec, 0.0))
    assert "t[red]" in buf.getvalue() and "[bold]x: n1 [n2]" in buf.getvalue()
    assert live.plain("\ud800[b]") == "\\ud800\\[b]"


def test_an_error_line_keeps_its_brackets(tmp_path, capsys):
    assert _main("check", str(tmp_path / "[old new]")) == 254
    assert "[old new]" in capsys.readouterr().err


def test_test_count_repeats_with_consecutive_seeds_and_exits_with_the_worst(capsys):
    seen: list[int | None] = []
    verdicts: dict[int, Any] = {7: True, 8: False, 9: "unknown"}

    def run_one(s: TestSpec) -> Any:
        seen.append(s.seed)
        assert s.seed is not None
        return SimpleNamespace(valid=verdicts[s.seed], results={}, report=None,
                               run_dir=Path(f"store/t/run-{s.seed}"))

    assert cli.repeat_runs(SPEC, 3, run_one) == 1
    assert seen == [7, 8, 9]
    out = capsys.readouterr()
    assert out.out.splitlines() == ["store/t/run-7", "store/t/run-8", "store/t/run-9"]
    assert "run 2/3 (seed 8): invalid" in out.err
    verdicts[8] = True
    assert cli.repeat_runs(SPEC, 3, run_one, as_json=True) == 2
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["seed"] for x in lines] == [7, 8, 9]


def test_test_count_stops_after_an_interrupted_run():
    def run_one(s: TestSpec) -> Any:
        return SimpleNamespace(valid="unknown", results={"interrupted": True}, report=None,
                               run_dir=Path("r"))
    assert cli.repeat_runs(SPEC, 5, run_one) == 2


def test_run_has_test_count(capsys):
    assert _main("run", "--help") == 0
    assert "--test-count" in capsys.readouterr().out
