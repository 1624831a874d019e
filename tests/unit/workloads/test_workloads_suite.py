"""The register, counter, set, lost-update, bank and unique-ids workloads: generators on the
virtual clock (harness.generators.simulate), clients against an in-memory store reached
through ``ctx.db`` (HasKV), and their checkers on what a correct store and a broken one
produce."""
from __future__ import annotations

import random
from typing import Any

import pytest

from harness import generators as g
from harness.api import (
    KV,
    Checker,
    Client,
    Context,
    HasKV,
    KVAdd,
    KVAppend,
    KVIncr,
    StoreError,
    Workload,
)
from harness.errors import ConfigError
from harness.history import FAIL, INFO, INVOKE, OK, Op
from harness.testing import fake_context
from harness.verdicts import compose_checks
from workloads import bank, counter, lost_update, register, unique_ids
from workloads import set as set_workload


class FakeError(StoreError):
    def __init__(self, code: str, definite: bool, msg: str = ""):
        super().__init__(f"{code}: {msg}")
        self.code, self.definite = code, definite


class FakeKV:
    """A store's semantics in memory (KV with incr, append and add). ``lose`` drops every
    n-th mutation after acknowledging it; ``fail_next`` raises on the next call."""

    data: dict[str, Any] = {}
    lose = 0
    fail_next: StoreError | None = None
    calls = 0

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


class PlainKV:
    """Only the KV protocol: read, write, cas."""

    def read(self, key: Any) -> Any:
        return None

    def write(self, key: Any, value: Any) -> None:
        pass

    def cas(self, key: Any, expected: Any, new: Any) -> bool:
        return False

    def close(self) -> None:
        pass


class FakeDB:
    """A db that speaks key-value (HasKV): every client is ``client()``."""

    name = "fake"

    def __init__(self, client: type = FakeKV):
        self.client_type = client
        self.asked: list[str] = []

    def setup(self, ctx: Context, node: str) -> None:
        pass

    def teardown(self, ctx: Context, node: str) -> None:
        pass

    def kv(self, ctx: Context, node: str) -> KV:
        self.asked.append(node)
        return self.client_type()


class SilentDB:
    """A db with no key-value client (no ``kv``)."""

    name = "fake"

    def setup(self, ctx: Context, node: str) -> None:
        pass

    def teardown(self, ctx: Context, node: str) -> None:
        pass


CLASSES = {"counter": counter.CounterWorkload, "set": set_workload.SetWorkload,
           "lost-update": lost_update.LostUpdateWorkload, "bank": bank.BankWorkload,
           "unique-ids": unique_ids.UniqueIdsWorkload}
PLUGINS = {**CLASSES, "register": register.RegisterWorkload}


@pytest.fixture(autouse=True)
def fake_store():
    FakeKV.reset()
    yield FakeKV


def ctx(db: Any = None, **options: Any) -> Context:
    return fake_context(("n1",), options=options, db=db or FakeDB(), log=lambda s: None)


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
            op = op.with_(process=0, type=INVOKE)
            history.append(op)
            done = client.invoke(c, op)
            history.append(done)
            g.update(gen, gc, done)
    client.close(c)
    return [op.with_(index=i, time=i * 10**9) for i, op in enumerate(history)]


def check(name: str, history: list[Op]) -> dict[str, Any]:
    return compose_checks(CLASSES[name]().checkers(ctx()), {}, history)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_workloads_are_plugins(name):
    w = PLUGINS[name]()
    assert isinstance(w, Workload) and w.name == name
    db = FakeDB()
    assert isinstance(w.client(ctx(db), 0, "n1"), Client)
    assert db.asked == ["n1"], "the client comes from ctx.db"
    named = w.checkers(ctx())
    assert named and all(isinstance(c, Checker) for c in named.values())
    assert "stats" not in named  # the runtime adds it


def test_checkers_are_named_flat():
    assert set(PLUGINS["register"]().checkers(ctx())) == {"linearizable"}
    assert set(PLUGINS["set"]().checkers(ctx())) == {"set-full", "set", "exceptions"}
    assert set(PLUGINS["counter"]().checkers(ctx())) == {"counter", "exceptions"}
    assert set(PLUGINS["bank"]().checkers(ctx())) == {"bank", "exceptions"}
    assert set(PLUGINS["lost-update"]().checkers(ctx())) == {"lost-update", "exceptions"}
    assert set(PLUGINS["unique-ids"]().checkers(ctx())) == {"unique-ids", "exceptions"}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_a_db_that_speaks_no_key_value_is_one_clear_error(name):
    assert not isinstance(SilentDB(), HasKV)
    with pytest.raises(ConfigError, match=f"workload {name} needs a db that speaks "
                                          r"key-value \(HasKV\); db fake does not"):
        PLUGINS[name]().client(ctx(SilentDB()), 0, "n1")


@pytest.mark.parametrize("name, proto", [("counter", KVIncr), ("unique-ids", KVIncr),
                                         ("set", KVAdd), ("lost-update", KVAppend)])
def test_a_client_without_the_capability_is_one_clear_error(name, proto):
    assert not isinstance(PlainKV(), proto) and isinstance(FakeKV(), proto)
    with pytest.raises(ConfigError, match=f"{name} needs a key-value client with "
                                          f"{proto.__name__}"):
        PLUGINS[name]().client(ctx(FakeDB(PlainKV)), 0, "n1")
    PLUGINS["register"]().client(ctx(FakeDB(PlainKV)), 0, "n1")  # needs only KV


def test_options_are_typed_and_a_bad_one_is_one_line():
    w = counter.CounterWorkload()
    assert w.generator(ctx(keys="3", read_ratio="0.5")).keys == 3
    assert counter.CounterWorkload(keys=2).generator(ctx(keys=9)).keys == 2  # given wins
    with pytest.raises(ConfigError, match="option keys='many' is not an int"):
        w.generator(ctx(keys="many"))
    assert set_workload.SetWorkload().checkers(ctx(linearizable="yes"))["set-full"].linearizable


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
    res = check(name, run(name))
    assert res["valid"] is True, res


@pytest.mark.parametrize("name, broken", [("counter", "counter"), ("set", "set"),
                                          ("lost-update", "lost-update"),
                                          ("unique-ids", "unique-ids")])
def test_a_store_that_loses_writes_fails(name, broken):
    FakeKV.reset(lose=7)
    res = check(name, run(name))
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
    FakeKV.fail_next = FakeError("timeout", False, "no answer")
    done = client.invoke(c, Op(type=INVOKE, f="add", key=0, value=1))
    assert done.type == INFO and done.error.startswith("timeout")
    FakeKV.fail_next = FakeError("timeout", False, "no answer")
    assert client.invoke(c, Op(type=INVOKE, f="read", key=0)).type == FAIL
    FakeKV.fail_next = FakeError("type-error", True, "not a number")
    assert client.invoke(c, Op(type=INVOKE, f="add", key=0, value=1)).type == FAIL
    assert client.invoke(c, Op(type=INVOKE, f="frob", key=0)).type == FAIL


def test_bank_cas_conflict_is_a_definite_failure(monkeypatch):
    c = ctx()
    client = bank.BankWorkload().client(c, 0, "n1")
    t = {"from": 0, "to": 1, "amount": 1}
    with monkeypatch.context() as m:
        m.setattr(FakeKV, "cas", lambda self, key, expected, new: False)
        done = client.invoke(c, Op(type=INVOKE, f="transfer", value=t))
    assert done.type == FAIL and done.error == "cas-mismatch"
    FakeKV.fail_next = None
    assert client.invoke(c, Op(type=INVOKE, f="read")).value == {str(a): 10 for a in range(5)}


def test_unique_ids_indeterminate_is_info():
    c = ctx()
    client = unique_ids.UniqueIdsWorkload().client(c, 0, "n1")
    FakeKV.fail_next = FakeError("connection-lost", False, "reset")
    assert client.invoke(c, Op(type=INVOKE, f="generate")).type == INFO
    assert client.invoke(c, Op(type=INVOKE, f="generate")).value == 1


class FlakyKV(FakeKV):
    """Fails its first ``FAILS`` reads of each key: a cluster still electing after the heal."""

    FAILS = 3
    reads: dict[Any, int] = {}

    def read(self, key: Any) -> Any:
        FlakyKV.reads[key] = FlakyKV.reads.get(key, 0) + 1
        if FlakyKV.reads[key] <= FlakyKV.FAILS:
            raise FakeError("not-leader", definite=False)
        return super().read(key)


@pytest.mark.parametrize("name", ["counter", "set", "lost-update", "bank", "register"])
def test_final_reads_retry_until_ok(name):
    # Issue 12: a final read that failed (not-leader right after the heal) is tried again,
    # so the checkers get every key's final state.
    FlakyKV.reads = {}
    workload = PLUGINS[name]()
    c = ctx(db=FakeDB(FlakyKV))
    if name == "register":
        gen = workload.generator(c)
        rng = random.Random(0)
        for _ in range(5):
            gen.op(g.GenContext(time=0, process=0, rng=rng))
    final = workload.final_generator(c)
    assert final is not None
    clients = {}

    def complete(op: Op, rng: random.Random) -> str:
        client = clients.setdefault(op.process, workload.client(c, 0, "n1"))
        return client.invoke(c, op.with_(type=INVOKE)).type

    h = g.simulate(final, concurrency=2, complete=complete)
    keys = {o.key for o in h if o.type == INVOKE}
    assert keys and {o.key for o in h if o.type == OK} == keys
    assert all(FlakyKV.reads[k if k is not None else "bank"] == FlakyKV.FAILS + 1
               for k in keys)


def test_final_reads_give_up_after_final_read_timeout():
    FlakyKV.reads, FlakyKV.FAILS = {}, 10**9
    try:
        w = counter.CounterWorkload()
        c = ctx(db=FakeDB(FlakyKV), final_read_timeout=3)
        client = w.client(c, 0, "n1")
        h = g.simulate(w.final_generator(c), concurrency=1,
                       complete=lambda op, rng: client.invoke(c, op.with_(type=INVOKE)).type)
        assert 5 <= len([o for o in h if o.type == INVOKE]) <= 7
    finally:
        FlakyKV.FAILS = 3


def test_a_store_error_is_its_kind_with_the_details_in_fields():
    # Errors group by kind (the report's failures by cause): the variable parts, message
    # and address, go in fields of their own, not into the kind.
    from dbs.kvstore.client import KVError
    from harness.history import FAIL, INFO
    from workloads.register import RegisterClient

    class Refusing:
        def __init__(self, definite):
            self.definite = definite

        def read(self, key):
            raise KVError("not-leader", True, "n5 is not the leader (term 7)", "172.20.0.5")

        def write(self, key, value):
            raise KVError("timeout", False, "no answer in 1.0 s", "172.20.0.5")

        def cas(self, key, old, new):
            raise RuntimeError("never")

        def close(self):
            pass

    c = RegisterClient(Refusing(True))
    done = c.invoke(None, Op(type="invoke", f="read", process=0, key=1))
    assert (done.type, done.error) == (FAIL, "not-leader")
    assert done.extra == {"error_msg": "n5 is not the leader (term 7)",
                          "error_host": "172.20.0.5"}
    done = c.invoke(None, Op(type="invoke", f="write", process=0, key=1, value=3))
    assert (done.type, done.error) == (INFO, "timeout")
    assert done.to_dict()["error_msg"] == "no answer in 1.0 s"
