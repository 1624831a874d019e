"""How long each fault takes to apply and to heal, on a real cluster running the kvstore.

    python bench/nemesis_timing.py [--nodes 5] [--reps 5] [--mode primary]

Starts a cluster (named bench-nemesis), sets up the kvstore under the clock nemesis's
libfaketime environment, applies and heals each kind ``--reps`` times and prints the median,
min and max of the ``seconds`` each completion reports (apply includes verification: rules
listed back, and for partitions a 1 s probe that traffic stops). Removes the cluster at the
end, whatever happens.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbs.kvstore.db import KVStoreDB
from harness.api import Context
from harness.control.cluster import Cluster, cluster_lock
from harness.control.image import ensure_image
from harness.control.parallel import on_nodes
from harness.history import NEMESIS, Op
from harness.spec import TestSpec, node_names
from nemeses.clock import ClockNemesis
from nemeses.packet import PacketNemesis
from nemeses.partition import PartitionNemesis
from nemeses.process import KillNemesis, PauseNemesis

NAME = "bench-nemesis"

# label -> (nemesis key, start value, stop f); targets are fixed so runs compare
CASES: list[tuple[str, str, Any]] = [
    ("partition random-halves", "partition", {"shape": "random-halves"}),
    ("partition majorities-ring", "partition", {"shape": "majorities-ring"}),
    ("partition bridge", "partition", {"shape": "bridge"}),
    ("clock bump (all nodes)", "clock", {"mode": "bump", "nodes": "ALL"}),
    ("clock strobe (all nodes)", "clock", {"mode": "strobe", "nodes": "ALL"}),
    ("clock drift (all nodes)", "clock", {"mode": "drift", "nodes": "ALL"}),
    ("pause (one node)", "pause", {"nodes": ["n2"]}),
    ("kill + restart (one node)", "kill", {"nodes": ["n2"]}),
    ("packet loss 30% (all)", "packet", {"behaviour": "loss", "nodes": "ALL"}),
    ("packet tbf 1mbit (all)", "packet", {"behaviour": "bandwidth", "nodes": "ALL"}),
]


def op(f: str, value: Any = None) -> Op:
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mode", default="primary")
    a = ap.parse_args()
    with cluster_lock(NAME):
        cluster = Cluster(name=NAME, nodes=a.nodes, image=ensure_image(log=print))
        try:
            cluster.up()
            run(cluster, a)
        finally:
            cluster.down()


def run(cluster: Cluster, a: argparse.Namespace) -> None:
    spec = TestSpec(name="bench", nodes=node_names(a.nodes), mode=a.mode, seed=1)
    ctx = Context(spec=spec, nodes=list(cluster.nodes), remotes=cluster.remotes,
                  ips=cluster.ips, run_dir=Path("."), db=KVStoreDB(), log=lambda m: None)
    nems: dict[str, Any] = {"partition": PartitionNemesis(seed=1),
                            "clock": ClockNemesis(seed=1, interval=5), "pause": PauseNemesis(),
                            "kill": KillNemesis(), "packet": PacketNemesis(seed=1)}
    t = time.monotonic()
    nems["clock"].prepare(ctx)
    prepare_s = time.monotonic() - t
    on_nodes(ctx.nodes, lambda n: ctx.db.setup(ctx, n))
    for nem in nems.values():
        nem.setup(ctx)
    rows = []
    try:
        for label, key, value in CASES:
            nem = nems[key]
            if value.get("nodes") == "ALL":
                value = {**value, "nodes": list(ctx.nodes)}
            applies, heals = [], []
            for _ in range(a.reps):
                done = nem.invoke(ctx, op(f"start-{key}", value))
                applies.append(done.value["seconds"])
                done = nem.invoke(ctx, op(f"stop-{key}"))
                heals.append(done.value["seconds"])
            rows.append((label, applies, heals))
            print(f"  {label}: done", file=sys.stderr, flush=True)
    finally:
        for nem in nems.values():
            nem.teardown(ctx)
    print(f"\nnemesis timing: {a.nodes} nodes, kvstore ({a.mode}), {a.reps} reps each; "
          f"seconds, median [min-max]")
    print(f"clock prepare (self-test on every node, before db setup): {prepare_s:.2f} s\n")
    print(f"| {'fault':<28} | {'apply':<20} | {'heal':<20} |")
    print(f"|{'-' * 30}|{'-' * 22}|{'-' * 22}|")
    for label, applies, heals in rows:
        print(f"| {label:<28} | {fmt(applies):<20} | {fmt(heals):<20} |")


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} [{min(xs):.2f}-{max(xs):.2f}]"


if __name__ == "__main__":
    main()
