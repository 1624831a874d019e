"""Modes lease and fenced on loopback: the same pause, a stale read in one, none in the other."""
from __future__ import annotations

import time
from functools import partial

import pytest

from dbs.kvstore.client import KVError
from tests.loopback.cluster import increment_from_every_node, kv, retry, status
from tests.loopback.cluster import wait_leader as wait_any_leader

pytestmark = pytest.mark.loopback

NODES = ["n1", "n2", "n3"]
FAST = ["--election-min-ms", "150", "--election-max-ms", "300", "--heartbeat-ms", "30",
        "--forward-timeout", "1.0", "--lease-ms", "4000"]
# The pause demos must read within the old lease, however slow a loaded machine makes them.
LONG_LEASE = [*FAST, "--lease-ms", "8000"]

# The one node of ``among`` that leads and holds a lease, once all of ``among`` that answer
# name it.
wait_leader = partial(wait_any_leader, lease=True)


@pytest.fixture(params=["lease", "fenced"])
def cluster(request, start_cluster):
    return start_cluster(request.param, NODES, FAST)


def pause_and_replace(c):
    """Write x=1, pause the leader, let the others elect one and write x=2 through it.
    Returns (old leader, new leader); the old one is resumed."""
    old = wait_leader(c, NODES)
    with kv(c, old) as k:
        k.write("x", 1)
        assert k.read("x") == 1
    c.pause(old)
    try:
        rest = [n for n in NODES if n != old]
        new = wait_leader(c, rest)
        with kv(c, new) as k:
            retry(lambda: k.write("x", 2))
            assert k.read("x") == 2  # x=2 is acknowledged and visible: it happened
    finally:
        c.resume(old)
    return old, new


def test_every_op_through_every_node(cluster):
    wait_leader(cluster, NODES)
    kvs = {n: kv(cluster, n) for n in NODES}
    kvs["n2"].write(3, 7)
    assert all(k.read(3) == 7 for k in kvs.values())
    assert kvs["n3"].cas(3, 7, 8) is True and kvs["n1"].cas(3, 7, 9) is False
    assert kvs["n1"].read("3") == 8
    assert kvs["n3"].incr("c") == 1 and kvs["n2"].incr("c", 4) == 5
    kvs["n1"].append("l", 1)
    kvs["n3"].append("l", 2)
    kvs["n2"].add("s", 1)
    kvs["n1"].add("s", 1)
    assert [k.read("l") for k in kvs.values()] == [[1, 2]] * 3
    assert kvs["n2"].read("s") == [1] and kvs["n1"].read("nope") is None
    for k in kvs.values():
        k.close()


def test_concurrent_increments_count_exactly(cluster):
    wait_leader(cluster, NODES)
    assert not increment_from_every_node(cluster, NODES, 30)
    with kv(cluster, "n2") as k:
        assert k.read("ctr") == 6 * 30


def test_lease_paused_leader_serves_a_stale_read_on_resume(start_cluster):
    c = start_cluster("lease", NODES, LONG_LEASE)
    old, new = pause_and_replace(c)
    with kv(c, old) as k:
        assert k.read("x") == 1  # STALE: x=2 was acknowledged before this read began
    log = c.log_path(old).read_text()
    assert "lease-ignores term=" in log and "lease-acquired" in log
    # once the lease runs out, the old leader listens again and catches up
    deadline = time.monotonic() + 15
    while (status(c, old) or {}).get("role") != "follower":
        assert time.monotonic() < deadline, "old leader never stepped down"
        time.sleep(0.1)
    with kv(c, old) as k:
        assert retry(lambda: k.read("x")) == 2
    assert "lease-expired" in c.log_path(old).read_text()


def test_fenced_the_same_pause_never_returns_a_stale_value(start_cluster):
    c = start_cluster("fenced", NODES, LONG_LEASE)
    old, new = pause_and_replace(c)
    with kv(c, old) as k:
        try:
            value = k.read("x")
        except KVError as e:
            assert e.code == "fenced" and e.definite  # refused by the storage
        else:
            assert value == 2
        # the old holder's write cannot reach a majority either, and never appears
        with pytest.raises(KVError) as e:
            k.write("x", 3)
        assert e.value.code in ("timeout", "fenced", "not-leader")
    log = "".join(c.log_path(n).read_text() for n in NODES)
    assert "fence-rejected kind=read" in log and "fence-rejected kind=append" in log
    assert "fenced-read" in c.log_path(old).read_text()
    for n in NODES:  # the old holder refuses reads until its lease runs out
        with kv(c, n) as k:
            assert retry(lambda k=k: k.read("x"), timeout=20) == 2
