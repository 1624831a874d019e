"""KVStoreDB: the db plugin ("kvstore") that deploys splitbrain's own key-value store.

``setup`` copies docker/kvstore onto the node (it is not baked into the image, so an edit to
the store needs no image rebuild), wipes the data dir, starts the server detached and waits
until it answers on its port from inside the node. Everything goes through ``ctx.remotes``.

Capabilities: DB, Killable (SIGKILL by pidfile / restart keeping data), Pausable
(SIGSTOP / SIGCONT), HasLogFiles, HasPrimaries.

Modes (``--mode``): primary, raft (correct); lease, lww, async (wrong on purpose, each the
way DDIA ch. 8 warns about); fenced (lease made safe by fencing tokens). See the README's
section "The key-value store and its modes".

Options read from ``ctx.spec.options``: ``port`` (7000), ``kvstore_args`` (extra server
flags, a list, e.g. ["--forward-timeout", "0.5"], or one string), and the mode knobs
``lease_ms`` (lease, fenced), ``failover_ms`` (async), ``sync_ms`` (lww), each passed as
the server flag of the same name. ``ctx.extra["db_env"]`` is merged into
the server's environment on every start (the clock nemesis puts libfaketime there): either
{"VAR": "value"} for all nodes, or {"n1": {"VAR": "value"}} for one node.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from harness.api import Context
from harness.errors import ConfigError, RemoteError

MODES = ("primary", "raft", "lease", "fenced", "lww", "async")
MODE_KNOBS = ("lease_ms", "failover_ms", "sync_ms")
INSTALL_DIR = "/opt/splitbrain/kvstore"
DATA_DIR = "/var/lib/splitbrain/kv"
LOG_FILE = "/var/log/splitbrain/kvstore.log"
PID_FILE = "/var/run/splitbrain-kvstore.pid"
READY_TIMEOUT = 10.0


def source_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "docker" / "kvstore"


# Shell run on the node: the pid of a live kvstore from the pidfile, or nothing. A stale
# pidfile (pid reused, or a zombie, whose cmdline is empty) must not get someone else killed.
_PID = (f"P=$(cat {PID_FILE} 2>/dev/null); "
        'if [ -n "$P" ] && grep -q kvstore /proc/$P/cmdline 2>/dev/null; then :; else P=; fi')

# Runs inside the node: exit 0 once the port accepts a connection and the process is alive.
_READY = """
import socket, sys, time
port, deadline, pidfile = int(sys.argv[1]), time.time() + float(sys.argv[2]), sys.argv[3]
def alive():
    try:
        pid = open(pidfile).read().strip()
        return b"kvstore" in open("/proc/%s/cmdline" % pid, "rb").read()
    except OSError:
        return None
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        if alive():
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
"""

_STATUS = """
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1.0)
s.settimeout(1.0)
s.sendall(b'{"id": 1, "op": "status"}\\n')
buf = b""
while not buf.endswith(b"\\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
"""


class KVStoreDB:
    """Plugin "kvstore". No-arg constructor; everything else comes from the Context."""

    name = "kvstore"
    modes = MODES

    # --- DB --------------------------------------------------------------------------------

    def setup(self, ctx: Context, node: str) -> None:
        mode = self.mode(ctx)  # fail before touching the node
        remote = ctx.remotes[node]
        remote.run(f"mkdir -p {INSTALL_DIR} && rm -f {INSTALL_DIR}/*.py")
        for src in sorted(source_dir().glob("*.py")):
            remote.upload(src, f"{INSTALL_DIR}/{src.name}")
        self.kill(ctx, node)
        # A fresh log too: the collected log should tell this test's story only.
        remote.run(f"rm -rf {DATA_DIR} && mkdir -p {DATA_DIR} {Path(LOG_FILE).parent} "
                   f"&& : > {LOG_FILE}")
        ctx.log(f"{node}: kvstore ({mode}) installed in {INSTALL_DIR}")
        self.start(ctx, node)

    def teardown(self, ctx: Context, node: str) -> None:
        self.kill(ctx, node)
        ctx.remotes[node].run(f"rm -rf {DATA_DIR}")

    # --- Killable --------------------------------------------------------------------------

    def kill(self, ctx: Context, node: str) -> None:
        """SIGKILL the server and wait until it is gone. Idempotent."""
        ctx.remotes[node].run(
            f'{_PID}; if [ -n "$P" ]; then kill -9 "$P"; '
            'for i in $(seq 100); do grep -q kvstore /proc/$P/cmdline 2>/dev/null || break; '
            f"sleep 0.05; done; fi; rm -f {PID_FILE}", timeout=15)

    def start(self, ctx: Context, node: str) -> None:
        """Start the server (data kept) unless it runs already; return once it answers."""
        remote = ctx.remotes[node]
        cmd = self.start_command(ctx, node)
        # Newlines, not ';': the command ends in '&', and '&;' is a shell syntax error.
        remote.run(f'{_PID}\nif [ -z "$P" ]; then\n{cmd}\nfi', timeout=15)
        port = self.port(ctx)
        probe = ["python3", "-c", _READY, str(port), str(READY_TIMEOUT), PID_FILE]
        res = remote.run(probe, timeout=READY_TIMEOUT + 10, check=False)
        if res.exit_code != 0:
            tail = remote.run(f"tail -n 20 {LOG_FILE}", check=False).stdout
            raise RemoteError(node, f"kvstore start (port {port})", res.exit_code, tail,
                              reason=f"did not answer on port {port} within "
                                     f"{READY_TIMEOUT:g}s; log tail follows")

    def start_command(self, ctx: Context, node: str) -> str:
        """The detached shell command that starts the server on ``node``."""
        args = ["python3", f"{INSTALL_DIR}/kvstore.py", "--node", node,
                "--nodes", ",".join(ctx.nodes), "--port", str(self.port(ctx)),
                "--data-dir", DATA_DIR, "--mode", self.mode(ctx), "--log-file", LOG_FILE,
                "--pid-file", PID_FILE, "--seed", str(_node_seed(ctx, node))]
        opts = self._options(ctx)
        for key in MODE_KNOBS:
            if key in opts:
                args += ["--" + key.replace("_", "-"), str(opts[key])]
        extra = opts.get("kvstore_args", [])
        args += shlex.split(extra) if isinstance(extra, str) else [str(a) for a in extra]
        env = self.env(ctx, node)
        prefix = ["env", *(f"{k}={v}" for k, v in sorted(env.items()))] if env else []
        # setsid: out of docker exec's session, so the exec returns and the server lives on;
        # every fd redirected, or docker exec would wait on the open pipes.
        return (f"mkdir -p {DATA_DIR} {Path(LOG_FILE).parent} && cd / && "
                f"setsid nohup {shlex.join(prefix + args)} >>{LOG_FILE} 2>&1 </dev/null &")

    # --- Pausable --------------------------------------------------------------------------

    def pause(self, ctx: Context, node: str) -> None:
        ctx.remotes[node].run(f'{_PID}; if [ -n "$P" ]; then kill -STOP "$P"; fi')

    def resume(self, ctx: Context, node: str) -> None:
        ctx.remotes[node].run(f'{_PID}; if [ -n "$P" ]; then kill -CONT "$P"; fi')

    # --- HasLogFiles / HasPrimaries --------------------------------------------------------

    def log_files(self, ctx: Context, node: str) -> list[str]:
        return [LOG_FILE]

    def primaries(self, ctx: Context) -> list[str]:
        """primary mode: the first node; lww: every node (each takes writes). raft, lease,
        fenced, async: the nodes whose server says it leads or is primary (asked over docker
        exec, so a partition does not hide one; in async there may well be two)."""
        mode = self.mode(ctx)
        if mode == "primary":
            return [ctx.nodes[0]]
        if mode == "lww":
            return list(ctx.nodes)
        leaders = []
        for node in ctx.nodes:
            st = self.status(ctx, node)
            if st and st.get("role") in ("leader", "primary"):
                leaders.append(node)
        return leaders

    def status(self, ctx: Context, node: str) -> dict[str, Any] | None:
        """The server's own status answer, or None if it does not answer."""
        res = ctx.remotes[node].run(["python3", "-c", _STATUS, str(self.port(ctx))],
                                    timeout=10, check=False)
        try:
            value = json.loads(res.stdout).get("value")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, dict) else None

    # --- config ----------------------------------------------------------------------------

    def mode(self, ctx: Context) -> str:
        mode = getattr(ctx.spec, "mode", "") or "primary"
        if mode not in MODES:
            raise ConfigError(f"kvstore has no mode {mode!r}; modes: {', '.join(MODES)}")
        return mode

    def port(self, ctx: Context) -> int:
        return int(self._options(ctx).get("port", 7000))

    def env(self, ctx: Context, node: str) -> dict[str, str]:
        raw = dict(ctx.extra.get("db_env", {}) or {})
        env = {k: str(v) for k, v in raw.items() if not isinstance(v, dict)}
        per_node = raw.get(node)
        if isinstance(per_node, dict):
            env.update({k: str(v) for k, v in per_node.items()})
        return env

    @staticmethod
    def _options(ctx: Context) -> dict[str, Any]:
        return dict(getattr(ctx.spec, "options", None) or {})


def _node_seed(ctx: Context, node: str) -> int:
    """Distinct per node (so election timeouts differ) yet fixed by the test's seed."""
    base = int(getattr(ctx.spec, "seed", 0) or 0)
    return base * 1000 + (ctx.nodes.index(node) if node in ctx.nodes else 0)
