"""KVStoreDB against a recording fake remote: which commands it issues, and when."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbs.kvstore.client import KVClient, KVError
from dbs.kvstore.db import DATA_DIR, INSTALL_DIR, LOG_FILE, MODES, PID_FILE, KVStoreDB, source_dir
from harness import registry
from harness.api import (
    DB,
    HasKV,
    HasLogFiles,
    HasModes,
    HasPrimaries,
    Killable,
    KVAdd,
    KVAppend,
    KVIncr,
    Mode,
    Pausable,
    StoreError,
)
from harness.errors import ConfigError, RemoteError, SplitbrainError
from harness.spec import TestSpec


@pytest.fixture
def kv_ctx(make_ctx):
    """``kv_ctx(mode=, nodes=, options=, extra=, answer=)``: a Context over FakeRemotes
    (each answering ``answer(command)``) for a spec with that mode and seed 4."""
    def make(mode="primary", nodes=("n1", "n2", "n3"), options=None, extra=None,
             answer=None):
        spec = TestSpec(nodes=nodes, mode=mode, options=dict(options or {}), seed=4)
        ctx = make_ctx(nodes=nodes, spec=spec, log=lambda s: None,
                       responses={n: answer for n in nodes} if answer else None)
        ctx.extra.update(extra or {})
        return ctx
    return make


def start_cmd(remote):
    return next(c for c in remote.commands if "setsid" in c)


def test_is_registered_and_has_every_capability():
    db = registry.load("db", "kvstore")()
    assert isinstance(db, KVStoreDB)
    for proto in (DB, HasModes, HasKV, Killable, Pausable, HasLogFiles, HasPrimaries):
        assert isinstance(db, proto), proto
    assert all(isinstance(m, Mode) for m in db.modes)
    assert {m.name for m in db.modes} == {"primary", "raft", "lease", "fenced", "lww", "async"}


def test_the_default_mode_is_raft_and_the_expectations_are_the_campaigns():
    assert MODES[0].name == "raft"  # the default: TestSpec(mode="") and the CLI take it
    want = {"raft": True, "primary": True, "fenced": True,
            "lease": False, "lww": False, "async": False}
    for m in MODES:
        assert m.promise and m.promise == m.promise.strip()
        for nemesis in ("none", "partition", "pause", "kill", "clock", "packet",
                        "partition+clock"):
            assert m.expected(nemesis) is want[m.name], (m.name, nemesis)


def test_kv_is_a_client_of_the_node_with_every_capability(kv_ctx):
    ctx = kv_ctx(options={"port": "7100", "client_timeout": 0.25})
    kv = KVStoreDB().kv(ctx, "n2")
    assert isinstance(kv, KVClient)
    for proto in (KVIncr, KVAppend, KVAdd):
        assert isinstance(kv, proto), proto
    assert (kv.host, kv.port, kv.timeout) == (ctx.ips["n2"], 7100, 0.25)
    assert issubclass(KVError, StoreError) and issubclass(KVError, SplitbrainError)


def test_a_bad_option_is_one_config_error_line(kv_ctx):
    with pytest.raises(ConfigError, match="option port='seven' is not an int"):
        KVStoreDB().start_command(kv_ctx(options={"port": "seven"}), "n1")
    with pytest.raises(ConfigError, match="option lease_ms='long' is not an int"):
        KVStoreDB().start_command(kv_ctx(mode="lease", options={"lease_ms": "long"}), "n1")


def test_setup_uploads_wipes_starts_and_waits(kv_ctx):
    ctx = kv_ctx()
    KVStoreDB().setup(ctx, "n2")
    r = ctx.remotes["n2"]
    uploads = r.uploads
    names = {Path(local).name for local, _ in uploads}
    assert {"kvstore.py", "kv_state.py", "kv_wire.py", "kv_primary.py"} <= names
    assert names == {p.name for p in source_dir().glob("*.py")}
    assert all(dest == f"{INSTALL_DIR}/{Path(local).name}" for local, dest in uploads)
    runs = r.commands
    wipe = next(i for i, c in enumerate(runs) if f"rm -rf {DATA_DIR}" in c)
    start = next(i for i, c in enumerate(runs) if "setsid" in c)
    probe = next(i for i, c in enumerate(runs) if "create_connection" in c)
    assert wipe < start < probe
    cmd = runs[start]
    for part in ("--node n2", "--nodes n1,n2,n3", "--mode primary", "--port 7000",
                 f"--pid-file {PID_FILE}", f"--log-file {LOG_FILE}", f">>{LOG_FILE} 2>&1",
                 "</dev/null &", f"python3 {INSTALL_DIR}/kvstore.py"):
        assert part in cmd, part


def test_port_mode_and_extra_args_come_from_the_spec(kv_ctx):
    ctx = kv_ctx(mode="raft", options={"port": 7100, "kvstore_args": ["--heartbeat-ms", 20]})
    KVStoreDB().start(ctx, "n1")
    cmd = start_cmd(ctx.remotes["n1"])
    assert "--mode raft" in cmd and "--port 7100" in cmd and "--heartbeat-ms 20" in cmd


def test_empty_mode_means_the_default_and_unknown_mode_lists_modes(kv_ctx):
    ctx = kv_ctx(mode="")
    KVStoreDB().start(ctx, "n1")
    assert "--mode raft" in start_cmd(ctx.remotes["n1"])
    ctx = kv_ctx(mode="sloppy")
    with pytest.raises(ConfigError, match="raft, primary, lease, fenced, lww, async"):
        KVStoreDB().setup(ctx, "n1")
    r = ctx.remotes["n1"]
    assert r.calls == [] and r.uploads == [], "nothing done on the node for a bad mode"


def test_db_env_is_merged_into_the_start_command(kv_ctx):
    env = {"LD_PRELOAD": "/usr/lib/faketime/libfaketime.so.1", "n2": {"FAKETIME": "+5s"}}
    ctx = kv_ctx(extra={"db_env": env})
    db = KVStoreDB()
    db.start(ctx, "n1")
    db.start(ctx, "n2")
    c1, c2 = start_cmd(ctx.remotes["n1"]), start_cmd(ctx.remotes["n2"])
    assert "env LD_PRELOAD=/usr/lib/faketime/libfaketime.so.1 python3" in c1
    assert "FAKETIME" not in c1
    assert "env FAKETIME=+5s LD_PRELOAD=" in c2


def test_kill_is_sigkill_by_pidfile_and_start_keeps_data(kv_ctx):
    ctx = kv_ctx()
    db = KVStoreDB()
    db.kill(ctx, "n3")
    db.start(ctx, "n3")
    kill, start = ctx.remotes["n3"].commands[0], ctx.remotes["n3"].commands[1]
    assert 'kill -9 "$P"' in kill and PID_FILE in kill
    assert "setsid" in start and f"rm -rf {DATA_DIR}" not in " ".join(ctx.remotes["n3"].commands)
    # start does nothing if the pidfile names a live kvstore
    assert 'if [ -z "$P" ]' in start


def test_pause_and_resume_signal_the_pid(kv_ctx):
    ctx = kv_ctx()
    db = KVStoreDB()
    db.pause(ctx, "n1")
    db.resume(ctx, "n1")
    pause, resume = ctx.remotes["n1"].commands
    assert 'kill -STOP "$P"' in pause and 'kill -CONT "$P"' in resume
    assert PID_FILE in pause


def test_teardown_kills_then_wipes(kv_ctx):
    ctx = kv_ctx()
    KVStoreDB().teardown(ctx, "n1")
    kill, wipe = ctx.remotes["n1"].commands
    assert "kill -9" in kill and wipe == f"rm -rf {DATA_DIR}"


def test_start_that_never_answers_raises_with_the_log_tail(kv_ctx):
    def answer(cmd):
        if "create_connection" in cmd:
            return 1, ""
        if cmd.startswith("tail"):
            return 0, "OSError: [Errno 98] Address already in use\n"
        return 0, ""

    ctx = kv_ctx(answer=answer)
    with pytest.raises(RemoteError) as e:
        KVStoreDB().start(ctx, "n1")
    assert e.value.node == "n1" and "Address already in use" in str(e.value)
    assert "did not answer on port 7000" in str(e.value)


def test_log_files_and_primaries(kv_ctx, make_ctx):
    db = KVStoreDB()
    ctx = kv_ctx()
    assert db.log_files(ctx, "n1") == [LOG_FILE]
    assert db.primaries(ctx) == ["n1"]

    def status_answer(node):
        role = "leader" if node == "n2" else "follower"
        return lambda cmd: (0, json.dumps({"id": 1, "ok": True, "value": {"role": role}}))

    nodes = ("n1", "n2", "n3")
    answers = {n: status_answer(n) for n in nodes}
    answers["n3"] = lambda cmd: (1, "")  # down: not a leader
    ctx = make_ctx(nodes=nodes, spec=TestSpec(nodes=nodes, mode="raft"), responses=answers)
    assert db.primaries(ctx) == ["n2"]


def test_kvstore_db_passes_mode_knobs_as_server_flags(kv_ctx):
    ctx = kv_ctx(mode="lease", nodes=("n1", "n2"),
                 options={"lease_ms": 5000, "kvstore_args": "--clock-offset -2"})
    cmd = KVStoreDB().start_command(ctx, "n1")
    assert "--mode lease" in cmd and "--lease-ms 5000" in cmd and "--clock-offset -2" in cmd
    assert "--failover-ms" not in cmd and "--sync-ms" not in cmd  # only the knobs given


@pytest.mark.parametrize("mode, roles, want", [
    ("lww", {}, ["n1", "n2", "n3"]),                        # every node takes writes
    ("async", {"n1": "primary", "n2": "primary", "n3": "backup"}, ["n1", "n2"]),  # split
    ("lease", {"n1": "follower", "n2": "leader", "n3": None}, ["n2"]),
    ("fenced", {"n1": "leader", "n2": "follower", "n3": "follower"}, ["n1"]),
])
def test_primaries_by_mode(monkeypatch, kv_ctx, mode, roles, want):
    ctx = kv_ctx(mode=mode)
    monkeypatch.setattr(KVStoreDB, "status",
                        lambda self, ctx, node: {"role": roles[node]} if roles.get(node) else None)
    assert KVStoreDB().primaries(ctx) == want
