"""The counter, set, lost-update, bank and unique-ids workloads: generators on the virtual
clock (harness.generators.simulate), clients against an in-memory store, and their checkers
on what a correct store and a broken one produce."""
from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dbs.kvstore.client import KVError, KVIndefinite
from harness import generators as g
from harness.api import Checker, Client, Context, Workload
from harness.history import FAIL, INFO, INVOKE, OK, Op
from workloads import bank, counter, lost_update, unique_ids
from workloads import set as set_workload


class FakeKV:
    """The store's semantics in memory (dbs.kvstore.client.KVClient's methods). ``lose`` drops
    every n-th mutation after acknowledging it; ``fail_next`` raises on the next call."""

    data: dict[str, Any] = {}
    lose = 0
    fail_next: KVError | None = None
    calls = 0

    def __init__(self, host: str, port: int = 7000, timeout: float = 1.0):
        pass

    @classmethod
    def reset(cls, lose: int = 0) -> None:
        cls.data, cls.lose, cls.fail_next, cls.calls = {}, lose, None, 0

    def _mutate(self, key: Any, new: Any) -> None:
        FakeKV.calls += 1
        if FakeKV.lose and FakeKV.calls % FakeKV.lose == 0:
            return  # acknowledged, never applied
        FakeKV.data[str(key)] = new

    def _check(self) -> None:
        e, FakeKV.fail_next = FakeKV.fail_next, None
        if e is not None:
            raise e

    def read(self, key: Any) -> Any:
        self._check()
        return FakeKV.data.get(str(key))

    def write(self, key: Any, value: Any) -> None:
        self._check()
        self._mutate(key, value)

    def cas(self, key: Any, expected: Any, new: Any) -> bool:
        self._check()
        if FakeKV.data.get(str(key)) != expected:
            return False
        self._mutate(key, new)
        return True

    def incr(self, key: Any, delta: int = 1) -> int:
        self._check()
        new = (FakeKV.data.get(str(key)) or 0) + delta
        self._mutate(key, new)
        return new

    def append(self, key: Any, value: Any) -> None:
        self._check()
        self._mutate(key, list(FakeKV.data.get(str(key)) or []) + [value])

    def add(self, key: Any, value: Any) -> None:
        self._check()
        cur = list(FakeKV.data.get(str(key)) or [])
        self._mutate(key, cur if value in cur else cur + [value])

    def close(self) -> None:
        pass


import workloads.kv as kv_base  # noqa: E402

MODULES = {"counter": counter, "set": set_workload, "lost-update": lost_update,
           "bank": bank, "unique-ids": unique_ids}
CLASSES = {"counter": counter.CounterWorkload, "set": set_workload.SetWorkload,
           "lost-update": lost_update.LostUpdateWorkload, "bank": bank.BankWorkload,
           "unique-ids": unique_ids.UniqueIdsWorkload}


@pytest.fixture(autouse=True)
def fake_store(monkeypatch):
    FakeKV.reset()
    # Clients built on workloads.kv.KVOpClient get their KVClient from workloads.kv.
    for mod in [*MODULES.values(), kv_base]:
        if hasattr(mod, "KVClient"):
            monkeypatch.setattr(mod, "KVClient", FakeKV)
    yield FakeKV


def ctx(**options: Any) -> Context:
    return Context(spec=SimpleNamespace(options=options), nodes=["n1"], remotes={},
                   ips={"n1": "10.0.0.2"}, run_dir=Path("."))


def run(name: str, n: int = 200, seed: int = 1, **options: Any) -> list[Op]:
    """Ops from the workload's generator then its final generator, each through a client
    against the fake store, one at a time (times are positions, in seconds)."""
    w = CLASSES[name]()
    c = ctx(**options)
    client = w.client(c, 0, "n1")
    rng = random.Random(seed)
    history: list[Op] = []
    gens = [g.limit(n, w.generator(c))]
    final = w.final_generator(c)
    if final is not None:
        gens.append(final)
    for gen in gens:
        while True:
            gc = g.GenContext(time=len(history), process=0, rng=rng)
            op = gen.op(gc)
            if op is None:
                break
            assert isinstance(op, Op)
            op.process, op.type = 0, INVOKE
            history.append(op)
            history.append(client.invoke(c, op))
    for i, op in enumerate(history):
        op.index, op.time = i, i * 10**9
    client.close(c)
    return history


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_workloads_are_plugins(name):
    w = CLASSES[name]()
    assert isinstance(w, Workload) and w.name == name
    assert isinstance(w.client(ctx(), 0, "n1"), Client)
    assert isinstance(w.checker(ctx()), Checker)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_generators_on_the_virtual_clock(name):
    w = CLASSES[name]()
    h = g.simulate(g.clients(g.limit(60, w.generator(ctx()))), concurrency=4, seed=3)
    invokes = [o for o in h if o.type == INVOKE]
    assert len(invokes) == 60 and len(h) == 120
    fs = {o.f for o in invokes}
    assert fs <= {"add", "read", "append", "transfer", "generate"}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_a_correct_store_passes(name):
    res = CLASSES[name]().checker(ctx()).check({}, run(name))
    assert res["valid"] is True, res


@pytest.mark.parametrize("name, broken", [("counter", "counter"), ("set", "set"),
                                          ("lost-update", "lost-update"),
                                          ("unique-ids", "unique-ids")])
def test_a_store_that_loses_writes_fails(name, broken):
    FakeKV.reset(lose=7)
    res = CLASSES[name]().checker(ctx()).check({}, run(name))
    assert res["valid"] is False
    assert res["checkers"][broken]["valid"] is False


def test_counter_ops_and_final_reads():
    h = run("counter", n=30, keys=2)
    assert {o.f for o in h} == {"add", "read"}
    finals = [o for o in h[-4:] if o.type == OK]
    assert [(o.f, o.key) for o in finals] == [("read", 0), ("read", 1)]


def test_set_elements_are_distinct_per_key():
    h = run("set", n=100, keys=2)
    added = [(o.key, o.value) for o in h if o.type == INVOKE and o.f == "add"]
    assert len(added) == len(set(added))


def test_lost_update_appends_fresh_values_and_reads_every_key():
    h = run("lost-update", n=50, keys=3)
    final_reads = [o for o in h if o.type == OK and o.f == "read"][-3:]
    assert sorted(o.key for o in final_reads) == [0, 1, 2]


def test_bank_transfers_keep_the_total_and_refuse_overdrafts():
    h = run("bank", n=300, accounts=3, initial=4, max_amount=5)
    assert any(o.error == "insufficient-funds" for o in h)
    reads = [o.value for o in h if o.type == OK and o.f == "read"]
    assert reads and all(sum(r.values()) == 12 for r in reads)


def test_clients_map_errors_to_fail_and_info():
    c = ctx()
    client = counter.CounterWorkload().client(c, 0, "n1")
    FakeKV.fail_next = KVIndefinite("timeout", "no answer")
    done = client.invoke(c, Op(type=INVOKE, f="add", key=0, value=1))
    assert done.type == INFO and done.error.startswith("timeout")
    FakeKV.fail_next = KVIndefinite("timeout", "no answer")
    assert client.invoke(c, Op(type=INVOKE, f="read", key=0)).type == FAIL
    FakeKV.fail_next = KVError("type-error", True, "not a number")
    assert client.invoke(c, Op(type=INVOKE, f="add", key=0, value=1)).type == FAIL
    assert client.invoke(c, Op(type=INVOKE, f="frob", key=0)).type == FAIL


def test_bank_cas_conflict_is_a_definite_failure():
    c = ctx()
    client = bank.BankWorkload().client(c, 0, "n1")
    t = {"from": 0, "to": 1, "amount": 1}
    real_cas = FakeKV.cas
    FakeKV.cas = lambda self, key, expected, new: False  # type: ignore[method-assign]
    try:
        done = client.invoke(c, Op(type=INVOKE, f="transfer", value=t))
    finally:
        FakeKV.cas = real_cas  # type: ignore[method-assign]
    assert done.type == FAIL and done.error == "cas-mismatch"
    FakeKV.fail_next = None
    assert client.invoke(c, Op(type=INVOKE, f="read")).value == {str(a): 10 for a in range(5)}


def test_unique_ids_indeterminate_is_info():
    c = ctx()
    client = unique_ids.UniqueIdsWorkload().client(c, 0, "n1")
    FakeKV.fail_next = KVIndefinite("connection-lost", "reset")
    assert client.invoke(c, Op(type=INVOKE, f="generate")).type == INFO
    assert client.invoke(c, Op(type=INVOKE, f="generate")).value == 1
