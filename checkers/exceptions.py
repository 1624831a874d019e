"""Unhandled exceptions: ops whose error looks like a Python exception, grouped and counted.

A client that lets an exception escape gets its op recorded as info with the error
``"ConnectionResetError: [Errno 104] ..."`` (harness.runner). Those are worth a look: the
client did not know what happened, and often should have. This checker is informational,
like Jepsen's unhandled-exceptions: it is always valid and lists the classes, most frequent
first, with one example op each.

    UnhandledExceptionsChecker().check(test, ops)
    -> {"valid": True, "count": 14,
        "exceptions": [{"class": "ConnectionResetError", "count": 12, "fs": {"write": 9,
                        "read": 3}, "example": {"error": "ConnectionResetError: ...",
                        "process": 4, "f": "write", "at": 3.25}}, ...]}
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, TypedDict

from harness.history import INVOKE, NEMESIS, Op

__all__ = ["UnhandledExceptionsChecker", "exception_class"]

# "TimeoutError: ...", "json.decoder.JSONDecodeError: ...", "KeyError('x')", "StopIteration"
_CLASS = re.compile(r"^\s*((?:[A-Za-z_]\w*\.)*(?=[A-Z])\w*?(?:Error|Exception|Exit|Interrupt|"
                    r"Warning|Iteration|Failure|Timeout))(?=$|[:(\s])")


def exception_class(error: Any) -> str | None:
    """The exception class an error string names, or None: ``"KeyError: 3"`` -> KeyError."""
    if not isinstance(error, str):
        return None
    m = _CLASS.match(error)
    return m.group(1) if m else None


class ExceptionsResult(TypedDict):
    """The unhandled-exceptions checker's result (``check`` returns it as a plain dict):
    always valid; one row per exception class: {"class", "count", "fs", "example"}."""

    valid: bool
    count: int
    exceptions: list[dict[str, Any]]


class UnhandledExceptionsChecker:
    def __init__(self, include_nemesis: bool = False):
        self.include_nemesis = include_nemesis

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        fs: dict[str, Counter[str]] = {}
        example: dict[str, dict[str, Any]] = {}
        for op in ops:
            if op.type == INVOKE or (op.process == NEMESIS and not self.include_nemesis):
                continue
            cls = exception_class(op.error)
            if cls is None:
                continue
            counts[cls] += 1
            fs.setdefault(cls, Counter())[op.f] += 1
            if cls not in example:
                example[cls] = {"error": op.error, "process": op.process, "f": op.f,
                                "type": op.type,
                                "at": round(op.time / 1e9, 3) if op.time >= 0 else None}
        rows = [{"class": c, "count": n, "fs": dict(fs[c]), "example": example[c]}
                for c, n in counts.most_common()]
        return dict(ExceptionsResult(valid=True, count=sum(counts.values()), exceptions=rows))
