"""Counters: every read lies within what the adds could have summed to (Jepsen's counter).

    {"f": "add",  "key": "c", "value": 2}       ok: certainly applied; info: maybe
    {"f": "read", "key": "c", "value": null} -> ok with 17 (null: the counter is absent, 0)

For an ok read R of a key: the adds that completed ok before R was invoked certainly
happened before it: their sum is the *lower* bound. Every add invoked before R completed may
have happened before it (ok ones, in-flight ones, info ones, including ones that never
complete): adding their deltas on top gives the *upper* bound. (With negative deltas the
bounds take the negative part and the positive part respectively, so they stay bounds.)
A read outside [lower, upper] is an error. Failed adds never happened.

    CounterChecker().check(test, ops)
    -> {"valid": False, "reads": 412, "error_count": 1,
        "errors": [{"key": "c", "value": 9, "lower": 10, "upper": 12, "process": 3,
                    "invoked_at": 4.1, "completed_at": 4.13}],
        "acknowledged_sum": {"c": 812}, "possible_sum": {"c": 830},
        "final_reads": {"c": 815}}
"""
from __future__ import annotations

import bisect
import itertools
from typing import Any, TypedDict

from checkers.common import cap, client_pairs, seconds
from checkers.linearizable.models import freeze
from harness.history import FAIL, OK, Op

__all__ = ["CounterChecker"]


class CounterResult(TypedDict):
    """The counter checker's result (``check`` returns it as a plain dict)."""

    valid: bool | str
    reads: int
    error_count: int
    errors: list[dict[str, Any]]       # reads outside [lower, upper], capped
    bad_values: list[dict[str, Any]]   # adds whose value is not an integer, capped
    acknowledged_sum: dict[str, int]   # per key
    possible_sum: dict[str, int]
    final_reads: dict[str, Any]


class CounterChecker:
    def __init__(self, add: str = "add", read: str = "read", initial: int = 0):
        self.add, self.read, self.initial = add, read, initial

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        adds: dict[Any, list[tuple[int, int | None, int, bool]]] = {}
        reads: dict[Any, list[Any]] = {}
        bad_values: list[dict[str, Any]] = []
        for p in client_pairs(ops):
            key = freeze(p.invoke.key)
            if p.invoke.f == self.add and p.type != FAIL:
                delta = p.invoke.value if p.invoke.value is not None else 1
                if not _is_int(delta):
                    bad_values.append({"key": key, "f": self.add, "value": delta,
                                       "invoked_at": seconds(p.start)})
                    continue
                ok = p.type == OK
                adds.setdefault(key, []).append((p.start, p.end if ok else None, delta, ok))
            elif p.invoke.f == self.read and p.type == OK:
                reads.setdefault(key, []).append(p)
        errors: list[dict[str, Any]] = []
        n_reads = 0
        acked: dict[Any, int] = {}
        possible: dict[Any, int] = {}
        final: dict[Any, Any] = {}
        for key in sorted(set(adds) | set(reads), key=repr):
            ks = adds.get(key, [])
            acked[key] = self.initial + sum(d for _, _, d, ok in ks if ok)
            possible[key] = self.initial + sum(d for _, _, d, _ in ks)
            bounds = _Bounds(ks, self.initial)
            rs = sorted(reads.get(key, []), key=lambda p: p.end)
            for p in rs:
                n_reads += 1
                v = p.complete.value if p.complete is not None else None
                v = 0 if v is None else v
                if not _is_int(v):
                    bad_values.append({"key": key, "f": self.read, "value": v,
                                       "invoked_at": seconds(p.start)})
                    continue
                lo, hi = bounds.at(p.start, p.end)
                if not lo <= v <= hi:
                    errors.append({"key": key, "value": v, "lower": lo, "upper": hi,
                                   "process": p.invoke.process,
                                   "invoked_at": seconds(p.start),
                                   "completed_at": seconds(p.end)})
            if rs:
                last = rs[-1].complete.value if rs[-1].complete else None
                final[key] = 0 if last is None else last
        valid: bool | str = not errors and not bad_values
        if valid and n_reads == 0:
            valid = "unknown"  # nothing was observed
        return dict(CounterResult(valid=valid, reads=n_reads, error_count=len(errors),
                                  errors=cap(errors), bad_values=cap(bad_values),
                                  acknowledged_sum=_named(acked),
                                  possible_sum=_named(possible), final_reads=_named(final)))


class _Bounds:
    """Prefix sums over one key's adds, for [lower, upper] at a read in O(log n).

    lower(start) = initial + sum of positive deltas of ok adds completed before ``start``
                   + sum of negative deltas of adds invoked before ``end``
    upper(end)   = initial + sum of positive deltas of adds invoked before ``end``
                   + sum of negative deltas of ok adds completed before ``start``
    """

    def __init__(self, adds: list[tuple[int, int | None, int, bool]], initial: int):
        done = sorted((end, d) for _, end, d, ok in adds if ok and end is not None)
        self.done_t = [t for t, _ in done]
        self.done_pos = [0, *itertools.accumulate(max(d, 0) for _, d in done)]
        self.done_neg = [0, *itertools.accumulate(min(d, 0) for _, d in done)]
        began = sorted((start, d) for start, _, d, _ in adds)
        self.began_t = [t for t, _ in began]
        self.began_pos = [0, *itertools.accumulate(max(d, 0) for _, d in began)]
        self.began_neg = [0, *itertools.accumulate(min(d, 0) for _, d in began)]
        self.initial = initial

    def at(self, start: int, end: int | None) -> tuple[int, int]:
        i = bisect.bisect_left(self.done_t, start)
        j = (len(self.began_t) if end is None
             else bisect.bisect_left(self.began_t, end))
        lo = self.initial + self.done_pos[i] + self.began_neg[j]
        hi = self.initial + self.began_pos[j] + self.done_neg[i]
        return lo, hi


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _named(d: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in d.items()}
