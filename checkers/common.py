"""What the history checkers beside linearizability share: times, fault windows, capped
lists, latency summaries. (Pairing ops is harness.history.pairs.)

A checker is any object with ``check(test, ops) -> {"valid": True | False | "unknown", ...}``
(harness.api.Checker); ``Compose`` runs several as one (harness.verdicts.compose_checks:
a checker that raises is "unknown", verdicts merge false > unknown > true).
"""
from __future__ import annotations

from typing import Any

from harness.api import Checker
from harness.errors import HistoryFormatError
from harness.faults import fault_windows
from harness.history import FAIL, INFO, NEMESIS, OK, Op, Pair, pairs
from harness.verdicts import compose_checks

__all__ = ["Compose", "active_faults", "cap", "client_pairs", "faults_of", "latency_summary",
           "seconds"]

MAX_LISTED = 50  # rows of any anomaly list in a result; the counts are always complete


def seconds(ns: int | None) -> float | None:
    """A history time (ns since the test began) in seconds, 3 decimals; None stays None."""
    return None if ns is None or ns < 0 else round(ns / 1e9, 3)


def cap(items: list[Any], limit: int = MAX_LISTED) -> list[Any]:
    return items[:limit]


def client_pairs(ops: list[Op], source: str = "history") -> list[Pair]:
    """harness.history.pairs(ops), with a process that cannot be a process (a list, a map:
    unhashable) a HistoryFormatError naming the op rather than a TypeError."""
    try:
        return pairs(ops)
    except TypeError:
        bad = next((op for op in ops if not _hashable(op.process)), None)
        if bad is None:
            raise
        raise HistoryFormatError(source, None, f"op index {bad.index}: process must be an "
                                               f"integer or a name, got "
                                               f"{type(bad.process).__name__} "
                                               f"{str(bad.process)[:40]}") from None


def _hashable(v: object) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def faults_of(test: dict[str, Any], ops: list[Op]) -> list[dict[str, Any]]:
    """Fault windows: ``test["faults"]`` if the caller gave them (a list of {"f",
    "start_ns", "end_ns"}, as results.json has), else read from the nemesis ops in the
    history (start-X ... stop-X pairs, as the report does)."""
    given = test.get("faults") if isinstance(test, dict) else None
    if isinstance(given, list):
        return [w for w in given if isinstance(w, dict) and "start_ns" in w]
    starts = {op.f for op in ops if op.process == NEMESIS and op.f.startswith("start-")}
    if not starts:
        return []
    return fault_windows(ops, {f: "stop-" + f.removeprefix("start-") for f in starts})


def active_faults(windows: list[dict[str, Any]], start: int, end: int | None
                  ) -> list[str]:
    """Kinds of the faults whose window meets [start, end] (end None: open-ended)."""
    out: list[str] = []
    for w in windows:
        ws, we = w.get("start_ns"), w.get("end_ns")
        if not isinstance(ws, int):
            continue
        if (end is None or ws <= end) and (we is None or we >= start):
            kind = str(w.get("f"))
            if kind not in out:
                out.append(kind)
    return out


def latency_summary(ns: list[int]) -> dict[str, float] | None:
    """Quantiles of durations in ns, as milliseconds: {"p50", "p95", "p99", "max"}."""
    if not ns:
        return None
    s = sorted(ns)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))] / 1e6, 3)
    return {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": round(s[-1] / 1e6, 3)}


class Compose:
    """Several checkers as one: ``Compose({"counter": CounterChecker(), ...})``. The result
    is harness.verdicts.compose_checks's: {"valid": merged, "checkers": {name: result}}."""

    def __init__(self, checkers: dict[str, Checker]):
        self.checkers = dict(checkers)

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        return compose_checks(self.checkers, test, ops)


OUTCOMES = (OK, FAIL, INFO)
