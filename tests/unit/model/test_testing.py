"""harness.testing: what a plugin author tests with, and its conformance checks catch a
plugin that breaks the contract."""
from __future__ import annotations

from harness import generators as g
from harness.api import Package
from harness.generators import simulate as simulate_in_generators
from harness.history import INFO, OK, Op
from harness.testing import check_db, check_nemesis, check_workload, simulate


class Marker:
    """A well-behaved nemesis: records what it did, heals idempotently."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.active = False

    def setup(self, ctx):
        self.calls.append("setup")

    def invoke(self, ctx, op):
        self.calls.append(op.f)
        self.active = op.f == "start-mark"
        return op.complete(INFO, value={"description": op.f})

    def teardown(self, ctx):
        self.calls.append("teardown")
        self.active = False


def marker_package(nemesis=None, faults=None, final=True):
    return Package(
        name="mark", nemesis=nemesis or Marker(),
        generator=g.delay(1, g.Seq({"f": f} for f in ["start-mark", "stop-mark"] * 5)),
        final_generator=g.once({"f": "stop-mark"}) if final else None,
        faults={"start-mark": "stop-mark"} if faults is None else faults)


def test_simulate_is_the_one_in_generators():
    assert simulate is simulate_in_generators


def test_a_conforming_nemesis_has_no_problems(fake_ctx):
    nem = Marker()
    assert check_nemesis(marker_package(nem), fake_ctx, max_ops=4) == []
    assert nem.calls == ["setup", "start-mark", "stop-mark", "start-mark", "stop-mark",
                         "stop-mark", "teardown", "teardown"]


def test_a_nemesis_that_changes_process_f_and_type_is_reported(fake_ctx):
    class Bad(Marker):
        def invoke(self, ctx, op):
            return Op("done", "other", process=7)
    problems = check_nemesis(marker_package(Bad()), fake_ctx, max_ops=2)
    text = "\n".join(problems)
    assert "type 'done' is not ok/fail/info" in text
    assert "f changed from 'start-mark' to 'other'" in text
    assert "process changed from 'nemesis' to 7" in text


def test_a_teardown_that_is_not_idempotent_is_reported(fake_ctx):
    class Once(Marker):
        def teardown(self, ctx):
            if "teardown" in self.calls:
                raise RuntimeError("nothing to heal")
            super().teardown(ctx)
    problems = check_nemesis(marker_package(Once()), fake_ctx, max_ops=2)
    assert problems == ["teardown #2 raised RuntimeError: nothing to heal"]


def test_an_f_outside_the_faults_and_a_raising_invoke_are_reported(fake_ctx):
    class Raises(Marker):
        def invoke(self, ctx, op):
            raise ValueError("no iptables")
    problems = check_nemesis(marker_package(Raises(), faults={}), fake_ctx, max_ops=1)
    assert any("'start-mark' is not in the package's faults" in p for p in problems)
    assert any("invoke 'start-mark' raised ValueError: no iptables" in p for p in problems)


def test_a_failing_setup_stops_the_check(fake_ctx):
    class NoSetup(Marker):
        def setup(self, ctx):
            raise OSError("no tc")
    nem = NoSetup()
    assert check_nemesis(marker_package(nem), fake_ctx) == ["setup raised OSError: no tc"]
    assert nem.calls == []


class Stats:
    def check(self, test, ops):
        return {"valid": True}


class GoodWorkload:
    name = "good"

    def client(self, ctx, process, node):
        raise NotImplementedError

    def generator(self, ctx):
        return g.repeat({"f": "read", "key": 1})

    def final_generator(self, ctx):
        return None

    def checkers(self, ctx):
        return {"stats-like": Stats()}


def test_a_conforming_workload_has_no_problems(fake_ctx):
    assert check_workload(GoodWorkload(), fake_ctx) == []


def test_a_broken_workload_is_reported(fake_ctx):
    class Crashes:
        def check(self, test, ops):
            raise KeyError("history")

    class Verdictless:
        def check(self, test, ops):
            return {"ok": 1}

    class Bad(GoodWorkload):
        def generator(self, ctx):
            return g.Seq([])

        def final_generator(self, ctx):
            raise RuntimeError("no keys option")

        def checkers(self, ctx):
            return {"crash": Crashes(), "none": Verdictless(), "maybe": _Valid("maybe"),
                    "plain": object()}
    problems = check_workload(Bad(), fake_ctx)
    assert problems == [
        "generator yields no ops",
        "final_generator raised RuntimeError: no keys option",
        "checker 'crash' on an empty history raised KeyError: 'history'",
        "checker 'none' answered dict without a 'valid' field",
        "checker 'maybe' answered valid='maybe'; expected true, false or \"unknown\"",
        "checker 'plain' (object) has no check(test, ops)",
    ]


def test_checkers_must_be_a_dict(fake_ctx):
    class Old(GoodWorkload):
        def checkers(self, ctx):
            return Stats()
    assert check_workload(Old(), fake_ctx)[0].startswith("checkers(ctx) returned")


class _Valid:
    def __init__(self, v):
        self.v = v

    def check(self, test, ops):
        return {"valid": self.v}


def test_simulated_ops_are_frozen_copies():
    h = simulate(g.limit(2, g.repeat(Op("invoke", "read"))), concurrency=1)
    assert [(o.type, o.index) for o in h] == [("invoke", 0), (OK, 1), ("invoke", 2), (OK, 3)]


class _DB:
    def __init__(self, modes=None):
        if modes is not None:
            self.modes = modes
        self.torn = 0

    def setup(self, ctx, node):
        pass

    def teardown(self, ctx, node):
        self.torn += 1


def test_the_built_in_db_keeps_the_db_contract():
    from dbs.kvstore.db import KVStoreDB
    assert check_db(KVStoreDB()) == []


def test_a_db_with_bad_modes_is_reported():
    from harness.api import Mode
    db = _DB(modes=(Mode("a", "ok"), Mode("a", "again"), Mode("b", " "),
                    Mode("c", "x", expect={"partition": "invalid"}, expect_default=1)))
    problems = check_db(db)
    assert any("'a' is declared twice" in p for p in problems)
    assert any("'b' promises nothing" in p for p in problems)
    assert any("'c' expects" in p and "partition" in p and "(default)" in p for p in problems)
    assert check_db(_DB(modes=["raft"])) and check_db(_DB(modes=()))


def test_a_db_is_set_up_and_torn_down_twice_on_every_node(fake_ctx):
    db = _DB()
    assert check_db(db, fake_ctx) == []
    assert db.torn == 2 * len(fake_ctx.nodes)
    assert check_db(object()) != []
