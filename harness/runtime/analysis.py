"""After the run: op statistics (the stats checker every run adds) and op counts.

Checker composition and the one verdict merge are harness.verdicts; fault windows are
harness.faults.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op


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


