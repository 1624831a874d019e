"""Process faults through the db's own capabilities, never the container's init:

    pause   SIGSTOP / SIGCONT the db process      (the db must be Pausable)
    kill    SIGKILL it, later start it again      (the db must be Killable; data is kept)

Targets (targets.py): option ``pause_targets`` / ``kill_targets`` / ``targets``; default
one of one, minority, majority, all, and primaries when the db names them, drawn per fault.
A db without the capability is one ConfigError line at prepare/setup, unless the
package was built lenient (the ``all`` package), which then just drops that fault.

Ops:  {"f": "start-pause"} -> info {"nodes": ["n2"], "targets": "one",
                                    "description": "paused n2", "seconds": 0.05}
      {"f": "stop-pause"}  -> info {"nodes": ["n2"], "description": "resumed n2", ...}
      {"f": "start-kill"}  -> info {"nodes": ["n1"], "description": "killed n1", ...}
      {"f": "stop-kill"}   -> info {"nodes": ["n1"], "description": "restarted n1", ...}
A start op's value may name the nodes: {"f": "start-pause", "value": {"nodes": ["n3"]}}.

Teardown resumes every node it paused and starts every node it killed (tracked before the
signal is sent, so an op cut short still gets healed), and is idempotent.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from harness import generators as g
from harness.api import Context, Killable, Package, Pausable
from harness.errors import ConfigError, NemesisError
from harness.history import Op
from harness.options import Opt
from nemeses.common import Cycle, Dispatcher, describe_nodes, on_nodes, sort_nodes
from nemeses.targets import Choice, default_targets, select, targets_opt, targets_option


class _ProcessNemesis:
    """Shared shape of pause and kill: start hits targets, stop undoes what start did."""

    kind = ""
    capability: type = object
    verbs = ("", "")           # past tense of start and stop: ("paused", "resumed")
    needs = ""                 # what the db must offer, for the error line

    def __init__(self, seed: int = 0, *, cycle: Cycle | None = None, lenient: bool = False):
        self.rng = random.Random(seed)
        self.lenient = lenient
        self.faults = Dispatcher(self.kind, self._start, self._stop, cycle=cycle)
        self.affected: set[str] = set()   # nodes a start touched and no stop has undone
        self.choices: list[Choice] | None = None

    # -- the two actions, on a db that has the capability ---------------------------------
    def _do(self, db: Any, ctx: Context, node: str) -> None:
        raise NotImplementedError

    def _undo(self, db: Any, ctx: Context, node: str) -> None:
        raise NotImplementedError

    def _db(self, ctx: Context) -> Any:
        """ctx.db, checked for the capability (configure() checked it before any op)."""
        if not isinstance(ctx.db, self.capability):
            raise NemesisError(f"{self.kind}: the db cannot {self.needs}")
        return ctx.db

    # -- lifecycle ------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        if not isinstance(ctx.db, self.capability):
            name = getattr(ctx.db, "name", type(ctx.db).__name__)
            msg = (f"nemesis {self.kind} needs a db that can {self.needs}; db {name!r} "
                   "cannot")
            if not self.lenient:
                raise ConfigError(msg)
            self.faults.disable(ctx, msg)
            return
        self.choices = targets_option(ctx, self.kind)

    def prepare(self, ctx: Context) -> None:
        self.configure(ctx)

    def setup(self, ctx: Context) -> None:
        self.faults.open()
        if self.choices is None and self.faults.disabled is None:
            self.configure(ctx)

    def invoke(self, ctx: Context, op: Op) -> Op:
        return self.faults.invoke(ctx, op)

    def declared_options(self) -> Sequence[Opt]:
        return (targets_opt(self.kind),)

    def _start(self, ctx: Context, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and value.get("nodes"):
            nodes = sort_nodes(ctx, [str(n) for n in value["nodes"]])
            bad = [n for n in nodes if n not in ctx.nodes]
            if bad:
                raise NemesisError(f"{self.kind}: unknown node(s) {bad}")
            how = "given"
        else:
            if self.choices is None:
                self.configure(ctx)
            choices = self.choices or default_targets(ctx)
            nodes, how = select(ctx, choices, self.rng)
        # Recorded before the signal: if this op is cut short, teardown still heals them.
        self.affected |= set(nodes)
        on_nodes(nodes, lambda n: self._do(self._db(ctx), ctx, n))
        return {"nodes": nodes, "targets": how,
                "description": f"{self.verbs[0]} {describe_nodes(nodes)}"}

    def _stop(self, ctx: Context) -> dict[str, Any]:
        nodes = sort_nodes(ctx, self.affected)
        self._heal(ctx, nodes)
        return {"nodes": nodes, "description": f"{self.verbs[1]} {describe_nodes(nodes)}"}

    def _heal(self, ctx: Context, nodes: list[str]) -> None:
        """Undo on each node; a node leaves ``affected`` only once its undo worked."""

        def one(node: str) -> None:
            self._undo(self._db(ctx), ctx, node)
            self.affected.discard(node)

        on_nodes(nodes, one)

    def teardown(self, ctx: Context) -> None:
        self.faults.teardown(ctx)


class PauseNemesis(_ProcessNemesis):
    kind = "pause"
    capability = Pausable
    verbs = ("paused", "resumed")
    needs = "pause its process (Pausable: pause/resume)"

    def _do(self, db: Pausable, ctx: Context, node: str) -> None:
        db.pause(ctx, node)

    def _undo(self, db: Pausable, ctx: Context, node: str) -> None:
        db.resume(ctx, node)


class KillNemesis(_ProcessNemesis):
    kind = "kill"
    capability = Killable
    verbs = ("killed", "restarted")
    needs = "kill and restart its process (Killable: kill/start)"

    def _do(self, db: Killable, ctx: Context, node: str) -> None:
        db.kill(ctx, node)

    def _undo(self, db: Killable, ctx: Context, node: str) -> None:
        db.start(ctx, node)


def _package(cls: Callable[..., _ProcessNemesis], name: str, color: str, interval: float,
             seed: int, lenient: bool) -> Package:
    gen = Cycle(interval, f"start-{name}", f"stop-{name}")
    return Package(name=name, nemesis=cls(seed=seed, cycle=gen, lenient=lenient),
                   generator=gen, final_generator=g.once({"f": f"stop-{name}"}), color=color,
                   faults={f"start-{name}": f"stop-{name}"})


def pause_package(*, interval: float = 5.0, seed: int = 0, lenient: bool = False) -> Package:
    """Entry point ``pause``; ``lenient`` (the ``all`` package): a db that is not Pausable
    leaves the fault out instead of failing the test."""
    return _package(PauseNemesis, "pause", "#f4e3b6", interval, seed, lenient)


def kill_package(*, interval: float = 5.0, seed: int = 0, lenient: bool = False) -> Package:
    """Entry point ``kill``; ``lenient``: a db that is not Killable leaves it out."""
    return _package(KillNemesis, "kill", "#d9b6f4", interval, seed, lenient)
