"""Unique ids: no id is handed out twice (Jepsen's unique-ids checker).

    {"f": "generate", "value": null}  ->  ok with 1043

    UniqueIdsChecker().check(test, ops)
    -> {"valid": False, "attempted_count": 1000, "acknowledged_count": 981,
        "duplicated_count": 1, "duplicated": [{"id": 17, "times": 2, "processes": [3, 8],
                                               "at": [1.2, 1.9]}],
        "range": [1, 1002]}

Only ok ops returned an id. An id that is not an integer (or a string) is still compared by
value. No ok op at all: "unknown".
"""
from __future__ import annotations

from typing import Any, TypedDict

from checkers.common import cap, seconds
from checkers.linearizable.models import freeze
from harness.history import OK, Op, pairs

__all__ = ["UniqueIdsChecker"]


class UniqueIdsResult(TypedDict):
    """The unique-ids checker's result (``check`` returns it as a plain dict)."""

    valid: bool | str
    attempted_count: int
    acknowledged_count: int
    duplicated_count: int
    duplicated: list[dict[str, Any]]  # capped
    range: list[int] | None           # [smallest, largest] integer id


class UniqueIdsChecker:
    def __init__(self, f: str = "generate"):
        self.f = f

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        attempts = 0
        got: dict[Any, list[Any]] = {}
        for p in pairs(ops):
            if p.invoke.f != self.f:
                continue
            attempts += 1
            if p.type == OK and p.complete is not None:
                got.setdefault(freeze(p.complete.value), []).append(p)
        dups = [{"id": v, "times": len(ps), "processes": [p.invoke.process for p in ps],
                 "at": [seconds(p.end) for p in ps]}
                for v, ps in got.items() if len(ps) > 1]
        dups.sort(key=lambda d: -d["times"])
        acked = sum(len(ps) for ps in got.values())
        ints = [v for v in got if isinstance(v, int) and not isinstance(v, bool)]
        valid: bool | str = not dups
        if valid and acked == 0:
            valid = "unknown"
        return dict(UniqueIdsResult(valid=valid, attempted_count=attempts,
                                    acknowledged_count=acked, duplicated_count=len(dups),
                                    duplicated=cap(dups),
                                    range=[min(ints), max(ints)] if ints else None))
