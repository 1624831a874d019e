"""Throughput of the kvstore under test: N server processes on loopback (or, with
``--containers``, a real N-node container cluster), C client threads.

    python bench/kvstore_throughput.py [--mode raft] [--nodes 5] [--clients 10] [--seconds 5]
    python bench/kvstore_throughput.py --containers [--mode raft] ...   # cluster "bench"

With --containers it starts ``harness.control.cluster.Cluster(name="bench", nodes=N)``, installs the
store on every node through ``KVStoreDB.setup``, runs the clients from this host against the
nodes' addresses (no faults), and tears everything down, whatever happens.

Clients spread over all nodes (so most requests are forwarded to the leader, as in a real
test), each doing 50% reads / 50% writes over 100 keys with one synchronous KVClient. Prints
ops/s (acknowledged ops per second of wall time), the error count, latency percentiles, the
load average before and after (the machine is shared: read the figure with it), and, for the
raft family, how the log batched (entries per fsync, peer messages per op).

Target: >= 1,000 ops/s for raft with 5 nodes and 10 clients in containers. Measured on the
shared 2-core machine (load average 6-7 from other work), alternating runs of the previous and
the current raft I/O: 674 / 989 / 1,113 ops/s before, 1,364 / 1,520 / 1,477 after (p50 6 ms,
p99 15-18 ms); under heavier load 640-940. On loopback the servers and the clients share the
host's cores.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "docker" / "kvstore"))

from kv_local import LocalCluster

from dbs.kvstore.client import KVClient, KVError

Addr = tuple[str, int]


def wait_for_leader(addrs: dict[str, Addr], timeout: float = 30.0) -> str:
    """Until every node names the same leader and a write through it succeeds; for modes
    without one leader (lww), until a write succeeds. Returns the leader, or "-"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            leaders: set[str | None] = set()
            for addr in addrs.values():
                with KVClient(*addr, timeout=0.5) as kv:
                    leaders.add(kv.status().get("leader"))
            if leaders == {None}:
                leader = "-"
            elif len(leaders) == 1 and None not in leaders:
                leader = str(leaders.pop())
            else:
                raise KVError("no-leader", True)
            addr = addrs[leader] if leader in addrs else next(iter(addrs.values()))
            with KVClient(*addr, timeout=2.0) as kv:
                kv.write("__bench_warmup__", 1)
            return leader
        except KVError:
            pass
        time.sleep(0.1)
    raise SystemExit("no leader elected")


def run(addrs: dict[str, Addr], clients: int, seconds: float) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: dict[str, int] = {}

    lock = threading.Lock()
    samples: dict[str, str] = {}

    def worker(i: int) -> None:
        rng = random.Random(i)
        nodes = list(addrs)
        host, port = addrs[nodes[i % len(nodes)]]
        kv = KVClient(host, port, timeout=2.0)
        while time.monotonic() < stop:
            key = rng.randrange(100)
            t0 = time.monotonic()
            try:
                if rng.random() < 0.5:
                    kv.read(key)
                else:
                    kv.write(key, rng.randrange(1_000_000))
                lat[i].append(time.monotonic() - t0)
            except KVError as e:
                with lock:
                    errors[e.code] = errors.get(e.code, 0) + 1
                    samples.setdefault(e.code, str(e))
        kv.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    before = statuses(addrs)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    after = statuses(addrs)
    all_lat = sorted(x for xs in lat for x in xs)
    n = len(all_lat)

    def pct(p: float) -> float:
        return all_lat[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {"ops": n, "ops_per_s": n / wall, "errors": sum(errors.values()),
            "batching": batching(before, after, n),
            "error_codes": errors, "samples": samples, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def statuses(addrs: dict[str, Addr]) -> dict[str, dict[str, Any]]:
    out = {}
    for node, addr in addrs.items():
        try:
            with KVClient(*addr, timeout=1.0) as kv:
                out[node] = kv.status()
        except KVError:
            pass
    return out


def batching(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]],
             ops: int) -> str:
    """How the log batched (raft-family modes report saves and peer messages)."""
    def delta(node: str, key: str) -> int:
        return int(after.get(node, {}).get(key, 0)) - int(before.get(node, {}).get(key, 0))

    nodes = [n for n in after if "saves" in after[n]]
    if not nodes or not ops:
        return ""
    leader = next((n for n in nodes if after[n].get("role") == "leader"), None)
    parts = []
    for label, group in (("leader", [leader] if leader else []),
                         ("followers", [n for n in nodes if n != leader])):
        saves = sum(delta(n, "saves") for n in group)
        entries = sum(delta(n, "entries_saved") for n in group)
        if saves:
            parts.append(f"{label} {entries / saves:.1f} entries per fsync")
    msgs = sum(delta(n, "peer_msgs_out") for n in nodes)
    parts.append(f"{msgs / ops:.1f} peer messages per op")
    return "batching: " + ", ".join(parts)


def on_loopback(a: argparse.Namespace, nodes: list[str]) -> tuple[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as d:
        cluster = LocalCluster(nodes, a.mode, d)
        try:
            cluster.start_all()
            addrs = {n: cluster.addr(n) for n in nodes}
            leader = wait_for_leader(addrs)
            r = run(addrs, a.clients, a.seconds)
        finally:
            cluster.stop_all()
        events = "".join(cluster.log_path(n).read_text() for n in nodes)
    return leader, {**r, "events": events}


def in_containers(a: argparse.Namespace, nodes: list[str]) -> tuple[str, dict[str, Any]]:
    from dbs.kvstore.db import LOG_FILE, KVStoreDB
    from harness.api import Context
    from harness.control.cluster import Cluster
    from harness.control.parallel import on_nodes
    from harness.spec import TestSpec

    cluster = Cluster(name="bench", nodes=len(nodes), log=lambda m: print(m, flush=True))
    try:
        cluster.up()
        spec = TestSpec(nodes=tuple(cluster.nodes), mode=a.mode, seed=1)
        ctx = Context(spec=spec, nodes=list(cluster.nodes), remotes=cluster.remotes,
                      ips=cluster.ips, run_dir=Path(tempfile.mkdtemp()), db=KVStoreDB(),
                      log=lambda m: None)
        db = KVStoreDB()
        try:
            on_nodes(ctx.nodes, lambda n: db.setup(ctx, n))
            addrs = {n: (ctx.ips[n], db.port(ctx)) for n in ctx.nodes}
            leader = wait_for_leader(addrs)
            r = run(addrs, a.clients, a.seconds)
            events = "".join(ctx.remotes[n].run(f"cat {LOG_FILE}", timeout=20).stdout
                             for n in ctx.nodes)
        finally:
            on_nodes(ctx.nodes, lambda n: db.teardown(ctx, n))
    finally:
        cluster.down()
    return leader, {**r, "events": events}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="raft")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--containers", action="store_true",
                    help='a real container cluster ("bench") instead of loopback processes')
    a = ap.parse_args()
    nodes = [f"n{i}" for i in range(1, a.nodes + 1)]
    load0 = os.getloadavg()
    leader, r = (in_containers if a.containers else on_loopback)(a, nodes)
    load1 = os.getloadavg()
    r["leaders"] = r["events"].count("role=leader") + r["events"].count("role=primary")
    r["step_downs"] = r["events"].count("step-down")
    where = "containers" if a.containers else "loopback"
    print(f"kvstore {a.mode} ({where}): {a.nodes} nodes, {a.clients} clients, {a.seconds:g}s, "
          f"first leader {leader}, leaders elected {r['leaders']}, "
          f"step-downs {r['step_downs']}, load average before {load0[0]:.2f} "
          f"after {load1[0]:.2f} ({os.cpu_count()} cores)")
    print(f"{r['ops_per_s']:.0f} ops/s  ({r['ops']} ok, {r['errors']} errors, "
          f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms)"
          + (f"  errors by code: {r['error_codes']}" if r["errors"] else ""))
    if r.get("batching"):
        print(r["batching"])
    for sample in r["samples"].values():
        print(f"  e.g. {sample}")


if __name__ == "__main__":
    main()
