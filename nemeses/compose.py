"""The ``all`` nemesis package: every built-in kind, composed with the model's combinator
(harness.packages.compose_packages: a nemesis that routes each op to the package that knows
its f, generators side by side and staggered, final generators one after another).

    --nemesis partition,clock,pause,kill,packet    # the runtime composes what the user listed
    --nemesis all                                  # every kind this machine supports
"""
from __future__ import annotations

from harness.api import Package
from harness.packages import compose_packages


def all_package(*, interval: float = 5.0, seed: int = 0) -> Package:
    """Entry point ``all``: partition, packet, clock, pause and kill, composed. Built lenient:
    at prepare, a kind this machine or db cannot do (no libfaketime, a db that is not
    Pausable/Killable) leaves itself out with a line in the harness log, and packet uses
    netem's behaviours only where the kernel has netem. Teardown runs in this order: the
    network first, then clocks, then resumes, then restarts."""
    from nemeses import clock, packet, partition, process

    return compose_packages([
        partition.partition_package(interval=interval, seed=seed),
        packet.packet_package(interval=interval, seed=seed + 1, lenient=True),
        clock.clock_package(interval=interval, seed=seed + 2, lenient=True),
        process.pause_package(interval=interval, seed=seed + 3, lenient=True),
        process.kill_package(interval=interval, seed=seed + 4, lenient=True),
    ])
