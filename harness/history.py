"""Operations and histories, in Jepsen's op model.

An op is one line of history.jsonl:

    {"index": 7, "time": 1203344, "type": "ok", "process": 3, "f": "cas",
     "key": 2, "value": [1, 4], "error": null}

``type`` is invoke | ok | fail | info. ``time`` is nanoseconds since the test began, from
``time.monotonic_ns()``. ``process`` is an int for clients and ``"nemesis"`` for the nemesis.
Fields beyond the standard ones (``node``, ``clock_offsets``, ...) are kept in ``extra`` and
written at the top level of the JSON object.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import HistoryFormatError

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
TYPES = frozenset((INVOKE, OK, FAIL, INFO))
NEMESIS = "nemesis"
_STANDARD = ("index", "time", "type", "process", "f", "key", "value", "error")


@dataclass(slots=True)
class Op:
    type: str
    f: str
    process: int | str = -1
    key: Any = None
    value: Any = None
    index: int = -1
    time: int = -1
    error: str | None = None
    extra: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index, "time": self.time, "type": self.type,
            "process": self.process, "f": self.f, "key": self.key, "value": self.value,
            "error": self.error,
        }
        if self.extra:
            for k, v in self.extra.items():
                d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Op:
        extra = {k: v for k, v in d.items() if k not in _STANDARD} or None
        return cls(type=d["type"], f=d["f"], process=d.get("process", -1), key=d.get("key"),
                   value=d.get("value"), index=d.get("index", -1), time=d.get("time", -1),
                   error=d.get("error"), extra=extra)

    def complete(self, type: str, value: Any = None, error: str | None = None,
                 **extra: Any) -> Op:
        """The completion of this invocation: same process, f and key."""
        return Op(type=type, f=self.f, process=self.process, key=self.key,
                  value=self.value if value is None and type != OK else value,
                  error=error, extra=extra or None)

    @property
    def is_client(self) -> bool:
        return self.process != NEMESIS

    def with_(self, **changes: Any) -> Op:
        """A copy with some fields changed: ``op.with_(index=7, time=1203344)``."""
        return replace(self, **changes)


class HistoryWriter:
    """Appends ops to history.jsonl as they happen; thread-safe; assigns ``index``.

    Each op is handed to the kernel with one ``write(2)`` on an O_APPEND descriptor before
    ``append`` returns, so a harness killed outright keeps every op it recorded. Only the
    index is assigned under the lock: doing the write syscall under it made worker threads
    convoy on the lock (the syscall drops the GIL while holding it) and cut throughput 4x.
    Lines may therefore land slightly out of index order; readers sort by index.
    """

    def __init__(self, path: Path | str, *, keep: bool = True):
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self._next = 0
        self.keep = keep
        self.ops: list[Op] = []
        enc = json.JSONEncoder(default=_json_default, separators=(",", ":"))
        # The C encoder directly: JSONEncoder.encode's Python wrapper was a tenth of the
        # per-op cost of the runner.
        c_make = getattr(json.encoder, "c_make_encoder", None)
        if c_make is not None:
            c_enc = c_make(None, enc.default, json.encoder.encode_basestring_ascii, None,
                           ":", ",", False, False, True)
            self._dumps = lambda d: "".join(c_enc(d, 0))
        else:
            self._dumps = enc.encode

    def append(self, op: Op) -> Op:
        with self._lock:
            op.index = self._next
            self._next += 1
            if self.keep:
                self.ops.append(op)
        fd = self._fd
        if fd is None:
            raise ValueError(f"history {self.path} is closed")
        os.write(fd, (self._dumps(op.to_dict()) + "\n").encode())
        return op

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.fsync(fd)
            os.close(fd)

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(o: Any) -> Any:
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    return repr(o)


def iter_jsonl(path: Path | str) -> Iterator[Op]:
    """Read our history.jsonl. A torn last line (the harness died mid-write) is skipped; any
    other malformed line raises HistoryFormatError naming file and line."""
    path = str(path)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines) and not lines[-1].endswith("\n"):
                return  # torn final write
            raise HistoryFormatError(path, n, f"not JSON: {e.msg}") from None
        if not isinstance(d, dict):
            raise HistoryFormatError(path, n, "expected a JSON object per line")
        t = d.get("type")
        if t not in TYPES:
            raise HistoryFormatError(path, n, f"type must be one of invoke/ok/fail/info, got {t!r}")
        if "f" not in d:
            raise HistoryFormatError(path, n, "op has no 'f'")
        yield Op.from_dict(d)


def read_jsonl(path: Path | str) -> list[Op]:
    """All ops of a history.jsonl in index order (concurrent writers may have appended lines
    slightly out of order)."""
    ops = list(iter_jsonl(path))
    if any(ops[i].index > ops[i + 1].index for i in range(len(ops) - 1)):
        ops.sort(key=lambda o: o.index)
    return ops


def write_jsonl(path: Path | str, ops: Iterable[Op]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for op in ops:
            f.write(json.dumps(op.to_dict(), default=_json_default, separators=(",", ":")) + "\n")


# --- THE pairing of invocations with completions --------------------------------------------

@dataclass(slots=True)
class Pair:
    """A client op: its invocation and its completion (None: never completed), with their
    positions in the history they were paired from (``j`` None when never completed)."""

    invoke: Op
    complete: Op | None
    i: int = -1
    j: int | None = None

    @property
    def type(self) -> str:
        """ok, fail, info; a never-completed op counts as info."""
        return INFO if self.complete is None else self.complete.type

    @property
    def value(self) -> Any:
        """The completion's value for an ok op, else the invocation's."""
        c = self.complete
        return c.value if c is not None and c.type == OK else self.invoke.value

    @property
    def start(self) -> int:
        return self.invoke.time

    @property
    def end(self) -> int | None:
        """Completion time; None if the op never completed."""
        return None if self.complete is None else self.complete.time


def pairs(ops: list[Op]) -> list[Pair]:
    """Client invocations with their completions, in invocation order. Tolerant: a completion
    with no open invocation of its process (or of another f) is skipped; an invocation still
    open at the end never completed. Nemesis ops are not client ops and are left out.

    >>> [(p.invoke.f, p.type) for p in pairs([Op("invoke", "read", 0), Op("ok", "read", 0)])]
    [('read', 'ok')]
    """
    open_: dict[Any, Pair] = {}
    out: list[Pair] = []
    for n, op in enumerate(ops):
        if op.process == NEMESIS:
            continue
        if op.type == INVOKE:
            p = Pair(op, None, n)
            open_[op.process] = p
            out.append(p)
            continue
        p2 = open_.pop(op.process, None)
        if p2 is not None and p2.invoke.f == op.f:
            p2.complete, p2.j = op, n
    return out


def pair_index(ops: list[Op]) -> dict[int, int]:
    """Position of each invocation -> position of its completion (client ops only). An
    invocation with no completion is absent (it is treated as info)."""
    return {p.i: p.j for p in pairs(ops) if p.j is not None}
