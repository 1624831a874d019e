"""The db protocol: how the harness installs, starts, stops and inspects the system under test.

A db speaks to nodes only through a Remote, so the same db runs on containers or real hosts.
Optional capabilities are their own small protocols, tested with isinstance:

    Killable   kill/start the db process          (kill nemesis)
    Pausable   pause/resume the db process         (pause nemesis)
    HasLogFiles  which files to collect per node
    HasPrimaries which nodes currently believe they lead
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.remote import Remote


@dataclass
class Context:
    """What a running test knows about its cluster. Passed to dbs, clients and nemeses.

    ``spec`` is the TestSpec; ``remotes`` maps node -> Remote (control path, docker exec);
    ``ips`` maps node -> address on the data network, as Docker reports it.
    """

    spec: Any
    nodes: list[str]
    remotes: dict[str, Remote]
    ips: dict[str, str]
    run_dir: Path
    log: Callable[[str], None] = print
    db: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class DB(Protocol):
    def setup(self, ctx: Context, node: str) -> None:
        """Install and start the db on ``node``; return once it accepts clients."""

    def teardown(self, ctx: Context, node: str) -> None:
        """Stop the db on ``node`` and wipe its data."""


@runtime_checkable
class Killable(Protocol):
    def kill(self, ctx: Context, node: str) -> None: ...

    def start(self, ctx: Context, node: str) -> None: ...


@runtime_checkable
class Pausable(Protocol):
    def pause(self, ctx: Context, node: str) -> None: ...

    def resume(self, ctx: Context, node: str) -> None: ...


@runtime_checkable
class HasLogFiles(Protocol):
    def log_files(self, ctx: Context, node: str) -> list[str]: ...


@runtime_checkable
class HasPrimaries(Protocol):
    def primaries(self, ctx: Context) -> list[str]: ...
