"""Each nemesis's effect, observed on real containers running the kvstore (cluster3):
pause -> state T and requests time out; kill -> no process, restart keeps data; clock ->
only the db's view of time moves; packet loss -> peers cut; tbf -> a qdisc; partition shapes
-> exactly the promised links cut. Every test heals what it did (the fixture checks)."""
from __future__ import annotations

import calendar
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dbs.kvstore.client import KVClient, KVIndefinite, KVUnavailable
from dbs.kvstore.db import LOG_FILE, PID_FILE, KVStoreDB
from harness.api import Context
from harness.control.parallel import on_nodes
from harness.errors import ConfigError
from harness.history import NEMESIS, Op
from harness.spec import TestSpec
from nemeses import grudges
from nemeses.clock import STROBE_MARK, ClockNemesis
from nemeses.packet import LOSS_CHAIN, NO_NETEM, PacketNemesis, netem_available
from nemeses.partition import CHAIN, PartitionNemesis
from nemeses.process import KillNemesis, PauseNemesis

pytestmark = pytest.mark.integration
PORT = 7000

# Runs on a node (not under libfaketime): the db process's wall clock, read by python3 run
# with the db's own environment, against the node's real clock.
_DB_TIME = f"""
import json, subprocess, time
pid = open({PID_FILE!r}).read().strip()
raw = open("/proc/%s/environ" % pid, "rb").read().decode()
env = dict(kv.split("=", 1) for kv in raw.split("\\0") if "=" in kv)
code = "import time; t0 = time.time(); time.sleep(float(%r)); print(t0, time.time())"
before = time.time()
out = subprocess.run(["python3", "-c", code % SLEEP], env=env, capture_output=True,
                     text=True, check=True).stdout.split()
after = time.time()
print(json.dumps({{"faked": float(out[0]), "faked_end": float(out[1]), "before": before,
                  "after": after, "preloaded": "LD_PRELOAD" in env}}))
"""


def op(f, value=None):
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


def db_clock(ctx, node, sleep=0.0):
    """(skew of the db's clock in s, rate over ``sleep`` s, preloaded?)"""
    script = _DB_TIME.replace("SLEEP", repr(sleep))
    out = json.loads(ctx.remotes[node].run(["python3", "-c", script], timeout=30).stdout)
    skew = out["faked"] - (out["before"] + out["after"]) / 2
    rate = (out["faked_end"] - out["faked"]) / sleep if sleep else None
    return skew, rate, out["preloaded"]


def container_skew(ctx, node):
    """The container's own clock (date, not under libfaketime) against the host's."""
    before = time.time()
    t = float(ctx.remotes[node].run("date +%s.%N", timeout=10).stdout)
    return t - (before + time.time()) / 2


def can_connect(ctx, src, dst, port=PORT):
    r = ctx.remotes[src].run(
        f"timeout 5 python3 -c \"import socket; socket.create_connection(('{ctx.ips[dst]}', "
        f"{port}), timeout=1.0).close()\"", check=False, timeout=10)
    return r.exit_code == 0


def links(ctx):
    """{(src, dst): can src open a TCP connection to dst's db port}, all pairs at once."""
    pairs = [(a, b) for a in ctx.nodes for b in ctx.nodes if a != b]
    with ThreadPoolExecutor(len(pairs)) as pool:
        return dict(zip(pairs, pool.map(lambda p: can_connect(ctx, *p), pairs)))


def proc_state(ctx, node):
    r = ctx.remotes[node].run(f"ps -o stat= -p $(cat {PID_FILE})", check=False, timeout=10)
    return r.stdout.strip()


def processes(ctx, node):
    """Every process's command line on the node."""
    return ctx.remotes[node].run("ps -eo args=", timeout=10).stdout.splitlines()


def db_alive(ctx, node):
    r = ctx.remotes[node].run(f"P=$(cat {PID_FILE} 2>/dev/null) && grep -q kvstore "
                              "/proc/$P/cmdline", check=False, timeout=10)
    return r.exit_code == 0


@pytest.fixture(scope="module")
def kv_nodes(cluster3):
    """kvstore (primary mode: n1 holds the data) on cluster3, once for this module."""
    ctx = context(cluster3)
    on_nodes(ctx.nodes, lambda n: ctx.db.setup(ctx, n))
    yield cluster3
    try:
        on_nodes(ctx.nodes, lambda n: ctx.db.teardown(ctx, n))
    finally:
        for n in ctx.nodes:
            ctx.remotes[n].run(f"iptables -F {CHAIN}; iptables -F {LOSS_CHAIN}; "
                               "tc qdisc del dev eth0 root", check=False, timeout=10)


def context(cluster):
    spec = TestSpec(nodes=tuple(cluster.nodes), mode="primary", seed=1)
    return Context(spec=spec, nodes=list(cluster.nodes), remotes=cluster.remotes,
                   ips=cluster.ips, run_dir=Path("/nonexistent"), db=KVStoreDB(),
                   log=lambda m: None)


@pytest.fixture
def kv(kv_nodes):
    """A fresh Context on the module's kvstore nodes; afterwards, checks that the test healed
    everything it did (no DROP rule, no tbf, no stopped process, every db answering)."""
    ctx = context(kv_nodes)
    yield ctx

    def healed(n):
        r = ctx.remotes[n]
        assert "DROP" not in r.run(f"iptables -S {CHAIN}; iptables -S {LOSS_CHAIN}",
                                   check=False, timeout=10).stdout, n
        assert "tbf" not in r.run("tc qdisc show", timeout=10).stdout, n
        assert not any(s.startswith("T") for s in r.run("ps -eo stat=", timeout=10)
                       .stdout.split()), n
        assert db_alive(ctx, n), n

    on_nodes(ctx.nodes, healed)


def test_pause_stops_the_process_and_requests_time_out_until_resumed(kv):
    nem = PauseNemesis()
    nem.prepare(kv)
    nem.setup(kv)
    done = nem.invoke(kv, op("start-pause", {"nodes": ["n2"]}))
    assert done.value["nodes"] == ["n2"]
    try:
        assert proc_state(kv, "n2").startswith("T")
        assert not proc_state(kv, "n1").startswith("T")
        with KVClient(kv.ips["n2"], timeout=1.0) as c, pytest.raises(KVIndefinite):
            c.read("k")
    finally:
        nem.invoke(kv, op("stop-pause"))
    assert not proc_state(kv, "n2").startswith("T")
    with KVClient(kv.ips["n2"], timeout=2.0) as c:
        c.write("k", 1)
        assert c.read("k") == 1
    nem.teardown(kv)


def test_kill_leaves_no_process_and_restart_answers_with_the_data_kept(kv):
    with KVClient(kv.ips["n1"], timeout=2.0) as c:
        c.write("kept", 42)
    nem = KillNemesis()
    nem.prepare(kv)
    nem.setup(kv)
    nem.invoke(kv, op("start-kill", {"nodes": ["n1"]}))
    assert not db_alive(kv, "n1")
    assert not any("kvstore.py" in a for a in processes(kv, "n1"))
    with KVClient(kv.ips["n1"], timeout=1.0) as c, pytest.raises(KVUnavailable):
        c.read("kept")
    done = nem.invoke(kv, op("stop-kill"))
    assert done.value["nodes"] == ["n1"] and done.value["seconds"] > 0
    assert db_alive(kv, "n1")
    with KVClient(kv.ips["n1"], timeout=2.0) as c:
        assert c.read("kept") == 42
    nem.teardown(kv)


@pytest.fixture
def faked(kv):
    """kv with the clock nemesis prepared and the db restarted under libfaketime."""
    nem = ClockNemesis(interval=2)
    nem.prepare(kv)
    on_nodes(kv.nodes, lambda n: (kv.db.kill(kv, n), kv.db.start(kv, n)))
    nem.setup(kv)
    yield kv, nem
    nem.teardown(kv)
    for n in kv.nodes:
        assert kv.remotes[n].run(f"cat /var/lib/splitbrain/faketime/{n}.rc",
                                 timeout=10).stdout.strip() == "+0.000000 x1"
        assert abs(db_clock(kv, n)[0]) < 1.0


def test_clock_bump_moves_only_the_db_clock_and_reset_brings_it_back(faked):
    ctx, nem = faked
    skew, _, preloaded = db_clock(ctx, "n2")
    assert preloaded and abs(skew) < 1.0
    done = nem.invoke(ctx, op("start-clock", {"mode": "bump", "deltas_ms": {"n2": 60_000}}))
    assert done.value["clock_offsets"] == {"n1": 0.0, "n2": 60.0, "n3": 0.0}
    assert db_clock(ctx, "n2")[0] == pytest.approx(60.0, abs=1.0)
    assert abs(db_clock(ctx, "n1")[0]) < 1.0
    assert abs(container_skew(ctx, "n2")) < 1.0, "the container's clock is untouched"
    # The db process itself: restarted now, its log's start line is a minute ahead.
    ctx.db.kill(ctx, "n2")
    t0 = time.time()
    ctx.db.start(ctx, "n2")
    line = [x for x in ctx.remotes["n2"].run(f"cat {LOG_FILE}", timeout=10).stdout
            .splitlines() if " start pid=" in x][-1]
    stamp = calendar.timegm(time.strptime(line.split()[0][:19], "%Y-%m-%dT%H:%M:%S"))
    assert 55 < stamp - t0 < 65, line
    nem.invoke(ctx, op("stop-clock"))
    assert abs(db_clock(ctx, "n2")[0]) < 1.0


def test_clock_drift_runs_the_db_clock_at_another_rate(faked):
    ctx, nem = faked
    nem.invoke(ctx, op("start-clock", {"mode": "drift", "rates": {"n3": 2.0}}))
    _, rate, _ = db_clock(ctx, "n3", sleep=1.0)
    assert rate == pytest.approx(2.0, abs=0.15)
    _, rate1, _ = db_clock(ctx, "n1", sleep=0.5)
    assert rate1 == pytest.approx(1.0, abs=0.1)
    nem.invoke(ctx, op("stop-clock"))
    _, rate, _ = db_clock(ctx, "n3", sleep=0.5)
    assert rate == pytest.approx(1.0, abs=0.1)


def test_clock_strobe_flips_the_rc_file_and_stop_kills_the_loop(faked):
    ctx, nem = faked
    nem.invoke(ctx, op("start-clock", {"mode": "strobe", "deltas_ms": {"n3": 5000},
                                       "period_ms": 30, "seconds": 30}))
    seen = set()
    for _ in range(30):
        seen.add(ctx.remotes["n3"].run("cat /var/lib/splitbrain/faketime/n3.rc",
                                       timeout=10).stdout.strip())
    assert seen == {"+0.000000 x1", "+5.000000 x1"}
    assert any(a.endswith(STROBE_MARK) for a in processes(ctx, "n3"))
    nem.invoke(ctx, op("stop-clock"))
    assert not any(a.endswith(STROBE_MARK) for a in processes(ctx, "n3"))


def test_packet_loss_of_everything_cuts_a_node_from_its_peers_only(kv):
    nem = PacketNemesis()
    nem.prepare(kv)
    nem.setup(kv)
    assert can_connect(kv, "n1", "n3")
    done = nem.invoke(kv, op("start-packet", {"loss": 1.0, "nodes": ["n3"]}))
    assert done.value["description"] == "loss 100% n3"
    try:
        assert not can_connect(kv, "n1", "n3") and not can_connect(kv, "n3", "n2")
        assert can_connect(kv, "n1", "n2")
        with KVClient(kv.ips["n3"], timeout=2.0) as c:  # the harness's clients: not peers
            c.status()
    finally:
        nem.invoke(kv, op("stop-packet"))
    assert can_connect(kv, "n1", "n3") and can_connect(kv, "n3", "n2")
    nem.teardown(kv)


def test_bandwidth_limit_shows_as_tbf_and_heal_removes_it(kv):
    nem = PacketNemesis()
    nem.setup(kv)
    nem.invoke(kv, op("start-packet", {"behaviour": "bandwidth", "nodes": ["n2"],
                                       "rate": "256kbit"}))
    shown = kv.remotes["n2"].run("tc qdisc show dev eth0", timeout=10).stdout
    assert "qdisc tbf" in shown and "256Kbit" in shown
    nem.invoke(kv, op("stop-packet"))
    assert "tbf" not in kv.remotes["n2"].run("tc qdisc show dev eth0", timeout=10).stdout
    nem.teardown(kv)


def test_netem_behaviours_are_refused_on_this_kernel(kv):
    if netem_available(kv, "n1"):
        pytest.skip("this kernel has netem")
    kv.spec = kv.spec.with_(options={"packet": "delay"})
    with pytest.raises(ConfigError) as e:
        PacketNemesis().prepare(kv)
    assert str(e.value) == NO_NETEM


@pytest.mark.parametrize("shape", ["majorities-ring", "bridge", "primaries"])
def test_partition_shapes_cut_exactly_the_promised_links(kv, shape):
    kv.spec = kv.spec.with_(options={"partition": shape})
    nem = PartitionNemesis(seed=5)
    nem.prepare(kv)
    nem.setup(kv)
    done = nem.invoke(kv, op("start-partition"))
    grudge = done.value["grudge"]
    try:
        sees = grudges.sees(grudge)
        # TCP needs both ways: the SYN and its answer.
        expected = {(a, b): a in sees[b] and b in sees[a] for a, b in links(kv)}
        assert links(kv) == expected, grudge
        if shape == "primaries":
            assert grudge["n1"] == ["n2", "n3"], "primary mode: n1 leads"
    finally:
        nem.teardown(kv)
    assert all(links(kv).values())
