"""The partition nemesis beyond tests/unit/test_partition.py: shapes chosen by option, the
explicit grudge, and the probe that checks traffic really stops."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.api import Context
from harness.control.fake import FakeRemote
from harness.errors import ConfigError, NemesisError
from harness.history import NEMESIS, Op
from nemeses import grudges
from nemeses.partition import CHAIN, PartitionNemesis

NODES = ["n1", "n2", "n3", "n4", "n5"]
IPS = {n: f"10.9.0.{i}" for i, n in enumerate(NODES, 2)}


class Node:
    """Keeps the node's DROP rules; the probe connects unless the target drops us."""

    def __init__(self, name, everyone):
        self.name, self.everyone = name, everyone
        self.rules: list[str] = []
        self.remote = FakeRemote(name, responses=self)
        self.ignore_rules = False

    def __call__(self, cmd: str):
        if cmd.startswith("python3 -c"):
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


def make(db=None, **options):
    everyone: dict[str, Node] = {}
    for n in NODES:
        everyone[n] = Node(n, everyone)
    c = Context(spec=SimpleNamespace(options=options), nodes=NODES,
                remotes={n: everyone[n].remote for n in NODES}, ips=IPS, run_dir=Path("."),
                db=db, log=lambda m: None)
    return c, everyone


def start(nem, c, value=None):
    return nem.invoke(c, Op(type="invoke", f="start-partition", process=NEMESIS, value=value))


def stop(nem, c):
    return nem.invoke(c, Op(type="invoke", f="stop-partition", process=NEMESIS))


def test_default_is_random_halves_with_shape_description_and_seconds():
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


def test_rotate_goes_through_every_drawable_shape_in_turn():
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


def test_a_list_of_shapes_rotates_in_order_and_ring_is_applied_as_built():
    c, nodes = make(partition=["majorities-ring", "bridge"])
    nem = PartitionNemesis(seed=4)
    nem.setup(c)
    ring = start(nem, c).value
    assert ring["shape"] == "majorities-ring"
    assert all(len(v) >= 3 for v in grudges.sees(ring["grudge"]).values())
    assert " sees " in ring["description"]
    stop(nem, c)
    assert start(nem, c).value["shape"] == "bridge"
    assert start(nem, c).value["shape"] == "majorities-ring"


def test_explicit_grudge_option():
    c, nodes = make(grudge=[["n1", "n2"], ["n3", "n4", "n5"]])
    nem = PartitionNemesis()
    nem.setup(c)
    v = start(nem, c).value
    assert v["shape"] == "grudge" and v["description"] == "n1 n2 | n3 n4 n5"


def test_op_may_name_a_shape():
    c, _ = make()
    nem = PartitionNemesis()
    v = start(nem, c, {"shape": "isolate-one"}).value
    assert v["shape"] == "isolate-one"
    assert sorted(len(s.split()) for s in v["description"].split(" | ")) == [1, 4]


def test_traffic_that_still_flows_after_the_rules_is_an_error():
    """Rules listed but ineffective (here: the listing lies) must not pass as a partition."""
    c, nodes = make()
    nem = PartitionNemesis()

    real = nodes["n2"].__call__

    def lying(cmd):
        if f"-S {CHAIN}" in cmd:  # claims every rule is there
            return "\n".join(f"-A {CHAIN} -s {ip}/32 -j DROP" for ip in IPS.values())
        if f"-F {CHAIN}" in cmd:
            return None  # ... but installs nothing
        return real(cmd)

    for n in NODES:
        nodes[n].remote = FakeRemote(n, responses=lying if n == "n2" else nodes[n])
        c.remotes[n] = nodes[n].remote
    with pytest.raises(NemesisError, match=r"partition not in effect: a connection from n\d "
                                           r"to n2:7000 was refused"):
        start(nem, c, {"n2": ["n1"], "n1": [], "n3": [], "n4": [], "n5": []})


@pytest.mark.parametrize("opts,match", [
    ({"partition": "zigzag"}, "unknown partition shape 'zigzag'"),
    ({"partition": "grudge"}, "needs option grudge"),
    ({"partition": "primaries"}, "HasPrimaries"),
    ({"grudge": {"n1": ["n8"]}}, r"unknown node\(s\) \['n8'\]"),
])
def test_bad_options_are_config_errors_at_prepare(opts, match):
    c, _ = make(**opts)
    with pytest.raises(ConfigError, match=match):
        PartitionNemesis().prepare(c)


def test_teardown_heals_and_refuses_later_starts():
    c, nodes = make()
    nem = PartitionNemesis()
    start(nem, c)
    nem.teardown(c)
    nem.teardown(c)
    assert all(n.rules == [] for n in nodes.values())
    with pytest.raises(NemesisError, match="torn down"):
        start(nem, c)
