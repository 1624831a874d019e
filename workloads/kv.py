"""What every workload against the key-value store shares: options, the client's endpoint,
the mapping of store errors to fail/info, and the common generators."""
from __future__ import annotations

from typing import Any

from dbs.kvstore.client import KVClient, KVError
from harness import generators as g
from harness.api import Context
from harness.history import FAIL, INFO, Op


class KVWorkload:
    """Base of the store's workloads: an option comes from the constructor, else the spec's
    options, else the default; clients talk to ``port`` (7000) with ``client_timeout`` (1 s)."""

    def __init__(self, **opts: Any):
        self.opts = opts

    def _opt(self, ctx: Context, name: str, default: Any) -> Any:
        spec_opts = getattr(ctx.spec, "options", None) or {}
        return self.opts.get(name, spec_opts.get(name, default))

    def _endpoint(self, ctx: Context, node: str) -> tuple[str, int, float]:
        """(host, port, timeout) of ``node``'s store, as client constructors take them."""
        return (ctx.ips.get(node, node), int(self._opt(ctx, "port", 7000)),
                float(self._opt(ctx, "client_timeout", 1.0)))


class KVOpClient:
    """A client whose ``apply(op)`` performs one op against the store. A store error becomes
    fail when it is definite (the op surely did not happen) or the op is a read (which
    changes nothing), and info otherwise."""

    def __init__(self, host: str, port: int, timeout: float):
        self.kv = KVClient(host, port=port, timeout=timeout)

    def apply(self, op: Op) -> Op:
        raise NotImplementedError

    def invoke(self, ctx: Context, op: Op) -> Op:
        try:
            return self.apply(op)
        except KVError as e:
            definite = bool(getattr(e, "definite", False)) or op.f == "read"
            return op.complete(FAIL if definite else INFO, value=op.value,
                               error=error_name(e))

    def close(self, ctx: Context) -> None:
        self.kv.close()


def error_name(e: Exception) -> str:
    code = getattr(e, "code", None)
    return f"{code}: {e}" if code else f"{type(e).__name__}: {e}"


def unknown_f(op: Op) -> Op:
    return op.complete(FAIL, error=f"unknown f {op.f!r}")


class FreshValueGen:
    """Ops ``f`` of fresh values (0, 1, 2, ... per key) and reads (``read_ratio``) over
    ``keys`` keys."""

    def __init__(self, f: str, keys: int, read_ratio: float):
        self.f, self.keys, self.read_ratio = f, keys, read_ratio
        self.next = [0] * keys

    def op(self, ctx: g.GenContext) -> g.Answer:
        key = ctx.rng.randrange(self.keys)
        if ctx.rng.random() < self.read_ratio:
            return Op(type="invoke", f="read", key=key)
        v = self.next[key]
        self.next[key] += 1
        return Op(type="invoke", f=self.f, key=key, value=v)


def final_reads(keys: int) -> g.Seq:
    """One read of each key 0..keys-1, after the faults are healed."""
    return g.Seq([{"f": "read", "key": k} for k in range(keys)])
