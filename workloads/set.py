"""The set workload: add distinct elements to a few sets, read them back all along.

Ops (each on one of ``keys`` sets):
    {"f": "add",  "key": 1, "value": 42}     -> kv.add(1, 42); ok, fail (definite) or info
    {"f": "read", "key": 1, "value": null}   -> ok with the elements (null: none yet)

Elements are 0, 1, 2, ... per key, so every element is added once. Checkers: set-full (every
read, with lost, stale and never-read elements and their latencies), set (the final read
holds every acknowledged add), and unhandled exceptions.
"""
from __future__ import annotations

from checkers.exceptions import UnhandledExceptionsChecker
from checkers.sets import SetChecker, SetFullChecker
from harness import generators as g
from harness.api import Checker, Context, KVAdd
from harness.history import OK, Op
from harness.options import Opt
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

__all__ = ["SetClient", "SetGen", "SetWorkload"]


class SetClient(KVOpClient[KVAdd]):
    def apply(self, op: Op) -> Op:
        if op.f == "add":
            self.kv.add(op.key, op.value)
            return op.complete(OK, value=op.value)
        if op.f == "read":
            return op.complete(OK, value=self.kv.read(op.key) or [])
        return unknown_f(op)


class SetGen(FreshValueGen):
    """Adds of fresh elements and reads (``read_ratio``) over ``keys`` sets."""

    def __init__(self, keys: int = 3, read_ratio: float = 0.2):
        super().__init__("add", keys, read_ratio)


class SetWorkload(KVWorkload):
    """Plugin "set". Options (spec.options): keys (3), read_ratio (0.2), linearizable
    (false: stale reads are reported but are no error). Needs a db client with ``add``."""

    name = "set"
    client_class = SetClient
    needs = KVAdd
    declared = (keys_opt(3), read_ratio_opt(0.2),
                Opt("linearizable", bool, False, "report stale reads as errors (set-full)"),
                FINAL_READ_OPT)

    def generator(self, ctx: Context) -> SetGen:
        return SetGen(keys=self.opt(ctx, "keys", 3), read_ratio=self.opt(ctx, "read_ratio", 0.2))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return self.until_ok(ctx, final_reads(self.opt(ctx, "keys", 3)))

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        lin = self.opt(ctx, "linearizable", False)
        return {"set-full": SetFullChecker(linearizable=lin), "set": SetChecker(),
                "exceptions": UnhandledExceptionsChecker()}
