"""What a plugin author tests with: fakes, a simulator, conformance checks and a
synthesiser, no Docker needed.

    ctx = fake_context(nodes=("n1", "n2", "n3"), options={"targets": "primaries"})
    ctx.remotes["n1"].calls          # every command a nemesis or db ran on n1 (FakeRemote)
    simulate(gen, concurrency=3)     # a generator's history on a virtual clock
    assert check_nemesis(my_package(interval=1, seed=0), ctx) == []
    assert check_workload(MyWorkload(), ctx) == []
    assert check_db(MyDB()) == []
    register_history(seed=7, n_ops=6, keys=1)   # a linearizable register history

``fake_context`` builds the Context a db, nemesis or client is handed, with a FakeRemote
per node (harness.control.fake: records commands, answers from a script). ``simulate`` is
harness.generators.simulate. The conformance checks return every problem found, as lines
(empty: the plugin keeps the contract the runner relies on).

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
from functools import partial
from pathlib import Path
from typing import Any

from harness import generators as g
from harness.api import DB, Context, Mode, Nemesis, Package, Remote, Workload
from harness.control.fake import FakeRemote, Responses
from harness.generators import simulate
from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op, completion_problems
from harness.spec import TestSpec

__all__ = ["FakeRemote", "fake_context", "simulate", "check_db", "check_nemesis",
           "check_workload", "register_history"]

VERDICTS = (True, False, "unknown")


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


# --- conformance checks a plugin author runs --------------------------------------------

def check_nemesis(package: Package, ctx: Context, *, max_ops: int = 20) -> list[str]:
    """Drive ``package`` as a run would, on ``ctx`` (a fake_context), and list what breaks
    the contract: setup; every op its generator and final generator yield (at most
    ``max_ops`` each, on a virtual clock) invoked, each completion keeping process and f with
    a legal type; every f among the package's ``faults`` (or composing it could not route
    it); teardown twice (it must be idempotent). Consumes the package's generators: pass a
    fresh package. A nemesis that verifies its fault on the node (iptables -S, tc qdisc
    show) needs the answers scripted: ``fake_context(responses={...})``."""
    problems: list[str] = []
    nem: Nemesis = package.nemesis
    if not isinstance(nem, Nemesis):
        return [f"package {package.name!r}: nemesis {nem!r} lacks setup/invoke/teardown"]
    routed = set(package.faults) | set(package.faults.values())
    ops = [*_nemesis_ops(package.generator, max_ops), *_nemesis_ops(package.final_generator,
                                                                  max_ops)]
    if not _try(problems, "setup", lambda: nem.setup(ctx)):
        return problems
    for op in ops:
        if op.f not in routed:
            problems.append(f"f {op.f!r} is not in the package's faults {package.faults}: "
                            "a composed nemesis could not route it")
        try:
            done = nem.invoke(ctx, op)
        except Exception as e:
            problems.append(f"invoke {op.f!r} raised {type(e).__name__}: {e}")
            continue
        problems += [f"invoke {op.f!r}: {p}" for p in completion_problems(op, done)]
    for n in (1, 2):
        _try(problems, f"teardown #{n}", lambda: nem.teardown(ctx))
    return problems


def _nemesis_ops(gen: g.Generator | None, max_ops: int) -> list[Op]:
    if gen is None:
        return []
    h = simulate(g.limit(max_ops, gen), concurrency=0, nemesis=True, max_time=36_000)
    return [o for o in h if o.type == INVOKE]


def _try(problems: list[str], what: str, fn: Callable[[], object]) -> bool:
    try:
        fn()
    except Exception as e:
        problems.append(f"{what} raised {type(e).__name__}: {e}")
        return False
    return True


def check_db(db: object, ctx: Context | None = None) -> list[str]:
    """List what breaks the db contract: ``setup`` and ``teardown``; declared ``modes`` (if
    any) a non-empty sequence of harness.api.Mode with unique names, a promise each, and
    expected verdicts that are true, false or "unknown"; each optional capability it claims
    (Killable, Pausable, HasLogFiles, HasPrimaries, HasKV) complete. With ``ctx`` (a
    fake_context whose remotes answer as the nodes would), also setup and teardown on every
    node, teardown twice."""
    problems: list[str] = []
    if not isinstance(db, DB):
        return [f"db {db!r} lacks setup(ctx, node) / teardown(ctx, node)"]
    modes = getattr(db, "modes", None)
    if modes is not None:
        problems += _mode_problems(modes)
    for cap, methods in (("Killable", ("kill", "start")), ("Pausable", ("pause", "resume"))):
        have = [m for m in methods if callable(getattr(db, m, None))]
        if have and len(have) < len(methods):
            problems.append(f"db has {have[0]} but not {set(methods) - set(have)}: "
                            f"half a {cap}")
    if ctx is not None:
        for what, act in (("setup", db.setup), ("teardown", db.teardown),
                          ("teardown again (it must be idempotent)", db.teardown)):
            for node in ctx.nodes:
                _try(problems, f"{what} on {node!r}", partial(act, ctx, node))
    return problems


def _mode_problems(modes: object) -> list[str]:
    if isinstance(modes, str) or not isinstance(modes, Sequence) or not modes:
        return [f"modes must be a non-empty sequence of harness.api.Mode, got {modes!r}"]
    problems: list[str] = []
    seen: set[str] = set()
    for m in modes:
        if not isinstance(m, Mode):
            problems.append(f"mode {m!r} is not a harness.api.Mode")
            continue
        if m.name in seen:
            problems.append(f"mode {m.name!r} is declared twice")
        seen.add(m.name)
        if not m.promise.strip():
            problems.append(f"mode {m.name!r} promises nothing (say what it guarantees)")
        bad = {k: v for k, v in [*m.expect.items(), ("(default)", m.expect_default)]
               if not any(v is want or v == want for want in VERDICTS)
               or isinstance(v, int) and not isinstance(v, bool)}
        if bad:
            problems.append(f"mode {m.name!r} expects {bad}; a verdict is true, false or "
                            '"unknown"')
    return problems


def check_workload(workload: Workload, ctx: Context, *, max_ops: int = 50) -> list[str]:
    """List what breaks the workload contract on ``ctx``: its generator and final generator
    (at most ``max_ops`` each, simulated) yield client invocations with a string ``f``;
    ``checkers(ctx)`` is a dict of name -> object with ``check``, and each checker, on an
    empty history, answers a dict whose "valid" is true, false or "unknown" (not a crash)."""
    problems: list[str] = []
    for what in ("generator", "final_generator"):
        try:
            gen = getattr(workload, what)(ctx)
            if gen is None:
                if what == "generator":
                    problems.append("generator(ctx) returned None")
                continue
            h = simulate(g.limit(max_ops, gen), concurrency=2)
        except Exception as e:
            problems.append(f"{what} raised {type(e).__name__}: {e}")
            continue
        invokes = [o for o in h if o.type == INVOKE]
        if what == "generator" and not invokes:
            problems.append("generator yields no ops")
        problems += [f"{what} yields {o.to_dict()}: f must be a non-empty string"
                     for o in invokes if not isinstance(o.f, str) or not o.f]
        problems += [f"{what} yields a nemesis op {o.f!r}" for o in h if o.process == NEMESIS]
    try:
        checkers = workload.checkers(ctx)
    except Exception as e:
        return [*problems, f"checkers raised {type(e).__name__}: {e}"]
    if not isinstance(checkers, dict) or not checkers:
        return [*problems, f"checkers(ctx) returned {checkers!r}; expected a non-empty dict "
                           "name -> checker"]
    for name, c in checkers.items():
        if not callable(getattr(c, "check", None)):
            problems.append(f"checker {name!r} ({type(c).__name__}) has no check(test, ops)")
            continue
        try:
            res = c.check(ctx.spec.to_dict(), [])
        except Exception as e:
            problems.append(f"checker {name!r} on an empty history raised "
                            f"{type(e).__name__}: {e}")
            continue
        if not isinstance(res, dict) or "valid" not in res:
            problems.append(f"checker {name!r} answered {type(res).__name__} without a "
                            "'valid' field")
        elif res["valid"] not in (True, False, "unknown"):
            problems.append(f"checker {name!r} answered valid={res['valid']!r}; expected "
                            "true, false or \"unknown\"")
    return problems


# --- synthetic register histories ----------------------------------------------------------

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

    def emit(op: Op) -> Op:
        nonlocal clock
        clock += rng.randrange(1, 2_000_000)
        op = op.with_(index=len(history), time=clock)
        history.append(op)
        return op

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
                pending[proc] = _Pending(emit(op.with_(process=proc)))
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


def _complete(p: _Pending, forced: str | None, emit: Callable[[Op], Op]) -> None:
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
