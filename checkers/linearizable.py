"""Linearizability of a history, key by key (P-compositionality), with explanations.

    check_history(ops, model="cas-register", timeout=10)
    -> {"valid": False, "model": "cas-register", "seconds": 0.012, "error": None,
        "keys": {"3": {"valid": False, "op_count": 41, "ops": [{...}, ...],
                       "explanation": "no linearization explains read of 4 by process 3 "
                                      "(invoked at 11.800 s, ok at 12.031 s): the value it "
                                      "could have read was 5 (write of 5 by process 1, ok at "
                                      "11.902 s)"},
                 "4": {"valid": True, "op_count": 40, "explanation": None, "ops": None}}}

How the history is read (Jepsen's and Knossos's rules):
  - nemesis ops (process "nemesis") are ignored;
  - an invocation is paired with the next completion of its process;
  - ``fail`` means the op never happened: both halves are dropped;
  - ``info``, or no completion at all, means the op may take effect at any point after its
    invocation, or never (its return is at +infinity); a crashed read observed nothing and is
    dropped;
  - ``ok`` ops take effect between invocation and completion; an ok read of None observed
    nil (it is not a wildcard).
Ops are split by ``key`` (ops whose key is None form one key, reported as "None"; two keys
that print alike, 1 and "1", are reported by repr). ``op_count`` counts a key's invocations,
failed ones included. Verdicts merge false > unknown > true over keys; a ``timeout`` (seconds,
for the whole history) turns undecided keys into "unknown". Keys are checked smallest first
so a timeout leaves as few undecided as it can; they are reported in history order.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from checkers.models import CAS, READ, Model, ModelError, freeze, get_model, is_pure
from checkers.search import Entry, Outcome, SearchTimeout, search
from harness.errors import ConfigError, HistoryFormatError
from harness.history import FAIL, INVOKE, NEMESIS, OK, Op

__all__ = ["LinearizableChecker", "check_history"]

_UNSET: Any = object()
MAX_OPS = 50  # op dicts reported for an invalid key


@dataclass(slots=True)
class Call:
    """One logical op: its invocation, its completion (None: never completed) and their
    positions in the history."""

    invoke: Op
    complete: Op | None
    call: int
    ret: int | None


def check_history(ops: list[Op], model: str = "cas-register", timeout: float | None = None,
                  initial: Any = _UNSET, *, source: str = "history") -> dict[str, Any]:
    """Check every key of ``ops``; see the module docstring for the result. ``initial``
    overrides the model's initial state; ``source`` names the history in errors."""
    t0 = time.monotonic()
    m = get_model(model)
    init = m.init if initial is _UNSET else freeze(initial)
    deadline = None if timeout is None else t0 + timeout
    by_key = split_keys(pair_calls(ops, source))
    names = _key_names(list(by_key))
    results: dict[Any, dict[str, Any]] = {}
    # Smallest keys first: under a timeout, one hard key should not leave the rest unread.
    for key in sorted(by_key, key=lambda k: len(by_key[k])):
        calls = by_key[key]
        if deadline is not None and time.monotonic() > deadline:
            results[key] = _key_result("unknown", len(calls), "not checked: out of time")
            continue
        entries = prepare_entries(calls, m, source)
        try:
            out = search(entries, init, deadline)
        except SearchTimeout as e:
            results[key] = _key_result("unknown", len(calls), f"timed out: {e}")
            continue
        if out.valid:
            results[key] = _key_result(True, len(calls))
        else:
            results[key] = _key_result(False, len(calls), explain(out, m),
                                       involved_ops(out, calls))
    keys = {names[k]: results[k] for k in by_key}
    timed_out = [n for n, r in keys.items() if r["valid"] == "unknown"]
    valid = _merge([k["valid"] for k in keys.values()])
    error = None
    if timed_out:
        decided = [k for k in keys if k not in timed_out]
        error = (f"timed out after {timeout:g} s; decided {len(decided)} of {len(keys)} keys"
                 + (f" ({_names(decided)})" if decided else ""))
    return {"valid": valid, "model": m.name, "seconds": time.monotonic() - t0, "keys": keys,
            "error": error}


class LinearizableChecker:
    """The ``linearizable`` checker plugin: ``check(test, ops)`` is ``check_history``."""

    def __init__(self, model: str = "cas-register", timeout: float | None = None):
        get_model(model)  # fail at construction, not after the run
        self.model, self.timeout = model, timeout

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        return check_history(ops, model=self.model, timeout=self.timeout)


# --- reading the history --------------------------------------------------------------------

def pair_calls(ops: list[Op], source: str = "history") -> list[Call]:
    """Client invocations paired with their completions, in invocation order."""
    calls: list[Call] = []
    open_: dict[Any, Call] = {}
    for pos, op in enumerate(ops):
        if op.process == NEMESIS:
            continue
        if op.type == INVOKE:
            if op.process in open_:
                prev = open_[op.process].invoke
                raise _bad(source, op, f"process {op.process} invoked {op.f} while its "
                                       f"{prev.f} (op index {prev.index}) had not completed")
            c = Call(op, None, pos, None)
            open_[op.process] = c
            calls.append(c)
            continue
        c = open_.pop(op.process, None)  # type: ignore[arg-type]
        if c is None:
            raise _bad(source, op, f"{op.type} {op.f} of process {op.process} completes no "
                                   "invocation")
        if c.invoke.f != op.f:
            raise _bad(source, op, f"process {op.process} invoked {c.invoke.f} but completed "
                                   f"{op.f}")
        c.complete, c.ret = op, pos
    return calls


def split_keys(calls: list[Call]) -> dict[Any, list[Call]]:
    """Calls by the invocation's key (a completion may lack it), first-seen order."""
    by_key: dict[Any, list[Call]] = {}
    for c in calls:
        by_key.setdefault(freeze(c.invoke.key), []).append(c)
    return by_key


def prepare_entries(calls: list[Call], m: Model, source: str = "history") -> list[Entry]:
    """Search entries for one key: failed ops and crashed ops with no effect dropped."""
    entries: list[Entry] = []
    for c in calls:
        done = c.complete
        if done is not None and done.type == FAIL:
            continue
        if c.invoke.f not in m.fs:
            raise ConfigError(f"model {m.name!r} does not know f {c.invoke.f!r} (op index "
                              f"{c.invoke.index}); it knows {', '.join(m.fs)}")
        ok = done is not None and done.type == OK
        try:
            step = m.prepare(c.invoke.f, c.invoke.value, done.value if ok and done else None)
        except ModelError as e:
            raise _bad(source, done if ok and done else c.invoke, str(e)) from None
        if step is None or (not ok and is_pure(step)):
            continue  # no effect, and (crashed) nothing observed
        entries.append(Entry(c.call, c.ret if ok else None, step, c))
    return entries


def _bad(source: str, op: Op, reason: str) -> HistoryFormatError:
    line = (op.extra or {}).get("line")
    return HistoryFormatError(source, line if isinstance(line, int) else None,
                              reason if line else f"{reason} (op index {op.index})")


# --- results --------------------------------------------------------------------------------

def _key_result(valid: bool | str, op_count: int, explanation: str | None = None,
                ops: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"valid": valid, "op_count": op_count, "explanation": explanation, "ops": ops}


def _key_names(keys: list[Any]) -> dict[Any, str]:
    """str(key), or repr(key) where two keys would print alike (1 and "1")."""
    counts: dict[str, int] = {}
    for k in keys:
        counts[str(k)] = counts.get(str(k), 0) + 1
    return {k: str(k) if counts[str(k)] == 1 else repr(k) for k in keys}


def _merge(vs: list[Any]) -> bool | str:
    if any(v is False for v in vs):
        return False
    return "unknown" if any(v is not True for v in vs) else True


def _names(keys: list[str], limit: int = 10) -> str:
    more = f", ... {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def explain(out: Outcome, m: Model) -> str:
    """One sentence on why the search failed, from its frontier (see search.Outcome)."""
    b = out.blocked
    if b is None:
        return "no linearization exists"
    kind, a, _ = b.step
    shown = [f"{show(s)} ({_writer(w)})" for s, w in list(out.states.items())[:4]]
    if len(out.states) > 4:
        shown.append(f"{len(out.states) - 4} other values")
    held = " or ".join(shown) or "nothing"
    head = f"no linearization explains {describe(b)}"
    if kind == READ:
        one = len(out.states) == 1
        return (f"{head}: the value{'' if one else 's'} it could have read "
                f"{'was' if one else 'were'} {held}")
    tail = f", never {show(a)}" if kind == CAS and a not in out.states else ""
    return f"{head}: when it could take effect, the {m.noun} held {held}{tail}"


def describe(e: Entry) -> str:
    """``cas from 3 to 0 by process 2 (invoked at 1.200 s, ok at 1.250 s)``"""
    c: Call = e.ref
    inv, done = c.invoke, c.complete
    end = ", never completed" if done is None else f", {done.type} at {when_(done)}"
    return f"{_what(e)} by process {inv.process} (invoked at {when_(inv)}{end})"


def _what(e: Entry) -> str:
    kind, a, b = e.step
    return f"cas from {show(a)} to {show(b)}" if kind == CAS else f"{e.ref.invoke.f} of {show(a)}"


def _writer(e: Entry | None) -> str:
    """Where a state came from: ``write of 5 by process 1, ok at 11.902 s``."""
    if e is None:
        return "the initial value"
    c: Call = e.ref
    if c.complete is not None and c.complete.type == OK:
        return f"{_what(e)} by process {c.invoke.process}, ok at {when_(c.complete)}"
    fate = ("never completed" if c.complete is None
            else f"crashed: {c.complete.type} at {when_(c.complete)}")
    return f"{_what(e)} by process {c.invoke.process}, invoked at {when_(c.invoke)}, {fate}"


def when_(op: Op) -> str:
    if op.time >= 0:
        return f"{op.time / 1e9:.3f} s"
    line = (op.extra or {}).get("line")
    return f"line {line}" if line else f"op index {op.index}"


def show(v: Any, limit: int = 80) -> str:
    """A value as Jepsen prints it (nil, [3 0]), cut in the middle past ``limit`` chars."""
    if v is None:
        s = "nil"
    elif isinstance(v, (list, tuple)):
        s = "[" + " ".join(show(x) for x in v) + "]"
    else:
        s = repr(v) if isinstance(v, str) else str(v)
    if len(s) > limit:
        s = f"{s[:limit // 2 - 2]}...{s[-(limit // 2 - 2):]} ({len(s)} chars)"
    return s


def involved_ops(out: Outcome, calls: list[Call]) -> list[dict[str, Any]]:
    """The blocked op, the writers of the states it met, and the ops concurrent with it
    (nearest first), as op dicts in history order: at most MAX_OPS of them."""
    if out.blocked is None:
        return []
    b: Call = out.blocked.ref
    chosen = [b] + [w.ref for w in out.states.values() if w is not None]
    near = [c for c in calls if c.call < (b.ret or 0) and (c.ret is None or c.ret > b.call)
            and (c.complete is None or c.complete.type != FAIL)]
    near.sort(key=lambda c: abs(c.call - b.call))
    picked: dict[int, Call] = {}
    budget = MAX_OPS
    for c in chosen + near:
        cost = 1 if c.complete is None else 2
        if id(c) in picked or cost > budget:
            continue
        picked[id(c)] = c
        budget -= cost
    out_ops = [(c.call, c.invoke) for c in picked.values()]
    out_ops += [(c.ret, c.complete) for c in picked.values()
                if c.ret is not None and c.complete is not None]
    return [op.to_dict() for _, op in sorted(out_ops, key=lambda t: t[0])]
