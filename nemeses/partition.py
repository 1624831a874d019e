"""Network partitions with iptables, inside the nodes.

A *grudge* maps each node to the nodes it refuses traffic from:

    {"n1": ["n4", "n5"], "n2": ["n4", "n5"], "n3": ["n4", "n5"],
     "n4": ["n1", "n2", "n3"], "n5": ["n1", "n2", "n3"]}

It is applied on the receiving side, in a chain of our own (``SPLITBRAIN``) jumped to from
INPUT, so healing flushes only our rules. Only traffic from other nodes' data-network
addresses is dropped; the harness reaches nodes through docker exec (not the network) and its
clients come from the bridge gateway, so control traffic is never cut.

Ops: {"f": "start-partition", "value": null} -> info with the grudge applied;
     {"f": "stop-partition"} -> info "healed".
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness import generators as g
from harness.db import Context
from harness.errors import NemesisError
from harness.history import INFO, Op
from harness.plugins import Package

CHAIN = "SPLITBRAIN"
Grudge = dict[str, list[str]]


# --- grudges -------------------------------------------------------------------------------

def complete_grudge(components: Iterable[Iterable[str]]) -> Grudge:
    """Nodes in different components cannot talk to each other at all."""
    comps = [list(c) for c in components]
    grudge: Grudge = {}
    for c in comps:
        others = sorted(n for d in comps if d is not c for n in d)
        for n in c:
            grudge[n] = others
    return grudge


def halves(nodes: list[str]) -> list[list[str]]:
    """Split in two: the first half (the smaller one for odd counts) and the rest."""
    k = len(nodes) // 2
    return [nodes[:k], nodes[k:]]


def random_halves(nodes: list[str], rng: random.Random) -> Grudge:
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    return complete_grudge(halves(shuffled))


def describe(grudge: Grudge) -> str:
    """'n1 n2 | n3 n4 n5' for a complete partition; 'n1 x n2,n3' lists otherwise."""
    comps: list[set[str]] = []
    for n in sorted(grudge):
        for c in comps:
            peer = next(iter(c))
            if n not in grudge.get(peer, []) and peer not in grudge.get(n, []):
                c.add(n)
                break
        else:
            comps.append({n})
    return " | ".join(" ".join(sorted(c)) for c in comps)


# --- iptables ------------------------------------------------------------------------------

def _ensure_chain_cmd() -> str:
    return (f"{{ iptables -w -N {CHAIN} 2>/dev/null || true; }}; "
            f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j {CHAIN}")


def apply_grudge(ctx: Context, grudge: Grudge) -> None:
    """Drop, on each node, packets from the nodes it holds a grudge against; verify the rules
    are in place. Nodes run in parallel."""

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

    _on_nodes(ctx, list(grudge), one)


def heal(ctx: Context, nodes: list[str] | None = None) -> None:
    """Flush our chain on every node (idempotent; a node without the chain is fine)."""

    def one(node: str) -> None:
        ctx.remotes[node].run(f"iptables -w -F {CHAIN} 2>/dev/null || true", timeout=10)

    _on_nodes(ctx, nodes or list(ctx.nodes), one)


def _on_nodes(ctx: Context, nodes: list[str], fn: Any) -> None:
    if not nodes:
        return
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        for node, fut in [(n, pool.submit(fn, n)) for n in nodes]:
            try:
                fut.result()
            except Exception as e:
                errors.append(f"{node}: {e}")
    if errors:
        raise NemesisError("; ".join(errors))


# --- nemesis + package ---------------------------------------------------------------------

class PartitionNemesis:
    """start-partition applies a grudge (random halves unless the op names one);
    stop-partition heals."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.active: Grudge | None = None

    def setup(self, ctx: Context) -> None:
        heal(ctx)

    def invoke(self, ctx: Context, op: Op) -> Op:
        if op.f == "start-partition":
            grudge = op.value if isinstance(op.value, dict) else \
                random_halves(list(ctx.nodes), self.rng)
            self.active = grudge
            apply_grudge(ctx, grudge)
            return op.complete(INFO, value={"grudge": grudge, "description": describe(grudge)})
        if op.f == "stop-partition":
            heal(ctx)
            self.active = None
            return op.complete(INFO, value="healed")
        raise NemesisError(f"partition nemesis cannot do {op.f!r}; "
                           "it knows start-partition and stop-partition")

    def teardown(self, ctx: Context) -> None:
        heal(ctx)
        self.active = None


def cycle(interval: float, start: str, stop: str) -> g.Generator:
    """wait ``interval``, start, wait, stop, wait, start ... until a time limit ends it. The
    first fault comes after one interval so the system is seen healthy first."""
    seq = [start, stop]
    state = {"i": 0}

    def next_op(ctx: g.GenContext) -> dict[str, Any]:
        f = seq[state["i"] % 2]
        state["i"] += 1
        return {"f": f}

    return g.then(g.sleep(interval), g.delay(interval, g.FnGen(next_op)))


def package(ctx: Context | None = None, *, interval: float = 5.0, seed: int = 0) -> Package:
    return Package(
        name="partition",
        nemesis=PartitionNemesis(seed=seed),
        generator=cycle(interval, "start-partition", "stop-partition"),
        final_generator=g.once({"f": "stop-partition"}),
        color="#f4b6b6",
        faults={"start-partition": "stop-partition"},
    )


PartitionPackage = package
