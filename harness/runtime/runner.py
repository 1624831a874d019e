"""The runner: worker threads pull ops from one generator and record them in the history.

One thread per client worker plus one nemesis worker. A worker asks the shared generator
(under one lock) for an op, waits until the op's scheduled time, records the invocation
stamped with the current process and time (a new Op: the generator's op is never changed),
invokes the client (or nemesis), and records the completion. A client exception or an
``info`` completion retires the process: the worker continues under process id
``process + concurrency`` with a fresh client, as in Jepsen.

Every answer from a plugin is validated: a completion must keep the invocation's process
and f and have a legal type; anything else is recorded as ``info`` with the problem.
"""
from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.api import Client, Context, Nemesis, Workload
from harness.generators import PENDING, GenContext, Generator, update
from harness.history import INFO, INVOKE, NEMESIS, HistoryWriter, Op, completion_problems

log = logging.getLogger("splitbrain.runner")


@dataclass
class LiveStats:
    """Counters the live display reads; updated by workers without a lock (ints under the
    GIL are good enough for a display)."""

    t0: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    active_faults: dict[str, str] = field(default_factory=dict)
    completed: int = 0
    phase: str = "setup"

    def elapsed(self) -> float:
        return (time.monotonic_ns() - self.t0) / 1e9 if self.t0 else 0.0


class Runner:
    """Runs ``gen`` against ``workload`` clients and ``nemesis`` until the generator is
    exhausted or ``stop`` is set. The history goes to ``history`` as it happens."""

    def __init__(self, ctx: Context, workload: Workload | None, nemesis: Nemesis | None,
                 gen: Generator, history: HistoryWriter, *, concurrency: int, seed: int,
                 stop: threading.Event | None = None, stats: LiveStats | None = None,
                 client_factory: Callable[[int, str], Client] | None = None,
                 fault_names: dict[str, str] | None = None):
        self.ctx, self.workload, self.nemesis, self.gen = ctx, workload, nemesis, gen
        self.history, self.concurrency = history, concurrency
        self.rng = random.Random(seed)
        self.stop = stop or threading.Event()
        self.stats = stats or LiveStats()
        self.cond = threading.Condition()
        self.in_flight = 0
        self.errors: list[str] = []
        self.client_factory = client_factory
        self.fault_names = fault_names or {}
        self.t0 = 0
        self._threads: list[threading.Thread] = []

    # -- time -----------------------------------------------------------------------------
    def now(self) -> int:
        return time.monotonic_ns() - self.t0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, t0: int | None = None) -> None:
        self.t0 = t0 if t0 is not None else time.monotonic_ns()
        self.stats.t0 = self.t0
        workers: list[int | str] = list(range(self.concurrency))
        if self.nemesis is not None:
            workers.append(NEMESIS)
        for w in workers:
            t = threading.Thread(target=self._worker_safe, args=(w,), name=f"worker-{w}",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for all workers. Returns True when all finished. Short joins keep the main
        thread responsive to Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            while t.is_alive():
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    return False
                t.join(left)
        return True

    def run(self) -> None:
        self.start()
        self.join()

    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # -- workers --------------------------------------------------------------------------
    def _worker_safe(self, worker: int | str) -> None:
        try:
            self._worker(worker)
        except BaseException as e:  # a bug in a generator: stop the test, keep the history
            msg = f"worker {worker} crashed: {type(e).__name__}: {e}"
            log.error("%s\n%s", msg, traceback.format_exc())
            self.errors.append(msg)
            self.stop.set()
            with self.cond:
                self.cond.notify_all()

    def _ask(self, process: int | str) -> Op | None:
        """Next op for this worker, or None when the generator is exhausted or we stop."""
        with self.cond:
            while not self.stop.is_set():
                gctx = GenContext(time=self.now(), process=process, rng=self.rng,
                                  in_flight=self.in_flight, nodes=tuple(self.ctx.nodes))
                o = self.gen.op(gctx)
                if o is None:
                    self.cond.notify_all()  # others may be waiting on a phase that ended
                    return None
                if o is PENDING:
                    self.cond.wait(0.01)
                    continue
                assert isinstance(o, Op)
                # Scheduled ops count as in flight so a later phase waits for them too.
                self.in_flight += 1
                return o
        return None

    def _worker(self, worker: int | str) -> None:
        is_nemesis = worker == NEMESIS
        process: int | str = worker
        client: Client | None = None
        try:
            while True:
                op = self._ask(process)
                if op is None:
                    return
                wait = op.time - self.now() if op.time >= 0 else 0
                if wait > 0 and self.stop.wait(wait / 1e9):
                    self._done(None)
                    return
                if op.type != INVOKE:
                    op = op.with_(type=INVOKE)
                # The generator's op stays as it was: the history records a stamped copy.
                op = self.history.append(op, process=process, clock=self.now)
                if not is_nemesis:
                    self.stats.counts[INVOKE] += 1
                if is_nemesis:
                    done = self._invoke_nemesis(op)
                else:
                    if client is None:
                        client = self._open_client(int(process))
                    done = self._invoke_client(client, op)
                done = self.history.append(done, clock=self.now)
                if not is_nemesis:
                    self.stats.counts[done.type] += 1
                    self.stats.completed += 1
                self._done(done)
                if client is not None and done.type == INFO:
                    # The op may still take effect later: this process can never issue
                    # another op, or the history would show it doing two things at once.
                    self._close_client(client)
                    client = None
                    process = int(process) + self.concurrency
        finally:
            if client is not None:
                self._close_client(client)

    def _done(self, done: Op | None) -> None:
        with self.cond:
            self.in_flight -= 1
            if done is not None:
                gctx = GenContext(time=self.now(), process=done.process, rng=self.rng,
                                  in_flight=self.in_flight, nodes=tuple(self.ctx.nodes))
                update(self.gen, gctx, done)
            self.cond.notify_all()

    def _open_client(self, process: int) -> Client:
        node = self.ctx.nodes[process % len(self.ctx.nodes)]
        if self.client_factory is not None:
            return self.client_factory(process, node)
        assert self.workload is not None
        return self.workload.client(self.ctx, process, node)

    def _close_client(self, client: Client) -> None:
        try:
            client.close(self.ctx)
        except Exception as e:  # closing a broken connection is not news
            log.debug("client close failed: %s", e)

    def _invoke_client(self, client: Client, op: Op) -> Op:
        try:
            done = client.invoke(self.ctx, op)
        except Exception as e:
            return _crashed(op, e)
        return validate_completion(op, done)

    def _invoke_nemesis(self, op: Op) -> Op:
        assert self.nemesis is not None
        try:
            done = self.nemesis.invoke(self.ctx, op)
        except Exception as e:
            log.error("nemesis %s failed: %s", op.f, e)
            self.errors.append(f"nemesis {op.f} failed: {e}")
            return _crashed(op, e)
        done = validate_completion(op, done)
        if op.f in self.fault_names and not done.error:
            v = done.value
            self.stats.active_faults[op.f] = _short(
                v.get("description", v) if isinstance(v, dict) else v)
        for start, stop in self.fault_names.items():
            if stop == op.f:
                self.stats.active_faults.pop(start, None)
        return done


def _crashed(op: Op, e: BaseException) -> Op:
    return op.complete(INFO, error=f"{type(e).__name__}: {e}")


def validate_completion(op: Op, done: Any) -> Op:
    """A plugin's answer must be an Op completing ``op``: same process and f, a legal type
    (harness.history.completion_problems). Anything else becomes info with every problem
    listed, so the history stays sound."""
    problems = completion_problems(op, done)
    if problems:
        return op.complete(INFO, error="invalid completion: " + "; ".join(problems))
    if done.process != op.process or (done.key is None and op.key is not None):
        done = done.with_(process=op.process, key=op.key if done.key is None else done.key)
    return done


def _short(v: Any, n: int = 40) -> str:
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"
