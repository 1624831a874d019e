"""The key-value state machine and its durable write log. Stdlib only: this runs on the nodes.

``KVState.apply`` is pure (no I/O): a request in, a response value and the one mutation to
persist out. Every mode (primary, raft) shares it, so they all mean the same thing by "cas".

    >>> s = KVState()
    >>> s.apply({"op": "write", "key": 3, "value": 7})
    (None, ('3', 7))
    >>> s.apply({"op": "cas", "key": "3", "expected": 7, "new": 8})
    (None, ('3', 8))
    >>> s.apply({"op": "read", "key": 3})
    (8, None)

``WriteLog`` appends one JSON line per mutation and fsyncs in groups: many writers wait on
one fsync, so throughput does not collapse to one op per disk flush.
"""
from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
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


class WriteLog:
    """An append-only file of JSON lines with group commit.

    ``append`` buffers a record; ``await sync()`` returns once every record appended before
    the call is on disk (written and fsynced). One flusher task does the I/O in a thread, so
    the event loop keeps serving while the disk works.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._buf: list[bytes] = []
        self._appended = 0
        self._synced = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._file: Any = None

    def replay(self) -> Iterator[Any]:
        """Yield each record on disk. A torn last line (a crash mid-write) is cut off, since
        nobody was told it happened."""
        if not self.path.exists():
            return
        good = 0
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break
                try:
                    rec = json.loads(line)
                except ValueError:
                    break
                good += len(line)
                yield rec
        if good != self.path.stat().st_size:
            with open(self.path, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())

    def append(self, record: Any) -> None:
        self._buf.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._appended += 1

    @property
    def pending(self) -> bool:
        return self._synced < self._appended

    async def sync(self) -> None:
        target = self._appended
        if self._synced >= target:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await fut

    async def _flush(self) -> None:
        while self._synced < self._appended:
            chunk, upto = b"".join(self._buf), self._appended
            self._buf = []
            try:
                await asyncio.to_thread(self._write, chunk)
            except OSError as e:
                # Memory is now ahead of disk with no way back: fail every waiter and stop
                # taking writes rather than acknowledge what may not survive.
                for _, fut in self._waiters:
                    if not fut.done():
                        fut.set_exception(e)
                self._waiters = []
                raise
            self._synced = upto
            still = []
            for target, fut in self._waiters:
                if target <= upto:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    still.append((target, fut))
            self._waiters = still

    def _write(self, chunk: bytes) -> None:
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 (kept open across flushes)
        self._file.write(chunk)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
