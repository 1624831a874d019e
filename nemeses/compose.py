"""Compose nemesis packages into one: a nemesis that routes each op to the package that
knows its f, generators that run side by side (staggered, so the faults do not all fire at
once), and final generators run one after another.

    --nemesis partition,clock,pause,kill,packet    # run.py composes what the user listed
    --nemesis all                                  # every kind this machine supports

With k packages cycling every ``interval`` s, package i's first fault comes
``interval * (1 + i / k)`` s into the run, so their starts are spread evenly over an interval.
"""
from __future__ import annotations

from typing import Any

from harness import generators as g
from harness.api import Context, Nemesis, Package, Prepares
from harness.errors import NemesisError
from harness.history import Op
from nemeses.common import Cycle


class ComposedNemesis:
    def __init__(self, packages: list[Package]):
        self.packages = packages
        self.by_f: dict[str, Nemesis] = {}
        for p in packages:
            for start, stop in p.faults.items():
                self.by_f[start] = p.nemesis
                self.by_f[stop] = p.nemesis

    def prepare(self, ctx: Context) -> None:
        for p in self.packages:
            if isinstance(p.nemesis, Prepares):
                p.nemesis.prepare(ctx)

    def setup(self, ctx: Context) -> None:
        for p in self.packages:
            p.nemesis.setup(ctx)

    def invoke(self, ctx: Context, op: Op) -> Op:
        nem = self.by_f.get(op.f)
        if nem is None:
            raise NemesisError(f"no nemesis handles {op.f!r}; known: {sorted(self.by_f)}")
        return nem.invoke(ctx, op)

    def teardown(self, ctx: Context) -> None:
        """Tear down every package even if some fail, then report all failures at once."""
        errors = []
        for p in self.packages:
            try:
                p.nemesis.teardown(ctx)
            except Exception as e:
                errors.append(f"{p.name}: {e}")
        if errors:
            raise NemesisError("teardown failed: " + "; ".join(errors))


def stagger(packages: list[Package]) -> list[g.Generator]:
    """Each package's generator, the i-th of k delayed by i/k of an interval (the interval
    of our Cycle schedules; 1 s for a generator of unknown shape)."""
    gens = [p.generator for p in packages if p.generator is not None]
    intervals = [x.interval for x in gens if isinstance(x, Cycle)]
    base = min(intervals) if intervals else 1.0
    out: list[g.Generator] = []
    for i, gen in enumerate(gens):
        offset = base * i / len(gens)
        if isinstance(gen, Cycle):
            gen.offset = offset
            out.append(gen)
        elif offset > 0:
            out.append(g.then(g.sleep(offset), gen))
        else:
            out.append(gen)
    return out


def compose(packages: list[Package]) -> Package:
    if len(packages) == 1:
        return packages[0]
    gens = stagger(packages)
    finals = [p.final_generator for p in packages if p.final_generator is not None]
    faults: dict[str, str] = {}
    for p in packages:
        faults.update(p.faults)
    return Package(
        name="+".join(p.name for p in packages),
        nemesis=ComposedNemesis(packages),
        generator=g.any_of(*gens) if gens else None,
        final_generator=g.then(*finals) if finals else None,
        color=packages[0].color,
        faults=faults,
    )


def all_package(ctx: Context | None = None, *, interval: float = 5.0, seed: int = 0,
                **_: Any) -> Package:
    """Entry point ``all``: partition, packet, clock, pause and kill, composed. Built lenient:
    at prepare, a kind this machine or db cannot do (no libfaketime, a db that is not
    Pausable/Killable) leaves itself out with a line in the harness log, and packet uses
    netem's behaviours only where the kernel has netem. Teardown runs in this order: the
    network first, then clocks, then resumes, then restarts."""
    from nemeses import clock, packet, partition, process

    return compose([
        partition.package(interval=interval, seed=seed),
        packet.package(interval=interval, seed=seed + 1, lenient=True),
        clock.package(interval=interval, seed=seed + 2, lenient=True),
        process.pause_package(interval=interval, seed=seed + 3, lenient=True),
        process.kill_package(interval=interval, seed=seed + 4, lenient=True),
    ])


AllPackage = all_package
