"""The bank workload: transfers between accounts must conserve the total.

    {"f": "transfer", "value": {"from": 1, "to": 3, "amount": 4}}
    {"f": "read",     "value": null}  ->  ok with {"0": 10, "1": 6, "2": 10, "3": 14}

How it is honest with this store. The store has single-key operations only (read, write,
cas, incr, append, add), no transactions. Keeping one key per account and doing a transfer
as two cas (debit one key, then credit the other) would leave money in flight between the
two steps, and a reader that reads the accounts one by one sees no snapshot either: the total
would wander in a perfectly correct store, and a checker could not tell that from a bug.

So the whole bank is one key holding a map of balances. A transfer reads the map, checks
the funds, and writes the new map with one cas from the map it read: a single atomic step,
which the store either applies whole or not at all. A read is one read of the key, a
consistent snapshot. The total is then conserved by any store whose cas is atomic, and any
read with a different total (or a negative balance) is a real anomaly: a cas that
applied against a stale value, a lost or doubled write after a failover. The cost is
contention: concurrent transfers race on one key and the losers fail (cas-mismatch:
definitely not applied), which is fine for a test. An absent key means the initial balances
(the store compares an absent key equal to null, so the first cas goes from null).

Checkers: bank (every read has every account, the right total, no negative balance) and
unhandled exceptions.
"""
from __future__ import annotations

from checkers.bank import BankChecker
from checkers.exceptions import UnhandledExceptionsChecker
from harness import generators as g
from harness.api import KV, Checker, Context, StoreError
from harness.history import FAIL, OK, Op
from harness.options import Opt, at_least
from workloads.kv import (
    FINAL_READ_OPT,
    KVOpClient,
    KVWorkload,
    error_fields,
    read_ratio_opt,
    unknown_f,
)

__all__ = ["BankClient", "BankGen", "BankWorkload"]

KEY = "bank"


class BankClient(KVOpClient[KV]):
    def __init__(self, kv: KV, accounts: int, initial: int):
        super().__init__(kv)
        self.initial = {str(a): initial for a in range(accounts)}

    def apply(self, op: Op) -> Op:
        if op.f == "read":
            cur = self.kv.read(KEY)
            return op.complete(OK, value=self.initial if cur is None else cur)
        if op.f == "transfer":
            return self._transfer(op)
        return unknown_f(op)

    def _transfer(self, op: Op) -> Op:
        t = op.value
        src, dst, amount = str(t["from"]), str(t["to"]), int(t["amount"])
        try:
            cur = self.kv.read(KEY)
        except StoreError as e:  # the read before the cas changes nothing: fail is safe
            return op.complete(FAIL, value=t, **error_fields(e))
        balances = dict(self.initial if cur is None else cur)
        if balances.get(src, 0) < amount:
            return op.complete(FAIL, value=t, error="insufficient-funds")
        balances[src] = balances.get(src, 0) - amount
        balances[dst] = balances.get(dst, 0) + amount
        if self.kv.cas(KEY, cur, balances):
            return op.complete(OK, value=t)
        return op.complete(FAIL, value=t, error="cas-mismatch")


class BankGen:
    """Transfers of 1..``max_amount`` between two distinct random accounts, and reads."""

    def __init__(self, accounts: int = 5, max_amount: int = 5, read_ratio: float = 0.3):
        self.accounts, self.max_amount, self.read_ratio = accounts, max_amount, read_ratio

    def op(self, ctx: g.GenContext) -> g.Answer:
        if ctx.rng.random() < self.read_ratio or self.accounts < 2:
            return Op(type="invoke", f="read")
        src, dst = ctx.rng.sample(range(self.accounts), 2)
        return Op(type="invoke", f="transfer",
                  value={"from": src, "to": dst,
                         "amount": ctx.rng.randint(1, self.max_amount)})


class BankWorkload(KVWorkload):
    """Plugin "bank". Options (spec.options): accounts (5), initial (10 per account),
    max_amount (5), read_ratio (0.3)."""

    name = "bank"
    declared = (Opt("accounts", int, 5, "how many accounts", check=at_least(1)),
                Opt("initial", int, 10, "each account's starting balance", check=at_least(0)),
                Opt("max_amount", int, 5, "the largest transfer", check=at_least(1)),
                read_ratio_opt(0.3), FINAL_READ_OPT)

    def _accounts(self, ctx: Context) -> tuple[int, int]:
        return self.opt(ctx, "accounts", 5), self.opt(ctx, "initial", 10)

    def client(self, ctx: Context, process: int, node: str) -> BankClient:
        n, initial = self._accounts(ctx)
        return BankClient(self.connect(ctx, node), n, initial)

    def generator(self, ctx: Context) -> BankGen:
        return BankGen(accounts=self._accounts(ctx)[0],
                       max_amount=self.opt(ctx, "max_amount", 5),
                       read_ratio=self.opt(ctx, "read_ratio", 0.3))

    def final_generator(self, ctx: Context) -> g.Generator | None:
        return self.until_ok(ctx, g.once({"f": "read"}))

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        n, initial = self._accounts(ctx)
        return {"bank": BankChecker(accounts=list(range(n)), total=n * initial),
                "exceptions": UnhandledExceptionsChecker()}
