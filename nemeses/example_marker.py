"""The worked example of README's "Writing a nemesis": a toy fault that writes a marker file
on one random node and removes it again. tests/unit/test_nemeses_example.py runs it against
FakeRemote. Not registered: a third party registers its own in its pyproject.toml.

    {"f": "start-marker"} -> info {"node": "n3", "description": "marker on n3", "seconds": ...}
    {"f": "stop-marker"}  -> info {"nodes": [...], "description": "markers removed", ...}
"""
from __future__ import annotations

import random
from typing import Any

from harness import generators as g
from harness.api import Context, Package
from harness.errors import NemesisError
from harness.history import Op
from nemeses.common import Cycle, on_nodes, timed

MARKER = "/tmp/splitbrain-marker"


class MarkerNemesis:
    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def setup(self, ctx: Context) -> None:
        self.teardown(ctx)          # start from a clean slate

    def invoke(self, ctx: Context, op: Op) -> Op:
        if op.f == "start-marker":
            node = self.rng.choice(ctx.nodes)
            # timed() completes the op as info, adds "seconds", and turns a failure into
            # a NemesisError that the runner records as an info completion with an error.
            return timed(op, lambda: self.mark(ctx, node))
        if op.f == "stop-marker":
            return timed(op, lambda: self.clear(ctx))
        raise NemesisError(f"marker nemesis cannot do {op.f!r}")

    def mark(self, ctx: Context, node: str) -> dict[str, Any]:
        ctx.remotes[node].run(f"touch {MARKER}", timeout=5)
        return {"node": node, "description": f"marker on {node}"}

    def clear(self, ctx: Context) -> dict[str, Any]:
        on_nodes(list(ctx.nodes), lambda n: ctx.remotes[n].run(f"rm -f {MARKER}", timeout=5))
        return {"nodes": list(ctx.nodes), "description": "markers removed"}

    def teardown(self, ctx: Context) -> None:
        self.clear(ctx)             # idempotent: it runs on every exit path


def package(ctx: Context | None = None, *, interval: float = 5.0, seed: int = 0) -> Package:
    return Package(name="marker", nemesis=MarkerNemesis(seed),
                   generator=Cycle(interval, "start-marker", "stop-marker"),
                   final_generator=g.once({"f": "stop-marker"}),
                   color="#dddddd", faults={"start-marker": "stop-marker"})
