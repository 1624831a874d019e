"""Lost updates: every acknowledged update must be in the final state.

Ops (per ``key``): updates put one element into a collection, reads return the collection.

    {"f": "add",    "key": 2, "value": 17}        (or "append")   ok: acknowledged
    {"f": "read",   "key": 2, "value": null}  ->  ok with [3, 17, 5]

The final state of a key is its last ok read (the workload's final generator reads every key
after the faults are healed). An update acknowledged (ok) but absent from it was *lost*; an
element in it that no update tried to add is *unexpected* (corruption); an indeterminate
(info) update may be there or not. An element a list holds twice (an append applied twice)
is *duplicated*: updates write distinct elements, so that is an error too. For each lost
update the result says when it was acknowledged (seconds since the test began) and which
faults were active while it ran and between its acknowledgement and the final read: from
``test["faults"]`` when the caller passes the run's fault windows ({"f", "start_ns",
"end_ns"}), else from the nemesis ops in the history.

    LostUpdateChecker().check(test, ops)
    -> {"valid": False, "acknowledged_count": 812, "lost_count": 2,
        "lost": [{"key": 2, "value": 17, "process": 4, "acknowledged_at": 12.031,
                  "invoked_at": 12.002, "faults_during": ["partition"],
                  "faults_before_final_read": ["partition", "kill"]}, ...],
        "unexpected_count": 0, "unexpected": [], "recovered_count": 3,
        "keys_without_final_read": [], ...}

A key with acknowledged updates and no ok read at all cannot be judged: the verdict is then
"unknown" (unless something else is already lost).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

from checkers.common import active_faults, cap, faults_of, seconds
from checkers.linearizable.models import freeze
from harness.history import INFO, OK, Op, pairs

__all__ = ["LostUpdateChecker"]


class LostUpdateResult(TypedDict):
    """The lost-update (and set) checker's result (``check`` returns it as a plain dict):
    counts in full, each anomaly list (rows of op data) capped."""

    valid: bool | str
    attempt_count: int
    acknowledged_count: int
    lost_count: int
    lost: list[dict[str, Any]]
    unexpected_count: int
    unexpected: list[dict[str, Any]]
    duplicated_count: int
    duplicated: list[dict[str, Any]]
    recovered_count: int
    keys_checked: int
    keys_without_final_read: list[Any]
    faults_known: bool


class LostUpdateChecker:
    """``updates``: the fs that add an element; ``read``: the f that returns the collection."""

    def __init__(self, updates: tuple[str, ...] = ("add", "append"), read: str = "read"):
        self.updates, self.read = tuple(updates), read

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        windows = faults_of(test or {}, ops)
        acked: dict[Any, list[Any]] = {}
        maybe: dict[Any, set[Any]] = {}
        attempted: dict[Any, set[Any]] = {}
        final: dict[Any, Any] = {}
        attempts = 0
        for p in pairs(ops):
            f, key = p.invoke.f, freeze(p.invoke.key)
            if f in self.updates:
                attempts += 1
                v = freeze(p.invoke.value)
                attempted.setdefault(key, set()).add(v)
                if p.type == OK:
                    acked.setdefault(key, []).append(p)
                elif p.type == INFO:
                    maybe.setdefault(key, set()).add(v)
            elif f == self.read and p.type == OK and p.complete is not None:
                prev = final.get(key)
                if prev is None or p.complete.time >= prev.complete.time:
                    final[key] = p
        lost: list[dict[str, Any]] = []
        unexpected: list[dict[str, Any]] = []
        duplicated: list[dict[str, Any]] = []
        recovered = 0
        no_read: list[Any] = []
        for key in sorted(set(acked) | set(final), key=repr):
            read = final.get(key)
            if read is None:
                no_read.append(key)
                continue
            value = read.complete.value if read.complete else None
            seen = _elements(value)
            if isinstance(value, list) and len(value) > len(seen):  # appended twice
                counts = Counter(freeze(x) for x in value)
                duplicated += [{"key": key, "value": v, "times": c}
                               for v, c in counts.items() if c > 1]
            read_at = read.invoke.time
            for p in acked.get(key, []):
                if freeze(p.invoke.value) not in seen:
                    lost.append(_lost(key, p, windows, read_at))
            recovered += len(maybe.get(key, set()) & seen)
            for v in sorted(seen - attempted.get(key, set()), key=repr):
                unexpected.append({"key": key, "value": v,
                                   "read_at": seconds(read.complete.time
                                                      if read.complete else None)})
        ack_count = sum(len(v) for v in acked.values())
        valid: bool | str = not lost and not unexpected and not duplicated
        if valid and any(acked.get(k) for k in no_read):
            valid = "unknown"
        lost.sort(key=lambda r: (r["acknowledged_at"] or 0))
        return dict(LostUpdateResult(
            valid=valid, attempt_count=attempts, acknowledged_count=ack_count,
            lost_count=len(lost), lost=cap(lost),
            unexpected_count=len(unexpected), unexpected=cap(unexpected),
            duplicated_count=len(duplicated), duplicated=cap(duplicated),
            recovered_count=recovered, keys_checked=len(final),
            keys_without_final_read=cap(no_read), faults_known=bool(windows)))


def _elements(v: Any) -> set[Any]:
    if isinstance(v, (list, tuple, set, frozenset)):
        return {freeze(x) for x in v}
    return set() if v is None else {freeze(v)}


def _lost(key: Any, p: Any, windows: list[dict[str, Any]], read_at: int) -> dict[str, Any]:
    ack = p.complete.time if p.complete is not None else None
    return {"key": key, "value": p.invoke.value, "process": p.invoke.process,
            "invoked_at": seconds(p.invoke.time), "acknowledged_at": seconds(ack),
            "faults_during": active_faults(windows, p.invoke.time, ack),
            "faults_before_final_read": active_faults(windows, ack if ack is not None
                                                      else p.invoke.time, read_at)}
