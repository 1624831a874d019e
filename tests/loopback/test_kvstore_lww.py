"""Mode lww on loopback: a node whose clock is 5 s slow loses acknowledged writes."""
from __future__ import annotations

import time

import pytest
from kv_local import LocalCluster

from dbs.kvstore.client import KVError
from tests.loopback.cluster import kv as connect

pytestmark = pytest.mark.loopback


class SkewedCluster(LocalCluster):
    """LocalCluster with a per-node --clock-offset (what libfaketime does in real runs)."""

    def __init__(self, *args, offsets=None, **kw):
        super().__init__(*args, **kw)
        self.offsets = offsets or {}

    def command(self, node):
        return [*super().command(node), "--clock-offset", str(self.offsets.get(node, 0))]


@pytest.fixture
def cluster(start_cluster):
    return start_cluster("lww", ["n1", "n2", "n3"], ["--sync-ms", "200", "--test-hooks"],
                         cls=SkewedCluster, offsets={"n2": -5})


def kv(c, node):
    return connect(c, node, timeout=2.0)


def converges(fn, want, timeout=5.0):
    """Wait until ``fn()`` returns ``want``."""
    deadline = time.monotonic() + timeout
    while (got := fn()) != want:
        assert time.monotonic() < deadline, f"still {got!r}, wanted {want!r}"
        time.sleep(0.05)


def test_every_node_takes_every_op_and_they_converge(cluster):
    with kv(cluster, "n1") as a, kv(cluster, "n3") as b:
        a.write(3, 7)
        assert a.cas(3, 7, 8) is True and a.cas(3, 7, 9) is False
        assert b.incr("c") == 1
        b.append("l", 1)
        b.add("s", "x")
        b.add("s", "x")
        with pytest.raises(KVError) as e:
            b.incr("l")
        assert e.value.code == "type-error" and e.value.definite
        for n in cluster.nodes:
            with kv(cluster, n) as k:
                converges(lambda k=k: [k.read(3), k.read("c"), k.read("l"), k.read("s")],
                           [8, 1, [1], ["x"]])
        assert a.status()["role"] == "primary"  # every node takes writes


def test_slow_clock_loses_an_acknowledged_write_everywhere(cluster):
    with kv(cluster, "n1") as fast, kv(cluster, "n2") as slow:
        fast.write("x", "first")
        converges(lambda: slow.read("x"), "first")  # replicated to n2
        slow.write("x", "second")  # acknowledged: ok
        assert slow.read("x") == "first"  # ... but stamped 5 s in the past: it lost
        time.sleep(0.5)  # anti-entropy rounds: nobody ever shows "second"
        for n in cluster.nodes:
            with kv(cluster, n) as k:
                assert k.read("x") == "first"
    log = cluster.log_path("n2").read_text()
    assert "lww-lost op=write key=x" in log and "never visible" in log


def test_slow_clock_loses_increments(cluster):
    with kv(cluster, "n1") as fast, kv(cluster, "n2") as slow:
        assert fast.incr("c") == 1
        converges(lambda: slow.read("c"), 1)
        assert slow.incr("c") == 2  # acknowledged with its new value...
        time.sleep(0.5)
        assert fast.read("c") == 1 and slow.read("c") == 1  # ... then gone


def test_values_converge_after_a_partition_heals(cluster):
    with kv(cluster, "n1") as a, kv(cluster, "n3") as b:
        for node, peers in (("n1", ["n2", "n3"]), ("n2", ["n1"]), ("n3", ["n1"])):
            with kv(cluster, node) as k:
                k.request({"op": "isolate", "peers": peers})
        a.write("p", "from-n1")
        time.sleep(0.05)
        b.write("p", "from-n3")  # later stamp (same clock): wins once they talk again
        assert a.read("p") == "from-n1"  # diverged while cut off
        for node in cluster.nodes:
            with kv(cluster, node) as k:
                k.request({"op": "isolate", "peers": []})
        converges(lambda: a.read("p"), "from-n3")
