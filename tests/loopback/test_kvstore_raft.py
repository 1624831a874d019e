"""Mode raft on loopback: five server processes, the real client, crashes and pauses."""
from __future__ import annotations

import socket
import time

import pytest

from dbs.kvstore.client import KVError
from tests.loopback.cluster import increment_from_every_node, kv, retry, status, wait_leader

pytestmark = pytest.mark.loopback

NODES = ["n1", "n2", "n3", "n4", "n5"]
FAST = ["--election-min-ms", "150", "--election-max-ms", "300", "--heartbeat-ms", "30",
        "--forward-timeout", "1.0"]


@pytest.fixture
def cluster(start_cluster):
    return start_cluster("raft", NODES, FAST)


def test_every_op_through_every_node(cluster):
    wait_leader(cluster)
    kvs = {n: kv(cluster, n) for n in NODES}
    kvs["n2"].write(3, 7)
    assert all(k.read(3) == 7 for k in kvs.values())
    assert kvs["n4"].cas(3, 7, 8) is True and kvs["n5"].cas(3, 7, 9) is False
    assert kvs["n1"].read("3") == 8
    assert kvs["n3"].incr("c") == 1 and kvs["n2"].incr("c", 4) == 5
    kvs["n1"].append("l", 1)
    kvs["n5"].append("l", 2)
    kvs["n4"].add("s", 1)
    kvs["n3"].add("s", 1)
    assert kvs["n2"].read("l") == [1, 2] and kvs["n2"].read("s") == [1]
    assert kvs["n1"].read("nope") is None
    with pytest.raises(KVError) as e:
        kvs["n2"].incr("l")
    assert e.value.code == "type-error" and e.value.definite
    roles = sorted(k.status()["role"] for k in kvs.values())
    assert roles == ["follower"] * 4 + ["leader"]
    for k in kvs.values():
        k.close()


def test_concurrent_increments_through_all_nodes_count_exactly(cluster):
    wait_leader(cluster)
    assert not increment_from_every_node(cluster, NODES, 30)
    with kv(cluster, "n3") as k:
        assert k.read("ctr") == 10 * 30


def test_leader_crash_elects_another_and_keeps_acknowledged_writes(cluster):
    old = wait_leader(cluster)
    other = next(n for n in NODES if n != old)
    with kv(cluster, other) as k:
        for i in range(20):
            k.write(f"k{i}", i)
    cluster.kill(old)
    rest = [n for n in NODES if n != old]
    new = wait_leader(cluster, among=rest)
    assert new != old
    with kv(cluster, rest[0]) as k:
        assert [retry(lambda i=i: k.read(f"k{i}")) for i in range(20)] == list(range(20))
        retry(lambda: k.write("after", 1))
    cluster.start(old)
    # the old leader rejoins as a follower and catches up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = status(cluster, old)
        if st and st["role"] == "follower" and st["applied"] >= status(cluster, new)["commit"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"{old} did not catch up: {status(cluster, old)}")
    with kv(cluster, old) as k:
        assert k.read("after") == 1
    log = cluster.log_path(new).read_text()
    assert "role=leader" in log and "election term=" in log


def test_whole_cluster_restart_recovers_from_disk(cluster):
    wait_leader(cluster)
    with kv(cluster, "n1") as k:
        k.write("x", "durable")
        k.append("l", 1)
    for n in NODES:
        cluster.kill(n)
    for n in NODES:
        cluster.start(n)
    wait_leader(cluster)
    with kv(cluster, "n5") as k:
        assert retry(lambda: k.read("x")) == "durable"
        assert k.read("l") == [1]
    assert "recovered term=" in cluster.log_path("n1").read_text()


def test_no_majority_means_indefinite_then_the_entry_may_still_commit(cluster):
    ldr = wait_leader(cluster)
    followers = [n for n in NODES if n != ldr][:3]
    for n in followers:
        cluster.pause(n)
    try:
        with kv(cluster, ldr) as k, pytest.raises(KVError) as e:
            k.write("maybe", 1)
        assert e.value.definite is False and e.value.code == "timeout"
    finally:
        for n in followers:
            cluster.resume(n)
    # The entry sat in the leader's log; with the majority back it commits after all:
    # exactly why the client had to say "unknown", not "failed".
    wait_leader(cluster)
    with kv(cluster, ldr) as k:
        assert retry(lambda: k.read("maybe")) == 1


def test_paused_leader_is_replaced_and_steps_down_on_resume(cluster):
    old = wait_leader(cluster)
    cluster.pause(old)
    try:
        rest = [n for n in NODES if n != old]
        new = wait_leader(cluster, among=rest)
        with kv(cluster, rest[0]) as k:
            retry(lambda: k.write("during", 2))
    finally:
        cluster.resume(old)
    deadline = time.monotonic() + 5
    while (status(cluster, old) or {}).get("role") != "follower":
        assert time.monotonic() < deadline, "old leader never stepped down"
        time.sleep(0.05)
    with kv(cluster, old) as k:
        assert retry(lambda: k.read("during")) == 2
    assert new != old


def test_follower_without_leader_refuses_definitely(start_cluster):
    c = start_cluster("raft", ["n1", "n2", "n3"], FAST, start=False)
    c.start("n1")  # alone: it can never win an election
    with kv(c, "n1") as k, pytest.raises(KVError) as e:
        k.write(1, 1)
    assert e.value.code == "not-leader" and e.value.definite is True
    assert "rejected op=write reason=not-leader" in c.log_path("n1").read_text()


def test_garbage_peer_message_is_logged_and_harmless(cluster):
    ldr = wait_leader(cluster)
    victim = next(n for n in NODES if n != ldr)
    with socket.create_connection(cluster.addr(victim), 2) as s:
        s.sendall(b'{"op": "peer", "msg": {"type": "append", "term": 1, "from": "n1"}}\n'
                  b'{"op": "peer", "msg": [1, 2]}\n')
        time.sleep(0.2)
    with kv(cluster, victim) as k:
        k.write("still", "fine")
        assert k.read("still") == "fine"
