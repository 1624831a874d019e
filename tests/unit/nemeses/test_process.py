"""Pause and kill through the db's Pausable / Killable, against a recording fake db."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from harness.errors import ConfigError, NemesisError
from harness.history import INFO, NEMESIS, Op
from nemeses.process import KillNemesis, PauseNemesis, kill_package, pause_package

NODES = ["n1", "n2", "n3", "n4", "n5"]


class FakeDB:
    name = "fakedb"

    def __init__(self, fail_start=(), block=None):
        self.calls: list[tuple[str, str]] = []
        self.fail_start = set(fail_start)
        self.block = block
        self.lock = threading.Lock()

    def _rec(self, what, node):
        if self.block is not None:
            self.block.wait(5)
        with self.lock:
            self.calls.append((what, node))

    def pause(self, ctx, node):
        self._rec("pause", node)

    def resume(self, ctx, node):
        self._rec("resume", node)

    def kill(self, ctx, node):
        self._rec("kill", node)

    def start(self, ctx, node):
        if node in self.fail_start:
            raise NemesisError(f"{node} did not come back")
        self._rec("start", node)


class OnlyKillable:
    name = "killonly"

    def kill(self, ctx, node): ...

    def start(self, ctx, node): ...


@pytest.fixture
def ctx(make_ctx):
    """ctx(db, **options): a fake Context over NODES with this db."""
    def build(db, **options):
        return make_ctx(nodes=NODES, options=options, db=db, log=lambda m: None)
    return build


def op(f, value=None):
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


def test_pause_then_resume_the_targets_with_timing(ctx):
    db = FakeDB()
    c = ctx(db, pause_targets="majority")
    nem = PauseNemesis(seed=1)
    nem.prepare(c)
    nem.setup(c)
    done = nem.invoke(c, op("start-pause"))
    assert done.type == INFO and not done.error
    paused = done.value["nodes"]
    assert len(paused) == 3 and done.value["targets"] == "majority"
    assert done.value["description"] == "paused " + " ".join(paused)
    assert done.value["seconds"] >= 0
    assert sorted(n for w, n in db.calls if w == "pause") == paused
    done = nem.invoke(c, op("stop-pause"))
    assert done.value["nodes"] == paused
    assert sorted(n for w, n in db.calls if w == "resume") == paused
    db.calls.clear()
    nem.invoke(c, op("stop-pause"))
    assert db.calls == [], "nothing left to resume"


def test_kill_restarts_on_stop_and_a_failed_restart_is_retried_by_teardown(ctx):
    db = FakeDB(fail_start={"n2"})
    c = ctx(db)
    nem = KillNemesis()
    nem.setup(c)
    nem.invoke(c, op("start-kill", {"nodes": ["n2", "n4"]}))
    assert sorted(n for w, n in db.calls if w == "kill") == ["n2", "n4"]
    with pytest.raises(NemesisError, match="n2: n2 did not come back"):
        nem.invoke(c, op("stop-kill"))
    assert nem.affected == {"n2"}, "n4 came back, n2 still needs a start"
    db.fail_start.clear()
    nem.teardown(c)
    assert ("start", "n2") in db.calls and nem.affected == set()
    db.calls.clear()
    nem.teardown(c)
    assert db.calls == [], "teardown is idempotent"


def test_a_db_without_the_capability_is_one_config_line(ctx):
    with pytest.raises(ConfigError) as e:
        PauseNemesis().prepare(ctx(OnlyKillable()))
    assert str(e.value) == ("nemesis pause needs a db that can pause its process (Pausable: "
                            "pause/resume); db 'killonly' cannot")
    KillNemesis().prepare(ctx(OnlyKillable()))  # fine


def test_lenient_package_leaves_itself_out_instead(ctx):
    pkg = pause_package(interval=1, lenient=True)
    c = ctx(OnlyKillable())
    pkg.nemesis.prepare(c)
    assert pkg.generator.op(SimpleNamespace(time=10**12)) is None, "schedule turned off"
    pkg.nemesis.setup(c)
    pkg.nemesis.invoke(c, op("stop-pause"))  # the final heal still works
    with pytest.raises(NemesisError, match="pause is not available: nemesis pause needs"):
        pkg.nemesis.invoke(c, op("start-pause"))
    pkg.nemesis.teardown(c)


def test_teardown_waits_for_an_op_in_flight_and_heals_what_it_did(ctx):
    gate = threading.Event()
    db = FakeDB(block=gate)
    c = ctx(db, kill_targets="n3")
    nem = KillNemesis()
    nem.setup(c)
    worker = threading.Thread(target=lambda: nem.invoke(c, op("start-kill")))
    worker.start()
    time.sleep(0.1)
    td = threading.Thread(target=nem.teardown, args=(c,))
    td.start()
    time.sleep(0.1)
    assert td.is_alive(), "teardown waits for the kill in flight"
    gate.set()
    worker.join(5)
    td.join(5)
    assert db.calls == [("kill", "n3"), ("start", "n3")]
    with pytest.raises(NemesisError, match="torn down"):
        nem.invoke(c, op("start-kill"))
    nem.invoke(c, op("stop-kill"))  # heals are always allowed


def test_packages_name_their_faults():
    for pkg, kind in ((pause_package(), "pause"), (kill_package(), "kill")):
        assert pkg.name == kind
        assert pkg.faults == {f"start-{kind}": f"stop-{kind}"}
        assert pkg.final_generator is not None


def test_unknown_f_and_unknown_nodes_are_refused(ctx):
    c = ctx(FakeDB())
    with pytest.raises(NemesisError, match="knows start-pause and stop-pause"):
        PauseNemesis().invoke(c, op("start-kill"))
    with pytest.raises(NemesisError, match=r"unknown node\(s\)"):
        PauseNemesis().invoke(c, op("start-pause", {"nodes": ["n9"]}))


# --- default targets (issue 12: --mode lease --nemesis pause caught 2 runs in 3) -------------

class LeaderDB(FakeDB):
    """A Pausable, Killable db that names n4 as its primary (HasPrimaries)."""

    def primaries(self, ctx):
        return ["n4"]


@pytest.mark.parametrize("cls", [PauseNemesis, KillNemesis])
def test_default_targets_hit_the_primary_often_when_the_db_names_it(ctx, cls):
    c = ctx(LeaderDB())
    hits, hows = 0, set()
    for seed in range(200):
        nem = cls(seed=seed)
        nem.setup(c)
        done = nem.invoke(c, op(f"start-{nem.kind}"))
        hits += "n4" in done.value["nodes"]
        hows.add(done.value["targets"])
        nem.teardown(c)
    # A random node is the leader 1 time in 5; Jepsen's draw from one, primaries, minority,
    # majority and all takes it ~64% of the time.
    assert hits > 200 * 0.45, hits
    assert hows == {"one", "primaries", "minority", "majority", "all"}


def test_default_targets_without_primaries_draw_sizes(ctx):
    hows = set()
    for seed in range(60):
        nem = PauseNemesis(seed=seed)
        nem.setup(ctx(FakeDB()))
        hows.add(nem.invoke(ctx(FakeDB()), op("start-pause")).value["targets"])
    assert hows == {"one", "minority", "majority", "all"}


def test_an_explicit_target_still_wins(ctx):
    c = ctx(LeaderDB(), pause_targets="one")
    for seed in range(30):
        nem = PauseNemesis(seed=seed)
        nem.setup(c)
        done = nem.invoke(c, op("start-pause"))
        assert done.value["targets"] == "one" and len(done.value["nodes"]) == 1
        nem.teardown(c)
