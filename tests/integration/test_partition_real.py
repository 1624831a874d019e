"""A real iptables partition inside real containers stops traffic, and the heal restores it.
Control traffic (docker exec, and host -> node clients) is never cut."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from harness.api import Context
from harness.history import NEMESIS, Op
from harness.spec import TestSpec
from nemeses.partition import CHAIN, PartitionNemesis, apply_grudge, heal

pytestmark = pytest.mark.integration
PORT = 7999


def ctx_of(cluster) -> Context:
    # A real spec: the nemesis reads its options (port, partition, grudge) from it.
    return Context(spec=TestSpec(nodes=tuple(cluster.nodes)), nodes=list(cluster.nodes),
                   remotes=cluster.remotes, ips=cluster.ips, run_dir=Path("."))


def can_connect(remote, host: str) -> bool:
    r = remote.run(f"timeout 3 python3 -c \"import socket; socket.create_connection(('{host}', "
                   f"{PORT}), timeout=1.5).close()\"", check=False, timeout=10)
    return r.exit_code == 0


def host_can_connect(ip: str) -> bool:
    try:
        socket.create_connection((ip, PORT), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def listeners(cluster3):
    for n in cluster3.nodes:
        cluster3.remotes[n].run(
            f"nohup python3 -m http.server {PORT} >/dev/null 2>&1 & echo $! > /tmp/l.pid",
            timeout=10)
    deadline = time.monotonic() + 10
    while not all(host_can_connect(cluster3.ips[n]) for n in cluster3.nodes):
        assert time.monotonic() < deadline, "listeners did not start"
        time.sleep(0.2)
    yield cluster3
    heal(ctx_of(cluster3))
    for n in cluster3.nodes:
        cluster3.remotes[n].run("kill $(cat /tmp/l.pid) 2>/dev/null || true", timeout=10)


def test_partition_blocks_only_the_grudged_traffic_and_heal_restores_it(listeners):
    c = listeners
    n1, n2, n3 = c.nodes[:3]
    ctx = ctx_of(c)
    assert can_connect(c.remotes[n1], n2)
    apply_grudge(ctx, {n1: [n2], n2: [n1], n3: []})
    try:
        assert not can_connect(c.remotes[n1], n2), "n1 -> n2 should be cut"
        assert not can_connect(c.remotes[n2], n1), "n2 -> n1 should be cut"
        assert can_connect(c.remotes[n3], n2) and can_connect(c.remotes[n1], n3)
        # Control traffic: the harness still reaches every node, over exec and as a client.
        assert c.remotes[n2].run("echo alive", timeout=10).stdout.strip() == "alive"
        assert host_can_connect(c.ips[n1]) and host_can_connect(c.ips[n2])
        rules = c.remotes[n1].run(f"iptables -S {CHAIN}", timeout=10).stdout
        assert f"-s {c.ips[n2]}/32" in rules and "DROP" in rules
    finally:
        heal(ctx)
    assert can_connect(c.remotes[n1], n2) and can_connect(c.remotes[n2], n1)
    assert "DROP" not in c.remotes[n1].run(f"iptables -S {CHAIN}", timeout=10).stdout


def test_nemesis_random_halves_then_teardown_leaves_no_rule(listeners):
    c = listeners
    ctx = ctx_of(c)
    nem = PartitionNemesis(seed=3)
    nem.setup(ctx)
    done = nem.invoke(ctx, Op(type="invoke", f="start-partition", process=NEMESIS))
    grudge = done.value["grudge"]
    cut = [(a, b) for a, bs in grudge.items() for b in bs]
    assert cut, done.value
    a, b = cut[0]
    assert not can_connect(c.remotes[b], a)
    nem.teardown(ctx)
    assert can_connect(c.remotes[b], a)
    for n in c.nodes:
        assert "DROP" not in c.remotes[n].run(f"iptables -S {CHAIN}", timeout=10).stdout
