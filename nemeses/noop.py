"""The "none" nemesis package: no faults. Useful as a baseline run."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.api import Context, Package
from harness.history import INFO, Op
from harness.options import Opt


class NoopNemesis:
    def setup(self, ctx: Context) -> None:
        pass

    def invoke(self, ctx: Context, op: Op) -> Op:
        return op.complete(INFO, value="noop")

    def teardown(self, ctx: Context) -> None:
        pass

    def declared_options(self) -> Sequence[Opt]:
        return ()


def noop_package(**_: Any) -> Package:
    """Entry point ``none``. Takes (and ignores) the ``interval`` and ``seed`` every nemesis
    factory is called with: there is nothing to schedule."""
    return Package(name="none", nemesis=NoopNemesis(), generator=None, final_generator=None)
