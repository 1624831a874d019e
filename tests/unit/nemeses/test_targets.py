"""Target selection: sizes, explicit nodes, primaries, and option errors."""
from __future__ import annotations

import random

import pytest

from harness.errors import ConfigError
from nemeses.targets import SPECS, parse_targets, pick, select, targets_option

NODES = ["n1", "n2", "n3", "n4", "n5"]


class Leader:
    name = "leaderdb"

    def __init__(self, leaders):
        self.leaders = leaders

    def primaries(self, ctx):
        return self.leaders


@pytest.fixture
def ctx(make_ctx):
    """ctx(db=None, **options): a fake Context over NODES."""
    def build(db=None, **options):
        return make_ctx(nodes=NODES, options=options, db=db)
    return build


def test_sizes_of_each_spec():
    rng = random.Random(0)
    for _ in range(50):
        assert len(pick("one", NODES, rng)) == 1
        assert len(pick("minority", NODES, rng)) == 2
        assert len(pick("majority", NODES, rng)) == 3
        assert pick("all", NODES, rng) == NODES
        assert 1 <= len(pick("random", NODES, rng)) <= 5
    assert len(pick("minority", ["n1", "n2"], rng)) == 1  # never empty
    assert len(pick("majority", ["n1", "n2", "n3", "n4"], rng)) == 3


def test_results_are_in_node_order_and_random_varies():
    rng = random.Random(3)
    picks = [pick("random", NODES, rng) for _ in range(30)]
    assert all(p == [n for n in NODES if n in p] for p in picks)
    assert len({tuple(p) for p in picks}) > 5


def test_explicit_nodes_and_lists_of_specs():
    assert parse_targets("n1,n3", NODES) == [("n1", "n3")]
    assert parse_targets(["one", "n2"], NODES) == ["one", ("n2",)]
    assert parse_targets([["n4", "n5"]], NODES) == [("n4", "n5")]
    assert set(SPECS) == {"one", "minority", "majority", "all", "primaries", "random"}


@pytest.mark.parametrize("bad", ["n9", "some", [], 7, "n1,n7"])
def test_bad_targets_are_one_line_config_errors(bad):
    with pytest.raises(ConfigError) as e:
        parse_targets(bad, NODES)
    assert "\n" not in str(e.value)


def test_kind_specific_option_wins_over_the_generic_one(ctx):
    c = ctx(targets="all", pause_targets="one")
    assert targets_option(c, "pause", "majority") == ["one"]
    assert targets_option(c, "kill", "majority") == ["all"]
    assert targets_option(ctx(), "kill", "majority") == ["majority"]
    assert targets_option(ctx(kill_targets="n1,n3"), "kill", "one") == [("n1", "n3")], \
        "a string is one choice, never split into several"
    assert targets_option(ctx(kill_targets=["one", "n1,n2"]), "kill", "all") == \
        ["one", ("n1", "n2")]


def test_primaries_come_from_the_db_and_fall_back_to_a_random_node(ctx):
    rng = random.Random(0)
    c = ctx(db=Leader(["n4"]))
    assert select(c, ["primaries"], rng) == (["n4"], "primaries")
    c = ctx(db=Leader([]))
    nodes, how = select(c, ["primaries"], rng)
    assert len(nodes) == 1 and "none known" in how
    with pytest.raises(ConfigError, match="HasPrimaries"):
        targets_option(ctx(db=object(), targets="primaries"), "kill", "one")


def test_default_targets_follow_jepsen_with_the_primaries_favoured(ctx):
    from collections import Counter

    from nemeses.targets import default_targets

    drawn = Counter(targets_option(ctx(db=Leader(["n2"])), "clock"))
    assert set(drawn) == {"one", "primaries", "minority", "majority", "all"}
    assert drawn["primaries"] == 3 and sum(drawn.values()) == 7
    assert default_targets(ctx()) == ["one", "minority", "majority", "all"]
    assert targets_option(ctx(db=Leader(["n2"]), clock_targets="n1"), "clock") == [("n1",)]
