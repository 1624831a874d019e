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


# --- the recovery pause before the final reads (issue 12) ------------------------------------

class ElectingDB(ModalDB):
    """HasPrimaries: names no primary for its first ``after`` polls, then n2."""

    def __init__(self, after):
        self.after, self.polls = after, 0

    def primaries(self, ctx):
        self.polls += 1
        return ["n2"] if self.polls > self.after else []


class FinalRead(FakeWorkload):
    def final_generator(self, ctx):
        return g.once({"f": "read", "key": "final"})


def final_read_time(make_ctx, db, **options):
    spec = TestSpec(db="modal", workload="fake", nemesis=(), time_limit=1, rate=10,
                    options=options)
    ctx = make_ctx(spec=spec, nodes=spec.nodes, db=db)
    plugins = run_mod.Plugins(spec=spec, db=db, workload=FinalRead(), packages=[])
    h = g.simulate(run_mod.build_generator(spec, ctx, plugins, None), concurrency=2)
    (final,) = [o for o in h if o.type == "invoke" and o.key == "final"]
    last_main = max(o.time for o in h if o.key != "final")
    return (final.time - last_main) / g.SECOND


def test_final_reads_wait_until_the_db_names_its_primaries(make_ctx):
    # The old fixed 2 s, then polls 0.5 s apart: an election that takes 20 polls (~10 s)
    db = ElectingDB(after=20)
    waited = final_read_time(make_ctx, db)
    assert db.polls == 22, "polled until the same primary was named twice"
    assert 12.5 <= waited <= 13.0
    quick = ElectingDB(after=0)
    assert 2.5 <= final_read_time(make_ctx, quick) <= 3.0 and quick.polls == 2


def test_the_wait_for_primaries_is_bounded_by_recovery_time(make_ctx):
    db = ElectingDB(after=10**9)
    assert 5.0 <= final_read_time(make_ctx, db, recovery_time=5) <= 5.1
    assert 30.0 <= final_read_time(make_ctx, ElectingDB(after=10**9)) <= 30.1


def test_a_db_that_cannot_name_primaries_gets_the_fixed_pause(make_ctx):
    assert 2.0 <= final_read_time(make_ctx, ModalDB()) <= 2.1
    assert 7.0 <= final_read_time(make_ctx, ModalDB(), recovery_time=7) <= 7.1


# --- options declared by the plugins, checked at load time (issue 12) -------------------------

def load(nemesis="partition", workload="register", mode="", **options):
    """load_plugins on the built-in plugins (the real registry), with these options."""
    return run_mod.load_plugins(TestSpec(nemesis=tuple(nemesis.split(",")), workload=workload,
                                         mode=mode, options=options))


@pytest.mark.parametrize("nemesis,options,says", [
    ("partition", {"partition": "halvez"},
     r"option partition='halvez' is not allowed: give one or more of halves, "
     r"random-halves, .*rotate"),
    ("clock", {"clock": "bumpp"}, r"option clock='bumpp' is not allowed: give one or more of bump, "
                                  r"strobe, drift$"),
    ("packet", {"packet_loss": 5}, r"option packet_loss=5 is not allowed: give a number from "
                                   r"0 to 1$"),
    ("partition", {"packet_loss": 0.5}, r"unknown option 'packet_loss'; the options of db "
                                        r"kvstore, workload register, nemesis partition are: "),
    ("pause", {"pause_targets": "n9"}, r"option pause_targets='n9' is not allowed: give one of "
                                      r"one, .*, or nodes of this test like n1,n2$"),
    ("kill", {"targets": ["one", "n1,n7"]}, r"option targets=\[\"one\", \"n1,n7\"\]"),
    ("pause", {"lease_ms": -1}, r"option lease_ms=-1 is not allowed: give a number > 0$"),
    ("pause", {"lease_ms": "soon"}, r"option lease_ms='soon' is not allowed: give an int"),
    ("partition", {"partiton": "halves"},
     r"unknown option 'partiton'; did you mean 'partition'\?"),
    ("partition", {"keys": 0}, r"option keys=0 is not allowed: give a number >= 1$"),
    ("partition", {"recovery_time": -2}, r"option recovery_time=-2 is not allowed"),
    ("all", {"clock_rates": [1]}, r"option clock_rates=\[1\] is not allowed: give rates > 0"),
    ("partition", {"partition": "rotate,halves"}, r"give rotate alone"),
    ("partition", {"grudge": {"n1": ["n8"]}}, r"option grudge=.* of this test's nodes"),
])
def test_bad_options_are_refused_at_load_time_in_one_line(nemesis, options, says):
    with pytest.raises(ConfigError, match=says) as e:
        load(nemesis, **options)
    assert "\n" not in str(e.value)


def test_good_options_pass_as_the_cli_gives_them():
    # The CLI gives JSON where it parses, else the string.
    load("partition,pause,clock,packet", keys="8", lease_ms=500, partition="majorities-ring",
         pause_targets="primaries", clock="bump,drift", packet_loss="0.5", port=7001,
         kvstore_args="--forward-timeout 0.5", final_read_timeout=10, recovery_time=5,
         targets=["one", "n1,n2"], grudge=[["n1"], ["n2", "n3", "n4", "n5"]])
    load("all", workload="set", linearizable="yes", read_ratio=0.5, clock_strobe_s=2)
    load("none", workload="unique-ids")


def test_a_campaign_may_let_through_options_meant_for_its_other_cells():
    with pytest.raises(ConfigError, match="unknown option 'read_ratio'"):
        load(read_ratio=0.5)
    run_mod.load_plugins(TestSpec(options={"read_ratio": 0.5}), also_known={"read_ratio"})


def test_undeclared_plugins_make_unknown_keys_no_error_but_values_are_checked(plugins):
    # A third-party plugin that declares nothing may read any option.
    p = run_mod.load_plugins(TestSpec(db="modal", workload="fake", nemesis=(),
                                      options={"whatever": 1}))
    assert p.spec.options == {"whatever": 1}
    with pytest.raises(ConfigError, match="recovery_time"):
        run_mod.load_plugins(TestSpec(db="modal", workload="fake", nemesis=(),
                                      options={"recovery_time": 0}))


def test_every_built_in_plugin_declares_its_options():
    from harness.options import Opt

    for kind in ("db", "workload", "nemesis"):
        for name in registry.available(kind):
            opts = registry.options_of(kind, name)
            assert opts is not None, f"{kind} {name} declares no options"
            assert all(isinstance(o, Opt) and o.help for o in opts)
    names = {n for o in registry.options_of("nemesis", "all") or [] for n in o.names()}
    assert {"partition", "clock", "pause_targets", "kill_targets", "packet_loss",
            "clock_targets", "grudge"} <= names
