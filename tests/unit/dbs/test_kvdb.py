"""KVStoreDB against a recording fake remote: which commands it issues, and when."""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from dbs.kvstore.db import DATA_DIR, INSTALL_DIR, LOG_FILE, PID_FILE, KVStoreDB, source_dir
from harness import registry
from harness.api import DB, Context, HasLogFiles, HasPrimaries, Killable, Pausable, Result
from harness.errors import ConfigError, RemoteError


@dataclass
class RecordingRemote:
    """Records every call; ``answer(command_str) -> (exit, stdout)`` scripts replies."""

    node: str
    answer: object = None
    calls: list = field(default_factory=list)

    def run(self, command, *, timeout=30.0, check=True, stdin=None):
        cmd = command if isinstance(command, str) else shlex.join(command)
        self.calls.append(("run", cmd))
        code, out = self.answer(cmd) if self.answer else (0, "")
        if check and code != 0:
            raise RemoteError(self.node, cmd, code, "")
        return Result(self.node, cmd, code, out, "")

    def upload(self, local, remote, *, timeout=60.0):
        self.calls.append(("upload", (str(local), remote)))

    def download(self, remote, local, *, timeout=60.0):
        self.calls.append(("download", (remote, str(local))))

    def runs(self):
        return [c for kind, c in self.calls if kind == "run"]


def make_ctx(mode="primary", nodes=("n1", "n2", "n3"), options=None, extra=None, answer=None):
    spec = SimpleNamespace(nodes=list(nodes), mode=mode, options=options or {}, seed=4)
    remotes = {n: RecordingRemote(n, answer) for n in nodes}
    return Context(spec=spec, nodes=list(nodes), remotes=remotes,
                   ips={n: f"10.0.0.{i}" for i, n in enumerate(nodes, 2)},
                   run_dir=Path("/tmp"), log=lambda s: None, extra=extra or {})


def start_cmd(remote):
    return next(c for c in remote.runs() if "setsid" in c)


def test_is_registered_and_has_every_capability():
    db = registry.load("db", "kvstore")()
    assert isinstance(db, KVStoreDB)
    for proto in (DB, Killable, Pausable, HasLogFiles, HasPrimaries):
        assert isinstance(db, proto), proto
    assert "primary" in db.modes and "raft" in db.modes


def test_setup_uploads_wipes_starts_and_waits():
    ctx = make_ctx()
    KVStoreDB().setup(ctx, "n2")
    r = ctx.remotes["n2"]
    uploads = [c for kind, c in r.calls if kind == "upload"]
    names = {Path(local).name for local, _ in uploads}
    assert {"kvstore.py", "kv_state.py", "kv_wire.py", "kv_primary.py"} <= names
    assert names == {p.name for p in source_dir().glob("*.py")}
    assert all(dest == f"{INSTALL_DIR}/{Path(local).name}" for local, dest in uploads)
    runs = r.runs()
    wipe = next(i for i, c in enumerate(runs) if f"rm -rf {DATA_DIR}" in c)
    start = next(i for i, c in enumerate(runs) if "setsid" in c)
    probe = next(i for i, c in enumerate(runs) if "create_connection" in c)
    assert wipe < start < probe
    cmd = runs[start]
    for part in ("--node n2", "--nodes n1,n2,n3", "--mode primary", "--port 7000",
                 f"--pid-file {PID_FILE}", f"--log-file {LOG_FILE}", f">>{LOG_FILE} 2>&1",
                 "</dev/null &", f"python3 {INSTALL_DIR}/kvstore.py"):
        assert part in cmd, part


def test_port_mode_and_extra_args_come_from_the_spec():
    ctx = make_ctx(mode="raft", options={"port": 7100, "kvstore_args": ["--heartbeat-ms", 20]})
    KVStoreDB().start(ctx, "n1")
    cmd = start_cmd(ctx.remotes["n1"])
    assert "--mode raft" in cmd and "--port 7100" in cmd and "--heartbeat-ms 20" in cmd


def test_empty_mode_means_primary_and_unknown_mode_lists_modes():
    ctx = make_ctx(mode="")
    KVStoreDB().start(ctx, "n1")
    assert "--mode primary" in start_cmd(ctx.remotes["n1"])
    ctx = make_ctx(mode="sloppy")
    with pytest.raises(ConfigError, match="primary, raft"):
        KVStoreDB().setup(ctx, "n1")
    assert ctx.remotes["n1"].calls == [], "nothing done on the node for a bad mode"


def test_db_env_is_merged_into_the_start_command():
    env = {"LD_PRELOAD": "/usr/lib/faketime/libfaketime.so.1", "n2": {"FAKETIME": "+5s"}}
    ctx = make_ctx(extra={"db_env": env})
    db = KVStoreDB()
    db.start(ctx, "n1")
    db.start(ctx, "n2")
    c1, c2 = start_cmd(ctx.remotes["n1"]), start_cmd(ctx.remotes["n2"])
    assert "env LD_PRELOAD=/usr/lib/faketime/libfaketime.so.1 python3" in c1
    assert "FAKETIME" not in c1
    assert "env FAKETIME=+5s LD_PRELOAD=" in c2


def test_kill_is_sigkill_by_pidfile_and_start_keeps_data():
    ctx = make_ctx()
    db = KVStoreDB()
    db.kill(ctx, "n3")
    db.start(ctx, "n3")
    kill, start = ctx.remotes["n3"].runs()[0], ctx.remotes["n3"].runs()[1]
    assert 'kill -9 "$P"' in kill and PID_FILE in kill
    assert "setsid" in start and f"rm -rf {DATA_DIR}" not in " ".join(ctx.remotes["n3"].runs())
    # start does nothing if the pidfile names a live kvstore
    assert 'if [ -z "$P" ]' in start


def test_pause_and_resume_signal_the_pid():
    ctx = make_ctx()
    db = KVStoreDB()
    db.pause(ctx, "n1")
    db.resume(ctx, "n1")
    pause, resume = ctx.remotes["n1"].runs()
    assert 'kill -STOP "$P"' in pause and 'kill -CONT "$P"' in resume
    assert PID_FILE in pause


def test_teardown_kills_then_wipes():
    ctx = make_ctx()
    KVStoreDB().teardown(ctx, "n1")
    kill, wipe = ctx.remotes["n1"].runs()
    assert "kill -9" in kill and wipe == f"rm -rf {DATA_DIR}"


def test_start_that_never_answers_raises_with_the_log_tail():
    def answer(cmd):
        if "create_connection" in cmd:
            return 1, ""
        if cmd.startswith("tail"):
            return 0, "OSError: [Errno 98] Address already in use\n"
        return 0, ""

    ctx = make_ctx(answer=answer)
    with pytest.raises(RemoteError) as e:
        KVStoreDB().start(ctx, "n1")
    assert e.value.node == "n1" and "Address already in use" in str(e.value)
    assert "did not answer on port 7000" in str(e.value)


def test_log_files_and_primaries():
    db = KVStoreDB()
    ctx = make_ctx()
    assert db.log_files(ctx, "n1") == [LOG_FILE]
    assert db.primaries(ctx) == ["n1"]

    def status_answer(node):
        role = "leader" if node == "n2" else "follower"
        return lambda cmd: (0, json.dumps({"id": 1, "ok": True, "value": {"role": role}}))

    ctx = make_ctx(mode="raft")
    for node, r in ctx.remotes.items():
        r.answer = status_answer(node)
    ctx.remotes["n3"].answer = lambda cmd: (1, "")  # down: not a leader
    assert db.primaries(ctx) == ["n2"]
