"""The worked example of README's "Writing a nemesis": a toy fault that writes a marker file
on one random node and removes it again. tests/unit/nemeses/test_example.py runs it against
FakeRemote. Not registered: a third party registers its own in its pyproject.toml.

    {"f": "start-marker"} -> info {"node": "n3", "description": "marker on n3", "seconds": ...}
    {"f": "stop-marker"}  -> info {"nodes": [...], "description": "markers removed", ...}
"""
from __future__ import annotations

import random
from typing import Any

from harness import generators as g
from harness.api import Context, Package
from harness.history import Op
from nemeses.common import Cycle, Dispatcher, on_nodes

MARKER = "/tmp/splitbrain-marker"


class MarkerNemesis:
    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        # The dispatcher routes start-marker to mark and stop-marker to clear, times each
        # (a failure becomes a NemesisError the runner records as an info completion with an
        # error), and makes teardown wait for an op in flight and refuse later starts.
        self.faults = Dispatcher("marker", self.mark, self.clear)

    def setup(self, ctx: Context) -> None:
        self.faults.open()
        self.clear(ctx)             # start from a clean slate

    def invoke(self, ctx: Context, op: Op) -> Op:
        return self.faults.invoke(ctx, op)

    def mark(self, ctx: Context, value: Any) -> dict[str, Any]:
        node = self.rng.choice(ctx.nodes)
        ctx.remotes[node].run(f"touch {MARKER}", timeout=5)
        return {"node": node, "description": f"marker on {node}"}

    def clear(self, ctx: Context) -> dict[str, Any]:
        on_nodes(list(ctx.nodes), lambda n: ctx.remotes[n].run(f"rm -f {MARKER}", timeout=5))
        return {"nodes": list(ctx.nodes), "description": "markers removed"}

    def teardown(self, ctx: Context) -> None:
        self.faults.teardown(ctx)   # clears, and is idempotent: it runs on every exit path


def marker_package(*, interval: float = 5.0, seed: int = 0) -> Package:
    return Package(name="marker", nemesis=MarkerNemesis(seed),
                   generator=Cycle(interval, "start-marker", "stop-marker"),
                   final_generator=g.once({"f": "stop-marker"}),
                   color="#dddddd", faults={"start-marker": "stop-marker"})
