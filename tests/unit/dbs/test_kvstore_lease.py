"""Modes lease and fenced on loopback: the same pause, a stale read in one, none in the other."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from dbs.kvstore.client import KVClient, KVError

KVDIR = Path(__file__).resolve().parents[3] / "docker" / "kvstore"
sys.path.insert(0, str(KVDIR))

from kv_local import LocalCluster

NODES = ["n1", "n2", "n3"]
FAST = ["--election-min-ms", "150", "--election-max-ms", "300", "--heartbeat-ms", "30",
        "--forward-timeout", "1.0", "--lease-ms", "4000"]
# The pause demos must read within the old lease, however slow a loaded machine makes them.
LONG_LEASE = [*FAST, "--lease-ms", "8000"]


def status(c, node):
    try:
        with KVClient(*c.addr(node), timeout=0.5) as kv:
            return kv.status()
    except KVError:
        return None


def wait_leader(c, among, timeout=10.0):
    """The one node of ``among`` that leads and holds a lease, once all of ``among`` that
    answer name it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sts = {n: status(c, n) for n in among}
        leaders = [n for n, st in sts.items() if st and st["role"] == "leader"
                   and st.get("lease_ms_left", 0) > 0]
        if len(leaders) == 1 and all(st["leader"] == leaders[0] for st in sts.values() if st):
            return leaders[0]
        time.sleep(0.05)
    raise AssertionError(f"no leader among {among}: {sts}")


def retry(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except KVError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def kv(c, node, timeout=3.0):
    return KVClient(*c.addr(node), timeout=timeout)


@pytest.fixture(params=["lease", "fenced"])
def cluster(request, tmp_path):
    c = LocalCluster(NODES, request.param, tmp_path, extra_args=FAST)
    c.start_all()
    yield c
    c.stop_all()


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
    errors = []

    def worker(node):
        with kv(cluster, node) as k:
            for _ in range(30):
                try:
                    k.incr("ctr")
                except KVError as e:  # pragma: no cover - would break the count
                    errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in NODES * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with kv(cluster, "n2") as k:
        assert k.read("ctr") == 6 * 30


def test_lease_paused_leader_serves_a_stale_read_on_resume(tmp_path):
    c = LocalCluster(NODES, "lease", tmp_path, extra_args=LONG_LEASE)
    c.start_all()
    try:
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
    finally:
        c.stop_all()


def test_fenced_the_same_pause_never_returns_a_stale_value(tmp_path):
    c = LocalCluster(NODES, "fenced", tmp_path, extra_args=LONG_LEASE)
    c.start_all()
    try:
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
    finally:
        c.stop_all()
