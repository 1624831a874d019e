"""Fault windows read from a history's nemesis ops: when each fault was (at most) active.

    {"f": "partition", "start_ns": 5000000000, "end_ns": 9100000000, "applied": True, ...}
"""
from __future__ import annotations

from typing import Any

from harness.history import INVOKE, NEMESIS, Op


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
