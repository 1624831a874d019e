"""The small protocols every plugin implements. Nobody subclasses anything.

Client      per-process connection to one node:   invoke(ctx, op) -> completion op
Workload    client factory + generators + checker
Nemesis     setup / invoke(ctx, op) -> completion / teardown (heal everything, idempotent)
Package     a nemesis with its generator, final (healing) generator and plot colour
Checker     check(test, ops) -> {"valid": true | false | "unknown", ...}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from harness.db import Context
from harness.generators import Generator
from harness.history import Op


@runtime_checkable
class Client(Protocol):
    def invoke(self, ctx: Context, op: Op) -> Op:
        """Perform ``op`` (an invocation) and return its completion: ``op.complete(...)``.

        ok: it happened. fail: it surely did not happen (a definite error, or any error on a
        read). info: unknown (timeout, lost connection). An exception raised here is recorded
        as info and the process is retired."""

    def close(self, ctx: Context) -> None: ...


@runtime_checkable
class Workload(Protocol):
    name: str

    def client(self, ctx: Context, process: int, node: str) -> Client:
        """A new client for ``process``, talking to ``node``."""

    def generator(self, ctx: Context) -> Generator:
        """Client ops for the main phase (the runner applies rate and time limit)."""

    def final_generator(self, ctx: Context) -> Generator | None:
        """Client ops after the faults are healed (e.g. a final read of every key)."""

    def checker(self, ctx: Context) -> Checker: ...


@runtime_checkable
class Nemesis(Protocol):
    def setup(self, ctx: Context) -> None: ...

    def invoke(self, ctx: Context, op: Op) -> Op:
        """Apply or heal a fault; return the completion (type info, value says what)."""

    def teardown(self, ctx: Context) -> None:
        """Undo every fault this nemesis may have caused. Idempotent; called on every exit
        path, including Ctrl-C."""


@runtime_checkable
class Prepares(Protocol):
    """Optional for a nemesis: called before db setup, to change how the db starts (the
    clock nemesis puts libfaketime into ``ctx.extra["db_env"]``)."""

    def prepare(self, ctx: Context) -> None: ...


@dataclass
class Package:
    """A nemesis with the generators that drive it. ``faults`` maps start-f to stop-f so the
    runner can turn history into fault windows: {"start-partition": "stop-partition"}."""

    name: str
    nemesis: Nemesis
    generator: Generator | None
    final_generator: Generator | None
    color: str = "#e0e0e0"
    faults: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Checker(Protocol):
    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]: ...
