"""Composition of the built-in packages (harness.packages.compose_packages): staggered Cycle
schedules that do not starve each other, routing, the `all` package, and the entry points."""
from __future__ import annotations

from collections import defaultdict

import pytest

from harness import generators as g
from harness import registry
from harness.api import Package
from harness.history import INVOKE, NEMESIS, Op
from harness.packages import ComposedNemesis, compose_packages, stagger
from nemeses.common import Cycle
from nemeses.compose import all_package

KINDS = ["partition", "packet", "clock", "pause", "kill"]


def starts_by_kind(history):
    out = defaultdict(list)
    for o in history:
        if o.type == INVOKE and o.process == NEMESIS:
            out[o.f].append(o.time / 1e9)
    return out


def test_a_cycle_starts_after_one_interval_and_alternates():
    h = g.simulate(g.nemesis(g.time_limit(11, Cycle(2, "start-x", "stop-x"))), concurrency=0,
                   nemesis=True, latency=0.01)
    ops = [(o.f, round(o.time / 1e9, 2)) for o in h if o.type == INVOKE]
    assert ops == [("start-x", 2.0), ("stop-x", 4.0), ("start-x", 6.0), ("stop-x", 8.0),
                   ("start-x", 10.0)]


def test_composed_packages_are_staggered_and_none_starves():
    pkgs = [registry.load("nemesis", k)(interval=2, seed=1) for k in KINDS]
    pkg = compose_packages(pkgs)
    assert all(p.generator.offset == 0 for p in pkgs), "compose leaves the packages alone"
    h = g.simulate(g.nemesis(g.time_limit(30, pkg.generator)), concurrency=0, nemesis=True,
                   latency=0.05)
    by = starts_by_kind(h)
    firsts = sorted(by[f"start-{k}"][0] for k in KINDS)
    assert firsts == pytest.approx([2.0, 2.4, 2.8, 3.2, 3.6], abs=0.1)
    for k in KINDS:
        assert len(by[f"start-{k}"]) >= 6 and len(by[f"stop-{k}"]) >= 6, k
    assert pkg.faults == {f"start-{k}": f"stop-{k}" for k in KINDS}
    assert set(pkg.name.split("+")) == set(KINDS)


def test_all_is_every_kind_and_the_final_generator_heals_each():
    pkg = all_package(interval=3, seed=5)
    assert pkg.faults == {f"start-{k}": f"stop-{k}" for k in KINDS}
    finals = g.simulate(g.nemesis(pkg.final_generator), concurrency=0, nemesis=True)
    assert [o.f for o in finals if o.type == INVOKE] == [f"stop-{k}" for k in KINDS]


def test_a_lenient_fault_left_out_stays_out_when_staggered():
    """The stagger wraps a package's generator, so a Cycle its nemesis disables at prepare
    (after compose) is still the one that runs."""
    pkgs = [Package("a", None, Cycle(2, "start-a", "stop-a"), None),
            Package("b", None, Cycle(2, "start-b", "stop-b"), None)]
    gens = stagger(pkgs)
    pkgs[1].generator.disable()
    h = g.simulate(g.nemesis(g.time_limit(9, g.any_of(*gens))), concurrency=0, nemesis=True)
    assert [(o.f, round(o.time / 1e9, 1)) for o in h if o.type == INVOKE] == [
        ("start-a", 2.0), ("stop-a", 4.0), ("start-a", 6.0), ("stop-a", 8.0)]


def test_routing_prepare_and_teardown_reach_every_package(fake_ctx):
    calls = []

    class Rec:
        def __init__(self, name):
            self.name = name

        def prepare(self, ctx):
            calls.append(("prepare", self.name))

        def setup(self, ctx):
            calls.append(("setup", self.name))

        def invoke(self, ctx, op):
            calls.append((op.f, self.name))
            return op.complete("info")

        def teardown(self, ctx):
            calls.append(("teardown", self.name))
            if self.name == "a":
                raise RuntimeError("boom")

    nem = ComposedNemesis([Package("a", Rec("a"), None, None, faults={"start-a": "stop-a"}),
                           Package("b", Rec("b"), None, None, faults={"start-b": "stop-b"})])
    c = fake_ctx
    nem.prepare(c)
    nem.setup(c)
    nem.invoke(c, Op(type="invoke", f="stop-b", process=NEMESIS))
    with pytest.raises(Exception, match="teardown failed: a: boom"):
        nem.teardown(c)
    assert calls == [("prepare", "a"), ("prepare", "b"), ("setup", "a"), ("setup", "b"),
                     ("stop-b", "b"), ("teardown", "a"), ("teardown", "b")]


def test_every_kind_is_registered():
    names = set(registry.available("nemesis"))
    assert {"partition", "clock", "pause", "kill", "packet", "all", "none"} <= names
    for k in KINDS + ["all"]:
        pkg = registry.load("nemesis", k)(interval=1.0, seed=0)
        assert isinstance(pkg, Package) and pkg.final_generator is not None
        assert pkg.color.startswith("#")


def test_a_fault_that_fails_to_apply_is_a_failed_window_with_its_error(make_ctx, tmp_path):
    """Through the real runner: the packet nemesis's loss rules never show up on n2, so the
    start completes as info with error, and analysis counts it as failed."""
    from harness.faults import coverage, fault_windows
    from harness.history import HistoryWriter, read_jsonl
    from harness.runtime.runner import Runner
    from nemeses.packet import packet_package

    # every command "works", lists nothing
    c = make_ctx(nodes=["n1", "n2"], options={"packet": "loss", "packet_targets": "n2"},
                 log=lambda m: None)
    pkg = packet_package(interval=0.05)
    pkg.nemesis.prepare(c)
    pkg.nemesis.setup(c)
    hist = HistoryWriter(tmp_path / "history.jsonl", keep=False)
    gen = g.phases(g.nemesis(g.limit(2, pkg.generator)), g.nemesis(pkg.final_generator))
    runner = Runner(c, None, pkg.nemesis, gen, hist, concurrency=0, seed=0,
                    fault_names=pkg.faults)
    runner.run()
    hist.close()
    ops = read_jsonl(tmp_path / "history.jsonl")
    start = [o for o in ops if o.f == "start-packet" and o.type != INVOKE][0]
    assert start.type == "info"
    assert "packet loss on n2: 0 of 2 rules in place" in start.error
    assert "(after 0.0" in start.error
    cov = coverage(fault_windows(ops, pkg.faults))
    assert cov["packet"]["failed"] == 1 and cov["packet"]["applied"] == 0
    stops = [o for o in ops if o.f == "stop-packet" and o.type != INVOKE]
    assert stops and all(not o.error and o.value["seconds"] >= 0 for o in stops)
