"""KVStoreDB: the db plugin ("kvstore") that deploys splitbrain's own key-value store.

``setup`` copies docker/kvstore onto the node (it is not baked into the image, so an edit to
the store needs no image rebuild), wipes the data dir, starts the server detached and waits
until it answers on its port from inside the node. Everything goes through ``ctx.remotes``.

Capabilities: DB, HasModes, HasKV (``kv(ctx, node)``: a KVClient, for the workloads),
Killable (SIGKILL by pidfile / restart keeping data), Pausable (SIGSTOP / SIGCONT),
HasLogFiles, HasPrimaries.

Modes (``--mode``, ``MODES``: each with its promise and the verdict a test should reach):
raft (the default), primary (correct); lease, lww, async (wrong on purpose, each the way
DDIA ch. 8 warns about); fenced (lease made safe by fencing tokens). See the README's section
"The key-value store and its modes".

Options read from ``ctx.options`` (harness.options.option: typed, one ConfigError line for a
bad value): ``port`` (7000), ``client_timeout`` (1.0 s, each call of a workload's client),
``kvstore_args`` (extra server flags, a list, e.g. ["--forward-timeout", "0.5"], or one
string), and the mode knobs ``lease_ms`` (lease, fenced), ``failover_ms`` (async),
``sync_ms`` (lww), ints, each passed as the server flag of the same name when given.
``ctx.extra["db_env"]`` is merged into the server's environment on every start (the clock
nemesis puts libfaketime there): either {"VAR": "value"} for all nodes, or
{"n1": {"VAR": "value"}} for one node.
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbs.kvstore.client import KVClient
from harness.api import Context, Mode
from harness.errors import ConfigError, RemoteError
from harness.options import Opt, lookup, option, port_number, positive

# The first is the default. expect: the verdict a test should reach (True: valid, False:
# invalid); the faults named are those that break a broken mode, as the README tells.
MODES: tuple[Mode, ...] = (
    Mode("raft", "linearizable: every op, reads too, commits through a Raft log on a "
         "majority (fsync before the ack)", expect_default=True),
    Mode("primary", "linearizable: one copy on the first node, which every other node "
         "forwards to", expect_default=True),
    Mode("lease", "linearizable reads from the leader alone while its wall-clock lease "
         "holds: a paused, cut-off or clock-skewed old leader serves stale reads",
         expect={"pause": False, "partition": False, "clock": False}, expect_default=False),
    Mode("fenced", "linearizable: the lease of mode lease, made safe by fencing tokens the "
         "replicas check", expect_default=True),
    Mode("lww", "always available, replicas converge by last write wins on the wall clock: "
         "a slow clock or a partition loses acknowledged writes",
         expect={"clock": False, "partition": False}, expect_default=False),
    Mode("async", "acknowledged writes are durable (they are not: failover without a "
         "quorum, replication after the ack)",
         expect={"partition": False, "pause": False, "kill": False}, expect_default=False),
)
MODE_NAMES = tuple(m.name for m in MODES)
MODE_KNOBS = {"lease_ms": 10_000, "failover_ms": 1000, "sync_ms": 1000}  # server defaults
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
    modes: Sequence[Mode] = MODES

    def declared_options(self) -> Sequence[Opt]:
        return OPTIONS

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
        for key, default in MODE_KNOBS.items():
            if lookup(ctx.options, key)[0]:
                args += ["--" + key.replace("_", "-"), str(option(ctx.options, key, default))]
        args += option(ctx.options, "kvstore_args", [], parse=server_args)
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

    # --- HasKV ----------------------------------------------------------------------------

    def kv(self, ctx: Context, node: str) -> KVClient:
        """A client of ``node``'s store (it connects on its first call)."""
        return KVClient(ctx.ips.get(node, node), port=self.port(ctx),
                        timeout=option(ctx.options, "client_timeout", 1.0))

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
        """The spec's mode; an empty one means the default (the first of MODES)."""
        mode = ctx.spec.mode or MODE_NAMES[0]
        if mode not in MODE_NAMES:
            raise ConfigError(f"kvstore has no mode {mode!r}; modes: {', '.join(MODE_NAMES)}")
        return mode

    def port(self, ctx: Context) -> int:
        return option(ctx.options, "port", 7000)

    def env(self, ctx: Context, node: str) -> dict[str, str]:
        raw = dict(ctx.extra.get("db_env", {}) or {})
        env = {k: str(v) for k, v in raw.items() if not isinstance(v, dict)}
        per_node = raw.get(node)
        if isinstance(per_node, dict):
            env.update({k: str(v) for k, v in per_node.items()})
        return env


def server_args(raw: Any) -> list[str]:
    """``kvstore_args``: one string split as a shell would, or a list (each item a word)."""
    if isinstance(raw, str):
        return shlex.split(raw)
    if isinstance(raw, list | tuple):
        return [str(a) for a in raw]
    raise ValueError("expected server flags as a string or a list")


server_args.__name__ = "server flags (a string or a list)"


def _node_seed(ctx: Context, node: str) -> int:
    """Distinct per node (so election timeouts differ) yet fixed by the test's seed."""
    base = ctx.spec.seed
    return base * 1000 + (ctx.nodes.index(node) if node in ctx.nodes else 0)

# What it reads from ctx.options (harness.api.HasOptions), checked before a cluster starts.
OPTIONS: tuple[Opt, ...] = (
    Opt("port", int, 7000, "the port the store listens on, on every node", check=port_number),
    Opt("client_timeout", float, 1.0, "seconds each call of a workload's client may take",
        check=positive),
    Opt("lease_ms", int, MODE_KNOBS["lease_ms"], "the leader's lease (modes lease, fenced)",
        check=positive),
    Opt("failover_ms", int, MODE_KNOBS["failover_ms"],
        "silence before a replica takes over (mode async)", check=positive),
    Opt("sync_ms", int, MODE_KNOBS["sync_ms"], "how often replicas exchange writes (mode lww)",
        check=positive),
    Opt("kvstore_args", server_args, None,
        'extra server flags, e.g. ["--forward-timeout", "0.5"] or one string'),
)
