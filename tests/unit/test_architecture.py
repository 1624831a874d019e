"""The house's walls, checked: which room may import which, and no import cycles.

Every import counts, at module level or inside a function (a lazy import is still a
dependency, and a lazy cycle is still a cycle). ARCHITECTURE.md draws the same rules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "checkers", "nemeses", "workloads", "dbs")

# The model: what every plugin sees. Everything else is a room above it.
MODEL = {"harness", "harness.api", "harness.history", "harness.faults", "harness.verdicts",
         "harness.options", "harness.generators", "harness.spec", "harness.errors",
         "harness.registry", "harness.store", "harness.packages"}

# room -> rooms it may import (its own room is always allowed).
MAY_IMPORT: dict[str, set[str]] = {
    "model": set(),
    "control": {"model"},
    "testing": {"model", "control"},
    "report": {"model"},
    "runtime": {"model", "control", "report"},
    "app": {"model", "control", "report", "runtime", "checkers"},
    "checkers": {"model"},
    "nemeses": {"model", "control"},
    "workloads": {"model", "control", "checkers"},
    "dbs": {"model", "control"},
}


def room(module: str) -> str | None:
    """The room a module of ours lives in; None for anything outside the packages."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if top != "harness":
        return top
    if module in MODEL:
        return "model"
    if module == "harness.testing":
        return "testing"
    part = module.split(".")[1]
    # A new module directly in harness/ must be placed on purpose: added to MODEL, or put
    # in a room; until then it has none and test_every_module_has_a_room fails.
    return part if part in MAY_IMPORT and part != "model" else "unplaced"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module of ours that ``path`` names in an import: ``from a.b import c`` is a.b.c
    when that is a module, else a.b. (A package's ``__init__`` running first is implied by
    Python, not an edge.)"""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in modules else node.module)
    return {m for m in out if room(m) is not None}


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    mods = {module_name(p): p for p in files}
    names = set(mods)
    return {name: {m for m in imports_of(path, names) if m in names and m != name}
            for name, path in mods.items()}


GRAPH = graph()


def test_every_module_has_a_room():
    assert GRAPH, "no modules found"
    unplaced = sorted(m for m in GRAPH if room(m) not in MAY_IMPORT)
    assert not unplaced, f"{unplaced}: add each to MODEL or move it into a room"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_respect_the_walls(module):
    mine = room(module)
    assert mine is not None
    allowed = MAY_IMPORT[mine] | {mine}
    wrong = sorted(m for m in GRAPH[module] if room(m) not in allowed)
    assert not wrong, (f"{module} ({mine}) imports {wrong}; the {mine} room may import only "
                       f"{sorted(allowed)}")


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_wall_check_catches_a_wrong_way_import():
    assert room("checkers.linearizable.search") == "checkers"
    assert "runtime" not in MAY_IMPORT["checkers"]
    assert room("harness.runtime.run") == "runtime"
    assert room("dbs.kvstore.db") not in MAY_IMPORT["runtime"] | {"runtime"}
