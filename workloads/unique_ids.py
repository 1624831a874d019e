"""The unique-ids workload: every client asks for a fresh id; no id may be handed out twice.

    {"f": "generate", "value": null}  ->  kv.incr("ids", 1); ok with the new value

An id is the counter's value after an atomic increment, so two clients getting the same id
means two increments saw the same state (a lost increment, a split brain). Checkers:
unique-ids and unhandled exceptions.
"""
from __future__ import annotations

from checkers.common import Compose
from checkers.exceptions import UnhandledExceptionsChecker
from checkers.unique_ids import UniqueIdsChecker
from dbs.kvstore.client import KVClient, KVError
from harness import generators as g
from harness.api import Checker, Context
from harness.history import FAIL, INFO, OK, Op
from workloads.kv import KVWorkload

__all__ = ["IdClient", "UniqueIdsWorkload"]

KEY = "unique-ids"


class IdClient:
    def __init__(self, host: str, port: int, timeout: float, key: str = KEY):
        self.kv = KVClient(host, port=port, timeout=timeout)
        self.key = key

    def invoke(self, ctx: Context, op: Op) -> Op:
        if op.f != "generate":
            return op.complete(FAIL, error=f"unknown f {op.f!r}")
        try:
            return op.complete(OK, value=self.kv.incr(self.key, 1))
        except KVError as e:
            return op.complete(FAIL if getattr(e, "definite", False) else INFO,
                               error=f"{e.code}: {e}")

    def close(self, ctx: Context) -> None:
        self.kv.close()


class UniqueIdsWorkload(KVWorkload):
    """Plugin "unique-ids". Options (spec.options): client_timeout (1.0 s), port (7000)."""

    name = "unique-ids"

    def client(self, ctx: Context, process: int, node: str) -> IdClient:
        return IdClient(*self._endpoint(ctx, node))

    def generator(self, ctx: Context) -> g.Generator:
        return g.repeat({"f": "generate"})

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return None

    def checker(self, ctx: Context) -> Checker:
        return Compose({"unique-ids": UniqueIdsChecker(),
                        "exceptions": UnhandledExceptionsChecker()})
