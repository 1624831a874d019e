"""Jepsen's ``independent`` histories: client values are ``[key value]`` tuples.

    split_tuples("h.log", [Op("ok", "cas", 3, value=[7, [3, 0]])])
    -> [Op("ok", "cas", 3, key=7, value=[3, 0])]

A completion that does not carry a tuple (``:info ... :timed-out``) keeps key None (the
checker takes the key from the invocation); an invocation or ok op without one is a
HistoryFormatError. Shared by every reader of checkers.formats.
"""
from __future__ import annotations

from typing import Any

from harness.errors import HistoryFormatError
from harness.history import NEMESIS, Op

__all__ = ["short", "split_tuple", "split_tuples"]


def split_tuples(path: str, ops: list[Op]) -> list[Op]:
    """``ops`` with every client value split into key and value (new Ops: Op is frozen)."""
    return [split_tuple(path, op) for op in ops]


def split_tuple(path: str, op: Op) -> Op:
    v = op.value
    if op.process == NEMESIS:
        return op
    if isinstance(v, (list, tuple)) and len(v) == 2:
        k = v[0]
        return op.with_(key=tuple(k) if isinstance(k, list) else k, value=v[1])
    if op.type in ("invoke", "ok"):
        line = (op.extra or {}).get("line")
        where = "" if line else f" (op index {op.index})"
        raise HistoryFormatError(path, line, f"independent history, but the value of this "
                                             f"{op.type} {op.f}{where} is {short(v)}, "
                                             f"not a [key value] tuple")
    return op


def short(v: Any) -> str:
    """``repr(v)``, cut to 60 characters."""
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."
