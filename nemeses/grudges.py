"""Partition shapes as grudges, built and checked with networkx. Pure: no nodes touched.

A *grudge* maps each node to the nodes it refuses traffic from (applied on the receiving
side, see partition.py). What a node *sees* is every node it still accepts traffic from,
itself included:

    >>> g = complete_grudge([["n1", "n2"], ["n3"]])
    >>> g
    {'n1': ['n3'], 'n2': ['n3'], 'n3': ['n1', 'n2']}
    >>> sorted(sees(g)["n3"]), describe(g)
    (['n3'], 'n1 n2 | n3')

Shapes (``build(shape, nodes, rng)``), each with the property its unit test checks:

    halves             first half | the rest (the rest is a majority for odd n)
    random-halves      the same after a shuffle
    isolate-one        one random node | the rest
    majority-minority  a random minority of max(1, (n-1)//2) | the majority
    minority-third     a random third (at least 1) | the rest
    majorities-ring    every node sees a majority and no two see the same one (a ring:
                       each node sees its nearest neighbours; n = 3 needs one-way links)
    bridge             two sides that do not see each other, and one node that sees both
    primaries          each node the db names as primary alone | the rest
    grudge             the explicit grudge of option ``grudge``: a grudge map as above, or a
                       list of components [["n1"], ["n2", "n3"]]
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx

from harness.errors import ConfigError

Grudge = dict[str, list[str]]

SHAPES = ("halves", "random-halves", "isolate-one", "majority-minority", "minority-third",
          "majorities-ring", "bridge", "primaries", "grudge")
# The fewest nodes a shape can be drawn on.
MIN_NODES = {"halves": 2, "random-halves": 2, "isolate-one": 2, "majority-minority": 2,
             "minority-third": 2, "majorities-ring": 3, "bridge": 3, "primaries": 2,
             "grudge": 1}


# --- building ------------------------------------------------------------------------------

def complete_grudge(components: Iterable[Iterable[str]]) -> Grudge:
    """Nodes in different components cannot talk to each other at all."""
    comps = [list(c) for c in components]
    grudge: Grudge = {}
    for c in comps:
        others = sorted(n for d in comps if d is not c for n in d)
        for n in c:
            grudge[n] = others
    return grudge


def from_sees(nodes: list[str], graph: nx.Graph | nx.DiGraph) -> Grudge:
    """A grudge from a visibility graph: an edge a -> b means b accepts traffic from a
    (undirected: both ways). Each node refuses every node without an edge to it."""
    grudge: Grudge = {}
    for n in nodes:
        srcs = set(graph.predecessors(n) if graph.is_directed() else graph.neighbors(n))
        grudge[n] = sorted(m for m in nodes if m != n and m not in srcs)
    return grudge


def halves(nodes: list[str]) -> list[list[str]]:
    """Split in two: the first half (the smaller one for odd counts) and the rest."""
    k = len(nodes) // 2
    return [nodes[:k], nodes[k:]]


def random_halves(nodes: list[str], rng: random.Random) -> Grudge:
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    return complete_grudge(halves(shuffled))


def _split(nodes: list[str], rng: random.Random, k: int) -> Grudge:
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    return complete_grudge([sorted(shuffled[:k]), sorted(shuffled[k:])])


def isolate_one(nodes: list[str], rng: random.Random) -> Grudge:
    return _split(nodes, rng, 1)


def majority_minority(nodes: list[str], rng: random.Random) -> Grudge:
    return _split(nodes, rng, max(1, (len(nodes) - 1) // 2))


def minority_third(nodes: list[str], rng: random.Random) -> Grudge:
    return _split(nodes, rng, max(1, len(nodes) // 3))


def majorities_ring(nodes: list[str], rng: random.Random) -> Grudge:
    """Nodes on a shuffled ring; each sees its k nearest neighbours on both sides, k as small
    as still gives a majority. Those windows are all different when 2k + 1 < n (n >= 4). For
    n = 3 no two-way ring works, so each node sees itself and its successor (one-way links):
    still a majority each, all different."""
    n = len(nodes)
    if n < 3:
        raise ConfigError(f"majorities-ring needs at least 3 nodes, this test has {n}")
    ring = list(nodes)
    rng.shuffle(ring)
    majority = n // 2 + 1
    k = math.ceil((majority - 1) / 2)
    if 2 * k + 1 < n:
        circ = nx.circulant_graph(n, range(1, k + 1))
        graph = nx.relabel_nodes(circ, dict(enumerate(ring)))
        return from_sees(nodes, graph)
    directed = nx.DiGraph()
    directed.add_nodes_from(nodes)
    for i, node in enumerate(ring):
        for j in range(1, majority):
            directed.add_edge(ring[(i + j) % n], node)  # node accepts from its successors
    return from_sees(nodes, directed)


def bridge(nodes: list[str], rng: random.Random) -> Grudge:
    """Two halves cut from each other, and one node (the bridge) connected to both."""
    if len(nodes) < 3:
        raise ConfigError(f"bridge needs at least 3 nodes, this test has {len(nodes)}")
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    middle, rest = shuffled[0], shuffled[1:]
    left, right = halves(rest)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for side in (left, right):
        graph.add_edges_from((a, b) for a in side for b in side if a < b)
        graph.add_edges_from((middle, a) for a in side)
    return from_sees(nodes, graph)


def primaries_grudge(nodes: list[str], primaries: list[str]) -> Grudge:
    """Each primary alone, the others together (two leaders, if there are, are cut apart)."""
    prim = [p for p in nodes if p in set(primaries)]
    rest = [n for n in nodes if n not in set(prim)]
    return complete_grudge([[p] for p in prim] + ([rest] if rest else []))


def parse_grudge(value: Any, nodes: list[str]) -> Grudge:
    """An explicit grudge from the ``grudge`` option (JSON): a map node -> nodes it refuses, or
    a list of components. ConfigError, one line, if it names unknown nodes."""
    if isinstance(value, list):
        comps = [[str(n) for n in c] for c in value if isinstance(c, list)]
        if len(comps) != len(value):
            raise ConfigError("option grudge as a list must be a list of node lists, e.g. "
                              '[["n1"], ["n2", "n3"]]')
        flat = [n for c in comps for n in c]
        if len(set(flat)) != len(flat):
            raise ConfigError(f"option grudge: a node is in two components: {value}")
        grudge = complete_grudge(comps)
    elif isinstance(value, dict):
        grudge = {}
        for k, v in value.items():
            if not isinstance(v, list):
                raise ConfigError(f"option grudge: {k!r} must map to a list of nodes")
            grudge[str(k)] = sorted({str(x) for x in v} - {str(k)})
    else:
        raise ConfigError('option grudge must be a JSON map like {"n1": ["n2"], "n2": ["n1"]} '
                          'or a list of components like [["n1"], ["n2", "n3"]]')
    unknown = sorted({n for k, v in grudge.items() for n in [k, *v]} - set(nodes))
    if unknown:
        raise ConfigError(f"option grudge names unknown node(s) {unknown}; nodes: "
                          f"{', '.join(nodes)}")
    return {n: grudge.get(n, []) for n in nodes}


# The shapes drawn from the nodes and the rng alone.
_DRAWN: dict[str, Callable[[list[str], random.Random], Grudge]] = {
    "halves": lambda nodes, rng: complete_grudge(halves(nodes)),
    "random-halves": random_halves,
    "isolate-one": isolate_one,
    "majority-minority": majority_minority,
    "minority-third": minority_third,
    "majorities-ring": majorities_ring,
    "bridge": bridge,
}


def build(shape: str, nodes: list[str], rng: random.Random, *,
          primaries: list[str] | None = None, explicit: Grudge | None = None) -> Grudge:
    """The grudge of one shape on these nodes."""
    if shape not in SHAPES:
        raise ConfigError(f"unknown partition shape {shape!r}; shapes: {', '.join(SHAPES)}")
    if len(nodes) < MIN_NODES[shape]:
        raise ConfigError(f"partition {shape} needs at least {MIN_NODES[shape]} nodes, this "
                          f"test has {len(nodes)}")
    if shape == "primaries":
        return primaries_grudge(list(nodes), primaries or [rng.choice(nodes)])
    if shape != "grudge":
        return _DRAWN[shape](list(nodes), rng)
    if explicit is None:
        raise ConfigError("partition shape grudge needs option grudge (a JSON grudge)")
    return explicit


# --- reading -------------------------------------------------------------------------------

def sees(grudge: Grudge) -> dict[str, set[str]]:
    """node -> the nodes it accepts traffic from, itself included."""
    nodes = set(grudge) | {m for v in grudge.values() for m in v}
    return {n: (nodes - set(grudge.get(n, []))) | {n} for n in sorted(nodes)}


def visibility(grudge: Grudge) -> nx.DiGraph:
    """An edge a -> b when b accepts traffic from a (self-loops left out)."""
    graph = nx.DiGraph()
    for n, visible in sees(grudge).items():
        graph.add_node(n)
        graph.add_edges_from((m, n) for m in visible if m != n)
    return graph


def components(grudge: Grudge) -> list[list[str]] | None:
    """The components if the grudge is a complete partition (nodes in a component see each
    other, nodes in different ones nothing of each other), else None."""
    graph = visibility(grudge)
    mutual = graph.to_undirected(reciprocal=True)
    comps = [sorted(c) for c in nx.connected_components(mutual)]
    comps.sort(key=lambda c: c[0])
    normal = {n: sorted(v) for n, v in grudge.items()}
    if complete_grudge(comps) != {n: normal.get(n, []) for n in graph.nodes}:
        return None
    return comps


def cut_pairs(grudge: Grudge) -> list[tuple[str, str]]:
    """(sender, receiver) pairs whose traffic is dropped, sender first."""
    return [(src, dst) for dst in sorted(grudge) for src in sorted(grudge[dst])]


def describe(grudge: Grudge) -> str:
    """'n1 n2 | n3 n4 n5' for a complete partition; otherwise who each node sees:
    'n1 sees n2 n5; n2 sees n1 n3; ...'."""
    comps = components(grudge)
    if comps is not None:
        return " | ".join(" ".join(c) for c in comps)
    parts = []
    for n, visible in sees(grudge).items():
        others = sorted(visible - {n})
        parts.append(f"{n} sees {' '.join(others) if others else 'nobody'}")
    return "; ".join(parts)
