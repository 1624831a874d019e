"""TestSpec: the frozen, JSON-serialisable description of one test run (saved as test.json).

    >>> s = TestSpec(nodes=("n1", "n2", "n3"), time_limit=10, seed=7)
    >>> TestSpec.from_dict(s.to_dict()) == s
    True
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from harness.errors import ConfigError

DEFAULT_NODES = 5


def node_names(n: int) -> tuple[str, ...]:
    return tuple(f"n{i}" for i in range(1, n + 1))


@dataclass(frozen=True)
class TestSpec:
    """One test. ``mode`` "" means the db's default mode (the first it declares) and
    ``name`` "" means "<db>-<mode>-<workload>": loading the plugins (harness.runtime.run.
    load_plugins) fills both in, so test.json and every stage after see concrete names.
    ``db`` defaults to the built-in store, found through the registry like any other db
    plugin: the CLI's default, and the only db name in the core."""

    name: str = ""
    nodes: tuple[str, ...] = node_names(DEFAULT_NODES)
    concurrency: int = 10
    time_limit: float = 60.0
    rate: float = 100.0
    seed: int = 0
    db: str = "kvstore"
    mode: str = ""
    workload: str = "register"
    nemesis: tuple[str, ...] = ("partition",)
    nemesis_interval: float = 5.0
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        # Normalise sequences given as lists (from JSON or the CLI) to tuples.
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "nemesis", tuple(self.nemesis))
        self.validate()

    def validate(self) -> None:
        def bad(what: str, right: str) -> ConfigError:
            return ConfigError(f"{what}; {right}")

        if any(c in self.name for c in "/\\\0") or self.name.startswith("."):
            raise bad(f"test name {self.name!r} is not usable as a directory name",
                      "use letters, digits, '-' and '_'")
        if not self.nodes:
            raise bad("no nodes", "give at least 1 node (e.g. --nodes 5)")
        if len(set(self.nodes)) != len(self.nodes):
            raise bad(f"duplicate node names in {list(self.nodes)}", "give each node once")
        if self.concurrency < 1:
            raise bad(f"concurrency {self.concurrency} is below 1", "use 1 or more client workers")
        if not self.time_limit > 0:
            raise bad(f"time limit {self.time_limit} is not positive", "give seconds > 0")
        if not self.rate > 0:
            raise bad(f"rate {self.rate} is not positive", "give ops/s > 0")
        if not self.nemesis_interval > 0:
            raise bad(f"nemesis interval {self.nemesis_interval} is not positive",
                      "give seconds > 0")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["nodes"] = list(self.nodes)
        d["nemesis"] = list(self.nemesis)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TestSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown test spec field(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def with_(self, **changes: Any) -> TestSpec:
        return replace(self, **changes)

    def default_name(self) -> str:
        """The name a test gets when none is given: "kvstore-raft-register"."""
        return "-".join(p for p in (self.db, self.mode, self.workload) if p)
