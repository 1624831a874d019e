"""One key's history, and the one place its search entries are built.

    by_key = index_history(ops, model)        # {key: KeyHistory}, first-seen key order
    cols = columns(by_key[3], model)          # the entries of key 3, as columns
    entries = to_entries(cols)                # the same, as search.Entry objects

Pairing is harness.history.pair_positions (THE pairing); here it is only grouped by key and held to
Jepsen's rules, which the tolerant ``pairs`` does not enforce: a process invokes again only
after its op completed, and a completion completes its process's open invocation of the
same f. A history that breaks them raises HistoryFormatError naming the op.

An op's entry (failed ops dropped, a crashed read or crashed pure op dropped, crashed ret =
INF) is built by ``columns`` only. The columns are the hot path of every check: the zone
checker reads them as they are, and ``to_entries`` turns them into the search's
``Entry`` objects only when the search runs. For the explainer, ``KeyHistory.cut`` gives the
history up to a position with some ops relaxed to crashed, and ``columns`` builds its
entries the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from checkers.linearizable.models import (
    CAS,
    READ,
    UNKNOWN,
    WRITE,
    Model,
    ModelError,
    freeze,
    is_pure,
)
from checkers.linearizable.search import Entry
from checkers.linearizable.zones import INF
from harness.errors import ConfigError, HistoryFormatError
from harness.history import FAIL, INVOKE, NEMESIS, OK, Op, Pair, pair_positions

__all__ = ["Columns", "KeyHistory", "columns", "index_history", "key_names", "to_entries"]

Columns = tuple[list[int], list[int], list[int], list[Any], list[Any]]
"""(rets, calls, kinds, arg_a, arg_b): entry i is the op invoked at history position
calls[i], returning at rets[i] (INF: crashed), with step (kinds[i], arg_a[i], arg_b[i])."""


@dataclass(slots=True)
class KeyHistory:
    """One key's client ops, in invocation order, as positions into the history ``ops``:
    ``calls[n]`` is an invocation's, ``rets[n]`` its completion's (None: never completed),
    as harness.history.pair_positions pairs them. Positions, not Pair objects: building a
    Pair per op was a third of the time of checking a big history; ``pairs`` builds them
    for the explainer, which reads few keys."""

    ops: list[Op]
    calls: list[int]
    rets: list[int | None]

    @classmethod
    def of(cls, ops: list[Op]) -> KeyHistory:
        """All the client ops of ``ops`` as one key's history (for one-key histories and
        tests; ``index_history`` splits a history by key)."""
        calls, rets = pair_positions(map(_PTF, ops))
        return cls(ops, calls, rets)

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def pairs(self) -> list[Pair]:
        ops = self.ops
        return [Pair(ops[i], None if j is None else ops[j], i, j)
                for i, j in zip(self.calls, self.rets)]

    def cut(self, at: int | None = None, relaxed: set[int] | None = None) -> KeyHistory:
        """The history up to and including position ``at`` (None: all of it): later
        invocations are gone, and ok ops not completed by then count as crashed, as do ok
        ops invoked at a position in ``relaxed``. Failed ops stay failed (no effect)."""
        ops = self.ops
        calls: list[int] = []
        rets: list[int | None] = []
        for i, j in zip(self.calls, self.rets):
            if at is not None and i > at:
                break
            if j is not None and ops[j].type == OK and (
                    (at is not None and j > at) or (relaxed is not None and i in relaxed)):
                j = None
            calls.append(i)
            rets.append(j)
        return KeyHistory(ops, calls, rets)


def index_history(ops: list[Op], m: Model, source: str = "history") -> dict[Any, KeyHistory]:
    """Client ops by key (the model's partition; first-seen order), paired by THE pairing
    (harness.history.pair_positions). Raises HistoryFormatError for a history that does not
    pair up by Jepsen's rules."""
    try:
        starts, ends = pair_positions(map(_PTF, ops))
    except TypeError:  # a process that is a list or a map: no op of a history has one
        bad = next((op for op in ops if not _hashable(op.process)), None)
        if bad is None:
            raise
        raise bad_op(source, bad, f"op process must be an integer or a name, got "
                                  f"{type(bad.process).__name__} "
                                  f"{str(bad.process)[:40]}") from None
    calls: dict[Any, list[int]] = {}
    part = m.partition
    if m.by_key:  # the hot path: the key read inline, frozen only when it must be
        get = calls.get
        for i, k in zip(starts, [ops[i].key for i in starts]):
            if k is not None and type(k) is not int and type(k) is not str:
                k = freeze(k)
            cs = get(k)
            if cs is None:
                calls[k] = [i]
            else:
                cs.append(i)
    else:
        for i in starts:
            calls.setdefault(None if part is None else freeze(part(ops[i])), []).append(i)
    if not _exact(ops, starts, ends):
        raise _pairing_error(ops, source)
    ret_of = dict(zip(starts, ends))
    return {k: KeyHistory(ops, cs, [ret_of[i] for i in cs]) for k, cs in calls.items()}


_PTF = attrgetter("process", "type", "f")


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _exact(ops: list[Op], starts: list[int], ends: list[int | None]) -> bool:
    """Did ``pairs`` pair every client op by Jepsen's rules? Every completion was taken (it
    skips one with no open invocation of its process and f), and every invocation left
    open is its process's last (it drops one its process invoked past)."""
    client = len(ops) - [op.process for op in ops].count(NEMESIS)
    n_open = ends.count(None)
    if client != 2 * len(starts) - n_open:
        return False
    if not n_open:
        return True
    last = {ops[i].process: i for i in starts}
    return all(last[ops[i].process] == i for i, j in zip(starts, ends) if j is None)


def _pairing_error(ops: list[Op], source: str) -> HistoryFormatError:
    """The first op, in history order, that breaks the pairing rules: the error path of
    index_history, run only once ``pairs`` was found not exact, to say where and why."""
    open_: dict[Any, Op] = {}
    for op in ops:
        p = op.process
        if p == NEMESIS:
            continue
        prev = open_.get(p)
        if op.type == INVOKE:
            if prev is not None:
                return bad_op(source, op, f"process {p} invoked {op.f} while its {prev.f} "
                                          f"(op index {prev.index}) had not completed")
            open_[p] = op
        elif prev is None:
            return bad_op(source, op, f"{op.type} {op.f} of process {p} completes no "
                                      "invocation")
        elif prev.f != op.f:
            return bad_op(source, op, f"process {p} invoked {prev.f} but completed {op.f}")
        else:
            del open_[p]
    return HistoryFormatError(source, None, "the history does not pair up")


def bad_op(source: str, op: Op, reason: str) -> HistoryFormatError:
    """A HistoryFormatError at ``op``: its file line if it has one, else its index."""
    line = (op.extra or {}).get("line")
    return HistoryFormatError(source, line if isinstance(line, int) else None,
                              reason if line else f"{reason} (op index {op.index})")


def columns(kh: KeyHistory, m: Model, source: str = "history") -> Columns:
    """The search entries of one key, as Columns: failed ops dropped, crashed ops (info, or
    never completed) returning at INF, a crashed op that observed nothing and changed
    nothing dropped. Registers build their steps inline (``m.register_kinds``; the same
    steps as ``m.prepare``, a property test holds them equal), other models through
    ``m.prepare``. Raises ConfigError for an f the model does not know and
    HistoryFormatError for a value it cannot read."""
    rets: list[int] = []
    calls: list[int] = []
    kinds: list[int] = []
    arg_a: list[Any] = []
    arg_b: list[Any] = []
    fk = m.register_kinds
    ops = kh.ops
    for i, j in zip(kh.calls, kh.rets):
        inv = ops[i]
        done = None if j is None else ops[j]
        out: Any = None  # the ok completion's value
        if done is None or j is None:
            ok, ret = False, INF
        else:
            t = done.type
            if t == OK:
                ok, ret, out = True, j, done.value
            elif t == FAIL:
                continue
            else:
                ok, ret = False, INF
        f = inv.f
        kind = fk.get(f) if fk is not None else None
        if kind == READ:
            if not ok:
                continue  # a crashed read observed nothing
            a = out
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            b = None
        elif kind == WRITE:
            a = inv.value if out is None else out
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            b = None
        elif kind == CAS and type(v := inv.value if out is None else out) is list \
                and len(v) == 2:
            a, b = v
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            if b is not None and type(b) is not int and type(b) is not str:
                b = freeze(b)
            if not ok and a == b:
                continue  # a crashed cas [a a] observed nothing, changed nothing
        else:
            step = _step(m, inv, out if ok else UNKNOWN, source,
                         done if ok and done is not None else inv)
            if step is None or (not ok and is_pure(step)):
                continue
            kind, a, b = step
        rets.append(ret)
        calls.append(i)
        kinds.append(kind)
        arg_a.append(a)
        arg_b.append(b)
    return rets, calls, kinds, arg_a, arg_b


def to_entries(cols: Columns) -> list[Entry]:
    """The search's entries for ``cols`` (crashed: ret None)."""
    rets, calls, kinds, arg_a, arg_b = cols
    return [Entry(c, None if r == INF else r, (k, a, b))
            for r, c, k, a, b in zip(rets, calls, kinds, arg_a, arg_b)]


def _step(m: Model, inv: Op, out: Any, source: str, where: Op) -> Any:
    if inv.f not in m.fs:
        raise ConfigError(f"model {m.name!r} does not know f {inv.f!r} (op index "
                          f"{inv.index}); it knows {', '.join(m.fs)}")
    try:
        return m.prepare(inv.f, inv.value, out)
    except ModelError as e:
        raise bad_op(source, where, str(e)) from None


def key_names(keys: list[Any]) -> dict[Any, str]:
    """str(key), or repr(key) where two keys would print alike (1 and "1")."""
    counts: dict[str, int] = {}
    for k in keys:
        counts[str(k)] = counts.get(str(k), 0) + 1
    return {k: str(k) if counts[str(k)] == 1 else repr(k) for k in keys}
