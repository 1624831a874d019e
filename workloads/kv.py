"""What every key-value workload shares: the db's client (through ``ctx.db``, never an
import of a db), typed options, the mapping of store errors to fail/info, and the common
generators.

    class CounterWorkload(KVWorkload):
        name = "counter"
        client_class = CounterClient    # a KVOpClient[KVIncr]: apply(op) through self.kv
        needs = KVIncr                  # the capability beyond KV its client uses, if any

``client(ctx, process, node)`` then asks ``ctx.db`` (a harness.api.HasKV) for a client of
``node``, checks it has what the workload needs (one ConfigError line if not) and wraps it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from harness import generators as g
from harness.api import KV, Context, HasKV, StoreError
from harness.errors import ConfigError
from harness.history import FAIL, INFO, Op
from harness.options import Opt, at_least, between, option

T = TypeVar("T")
K = TypeVar("K", bound=KV)

FINAL_READ_TIMEOUT = 30.0  # s: how long final reads are retried until each is ok
RETRY_PAUSE = 0.5          # s between two tries of one final read


def keys_opt(default: int) -> Opt:
    return Opt("keys", int, default, "how many keys the ops spread over", check=at_least(1))


def read_ratio_opt(default: float) -> Opt:
    return Opt("read_ratio", float, default, "the share of reads among the ops",
               check=between(0, 1))


FINAL_READ_OPT = Opt("final_read_timeout", float, FINAL_READ_TIMEOUT,
                     "seconds to retry the final reads until each is ok (0: one try)",
                     check=at_least(0))


class KVWorkload:
    """Base of the key-value workloads. An option comes from the constructor's keywords,
    else the spec's options, else the default (whose type it takes: harness.options)."""

    name = "kv"
    client_class: type[KVOpClient[Any]]
    needs: type | None = None  # KVIncr, KVAppend or KVAdd (harness.api): checked per client
    declared: tuple[Opt, ...] = ()  # the options it reads (harness.api.HasOptions)

    def __init__(self, **opts: Any):
        self.opts = opts

    def client(self, ctx: Context, process: int, node: str) -> KVOpClient[Any]:
        return self.client_class(self.connect(ctx, node))

    def declared_options(self) -> Sequence[Opt]:
        return self.declared

    def opt(self, ctx: Context, key: str, default: T) -> T:
        return option(ctx.options, key, default, given=self.opts)

    def until_ok(self, ctx: Context, gen: g.Generator) -> g.UntilOk:
        """``gen`` (final reads) with every op that did not complete ok re-issued, 0.5 s
        apart, for up to option ``final_read_timeout`` s (30): right after the heal a correct
        cluster may still be electing, and the checkers need each key's final state."""
        return g.until_ok(gen, timeout=self.opt(ctx, "final_read_timeout",
                                                FINAL_READ_TIMEOUT), pause=RETRY_PAUSE)

    def connect(self, ctx: Context, node: str) -> KV:
        """A new client of the db on ``node``: ``ctx.db.kv(ctx, node)``."""
        if not isinstance(ctx.db, HasKV):
            raise ConfigError(f"workload {self.name} needs a db that speaks key-value "
                              f"(HasKV); db {db_name(ctx)} does not")
        kv = ctx.db.kv(ctx, node)
        if self.needs is not None and not isinstance(kv, self.needs):
            kv.close()
            raise ConfigError(f"workload {self.name} needs a key-value client with "
                              f"{self.needs.__name__} (harness.api); db {db_name(ctx)}'s "
                              "client has not")
        return kv


def db_name(ctx: Context) -> str:
    if ctx.db is None:
        return "(none)"
    return str(getattr(ctx.db, "name", None) or type(ctx.db).__name__)


class KVOpClient(Generic[K]):
    """A client whose ``apply(op)`` performs one op through ``kv``. A StoreError becomes
    fail when it is definite (the op surely did not happen) or the op is a read (which
    changes nothing), and info otherwise."""

    def __init__(self, kv: K):
        self.kv = kv

    def apply(self, op: Op) -> Op:
        raise NotImplementedError

    def invoke(self, ctx: Context, op: Op) -> Op:
        try:
            return self.apply(op)
        except StoreError as e:
            # A StoreError that does not say is taken as indefinite: info is always safe.
            definite = bool(getattr(e, "definite", False)) or op.f == "read"
            return op.complete(FAIL if definite else INFO, value=op.value,
                               **error_fields(e))

    def close(self, ctx: Context) -> None:
        self.kv.close()


def error_fields(e: Exception) -> dict[str, Any]:
    """An op's error as its kind, with the variable parts (message, address) in fields of
    their own, so that errors group by kind:

        {"error": "not-leader", "error_msg": "n5 is not the leader (term 7)",
         "error_host": "172.20.0.5"}

    The kind is the store's error code, else the exception's class name."""
    code = getattr(e, "code", None)
    out: dict[str, Any] = {"error": str(code) if code else type(e).__name__,
                           "error_msg": str(getattr(e, "msg", "") or e)}
    host = getattr(e, "host", None)
    if host:
        out["error_host"] = str(host)
    return out


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
