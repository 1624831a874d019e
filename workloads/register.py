"""The register workload: read, write and cas over independent keys.

Each key is a separate register; a key takes ``ops_per_key`` ops, then a fresh key replaces
it, so each key's history stays small enough to check quickly (Jepsen's independent keys).
Written values are unique per key (1, 2, 3, ...), so every read names the one write it saw.

Ops:
    {"f": "read",  "key": 3, "value": null}     -> ok with the value read (null: absent)
    {"f": "write", "key": 3, "value": 7}
    {"f": "cas",   "key": 3, "value": [7, 8]}   -> ok if swapped, fail if the value was not 7

The client answers fail only when the op surely did not happen (a definite error from the
store, or any error on a read), and info when it cannot know (timeout, lost connection).
"""
from __future__ import annotations

import threading
from typing import Any

from checkers.linearizable import LinearizableChecker
from harness import generators as g
from harness.api import KV, Checker, Context
from harness.history import FAIL, OK, Op
from harness.options import Opt, at_least
from workloads.kv import FINAL_READ_OPT, KVOpClient, KVWorkload, keys_opt, unknown_f


class RegisterClient(KVOpClient[KV]):
    def apply(self, op: Op) -> Op:
        if op.f == "read":
            return op.complete(OK, value=self.kv.read(op.key))
        if op.f == "write":
            self.kv.write(op.key, op.value)
            return op.complete(OK, value=op.value)
        if op.f == "cas":
            old, new = op.value
            if self.kv.cas(op.key, old, new):
                return op.complete(OK, value=op.value)
            return op.complete(FAIL, value=op.value, error="cas-mismatch")
        return unknown_f(op)


class RegisterGen:
    """A pool of ``keys`` live keys; each takes ``ops_per_key`` ops, then is replaced.
    Mix: 50% reads, 30% writes, 20% cas (cas expects one of the last few written values,
    so some succeed and some fail)."""

    def __init__(self, keys: int = 5, ops_per_key: int = 200, read_ratio: float = 0.5,
                 write_ratio: float = 0.3):
        self.pool = list(range(keys))
        self.next_key = keys
        self.ops_left = {k: ops_per_key for k in self.pool}
        self.ops_per_key = ops_per_key
        self.last_value: dict[Any, int] = {}
        self.read_ratio, self.write_ratio = read_ratio, write_ratio
        self.used: list[Any] = []
        self._lock = threading.Lock()  # final_generator reads `used` from another phase

    def op(self, ctx: g.GenContext) -> g.Answer:
        i = ctx.rng.randrange(len(self.pool))
        key = self.pool[i]
        if key not in self.last_value:
            self.last_value[key] = 0
            with self._lock:
                self.used.append(key)
        self.ops_left[key] -= 1
        if self.ops_left[key] <= 0:
            del self.ops_left[key]
            self.pool[i] = self.next_key
            self.ops_left[self.next_key] = self.ops_per_key
            self.next_key += 1
        r = ctx.rng.random()
        if r < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        self.last_value[key] += 1
        v = self.last_value[key]
        if r < self.read_ratio + self.write_ratio or v == 1:
            return Op(type="invoke", f="write", key=key, value=v)
        old = max(1, v - 1 - ctx.rng.randrange(3))
        return Op(type="invoke", f="cas", key=key, value=[old, v])

    def keys_used(self) -> list[Any]:
        with self._lock:
            return list(self.used)


class FinalReads:
    """One read of every key the main phase touched, after the faults are healed."""

    def __init__(self, source: RegisterGen):
        self.source = source
        self.todo: list[Any] | None = None

    def op(self, ctx: g.GenContext) -> g.Answer:
        if self.todo is None:
            self.todo = self.source.keys_used()
        if not self.todo:
            return None
        return Op(type="invoke", f="read", key=self.todo.pop(0))


class RegisterWorkload(KVWorkload):
    """Plugin "register". Options (spec.options): keys (5), ops_per_key (200); the db's
    client takes its own (kvstore: port, client_timeout)."""

    name = "register"
    client_class = RegisterClient
    declared = (keys_opt(5),
                Opt("ops_per_key", int, 200, "ops on a key before a fresh key replaces it",
                    check=at_least(1)),
                FINAL_READ_OPT)

    def __init__(self, **opts: Any):
        super().__init__(**opts)
        self._gen: RegisterGen | None = None

    def generator(self, ctx: Context) -> RegisterGen:
        self._gen = RegisterGen(keys=self.opt(ctx, "keys", 5),
                                ops_per_key=self.opt(ctx, "ops_per_key", 200))
        return self._gen

    def final_generator(self, ctx: Context) -> g.Generator | None:
        if self._gen is None:
            return None
        return self.until_ok(ctx, FinalReads(self._gen))

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        return {"linearizable": LinearizableChecker(model="cas-register")}
