"""Every kvstore mode on real containers, and lease mode's pause anomaly through the real
client: a stale read after a newer write completed, which fenced mode refuses."""
from __future__ import annotations

import time

import pytest

from dbs.kvstore.client import KVError
from dbs.kvstore.db import MODES, PID_FILE, KVStoreDB
from harness.control.parallel import on_nodes
from harness.spec import TestSpec
from harness.testing import fake_context
from tests.loopback.cluster import Addresses, kv, retry, wait_leader

pytestmark = pytest.mark.integration

ALL_MODES = tuple(m.name for m in MODES)


def start(cluster, tmp_path, mode, **options):
    spec = TestSpec(nodes=tuple(cluster.nodes), mode=mode, seed=3, options=options)
    ctx = fake_context(cluster.nodes, spec=spec, remotes=cluster.remotes, db=KVStoreDB(),
                       run_dir=tmp_path, log=lambda m: None)
    ctx.ips.update(cluster.ips)  # the real data-network addresses, not the fake ones
    on_nodes(ctx.nodes, lambda n: ctx.db.setup(ctx, n))
    return ctx


def stop(ctx):
    for n in ctx.nodes:
        ctx.remotes[n].run(f"kill -CONT $(cat {PID_FILE}) 2>/dev/null", check=False,
                           timeout=10)
    on_nodes(ctx.nodes, lambda n: ctx.db.teardown(ctx, n))


def client(ctx, node, timeout=3.0):
    return kv(Addresses(ctx), node, timeout)


def wait_lease_holder(ctx, among, timeout=20.0):
    return wait_leader(Addresses(ctx), among, timeout, lease=True, status_timeout=1.0)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_mode_starts_and_serves_reads_writes_and_cas_through_any_node(cluster3, tmp_path,
                                                                        mode):
    ctx = start(cluster3, tmp_path, mode)
    try:
        n1, n2, n3 = ctx.nodes[:3]
        with client(ctx, n2) as a, client(ctx, n3) as b, client(ctx, n1) as c:
            retry_slow(lambda: a.write("k", 1))
            # lww replicates after answering, async reads on the primary: give them a moment
            assert retry_slow(lambda: _eventually(lambda: b.read("k"), 1)) == 1
            assert b.cas("k", 1, 2) is True
            assert retry_slow(lambda: _eventually(lambda: c.read("k"), 2)) == 2
            assert c.cas("k", 1, 3) is False
            assert a.incr("n") == 1
            st = c.status()
            assert st["mode"] == mode
        logs = ctx.remotes[n1].run("cat /var/log/splitbrain/kvstore.log", timeout=10).stdout
        assert f"mode {mode}" in logs
        assert set(ctx.db.primaries(ctx)) <= set(ctx.nodes) and ctx.db.primaries(ctx)
    finally:
        stop(ctx)


def retry_slow(fn, timeout=15.0):
    return retry(fn, timeout, pause=0.2)  # docker exec and real networks are slower


def _eventually(fn, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while (got := fn()) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


def _pause_replace_resume(ctx):
    """x=1 through the lease holder; pause it; x=2 through the new one; resume the old."""
    old = wait_lease_holder(ctx, ctx.nodes)
    with client(ctx, old) as kv:
        retry_slow(lambda: kv.write("x", 1))
        assert kv.read("x") == 1
    ctx.db.pause(ctx, old)
    try:
        rest = [n for n in ctx.nodes if n != old]
        new = wait_lease_holder(ctx, rest)
        with client(ctx, new) as kv:
            retry_slow(lambda: kv.write("x", 2))
            assert kv.read("x") == 2  # acknowledged and visible: x=2 happened
    finally:
        ctx.db.resume(ctx, old)
    return old


def test_lease_paused_leader_returns_a_stale_read_through_the_real_client(cluster3,
                                                                         tmp_path):
    # A long lease, so that docker exec's latency cannot eat it before the read.
    ctx = start(cluster3, tmp_path, "lease", lease_ms=8000)
    try:
        old = _pause_replace_resume(ctx)
        with client(ctx, old) as kv:
            assert kv.read("x") == 1  # STALE: the write of 2 completed before this read
        log = ctx.remotes[old].run("cat /var/log/splitbrain/kvstore.log", timeout=10).stdout
        assert "lease-ignores term=" in log
    finally:
        stop(ctx)


def test_fenced_refuses_the_same_resumed_leader(cluster3, tmp_path):
    ctx = start(cluster3, tmp_path, "fenced", lease_ms=8000)
    try:
        old = _pause_replace_resume(ctx)
        with client(ctx, old) as kv:
            try:
                assert kv.read("x") == 2
            except KVError as e:
                assert e.code == "fenced" and e.definite
        log = "".join(ctx.remotes[n].run("cat /var/log/splitbrain/kvstore.log",
                                         timeout=10).stdout for n in ctx.nodes)
        assert "fence-rejected" in log
    finally:
        stop(ctx)
