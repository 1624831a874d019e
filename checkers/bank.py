"""Bank: transfers move money between accounts and never make or destroy it.

    {"f": "transfer", "value": {"from": 1, "to": 3, "amount": 5}}
    {"f": "read", "value": null}  ->  ok with {"0": 10, "1": 5, "2": 10, "3": 15}

Every ok read must show every account (and no other), the expected ``total``, and (unless
``negative_balances``) no account below zero. Account names are compared as strings (a JSON
store turns map keys into strings).

    BankChecker(accounts=[0, 1, 2, 3], total=40).check(test, ops)
    -> {"valid": False, "read_count": 120, "bad_read_count": 1,
        "bad_reads": [{"at": 7.25, "process": 2, "total": 35, "expected_total": 40,
                       "negative": {}, "missing": [], "unexpected": []}],
        "transfers": {"ok": 300, "fail": 41, "info": 3}}
"""
from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

from checkers.common import cap, client_pairs, seconds
from harness.history import OK, Op

__all__ = ["BankChecker"]


class BankResult(TypedDict):
    """The bank checker's result (``check`` returns it as a plain dict)."""

    valid: bool | str
    read_count: int
    bad_read_count: int
    bad_reads: list[dict[str, Any]]   # capped
    expected_total: int | None
    transfers: dict[str, int]         # ok / fail / info counts


class BankChecker:
    def __init__(self, accounts: list[Any] | None = None, total: int | None = None,
                 negative_balances: bool = False, read: str = "read",
                 transfer: str = "transfer"):
        self.accounts = None if accounts is None else {str(a) for a in accounts}
        self.total, self.negative_ok = total, negative_balances
        self.read, self.transfer = read, transfer

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        bad: list[dict[str, Any]] = []
        n_reads = 0
        transfers: Counter[str] = Counter()
        expected = self.total
        for p in client_pairs(ops):
            if p.invoke.f == self.transfer:
                transfers[p.type] += 1
                continue
            if p.invoke.f != self.read or p.type != OK or p.complete is None:
                continue
            n_reads += 1
            problem = self._judge(p.complete.value, expected)
            if expected is None and problem.get("total") is not None:
                expected = problem["total"]  # no total given: the first read sets it
            if problem["bad"]:
                del problem["bad"]
                bad.append({"at": seconds(p.end), "process": p.invoke.process} | problem)
        valid: bool | str = not bad
        if valid and n_reads == 0:
            valid = "unknown"
        return dict(BankResult(valid=valid, read_count=n_reads, bad_read_count=len(bad),
                               bad_reads=cap(bad), expected_total=expected,
                               transfers={t: transfers[t] for t in ("ok", "fail", "info")}))

    def _judge(self, value: Any, expected: int | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            return {"bad": True, "error": f"a read must return a map of balances, got "
                                          f"{type(value).__name__}", "total": None}
        balances = {str(k): v for k, v in value.items()}
        odd = {k: v for k, v in balances.items()
               if not isinstance(v, int) or isinstance(v, bool)}
        nums = {k: v for k, v in balances.items() if k not in odd}
        total = sum(nums.values())
        negative = {} if self.negative_ok else {k: v for k, v in nums.items() if v < 0}
        missing = sorted(self.accounts - set(balances)) if self.accounts else []
        unexpected = sorted(set(balances) - self.accounts) if self.accounts else []
        wrong_total = expected is not None and total != expected
        out: dict[str, Any] = {"bad": bool(odd or negative or missing or unexpected
                                           or wrong_total),
                               "total": total, "expected_total": expected,
                               "negative": negative, "missing": missing,
                               "unexpected": unexpected}
        if odd:
            out["not_numbers"] = odd
        return out
