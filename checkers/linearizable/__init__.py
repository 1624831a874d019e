"""Linearizability of a history, key by key (P-compositionality), with explanations.

    check_history(ops, model="cas-register", timeout=10)
    -> {"valid": False, "model": "cas-register", "seconds": 0.012, "error": None,
        "explain_seconds": 0.008,
        "keys": {"3": {"valid": False, "op_count": 41, "prefix_ops": 17, "method": "zones",
                       "explanation": "read of key 3 returned 4 at 12.031 s, but write of 5
                                       had completed at 11.902 s, ...",
                       "ops": [{...}, ...],       # the minimal witness, as op dicts
                       "witness": [118, 120, 131], "explain_seconds": 0.008},
                 "4": {"valid": True, "op_count": 40, "prefix_ops": 40, "method": "zones",
                       "explanation": None, "ops": None}}}

How the history is read (Jepsen's and Knossos's rules):
  - nemesis ops (process "nemesis") are ignored;
  - an invocation is paired with the next completion of its process;
  - ``fail`` means the op never happened: both halves are dropped;
  - ``info``, or no completion at all, means the op may take effect at any point after its
    invocation, or never (its return is at +infinity); a crashed read observed nothing and is
    dropped;
  - ``ok`` ops take effect between invocation and completion; an ok read of None observed
    nil (it is not a wildcard).
Ops are split by the model's ``partition`` (``key`` by default; ops whose key is None form
one key, reported as "None"; two keys that print alike, 1 and "1", are reported by repr).
``op_count`` counts a key's invocations, failed ones included.

How a key is decided: a register or cas-register key whose written values are unique goes
to the zone checker (checkers.zones, O(n log n)); anything else to the search
(checkers.search). ``method`` says which. A non-linearizable key is explained
(checkers.explain): the longest linearizable prefix (``prefix_ops``: the key's ops invoked
before the first op that cannot be linearized), a minimal failing sub-history (``ops``;
``witness``: its invocations' indices) and a sentence (``explanation``). The first
EXPLAIN_KEYS invalid keys get all of that within EXPLAIN_SECONDS each (EXPLAIN_TOTAL in all);
the others get the sentence and the ops it names. ``explain_seconds`` is the time spent
explaining, ``seconds`` everything.

Verdicts merge false > unknown > true over keys. A ``timeout`` (seconds, for the whole
history) turns undecided keys into "unknown", with what was learned: the keys decided, and
for a key whose search ran out of time the prefix it had linearized. Keys are checked
smallest first so a timeout leaves as few undecided as it can; they are reported in history
order. A key whose check fails unexpectedly is "unknown" with the reason; a malformed
history (pairing, a cas value that is not a pair) raises HistoryFormatError.

Big histories are checked by two processes (fork), each taking half the keys by op count.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from checkers.linearizable.models import (
    CAS,
    READ,
    UNKNOWN,
    WRITE,
    Model,
    ModelError,
    freeze,
    get_model,
    is_pure,
)
from checkers.linearizable.search import Entry, Outcome, SearchTimeout, search
from checkers.linearizable.zones import INF, ZoneOutcome, check_unique_steps, zones
from harness.errors import ConfigError, HistoryFormatError
from harness.history import FAIL, INVOKE, NEMESIS, OK, Op

__all__ = ["Call", "KeyHistory", "LinearizableChecker", "check_history", "pair_calls",
           "prepare_entries", "split_keys"]

log = logging.getLogger("splitbrain.checkers")

_UNSET: Any = object()
PARALLEL_MIN_OPS = 60_000  # events; below this a second process costs more than it saves
EXPLAIN_KEYS = 20          # keys explained in full (witness, prefix); the rest get a sentence
EXPLAIN_SECONDS = 2.0      # at most this long on one key's explanation
EXPLAIN_TOTAL = 10.0       # and on all of them (per process)


@dataclass(slots=True)
class Call:
    """One logical op: its invocation, its completion (None: never completed) and their
    positions in the history."""

    invoke: Op
    complete: Op | None
    call: int
    ret: int | None


class KeyHistory:
    """One key's ops: ``calls`` are positions of its invocations in ``ops``; ``ret_at`` maps
    an invocation's position to its completion's (absent: never completed)."""

    __slots__ = ("ops", "calls", "ret_at")

    def __init__(self, ops: list[Op], calls: list[int], ret_at: dict[int, int]):
        self.ops, self.calls, self.ret_at = ops, calls, ret_at

    def call_objects(self, positions: list[int] | None = None) -> list[Call]:
        ops, ret_at = self.ops, self.ret_at
        out = []
        for c in self.calls if positions is None else positions:
            r = ret_at.get(c)
            out.append(Call(ops[c], None if r is None else ops[r], c, r))
        return out


def check_history(ops: list[Op], model: str | Model = "cas-register",
                  timeout: float | None = None, initial: Any = _UNSET, *,
                  source: str = "history", workers: int | None = None) -> dict[str, Any]:
    """Check every key of ``ops``; see the module docstring for the result. ``initial``
    overrides the model's initial state; ``source`` names the history in errors;
    ``workers`` caps the processes (None: 2 for a big history on a machine with 2 cores)."""
    t0 = time.monotonic()
    m = get_model(model)
    init = m.init if initial is _UNSET else freeze(initial)
    deadline = None if timeout is None else t0 + timeout
    # The checker allocates millions of small objects and frees none until it is done; the
    # cyclic GC would walk them again and again (a third of the time on big histories).
    gc_was = gc.isenabled()
    gc.disable()
    try:
        by_key = index_history(ops, m, source)
        names = _key_names(list(by_key))
        order = sorted(by_key, key=lambda k: len(by_key[k].calls))
        n_workers = _workers(workers, len(ops), len(by_key))
        if n_workers > 1:
            results = _check_parallel(by_key, order, m, init, deadline, source)
        else:
            results = _check_keys(by_key, order, m, init, deadline, source)
    finally:
        if gc_was:
            gc.enable()
    keys = {names[k]: results[k] for k in by_key}
    undecided = [n for n, r in keys.items() if r["valid"] == "unknown"]
    valid = _merge([k["valid"] for k in keys.values()])
    error = None
    if undecided:
        decided = [k for k in keys if k not in undecided]
        why = (f"timed out after {timeout:g} s" if timeout is not None
               and time.monotonic() >= (deadline or 0) else "some keys could not be checked")
        error = (f"{why}; decided {len(decided)} of {len(keys)} keys"
                 + (f" ({_names(decided)})" if decided else ""))
    explained = sum(r.get("explain_seconds", 0.0) for r in keys.values())
    return {"valid": valid, "model": m.name, "seconds": time.monotonic() - t0, "keys": keys,
            "error": error, "explain_seconds": explained}


class LinearizableChecker:
    """The ``linearizable`` checker plugin: ``check(test, ops)`` is ``check_history``.
    ``initial`` as in check_history (omitted: the model's)."""

    def __init__(self, model: str | Model = "cas-register", timeout: float | None = None,
                 initial: Any = _UNSET):
        get_model(model)  # fail at construction, not after the run
        self.model, self.timeout, self.initial = model, timeout, initial

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        return check_history(ops, model=self.model, timeout=self.timeout,
                             initial=self.initial)


# --- reading the history --------------------------------------------------------------------

def index_history(ops: list[Op], m: Model, source: str = "history") -> dict[Any, KeyHistory]:
    """Client invocations by key (first-seen order), paired with their completions. Raises
    HistoryFormatError for a history that does not pair up."""
    if m.partition is not None and getattr(m.partition, "__name__", "") == "_by_key":
        try:
            return _index_by_key(ops)
        except _Unpaired:
            pass  # the careful loop below says exactly what is wrong
    return _index_careful(ops, m, source)


class _Unpaired(Exception):
    pass


def _index_by_key(ops: list[Op]) -> dict[Any, KeyHistory]:
    """The hot path: one tight loop, no per-op checks beyond what pairing needs; anything
    odd raises _Unpaired and the careful loop takes over."""
    by_key: dict[Any, list[int]] = {}
    ret_at: dict[int, int] = {}
    open_: dict[Any, int] = {}
    pop = open_.pop
    try:
        for pos, op in enumerate(ops):
            p = op.process
            if op.type == INVOKE:
                if p in open_:
                    raise _Unpaired
                if p == NEMESIS:
                    continue
                open_[p] = pos
                k = op.key
                if k is not None and type(k) is not int and type(k) is not str:
                    k = freeze(k)
                lst = by_key.get(k)
                if lst is None:
                    by_key[k] = [pos]
                else:
                    lst.append(pos)
            elif p != NEMESIS:
                ret_at[pop(p)] = pos
    except KeyError:
        raise _Unpaired from None
    for c, r in ret_at.items():
        if ops[c].f != ops[r].f:
            raise _Unpaired
    return {k: KeyHistory(ops, calls, ret_at) for k, calls in by_key.items()}


def _index_careful(ops: list[Op], m: Model, source: str) -> dict[Any, KeyHistory]:
    by_key: dict[Any, list[int]] = {}
    ret_at: dict[int, int] = {}
    open_: dict[Any, int] = {}
    part = m.partition
    for pos, op in enumerate(ops):
        p = op.process
        if p == NEMESIS:
            continue
        if op.type == INVOKE:
            if p in open_:
                prev = ops[open_[p]]
                raise _bad(source, op, f"process {p} invoked {op.f} while its {prev.f} "
                                       f"(op index {prev.index}) had not completed")
            open_[p] = pos
            k = None if part is None else freeze(part(op))
            by_key.setdefault(k, []).append(pos)
            continue
        c = open_.pop(p, None)
        if c is None:
            raise _bad(source, op, f"{op.type} {op.f} of process {p} completes no invocation")
        if ops[c].f != op.f:
            raise _bad(source, op, f"process {p} invoked {ops[c].f} but completed {op.f}")
        ret_at[c] = pos
    return {k: KeyHistory(ops, calls, ret_at) for k, calls in by_key.items()}


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


def prepare_entries(calls: list[Call], m: Model, source: str = "history",
                    cut: int | None = None, relaxed: set[int] | None = None) -> list[Entry]:
    """Search entries for one key: failed ops and crashed ops with no effect dropped. With
    ``cut`` (a history position), the history up to and including it: later invocations
    are gone, and ops not completed by then count as crashed. Calls whose position is in
    ``relaxed`` count as crashed too (checkers.explain)."""
    entries: list[Entry] = []
    for c in calls:
        if cut is not None and c.call > cut:
            break
        done = c.complete
        if done is not None and done.type == FAIL:
            continue
        ok = (done is not None and done.type == OK
              and (cut is None or c.ret <= cut)  # type: ignore[operator]
              and (relaxed is None or c.call not in relaxed))
        step = _step(m, c.invoke, done.value if ok and done else UNKNOWN, source,
                     done if ok and done else c.invoke)
        if step is None or (not ok and is_pure(step)):
            continue  # no effect, and (crashed) nothing observed
        entries.append(Entry(c.call, c.ret if ok else None, step, c))
    return entries


def _step(m: Model, inv: Op, out: Any, source: str, where: Op) -> Any:
    if inv.f not in m.fs:
        raise ConfigError(f"model {m.name!r} does not know f {inv.f!r} (op index "
                          f"{inv.index}); it knows {', '.join(m.fs)}")
    try:
        return m.prepare(inv.f, inv.value, out)
    except ModelError as e:
        raise _bad(source, where, str(e)) from None


def _bad(source: str, op: Op, reason: str) -> HistoryFormatError:
    line = (op.extra or {}).get("line")
    return HistoryFormatError(source, line if isinstance(line, int) else None,
                              reason if line else f"{reason} (op index {op.index})")


# --- deciding one key -----------------------------------------------------------------------

@dataclass
class Verdict:
    """What deciding a set of entries found: ``valid``, the ``method`` that decided it, and
    the zone conflict or search outcome behind a False."""

    valid: bool
    method: str
    zone: ZoneOutcome | None = None
    outcome: Outcome | None = None


def decide(entries: list[Entry], m: Model, init: Any, deadline: float | None) -> Verdict:
    """Zones when the model and the values allow, else the search (may raise
    SearchTimeout)."""
    if m.unique_writes:
        z = check_unique_steps([e.call for e in entries], [e.ret for e in entries],
                               [e.step for e in entries], init)
        if z is not None:
            return Verdict(z.valid, "zones", zone=z)
    out = search(entries, init, deadline, canon=_canon(m))
    return Verdict(out.valid, "search", outcome=out)


def _canon(m: Model) -> Any:
    if m.equal is None:
        return None
    seen: list[Any] = []
    equal = m.equal

    def canon(state: Any) -> Any:
        for s in seen:
            if equal(s, state):
                return s
        seen.append(state)
        return state
    return canon


Columns = tuple[list[int], list[int], list[int], list[Any], list[Any]]


def key_columns(kh: KeyHistory, m: Model, source: str) -> Columns:
    """One key's ops as columns (rets, calls, kinds, arg_a, arg_b), crashed ret = INF:
    prepare_entries without Call or Entry objects, the hot path of every check."""
    ops, ret_at = kh.ops, kh.ret_at
    rets: list[int] = []
    calls: list[int] = []
    kinds: list[int] = []
    arg_a: list[Any] = []
    arg_b: list[Any] = []
    fk = m.register_kinds
    for c in kh.calls:
        inv = ops[c]
        r = ret_at.get(c)
        if r is None:
            ok, ret = False, INF
        else:
            done = ops[r]
            t = done.type
            if t == OK:
                ok, ret = True, r
            elif t == FAIL:
                continue
            else:
                ok, ret = False, INF
        f = inv.f
        kind = fk.get(f) if fk is not None else None
        if kind == READ:
            if not ok:
                continue  # a crashed read observed nothing
            a = done.value
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            b = None
        elif kind == WRITE:
            a = done.value if ok else None
            if a is None:
                a = inv.value
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            b = None
        elif kind == CAS and type(v := (done.value if ok and done.value is not None
                                         else inv.value)) is list and len(v) == 2:
            a, b = v
            if a is not None and type(a) is not int and type(a) is not str:
                a = freeze(a)
            if b is not None and type(b) is not int and type(b) is not str:
                b = freeze(b)
            if not ok and a == b:
                continue  # a crashed cas [a a] observed nothing, changed nothing
        else:
            step = _step(m, inv, done.value if ok else UNKNOWN, source,
                         done if ok else inv)
            if step is None or (not ok and is_pure(step)):
                continue
            kind, a, b = step
        rets.append(ret)
        calls.append(c)
        kinds.append(kind)
        arg_a.append(a)
        arg_b.append(b)
    return rets, calls, kinds, arg_a, arg_b


def _entries(cols: Columns) -> list[Entry]:
    rets, calls, kinds, arg_a, arg_b = cols
    return [Entry(c, None if r == INF else r, (k, a, b), None)
            for r, c, k, a, b in zip(rets, calls, kinds, arg_a, arg_b)]


def check_key(kh: KeyHistory, m: Model, init: Any, deadline: float | None, source: str,
              explain_budget: float | None) -> dict[str, Any]:
    """One key's result dict. ``explain_budget``: seconds for a full explanation (None:
    only a sentence)."""
    from checkers.linearizable import explain  # explain imports this module

    n = len(kh.calls)
    try:
        t0 = time.monotonic()
        cols = key_columns(kh, m, source)
        v = None
        if m.unique_writes:
            z = zones(cols[0], cols[1], list(cols[2]), cols[3], cols[4], init)
            if z is not None:
                if z.valid:
                    return _key_result(True, n, method="zones", prefix_ops=n)
                v = Verdict(False, "zones", zone=z)
        entries = _entries(cols)
        if v is None:
            try:
                v = _search_verdict(entries, m, init, deadline)
            except SearchTimeout as e:
                return explain.timed_out(kh, m, e)
        t1 = time.monotonic()
        if v.valid:
            return _key_result(True, n, method=v.method, prefix_ops=n)
        res = explain.explain_key(kh, m, init, entries, v, deadline, explain_budget, source,
                                  t1 - t0)
        res["explain_seconds"] = time.monotonic() - t1
        return res
    except (HistoryFormatError, ConfigError):
        raise
    except Exception as e:  # a checker bug must not sink the other keys
        log.error("checking a key failed: %s", traceback.format_exc())
        return _key_result("unknown", n, f"the checker failed on this key: "
                                         f"{type(e).__name__}: {e}")


def _search_verdict(entries: list[Entry], m: Model, init: Any,
                    deadline: float | None) -> Verdict:
    out = search(entries, init, deadline, canon=_canon(m))
    return Verdict(out.valid, "search", outcome=out)


def _check_keys(by_key: dict[Any, KeyHistory], order: list[Any], m: Model, init: Any,
                deadline: float | None, source: str) -> dict[Any, dict[str, Any]]:
    results: dict[Any, dict[str, Any]] = {}
    explained = 0
    spent = 0.0
    for key in order:
        kh = by_key[key]
        if deadline is not None and time.monotonic() > deadline:
            results[key] = _key_result("unknown", len(kh.calls), "not checked: out of time")
            continue
        budget = (min(EXPLAIN_SECONDS, EXPLAIN_TOTAL - spent)
                  if explained < EXPLAIN_KEYS and spent < EXPLAIN_TOTAL else None)
        r = check_key(kh, m, init, deadline, source, budget)
        if r["valid"] is False:
            explained += 1
            spent += r.get("explain_seconds", 0.0)
        results[key] = r
    return results


# --- two processes --------------------------------------------------------------------------

def _workers(asked: int | None, n_ops: int, n_keys: int) -> int:
    if asked is not None:
        return max(1, min(asked, 2, n_keys))
    if n_ops < PARALLEL_MIN_OPS or n_keys < 2 or (os.cpu_count() or 1) < 2:
        return 1
    # fork copies one thread: with others running, a lock one of them holds (logging's)
    # could be held forever in the child. `splitbrain check` has one thread.
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return 2


def _check_parallel(by_key: dict[Any, KeyHistory], order: list[Any], m: Model, init: Any,
                    deadline: float | None, source: str) -> dict[Any, dict[str, Any]]:
    """Half the keys (by op count) in a forked child, half here. The child inherits the
    history (fork: nothing is pickled on the way in) and sends back plain result dicts. A
    child that dies is not fatal: its keys are checked here."""
    halves: list[list[Any]] = [[], []]
    load = [0, 0]
    for key in sorted(order, key=lambda k: -len(by_key[k].calls)):
        i = 0 if load[0] <= load[1] else 1
        halves[i].append(key)
        load[i] += len(by_key[key].calls)
    mine = [k for k in order if k in set(halves[0])]
    theirs = [k for k in order if k in set(halves[1])]
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            res = _check_keys(by_key, theirs, m, init, deadline, source)
            send.send(("ok", list(res.items())))
        except BaseException as e:  # noqa: B036 - report anything to the parent
            send.send(("error", e))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        results = _check_keys(by_key, mine, m, init, deadline, source)
        try:
            status, payload = recv.recv()
        except (EOFError, OSError):
            status, payload = "died", None
    finally:
        recv.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    if status == "error":
        raise payload
    if status == "ok":
        results.update(payload)
    else:
        log.warning("the checker's second process died; checking its keys here")
        results.update(_check_keys(by_key, theirs, m, init, deadline, source))
    return results


# --- results --------------------------------------------------------------------------------

def _key_result(valid: bool | str, op_count: int, explanation: str | None = None,
                ops: list[dict[str, Any]] | None = None, *, method: str | None = None,
                prefix_ops: int | None = None) -> dict[str, Any]:
    return {"valid": valid, "op_count": op_count, "explanation": explanation, "ops": ops,
            "prefix_ops": prefix_ops, "method": method}


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
