"""The CLI contract: exit codes, one-line errors, `check --json` output."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.history import Op, write_jsonl
from tests.shared_data import PORCUPINE

DATA = PORCUPINE / "etcd"


def sb(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "harness.app.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["run", "--nodes", "0"], "--nodes"),
    (["run", "--rate", "-3"], "--rate"),
    (["run", "--nemesis", "chaos", "--time-limit", "1"], "unknown nemesis 'chaos'; installed:"),
    (["run", "--db", "postgres"], "unknown db 'postgres'; installed: kvstore"),
    (["run", "--option", "novalue"], "is not KEY=VALUE"),
    (["check", "/nonexistent/h.jsonl"], "no such file"),
    (["check", "x", "--format", "yaml"], "--format"),
    (["frobnicate"], "No such command"),
])
def test_bad_input_is_one_line_and_exit_254(args, needle):
    r = sb(*args)
    assert r.returncode == 254, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0] and "Traceback" not in r.stderr


def test_list_shows_builtins_registered_through_entry_points():
    r = sb("list")
    assert r.returncode == 0
    for name in ("kvstore", "register", "partition", "linearizable"):
        assert name in r.stdout


def test_check_json_contract_and_exit_codes(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    write_jsonl(tmp_path / "good" / "history.jsonl", [
        Op("invoke", "write", 0, key=1, value=1), Op("ok", "write", 0, key=1, value=1),
        Op("invoke", "read", 1, key=1), Op("ok", "read", 1, key=1, value=1)])
    write_jsonl(tmp_path / "bad" / "history.jsonl", [
        Op("invoke", "write", 0, key=1, value=1), Op("ok", "write", 0, key=1, value=1),
        Op("invoke", "read", 1, key=1), Op("ok", "read", 1, key=1, value=None)])
    r = sb("check", str(tmp_path / "good"), "--model", "cas-register", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["valid"] is True and "seconds" in out and out["path"].endswith("good")
    r = sb("check", str(tmp_path / "good"), str(tmp_path / "bad"), "--json")
    assert r.returncode == 1
    lines = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert [x["valid"] for x in lines] == [True, False]


def test_check_cli_on_etcd_logs_gives_known_verdicts():
    verdicts = {}
    for line in (DATA / "verdicts.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        f, v = line.split("\t")[:2]
        verdicts[f] = v == "true"
    files = sorted(verdicts)[:12]
    r = sb("check", *[str(DATA / f) for f in files], "--model", "cas-register",
           "--format", "jepsen-log", "--json")
    got = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert [Path(x["path"]).name for x in got] == files
    assert [x["valid"] for x in got] == [verdicts[f] for f in files]
    assert r.returncode == (0 if all(verdicts[f] for f in files) else 1)


def test_check_initial_state_is_an_option(tmp_path):
    path = tmp_path / "h.jsonl"
    write_jsonl(path, [Op("invoke", "read", 0, key=1), Op("ok", "read", 0, key=1, value=0)])
    assert sb("check", str(path)).returncode == 1  # nil initial: reading 0 is impossible
    assert sb("check", str(path), "--initial", "0").returncode == 0
    r = sb("check", str(path), "--initial", "zero")
    assert r.returncode == 254 and "--initial 'zero' is not JSON" in r.stderr


def test_list_a_plugin_by_name_shows_its_options():
    r = sb("list", "pause")
    assert r.returncode == 0, r.stderr
    assert "pause_targets" in r.stdout and "register" not in r.stdout
    r = sb("list", "--verbose")
    assert "option lease_ms" in r.stdout and "option keys" in r.stdout
    r = sb("list", "nope")
    assert r.returncode == 254 and "no plugin named 'nope'" in r.stderr


def test_a_bad_file_is_its_own_line_and_the_command_exits_254(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"type":"invoke","f":"read","process":0,"key":1}\n'
                    '{"type":"ok","f":"read","process":0,"key":1,"value":null}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"invoke","f":"zap","process":0}\n{"type":"ok","f":"zap","process":0}\n')
    r = sb("check", str(bad), str(good), "--model", "cas-register")
    assert r.returncode == 254, r.stderr
    assert "bad.jsonl: unknown" in r.stdout and "does not know f 'zap'" in r.stdout
    assert "good.jsonl: valid" in r.stdout   # the later file still got its verdict
    assert sb("check", str(good)).returncode == 0
