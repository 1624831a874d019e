"""run.py without a cluster: plugins loaded through the registry, the db's modes, and
analyse composing the workload's named checkers."""
from __future__ import annotations

import json

import pytest

from harness import generators as g
from harness import registry
from harness.api import Mode, Package
from harness.errors import ConfigError
from harness.history import OK, Op, write_jsonl
from harness.runtime import run as run_mod
from harness.spec import TestSpec


class ModalDB:
    modes = (Mode("steady", "all good"), Mode("sloppy", "loses writes"))

    def setup(self, ctx, node):
        pass

    def teardown(self, ctx, node):
        pass


class PlainDB(ModalDB):
    modes = ()


class Named:
    def __init__(self, valid):
        self.valid = valid

    def check(self, test, ops):
        return {"valid": self.valid, "saw": len(ops)}


class FakeWorkload:
    name = "fake"

    def __init__(self, verdicts=None):
        self.verdicts = verdicts or {"set-full": True, "set": True}

    def client(self, ctx, process, node):
        raise NotImplementedError

    def generator(self, ctx):
        return g.repeat({"f": "read"})

    def final_generator(self, ctx):
        return None

    def checkers(self, ctx):
        return {name: Named(v) for name, v in self.verdicts.items()}


@pytest.fixture
def plugins(monkeypatch):
    """registry.load answering from a dict; records how nemesis factories were called."""
    calls = []

    def nemesis_factory(*, interval, seed):
        calls.append({"interval": interval, "seed": seed})
        return Package("x", object(), None, None, faults={"start-x": "stop-x"})
    table = {("db", "modal"): ModalDB, ("db", "plain"): PlainDB,
             ("workload", "fake"): FakeWorkload, ("workload", "broken"): BrokenWorkload,
             ("nemesis", "x"): nemesis_factory}

    def load(kind, name):
        return table[(kind, name)]
    monkeypatch.setattr(registry, "load", load)
    return calls


def test_an_empty_mode_is_the_dbs_first(plugins):
    p = run_mod.load_plugins(TestSpec(db="modal", workload="fake", nemesis=("x",)))
    assert p.spec.mode == "steady" and isinstance(p.db, ModalDB)
    assert json.loads(p.spec.to_json())["mode"] == "steady"
    assert p.spec.name == "modal-steady-fake", "an unnamed test is named after the mode"
    named = run_mod.load_plugins(TestSpec(name="mine", db="modal", workload="fake",
                                          nemesis=(), mode="sloppy")).spec
    assert (named.name, named.mode) == ("mine", "sloppy")


def test_nemesis_factories_get_only_what_they_use(plugins):
    p = run_mod.load_plugins(TestSpec(db="modal", workload="fake", nemesis=("x",), seed=4,
                                      nemesis_interval=2.5))
    assert plugins == [{"interval": 2.5, "seed": 4}] and p.packages[0].name == "x"


def test_an_unknown_mode_is_one_line_listing_the_dbs_modes(plugins):
    with pytest.raises(ConfigError, match=r"db 'modal' has no mode 'raft'; modes: steady, "
                                          r"sloppy$"):
        run_mod.load_plugins(TestSpec(db="modal", workload="fake", mode="raft"))
    with pytest.raises(ConfigError, match="db 'plain' has no modes"):
        run_mod.load_plugins(TestSpec(db="plain", workload="fake", mode="raft"))
    plain = run_mod.load_plugins(TestSpec(db="plain", workload="fake", nemesis=())).spec
    assert (plain.mode, plain.name) == ("", "plain-fake")


def history(tmp_path):
    write_jsonl(tmp_path / "history.jsonl", [
        Op("invoke", "read", 0, index=0, time=1), Op(OK, "read", 0, value=1, index=1, time=2)])


def test_analyse_composes_the_workloads_checkers_by_name_plus_stats(tmp_path, plugins):
    history(tmp_path)
    spec = TestSpec(db="modal", mode="steady", workload="fake", nemesis=())
    res = run_mod.analyse(tmp_path, spec=spec, workload=FakeWorkload())
    assert list(res["checkers"]) == ["set-full", "set", "stats"]
    assert res["checkers"]["set"]["saw"] == 2 and res["valid"] is True
    assert json.loads((tmp_path / "results.json").read_text())["valid"] is True


class BrokenWorkload(FakeWorkload):
    def __init__(self):
        super().__init__({"a": "unknown", "b": False})


def test_analyse_loads_the_workload_and_merges_false_first(tmp_path, plugins):
    history(tmp_path)
    res = run_mod.analyse(tmp_path, spec=TestSpec(db="modal", workload="broken", nemesis=()))
    assert res["valid"] is False and list(res["checkers"]) == ["a", "b", "stats"]


def test_an_interrupted_run_cannot_vouch(tmp_path, plugins):
    history(tmp_path)
    res = run_mod.analyse(tmp_path, spec=TestSpec(db="modal", workload="fake"),
                          workload=FakeWorkload(), interrupted=True)
    assert res["valid"] == "unknown" and res["interrupted"] is True


def test_a_run_with_no_client_op_is_unknown_though_linearizable(tmp_path, plugins):
    # The empty history is linearizable (the checker's answer), but a run that recorded no
    # client op measured nothing: the stats checker makes the run "unknown".
    from checkers.linearizable import LinearizableChecker

    class Lin(FakeWorkload):
        def checkers(self, ctx):
            return {"linearizable": LinearizableChecker()}

    write_jsonl(tmp_path / "history.jsonl", [])
    res = run_mod.analyse(tmp_path, spec=TestSpec(db="modal", workload="fake", nemesis=()),
                          workload=Lin())
    assert res["checkers"]["linearizable"]["valid"] is True
    assert res["checkers"]["stats"]["warnings"] == ["no client op completed"]
    assert res["valid"] == "unknown"
