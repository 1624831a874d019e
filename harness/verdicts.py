"""Verdicts: ``True`` (valid), ``False`` (an anomaly), ``"unknown"``; how they merge and how
checkers run safely.

Verdicts merge false > unknown > true, and no verdict at all is "unknown": there is nothing
to be sure of. A checker that raises yields "unknown" with the error, never a crash of the
analysis (Jepsen's check-safe).
"""
from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from harness.api import Checker
from harness.history import Op

log = logging.getLogger("splitbrain.verdicts")
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


