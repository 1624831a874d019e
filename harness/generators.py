"""Generators: what ops to run, when, and on which kind of worker.

A generator is asked for an op by a worker thread (a client process or the nemesis) and
answers one of:

* an ``Op`` invocation (``type="invoke"``); its ``time`` field, if set (>= 0), is the earliest
  time in ns since test start at which the worker should invoke it (that is how ``stagger``
  sets a rate);
* ``PENDING``: nothing for this worker now, ask again after something changes or a short wait;
* ``None``: exhausted, for every worker, for good.

Generators are stateful objects asked under one lock, so they need no locking of their own.
Exhaustion is global: a routing wrapper (``clients``/``nemesis``) answers ``PENDING`` to the
other kind of worker until its inner generator has answered ``None`` to a worker of its kind.

    gen = phases(
        time_limit(30, any_of(clients(stagger(0.01, workload)), nemesis(partitions))),
        nemesis(heal),
        sleep(5),
        clients(final_reads),
    )

``simulate(gen, ...)`` runs a generator on a virtual clock, for tests.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op

SECOND = 1_000_000_000


class _Pending:
    _instance: _Pending | None = None

    def __new__(cls) -> _Pending:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PENDING"


PENDING = _Pending()
Answer = Op | _Pending | None


@dataclass(slots=True)
class GenContext:
    """What a generator knows when asked. ``process`` is the asking worker's current process
    id (an int, or ``"nemesis"``); ``in_flight`` counts ops invoked and not yet completed."""

    time: int
    process: int | str
    rng: random.Random
    in_flight: int = 0
    nodes: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None

    @property
    def is_nemesis(self) -> bool:
        return self.process == NEMESIS


@runtime_checkable
class Generator(Protocol):
    def op(self, ctx: GenContext) -> Answer: ...


def update(gen: Any, ctx: GenContext, event: Op) -> None:
    """Tell a generator (if it listens) that an op completed."""
    fn = getattr(gen, "update", None)
    if fn is not None:
        fn(ctx, event)


# --- sources -------------------------------------------------------------------------------

class FnGen:
    """Calls ``fn(ctx)`` for every op: an Op, a dict of Op fields, PENDING or None."""

    def __init__(self, fn: Callable[[GenContext], Any]):
        self.fn = fn

    def op(self, ctx: GenContext) -> Answer:
        return as_op(self.fn(ctx))


class Seq:
    """Yields the given ops (or dicts) in order, then is exhausted."""

    def __init__(self, items: Iterable[Any]):
        self._it: Iterator[Any] = iter(items)

    def op(self, ctx: GenContext) -> Answer:
        nxt = next(self._it, None)
        return None if nxt is None else as_op(nxt)


def as_op(x: Any) -> Answer:
    if x is None or x is PENDING:
        return x
    if isinstance(x, Op):
        if x.type == INVOKE and x.process == -1 and x.index == -1 and x.error is None:
            return x  # frozen, so one op can be handed out any number of times
        return Op(INVOKE, x.f, -1, x.key, x.value, -1, x.time, None, x.extra)
    if isinstance(x, dict):
        d = dict(x)
        f = d.pop("f")
        return Op(INVOKE, f, -1, d.pop("key", None), d.pop("value", None), -1,
                  d.pop("time", -1), None, d or None)
    raise TypeError(f"a generator produced {x!r}; expected an Op, a dict, PENDING or None")


def once(x: Any) -> Seq:
    return Seq([x])


def repeat(x: Any) -> FnGen:
    return FnGen(lambda ctx: x)


# --- combinators ---------------------------------------------------------------------------

class Limit:
    """At most ``n`` ops from ``gen``."""

    def __init__(self, n: int, gen: Generator):
        self.left, self.gen = n, gen

    def op(self, ctx: GenContext) -> Answer:
        if self.left <= 0:
            return None
        o = self.gen.op(ctx)
        if isinstance(o, Op):
            self.left -= 1
        return o

    def update(self, ctx: GenContext, event: Op) -> None:
        update(self.gen, ctx, event)


class TimeLimit:
    """Ops from ``gen`` until ``seconds`` after this generator was first asked; an op
    scheduled past the deadline ends it too."""

    def __init__(self, seconds: float, gen: Generator):
        self.dt, self.gen = int(seconds * SECOND), gen
        self.deadline: int | None = None

    def op(self, ctx: GenContext) -> Answer:
        if self.deadline is None:
            self.deadline = ctx.time + self.dt
        if ctx.time >= self.deadline:
            return None
        o = self.gen.op(ctx)
        if isinstance(o, Op) and o.time >= self.deadline:
            self.deadline = ctx.time  # exhausted from now on
            return None
        return o

    def update(self, ctx: GenContext, event: Op) -> None:
        update(self.gen, ctx, event)


class _Paced:
    """Schedules the ops of ``gen`` ``gap(rng)`` ns apart, across every worker sharing it.
    Ops never bunch up to catch up after a slow stretch."""

    def __init__(self, gen: Generator, gap: Callable[[random.Random], int]):
        self.gen, self.gap = gen, gap
        self.next_time: int | None = None

    def op(self, ctx: GenContext) -> Answer:
        o = self.gen.op(ctx)
        if not isinstance(o, Op):
            return o
        if self.next_time is None or self.next_time < ctx.time:
            self.next_time = ctx.time
        if o.time < self.next_time:
            o = o.with_(time=self.next_time)
        self.next_time = o.time + self.gap(ctx.rng)
        return o

    def update(self, ctx: GenContext, event: Op) -> None:
        update(self.gen, ctx, event)


class Stagger(_Paced):
    """Ops a random 0..2*``dt`` s apart (mean ``dt``): a total rate of 1/dt ops/s."""

    def __init__(self, dt: float, gen: Generator):
        ns = int(dt * SECOND)
        super().__init__(gen, lambda rng: int(rng.random() * 2 * ns))


class Delay(_Paced):
    """Ops exactly ``dt`` s apart (Jepsen's ``delay``)."""

    def __init__(self, dt: float, gen: Generator):
        ns = int(dt * SECOND)
        super().__init__(gen, lambda rng: ns)


class Mix:
    """Each op from a randomly chosen generator; exhausted ones drop out."""

    def __init__(self, gens: Iterable[Generator]):
        self.gens = list(gens)

    def op(self, ctx: GenContext) -> Answer:
        pending = False
        while self.gens:
            i = ctx.rng.randrange(len(self.gens))
            o = self.gens[i].op(ctx)
            if o is None:
                self.gens.pop(i)
                continue
            if o is PENDING:
                # Try the others before saying PENDING, so one waiting source doesn't stall.
                pending = True
                others = [g for j, g in enumerate(self.gens) if j != i]
                for g in others:
                    o2 = g.op(ctx)
                    if isinstance(o2, Op):
                        return o2
                return PENDING
            return o
        return PENDING if pending else None

    def update(self, ctx: GenContext, event: Op) -> None:
        for g in self.gens:
            update(g, ctx, event)


class AnyOf:
    """The soonest op any of the generators has for this worker; exhausted when all are.

    Generators here are stateful, so asking one for an op takes it. To pick the soonest op
    without starving the others (a ``delay`` always has an op, scheduled later), each
    generator's answer is held back until it is the soonest; held ops are kept apart for
    client and nemesis workers, since routing gives them different answers.
    """

    def __init__(self, gens: Iterable[Generator]):
        self.gens = list(gens)
        self.done = [False] * len(self.gens)
        # held[kind][i]: the op generator i gave a worker of that kind, not yet handed out
        self.held: dict[bool, list[Op | None]] = {False: [None] * len(self.gens),
                                                   True: [None] * len(self.gens)}

    def op(self, ctx: GenContext) -> Answer:
        held = self.held[ctx.is_nemesis]
        pending = False
        for i, g in enumerate(self.gens):
            if held[i] is None and not self.done[i]:
                o = g.op(ctx)
                if o is None:
                    self.done[i] = True
                elif o is PENDING:
                    pending = True
                else:
                    assert isinstance(o, Op)
                    held[i] = o
        best: int | None = None
        best_time = 0
        for i, o in enumerate(held):
            if o is not None and (best is None or max(o.time, ctx.time) < best_time):
                best, best_time = i, max(o.time, ctx.time)
        if best is not None:
            chosen, held[best] = held[best], None
            return chosen
        return PENDING if pending or not all(self.done) else None

    def update(self, ctx: GenContext, event: Op) -> None:
        for g in self.gens:
            update(g, ctx, event)


class _Route:
    def __init__(self, gen: Generator, for_nemesis: bool):
        self.gen, self.for_nemesis, self.done = gen, for_nemesis, False

    def op(self, ctx: GenContext) -> Answer:
        if self.done:
            return None
        if ctx.is_nemesis != self.for_nemesis:
            return PENDING
        o = self.gen.op(ctx)
        if o is None:
            self.done = True
        return o

    def update(self, ctx: GenContext, event: Op) -> None:
        if (event.process == NEMESIS) == self.for_nemesis:
            update(self.gen, ctx, event)


def clients(gen: Generator) -> _Route:
    """Only client workers get ops from ``gen``."""
    return _Route(gen, for_nemesis=False)


def nemesis(gen: Generator) -> _Route:
    """Only the nemesis worker gets ops from ``gen``."""
    return _Route(gen, for_nemesis=True)


class Synchronize:
    """Waits until no op is in flight anywhere, then behaves as ``gen``."""

    def __init__(self, gen: Generator):
        self.gen, self.ready = gen, False

    def op(self, ctx: GenContext) -> Answer:
        if not self.ready:
            if ctx.in_flight > 0:
                return PENDING
            self.ready = True
        return self.gen.op(ctx)

    def update(self, ctx: GenContext, event: Op) -> None:
        update(self.gen, ctx, event)


class Then:
    """Each generator in turn; the next starts when the current one is exhausted."""

    def __init__(self, gens: Iterable[Generator]):
        self.gens = list(gens)

    def op(self, ctx: GenContext) -> Answer:
        while self.gens:
            o = self.gens[0].op(ctx)
            if o is None:
                self.gens.pop(0)
                continue
            return o
        return None

    def update(self, ctx: GenContext, event: Op) -> None:
        if self.gens:
            update(self.gens[0], ctx, event)


class Sleep:
    """No ops for ``seconds`` after it is first asked, then exhausted."""

    def __init__(self, seconds: float):
        self.dt = int(seconds * SECOND)
        self.until: int | None = None

    def op(self, ctx: GenContext) -> Answer:
        if self.until is None:
            self.until = ctx.time + self.dt
        return PENDING if ctx.time < self.until else None

    def wake_time(self) -> int | None:
        return self.until


class UntilOk:
    """Each op of ``gen`` re-issued until it completes ``ok`` (Jepsen's ``until-ok``, per op):
    an op whose completion is fail or info goes out again ``pause`` s later, on any worker,
    until ``timeout`` s after this generator was first asked; after that, ops not yet given
    out still go once and nothing is retried. Exhausted when ``gen`` is and no op of its is in
    flight or waiting for a retry. Meant for ops that change nothing (a final read): retrying
    a write that ended ``info`` could apply it twice.

        until_ok(final_reads, timeout=30)    # a cluster still electing after the heal
    """

    def __init__(self, gen: Generator, timeout: float = 30.0, pause: float = 0.5):
        self.gen, self.dt, self.pause = gen, int(timeout * SECOND), int(pause * SECOND)
        self.deadline: int | None = None
        self.out: dict[int | str, Op] = {}   # process -> the op it was given, not yet done
        self.retries: list[Op] = []          # ops to give out again, each dated when due
        self.exhausted = False
        self.tries = 0

    def op(self, ctx: GenContext) -> Answer:
        if self.deadline is None:
            self.deadline = ctx.time + self.dt
        if self.retries:
            o = self.retries.pop(0)
        elif self.exhausted:
            return PENDING if self.out else None
        else:
            nxt = self.gen.op(ctx)
            if nxt is None:
                self.exhausted = True
                return PENDING if self.out or self.retries else None
            if not isinstance(nxt, Op):
                return nxt
            o = nxt
        self.out[ctx.process] = o
        self.tries += 1
        return o

    def update(self, ctx: GenContext, event: Op) -> None:
        update(self.gen, ctx, event)
        if event.type == INVOKE:
            return
        o = self.out.pop(event.process, None)
        if o is None or event.type == OK:
            return
        assert self.deadline is not None
        due = max(ctx.time, event.time if event.time >= 0 else ctx.time) + self.pause
        if due < self.deadline:
            self.retries.append(o.with_(time=due))


def until_ok(gen: Generator, timeout: float = 30.0, pause: float = 0.5) -> UntilOk:
    return UntilOk(gen, timeout, pause)


class WaitUntil:
    """No ops until ``ready()`` says True, asked at most every ``poll`` s, or until
    ``timeout`` s after this generator was first asked; then exhausted. ``ready`` runs on the
    asking worker (under the runner's lock, so nothing else is asked meanwhile): use it
    between phases, e.g. to wait for the db to have a leader again after the heal."""

    def __init__(self, ready: Callable[[], bool], timeout: float, poll: float = 0.5):
        self.ready, self.dt, self.poll = ready, int(timeout * SECOND), int(poll * SECOND)
        self.deadline: int | None = None
        self.next_poll = 0
        self.done = False
        self.polls = 0

    def op(self, ctx: GenContext) -> Answer:
        if self.done:
            return None
        if self.deadline is None:
            self.deadline = ctx.time + self.dt
            self.next_poll = ctx.time
        if ctx.time >= self.deadline:
            self.done = True
            return None
        if ctx.time >= self.next_poll:
            self.polls += 1
            self.next_poll = ctx.time + self.poll
            if self.ready():
                self.done = True
                return None
        return PENDING


def wait_until(ready: Callable[[], bool], timeout: float, poll: float = 0.5) -> WaitUntil:
    return WaitUntil(ready, timeout, poll)


def phases(*gens: Generator) -> Then:
    """Run generators one after another; each phase starts only once every op of the
    previous phases has completed."""
    return Then([gens[0], *[Synchronize(g) for g in gens[1:]]] if gens else [])


def mix(gens: Iterable[Generator]) -> Mix:
    return Mix(gens)


def any_of(*gens: Generator) -> AnyOf:
    return AnyOf(gens)


def limit(n: int, gen: Generator) -> Limit:
    return Limit(n, gen)


def time_limit(seconds: float, gen: Generator) -> TimeLimit:
    return TimeLimit(seconds, gen)


def stagger(dt: float, gen: Generator) -> Stagger:
    return Stagger(dt, gen)


def rate(ops_per_second: float, gen: Generator) -> Stagger:
    """A total rate across all workers sharing ``gen``, with Poisson-ish jitter."""
    return Stagger(1.0 / ops_per_second, gen)


def delay(dt: float, gen: Generator) -> Delay:
    return Delay(dt, gen)


def sleep(seconds: float) -> Sleep:
    return Sleep(seconds)


def then(*gens: Generator) -> Then:
    return Then(gens)


def synchronize(gen: Generator) -> Synchronize:
    return Synchronize(gen)


# --- simulation ----------------------------------------------------------------------------

def simulate(gen: Generator, *, concurrency: int = 2, nemesis: bool = False, seed: int = 0,
             latency: float | Callable[[Op, random.Random], float] = 0.001,
             complete: Callable[[Op, random.Random], str] | None = None,
             max_time: float = 3600.0, poll: float = 0.001, max_ops: int = 1_000_000
             ) -> list[Op]:
    """Run ``gen`` on a virtual clock with ``concurrency`` client workers (and a nemesis
    worker if asked). Each op takes ``latency`` seconds (a number or a function of the op) and
    completes ``ok`` unless ``complete(op, rng)`` says otherwise. An ``info`` completion
    retires the process, as in a real run. Returns the history, in time order.

        >>> h = simulate(limit(2, repeat({"f": "read"})), concurrency=1)
        >>> [(o.type, o.f) for o in h]
        [('invoke', 'read'), ('ok', 'read'), ('invoke', 'read'), ('ok', 'read')]
    """
    rng = random.Random(seed)
    workers: list[int | str] = list(range(concurrency)) + ([NEMESIS] if nemesis else [])
    procs: dict[int | str, int | str] = {w: w for w in workers}
    # Event queue: (time, seq, kind, worker, op). kind 0 = completion, 1 = worker asks.
    queue: list[tuple[int, int, int, Any, Op | None]] = []
    seq = 0
    for w in workers:
        heapq.heappush(queue, (0, seq, 1, w, None))
        seq += 1
    history: list[Op] = []
    in_flight = 0
    end = int(max_time * SECOND)
    poll_ns = max(1, int(poll * SECOND))
    finished: set[Any] = set()

    def lat(op: Op) -> int:
        s = latency(op, rng) if callable(latency) else latency
        return max(0, int(s * SECOND))

    while queue and len(history) < max_ops:
        t, _, kind, w, op = heapq.heappop(queue)
        if t > end:
            break
        if kind == 0:
            assert op is not None
            in_flight -= 1
            ctype = OK if op.process == NEMESIS else (complete(op, rng) if complete else OK)
            done = Op(ctype, op.f, op.process, op.key, op.value, len(history), t,
                      None if ctype == OK else "simulated")
            history.append(done)
            if ctype == INFO and w != NEMESIS:
                procs[w] = int(procs[w]) + concurrency
            ctx = GenContext(time=t, process=procs[w], rng=rng, in_flight=in_flight)
            update(gen, ctx, done)
            heapq.heappush(queue, (t, seq, 1, w, None))
            seq += 1
            continue
        if w in finished:
            continue
        ctx = GenContext(time=t, process=procs[w], rng=rng, in_flight=in_flight)
        o = gen.op(ctx)
        if o is None:
            finished.add(w)
            continue
        if o is PENDING:
            # Ask again a little later, as a real worker does.
            heapq.heappush(queue, (t + poll_ns, seq, 1, w, None))
            seq += 1
            continue
        assert isinstance(o, Op)
        start = max(t, o.time if o.time >= 0 else t)
        o = Op(INVOKE, o.f, procs[w], o.key, o.value, len(history), start, o.error, o.extra)
        history.append(o)
        in_flight += 1
        heapq.heappush(queue, (start + lat(o), seq, 0, w, o))
        seq += 1
    history.sort(key=lambda x: (x.time, x.index))
    return [o.with_(index=i) for i, o in enumerate(history)]


__all__ = [
    "PENDING", "GenContext", "Generator", "FnGen", "Seq", "Limit", "TimeLimit", "Stagger",
    "Delay", "Mix", "AnyOf", "Synchronize", "Then", "Sleep", "phases", "mix", "any_of",
    "limit", "time_limit", "stagger", "rate", "delay", "sleep", "then", "synchronize",
    "clients", "nemesis", "once", "repeat", "simulate", "update", "as_op", "FAIL",
    "UntilOk", "until_ok", "WaitUntil", "wait_until",
]
