"""Each partition shape's grudge has the property it promises (pure, with networkx)."""
from __future__ import annotations

import random

import networkx as nx
import pytest

from harness.errors import ConfigError
from nemeses import grudges
from nemeses.grudges import build, components, describe, parse_grudge, sees, visibility


def names(n: int) -> list[str]:
    return [f"n{i}" for i in range(1, n + 1)]


CASES = [(n, seed) for n in range(2, 10) for seed in range(8)]


def well_formed(grudge: grudges.Grudge, nodes: list[str]) -> None:
    assert sorted(grudge) == sorted(nodes), "every node has an entry"
    for node, refused in grudge.items():
        assert node not in refused, "nobody refuses itself"
        assert set(refused) <= set(nodes)


def component_sizes(grudge: grudges.Grudge) -> list[int]:
    comps = components(grudge)
    assert comps is not None, f"not a complete partition: {grudge}"
    return sorted(len(c) for c in comps)


@pytest.mark.parametrize("n,seed", CASES)
def test_complete_shapes_split_as_promised(n, seed):
    nodes = names(n)
    rng = random.Random(seed)
    cases = {
        "halves": sorted([n // 2, n - n // 2]),
        "random-halves": sorted([n // 2, n - n // 2]),
        "isolate-one": sorted([1, n - 1]),
        "majority-minority": sorted([max(1, (n - 1) // 2), n - max(1, (n - 1) // 2)]),
        "minority-third": sorted([max(1, n // 3), n - max(1, n // 3)]),
    }
    for shape, sizes in cases.items():
        g = build(shape, nodes, rng)
        well_formed(g, nodes)
        assert component_sizes(g) == sizes, shape
        # complete partitions are symmetric: a refuses b iff b refuses a
        assert all(a in g[b] for a, bs in g.items() for b in bs)


def test_majority_minority_has_a_majority_side_for_every_size():
    for n in range(3, 12):
        g = build("majority-minority", names(n), random.Random(n))
        assert max(component_sizes(g)) >= n // 2 + 1


def test_halves_is_deterministic_and_random_halves_varies():
    nodes = names(5)
    assert build("halves", nodes, random.Random(1)) == build("halves", nodes, random.Random(2))
    seen = {describe(build("random-halves", nodes, random.Random(s))) for s in range(20)}
    assert len(seen) > 3


@pytest.mark.parametrize("n,seed", [(n, s) for n in range(3, 12) for s in range(6)])
def test_majorities_ring_every_node_sees_a_distinct_majority(n, seed):
    nodes = names(n)
    g = build("majorities-ring", nodes, random.Random(seed))
    well_formed(g, nodes)
    visible = sees(g)
    majority = n // 2 + 1
    assert all(len(v) >= majority for v in visible.values()), visible
    sets = [frozenset(v) for v in visible.values()]
    assert len(set(sets)) == n, f"two nodes see the same majority: {visible}"
    assert components(g) is None, "not a clean split: that would be a different shape"
    if n >= 4:  # two-way links where a ring allows them
        graph = visibility(g)
        assert all(graph.has_edge(b, a) for a, b in graph.edges)


def test_majorities_ring_needs_three_nodes():
    with pytest.raises(ConfigError, match="at least 3"):
        build("majorities-ring", names(2), random.Random(0))


@pytest.mark.parametrize("n,seed", [(n, s) for n in range(3, 10) for s in range(6)])
def test_bridge_one_node_sees_both_sides_and_the_sides_do_not_see_each_other(n, seed):
    nodes = names(n)
    g = build("bridge", nodes, random.Random(seed))
    well_formed(g, nodes)
    visible = sees(g)
    bridges = [x for x in nodes if visible[x] == set(nodes)]
    assert len(bridges) == 1, visible
    mid = bridges[0]
    mutual = visibility(g).to_undirected(reciprocal=True)
    mutual.remove_node(mid)
    sides = list(nx.connected_components(mutual))
    assert len(sides) == 2 and all(sides), sides
    left, right = sides
    for a in left:
        assert visible[a] == left | {mid}, "a side sees itself and the bridge only"
        assert not visible[a] & right
    for b in right:
        assert visible[b] == right | {mid}
    assert abs(len(left) - len(right)) <= 1


def test_primaries_isolates_each_primary_alone():
    nodes = names(5)
    g = build("primaries", nodes, random.Random(0), primaries=["n2", "n4"])
    assert components(g) == [["n1", "n3", "n5"], ["n2"], ["n4"]]
    assert describe(g) == "n1 n3 n5 | n2 | n4"


def test_explicit_grudges_as_map_or_components():
    nodes = names(3)
    assert parse_grudge([["n1"], ["n2", "n3"]], nodes) == {"n1": ["n2", "n3"], "n2": ["n1"],
                                                          "n3": ["n1"]}
    one_way = parse_grudge({"n1": ["n2"]}, nodes)
    assert one_way == {"n1": ["n2"], "n2": [], "n3": []}
    assert describe(one_way) == "n1 sees n3; n2 sees n1 n3; n3 sees n1 n2"
    assert build("grudge", nodes, random.Random(0), explicit=one_way) == one_way
    with pytest.raises(ConfigError, match=r"unknown node\(s\) \['n9'\]"):
        parse_grudge({"n1": ["n9"]}, nodes)
    with pytest.raises(ConfigError, match="two components"):
        parse_grudge([["n1"], ["n1", "n2"]], nodes)
    with pytest.raises(ConfigError, match="JSON map"):
        parse_grudge("n1", nodes)


def test_unknown_shape_and_too_few_nodes_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="shapes: halves"):
        build("triangle", names(3), random.Random(0))
    with pytest.raises(ConfigError, match="bridge needs at least 3 nodes"):
        build("bridge", names(2), random.Random(0))


def test_cut_pairs_lists_sender_then_receiver():
    g = {"n1": ["n2"], "n2": [], "n3": ["n1", "n2"]}
    assert grudges.cut_pairs(g) == [("n2", "n1"), ("n1", "n3"), ("n2", "n3")]
