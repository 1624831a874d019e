"""Mode async on loopback: failover without a quorum gives two primaries and lost writes."""
from __future__ import annotations

import pytest

from dbs.kvstore.client import KVError
from tests.loopback.cluster import eventually
from tests.loopback.cluster import kv as connect

pytestmark = pytest.mark.loopback

NODES = ["n1", "n2", "n3"]
FAST = ["--failover-ms", "400", "--async-heartbeat-ms", "50", "--forward-timeout", "1.0",
        "--test-hooks"]


@pytest.fixture
def cluster(start_cluster):
    return start_cluster("async", NODES, FAST)


def kv(c, node, timeout=2.0):
    return connect(c, node, timeout)


def status(c, node):
    """Raises if ``node`` does not answer: every caller expects it up."""
    with kv(c, node) as k:
        return k.status()


def isolate(c, groups):
    """Cut the cluster into ``groups`` (lists of nodes); ``[NODES]`` heals."""
    for g in groups:
        for n in g:
            with kv(c, n) as k:
                k.request({"op": "isolate", "peers": [m for m in NODES if m not in g]})


def test_every_op_through_every_node(cluster):
    eventually(lambda: all(status(cluster, n)["primary"] == "n1" for n in NODES))
    kvs = {n: kv(cluster, n) for n in NODES}
    kvs["n2"].write(3, 7)
    assert kvs["n1"].read(3) == 7 and kvs["n3"].read(3) == 7  # reads go to the primary
    assert kvs["n3"].cas(3, 7, 8) is True and kvs["n2"].cas(3, 7, 9) is False
    assert kvs["n3"].incr("c") == 1 and kvs["n2"].incr("c", 4) == 5
    kvs["n2"].append("l", 1)
    kvs["n3"].append("l", 2)
    assert kvs["n1"].read("l") == [1, 2]
    roles = {n: k.status()["role"] for n, k in kvs.items()}
    assert roles == {"n1": "primary", "n2": "backup", "n3": "backup"}
    # the backups hold copies, replicated after the acknowledgements
    eventually(lambda: all(status(cluster, n)["seq"] == status(cluster, "n1")["seq"]
                           for n in NODES))
    for k in kvs.values():
        k.close()
    # healthy replication never needs a second snapshot (the first one starts following)
    for n in ("n2", "n3"):
        assert cluster.log_path(n).read_text().count("snapshot-installed") == 1


def test_partition_gives_two_primaries_and_healing_loses_acknowledged_writes(cluster):
    eventually(lambda: all(status(cluster, n)["primary"] == "n1" for n in NODES))
    with kv(cluster, "n1") as k:
        k.write("a", "before")
    isolate(cluster, [["n1"], ["n2", "n3"]])
    # n2 hears no heartbeat, promotes itself: no quorum is asked, none could stop it
    eventually(lambda: status(cluster, "n2")["role"] == "primary")
    roles = {n: status(cluster, n) for n in NODES}
    assert roles["n1"]["role"] == "primary" and roles["n2"]["role"] == "primary"  # split
    assert roles["n2"]["epoch"] > roles["n1"]["epoch"]
    with kv(cluster, "n1") as old, kv(cluster, "n3") as other:
        old.write("a", "old-side")   # acknowledged by n1
        old.write("only-old", 1)     # acknowledged by n1
        other.write("b", "new-side")  # forwarded by n3 to n2, acknowledged
        assert old.read("a") == "old-side" and other.read("a") == "before"
    isolate(cluster, [NODES])
    # n1 hears the higher epoch, demotes itself and takes n2's state: its writes vanish
    eventually(lambda: status(cluster, "n1")["role"] == "backup")
    for n in NODES:
        with kv(cluster, n) as k:
            assert eventually(lambda k=k: k.read("b") == "new-side")
            assert k.read("a") == "before"     # lost: "old-side" was acknowledged
            assert k.read("only-old") is None  # lost: it was acknowledged too
    log1, log2 = (cluster.log_path(n).read_text() for n in ("n1", "n2"))
    assert "promote epoch=2" in log2 and "no quorum asked" in log2
    assert "demoted by=n2" in log1 and "discarded_keys=2" in log1


def test_paused_primary_is_replaced_and_steps_down_after_resume(cluster):
    eventually(lambda: all(status(cluster, n)["primary"] == "n1" for n in NODES))
    cluster.pause("n1")
    try:
        eventually(lambda: status(cluster, "n2")["role"] == "primary")
        with kv(cluster, "n3") as k:
            eventually(lambda: _ok(lambda: k.write("x", 2)))
    finally:
        cluster.resume("n1")
    eventually(lambda: status(cluster, "n1")["role"] == "backup")
    with kv(cluster, "n1") as k:
        assert k.read("x") == 2


def test_forward_to_an_unreachable_primary_is_definite(cluster):
    eventually(lambda: all(status(cluster, n)["primary"] == "n1" for n in NODES))
    cluster.kill("n1")
    with kv(cluster, "n2") as k, pytest.raises(KVError) as e:
        k.write(1, 1)
    assert e.value.code == "unavailable" and e.value.definite is True


def _ok(fn):
    try:
        fn()
        return True
    except KVError:
        return False
