"""The models: the fast compiled steps mean what ``step`` means, and the search agrees with
brute force on models that only have a ``step`` (set, fifo-queue) and on mutex.

- For register, cas-register, mutex and kv, applying ``compile``'s step (and the inline
  register steps of checkers.linearizable.index.columns) gives exactly ``step``'s answer, on
  random states and ops, crashed (output UNKNOWN) or not.
- Small random set, fifo-queue and mutex histories with crashes: check_history agrees with a
  brute force written against ``model.step`` alone.
"""
from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.linearizable import check_history
from checkers.linearizable.index import KeyHistory, columns
from checkers.linearizable.models import INVALID, UNKNOWN, ModelError, apply_kind, freeze, get_model
from checkers.linearizable.zones import INF
from harness.history import FAIL, INFO, INVOKE, OK, Op, pairs

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.sampled_from([None, 0, 1, 2, "a", "", "ab", (1, 2)])
outs = st.one_of(st.just(UNKNOWN), values)


@FAST
@given(state=values, f=st.sampled_from(["read", "write", "cas"]),
       value=st.one_of(values, st.tuples(values, values), st.lists(values, max_size=3)),
       out=outs)
def test_register_compile_means_step(state: Any, f: str, value: Any, out: Any) -> None:
    m = get_model("cas-register")
    try:
        step = m.compile(f, value, out)  # type: ignore[misc]
    except ModelError:
        return
    if f == "read" and out is UNKNOWN:
        return  # a crashed read is dropped before either is asked
    assert apply_kind(freeze(state), step) == m.step(freeze(state), f, value, out)


@FAST
@given(state=st.booleans(), f=st.sampled_from(["acquire", "release"]), out=outs)
def test_mutex_compile_means_step(state: bool, f: str, out: Any) -> None:
    m = get_model("mutex")
    s = freeze(state)  # states are frozen values, as the model's init is
    a = apply_kind(s, m.compile(f, None, out))  # type: ignore[misc]
    b = m.step(s, f, None, out)
    assert a is b if a is INVALID or b is INVALID else a == b


@FAST
@given(state=st.sampled_from(["", "x", "xy"]), f=st.sampled_from(["get", "put", "append"]),
       value=st.sampled_from(["", "x", "y", None]), out=st.sampled_from([UNKNOWN, "", "x",
                                                                         "xy", None]))
def test_kv_compile_means_step(state: str, f: str, value: Any, out: Any) -> None:
    m = get_model("kv")
    try:
        step = m.compile(f, value, out)  # type: ignore[misc]
    except ModelError:
        return
    if step is None or (f == "get" and out is UNKNOWN):
        return
    assert apply_kind(state, step) == m.step(state, f, value, out)


@FAST
@given(ops=st.lists(st.tuples(st.sampled_from(["read", "write", "cas"]),
                              st.one_of(values, st.lists(values, min_size=2, max_size=2)),
                              st.sampled_from([OK, INFO, FAIL, None]), values),
                    min_size=1, max_size=12))
def test_inline_register_columns_match_compile(ops: list[tuple[Any, ...]]) -> None:
    history: list[Op] = []
    for p, (f, value, t, out) in enumerate(ops):
        if f == "cas" and not (isinstance(value, list) and len(value) == 2):
            value = [value, 1]
        history.append(Op(type=INVOKE, f=f, process=p, value=value))
        if t is not None:
            history.append(Op(type=t, f=f, process=p, value=out if f == "read" else value))
    history[:] = [op.with_(index=i) for i, op in enumerate(history)]
    m = get_model("cas-register")
    calls = pairs(history)
    rets, cs, kinds, arg_a, arg_b = columns(KeyHistory.of(history), m, "h")
    expected = []
    for c in calls:
        done = c.complete
        if done is not None and done.type == FAIL:
            continue
        ok = done is not None and done.type == OK
        step = m.compile(c.invoke.f, c.invoke.value, done.value if ok else UNKNOWN)  # type: ignore[misc,union-attr]
        if not ok and (step[0] == 0 or (step[0] == 2 and step[1] == step[2])):
            continue
        expected.append((c.j if ok else INF, c.i, *step))
    assert list(zip(rets, cs, kinds, arg_a, arg_b)) == expected


# --- generic models against brute force -----------------------------------------------------

def _brute(ops: list[Op], model: str) -> bool:
    """Every subset of crashed ops, every order of completed + chosen crashed ops that
    respects real time, through ``model.step`` only."""
    m = get_model(model)
    items = []
    for c in pairs(ops):
        done = c.complete
        if done is not None and done.type == FAIL:
            continue
        ok = done is not None and done.type == OK
        items.append((c.i, c.j if ok else None, c.invoke.f, freeze(c.invoke.value),
                      freeze(done.value) if ok and done else UNKNOWN))
    done_ = [x for x in items if x[1] is not None]
    crashed = [x for x in items if x[1] is None]
    inf = float("inf")
    for r in range(len(crashed) + 1):
        for extra in itertools.combinations(crashed, r):
            for order in itertools.permutations(done_ + list(extra)):
                if any((b[1] if b[1] is not None else inf) < a[0]
                       for i, a in enumerate(order) for b in order[i + 1:]):
                    continue
                state = m.init
                for _, _, f, value, out in order:
                    state = m.step(state, f, value, out)
                    if state is INVALID:
                        break
                else:
                    return True
    return False


@st.composite
def generic_histories(draw: st.DrawFn, model: str, max_ops: int = 6) -> list[Op]:
    fs = {"set": ["add", "add", "read"], "fifo-queue": ["enqueue", "enqueue", "dequeue"],
          "mutex": ["acquire", "release"]}[model]
    n_ops = draw(st.integers(1, max_ops))
    ops: list[Op] = []
    open_: dict[int, Op] = {}
    nxt = invoked = 0
    while invoked < n_ops or open_:
        if invoked < n_ops and len(open_) < 3 and (not open_ or draw(st.booleans())):
            f = draw(st.sampled_from(fs))
            value = draw(st.sampled_from([1, 2, 3])) if f in ("add", "enqueue") else None
            op = Op(type=INVOKE, f=f, process=nxt, value=value)
            open_[nxt] = op
            nxt += 1
            invoked += 1
            ops.append(op)
            continue
        p = draw(st.sampled_from(sorted(open_)))
        inv = open_.pop(p)
        t = draw(st.sampled_from([OK, OK, INFO, FAIL, None]))
        if t is None:
            continue
        if inv.f == "read":
            out: Any = draw(st.lists(st.sampled_from([1, 2, 3]), max_size=3, unique=True))
        elif inv.f == "dequeue":
            out = draw(st.sampled_from([None, 1, 2, 3]))
        else:
            out = inv.value
        ops.append(Op(type=t, f=inv.f, process=p, value=out))
    ops[:] = [op.with_(index=i, time=i) for i, op in enumerate(ops)]
    return ops


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generic_models_agree_with_brute_force(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(["set", "fifo-queue", "mutex"]))
    ops = data.draw(generic_histories(model))
    assert check_history(ops, model=model)["valid"] is _brute(ops, model)
