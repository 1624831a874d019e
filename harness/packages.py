"""Nemesis packages composed into one package (a combinator that returns what it takes).

    compose_packages([partition, clock])   # -> Package "partition+clock"

The composed nemesis routes each op to the package whose ``faults`` name its f, sets up every
package, and tears every one down even if some fail (all failures reported at once). The
generators run side by side, staggered so the faults do not all fire at once; the final
(healing) generators run one after another.

With k packages whose generators are ``Periodic`` (they declare the ``interval`` of their
schedule, as nemeses.common.Cycle does), package i's generator starts after a sleep of
``interval * i / k`` (the shortest interval; 1 s when none declares one), so their first
faults are spread evenly over an interval. The packages themselves are not touched.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from harness import generators as g
from harness.api import Context, Nemesis, Package, Prepares, describe_options
from harness.errors import NemesisError
from harness.history import Op
from harness.options import Opt


@runtime_checkable
class Periodic(Protocol):
    """A generator that fires on a schedule of ``interval`` seconds."""

    interval: float


class ComposedNemesis:
    """One nemesis over several packages: ``invoke`` goes to the package that knows op.f."""

    def __init__(self, packages: list[Package]):
        self.packages = packages
        self.by_f: dict[str, Nemesis] = {}
        for p in packages:
            for start, stop in p.faults.items():
                self.by_f[start] = p.nemesis
                self.by_f[stop] = p.nemesis

    def declared_options(self) -> list[Opt]:
        """Every package's options (harness.api.HasOptions), for the ``all`` package (the
        runtime checks the packages a test lists one by one, before composing them)."""
        described = [describe_options(p) for p in self.packages]
        return [o for d in described for o in (d or ())]

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
    """Each package's generator, the i-th of k after a sleep of i/k of an interval."""
    gens = [p.generator for p in packages if p.generator is not None]
    intervals = [x.interval for x in gens if isinstance(x, Periodic)]
    base = min(intervals) if intervals else 1.0
    return [g.then(g.sleep(base * i / len(gens)), gen) if i else gen
            for i, gen in enumerate(gens)]


def compose_packages(packages: list[Package]) -> Package:
    """One package doing what all of ``packages`` do; a single package is returned as is."""
    if not packages:
        raise ValueError("compose_packages needs at least one package")
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
