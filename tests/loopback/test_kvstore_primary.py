"""Mode primary on loopback: three server processes, the real client."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from dbs.kvstore.client import KVError, KVIndefinite, KVUnavailable
from tests.loopback.cluster import kv as connect

pytestmark = pytest.mark.loopback

NODES = ["n1", "n2", "n3"]


@pytest.fixture
def cluster(start_cluster):
    return start_cluster("primary", NODES, ["--forward-timeout", "0.5"])


def client(c, node, timeout=2.0):
    return connect(c, node, timeout)


def test_every_op_through_every_node(cluster):
    kvs = {n: client(cluster, n) for n in NODES}
    kvs["n2"].write(3, 7)
    assert kvs["n1"].read(3) == 7 and kvs["n3"].read("3") == 7
    assert kvs["n3"].cas(3, 7, 8) is True
    assert kvs["n1"].cas(3, 7, 9) is False
    assert kvs["n2"].read(3) == 8
    assert kvs["n2"].incr("c") == 1 and kvs["n3"].incr("c", 10) == 11
    kvs["n3"].append("l", 1)
    kvs["n2"].append("l", 2)
    kvs["n2"].add("s", "x")
    kvs["n3"].add("s", "x")
    assert kvs["n1"].read("l") == [1, 2] and kvs["n1"].read("s") == ["x"]
    assert kvs["n2"].read("absent") is None
    with pytest.raises(KVError) as e:
        kvs["n3"].incr("l")
    assert e.value.code == "type-error" and e.value.definite
    st = kvs["n2"].status()
    assert st["role"] == "follower" and st["primary"] == "n1"
    for kv in kvs.values():
        kv.close()


def test_concurrent_increments_through_followers_all_count(cluster):
    errors = []

    def worker(node):
        with client(cluster, node) as kv:
            for _ in range(50):
                try:
                    kv.incr("ctr")
                except KVError as e:  # pragma: no cover - would fail the sum below
                    errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in NODES * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with client(cluster, "n1") as kv:
        assert kv.read("ctr") == 9 * 50


def test_data_survives_primary_crash(cluster):
    with client(cluster, "n2") as kv:
        for i in range(20):
            kv.write(f"k{i}", i)
        kv.append("l", "a")
    cluster.kill("n1")
    cluster.start("n1")
    with client(cluster, "n3") as kv:
        assert [kv.read(f"k{i}") for i in range(20)] == list(range(20))
        assert kv.read("l") == ["a"]
    assert "replayed records=21" in cluster.log_path("n1").read_text()


def test_primary_down_is_definite_unavailable(cluster):
    cluster.kill("n1")
    with client(cluster, "n2") as kv, pytest.raises(KVError) as e:
        kv.write(1, 1)
    assert e.value.code == "unavailable" and e.value.definite is True
    assert "forward-failed to=n1" in cluster.log_path("n2").read_text()


def test_primary_paused_is_indefinite_timeout(cluster):
    cluster.pause("n1")
    try:
        with client(cluster, "n2") as kv:
            t0 = time.monotonic()
            with pytest.raises(KVError) as e:
                kv.write(1, 1)
            assert time.monotonic() - t0 < 1.5  # the follower's forward timeout, not ours
        assert e.value.code == "timeout" and e.value.definite is False
    finally:
        cluster.resume("n1")


def test_primary_dies_mid_forward_is_indefinite(start_cluster):
    c = start_cluster("primary", NODES, ["--forward-timeout", "5"])
    with client(c, "n2", timeout=8) as kv:
        kv.write(0, 0)  # the follower's link to n1 is open now
        c.pause("n1")
        box = {}

        def call():
            try:
                kv.write(1, 1)
            except KVError as e:
                box["err"] = e

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.3)  # the request is forwarded and stuck on the paused primary
        c.kill("n1")
        t.join(10)
    err = box["err"]
    assert err.definite is False and err.code == "timeout"
    assert "connection" in err.msg


def test_client_reconnects_after_its_node_restarts(cluster):
    kv = client(cluster, "n3")
    kv.write("a", 1)
    cluster.kill("n3")
    with pytest.raises(KVError) as e:
        kv.read("a")  # the old connection is dead: sent into the void, or refused
    assert isinstance(e.value, (KVIndefinite, KVUnavailable))
    with pytest.raises(KVUnavailable):
        kv.read("a")  # nothing listens: refused before sending
    cluster.start("n3")
    assert kv.read("a") == 1
    kv.close()


def test_malformed_line_gets_definite_bad_request(cluster):
    with socket.create_connection(cluster.addr("n1"), 2) as s:
        s.sendall(b"not json\n" + b'{"id": 5, "op": "nope", "key": 1}\n')
        f = s.makefile("rb")
        first, second = f.readline(), f.readline()
    assert b'"bad-request"' in first and b'"definite":true' in first
    assert b'"id":5' in second and b'"bad-request"' in second
