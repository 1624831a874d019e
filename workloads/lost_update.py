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

from typing import Any

from checkers.common import Compose
from checkers.exceptions import UnhandledExceptionsChecker
from checkers.lost_update import LostUpdateChecker
from harness import generators as g
from harness.db import Context
from harness.history import FAIL, INFO, OK, Op
from harness.kvclient import KVClient, KVError
from harness.plugins import Checker

__all__ = ["AppendClient", "AppendGen", "LostUpdateWorkload"]


class AppendClient:
    def __init__(self, host: str, port: int, timeout: float):
        self.kv = KVClient(host, port=port, timeout=timeout)

    def invoke(self, ctx: Context, op: Op) -> Op:
        try:
            if op.f == "append":
                self.kv.append(op.key, op.value)
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


class AppendGen:
    """Appends of fresh values, and a few reads (``read_ratio``), over ``keys`` lists."""

    def __init__(self, keys: int = 5, read_ratio: float = 0.1):
        self.keys, self.read_ratio = keys, read_ratio
        self.next = [0] * keys

    def op(self, ctx: g.GenContext) -> g.Answer:
        key = ctx.rng.randrange(self.keys)
        if ctx.rng.random() < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        v = self.next[key]
        self.next[key] += 1
        return Op(type="invoke", f="append", key=key, value=v)


class LostUpdateWorkload:
    """Plugin "lost-update". Options (spec.options): keys (5), read_ratio (0.1),
    client_timeout (1.0 s), port (7000)."""

    name = "lost-update"

    def __init__(self, **opts: Any):
        self.opts = opts

    def _opt(self, ctx: Context, name: str, default: Any) -> Any:
        spec_opts = getattr(ctx.spec, "options", None) or {}
        return self.opts.get(name, spec_opts.get(name, default))

    def client(self, ctx: Context, process: int, node: str) -> AppendClient:
        return AppendClient(ctx.ips.get(node, node), int(self._opt(ctx, "port", 7000)),
                            float(self._opt(ctx, "client_timeout", 1.0)))

    def generator(self, ctx: Context) -> AppendGen:
        return AppendGen(keys=int(self._opt(ctx, "keys", 5)),
                         read_ratio=float(self._opt(ctx, "read_ratio", 0.1)))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return g.Seq([{"f": "read", "key": k} for k in range(int(self._opt(ctx, "keys", 5)))])

    def checker(self, ctx: Context) -> Checker:
        return Compose({"lost-update": LostUpdateChecker(updates=("append",)),
                        "exceptions": UnhandledExceptionsChecker()})
