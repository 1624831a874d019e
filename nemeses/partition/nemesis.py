"""Network partitions with iptables, inside the nodes.

A *grudge* maps each node to the nodes it refuses traffic from (shapes: nemeses/grudges.py):

    {"n1": ["n4", "n5"], "n2": ["n4", "n5"], "n3": ["n4", "n5"],
     "n4": ["n1", "n2", "n3"], "n5": ["n1", "n2", "n3"]}

It is applied on the receiving side, in a chain of our own (``SPLITBRAIN``) jumped to from
INPUT, so healing flushes only our rules. Only traffic from other nodes' data-network
addresses is dropped; the harness reaches nodes through docker exec (not the network) and its
clients come from the bridge gateway, so control traffic is never cut. After applying, the
rules are listed back, and a probe checks that traffic really stops: a grudged node tries a
TCP connection to its peer's db port (option ``port``, default 7000) with a 1 s timeout,
which must time out (a refusal would mean the packets still arrive): node/probe.py, run with
the node's python3.

Options: ``partition`` = a shape, a list of shapes (rotated through in order; a string
"a,b" is the list [a, b]), or "rotate"
(every shape this test can draw); default random-halves. ``grudge`` = an explicit grudge (JSON
map or list of components; implies shape "grudge" unless ``partition`` says otherwise).

Ops: {"f": "start-partition", "value": null} -> info {"grudge": ..., "shape": "bridge",
     "description": "n1 n2 | n3", "seconds": 0.31};  the value may also be a grudge map or
     {"shape": "bridge"};  {"f": "stop-partition"} -> info {"healed": [...], "seconds": ...}.
"""
from __future__ import annotations

import random
import shlex
from collections.abc import Sequence
from typing import Any

from harness import generators as g
from harness.api import Context, HasPrimaries, Package
from harness.errors import ConfigError, NemesisError
from harness.history import Op
from harness.options import Opt, OptEnv, option, port_number
from nemeses import grudges
from nemeses.common import Cycle, Dispatcher, node_script, on_nodes
from nemeses.grudges import Grudge, complete_grudge, describe, halves, random_halves

__all__ = ["CHAIN", "Grudge", "PartitionNemesis", "apply_grudge", "complete_grudge", "cycle",
           "describe", "halves", "heal", "partition_package", "random_halves",
           "probe_blocked"]

CHAIN = "SPLITBRAIN"
DEFAULT_PORT = 7000


# --- iptables ------------------------------------------------------------------------------

def _ensure_chain_cmd() -> str:
    return (f"{{ iptables -w -N {CHAIN} 2>/dev/null || true; }}; "
            f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j {CHAIN}")


def probe_blocked(ctx: Context, src: str, dst: str, port: int, timeout: float = 1.0) -> None:
    """Raise NemesisError unless a TCP connection from ``src`` to ``dst``:``port`` times out
    (node/probe.py, run on ``src``)."""
    cmd = shlex.join(["python3", "-c", node_script("nemeses.partition", "probe.py"), ctx.ips[dst],
                      str(port), f"{timeout:g}"])
    res = ctx.remotes[src].run(cmd, timeout=timeout + 10, check=False)
    if res.exit_code == 0:
        return
    what = {3: "connected", 4: "was refused (its packets still arrive)"}.get(
        res.exit_code, f"probe exited {res.exit_code}: {(res.stderr or res.stdout).strip()}")
    raise NemesisError(f"partition not in effect: a connection from {src} to {dst}:{port} "
                       f"{what}")


def apply_grudge(ctx: Context, grudge: Grudge, *, probe: bool = True,
                 port: int | None = None) -> None:
    """Drop, on each node, packets from the nodes it holds a grudge against; verify the rules
    are in place (listed back), then that traffic really stops (one probe). Nodes run in
    parallel."""

    def one(node: str) -> None:
        ips = [ctx.ips[p] for p in grudge.get(node, [])]
        rules = "; ".join(f"iptables -w -A {CHAIN} -s {ip} -j DROP" for ip in ips)
        cmd = f"set -e; {_ensure_chain_cmd()}; iptables -w -F {CHAIN}"
        if rules:
            cmd += f"; {rules}"
        remote = ctx.remotes[node]
        remote.run(cmd, timeout=10)
        listed = remote.run(f"iptables -w -S {CHAIN}", timeout=10).stdout
        missing = [ip for ip in ips if f"-s {ip}/32" not in listed]
        if missing:
            raise NemesisError(f"partition on {node}: rules for {missing} not in place")

    on_nodes(list(grudge), one)
    pairs = grudges.cut_pairs(grudge)
    if probe and pairs:
        src, dst = pairs[0]
        probe_blocked(ctx, src, dst, port if port is not None else db_port(ctx))


def heal(ctx: Context, nodes: list[str] | None = None) -> None:
    """Flush our chain on every node (idempotent; a node without the chain is fine)."""

    def one(node: str) -> None:
        ctx.remotes[node].run(f"iptables -w -F {CHAIN} 2>/dev/null || true", timeout=10)

    on_nodes(nodes or list(ctx.nodes), one)


def db_port(ctx: Context) -> int:
    return option(ctx.options, "port", DEFAULT_PORT)


# --- nemesis + package ---------------------------------------------------------------------

class PartitionNemesis:
    """start-partition applies a grudge (the configured shape unless the op names one);
    stop-partition heals."""

    def __init__(self, seed: int = 0, shapes: list[str] | None = None):
        self.rng = random.Random(seed)
        self.active: Grudge | None = None
        self.faults = Dispatcher("partition", self._start, self._stop)
        self._given_shapes = shapes
        self._shapes: list[str] | None = None
        self._explicit: Grudge | None = None
        self._turn = 0

    # -- config ---------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        """Read and check the options (ConfigError, one line, on a mistake)."""
        nodes = list(ctx.nodes)
        db_port(ctx)  # a bad port is a ConfigError now, not at the first probe
        raw = option(ctx.options, "grudge", None, prefix="partition")
        self._explicit = grudges.parse_grudge(raw, nodes) if raw is not None else None
        given = self._given_shapes or option(ctx.options, "partition", [])
        if not given:
            given = ["grudge"] if self._explicit is not None else ["random-halves"]
        if given == ["rotate"]:
            given = [s for s in grudges.SHAPES
                     if len(nodes) >= grudges.MIN_NODES[s]
                     and (s != "grudge" or self._explicit is not None)
                     and (s != "primaries" or isinstance(ctx.db, HasPrimaries))]
        for s in given:
            if s not in grudges.SHAPES:
                raise ConfigError(f"unknown partition shape {s!r}; shapes: "
                                  f"{', '.join(grudges.SHAPES)}, or rotate")
            if len(nodes) < grudges.MIN_NODES[s]:
                raise ConfigError(f"partition {s} needs at least {grudges.MIN_NODES[s]} "
                                  f"nodes, this test has {len(nodes)}")
            if s == "grudge" and self._explicit is None:
                raise ConfigError("partition shape grudge needs option grudge, e.g. "
                                  "--option 'grudge=[[\"n1\"], [\"n2\", \"n3\"]]'")
            if s == "primaries" and not isinstance(ctx.db, HasPrimaries):
                raise ConfigError("partition primaries needs a db that names its primaries "
                                  f"(HasPrimaries); db {getattr(ctx.db, 'name', ctx.db)!r} "
                                  "does not")
        self._shapes = [str(s) for s in given]

    def prepare(self, ctx: Context) -> None:
        self.configure(ctx)

    def declared_options(self) -> Sequence[Opt]:
        return OPTIONS

    def setup(self, ctx: Context) -> None:
        self.faults.open()
        if self._shapes is None:
            self.configure(ctx)
        heal(ctx)

    # -- ops ------------------------------------------------------------------------------
    def next_grudge(self, ctx: Context, value: Any = None) -> tuple[Grudge, str]:
        nodes = list(ctx.nodes)
        if isinstance(value, dict) and "shape" in value:
            shape = str(value["shape"])
        elif isinstance(value, dict | list):
            return grudges.parse_grudge(value, nodes), "grudge"
        else:
            if self._shapes is None:
                self.configure(ctx)
            assert self._shapes is not None
            shape = self._shapes[self._turn % len(self._shapes)]
            self._turn += 1
        primaries = None
        if shape == "primaries" and isinstance(ctx.db, HasPrimaries):
            primaries = list(ctx.db.primaries(ctx))
        return grudges.build(shape, nodes, self.rng, primaries=primaries,
                             explicit=self._explicit), shape

    def invoke(self, ctx: Context, op: Op) -> Op:
        return self.faults.invoke(ctx, op)

    def _start(self, ctx: Context, value: Any) -> dict[str, Any]:
        grudge, shape = self.next_grudge(ctx, value)
        self.active = grudge
        apply_grudge(ctx, grudge)
        return {"grudge": grudge, "shape": shape, "description": describe(grudge)}

    def _stop(self, ctx: Context) -> dict[str, Any]:
        heal(ctx)
        self.active = None
        return {"healed": list(ctx.nodes), "description": "healed"}

    def teardown(self, ctx: Context) -> None:
        self.faults.teardown(ctx)


def _check_shapes(value: Any, env: OptEnv) -> str | None:
    shapes = [str(s) for s in value]
    if "rotate" in shapes and len(shapes) > 1:
        return "rotate alone, or a list of shapes"
    for s in shapes:
        if s in grudges.MIN_NODES and len(env.nodes) < grudges.MIN_NODES[s]:
            return (f"a shape other than {s} (it needs {grudges.MIN_NODES[s]} nodes, this "
                    f"test has {len(env.nodes)})")
        if s == "primaries" and env.db is not None and not isinstance(env.db, HasPrimaries):
            return "a shape other than primaries: the db does not name its primaries"
    return None


def _check_grudge(value: Any, env: OptEnv) -> str | None:
    try:
        grudges.parse_grudge(value, list(env.nodes))
    except ConfigError:
        return ('a JSON map like {"n1": ["n2"], "n2": ["n1"]} or a list of components like '
                f'[["n1"], ["n2", "n3"]], of this test\'s nodes ({", ".join(env.nodes)})')
    return None


OPTIONS: tuple[Opt, ...] = (
    Opt("partition", list, None, "the partition shape, a list of shapes taken in turn, or "
        "rotate (every shape this test can draw); default random-halves",
        choices=(*grudges.SHAPES, "rotate"), check=_check_shapes),
    Opt("grudge", object, None, "an explicit grudge for shape grudge", check=_check_grudge,
        prefix="partition"),
    Opt("port", int, DEFAULT_PORT, "the db port the probe checks is cut", check=port_number),
)


def cycle(interval: float, start: str, stop: str) -> Cycle:
    """wait ``interval``, start, wait, stop, wait, start ... until a time limit ends it. The
    first fault comes after one interval so the system is seen healthy first."""
    return Cycle(interval, start, stop)


def partition_package(*, interval: float = 5.0, seed: int = 0) -> Package:
    """Entry point ``partition``."""
    return Package(
        name="partition",
        nemesis=PartitionNemesis(seed=seed),
        generator=cycle(interval, "start-partition", "stop-partition"),
        final_generator=g.once({"f": "stop-partition"}),
        color="#f4b6b6",
        faults={"start-partition": "stop-partition"},
    )

