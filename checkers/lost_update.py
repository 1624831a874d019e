"""Lost updates: every acknowledged update must be in the final state.

Ops (per ``key``): updates put one element into a collection, reads return the collection.

    {"f": "add",    "key": 2, "value": 17}        (or "append")   ok: acknowledged
    {"f": "read",   "key": 2, "value": null}  ->  ok with [3, 17, 5]

The final state of a key is its last ok read (the one invoked last; the workload's final
generator reads every key after the faults are healed). An update can only be lost with
respect to a read invoked after the update was acknowledged: one acknowledged (ok) before the
final read began but absent from it was *lost*. One acknowledged after the final read began
(or on a key with no ok read at all) is *unread*: no read had to show it, so nothing is
known of it (set-full calls the same adds *never-read*). An element in the final read that
no update tried to add is *unexpected* (corruption); an indeterminate (info) update may be
there or not. An element a list holds twice (an append applied twice)
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
        "unread_count": 17, "unread": [{"key": 3, "value": 40, "acknowledged_at": 58.2,
                                         "final_read_invoked_at": 57.9, "seen": False}],
        "keys_without_final_read": [], "why": "17 acknowledged updates ...", ...}

Valid: nothing lost, unexpected or duplicated. Then, if some unread update is absent from
its key's final read (or its key was never read), the verdict is "unknown", and ``why``
says so: its fate is not known, which is not the same as lost. An unread update that the
final read shows anyway (it overlapped the read) is listed with ``seen: True`` and leaves
the verdict alone.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

from checkers.common import active_faults, cap, client_pairs, faults_of, seconds
from checkers.linearizable.models import freeze
from checkers.values import thaw
from harness.history import INFO, OK, Op

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
    unread_count: int                  # acknowledged after the final read began (or no read)
    unread: list[dict[str, Any]]       # capped
    why: str | None                    # why the verdict is "unknown"
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
        for p in client_pairs(ops):
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
                prev = final.get(key)  # the final read: the ok read invoked last
                if prev is None or (p.start, p.end) >= (prev.start, prev.end):
                    final[key] = p
        lost: list[dict[str, Any]] = []
        unexpected: list[dict[str, Any]] = []
        duplicated: list[dict[str, Any]] = []
        unread: list[dict[str, Any]] = []
        unknown = 0  # unread updates the final read does not show: their fate is unknown
        recovered = 0
        no_read: list[Any] = []
        for key in sorted(set(acked) | set(final), key=repr):
            read = final.get(key)
            if read is None:
                no_read.append(key)
                for p in acked.get(key, []):
                    unread.append(_unread(key, p, None, False))
                    unknown += 1
                continue
            value = read.complete.value if read.complete else None
            seen = _elements(value)
            if isinstance(value, list) and len(value) > len(seen):  # appended twice
                counts = Counter(freeze(x) for x in value)
                duplicated += [{"key": key, "value": thaw(v), "times": c}
                               for v, c in counts.items() if c > 1]
            read_at = read.start
            for p in acked.get(key, []):
                there = freeze(p.invoke.value) in seen
                if p.end is None or p.end >= read_at:  # acknowledged after it began
                    unread.append(_unread(key, p, read_at, there))
                    unknown += not there
                elif not there:
                    lost.append(_lost(key, p, windows, read_at))
            recovered += len(maybe.get(key, set()) & seen)
            for v in sorted(seen - attempted.get(key, set()), key=repr):
                unexpected.append({"key": key, "value": thaw(v),
                                   "read_at": seconds(read.end)})
        ack_count = sum(len(v) for v in acked.values())
        valid: bool | str = not lost and not unexpected and not duplicated
        why = None
        if unknown:
            why = (f"{unknown} acknowledged update(s) absent from the final read of their key "
                   "were acknowledged after that read began, or their key has no ok read: "
                   "no read had to show them, so they are unread, not lost (did the final "
                   "reads fail?)")
            if valid:
                valid = "unknown"
        lost.sort(key=lambda r: (r["acknowledged_at"] or 0))
        unread.sort(key=lambda r: (r["acknowledged_at"] or 0))
        return dict(LostUpdateResult(
            valid=valid, attempt_count=attempts, acknowledged_count=ack_count,
            lost_count=len(lost), lost=cap(lost),
            unexpected_count=len(unexpected), unexpected=cap(unexpected),
            duplicated_count=len(duplicated), duplicated=cap(duplicated),
            recovered_count=recovered, keys_checked=len(final),
            keys_without_final_read=cap(no_read), unread_count=len(unread),
            unread=cap(unread), why=why, faults_known=bool(windows)))


def _elements(v: Any) -> set[Any]:
    if isinstance(v, (list, tuple, set, frozenset)):
        return {freeze(x) for x in v}
    return set() if v is None else {freeze(v)}


def _unread(key: Any, p: Any, read_at: int | None, seen: bool) -> dict[str, Any]:
    return {"key": thaw(key), "value": p.invoke.value, "process": p.invoke.process,
            "acknowledged_at": seconds(p.end), "final_read_invoked_at": seconds(read_at),
            "seen": seen}


def _lost(key: Any, p: Any, windows: list[dict[str, Any]], read_at: int) -> dict[str, Any]:
    ack = p.complete.time if p.complete is not None else None
    return {"key": thaw(key), "value": p.invoke.value, "process": p.invoke.process,
            "invoked_at": seconds(p.invoke.time), "acknowledged_at": seconds(ack),
            "faults_during": active_faults(windows, p.invoke.time, ack),
            "faults_before_final_read": active_faults(windows, ack if ack is not None
                                                      else p.invoke.time, read_at)}
