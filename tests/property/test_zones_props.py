"""The zone checker (unique written values) and the explanations built on it.

- On small arbitrary unique-value histories the zone checker agrees with brute force, and on
  medium ones with the search (checkers.search), which does not assume uniqueness.
- check_history sends such histories to the zone checker, and synthetic runs (unique values
  by construction) are valid there.
- For a non-linearizable history: the cut at the prefix's end fails and the cut just before
  passes; the witness, with every other op relaxed to crashed, fails under brute force (so it
  proves the history non-linearizable), and relaxing any one more op of it makes it pass.
"""
from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.linearizable import check_history, decide
from checkers.linearizable.explain import longest_prefix, minimal_witness
from checkers.linearizable.index import KeyHistory, columns, to_entries
from checkers.linearizable.models import get_model
from checkers.linearizable.search import search
from checkers.linearizable.zones import check_unique
from harness.history import FAIL, INFO, INVOKE, OK, Op
from harness.testing import register_history
from tests.property.test_linearizable_props import brute_force

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CAS = get_model("cas-register")


@st.composite
def unique_histories(draw: st.DrawFn, max_ops: int = 8, max_open: int = 4) -> list[Op]:
    """Single-key cas-register histories whose writes and cas put fresh values (1, 2, ...);
    reads and cas expect any value written so far, nil, or one never written (99)."""
    n_ops = draw(st.integers(1, max_ops))
    ops: list[Op] = []
    open_: dict[int, Op] = {}
    used: list[Any] = [None]
    fresh = 0
    next_proc, invoked = 0, 0
    while invoked < n_ops or open_:
        if invoked < n_ops and len(open_) < max_open and (not open_ or draw(st.booleans())):
            f = draw(st.sampled_from(["read", "write", "write", "cas", "cas"]))
            value: Any = None
            if f != "read":
                fresh += 1
                value = fresh if f == "write" else [draw(st.sampled_from(used + [99])), fresh]
                used.append(fresh)
            op = Op(type=INVOKE, f=f, process=next_proc, value=value)
            open_[next_proc] = op
            next_proc += 1
            invoked += 1
            ops.append(op)
            continue
        proc = draw(st.sampled_from(sorted(open_)))
        inv = open_.pop(proc)
        t = draw(st.sampled_from([OK, OK, OK, INFO, FAIL, None]))
        if t is None:
            continue
        value = draw(st.sampled_from(used + [99])) if inv.f == "read" else inv.value
        ops.append(Op(type=t, f=inv.f, process=proc, value=value))
    ops[:] = [op.with_(index=i, time=i) for i, op in enumerate(ops)]
    return ops


def _entries(ops: list[Op]) -> list[Any]:
    return to_entries(columns(KeyHistory.of(ops), CAS))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unique_histories())
def test_zones_agree_with_brute_force(ops: list[Op]) -> None:
    z = check_unique(_entries(ops), None)
    assert z is not None
    assert z.valid is brute_force(ops)


@FAST
@given(unique_histories(max_ops=30, max_open=7))
def test_zones_agree_with_the_search(ops: list[Op]) -> None:
    entries = _entries(ops)
    z = check_unique(entries, None)
    assert z is not None
    assert z.valid is search(entries, None).valid


@FAST
@given(unique_histories(max_ops=12))
def test_check_history_uses_zones_for_unique_values(ops: list[Op]) -> None:
    res = check_history(ops)
    for k in res["keys"].values():
        assert k["method"] == "zones"


def test_repeated_values_go_to_the_search() -> None:
    ops = [Op(type=INVOKE, f="write", process=0, value=1), Op(type=OK, f="write", process=0,
                                                                value=1),
           Op(type=INVOKE, f="write", process=1, value=1), Op(type=OK, f="write", process=1,
                                                                value=1)]
    ops[:] = [op.with_(index=i, time=i) for i, op in enumerate(ops)]
    assert check_unique(_entries(ops), None) is None
    (k,) = check_history(ops)["keys"].values()
    assert k["method"] == "search" and k["valid"] is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), n=st.integers(1, 400), procs=st.integers(1, 30),
       crash=st.sampled_from([0.0, 0.05, 0.15, 0.3]))
def test_synthetic_runs_are_valid_zones(seed: int, n: int, procs: int, crash: float) -> None:
    res = check_history(register_history(seed, n, keys=2, processes=procs, crash_rate=crash))
    assert res["valid"] is True
    assert {k["method"] for k in res["keys"].values()} <= {"zones"}


def _relaxed_history(ops: list[Op], keep: set[int], cut: int) -> list[Op]:
    """The history cut at ``cut`` with every op outside ``keep`` (invocation positions)
    relaxed to crashed (its completion dropped); failed ops are gone either way."""
    inv_of: dict[int, int] = {}
    open_: dict[Any, int] = {}
    for i, op in enumerate(ops):
        if op.type == INVOKE:
            open_[op.process] = i
        else:
            inv_of[i] = open_.pop(op.process)
    failed = {inv_of[i] for i, op in enumerate(ops) if op.type == FAIL}
    out = []
    for i, op in enumerate(ops[:cut + 1]):
        if op.type == INVOKE:
            if i not in failed:
                out.append(op)
        elif op.type != FAIL and inv_of[i] in keep:
            out.append(op)
    return out


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unique_histories(max_ops=7))
def test_prefix_and_witness(ops: list[Op]) -> None:
    if check_history(ops)["valid"] is not False:
        return
    kh = KeyHistory.of(ops)
    calls = kh.pairs
    end = time.monotonic() + 30

    def fails(cut: int | None, relaxed: set[int] | None = None) -> bool:
        return not decide(columns(kh.cut(cut, relaxed), CAS), CAS, None,
                          None).valid

    cut = longest_prefix(kh, CAS, None, end)
    assert cut is not None and fails(cut)
    earlier = [c.j for c in calls if c.j is not None and c.j < cut
               and c.complete is not None and c.complete.type == OK]
    if earlier:
        assert not fails(max(earlier))
    pool = [c for c in calls if c.complete is not None and c.complete.type == OK
            and c.j is not None and c.j <= cut]
    witness = minimal_witness(kh, pool, CAS, None, cut, end)
    everyone = {c.i for c in calls}
    keep = {c.i for c in witness}
    assert fails(cut, everyone - keep)
    assert brute_force(_relaxed_history(ops, keep, cut)) is False
    for c in witness:
        assert not fails(cut, everyone - (keep - {c.i}))
