"""What every built-in nemesis shares: the start/stop schedule, the one dispatcher of start
and stop ops (timing, the teardown guard, leaving a fault out), and per-node fan-out. Options
are read with harness.options.option (``prefix`` = the nemesis kind).

    gen = Cycle(5.0, "start-pause", "stop-pause")     # first start after 5 s, then every 5 s
    faults = Dispatcher("pause", apply, heal, cycle=gen)
    faults.invoke(ctx, Op(type="invoke", f="start-pause", process="nemesis"))
    # -> info {"nodes": ["n2"], "description": "paused n2", "seconds": 0.041}
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

from harness import generators as g
from harness.api import Context
from harness.control.parallel import on_nodes as _on_nodes
from harness.errors import NemesisError, SplitbrainError
from harness.history import INFO, Op

T = TypeVar("T")

# apply(ctx, the start op's value) and heal(ctx): what a fault did, for the completion's value
Apply = Callable[[Context, Any], dict[str, Any]]
Heal = Callable[[Context], dict[str, Any]]


# --- schedule ------------------------------------------------------------------------------

class Cycle:
    """wait ``interval`` + ``offset`` s, start, wait ``interval``, stop, wait, start ... until
    a time limit ends it. The first fault comes after one interval so the system is seen
    healthy first; ``offset``, given at construction, delays it further (composing packages
    needs none: harness.packages staggers them by wrapping their generators in a sleep).

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
    """harness.control.parallel.on_nodes, failing with one NemesisError."""
    return _on_nodes(nodes, fn, brief=brief, error=NemesisError)


# --- dispatch ------------------------------------------------------------------------------

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


class Dispatcher:
    """The ops of one fault kind: ``start-<kind>`` runs ``apply(ctx, op.value)``,
    ``stop-<kind>`` runs ``heal(ctx)``, each ``timed`` and under the Guard; any other f is
    refused. ``disable`` leaves the fault out (its Cycle turned off, a line in the harness log):
    a start then fails with the reason, a stop still heals, teardown does nothing.

        faults = Dispatcher("pause", self._start, self._stop, cycle=gen)
        def setup(self, ctx): faults.open()           # a reused nemesis starts again
        def invoke(self, ctx, op): return faults.invoke(ctx, op)
        def teardown(self, ctx): faults.teardown(ctx)  # waits for an op in flight, heals
    """

    def __init__(self, kind: str, apply: Apply, heal: Heal, *,
                 cycle: Cycle | None = None) -> None:
        self.kind, self.apply, self.heal, self.cycle = kind, apply, heal, cycle
        self.start, self.stop = f"start-{kind}", f"stop-{kind}"
        self.guard = Guard()
        self.disabled: str | None = None

    def open(self) -> None:
        self.guard.open()

    def disable(self, ctx: Context, why: str) -> None:
        self.disabled = why
        if self.cycle is not None:
            self.cycle.disable()
        ctx.log(f"nemesis {self.kind} left out: {why}")

    def invoke(self, ctx: Context, op: Op) -> Op:
        with self.guard.lock:
            if op.f == self.start:
                self.guard.check_start(self.kind)
                return timed(op, lambda: self._apply(ctx, op.value))
            if op.f == self.stop:
                return timed(op, lambda: self.heal(ctx))
        raise NemesisError(f"{self.kind} nemesis cannot do {op.f!r}; it knows {self.start} "
                           f"and {self.stop}")

    def _apply(self, ctx: Context, value: Any) -> dict[str, Any]:
        if self.disabled:
            raise NemesisError(f"{self.kind} is not available: {self.disabled}")
        return self.apply(ctx, value)

    def teardown(self, ctx: Context) -> None:
        """Wait for an op in flight, refuse every later start, then heal (unless disabled).
        Idempotent when ``heal`` is."""
        with self.guard.lock:
            self.guard.closed = True
            if not self.disabled:
                self.heal(ctx)


# --- nodes ---------------------------------------------------------------------------------

@functools.cache
def node_script(package: str, name: str) -> str:
    """The text of a script a nemesis runs on the nodes with ``python3 -c`` (stdlib only,
    the node's python3): the file ``node/<name>`` of ``package``, e.g.
    ``node_script("nemeses.clock", "set_rc.py")``."""
    return resources.files(package).joinpath("node").joinpath(name).read_text()


def describe_nodes(nodes: list[str]) -> str:
    return " ".join(nodes) if nodes else "no node"


def sort_nodes(ctx: Context, nodes: list[str] | set[str]) -> list[str]:
    order = {n: i for i, n in enumerate(ctx.nodes)}
    return sorted(set(nodes), key=lambda n: (order.get(n, len(order)), n))
