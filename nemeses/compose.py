"""Compose nemesis packages into one: a nemesis that routes each op to the package that
knows its f, generators that run side by side, and final generators run one after another.
"""
from __future__ import annotations

from harness import generators as g
from harness.db import Context
from harness.errors import NemesisError
from harness.history import Op
from harness.plugins import Nemesis, Package, Prepares


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


def compose(packages: list[Package]) -> Package:
    if len(packages) == 1:
        return packages[0]
    gens = [p.generator for p in packages if p.generator is not None]
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
