"""Network partitions with iptables grudges (nemesis.py; the shapes are nemeses/grudges.py).
node/probe.py runs on a grudged node to check that traffic really stops.
Entry point ``partition`` = ``nemeses.partition:partition_package``.
"""
from nemeses.partition.nemesis import (
    CHAIN,
    PartitionNemesis,
    apply_grudge,
    complete_grudge,
    describe,
    heal,
    partition_package,
    probe_blocked,
    random_halves,
)

__all__ = ["CHAIN", "PartitionNemesis", "apply_grudge", "complete_grudge", "describe", "heal",
           "partition_package", "probe_blocked", "random_halves"]
