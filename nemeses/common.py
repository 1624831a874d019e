"""What every built-in nemesis shares: the start/stop schedule, timing of each apply and
heal, per-node fan-out, options, and the guard that makes teardown safe to run while the
nemesis worker may still be inside an op (Ctrl-C).

    gen = Cycle(5.0, "start-pause", "stop-pause")     # first start after 5 s, then every 5 s
    done = timed(op, lambda: {"nodes": ["n2"], "description": "paused n2"})
    done.value  # -> {"nodes": ["n2"], "description": "paused n2", "seconds": 0.041}
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from harness import generators as g
from harness.api import Context
from harness.control.parallel import on_nodes as _on_nodes
from harness.errors import NemesisError, SplitbrainError
from harness.history import INFO, Op

T = TypeVar("T")


# --- options -------------------------------------------------------------------------------

def options(ctx: Context | None) -> dict[str, Any]:
    """The test's ``--option KEY=VALUE`` pairs (empty without a spec, as in unit tests)."""
    spec = getattr(ctx, "spec", None)
    return dict(getattr(spec, "options", None) or {})


def option(ctx: Context | None, kind: str, key: str, default: Any = None) -> Any:
    """``<kind>_<key>`` if given, else ``<key>``, else ``default``: ``pause_targets`` wins over
    ``targets`` for the pause nemesis, so composed nemeses can be told apart."""
    opts = options(ctx)
    if f"{kind}_{key}" in opts:
        return opts[f"{kind}_{key}"]
    return opts.get(key, default)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


# --- schedule ------------------------------------------------------------------------------

class Cycle:
    """wait ``interval`` + ``offset`` s, start, wait ``interval``, stop, wait, start ... until
    a time limit ends it. The first fault comes after one interval so the system is seen
    healthy first; ``offset`` (set by compose) staggers packages that share a run.

    Until an op is due it answers PENDING (never an op dated in the future, which a worker
    would take and sit on): so ``any_of`` over several cycles serves each one on time.
    ``disable()`` exhausts it for good: a nemesis that finds at prepare time that the db or
    the node cannot take its fault turns its own schedule off (see the ``all`` package)."""

    def __init__(self, interval: float, start: str, stop: str, offset: float = 0.0):
        self.interval, self.start, self.stop, self.offset = interval, start, stop, offset
        self.enabled = True
        self._i = 0
        self._due: int | None = None

    def disable(self) -> None:
        self.enabled = False

    def op(self, ctx: g.GenContext) -> g.Answer:
        if not self.enabled:
            return None
        if self._due is None:
            self._due = ctx.time + int((self.interval + self.offset) * g.SECOND)
        if ctx.time < self._due:
            return g.PENDING
        f = self.start if self._i % 2 == 0 else self.stop
        self._i += 1
        self._due = ctx.time + int(self.interval * g.SECOND)
        return g.as_op({"f": f})


# --- timing and fan-out --------------------------------------------------------------------

def timed(op: Op, fn: Callable[[], dict[str, Any]]) -> Op:
    """Run ``fn`` (apply or heal a fault) and complete ``op`` as info with its value plus
    ``seconds``. A failure propagates as NemesisError naming the time it took; the runner
    records it as an info completion with ``error`` set, which analysis counts as failed."""
    t0 = time.monotonic_ns()
    try:
        value = fn()
    except SplitbrainError as e:
        raise NemesisError(f"{e} (after {(time.monotonic_ns() - t0) / 1e9:.2f} s)") from e
    value = dict(value)
    value["seconds"] = round((time.monotonic_ns() - t0) / 1e9, 4)
    return op.complete(INFO, value=value)


def on_nodes(nodes: list[str], fn: Callable[[str], T], *, brief: bool = False
             ) -> dict[str, T]:
    """harness.parallel.on_nodes, failing with one NemesisError."""
    return _on_nodes(nodes, fn, brief=brief, error=NemesisError)


class Guard:
    """One lock around every op and the teardown of a nemesis. On Ctrl-C the runner gives its
    workers a few seconds and then tears down, possibly while the nemesis worker is still
    inside an op: teardown waits for that op, and a start that comes after teardown is
    refused, so nothing is applied behind the heal's back."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.closed = False

    def open(self) -> None:
        with self.lock:
            self.closed = False

    def check_start(self, name: str) -> None:
        if self.closed:
            raise NemesisError(f"{name}: torn down; not applying a new fault")


def describe_nodes(nodes: list[str]) -> str:
    return " ".join(nodes) if nodes else "no node"


def sort_nodes(ctx: Context, nodes: list[str] | set[str]) -> list[str]:
    order = {n: i for i, n in enumerate(ctx.nodes)}
    return sorted(set(nodes), key=lambda n: (order.get(n, len(order)), n))
