"""Partition grudges and the iptables commands the nemesis issues (against a recording fake;
the real effect is checked in tests/integration)."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from harness.api import Context, Result
from harness.errors import NemesisError
from harness.history import INFO, NEMESIS, Op
from nemeses.partition import CHAIN, PartitionNemesis, complete_grudge, describe, random_halves

NODES = ["n1", "n2", "n3", "n4", "n5"]
IPS = {n: f"10.9.0.{i}" for i, n in enumerate(NODES, 2)}


class IptablesFake:
    """Keeps a per-node rule list and answers `iptables -S` from it."""

    def __init__(self, node, lose_rules=False):
        self.node, self.rules, self.commands, self.lose = node, [], [], lose_rules

    def run(self, command, *, timeout=30.0, check=True, stdin=None):
        self.commands.append(command)
        if "-S" in command:
            out = "\n".join(f"-A {CHAIN} -s {ip}/32 -j DROP" for ip in self.rules)
            return Result(self.node, command, 0, out, "")
        if "-F" in command:
            self.rules = []
        if not self.lose:
            self.rules += re.findall(r"-A SPLITBRAIN -s (\S+) -j DROP", command)
        return Result(self.node, command, 0, "", "")


def ctx(remotes):
    return Context(spec=None, nodes=NODES, remotes=remotes, ips=IPS, run_dir=Path("."))


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


def test_start_applies_drop_rules_on_receivers_and_stop_flushes_them():
    remotes = {n: IptablesFake(n) for n in NODES}
    nem = PartitionNemesis(seed=1)
    c = ctx(remotes)
    nem.setup(c)
    grudge = {"n1": ["n2"], "n2": ["n1"], "n3": [], "n4": [], "n5": []}
    done = nem.invoke(c, Op(type="invoke", f="start-partition", process=NEMESIS, value=grudge))
    assert done.type == INFO and done.value["grudge"] == grudge
    assert remotes["n1"].rules == [IPS["n2"]] and remotes["n2"].rules == [IPS["n1"]]
    assert remotes["n3"].rules == []
    assert any(f"-I INPUT 1 -j {CHAIN}" in cmd for cmd in remotes["n1"].commands)
    nem.invoke(c, Op(type="invoke", f="stop-partition", process=NEMESIS))
    assert all(r.rules == [] for r in remotes.values())


def test_rules_that_do_not_show_up_are_an_error():
    remotes = {n: IptablesFake(n, lose_rules=(n == "n3")) for n in NODES}
    with pytest.raises(NemesisError, match="n3: partition on n3: rules for"):
        PartitionNemesis().invoke(ctx(remotes), Op(type="invoke", f="start-partition",
                                                   process=NEMESIS))


def test_unknown_f_is_refused():
    with pytest.raises(NemesisError, match="knows start-partition"):
        PartitionNemesis().invoke(ctx({}), Op(type="invoke", f="start-chaos", process=NEMESIS))
