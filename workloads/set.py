"""The set workload: add distinct elements to a few sets, read them back all along.

Ops (each on one of ``keys`` sets):
    {"f": "add",  "key": 1, "value": 42}     -> kv.add(1, 42); ok, fail (definite) or info
    {"f": "read", "key": 1, "value": null}   -> ok with the elements (null: none yet)

Elements are 0, 1, 2, ... per key, so every element is added once. Checkers: set-full (every
read, with lost, stale and never-read elements and their latencies), set (the final read
holds every acknowledged add), and unhandled exceptions.
"""
from __future__ import annotations

from typing import Any

from checkers.common import Compose
from checkers.exceptions import UnhandledExceptionsChecker
from checkers.sets import SetChecker, SetFullChecker
from harness import generators as g
from harness.db import Context
from harness.history import FAIL, INFO, OK, Op
from harness.kvclient import KVClient, KVError
from harness.plugins import Checker

__all__ = ["SetClient", "SetGen", "SetWorkload"]


class SetClient:
    def __init__(self, host: str, port: int, timeout: float):
        self.kv = KVClient(host, port=port, timeout=timeout)

    def invoke(self, ctx: Context, op: Op) -> Op:
        try:
            if op.f == "add":
                self.kv.add(op.key, op.value)
                return op.complete(OK, value=op.value)
            if op.f == "read":
                return op.complete(OK, value=self.kv.read(op.key) or [])
        except KVError as e:
            definite = bool(getattr(e, "definite", False)) or op.f == "read"
            return op.complete(FAIL if definite else INFO, value=op.value,
                               error=f"{e.code}: {e}")
        return op.complete(FAIL, error=f"unknown f {op.f!r}")

    def close(self, ctx: Context) -> None:
        self.kv.close()


class SetGen:
    """Adds of fresh elements and reads (``read_ratio``) over ``keys`` sets."""

    def __init__(self, keys: int = 3, read_ratio: float = 0.2):
        self.keys, self.read_ratio = keys, read_ratio
        self.next = [0] * keys

    def op(self, ctx: g.GenContext) -> g.Answer:
        key = ctx.rng.randrange(self.keys)
        if ctx.rng.random() < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        v = self.next[key]
        self.next[key] += 1
        return Op(type="invoke", f="add", key=key, value=v)


class SetWorkload:
    """Plugin "set". Options (spec.options): keys (3), read_ratio (0.2), linearizable
    (false: stale reads are reported but are no error), client_timeout (1.0 s), port
    (7000)."""

    name = "set"

    def __init__(self, **opts: Any):
        self.opts = opts

    def _opt(self, ctx: Context, name: str, default: Any) -> Any:
        spec_opts = getattr(ctx.spec, "options", None) or {}
        return self.opts.get(name, spec_opts.get(name, default))

    def client(self, ctx: Context, process: int, node: str) -> SetClient:
        return SetClient(ctx.ips.get(node, node), int(self._opt(ctx, "port", 7000)),
                         float(self._opt(ctx, "client_timeout", 1.0)))

    def generator(self, ctx: Context) -> SetGen:
        return SetGen(keys=int(self._opt(ctx, "keys", 3)),
                      read_ratio=float(self._opt(ctx, "read_ratio", 0.2)))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return g.Seq([{"f": "read", "key": k} for k in range(int(self._opt(ctx, "keys", 3)))])

    def checker(self, ctx: Context) -> Checker:
        lin = str(self._opt(ctx, "linearizable", "false")).lower() in ("1", "true", "yes")
        return Compose({"set-full": SetFullChecker(linearizable=lin), "set": SetChecker(),
                        "exceptions": UnhandledExceptionsChecker()})
