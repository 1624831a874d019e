"""Failures by cause: the report's answer to "why is the throughput plot red here?".

    causes_by_f(digest.calls)   -> [{"f": "write", "kind": "not-leader", "fail": 12,
                                     "info": 0, "sample": "not-leader: leader is n3 (term 7)",
                                     "first_ns": ..., "last_ns": ...}, ...]
    causes_over_time(calls, windows, duration_ns) -> {"width_s": 5, "buckets": [...], ...}

Every fail and info completion is grouped by its error's *kind*: the error with its variable
parts taken out (``error_kind``), so "not-leader: leader is n3 (term 7)" and "not-leader:
leader is n1 (term 9)" are one row, and the first message of each kind is kept as its
sample. A fail is the system refusing for sure (not-leader, a cas whose expected value did
not match: an ordinary outcome); an info is indeterminate (a timeout, a lost connection).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from harness.report.digest import Call
from harness.report.timeline import compact

NO_ERROR = "(no error given)"
MAX_KIND_CHARS = 60
MAX_TIME_ROWS = 8      # kinds in the over-time table; the rest are summed as "other"
MAX_BUCKETS = 20

# The variable parts of an error message, most specific first: addresses, hex ids, quoted
# text, then any number (terms, indices, node numbers, durations).
_VARIABLE = (
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "ADDR"),
    (re.compile(r"\[[0-9a-fA-F:]+\](?::\d+)?"), "ADDR"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "N"),
    (re.compile(r"\"[^\"]*\"|'[^']*'"), "…"),
    (re.compile(r"-?\d+(?:\.\d+)?"), "N"),
)


def error_kind(error: Any) -> str:
    """The kind of an op's error: its first word-ish part with the variable parts taken out.

    >>> error_kind("not-leader: leader is n3 (term 7)")
    'not-leader'
    >>> error_kind("timed out after 1000 ms")
    'timed out after N ms'
    >>> error_kind([":cas-mismatch", {"expected": 1}])   # Jepsen's [kind details...]
    'cas-mismatch'
    >>> error_kind({"type": "connection-refused", "addr": "10.0.0.3:7000"})
    'connection-refused'
    """
    if error is None or error == "" or error is False:
        return NO_ERROR
    if isinstance(error, (list, tuple)):
        return error_kind(error[0]) if error else NO_ERROR
    if isinstance(error, dict):
        for k in ("type", "kind", "error", "name"):
            if isinstance(error.get(k), str) and error[k]:
                return error_kind(error[k])
        return "(error map)"
    if not isinstance(error, str):
        return f"({type(error).__name__})"
    s = " ".join(error.split()).lstrip(":")
    for rx, repl in _VARIABLE[:2]:  # addresses first: their ':port' is not the kind's end
        s = rx.sub(repl, s)
    head, sep, _ = s.partition(":")
    if sep and head.strip() and len(head) <= MAX_KIND_CHARS and not head.strip().isdigit():
        s = head.strip()
    for rx, repl in _VARIABLE[2:]:
        s = rx.sub(repl, s)
    s = s.strip() or NO_ERROR
    return s if len(s) <= MAX_KIND_CHARS else s[: MAX_KIND_CHARS - 1] + "…"


def _sample(error: Any) -> str:
    return error if isinstance(error, str) and len(error) <= 200 else compact(error, 200)


def causes_by_f(calls: Iterable[Call]) -> list[dict[str, Any]]:
    """One row per (f, error kind) over the fail and info completions, most frequent first
    within each f (fs in name order)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for c in calls:
        if c.type not in ("fail", "info") or c.end is None:
            continue
        kind = error_kind(c.error)
        r = rows.get((c.f, kind))
        if r is None:
            r = rows[(c.f, kind)] = {"f": c.f, "kind": kind, "fail": 0, "info": 0,
                                     "sample": _sample(c.error) if c.error is not None
                                     else "", "first_ns": c.end, "last_ns": c.end}
        r[c.type] += 1
        r["first_ns"] = min(r["first_ns"], c.end)
        r["last_ns"] = max(r["last_ns"], c.end)
    return sorted(rows.values(), key=lambda r: (r["f"], -(r["fail"] + r["info"]), r["kind"]))


def bucket_width(duration_s: float) -> float:
    """Seconds per column: 1 s if the test fits in MAX_BUCKETS of them, else 2, 5, 10 ..."""
    return next((m * 10**e for e in range(0, 6) for m in (1, 2, 5)
                 if duration_s / (m * 10**e) <= MAX_BUCKETS), 10**6)


def causes_over_time(calls: Iterable[Call], windows: list[dict[str, Any]],
                     duration_ns: float) -> dict[str, Any] | None:
    """Fail and info completions per error kind per time bucket (by completion time), with
    the fault kinds in force during each bucket: {"width_s", "starts" (bucket start s),
    "faults" (per bucket, the kinds active), "rows": [{"kind", "counts", "total"}]}; None if
    nothing failed."""
    done = [c for c in calls if c.type in ("fail", "info") and c.end is not None]
    if not done:
        return None
    end_ns = max(duration_ns, max(c.end or 0 for c in done))
    width = bucket_width(end_ns / 1e9)
    n = int(end_ns / 1e9 / width) + 1
    by_kind: dict[str, list[int]] = {}
    for c in done:
        counts = by_kind.setdefault(error_kind(c.error), [0] * n)
        counts[min(n - 1, int((c.end or 0) / 1e9 / width))] += 1
    ranked = sorted(by_kind.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    rows = [{"kind": k, "counts": v, "total": sum(v)} for k, v in ranked[:MAX_TIME_ROWS]]
    if len(ranked) > MAX_TIME_ROWS:
        other = [sum(v[i] for _, v in ranked[MAX_TIME_ROWS:]) for i in range(n)]
        rows.append({"kind": f"{len(ranked) - MAX_TIME_ROWS} other kinds", "counts": other,
                     "total": sum(other)})
    faults: list[list[str]] = [[] for _ in range(n)]
    for w in windows:
        s, e = w.get("start_ns"), w.get("end_ns")
        if not isinstance(s, (int, float)) or not w.get("applied", True):
            continue
        e = e if isinstance(e, (int, float)) else end_ns
        for i in range(max(0, int(s / 1e9 / width)), min(n, int(e / 1e9 / width) + 1)):
            kind = str(w.get("f"))
            if kind not in faults[i]:
                faults[i].append(kind)
    return {"width_s": width, "starts": [i * width for i in range(n)], "faults": faults,
            "rows": rows}
