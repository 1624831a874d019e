"""The partition nemesis against fake nodes that keep iptables rules and play the probe: the
grudges it applies on the receivers, shapes chosen by option, the explicit grudge, the probe
that checks traffic really stops, and the guard at teardown. (The real effect on containers:
tests/integration/test_partition_real.py.)"""
from __future__ import annotations

import random
import re
import shlex

import pytest

from harness.control.fake import FakeRemote
from harness.errors import ConfigError, NemesisError
from harness.history import INFO, NEMESIS, Op
from nemeses import grudges
from nemeses.common import node_script
from nemeses.partition import (
    CHAIN,
    PartitionNemesis,
    complete_grudge,
    describe,
    partition_package,
    random_halves,
)

NODES = ["n1", "n2", "n3", "n4", "n5"]
IPS = {n: f"10.0.0.{i}" for i, n in enumerate(NODES, 1)}  # fake_context's addresses
PROBE = shlex.quote(node_script("nemeses.partition", "probe.py"))


class Node:
    """Keeps the node's DROP rules (answering ``iptables -S`` from them); the probe connects
    unless the target drops us. ``ignore_rules``: the node loses every rule it is given."""

    def __init__(self, name, everyone, ignore_rules=False):
        self.name, self.everyone, self.ignore_rules = name, everyone, ignore_rules
        self.rules: list[str] = []

    def __call__(self, cmd: str):
        if cmd.startswith(f"python3 -c {PROBE} "):
            dst_ip = cmd.split()[-3]
            dst = next(n for n, ip in IPS.items() if ip == dst_ip)
            dropped = IPS[self.name] in self.everyone[dst].rules
            return 0 if dropped else 4
        if f"-S {CHAIN}" in cmd:
            return "\n".join(f"-A {CHAIN} -s {ip}/32 -j DROP" for ip in self.rules)
        if f"-F {CHAIN}" in cmd:
            self.rules = [] if self.ignore_rules else \
                re.findall(rf"-A {CHAIN} -s (\S+) -j DROP", cmd)
        return None


@pytest.fixture
def make(make_ctx):
    """make(db=None, lose=(), **options) -> (ctx, {node: Node}) over NODES."""
    def build(db=None, lose=(), **options):
        everyone: dict[str, Node] = {}
        for n in NODES:
            everyone[n] = Node(n, everyone, ignore_rules=n in lose)
        c = make_ctx(nodes=NODES, options=options, responses=everyone, db=db,
                     log=lambda m: None)
        assert c.ips == IPS
        return c, everyone
    return build


def start(nem, c, value=None):
    return nem.invoke(c, Op(type="invoke", f="start-partition", process=NEMESIS, value=value))


def stop(nem, c):
    return nem.invoke(c, Op(type="invoke", f="stop-partition", process=NEMESIS))


# --- grudges -------------------------------------------------------------------------------

def test_random_halves_is_a_complete_two_way_split():
    for seed in range(20):
        grudge = random_halves(NODES, random.Random(seed))
        sides = describe(grudge).split(" | ")
        assert sorted(len(s.split()) for s in sides) == [2, 3]
        for a, blocked in grudge.items():
            for b in blocked:
                assert a in grudge[b], "grudges are symmetric"
            assert a not in blocked


def test_complete_grudge_and_description():
    g = complete_grudge([["n1"], ["n2", "n3"]])
    assert g == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}
    assert describe(g) == "n1 | n2 n3"


# --- applying and healing ------------------------------------------------------------------

def test_start_applies_drop_rules_on_receivers_and_stop_flushes_them(make):
    c, nodes = make()
    nem = PartitionNemesis(seed=1)
    nem.setup(c)
    grudge = {"n1": ["n2"], "n2": ["n1"], "n3": [], "n4": [], "n5": []}
    done = start(nem, c, grudge)
    assert done.type == INFO and done.value["grudge"] == grudge
    assert nodes["n1"].rules == [IPS["n2"]] and nodes["n2"].rules == [IPS["n1"]]
    assert nodes["n3"].rules == []
    assert any(f"-I INPUT 1 -j {CHAIN}" in cmd for cmd in c.remotes["n1"].commands)
    stop(nem, c)
    assert all(n.rules == [] for n in nodes.values())


def test_default_is_random_halves_with_shape_description_and_seconds(make):
    c, nodes = make()
    nem = PartitionNemesis(seed=2)
    nem.setup(c)
    v = start(nem, c).value
    assert v["shape"] == "random-halves" and v["seconds"] >= 0
    assert sorted(len(s.split()) for s in v["description"].split(" | ")) == [2, 3]
    for node, refused in v["grudge"].items():
        assert sorted(nodes[node].rules) == sorted(IPS[r] for r in refused)
    assert stop(nem, c).value["description"] == "healed"
    assert all(n.rules == [] for n in nodes.values())


def test_rules_that_do_not_show_up_are_an_error(make):
    c, _ = make(lose={"n3"})
    with pytest.raises(NemesisError, match="n3: partition on n3: rules for"):
        start(PartitionNemesis(), c)


def test_traffic_that_still_flows_after_the_rules_is_an_error(make):
    """Rules listed but ineffective (here: the listing lies) must not pass as a partition."""
    c, nodes = make()
    nem = PartitionNemesis()

    real = nodes["n2"]

    def lying(cmd):
        if f"-S {CHAIN}" in cmd:  # claims every rule is there
            return "\n".join(f"-A {CHAIN} -s {ip}/32 -j DROP" for ip in IPS.values())
        if f"-F {CHAIN}" in cmd:
            return None  # ... but installs nothing
        return real(cmd)

    c.remotes["n2"] = FakeRemote("n2", responses=lying)
    with pytest.raises(NemesisError, match=r"partition not in effect: a connection from n\d "
                                           r"to n2:7000 was refused"):
        start(nem, c, {"n2": ["n1"], "n1": [], "n3": [], "n4": [], "n5": []})


def test_the_probe_targets_the_db_port_option(make):
    c, _ = make(port="7100")
    start(PartitionNemesis(), c, {"n2": ["n1"], "n1": [], "n3": [], "n4": [], "n5": []})
    probes = [cmd for cmd in c.remotes["n1"].commands if cmd.startswith("python3 -c")]
    assert probes == [f"python3 -c {PROBE} {IPS['n2']} 7100 1"]


# --- shapes and options --------------------------------------------------------------------

def test_rotate_goes_through_every_drawable_shape_in_turn(make):
    class Leader:
        def primaries(self, ctx):
            return ["n1"]

    c, _ = make(db=Leader(), partition="rotate")
    nem = PartitionNemesis(seed=1)
    nem.setup(c)
    shapes = []
    for _ in range(len(grudges.SHAPES) - 1):
        shapes.append(start(nem, c).value["shape"])
        stop(nem, c)
    assert shapes == [s for s in grudges.SHAPES if s != "grudge"]


@pytest.mark.parametrize("given", [["majorities-ring", "bridge"], "majorities-ring,bridge"])
def test_a_list_of_shapes_rotates_in_order_and_ring_is_applied_as_built(make, given):
    c, nodes = make(partition=given)
    nem = PartitionNemesis(seed=4)
    nem.setup(c)
    ring = start(nem, c).value
    assert ring["shape"] == "majorities-ring"
    assert all(len(v) >= 3 for v in grudges.sees(ring["grudge"]).values())
    assert " sees " in ring["description"]
    stop(nem, c)
    assert start(nem, c).value["shape"] == "bridge"
    assert start(nem, c).value["shape"] == "majorities-ring"


def test_explicit_grudge_option(make):
    c, nodes = make(grudge=[["n1", "n2"], ["n3", "n4", "n5"]])
    nem = PartitionNemesis()
    nem.setup(c)
    v = start(nem, c).value
    assert v["shape"] == "grudge" and v["description"] == "n1 n2 | n3 n4 n5"


def test_op_may_name_a_shape(make):
    c, _ = make()
    nem = PartitionNemesis()
    v = start(nem, c, {"shape": "isolate-one"}).value
    assert v["shape"] == "isolate-one"
    assert sorted(len(s.split()) for s in v["description"].split(" | ")) == [1, 4]


@pytest.mark.parametrize("opts,match", [
    ({"partition": "zigzag"}, "unknown partition shape 'zigzag'"),
    ({"partition": "grudge"}, "needs option grudge"),
    ({"partition": "primaries"}, "HasPrimaries"),
    ({"grudge": {"n1": ["n8"]}}, r"unknown node\(s\) \['n8'\]"),
    ({"port": "seven"}, r"option port='seven' is not an int"),
])
def test_bad_options_are_config_errors_at_prepare(make, opts, match):
    c, _ = make(**opts)
    with pytest.raises(ConfigError, match=match):
        PartitionNemesis().prepare(c)


# --- dispatch and teardown -----------------------------------------------------------------

def test_unknown_f_is_refused(fake_ctx):
    with pytest.raises(NemesisError, match="knows start-partition and stop-partition"):
        PartitionNemesis().invoke(fake_ctx, Op(type="invoke", f="start-chaos",
                                               process=NEMESIS))


def test_teardown_heals_and_refuses_later_starts(make):
    c, nodes = make()
    nem = PartitionNemesis()
    start(nem, c)
    nem.teardown(c)
    nem.teardown(c)
    assert all(n.rules == [] for n in nodes.values())
    with pytest.raises(NemesisError, match="torn down"):
        start(nem, c)


def test_package_shape():
    pkg = partition_package(interval=2, seed=3)
    assert pkg.name == "partition" and pkg.faults == {"start-partition": "stop-partition"}
    assert isinstance(pkg.nemesis, PartitionNemesis) and pkg.final_generator is not None
