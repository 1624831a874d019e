"""Throughput of the kvstore under test: N server processes on loopback, C client threads.

    python bench/kvstore_throughput.py [--mode raft] [--nodes 5] [--clients 10] [--seconds 5]

Clients spread over all nodes (so most requests are forwarded to the leader, as in a real
test), each doing 50% reads / 50% writes over 100 keys with one synchronous KVClient. Prints
ops/s (acknowledged ops per second of wall time), the error count and latency percentiles.
Target: >= 1,000 ops/s for raft with 5 nodes and 10 clients (in containers; on loopback the
servers and the clients share the host's cores).
"""
from __future__ import annotations

import argparse
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

from harness.kvclient import KVClient, KVError


def wait_for_leader(cluster: LocalCluster, timeout: float = 10.0) -> str:
    """Until every node names the same leader and a write through it succeeds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            leaders: set[str | None] = set()
            for node in cluster.nodes:
                host, port = cluster.addr(node)
                with KVClient(host, port, timeout=0.5) as kv:
                    leaders.add(kv.status().get("leader"))
            if len(leaders) == 1 and None not in leaders:
                leader = str(leaders.pop())
                host, port = cluster.addr(leader)
                with KVClient(host, port, timeout=2.0) as kv:
                    kv.write("__bench_warmup__", 1)
                return leader
        except KVError:
            pass
        time.sleep(0.1)
    raise SystemExit("no leader elected")


def run(cluster: LocalCluster, clients: int, seconds: float) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: dict[str, int] = {}

    lock = threading.Lock()
    samples: dict[str, str] = {}

    def worker(i: int) -> None:
        rng = random.Random(i)
        host, port = cluster.addr(cluster.nodes[i % len(cluster.nodes)])
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
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    all_lat = sorted(x for xs in lat for x in xs)
    n = len(all_lat)

    def pct(p: float) -> float:
        return all_lat[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {"ops": n, "ops_per_s": n / wall, "errors": sum(errors.values()),
            "error_codes": errors, "samples": samples, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="raft")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    nodes = [f"n{i}" for i in range(1, a.nodes + 1)]
    with tempfile.TemporaryDirectory() as d:
        cluster = LocalCluster(nodes, a.mode, d)
        try:
            cluster.start_all()
            leader = wait_for_leader(cluster)
            r = run(cluster, a.clients, a.seconds)
        finally:
            cluster.stop_all()
        events = "".join(cluster.log_path(n).read_text() for n in nodes)
        r["leaders"] = events.count("role=leader")
        r["step_downs"] = events.count("step-down")
    print(f"kvstore {a.mode}: {a.nodes} nodes, {a.clients} clients, {a.seconds:g}s, "
          f"first leader {leader}, leaders elected {r['leaders']}, "
          f"step-downs {r['step_downs']}")
    print(f"{r['ops_per_s']:.0f} ops/s  ({r['ops']} ok, {r['errors']} errors, "
          f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms)"
          + (f"  errors by code: {r['error_codes']}" if r["errors"] else ""))
    for sample in r["samples"].values():
        print(f"  e.g. {sample}")


if __name__ == "__main__":
    main()
