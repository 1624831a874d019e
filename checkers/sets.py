"""Sets: adds must show up in reads, and stay (Jepsen's set and set-full checkers).

    {"f": "add",  "key": 1, "value": 42}        ok: acknowledged; info: maybe
    {"f": "read", "key": 1, "value": null}  ->  ok with [3, 42, 7]

``SetChecker`` looks at the final read of each key only (the ok read invoked last): an add
acknowledged before that read began and missing from it is lost, one acknowledged after it
began is *unread* (the verdict is then "unknown" if the read does not show it: set-full's
*never-read*, the same adds), an element nobody added is unexpected (it is the lost-update
checker with ``add``/``read``).

``SetFullChecker`` looks at every read. An element is *known* from the moment its add was
acknowledged (or, for an indeterminate add, from the end of the first read that saw it);
only reads invoked after that moment must contain it. Then, per element:

    stable      present in the last read, and in every read since some point (its
                *stable latency*: from known until the first read of that final run)
    lost        absent from the last read though known before it began (its *lost
                latency*: from known until the first read of the final absent run)
    stale       a stable element that some read invoked after it was known did not show
    never-read  no read began after it was known

Valid iff nothing is lost, no read holds an element nobody added, and no read holds one
twice; with ``linearizable=True`` stale reads are errors too. No reads at all: "unknown".

    SetFullChecker().check(test, ops)
    -> {"valid": False, "attempt_count": 500, "acknowledged_count": 480,
        "stable_count": 477, "lost_count": 1, "stale_count": 6, "never_read_count": 2,
        "lost": [{"key": 1, "value": 42, "known_at": 3.2, "lost_at": 9.0,
                  "last_seen_at": 8.5}], "stale": [...], "never_read": [...],
        "unexpected": [], "duplicated": [],
        "stable_latencies": {"p50": 0.0, "p95": 12.5, "p99": 40.1, "max": 52.0},
        "lost_latencies": {...}}                     # latencies in milliseconds
"""
from __future__ import annotations

import bisect
from collections import Counter
from typing import Any, TypedDict

from checkers.common import cap, client_pairs, latency_summary, seconds
from checkers.linearizable.models import freeze
from checkers.lost_update import LostUpdateChecker
from checkers.values import thaw
from harness.history import INFO, OK, Op

__all__ = ["SetChecker", "SetFullChecker"]


class SetChecker:
    """The final read of each key holds every acknowledged add, and nothing never added."""

    def __init__(self, add: str = "add", read: str = "read"):
        self._inner = LostUpdateChecker(updates=(add,), read=read)

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        return self._inner.check(test, ops)


class SetFullResult(TypedDict):
    """The set-full checker's result (``check`` returns it as a plain dict): counts in
    full, each anomaly list (rows of op data) capped."""

    valid: bool | str
    attempt_count: int
    acknowledged_count: int
    read_count: int
    stable_count: int
    lost_count: int
    stale_count: int
    never_read_count: int
    unexpected_count: int
    duplicated_count: int
    lost: list[dict[str, Any]]
    stale: list[dict[str, Any]]
    never_read: list[dict[str, Any]]
    unexpected: list[dict[str, Any]]
    duplicated: list[dict[str, Any]]
    stable_latencies: dict[str, float] | None
    lost_latencies: dict[str, float] | None


class SetFullChecker:
    def __init__(self, add: str = "add", read: str = "read", linearizable: bool = False):
        self.add, self.read, self.linearizable = add, read, linearizable

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        adds: dict[Any, list[Any]] = {}
        reads: dict[Any, list[Any]] = {}
        for p in client_pairs(ops):
            key = freeze(p.invoke.key)
            if p.invoke.f == self.add:
                adds.setdefault(key, []).append(p)
            elif p.invoke.f == self.read and p.type == OK and p.complete is not None:
                reads.setdefault(key, []).append(p)
        out = _Tally()
        for key in sorted(set(adds) | set(reads), key=repr):
            _check_key(key, adds.get(key, []), reads.get(key, []), out)
        valid: bool | str = not (out.lost or out.unexpected or out.duplicated
                                 or (self.linearizable and out.stale))
        if valid and out.n_reads == 0:
            valid = "unknown"
        return dict(SetFullResult(
            valid=valid, attempt_count=out.attempts, acknowledged_count=out.acked,
            read_count=out.n_reads, stable_count=out.stable, lost_count=len(out.lost),
            stale_count=len(out.stale), never_read_count=len(out.never_read),
            unexpected_count=len(out.unexpected), duplicated_count=len(out.duplicated),
            lost=cap(out.lost), stale=cap(out.stale), never_read=cap(out.never_read),
            unexpected=cap(out.unexpected), duplicated=cap(out.duplicated),
            stable_latencies=latency_summary(out.stable_lat),
            lost_latencies=latency_summary(out.lost_lat)))


class _Tally:
    def __init__(self) -> None:
        self.attempts = self.acked = self.stable = self.n_reads = 0
        self.lost: list[dict[str, Any]] = []
        self.stale: list[dict[str, Any]] = []
        self.never_read: list[dict[str, Any]] = []
        self.unexpected: list[dict[str, Any]] = []
        self.duplicated: list[dict[str, Any]] = []
        self.stable_lat: list[int] = []
        self.lost_lat: list[int] = []


def _check_key(key: Any, adds: list[Any], reads: list[Any], out: _Tally) -> None:
    reads.sort(key=lambda p: p.start)
    starts = [p.start for p in reads]
    n = len(reads)
    out.n_reads += n
    seen_at: dict[Any, list[int]] = {}  # element -> indices of the reads holding it
    attempted = {freeze(p.invoke.value) for p in adds}
    for i, p in enumerate(reads):
        value = p.complete.value
        items = [freeze(x) for x in value] if isinstance(value, (list, tuple, set,
                                                                  frozenset)) else []
        counts = Counter(items)
        for x, c in counts.items():
            seen_at.setdefault(x, []).append(i)
            if c > 1:
                out.duplicated.append({"key": thaw(key), "value": thaw(x), "times": c,
                                       "read_at": seconds(p.end)})
            if x not in attempted:
                out.unexpected.append({"key": thaw(key), "value": thaw(x),
                                       "read_at": seconds(p.end)})
    for p in adds:
        if p.type not in (OK, INFO):
            continue  # failed: never happened
        out.attempts += 1
        x = freeze(p.invoke.value)
        idx = seen_at.get(x, [])
        if p.type == OK:
            out.acked += 1
            known = p.end
        elif idx:
            known = min(reads[i].end for i in idx)
        else:
            continue  # indeterminate and never seen: nothing to say
        k = bisect.bisect_right(starts, known)  # reads invoked after it was known
        row = {"key": thaw(key), "value": p.invoke.value, "known_at": seconds(known)}
        if k >= n:
            out.never_read.append(row)
            continue
        present = set(idx)
        last = n - 1
        if last in present:
            s = last
            while s - 1 >= k and s - 1 in present:
                s -= 1
            out.stable += 1
            out.stable_lat.append(max(0, reads[s].start - known))
            stale = [i for i in range(k, s) if i not in present]
            if stale:
                out.stale.append(row | {"stale_reads": len(stale),
                                        "first_stale_at": seconds(reads[stale[0]].start)})
        else:
            a = last
            while a - 1 >= k and a - 1 not in present:
                a -= 1
            out.lost_lat.append(max(0, reads[a].start - known))
            seen = [i for i in idx if i < a]
            out.lost.append(row | {"lost_at": seconds(reads[a].start),
                                   "last_seen_at": seconds(reads[seen[-1]].end)
                                   if seen else None})
