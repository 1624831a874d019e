"""The counter workload: concurrent increments and reads of a few counters.

Ops (each on one of ``keys`` counters):
    {"f": "add",  "key": 0, "value": 3}      -> kv.incr(0, 3); ok, fail (definite) or info
    {"f": "read", "key": 0, "value": null}   -> ok with the count (null: never incremented)

The checker (checkers.counter) demands every read lie between the sum of the adds that
surely happened before it and the sum of those that may have; unhandled exceptions are
listed beside it.
"""
from __future__ import annotations

from typing import Any

from checkers.common import Compose
from checkers.counter import CounterChecker
from checkers.exceptions import UnhandledExceptionsChecker
from harness import generators as g
from harness.db import Context
from harness.history import FAIL, INFO, OK, Op
from harness.kvclient import KVClient, KVError
from harness.plugins import Checker

__all__ = ["CounterClient", "CounterGen", "CounterWorkload"]


class CounterClient:
    def __init__(self, host: str, port: int, timeout: float):
        self.kv = KVClient(host, port=port, timeout=timeout)

    def invoke(self, ctx: Context, op: Op) -> Op:
        try:
            if op.f == "add":
                self.kv.incr(op.key, op.value)
                return op.complete(OK, value=op.value)
            if op.f == "read":
                return op.complete(OK, value=self.kv.read(op.key))
        except KVError as e:
            definite = bool(getattr(e, "definite", False)) or op.f == "read"
            return op.complete(FAIL if definite else INFO, value=op.value,
                               error=f"{e.code}: {e}")
        return op.complete(FAIL, error=f"unknown f {op.f!r}")

    def close(self, ctx: Context) -> None:
        self.kv.close()


class CounterGen:
    """Adds of 1..``max_delta`` and reads (``read_ratio``) over ``keys`` counters."""

    def __init__(self, keys: int = 1, read_ratio: float = 0.3, max_delta: int = 5):
        self.keys, self.read_ratio, self.max_delta = keys, read_ratio, max_delta

    def op(self, ctx: g.GenContext) -> g.Answer:
        key = ctx.rng.randrange(self.keys)
        if ctx.rng.random() < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        return Op(type="invoke", f="add", key=key, value=ctx.rng.randint(1, self.max_delta))


class CounterWorkload:
    """Plugin "counter". Options (spec.options): keys (1), read_ratio (0.3), max_delta (5),
    client_timeout (1.0 s), port (7000)."""

    name = "counter"

    def __init__(self, **opts: Any):
        self.opts = opts

    def _opt(self, ctx: Context, name: str, default: Any) -> Any:
        spec_opts = getattr(ctx.spec, "options", None) or {}
        return self.opts.get(name, spec_opts.get(name, default))

    def client(self, ctx: Context, process: int, node: str) -> CounterClient:
        return CounterClient(ctx.ips.get(node, node), int(self._opt(ctx, "port", 7000)),
                             float(self._opt(ctx, "client_timeout", 1.0)))

    def generator(self, ctx: Context) -> CounterGen:
        return CounterGen(keys=int(self._opt(ctx, "keys", 1)),
                          read_ratio=float(self._opt(ctx, "read_ratio", 0.3)),
                          max_delta=int(self._opt(ctx, "max_delta", 5)))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return g.Seq([{"f": "read", "key": k} for k in range(int(self._opt(ctx, "keys", 1)))])

    def checker(self, ctx: Context) -> Checker:
        return Compose({"counter": CounterChecker(),
                        "exceptions": UnhandledExceptionsChecker()})
