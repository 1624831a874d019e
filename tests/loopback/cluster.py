"""The helpers every test of a running kvstore cluster shares, on loopback (kv_local's
LocalCluster) or on containers (``Addresses(ctx)``):

    c = start_cluster("raft", NODES, FAST)      # the conftest fixture: stopped afterwards
    leader = wait_leader(c)                     # the node every answering member names
    with kv(c, leader) as k:
        retry(lambda: k.write("x", 1))          # again until no KVError, or the deadline

Anything with ``nodes`` and ``addr(node) -> (host, port)`` is a cluster here.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from dbs.kvstore.client import KVClient, KVError
from harness.api import Context

T = TypeVar("T")


class Cluster(Protocol):
    nodes: list[str]

    def addr(self, node: str) -> tuple[str, int]: ...


class Addresses:
    """A Context's nodes as a Cluster: each node's data-network address, on ``port``."""

    def __init__(self, ctx: Context, port: int = 7000):
        self.nodes, self.ips, self.port = list(ctx.nodes), ctx.ips, port

    def addr(self, node: str) -> tuple[str, int]:
        return self.ips[node], self.port


def kv(c: Cluster, node: str, timeout: float = 3.0) -> KVClient:
    return KVClient(*c.addr(node), timeout=timeout)


def status(c: Cluster, node: str, timeout: float = 0.5) -> dict[str, Any] | None:
    """``node``'s own status answer, or None if it does not answer."""
    try:
        with kv(c, node, timeout) as k:
            return k.status()
    except KVError:
        return None


def retry(fn: Callable[[], T], timeout: float = 10.0, pause: float = 0.1) -> T:
    """``fn()`` until it raises no KVError; the last one is raised after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except KVError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


def eventually(fn: Callable[[], T], timeout: float = 10.0, pause: float = 0.05) -> T:
    """``fn()`` until it is truthy (then returned); fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (got := fn()):
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(pause)
    return got


def wait_leader(c: Cluster, among: Sequence[str] | None = None, timeout: float = 10.0,
                not_: str | None = None, lease: bool = False,
                status_timeout: float = 0.5) -> str:
    """The one node of ``among`` (default: all) whose role is leader (holding a lease too,
    with ``lease``) and which every member of ``among`` that answers names as leader; not
    ``not_``."""
    among = list(among or c.nodes)
    deadline = time.monotonic() + timeout
    sts: dict[str, dict[str, Any] | None] = {}
    while time.monotonic() < deadline:
        sts = {n: status(c, n, status_timeout) for n in among}
        leaders = [n for n, st in sts.items() if st and st["role"] == "leader"
                   and (not lease or st.get("lease_ms_left", 0) > 0)]
        if (len(leaders) == 1 and leaders[0] != not_
                and all(st["leader"] == leaders[0] for st in sts.values() if st)):
            return leaders[0]
        time.sleep(0.05)
    raise AssertionError(f"no agreed leader among {among}: {sts}")


def increment_from_every_node(c: Cluster, nodes: Sequence[str], times: int = 30
                              ) -> list[KVError]:
    """Two threads per node, each incrementing key "ctr" ``times`` times through that node;
    the errors they met (none, for a store that counts right)."""
    errors: list[KVError] = []

    def worker(node: str) -> None:
        with kv(c, node) as k:
            for _ in range(times):
                try:
                    k.incr("ctr")
                except KVError as e:
                    errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in [*nodes, *nodes]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
