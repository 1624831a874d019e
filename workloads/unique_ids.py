"""The unique-ids workload: every client asks for a fresh id; no id may be handed out twice.

    {"f": "generate", "value": null}  ->  kv.incr("ids", 1); ok with the new value

An id is the counter's value after an atomic increment, so two clients getting the same id
means two increments saw the same state (a lost increment, a split brain). Checkers:
unique-ids and unhandled exceptions.
"""
from __future__ import annotations

from checkers.exceptions import UnhandledExceptionsChecker
from checkers.unique_ids import UniqueIdsChecker
from harness import generators as g
from harness.api import Checker, Context, KVIncr
from harness.history import OK, Op
from workloads.kv import KVOpClient, KVWorkload, unknown_f

__all__ = ["IdClient", "UniqueIdsWorkload"]

KEY = "unique-ids"


class IdClient(KVOpClient[KVIncr]):
    def __init__(self, kv: KVIncr, key: str = KEY):
        super().__init__(kv)
        self.key = key

    def apply(self, op: Op) -> Op:
        if op.f != "generate":
            return unknown_f(op)
        return op.complete(OK, value=self.kv.incr(self.key, 1))


class UniqueIdsWorkload(KVWorkload):
    """Plugin "unique-ids". No options of its own. Needs a db client with ``incr``."""

    name = "unique-ids"
    client_class = IdClient
    needs = KVIncr

    def generator(self, ctx: Context) -> g.Generator:
        return g.repeat({"f": "generate"})

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return None

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        return {"unique-ids": UniqueIdsChecker(), "exceptions": UnhandledExceptionsChecker()}
