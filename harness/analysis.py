"""After the run: checkers composed safely, op statistics, and fault windows from the history.

Verdicts merge false > unknown > true. A checker that raises yields "unknown" with the error,
never a crash of the analysis (Jepsen's check-safe).
"""
from __future__ import annotations

import logging
import time
import traceback
from collections import Counter, defaultdict
from typing import Any

from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op
from harness.plugins import Checker

log = logging.getLogger("splitbrain.analysis")
Valid = bool | str


def merge_valid(values: list[Any]) -> Valid:
    """false > unknown > true; no verdicts at all is unknown."""
    vs = list(values)
    if any(v is False for v in vs):
        return False
    if not vs or any(v is not True for v in vs):
        return "unknown"
    return True


def check_safe(name: str, checker: Checker, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    t = time.monotonic()
    try:
        res = checker.check(test, ops)
        if not isinstance(res, dict) or "valid" not in res:
            res = {"valid": "unknown", "error": f"checker {name} returned {type(res).__name__} "
                                                "without a 'valid' field"}
    except Exception as e:
        log.error("checker %s crashed: %s", name, traceback.format_exc())
        res = {"valid": "unknown", "error": f"checker {name} crashed: {type(e).__name__}: {e}"}
    res.setdefault("seconds", time.monotonic() - t)
    return res


def compose_checks(checkers: dict[str, Checker], test: dict[str, Any],
                   ops: list[Op]) -> dict[str, Any]:
    results = {name: check_safe(name, c, test, ops) for name, c in checkers.items()}
    return {"valid": merge_valid([r["valid"] for r in results.values()]), "checkers": results}


class StatsChecker:
    """Ops by f and completion type. Valid unless a client f never succeeded, which usually
    means the test measured nothing (warned, and the verdict is unknown, not true)."""

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        by_f: dict[str, Counter] = defaultdict(Counter)
        for op in ops:
            if op.process != NEMESIS and op.type != INVOKE:
                by_f[op.f][op.type] += 1
        warnings = [f"{f} never succeeded ({dict(c)})" for f, c in sorted(by_f.items())
                    if c[OK] == 0]
        if not by_f:
            warnings.append("no client op completed")
        return {"valid": "unknown" if warnings else True,
                "by_f": {f: {t: c[t] for t in (OK, FAIL, INFO)} for f, c in by_f.items()},
                "warnings": warnings}


def counts(ops: list[Op]) -> dict[str, int]:
    c = Counter(op.type for op in ops if op.process != NEMESIS)
    return {t: c[t] for t in (INVOKE, OK, FAIL, INFO)}


def infer_faults(ops: list[Op]) -> dict[str, str]:
    """start-X -> stop-X for every start-X the nemesis ran: the convention every built-in
    package follows, for re-analysing a stored run without its packages."""
    return {op.f: "stop-" + op.f.removeprefix("start-") for op in ops
            if op.process == NEMESIS and op.f.startswith("start-")}


def fault_windows(ops: list[Op], faults: dict[str, str], end_ns: int | None = None
                  ) -> list[dict[str, Any]]:
    """Fault windows from the nemesis ops: from the invocation of a start op to the
    completion of the matching stop op (an upper bound on when the fault could act). A fault
    never stopped runs to ``end_ns`` (or the last op)."""
    stop_to_start = {v: k for k, v in faults.items()}
    open_: dict[str, dict[str, Any]] = {}
    invoked: dict[str, int] = {}
    windows: list[dict[str, Any]] = []
    last = ops[-1].time if ops else 0
    for op in ops:
        if op.process != NEMESIS:
            continue
        if op.type == INVOKE:
            invoked[op.f] = op.time
            continue
        if op.f in faults:
            kind = op.f.removeprefix("start-")
            failed = bool(op.error)
            w = {"f": kind, "start_ns": invoked.get(op.f, op.time), "end_ns": None,
                 "value": op.value, "applied": not failed, "error": op.error,
                 "description": (op.value or {}).get("description")
                 if isinstance(op.value, dict) else None}
            if kind in open_:  # a second start before a stop: close the first one here
                open_[kind]["end_ns"] = op.time
            open_[kind] = w
            windows.append(w)
        elif op.f in stop_to_start:
            kind = stop_to_start[op.f].removeprefix("start-")
            w2 = open_.pop(kind, None)
            if w2 is not None:
                w2["end_ns"] = op.time
    for w in open_.values():
        w["end_ns"] = end_ns if end_ns is not None else last
    return windows


def coverage(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per fault kind: times applied, total seconds active, failures."""
    out: dict[str, Any] = {}
    for w in windows:
        c = out.setdefault(w["f"], {"applied": 0, "failed": 0, "active_seconds": 0.0,
                                    "errors": []})
        if w["applied"]:
            c["applied"] += 1
            c["active_seconds"] += max(0, (w["end_ns"] or 0) - w["start_ns"]) / 1e9
        else:
            c["failed"] += 1
            c["errors"].append(w["error"])
    for c in out.values():
        c["active_seconds"] = round(c["active_seconds"], 3)
    return out
