"""What a plugin author tests with: fakes and a synthesiser, no Docker needed.

    ctx = fake_context(nodes=("n1", "n2", "n3"), options={"targets": "primaries"})
    ctx.remotes["n1"].calls          # every command a nemesis or db ran on n1 (FakeRemote)
    register_history(seed=7, n_ops=6, keys=1)   # a linearizable register history

``fake_context`` builds the Context a db, nemesis or client is handed, with a FakeRemote
per node (harness.control.fake: records commands, answers from a script).

Synthetic register histories that are linearizable by construction (for tests and benches).

A sequential register per key is driven by ``processes`` concurrent workers on a virtual
clock. Each op takes effect atomically at a random moment between its invocation and its
completion, so the recorded history is linearizable. Some ops crash (complete ``info``): a
crashed op may never take effect, may have taken effect before the crash, or takes effect
*later*, after its ``info`` was recorded, as a zombie request still in flight would. The
crashed process is retired and its worker continues under a new process id (Jepsen's rule).

    register_history(seed=7, n_ops=6, keys=1)
    -> [Op(type="invoke", f="write", process=0, key=0, value=1, index=0, time=1000), ...]

Written values are unique per key (1, 2, 3, ...; a cas writes a fresh one too), so every
read names the one op that wrote what it saw, which makes corruptions easy to reason about.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.api import DB, Context, Remote
from harness.control.fake import FakeRemote, Responses
from harness.history import FAIL, INFO, INVOKE, OK, Op
from harness.spec import TestSpec

__all__ = ["FakeRemote", "fake_context", "register_history"]


def fake_context(nodes: Sequence[str] = ("n1", "n2", "n3"), *,
                 options: Mapping[str, Any] | None = None, spec: TestSpec | None = None,
                 responses: Mapping[str, Responses] | None = None,
                 remotes: Mapping[str, Remote] | None = None, db: DB | None = None,
                 run_dir: Path | str = ".", log: Callable[[str], None] = print) -> Context:
    """A Context over ``nodes`` with a FakeRemote each (``responses[node]`` scripts its
    answers), the spec's ``options`` set, addresses 10.0.0.1, 10.0.0.2, ..."""
    nodes = list(nodes)
    if spec is None:
        spec = TestSpec(nodes=tuple(nodes) or ("n1",), options=dict(options or {}))
    elif options is not None:
        spec = spec.with_(options=dict(options))
    rs: dict[str, Remote] = dict(remotes) if remotes is not None else {
        n: FakeRemote(n, (responses or {}).get(n)) for n in nodes}
    ips = {n: f"10.0.0.{i}" for i, n in enumerate(nodes, 1)}
    return Context(spec=spec, nodes=nodes, remotes=rs, ips=ips, run_dir=Path(run_dir),
                   log=log, db=db)


@dataclass
class _Pending:
    op: Op
    applied: bool = False
    result: Any = None
    swapped: bool = True


def register_history(seed: int, n_ops: int, keys: int = 1, processes: int = 5,
                     crash_rate: float = 0.02, cas: bool = True,
                     read_ratio: float = 0.5) -> list[Op]:
    """``n_ops`` client ops (invocations) over ``keys`` registers; see the module docstring."""
    rng = random.Random(seed)
    state: dict[int, Any] = {}
    counter: dict[int, int] = {}
    written: dict[int, list[Any]] = {}
    history: list[Op] = []
    pending: dict[int, _Pending] = {}
    zombies: list[_Pending] = []
    worker_proc = list(range(processes))
    clock = 0
    invoked = 0

    def emit(op: Op) -> None:
        nonlocal clock
        clock += rng.randrange(1, 2_000_000)
        op.index, op.time = len(history), clock
        history.append(op)

    def apply(p: _Pending) -> None:
        op = p.op
        cur = state.get(op.key)
        if op.f == "read":
            p.result = cur
        elif op.f == "write":
            state[op.key] = op.value
        else:
            old, new = op.value
            p.swapped = cur == old
            if p.swapped:
                state[op.key] = new
        p.applied = True

    while invoked < n_ops or pending:
        if zombies and rng.random() < 0.05:
            apply(zombies.pop(rng.randrange(len(zombies))))
        w = rng.randrange(processes)
        proc = worker_proc[w]
        p = pending.get(proc)
        if p is None:
            if invoked < n_ops:
                op = _new_op(rng, rng.randrange(keys), counter, written, cas, read_ratio)
                op.process = proc
                pending[proc] = _Pending(op)
                emit(op)
                invoked += 1
            continue
        if not p.applied and rng.random() < 0.5:
            if rng.random() < crash_rate:  # crash before taking effect: maybe later, maybe never
                if rng.random() < 0.5:
                    zombies.append(p)
                _complete(p, INFO, emit)
                del pending[proc]
                worker_proc[w] = proc + processes
            else:
                apply(p)
            continue
        if p.applied:
            crashed = rng.random() < crash_rate
            _complete(p, INFO if crashed else None, emit)
            del pending[proc]
            if crashed:
                worker_proc[w] = proc + processes
    return history


def _new_op(rng: random.Random, key: int, counter: dict[int, int],
            written: dict[int, list[Any]], cas: bool, read_ratio: float) -> Op:
    r = rng.random()
    if r < read_ratio:
        return Op(type=INVOKE, f="read", key=key)
    counter[key] = counter.get(key, 0) + 1
    fresh = counter[key]
    seen = written.setdefault(key, [None])
    if cas and r > read_ratio + (1 - read_ratio) * 0.6:
        old = seen[-1] if rng.random() < 0.6 else rng.choice(seen)
        seen.append(fresh)
        return Op(type=INVOKE, f="cas", key=key, value=[old, fresh])
    seen.append(fresh)
    return Op(type=INVOKE, f="write", key=key, value=fresh)


def _complete(p: _Pending, forced: str | None, emit: Any) -> None:
    op = p.op
    if forced is not None:
        emit(Op(type=forced, f=op.f, process=op.process, key=op.key, value=op.value,
                error="timeout"))
    elif op.f == "read":
        emit(Op(type=OK, f=op.f, process=op.process, key=op.key, value=p.result))
    elif op.f == "cas" and not p.swapped:
        emit(Op(type=FAIL, f=op.f, process=op.process, key=op.key, value=op.value,
                error="cas-mismatch"))
    else:
        emit(Op(type=OK, f=op.f, process=op.process, key=op.key, value=op.value))
