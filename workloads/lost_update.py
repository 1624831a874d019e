"""The lost-update workload: append distinct values to a few lists; every acknowledged append
must survive to the final read.

Ops (each on one of ``keys`` lists):
    {"f": "append", "key": 2, "value": 17}   -> kv.append(2, 17); ok, fail or info
    {"f": "read",   "key": 2, "value": null} -> ok with the list (null: empty)

Values are 0, 1, 2, ... per key, so each is appended once: a value missing from the final
read although its append was acknowledged was lost (a failover that forgot a committed
write, a rollback, ...), and a value there twice was applied twice (a retried request).
The final generator reads every key after the faults are healed. Checkers: lost-update
(naming each lost append, when it was acknowledged and which faults were active) and
unhandled exceptions.
"""
from __future__ import annotations

from checkers.exceptions import UnhandledExceptionsChecker
from checkers.lost_update import LostUpdateChecker
from harness import generators as g
from harness.api import Checker, Context, KVAppend
from harness.history import OK, Op
from workloads.kv import (
    FINAL_READ_OPT,
    FreshValueGen,
    KVOpClient,
    KVWorkload,
    final_reads,
    keys_opt,
    read_ratio_opt,
    unknown_f,
)

__all__ = ["AppendClient", "AppendGen", "LostUpdateWorkload"]


class AppendClient(KVOpClient[KVAppend]):
    def apply(self, op: Op) -> Op:
        if op.f == "append":
            self.kv.append(op.key, op.value)
            return op.complete(OK, value=op.value)
        if op.f == "read":
            return op.complete(OK, value=self.kv.read(op.key) or [])
        return unknown_f(op)


class AppendGen(FreshValueGen):
    """Appends of fresh values, and a few reads (``read_ratio``), over ``keys`` lists."""

    def __init__(self, keys: int = 5, read_ratio: float = 0.1):
        super().__init__("append", keys, read_ratio)


class LostUpdateWorkload(KVWorkload):
    """Plugin "lost-update". Options (spec.options): keys (5), read_ratio (0.1). Needs a db
    client with ``append``."""

    name = "lost-update"
    client_class = AppendClient
    needs = KVAppend
    declared = (keys_opt(5), read_ratio_opt(0.1), FINAL_READ_OPT)

    def generator(self, ctx: Context) -> AppendGen:
        return AppendGen(keys=self.opt(ctx, "keys", 5), read_ratio=self.opt(ctx, "read_ratio", 0.1))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return self.until_ok(ctx, final_reads(self.opt(ctx, "keys", 5)))

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        return {"lost-update": LostUpdateChecker(updates=("append",)),
                "exceptions": UnhandledExceptionsChecker()}
