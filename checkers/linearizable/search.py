"""The linearizability search for one key: Wing & Gong's algorithm with Lowe's cache.

Input is a list of ``Entry`` (one per op that matters: failed ops and crashed reads are
already gone), sorted by invocation. An entry's interval is [call, ret]; a crashed op (info,
or never completed) has ``ret`` None: it may take effect at any point after its call, or
never. The search walks a doubly linked list of call and return events (dancing links):
the ops that may be linearized next are those whose call precedes the first return event
still in the list; linearizing one *lifts* its events out of the list; backtracking puts them
back. A configuration is (completed ops linearized, crashed ops linearized, state); the
history is linearizable iff some path linearizes every completed op.

Pruning, each sound for the reason given (tests/property checks them against brute force):

1. Cache with crash dominance. Configurations (C, K, s) and (C, K', s) with K a subset of K'
   (K: crashed ops linearized): every continuation of the second is a continuation of the
   first, because crashed ops have no return event and so never gate any other op, and the
   end condition only asks for every completed op. So once (C, K, s) is visited, (C, K', s)
   is skipped. This includes the exact-match cache of Lowe (K = K') and the ancestor case (a
   crashed step that did not change the state). Completeness: along a successful path pick
   the continuation with the fewest crashed ops; each pruned successful configuration is
   dominated by a visited one with the same completed set and a continuation with no more
   crashed ops, so the pair (completed ops left, crashed ops needed) strictly decreases
   along visited successful configurations until every completed op is linearized.

2. Greedy pure steps. A completed op whose step never changes the state (a read, a cas
   [a a]) and is valid now is linearized at once with no backtrack point. If any
   continuation succeeds, it contains the op somewhere later, at a point where the state
   equalled the one it observes; moving it to the front keeps every later state (it changes
   none) and breaks no real-time order (every op returning before its call is linearized
   already, else it would not be a candidate). So the configuration with the op linearized
   succeeds iff the one without it does, and backtracking past it goes straight to the parent.
   The cache (lever 1) holds configurations closed under these steps.

3. Order: completed candidates are tried before crashed ones (crashed ops are optional and
   usually not needed). Ordering prunes nothing, so it is sound; it finds witnesses sooner.

4. A crashed op must be observed at once. Take a linearization and a crashed op in it that is
   followed by a write, or by nothing: removing the crashed op leaves a linearization (a
   write does not look at the state; crashed ops are optional). Repeating that, every
   linearizable history has a linearization in which each crashed op is immediately
   followed by an op that observes its result: a read or cas of that value, or an append.
   So a configuration reached by a crashed step continues only with such observers, and a
   crashed op is a candidate only if a chain of crashed observers leads from its result to
   a completed candidate that observes (see crashed_candidates). Those configurations
   explore less, so in the cache they may be dominated by any visited configuration but
   dominate only each other; with that, the completeness argument of lever 1 carries over
   (pick the continuation in the normal form above with the fewest crashed ops).

5. Crashed writes and cas whose result no op observes are dropped up front (the special
   case of 4 that needs no search; see drop_unobserved).

Models without a register-like compilation (set, fifo-queue, your own) give FN steps: the
model's ``step`` bound to the op. The search does not know what such a step looks at, so it
counts as an observer of anything (like an append): lever 4 then only forbids ending on a
crashed op, and lever 5 is off. Levers 1-3 hold for any deterministic model. A model's pure
ops (``pure``) are greedy steps (lever 2) when ``step`` accepts them in the current state.

Crashed reads and crashed pure ops carry no observation and change nothing: the caller
drops them (checkers.linearizable.index). Register and cas-register keys whose written
values are unique do not come here at all: checkers.linearizable.zones decides them in
O(n log n).
"""
from __future__ import annotations

import bisect
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from checkers.linearizable.models import (
    APPEND,
    CAS,
    FN,
    INVALID,
    READ,
    WRITE,
    Step,
    apply_kind,
    is_pure,
)

__all__ = ["INVALID", "Entry", "Outcome", "SearchTimeout", "apply_step", "search"]

_DEADLINE_EVERY = 256  # configurations between two looks at the clock


class SearchTimeout(Exception):
    """Out of time. ``frontier`` is what was learned: the search linearized every completed
    op that returns before history position ``frontier`` (-1: none), so the history cut just
    before that position is linearizable (ops open at the cut count as crashed)."""

    def __init__(self, configs: int, frontier: int = -1):
        super().__init__(f"gave up after {configs} configurations")
        self.configs, self.frontier = configs, frontier


@dataclass(slots=True)
class Entry:
    """One op for the search: ``call``/``ret`` are positions in the history (ret None:
    crashed), ``step`` the model's (kind, a, b). The search's own compact record, not a
    second harness.history.Pair: it holds only what the search reads, the step already
    compiled, and it is built in one place (checkers.linearizable.index), only when a key
    goes to the search (the zone checker reads columns)."""

    call: int
    ret: int | None
    step: Step


@dataclass
class Outcome:
    """valid: True or False. For False, ``blocked`` is the completed op the search could get
    past least far in time, and ``states`` maps each state the object could be in when that
    op had to take effect to the entry that wrote it (None: the initial state)."""

    valid: bool
    configs: int
    blocked: Entry | None = None
    states: dict[Any, Entry | None] = field(default_factory=dict)


def apply_step(state: Any, step: Step) -> Any:
    """The state after ``step``, or ``INVALID``. (The search inlines this.)"""
    return apply_kind(state, step)


def search(entries: list[Entry], init: Any, deadline: float | None = None,
           canon: Any = None) -> Outcome:
    """Is there a linearization of ``entries`` (sorted by call) from state ``init``?
    Raises SearchTimeout once ``time.monotonic()`` passes ``deadline``. ``canon`` maps a
    state to its canonical representative (models with a custom ``equal``)."""
    return _Search(drop_unobserved(entries), init, canon).run(deadline)


class _Search:
    """One search. Only completed ops live in the linked list; crashed ops have no return
    event, so they are kept in call order beside it and become candidates only once a
    configuration has run out of completed ones (lever 3).

    Bit sets: a completed op's bit is its rank in return order, so in any configuration the
    bits below the first return still in the list are all set, and the cache key keeps only
    the bits above it: (that rank, bits >> rank, state). That keeps keys as small as the
    concurrency window, not the history. Crashed ops have their own bit set (rank in call
    order)."""

    def __init__(self, entries: list[Entry], init: Any, canon: Any = None):
        self.entries, self.init, self.canon = entries, init, canon
        n = len(entries)
        self.crashed = crashed = [e.ret is None for e in entries]
        self.kind = kind = [e.step[0] for e in entries]
        self.arg_a = arg_a = [e.step[1] for e in entries]
        self.arg_b = arg_b = [e.step[2] for e in entries]
        self.result = [b if k == CAS else a for k, a, b in zip(kind, arg_a, arg_b)]
        self.pure = [is_pure(e.step) for e in entries]
        # Ops that observe the state: reads and cas look for arg_a; an append observes any
        # state (its result depends on it). Writes observe nothing.
        self.looks = [k in (READ, CAS) for k in kind]
        # A model's own step (FN) may look at anything: it counts as an append here.
        self.grows = [k == APPEND or k == FN for k in kind]
        self.appends = APPEND in kind or FN in kind
        self.has_fn = FN in kind
        self.rets = [e.ret if e.ret is not None else -1 for e in entries]

        done = sorted((e.ret, i) for i, e in enumerate(entries) if e.ret is not None)
        self.late = late = [i for i in range(n) if crashed[i]]  # entries come in call order
        self.rank = rank = [0] * n
        for r, (_, i) in enumerate(done):
            rank[i] = r
        for r, i in enumerate(late):
            rank[i] = r
        # Crashed ops only: a completed op's bit is made when needed (precomputed, they
        # would hold a history-sized int per op).
        self.bits = [1 << rank[i] if crashed[i] else 0 for i in range(n)]
        self.late_calls = [entries[i].call for i in late]
        self.late_call = {i: entries[i].call for i in late}
        self.late_by_result: dict[Any, list[int]] = {}
        for i in late:
            self.late_by_result.setdefault(self.result[i], []).append(i)

        # The event list: head 2n, tail 2n+1 (odd, like return events, so one test ends a
        # walk); op i has call event 2i and return event 2i+1.
        self.head, self.tail = 2 * n, 2 * n + 1
        self.nxt = nxt = [0] * (2 * n + 2)
        self.prv = prv = [0] * (2 * n + 2)
        events = sorted([(entries[i].call, 2 * i) for _, i in done] +
                        [(ret, 2 * i + 1) for ret, i in done])
        order = [self.head] + [ev for _, ev in events] + [self.tail]
        for a, b in itertools.pairwise(order):
            nxt[a], prv[b] = b, a

        # cache key -> crashed-bit sets visited with it (lever 1), apart for configurations
        # that must continue with an observer (lever 4): those explore less, so they may
        # only dominate each other.
        self.free: dict[tuple[int, int, Any], list[int]] = {}
        self.bound: dict[tuple[int, int, Any], list[int]] = {}
        self.frontier = -1
        self.blocked: int | None = None
        self.states: dict[Any, int] = {}

    def lift(self, i: int) -> None:  # completed ops only
        nxt, prv, c = self.nxt, self.prv, 2 * i
        p, q = prv[c], nxt[c]
        nxt[p], prv[q] = q, p
        p, q = prv[c + 1], nxt[c + 1]
        nxt[p], prv[q] = q, p

    def unlift(self, i: int) -> None:  # exact reverse of lift: dancing links need that order
        nxt, prv, c = self.nxt, self.prv, 2 * i
        nxt[prv[c + 1]] = prv[nxt[c + 1]] = c + 1
        nxt[prv[c]] = prv[nxt[c]] = c

    def visit(self, key: tuple[int, int, Any], kbits: int, must_observe: bool) -> bool:
        """Record the configuration; False if a visited one dominates it."""
        seen = self.free.get(key)
        if seen is not None:
            for k in seen:
                if k & kbits == k:
                    return False
        table = self.bound if must_observe else self.free
        if must_observe:
            seen = table.get(key)
            if seen is not None:
                for k in seen:
                    if k & kbits == k:
                        return False
        table.setdefault(key, []).append(kbits)
        return True

    def enter(self, state: Any, cbits: int, kbits: int, writer: int, must_observe: bool
              ) -> tuple[list[int], list[int], int, list[int], int, bool] | bool:
        """Close the configuration under greedy pure steps (lever 2), check the cache, and
        list its completed candidates (only observers of ``state`` if ``must_observe``,
        lever 4). Returns (forced, candidates, cbits, all completed candidates, position
        of the first return, must_observe). True: every completed op is linearized.
        False: dominated (the pure steps taken here are undone)."""
        nxt, pure, arg_a, rank = self.nxt, self.pure, self.arg_a, self.rank
        forced: list[int] = []
        while True:
            comp: list[int] = []
            x = nxt[self.head]
            while not x & 1:
                comp.append(x >> 1)
                x = nxt[x]
            if x == self.tail:
                return True
            if self.has_fn:
                kind = self.kind
                greedy = [i for i in comp if pure[i] and (
                    arg_a[i](state) is not INVALID if kind[i] == FN else arg_a[i] == state)]
            else:
                greedy = [i for i in comp if pure[i] and arg_a[i] == state]
            if not greedy:
                break
            for i in greedy:
                self.lift(i)
                cbits |= 1 << rank[i]
                forced.append(i)
            must_observe = False  # a pure step observes the state: lever 4 is satisfied
        b = x >> 1
        r = self.rank[b]
        if not self.visit((r, cbits >> r, state), kbits, must_observe):
            for i in reversed(forced):
                self.unlift(i)
            return False
        ret = self.rets[b]
        if ret > self.frontier:
            self.frontier, self.blocked = ret, b
            self.states.clear()
        if ret == self.frontier and len(self.states) < 32:
            self.states.setdefault(state, writer)
        # Pure candidates left are invalid in this state (else they would be greedy above).
        if must_observe:
            grows, looks = self.grows, self.looks
            cands = [i for i in comp
                     if not pure[i] and (grows[i] or looks[i] and arg_a[i] == state)]
        else:
            cands = [i for i in comp if not pure[i]]
        return forced, cands, cbits, comp, ret, must_observe

    def crashed_candidates(self, state: Any, kbits: int, comp: list[int], limit: int,
                           must_observe: bool) -> list[int]:
        """Crashed ops invoked before ``limit`` (the first return) and not linearized yet
        that lever 4 allows: in the normal form a crashed op is followed by an observer of
        its result, which if crashed is followed by an observer of *its* result, and so on
        until a completed op; crashed ops change no events, so that completed op is one of
        ``comp`` now. Hence: walk back from the values ``comp`` observes."""
        bits, looks, arg_a = self.bits, self.looks, self.arg_a
        if self.appends:  # an append observes any state: no filter
            late = self.late[:bisect.bisect_left(self.late_calls, limit)]
            avail = [i for i in late if not kbits & bits[i]]
        else:
            avail = []
            todo = list({arg_a[i] for i in comp if looks[i]})
            done: set[Any] = set()
            while todo:
                v = todo.pop()
                if v in done:
                    continue
                done.add(v)
                for i in self.late_by_result.get(v, ()):
                    if self.late_call[i] >= limit:
                        break
                    if not kbits & bits[i]:
                        avail.append(i)
                        if looks[i]:
                            todo.append(arg_a[i])
        if must_observe:
            avail = [i for i in avail if self.grows[i] or looks[i] and arg_a[i] == state]
        return avail

    def run(self, deadline: float | None) -> Outcome:
        """Depth-first over configurations, without recursion. Each stack frame is a
        configuration whose candidates are being tried; ``cbits`` is not saved in frames
        (it would keep one history-sized int per depth alive) but restored by XOR."""
        kind, arg_a, arg_b, bits, rank = self.kind, self.arg_a, self.arg_b, self.bits, self.rank
        crashed, lift, unlift, enter = self.crashed, self.lift, self.unlift, self.enter
        canon = self.canon
        r = enter(self.init, 0, 0, -1, False)
        if r is True:
            return Outcome(True, 1)
        assert r is not False  # the root has nothing to be dominated by
        forced, cands, cbits, comp, limit, must = r
        state, kbits, writer, idx, crash_todo = self.init, 0, -1, 0, True
        stack: list[tuple[Any, ...]] = []
        configs = 0
        while True:
            descended = False
            while True:
                if idx == len(cands):
                    if not crash_todo:
                        break
                    crash_todo = False
                    cands = cands + self.crashed_candidates(state, kbits, comp, limit, must)
                    continue
                i = cands[idx]
                idx += 1
                k = kind[i]
                if k == WRITE:
                    new = arg_a[i]
                elif k == CAS:
                    if state != arg_a[i]:
                        continue
                    new = arg_b[i]
                elif k == APPEND:
                    new = state + arg_a[i]
                elif k == FN:
                    new = arg_a[i](state)
                    if new is INVALID:
                        continue
                    if canon is not None:
                        new = canon(new)
                else:  # a non-pure READ does not exist; anything else is a bug upstream
                    raise ValueError(f"unknown step kind {k}")
                configs += 1
                if deadline is not None and not configs % _DEADLINE_EVERY \
                        and time.monotonic() > deadline:
                    raise SearchTimeout(configs, self.frontier)
                was_crashed = crashed[i]
                if was_crashed:
                    r = enter(new, cbits, kbits | bits[i], i, True)
                else:
                    lift(i)
                    r = enter(new, cbits | 1 << rank[i], kbits, i, False)
                if r is True:
                    return Outcome(True, configs + 1)
                if r is False:
                    if not was_crashed:
                        unlift(i)
                    continue
                stack.append((forced, cands, idx, state, kbits, writer, i, comp, limit, must,
                              crash_todo))
                if was_crashed:
                    kbits |= bits[i]
                forced, cands, cbits, comp, limit, must = r
                state, writer, idx, crash_todo = new, i, 0, True
                descended = True
                break
            if descended:
                continue
            for j in reversed(forced):
                unlift(j)
                cbits ^= 1 << rank[j]
            if not stack:
                return self.outcome(configs + 1)
            (forced, cands, idx, state, kbits, writer, i, comp, limit, must,
             crash_todo) = stack.pop()
            if not crashed[i]:
                unlift(i)
                cbits ^= 1 << rank[i]

    def outcome(self, configs: int) -> Outcome:
        es = self.entries
        return Outcome(False, configs, None if self.blocked is None else es[self.blocked],
                       {s: es[w] if w >= 0 else None for s, w in self.states.items()})


def drop_unobserved(entries: list[Entry]) -> list[Entry]:
    """Without the crashed writes and cas whose result no op ever observes (lever 5).

    Sound: such an op, if linearized, is followed by a write or by nothing (a read or cas
    after it would observe its result; there are no appends, which observe anything), so
    removing it from a linearization leaves a linearization; and crashed ops are optional.
    Dropping a crashed cas removes an observer, hence the loop to a fixed point."""
    if any(e.step[0] == APPEND or e.step[0] == FN for e in entries):
        return entries
    while True:
        observed = {e.step[1] for e in entries if e.step[0] in (READ, CAS)}
        keep = [e for e in entries
                if e.ret is not None or _result(e.step) in observed]
        if len(keep) == len(entries):
            return entries
        entries = keep


def _result(step: Step) -> Any:
    return step[2] if step[0] == CAS else step[1]
