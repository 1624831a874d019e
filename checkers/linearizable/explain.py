"""Why a key is not linearizable: a prefix, a minimal witness and a sentence.

For a non-linearizable key, within a time budget:

1. The longest linearizable prefix. Cut the key's history at position t: ops invoked later
   are gone, ops still open at t count as crashed (they may or may not have taken effect),
   failed ops are gone as always. Adding events only adds constraints (an invocation adds an
   optional op, an ok completion pins one down), so "the cut at t is linearizable" is
   monotone in t, and a binary search over the ok completions finds the first one, t*, that
   breaks it. ``prefix_ops`` counts the key's ops invoked before the op completing at t*
   was: up to that invocation the key is linearizable, and that op is where it breaks.

2. A minimal witness. A set W of ops such that the cut at t*, with every op outside W
   *relaxed* to crashed (it may have taken effect at any time after its invocation, or not
   at all), is still not linearizable. Relaxing only removes constraints, so that proves the
   whole history non-linearizable: W is a witness no matter what the other ops did. (Merely
   deleting ops would not do: deleting the write a read saw makes a "violation" that is not
   there.) Greedy delta debugging (Zeller's ddmin: drop chunks, then single ops, while it
   still fails) shrinks W from everything before t*, bounded in time; when time runs out W
   still fails, it is just not minimal. The witness is reported as its ops' invocations and
   completions (``ops``).

3. A sentence, from the zone conflict (zones) of the witness, or from where the
   search got stuck on it (search): "read of key 3 returned 4 at 12.031 s, but
   write of 5 by process 1 had completed at 11.902 s, before the read began (at 12.002 s)
   and after write of 4 by process 0 had completed (at 11.500 s), and no later write of 4
   could have happened".

Keys beyond the budget get the sentence on the whole key and the ops it names. Every
invalid key's result has ``witness``: the invocation indices of the minimal witness, or of
the ops the sentence names when there was no time for one.

This module imports the lower ones (index, decide, result, models, search, zones), never
the package: the checker (checkers.linearizable.checker) calls it.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from checkers.linearizable.decide import Verdict, decide
from checkers.linearizable.index import KeyHistory, columns
from checkers.linearizable.models import CAS, READ, UNKNOWN, WRITE, Model, show
from checkers.linearizable.result import KeyResult, key_result
from checkers.linearizable.search import Entry, Outcome, SearchTimeout
from checkers.linearizable.zones import Conflict
from harness.history import FAIL, OK, Op, Pair

__all__ = ["explain_key", "longest_prefix", "minimal_witness", "timed_out", "when_"]

MAX_OPS = 50  # op dicts reported for an invalid key


def explain_key(kh: KeyHistory, m: Model, init: Any, v: Verdict, deadline: float | None,
                budget: float | None, source: str, decide_seconds: float = 0.0) -> KeyResult:
    """The result of a key found non-linearizable (``v``, decided in ``decide_seconds``)."""
    calls = kh.pairs
    entries = v.entries
    by_pos = {c.i: c for c in calls}
    key = calls[0].invoke.key if calls else None
    n = len(calls)
    if budget is None:
        return _named_result(v, entries, by_pos, calls, m, init, key, n, None)
    end = time.monotonic() + budget
    if deadline is not None:
        end = min(end, deadline + budget / 4)  # a little past the deadline, to say why
    hint = v.outcome.blocked.ret if v.outcome is not None and v.outcome.blocked else None
    cut = longest_prefix(kh, m, init, end, source, hint)
    prefix_ops = None if cut is None else _prefix_ops(calls, cut)
    pool = [c for c in calls if c.j is not None and c.type == OK and (cut is None or c.j <= cut)]
    cap = None if v.method == "zones" else max(0.005, 10 * decide_seconds)
    witness = minimal_witness(kh, pool, m, init, cut, end, source, cap)
    relaxed = {c.i for c in calls} - {c.i for c in witness}
    try:
        wv: Verdict | None = decide(columns(kh.cut(cut, relaxed), m, source), m, init, end)
    except SearchTimeout:
        wv = None
    if wv is None or wv.valid:  # cannot happen unless time ran out: say what we know
        return _named_result(v, entries, by_pos, calls, m, init, key, n, prefix_ops)
    text = sentence(wv, wv.entries, by_pos, m, init, key)
    # The sentence may name ops outside the witness (a write of the value a witness read
    # saw: relaxed, but still needed): list their invocations too, marked "relaxed".
    inside = {c.i for c in witness}
    named = [c for c in _named_calls(wv, wv.entries, by_pos, calls, m, init, key)
             if c.i not in inside]
    ops = _op_dicts(witness, cut, named)
    return key_result(False, n, text, ops, method=v.method, prefix_ops=prefix_ops,
                      witness=_indices(witness or calls))


def _named_result(v: Verdict, entries: list[Entry], by_pos: dict[int, Pair],
                  calls: list[Pair], m: Model, init: Any, key: Any, n: int,
                  prefix_ops: int | None) -> KeyResult:
    """The sentence on the whole key, and the ops it names as its witness (those that fit
    in ``ops``: the ones a reader is shown)."""
    text = sentence(v, entries, by_pos, m, init, key)
    named = _named_calls(v, entries, by_pos, calls, m, init, key)
    ops = _op_dicts(named, None)
    shown = {d["index"] for d in ops if d["type"] == "invoke"}
    witness = _indices([c for c in named if c.invoke.index in shown] or named or calls)
    return key_result(False, n, text, ops, method=v.method, prefix_ops=prefix_ops,
                      witness=witness)


def _indices(calls: list[Pair]) -> list[int]:
    """The op indices of the invocations of ``calls``, sorted."""
    return sorted(c.invoke.index for c in calls)


def _prefix_ops(calls: list[Pair], ret: int) -> int:
    """The ops invoked before the op that completes at position ``ret`` was: the history up
    to that invocation is linearizable when the cut just before ``ret`` is."""
    breaking = next((c.i for c in calls if c.j == ret), ret)
    return sum(1 for c in calls if c.i < breaking)


def timed_out(kh: KeyHistory, e: SearchTimeout) -> KeyResult:
    """An undecided key: what the search had learned when its time ran out."""
    n = len(kh)
    prefix = _prefix_ops(kh.pairs, e.frontier) if e.frontier >= 0 else 0
    return key_result("unknown", n, f"timed out: {e}; the history up to the first {prefix} "
                                    f"of its {n} ops is linearizable",
                      method="search", prefix_ops=prefix)


# --- prefix and witness ---------------------------------------------------------------------

def _fails(kh: KeyHistory, m: Model, init: Any, end: float, source: str,
           cut: int | None = None, relaxed: set[int] | None = None) -> bool | None:
    """True: not linearizable; False: linearizable; None: out of time."""
    if time.monotonic() > end:
        return None
    try:
        return not decide(columns(kh.cut(cut, relaxed), m, source), m, init, end).valid
    except SearchTimeout:
        return None


def longest_prefix(kh: KeyHistory, m: Model, init: Any, end: float,
                   source: str = "history", hint: int | None = None) -> int | None:
    """The position t* of the ok completion at which the key stops being linearizable (see
    the module docstring), or None if time ran out. ``hint``: a guess (the return the search
    got stuck at), tried first: two checks instead of a binary search when it is right."""
    rets = sorted(c.j for c in kh.pairs if c.j is not None and c.type == OK)
    if not rets:
        return None
    lo, hi = 0, len(rets) - 1  # invariant: the cut at rets[hi] fails
    if hint is not None and hint in rets:
        j = rets.index(hint)
        if _fails(kh, m, init, end, source, cut=hint):
            if j == 0 or _fails(kh, m, init, end, source, cut=rets[j - 1]) is False:
                return hint
            hi = j
        else:
            lo = j + 1
    while lo < hi:
        mid = (lo + hi) // 2
        f = _fails(kh, m, init, end, source, cut=rets[mid])
        if f is None:
            return None
        if f:
            hi = mid
        else:
            lo = mid + 1
    return rets[lo]


def minimal_witness(kh: KeyHistory, pool: list[Pair], m: Model, init: Any,
                    cut: int | None, end: float, source: str = "history",
                    check_cap: float | None = None) -> list[Pair]:
    """ddmin over ``pool``: a small subset W that still fails with every other op relaxed.
    ``check_cap`` bounds one check: relaxing many ops can make the search wander, and a
    check that runs out of time keeps the ops (W stays a witness, maybe not a minimal one).
    """
    everyone = {c.i for c in kh.pairs}

    def fails(subset: list[Pair]) -> bool:
        keep = {c.i for c in subset}
        stop = end if check_cap is None else min(end, time.monotonic() + check_cap)
        return _fails(kh, m, init, stop, source, cut=cut, relaxed=everyone - keep) is True

    return ddmin(pool, fails, end)


def ddmin(items: list[Any], fails: Callable[[list[Any]], bool], end: float) -> list[Any]:
    """Zeller's ddmin: a 1-minimal failing subset of ``items`` (which fails), or the smallest
    found before ``end``."""
    n = 2
    while len(items) >= 2 and time.monotonic() < end:
        size = math.ceil(len(items) / n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for ch in chunks:  # reduce to a chunk
            if len(ch) < len(items) and fails(ch):
                items, n = ch, 2
                break
        else:
            for i in range(len(chunks)):  # reduce to a complement
                rest = [x for j, ch in enumerate(chunks) if j != i for x in ch]
                if fails(rest):
                    items, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(items):
                    break
                n = min(len(items), 2 * n)
    return items


def _op_dicts(calls: list[Pair], cut: int | None, relaxed: list[Pair] | None = None
              ) -> list[dict[str, Any]]:
    """Invocations and completions (up to ``cut``) of ``calls``, and the invocations of
    ``relaxed`` marked ``"relaxed": true``, in history order, at most MAX_OPS dicts."""
    out: list[tuple[int, dict[str, Any]]] = []
    budget = MAX_OPS
    for c in sorted(calls, key=lambda c: c.i):
        j = c.j if c.j is not None and (cut is None or c.j <= cut) else None
        cost = 1 if j is None else 2
        if cost > budget:
            break
        budget -= cost
        out.append((c.i, c.invoke.to_dict()))
        if j is not None and c.complete is not None:
            out.append((j, c.complete.to_dict()))
    for c in sorted(relaxed or [], key=lambda c: c.i)[:budget]:
        out.append((c.i, c.invoke.to_dict() | {"relaxed": True}))
    return [d for _, d in sorted(out, key=lambda t: t[0])]


def _named_calls(v: Verdict, entries: list[Entry], by_pos: dict[int, Pair],
                 calls: list[Pair], m: Model, init: Any, key: Any) -> list[Pair]:
    """The ops a sentence about ``v`` names: the conflict's ops and the cas chains of its
    blocks, or the search's blocked op and the writers of the states it met."""
    picked: list[Pair] = []
    if v.zone is not None and v.zone.conflict is not None:
        c = v.zone.conflict
        w = _Words(m, entries, by_pos, init, key)
        idx = list(c.ops)
        for side, root in zip(("a", "b"), c.ops):
            d = c.detail.get(side) or {}
            last = d.get("last_call", -1)
            idx += [d.get("first_ret", -1), last]
            if last >= 0:
                idx += w.chain(root, last)
        for i in idx:
            if 0 <= i < len(entries):
                call = _call(entries[i], by_pos)
                if call not in picked:
                    picked.append(call)
    elif v.outcome is not None:
        picked = _involved(v.outcome, entries, by_pos, calls)
    return picked


def _involved(out: Outcome, entries: list[Entry], by_pos: dict[int, Pair],
              calls: list[Pair]) -> list[Pair]:
    """The blocked op, the writers of the states it met, and the ops concurrent with it
    (nearest first)."""
    if out.blocked is None:
        return []
    b = _call(out.blocked, by_pos)
    chosen = [b] + [_call(w, by_pos) for w in out.states.values() if w is not None]
    near = [c for c in calls if c.i < (b.j or 0) and (c.j is None or c.j > b.i)
            and (c.complete is None or c.complete.type != FAIL)]
    near.sort(key=lambda c: abs(c.i - b.i))
    picked: list[Pair] = []
    for c in chosen + near:
        if c not in picked:
            picked.append(c)
    return picked


def _call(e: Entry, by_pos: dict[int, Pair]) -> Pair:
    return by_pos[e.call]


# --- sentences ------------------------------------------------------------------------------

def when_(op: Op) -> str:
    if op.time >= 0:
        return f"{op.time / 1e9:.3f} s"
    line = (op.extra or {}).get("line")
    return f"line {line}" if line else f"op index {op.index}"


class _Words:
    """Phrases about the entries of one decided history."""

    def __init__(self, m: Model, entries: list[Entry], by_pos: dict[int, Pair], init: Any,
                 key: Any):
        self.m, self.entries, self.by_pos, self.init = m, entries, by_pos, init
        self.of_key = "" if key is None else f" of key {show(key)}"

    def call(self, i: int) -> Pair:
        return _call(self.entries[i], self.by_pos)

    def ok(self, i: int) -> bool:
        return self.entries[i].ret is not None

    def out(self, i: int) -> Any:
        c = self.call(i)
        return c.complete.value if self.ok(i) and c.complete is not None else UNKNOWN

    def t_call(self, i: int) -> str:
        return when_(self.call(i).invoke)

    def t_ret(self, i: int) -> str:
        c = self.call(i)
        return when_(c.complete) if c.complete is not None else "never"

    def what(self, i: int) -> str:
        """``write of 5 by process 1``"""
        c = self.call(i)
        inv = c.invoke
        return f"{self.m.describe_op(inv.f, inv.value, self.out(i))} by process {inv.process}"

    def did(self, i: int) -> str:
        """``read of key 3 returned 4``, ``cas of key 3 from 4 to 5 succeeded``"""
        kind, a, b = self.entries[i].step
        f = self.call(i).invoke.f
        if kind == READ or (kind == CAS and a == b and f != "cas"):
            return f"{f}{self.of_key} returned {show(a)}"
        if kind == CAS:
            return f"{f}{self.of_key} from {show(a)} to {show(b)} succeeded"
        return f"{self.what(i)}{self.of_key} completed"

    def did_at(self, i: int) -> str:
        if self.ok(i):
            return f"{self.did(i)} at {self.t_ret(i)}"
        return f"{self.what(i)}{self.of_key} (invoked at {self.t_call(i)}, outcome unknown)"

    def observed(self, i: int) -> Any:
        kind, a, _ = self.entries[i].step
        return a if kind in (READ, CAS) else UNKNOWN

    def result(self, i: int) -> Any:
        kind, a, b = self.entries[i].step
        return a if kind == WRITE else b if kind == CAS and a != b else UNKNOWN

    def describe(self, c: Pair) -> str:
        inv = c.invoke
        return (f"{self.m.describe_op(inv.f, inv.value, UNKNOWN)} by process "
                f"{inv.process}")

    def writer_after(self, v: Any, ret: int | None) -> Pair | None:
        """A call of the whole key (not only these entries) that writes ``v``, invoked after
        position ``ret``, and not failed: what a cut history left out."""
        if ret is None:
            return None
        for c in sorted(self.by_pos.values(), key=lambda c: c.i):
            if c.i <= ret or (c.complete is not None and c.complete.type == FAIL):
                continue
            try:
                step = self.m.prepare(c.invoke.f, c.invoke.value, UNKNOWN)
            except Exception:  # any op the model cannot read is no writer
                continue
            if step is not None and step[0] in (WRITE, CAS) and (
                    step[1] if step[0] == WRITE else step[2]) == v:
                return c
        return None

    def value(self, root: int) -> str:
        return show(self.init) if root < 0 else show(self.entries[root].step[1])

    def chain(self, root: int, last: int) -> list[int]:
        """The cas ops that lead from ``root``'s value to the one ``last`` observes."""
        consumer = {}
        for i, e in enumerate(self.entries):
            k, a, b = e.step
            if k == CAS and a != b:
                consumer[a] = i
        v = self.init if root < 0 else self.entries[root].step[1]
        target = self.observed(last)
        out: list[int] = []
        while v != target and v in consumer and len(out) < len(self.entries):
            c = consumer[v]
            out.append(c)
            v = self.entries[c].step[2]
        return out if v == target else []

    def held(self, root: int, last: int) -> str:
        """``4``, or ``4, then 5 (from cas from 4 to 5 by process 2)`` along a cas chain."""
        text = self.value(root)
        for c in self.chain(root, last)[:3]:
            text += f", then {show(self.entries[c].step[2])} (from {self.what(c)})"
        return text

    def since(self, i: int) -> str:
        return "the start" if i < 0 else f"{self.t_ret(i)} (when {self.what(i)} completed)"

    def until(self, i: int) -> str:
        return f"{self.t_call(i)} (when {self.what(i)} began)"


def sentence(v: Verdict, entries: list[Entry], by_pos: dict[int, Pair], m: Model, init: Any,
             key: Any) -> str:
    """One sentence on why ``entries`` (decided by ``v``) cannot be linearized."""
    w = _Words(m, entries, by_pos, init, key)
    if v.zone is not None and v.zone.conflict is not None:
        return _zone_sentence(v.zone.conflict, w)
    if v.outcome is not None:
        return _search_sentence(v.outcome, w)
    return "no linearization exists"


def _zone_sentence(c: Conflict, w: _Words) -> str:
    noun = w.m.noun
    if c.kind == "unwritten":
        (x,) = c.ops
        later = w.writer_after(c.value, w.entries[x].ret)
        if later is not None:
            return (f"{w.did_at(x)}, but no op had written {show(c.value)} by then: the only "
                    f"write of it, {w.describe(later)}, was invoked later, at "
                    f"{when_(later.invoke)}")
        return f"{w.did_at(x)}, but no op wrote {show(c.value)}"
    if c.kind == "double":
        x, y = c.ops
        return (f"{w.did_at(x)} and {w.did_at(y)}, but {show(c.value)} was written once, so "
                f"only one cas can have found it")
    if c.kind == "cycle":
        return (f"{', '.join(w.what(i) for i in c.ops[:4])} must all have happened, but each "
                f"needs a value that only another of them writes")
    if c.kind == "order":
        x, y = c.ops
        obs = w.observed(x)
        if obs is not UNKNOWN and w.result(y) == obs:
            return (f"{w.did_at(x)}, but the only write of {show(obs)}, {w.what(y)}, was "
                    f"invoked later, at {w.t_call(y)}")
        if w.entries[y].step[0] == READ:
            u = w.observed(y)
            gone = ("it swapped that value out" if w.observed(x) == u
                    else f"it came after {show(u)} had been swapped out")
            return (f"{w.did_at(y)}, but {w.what(x)} had completed at {w.t_ret(x)}, before "
                    f"the {w.call(y).invoke.f} began (at {w.t_call(y)}); {gone}, and no "
                    f"later write of {show(u)} could have happened")
        return (f"{w.did_at(x)}, before {w.what(y)} was invoked (at {w.t_call(y)}), but it "
                f"must come after it: each value is written once, so the chain of cas "
                f"through {show(c.value)} has one order")
    a, b = c.detail["a"], c.detail["b"]
    ra, rb = c.ops
    a1, a2, b1, b2 = a["first_ret"], a["last_call"], b["first_ret"], b["last_call"]
    if c.kind == "overlap":
        return (f"the {noun}{w.of_key} must have held {w.held(ra, a2)} from {w.since(a1)} "
                f"until {w.until(a2)}, and {w.held(rb, b2)} from {w.since(b1)} until "
                f"{w.until(b2)}; "
                f"those spans overlap, and each value is written once, so neither can have "
                f"followed the other")
    # inside: the block of rb fits in the span the block of ra must hold the register
    obs = w.observed(a2)
    if b1 == b2 == rb and w.ok(rb) and obs is not UNKNOWN:
        after = (f" and after {w.what(a1)} had completed (at {w.t_ret(a1)})" if a1 >= 0
                 else "")
        again = (f"no later write of {show(obs)} could have happened" if a1 >= 0 or
                 obs != w.init else f"nothing could have put {show(obs)} back")
        return (f"{w.did_at(a2)}, but {w.what(rb)} had completed at {w.t_ret(rb)}, before "
                f"the {w.call(a2).invoke.f} began (at {w.t_call(a2)}){after}, and {again}")
    return (f"{w.value(rb)} must have been the value{w.of_key} at some moment between "
            f"{w.until(b2)} and {w.since(b1)}, but the {noun} had to hold {w.held(ra, a2)} from "
            f"{w.since(a1)} until {w.until(a2)}, the whole of that time, and each value is "
            f"written once")


def _search_sentence(out: Outcome, w: _Words) -> str:
    """From the search's frontier: the op it could get past least far, and what the object
    could hold when that op had to take effect."""
    b = out.blocked
    if b is None:
        return "no linearization exists"
    i = w.entries.index(b)
    shown = [f"{w.m.describe_state(s)} ({_writer(w, e)})"
             for s, e in list(out.states.items())[:4]]
    if len(out.states) > 4:
        shown.append(f"{len(out.states) - 4} other values")
    held = " or ".join(shown) or "nothing"
    c = w.call(i)
    end = (", never completed" if c.complete is None
           else f", {c.complete.type} at {when_(c.complete)}")
    head = (f"no linearization explains {w.what(i)} (invoked at {w.t_call(i)}{end})")
    kind, a, _ = b.step
    if kind == READ:
        one = len(out.states) == 1
        return (f"{head}: the value{'' if one else 's'} it could have read "
                f"{'was' if one else 'were'} {held}")
    tail = f", never {show(a)}" if kind == CAS and a not in out.states else ""
    return f"{head}: when it could take effect, the {w.m.noun} held {held}{tail}"


def _writer(w: _Words, e: Entry | None) -> str:
    """Where a state came from: ``write of 5 by process 1, ok at 11.902 s``."""
    if e is None:
        return "the initial value"
    i = w.entries.index(e)
    c = w.call(i)
    if w.ok(i) and c.complete is not None:
        return f"{w.what(i)}, ok at {when_(c.complete)}"
    if c.complete is None:
        fate = "never completed"
    elif c.complete.type == OK:  # relaxed for the witness, or completed after the cut
        fate = "outcome left open"
    else:
        fate = f"crashed: {c.complete.type} at {when_(c.complete)}"
    return f"{w.what(i)}, invoked at {when_(c.invoke)}, {fate}"
