"""Operations and histories, in Jepsen's op model.

An op is one line of history.jsonl:

    {"index": 7, "time": 1203344, "type": "ok", "process": 3, "f": "cas",
     "key": 2, "value": [1, 4], "error": null}

``type`` is invoke | ok | fail | info. ``time`` is nanoseconds since the test began, from
``time.monotonic_ns()``. ``process`` is an int for clients and ``"nemesis"`` for the nemesis.
Fields beyond the standard ones (``node``, ``clock_offsets``, ...) are kept in ``extra`` and
written at the top level of the JSON object.

An ``Op`` is frozen: a stage that stamps it (the runner's process and time, the history's
index) makes a new one, ``op.with_(index=7)``, and whoever handed the op over keeps theirs.
``extra`` stays a plain dict for speed and JSON, and is never mutated once the op is built:
build a new dict (``{**(op.extra or {}), "node": "n1"}``) for a changed copy.
"""
from __future__ import annotations

import json
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from harness.errors import HistoryFormatError

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
TYPES = frozenset((INVOKE, OK, FAIL, INFO))
NEMESIS = "nemesis"
_STANDARD = ("index", "time", "type", "process", "f", "key", "value", "error")


@dataclass(frozen=True, slots=True, init=False)
class Op:
    type: str
    f: str
    process: int | str = -1
    key: Any = None
    value: Any = None
    index: int = -1
    time: int = -1
    error: str | None = None
    extra: dict[str, Any] | None = None

    def __init__(self, type: str, f: str, process: int | str = -1, key: Any = None,
                 value: Any = None, index: int = -1, time: int = -1, error: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        # The generated frozen __init__ goes through object.__setattr__ per field, which
        # doubled the cost of the four ops the runner builds per client op; the slots'
        # own setters (bound below the class) do the same at half the cost.
        _set_type(self, type)
        _set_f(self, f)
        _set_process(self, process)
        _set_key(self, key)
        _set_value(self, value)
        _set_index(self, index)
        _set_time(self, time)
        _set_error(self, error)
        _set_extra(self, extra)

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
        return Op(type, self.f, self.process, self.key,
                  self.value if value is None and type != OK else value, -1, -1, error,
                  extra or None)

    @property
    def is_client(self) -> bool:
        return self.process != NEMESIS

    def with_(self, **changes: Any) -> Op:
        """A copy with some fields changed: ``op.with_(index=7, time=1203344)``.

        Built positionally rather than by dataclasses.replace, which costs twice as much and
        sits on the runner's hot path."""
        if not _FIELDS.issuperset(changes):
            return replace(self, **changes)  # raises the usual TypeError naming the field
        get = changes.get
        return Op(get("type", self.type), get("f", self.f), get("process", self.process),
                  get("key", self.key), get("value", self.value), get("index", self.index),
                  get("time", self.time), get("error", self.error), get("extra", self.extra))


_FIELDS = frozenset(_STANDARD + ("extra",))
assert tuple(f.name for f in fields(Op)) == (
    "type", "f", "process", "key", "value", "index", "time", "error", "extra"), \
    "Op.__init__ sets the fields by hand: keep it in step"
(_set_type, _set_f, _set_process, _set_key, _set_value, _set_index, _set_time, _set_error,
 _set_extra) = (vars(Op)[f.name].__set__ for f in fields(Op))


COMPLETION_TYPES = (OK, FAIL, INFO)


def completion_problems(invoke: Op, done: object) -> list[str]:
    """What is wrong with ``done`` as the completion of ``invoke`` (empty: nothing). A
    completion is an Op that keeps the invocation's process (or leaves it -1) and f and has
    type ok, fail or info: the rule the runner enforces on every plugin answer.

    >>> completion_problems(Op("invoke", "read", 3), Op("done", "read", 3))
    ["type 'done' is not ok/fail/info"]
    """
    if not isinstance(done, Op):
        return [f"got {type(done).__name__}, expected an Op (use op.complete(...))"]
    problems = []
    if done.type not in COMPLETION_TYPES:
        problems.append(f"type {done.type!r} is not ok/fail/info")
    if done.process not in (-1, invoke.process):
        problems.append(f"process changed from {invoke.process!r} to {done.process!r}")
    if done.f != invoke.f:
        problems.append(f"f changed from {invoke.f!r} to {done.f!r}")
    return problems


class HistoryWriter:
    """Appends ops to history.jsonl as they happen; thread-safe; assigns ``index``.

    ``append(op)`` returns the op as recorded: a new Op with its index (and the ``process``
    and ``time`` the caller stamps, if given), which is the one to hand on.

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

    def append(self, op: Op, *, process: int | str | None = None,
               clock: Callable[[], int] | None = None) -> Op:
        """Record ``op`` with the next index; with ``process``, under that process; with
        ``clock``, at ``clock()`` read under the lock, so that index order is time order
        across threads. Returns the recorded op (one copy, whatever is stamped)."""
        with self._lock:
            op = Op(op.type, op.f, op.process if process is None else process, op.key,
                    op.value, self._next, op.time if clock is None else clock(), op.error,
                    op.extra)
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


MAX_HISTORY_BYTES = 2 << 30  # 2 GiB: a bigger file is refused before it is read
MAX_DEPTH = 200              # nesting of a value: deeper is refused (the checkers recurse)


def check_history_file(path: Path | str, max_bytes: int = MAX_HISTORY_BYTES) -> int:
    """The size of the history file at ``path``; HistoryFormatError (one line) if it is
    not a regular file (a directory, /dev/zero, a FIFO), cannot be read, or is bigger than
    ``max_bytes``. Every reader asks this before it reads a byte."""
    path = str(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise HistoryFormatError(path, None, f"cannot read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                "a FIFO" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "not a regular file")
        raise HistoryFormatError(path, None, f"is {kind}; a history must be a regular file")
    if st.st_size > max_bytes:
        raise HistoryFormatError(path, None, f"is {st.st_size:,} bytes, over the limit of "
                                             f"{max_bytes:,}; split it or raise the limit")
    return st.st_size


def nesting_depth(v: Any, limit: int = MAX_DEPTH) -> int:
    """How deep lists and maps nest in ``v`` (a scalar: 0, ``[[1]]``: 2), counted level by
    level without recursion and stopped past ``limit``."""
    depth, level = 0, [v]
    while level and depth <= limit:
        boxes = [x for x in level if isinstance(x, (dict, list, tuple, set, frozenset))]
        if not boxes:
            break
        depth += 1
        level = [y for x in boxes for y in (x.values() if isinstance(x, dict) else x)]
    return depth


def _int_field(d: dict[str, Any], k: str) -> bool:
    v = d.get(k)
    return v is None or (type(v) is int)


def iter_jsonl(path: Path | str, max_bytes: int = MAX_HISTORY_BYTES) -> Iterator[Op]:
    """Read our history.jsonl, one op a line, in file order. A torn last line (the harness
    died mid-write) is skipped; any other malformed line raises HistoryFormatError naming
    file and line, what is wrong and what would be right.

    Each line is a JSON object with ``type`` (invoke/ok/fail/info) and ``f`` (a string);
    ``process`` is an integer or a string (absent: -1), ``time`` an integer. Values nest at
    most MAX_DEPTH deep; a file over ``max_bytes``, or one that is not a regular file, is
    refused before it is read.

    ``index``: every line has one or none does (-1, what ``Op.to_dict`` writes for an op
    never indexed, counts as none). None: ops are indexed in file order. All: each is a
    non-negative integer (not a bool, not a float), no two alike; they may come in any
    order (our HistoryWriter appends lines slightly out of index order; ``read_jsonl``
    sorts them). Some lines with an index and some without, a repeated index, or one that
    is not an integer is an error: re-sorting such a file would move ops silently."""
    path = str(path)
    check_history_file(path, max_bytes)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as e:
        raise HistoryFormatError(path, None, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise HistoryFormatError(path, None, f"not UTF-8 text: {e.reason}") from None
    indexed: bool | None = None  # decided by the first op: do lines carry an index?
    first = 0                    # its line
    seen: set[int] = set()
    count = 0
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except ValueError as e:  # JSONDecodeError, or an integer of 5,000 digits
            if n == len(lines) and not lines[-1].endswith("\n"):
                return  # torn final write
            if not isinstance(e, json.JSONDecodeError):  # Python's int-string limit
                raise HistoryFormatError(path, n, "a number too long to read (over "
                                                  f"{sys.get_int_max_str_digits()} digits)"
                                         ) from None
            raise HistoryFormatError(path, n, f"not JSON: {e.msg}; each line must be one "
                                              "JSON object") from None
        except RecursionError:
            raise HistoryFormatError(path, n, f"a value nests deeper than {MAX_DEPTH} "
                                              "lists or maps") from None
        if not isinstance(d, dict):
            raise HistoryFormatError(path, n, "expected a JSON object per line, got "
                                              f"{type(d).__name__}")
        t = d.get("type")
        if t not in TYPES:
            raise HistoryFormatError(path, n, f"type must be one of invoke/ok/fail/info, "
                                              f"got {_short(t)}")
        f_ = d.get("f")
        if type(f_) is not str:
            raise HistoryFormatError(path, n, "op has no 'f'" if "f" not in d else
                                     f"'f' must be a string, got {_short(f_)}")
        p = d.get("process", -1)
        if type(p) is not int and type(p) is not str:
            raise HistoryFormatError(path, n, f"'process' must be an integer or a string, "
                                              f"got {_short(p)}")
        if not _int_field(d, "time"):
            raise HistoryFormatError(path, n, f"'time' must be an integer (ns), got "
                                              f"{_short(d['time'])}")
        i = d.get("index", -1)
        if i is None:
            i = -1
        if type(i) is not int or i < -1:
            raise HistoryFormatError(path, n, f"'index' must be a non-negative integer, "
                                              f"got {_short(i)}")
        has = i != -1
        if indexed is None:
            indexed, first = has, n
        elif has != indexed:
            raise HistoryFormatError(
                path, n, f"{'an' if has else 'no'} 'index' here but "
                         f"{'none' if has else 'one'} on line {first}: give every line an "
                         "index or none")
        if has:
            if i in seen:
                raise HistoryFormatError(path, n, f"index {i} appears twice; indices must "
                                                  "be distinct")
            seen.add(i)
        if (line.count("[") + line.count("{") > MAX_DEPTH
                and nesting_depth(d, MAX_DEPTH + 1) > MAX_DEPTH + 1):  # +1: the op map
            raise HistoryFormatError(path, n, f"a value nests deeper than {MAX_DEPTH} "
                                              "lists or maps")
        op = Op.from_dict(d)
        if not has:
            op = op.with_(index=count)
        count += 1
        yield op


def _short(v: Any) -> str:
    s = json.dumps(v, default=repr) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def read_jsonl(path: Path | str, max_bytes: int = MAX_HISTORY_BYTES) -> list[Op]:
    """All ops of a history.jsonl in index order (concurrent writers may have appended lines
    slightly out of order); see ``iter_jsonl`` for what a line may hold."""
    ops = list(iter_jsonl(path, max_bytes))
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


def pair_positions(events: Iterable[tuple[Any, str, Any]]
                   ) -> tuple[list[int], list[int | None]]:
    """THE pairing rule, on bare ``(process, type, f)`` triples (one per history line, any
    source: Ops, or the raw JSON dicts the report digests). Returns two parallel lists, one
    entry per client invocation in invocation order: its position, and its completion's
    (None: never completed). A completion pairs with the open invocation of its process when
    their f agree, else it is skipped; nemesis lines are left out. Processes must be
    hashable. Positions rather than pairs of objects: the linearizability checker groups
    them by key at the cost of one list append per op.

    >>> pair_positions([(0, "invoke", "read"), ("nemesis", "invoke", "x"), (0, "ok", "read")])
    ([0], [2])
    """
    open_: dict[Any, int] = {}  # process -> slot of its open invocation
    starts: list[int] = []
    ends: list[int | None] = []
    fs: list[Any] = []          # the f of each slot's invocation
    pop = open_.pop
    n = -1
    for p, t, f in events:
        n += 1
        if t == INVOKE:
            if p != NEMESIS:
                open_[p] = len(starts)
                starts.append(n)
                ends.append(None)
                fs.append(f)
        elif p != NEMESIS:
            slot = pop(p, None)
            if slot is not None and fs[slot] == f:
                ends[slot] = n
    return starts, ends


_PTF = attrgetter("process", "type", "f")


def pairs(ops: list[Op]) -> list[Pair]:
    """Client invocations with their completions, in invocation order (pair_positions'
    rule). Tolerant: a completion with no open invocation of its process (or of another f)
    is skipped; an invocation still open at the end never completed. Nemesis ops are not
    client ops and are left out.

    >>> [(p.invoke.f, p.type) for p in pairs([Op("invoke", "read", 0), Op("ok", "read", 0)])]
    [('read', 'ok')]
    """
    starts, ends = pair_positions(map(_PTF, ops))
    return [Pair(ops[i], None if j is None else ops[j], i, j) for i, j in zip(starts, ends)]


def pair_index(ops: list[Op]) -> dict[int, int]:
    """Position of each invocation -> position of its completion (client ops only). An
    invocation with no completion is absent (it is treated as info)."""
    starts, ends = pair_positions(map(_PTF, ops))
    return {i: j for i, j in zip(starts, ends) if j is not None}
