"""Properties of the linearizability checker.

- Histories from a sequential register run with random concurrency, crashes and late-acting
  crashed ops are linearizable.
- Corrupting one read (a value nobody wrote; a value overwritten by a write that completed
  before the read began) is caught.
- On small arbitrary histories (<= 8 ops) the checker agrees with brute force: every order of
  the completed ops plus any subset of the crashed ones that respects real time.
- On medium histories it agrees with a plain memoised search without the pruning levers
  (crash dominance, greedy pure steps), which is where those levers could go wrong.
"""
from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.linearizable import check_history
from checkers.linearizable.index import KeyHistory, columns, to_entries
from checkers.linearizable.models import get_model
from checkers.linearizable.search import INVALID, apply_step
from harness.history import FAIL, INFO, INVOKE, OK, Op
from harness.testing import register_history

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- references -----------------------------------------------------------------------------

def _entries(ops: list[Op], model: str) -> tuple[list[Any], Any]:
    m = get_model(model)
    return to_entries(columns(KeyHistory.of(ops), m)), m.init


def brute_force(ops: list[Op], model: str = "cas-register") -> bool:
    """Single-key histories: try every subset of crashed ops and every order."""
    entries, init = _entries(ops, model)
    done = [e for e in entries if e.ret is not None]
    crashed = [e for e in entries if e.ret is None]
    for r in range(len(crashed) + 1):
        for extra in itertools.combinations(crashed, r):
            for order in itertools.permutations(done + list(extra)):
                if _legal(order, init):
                    return True
    return False


def _legal(order: tuple[Any, ...], init: Any) -> bool:
    inf = float("inf")
    for i, a in enumerate(order):  # real time: nothing later in the order returned before a
        for b in order[i + 1:]:
            if (b.ret if b.ret is not None else inf) < a.call:
                return False
    state = init
    for e in order:
        state = apply_step(state, e.step)
        if state is INVALID:
            return False
    return True


def plain_search(ops: list[Op], model: str = "cas-register") -> bool:
    """The definition, memoised on the exact (linearized set, state): op o may go next iff no
    unlinearized completed op returned before o was invoked."""
    entries, init = _entries(ops, model)
    n = len(entries)
    completed = frozenset(i for i, e in enumerate(entries) if e.ret is not None)
    seen: set[tuple[frozenset[int], Any]] = set()

    def dfs(lin: frozenset[int], state: Any) -> bool:
        if completed <= lin:
            return True
        if (lin, state) in seen:
            return False
        seen.add((lin, state))
        first_ret = min(entries[i].ret for i in completed - lin)  # type: ignore[type-var]
        for i in range(n):
            if i in lin or entries[i].call > first_ret:
                continue
            new = apply_step(state, entries[i].step)
            if new is not INVALID and dfs(lin | {i}, new):
                return True
        return False

    return dfs(frozenset(), init)


# --- generators -----------------------------------------------------------------------------

@st.composite
def small_histories(draw: st.DrawFn, max_ops: int = 8, max_open: int = 4) -> list[Op]:
    """Arbitrary (mostly non-linearizable) single-key cas-register histories from a tiny
    value domain with many crashes, so collisions, nil reads, cas [a a] and crashed ops
    that must take effect late (or twice, which they cannot) all show up."""
    n_ops = draw(st.integers(1, max_ops))
    written = st.sampled_from([1, 2, 3])
    read = st.sampled_from([None, 1, 2, 3])
    ops: list[Op] = []
    open_: dict[int, Op] = {}
    next_proc, invoked = 0, 0
    while invoked < n_ops or open_:
        can_invoke = invoked < n_ops and len(open_) < max_open
        if can_invoke and (not open_ or draw(st.booleans())):
            f = draw(st.sampled_from(["read", "write", "write", "cas"]))
            value: Any = None
            if f == "write":
                value = draw(written)
            elif f == "cas":
                value = [draw(read), draw(written)]
            op = Op(type=INVOKE, f=f, process=next_proc, value=value)
            open_[next_proc] = op
            next_proc += 1
            invoked += 1
            ops.append(op)
            continue
        proc = draw(st.sampled_from(sorted(open_)))
        inv = open_.pop(proc)
        t = draw(st.sampled_from([OK, OK, INFO, INFO, FAIL, None]))
        if t is None:
            continue  # never completes
        value = draw(read) if inv.f == "read" else inv.value
        ops.append(Op(type=t, f=inv.f, process=proc, value=value))
    ops[:] = [op.with_(index=i, time=i) for i, op in enumerate(ops)]
    return ops


def _reads(ops: list[Op]) -> list[int]:
    return [i for i, o in enumerate(ops) if o.type == OK and o.f == "read"]


def _changes(ops: list[Op]) -> list[tuple[int, int, Op]]:
    """(invoke position, ok position, invocation) of every ok write or ok cas."""
    inv_at: dict[Any, int] = {}
    out = []
    for i, o in enumerate(ops):
        if o.type == INVOKE:
            inv_at[o.process] = i
        elif o.type == OK and o.f in ("write", "cas"):
            j = inv_at[o.process]
            out.append((j, i, ops[j]))
    return out


# --- properties -----------------------------------------------------------------------------

@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(1, 120), keys=st.integers(1, 3),
       procs=st.integers(1, 6), crash=st.sampled_from([0.0, 0.05, 0.2, 0.5]))
def test_sequential_runs_are_linearizable(seed: int, n: int, keys: int, procs: int,
                                          crash: float) -> None:
    ops = register_history(seed, n, keys=keys, processes=procs, crash_rate=crash)
    res = check_history(ops)
    assert res["valid"] is True, res


@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(2, 80), procs=st.integers(1, 5),
       crash=st.sampled_from([0.0, 0.1, 0.3]), pick=st.integers(0, 10**6))
def test_a_read_of_a_value_nobody_wrote_is_caught(seed: int, n: int, procs: int, crash: float,
                                                  pick: int) -> None:
    ops = register_history(seed, n, processes=procs, crash_rate=crash)
    reads = _reads(ops)
    if not reads:
        return
    r = reads[pick % len(reads)]
    ops[r] = ops[r].with_(value=-1)  # written values are positive
    res = check_history(ops)
    assert res["valid"] is False
    (key,) = res["keys"].values()
    assert "returned -1" in key["explanation"]


@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(4, 100), procs=st.integers(1, 5),
       crash=st.sampled_from([0.0, 0.1, 0.3]), pick=st.integers(0, 10**6))
def test_a_stale_read_is_caught(seed: int, n: int, procs: int, crash: float, pick: int) -> None:
    ops = register_history(seed, n, processes=procs, crash_rate=crash)
    changes = _changes(ops)
    # A read invoked after W2 completed, where W1 completed before W2 was invoked: W1's
    # value (unique: nobody else writes it) can no longer be there.
    candidates = [(r, w1) for r in _reads(ops) for (_, w1_ok, w1) in changes
                  for (w2_inv, w2_ok, _) in changes
                  if w1_ok < w2_inv and w2_ok < _invoked_at(ops, r)]
    if not candidates:
        return
    r, w1 = candidates[pick % len(candidates)]
    ops[r] = ops[r].with_(value=w1.value if w1.f == "write" else w1.value[1])
    assert check_history(ops)["valid"] is False


def _invoked_at(ops: list[Op], ok_pos: int) -> int:
    proc = ops[ok_pos].process
    return max(i for i in range(ok_pos) if ops[i].process == proc and ops[i].type == INVOKE)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_histories())
def test_agrees_with_brute_force_on_small_histories(ops: list[Op]) -> None:
    assert check_history(ops)["valid"] is brute_force(ops)


@FAST
@given(small_histories(max_ops=14))
def test_agrees_with_the_plain_search_on_arbitrary_histories(ops: list[Op]) -> None:
    assert check_history(ops)["valid"] is plain_search(ops)


@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(2, 40), procs=st.integers(2, 5),
       crash=st.sampled_from([0.1, 0.3, 0.5]), pick=st.integers(0, 10**6),
       to=st.integers(-1, 6))
def test_agrees_with_the_plain_search_after_a_corruption(seed: int, n: int, procs: int,
                                                         crash: float, pick: int,
                                                         to: int) -> None:
    ops = register_history(seed, n, processes=procs, crash_rate=crash)
    reads = _reads(ops)
    if reads:
        r = reads[pick % len(reads)]
        ops[r] = ops[r].with_(value=None if to < 0 else to)
    assert check_history(ops)["valid"] is plain_search(ops)


def assert_witnesses(ops: list[Op], res: dict[str, Any]) -> int:
    """Every key that is not valid names a non-empty witness: sorted op indices, each the
    index of an invocation of that key in ``ops``. Returns how many keys were invalid."""
    names = {str(k): k for k in {o.key for o in ops}}
    invalid = 0
    for name, k in res["keys"].items():
        if k["valid"] is not False:
            continue
        invalid += 1
        w = k["witness"]
        assert isinstance(w, list) and w and w == sorted(w)
        assert all(type(i) is int for i in w)
        invoked = {o.index for o in ops if o.type == INVOKE and o.key == names[name]}
        assert set(w) <= invoked, (w, invoked)
    return invalid


@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(2, 120), keys=st.integers(1, 3),
       procs=st.integers(1, 5), crash=st.sampled_from([0.0, 0.1, 0.3]),
       picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
       to=st.integers(-2, 6), budget=st.sampled_from([0, 1, 20]))
def test_an_invalid_key_always_has_a_witness(seed: int, n: int, keys: int, procs: int,
                                             crash: float, picks: list[int], to: int,
                                             budget: int) -> None:
    """Explained in full (EXPLAIN_KEYS 20), or only with a sentence (0; 1: some of each)."""
    import checkers.linearizable.checker as checker_mod

    ops = register_history(seed, n, keys=keys, processes=procs, crash_rate=crash)
    reads = _reads(ops)
    for pick in picks if reads else []:
        r = reads[pick % len(reads)]
        ops[r] = ops[r].with_(value=None if to < 0 else to)
    old = checker_mod.EXPLAIN_KEYS
    checker_mod.EXPLAIN_KEYS = budget  # hypothesis and monkeypatch do not mix: restore
    try:
        res = check_history(ops)
    finally:
        checker_mod.EXPLAIN_KEYS = old
    assert (assert_witnesses(ops, res) > 0) is (res["valid"] is False)
