"""harness.packages: nemesis packages composed into one."""
from __future__ import annotations

import pytest

from harness import generators as g
from harness.api import Package
from harness.errors import NemesisError
from harness.history import INFO, INVOKE, NEMESIS
from harness.packages import ComposedNemesis, compose_packages


class Rec:
    def __init__(self, name, fail_teardown=False, log=None):
        self.name, self.fail_teardown = name, fail_teardown
        self.log = log if log is not None else []

    def setup(self, ctx):
        self.log.append(f"{self.name}.setup")

    def invoke(self, ctx, op):
        self.log.append(f"{self.name}.{op.f}")
        return op.complete(INFO)

    def teardown(self, ctx):
        self.log.append(f"{self.name}.teardown")
        if self.fail_teardown:
            raise RuntimeError(f"{self.name} stuck")


class Every:
    """A Periodic generator: ``f`` every ``interval`` s, PENDING until due (as a nemesis
    schedule must be, so any_of serves each on time)."""

    def __init__(self, interval, f):
        self.interval, self.f, self.due = interval, f, None

    def op(self, ctx):
        if self.due is None:
            self.due = ctx.time
        if ctx.time < self.due:
            return g.PENDING
        self.due = ctx.time + int(self.interval * g.SECOND)
        return g.as_op({"f": self.f})


def pkg(name, interval=2.0, log=None, **kw):
    return Package(name, Rec(name, log=log, **kw), Every(interval, f"start-{name}"),
                   g.once({"f": f"stop-{name}"}), faults={f"start-{name}": f"stop-{name}"})


def test_one_package_is_itself_and_none_is_an_error():
    p = pkg("a")
    assert compose_packages([p]) is p
    with pytest.raises(ValueError):
        compose_packages([])


def test_ops_route_by_f_and_generators_are_staggered(fake_ctx):
    log: list[str] = []
    c = compose_packages([pkg("a", log=log), pkg("b", log=log)])
    assert c.name == "a+b" and c.faults == {"start-a": "stop-a", "start-b": "stop-b"}
    h = g.simulate(g.time_limit(9, c.generator), concurrency=0, nemesis=True)
    first = {f: min(o.time for o in h if o.f == f and o.type == INVOKE)
             for f in ("start-a", "start-b")}
    # b starts half of the shortest interval after a: the faults do not fire together.
    assert first["start-a"] == 0
    assert g.SECOND <= first["start-b"] < 1.01 * g.SECOND
    for o in h:
        assert o.process == NEMESIS
    c.nemesis.setup(fake_ctx)
    c.nemesis.invoke(fake_ctx, h[0])
    assert log == ["a.setup", "b.setup", "a.start-a"]
    finals = [o.f for o in g.simulate(c.final_generator, concurrency=0, nemesis=True)
              if o.type == INVOKE]
    assert finals == ["stop-a", "stop-b"]


def test_teardown_heals_every_package_and_reports_every_failure(fake_ctx):
    log: list[str] = []
    c = ComposedNemesis([pkg("a", log=log, fail_teardown=True), pkg("b", log=log),
                         pkg("c", log=log, fail_teardown=True)])
    with pytest.raises(NemesisError, match="a: a stuck; c: c stuck"):
        c.teardown(fake_ctx)
    assert log == ["a.teardown", "b.teardown", "c.teardown"]
    with pytest.raises(NemesisError, match="no nemesis handles 'start-z'"):
        c.invoke(fake_ctx, g.as_op({"f": "start-z"}))
