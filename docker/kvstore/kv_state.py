"""The key-value state machine. Stdlib only: this runs on the nodes.

``KVState.apply`` is pure (no I/O): a request in, a response value and the one mutation to
persist out. Every mode (primary, raft) shares it, so they all mean the same thing by "cas".

    >>> s = KVState()
    >>> s.apply({"op": "write", "key": 3, "value": 7})
    (None, ('3', 7))
    >>> s.apply({"op": "cas", "key": "3", "expected": 7, "new": 8})
    (None, ('3', 8))
    >>> s.apply({"op": "read", "key": 3})
    (8, None)

What a mode writes to disk (its write log, raft's log and metadata) is in kv_persist.
"""
from __future__ import annotations

import json
from typing import Any

OPS = ("read", "write", "cas", "incr", "append", "add")
MUTATING = frozenset({"write", "cas", "incr", "append", "add"})

Mutation = tuple[str, Any]  # (normalised key, new value)


class OpError(Exception):
    """An op refused by the state machine. Always definite: nothing was changed."""

    def __init__(self, code: str, msg: str):
        super().__init__(msg)
        self.code, self.msg = code, msg


def norm_key(key: Any) -> str:
    """Keys are JSON scalars; 3 and "3" name the same key (as in most KV stores)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise OpError("bad-request", f"key must be a JSON scalar, not {type(key).__name__}")


def validate(req: Any) -> dict[str, Any]:
    """Check a client request's shape; raise OpError("bad-request") naming what is wrong."""
    if not isinstance(req, dict):
        raise OpError("bad-request", "request must be a JSON object")
    op = req.get("op")
    if op not in OPS:
        raise OpError("bad-request", f"unknown op {op!r}; ops: {', '.join(OPS)}")
    if "key" not in req:
        raise OpError("bad-request", f"{op} needs a key")
    norm_key(req["key"])
    if op == "cas" and ("expected" not in req or "new" not in req):
        raise OpError("bad-request", "cas needs expected and new")
    if op in ("write", "append", "add") and "value" not in req:
        raise OpError("bad-request", f"{op} needs a value")
    return req


class KVState:
    """An in-memory dict of normalised key -> JSON value."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def apply(self, req: dict[str, Any]) -> tuple[Any, Mutation | None]:
        """Run one validated request. Returns (value for the response, mutation or None).

        read -> the value (None if absent); write -> None; cas -> None, or OpError
        "cas-mismatch" (an absent key compares equal to null); incr -> the new integer
        (``value`` is the delta, default 1); append -> None (the key holds a list, in order);
        add -> None (the key holds a list used as a set: no duplicates, insertion order).
        """
        op, key = req["op"], norm_key(req["key"])
        cur = self.data.get(key)
        if op == "read":
            return cur, None
        if op == "write":
            new = req["value"]
        elif op == "cas":
            if cur != req["expected"]:
                raise OpError("cas-mismatch", f"expected {req['expected']!r}, found {cur!r}")
            new = req["new"]
        elif op == "incr":
            delta = req.get("value", 1)
            if not _is_int(delta) or not (cur is None or _is_int(cur)):
                raise OpError("type-error", f"incr needs integers, got {cur!r} + {delta!r}")
            new = (cur or 0) + delta
        elif op in ("append", "add"):
            if not (cur is None or isinstance(cur, list)):
                raise OpError("type-error", f"{op} needs a list at key {key!r}, found {cur!r}")
            items = list(cur or [])
            if op == "append" or req["value"] not in items:
                items.append(req["value"])
            new = items
        else:  # validate() keeps us from here
            raise OpError("bad-request", f"unknown op {op!r}")
        self.data[key] = new
        return (new if op == "incr" else None), (key, new)

    def set(self, key: str, value: Any) -> None:
        """Replay one persisted mutation."""
        self.data[key] = value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
