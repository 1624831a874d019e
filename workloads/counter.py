"""The counter workload: concurrent increments and reads of a few counters.

Ops (each on one of ``keys`` counters):
    {"f": "add",  "key": 0, "value": 3}      -> kv.incr(0, 3); ok, fail (definite) or info
    {"f": "read", "key": 0, "value": null}   -> ok with the count (null: never incremented)

The checker (checkers.counter) demands every read lie between the sum of the adds that
surely happened before it and the sum of those that may have; unhandled exceptions are
listed beside it.
"""
from __future__ import annotations

from checkers.counter import CounterChecker
from checkers.exceptions import UnhandledExceptionsChecker
from harness import generators as g
from harness.api import Checker, Context, KVIncr
from harness.history import OK, Op
from harness.options import Opt, at_least
from workloads.kv import (
    FINAL_READ_OPT,
    KVOpClient,
    KVWorkload,
    final_reads,
    keys_opt,
    read_ratio_opt,
    unknown_f,
)

__all__ = ["CounterClient", "CounterGen", "CounterWorkload"]


class CounterClient(KVOpClient[KVIncr]):
    def apply(self, op: Op) -> Op:
        if op.f == "add":
            self.kv.incr(op.key, op.value)
            return op.complete(OK, value=op.value)
        if op.f == "read":
            return op.complete(OK, value=self.kv.read(op.key))
        return unknown_f(op)


class CounterGen:
    """Adds of 1..``max_delta`` and reads (``read_ratio``) over ``keys`` counters."""

    def __init__(self, keys: int = 1, read_ratio: float = 0.3, max_delta: int = 5):
        self.keys, self.read_ratio, self.max_delta = keys, read_ratio, max_delta

    def op(self, ctx: g.GenContext) -> g.Answer:
        key = ctx.rng.randrange(self.keys)
        if ctx.rng.random() < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        return Op(type="invoke", f="add", key=key, value=ctx.rng.randint(1, self.max_delta))


class CounterWorkload(KVWorkload):
    """Plugin "counter". Options (spec.options): keys (1), read_ratio (0.3), max_delta (5).
    Needs a db client with ``incr``."""

    name = "counter"
    client_class = CounterClient
    needs = KVIncr
    declared = (keys_opt(1), read_ratio_opt(0.3),
                Opt("max_delta", int, 5, "the largest increment", check=at_least(1)),
                FINAL_READ_OPT)

    def generator(self, ctx: Context) -> CounterGen:
        return CounterGen(keys=self.opt(ctx, "keys", 1),
                          read_ratio=self.opt(ctx, "read_ratio", 0.3),
                          max_delta=self.opt(ctx, "max_delta", 5))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return self.until_ok(ctx, final_reads(self.opt(ctx, "keys", 1)))

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        return {"counter": CounterChecker(), "exceptions": UnhandledExceptionsChecker()}
