"""The model every plugin sees: the protocols, and the typed Context they are handed.

Nobody subclasses anything; a plugin is any object with the right methods.

    Remote      one node: run / upload / download          (harness.control has the real ones)
    DB          setup / teardown on a node
      Killable, Pausable, HasLogFiles, HasPrimaries        optional, tested with isinstance
    Client      per-process connection: invoke(ctx, op) -> completion op
    Workload    client factory + generators + checkers by name
    Nemesis     setup / invoke(ctx, op) -> completion / teardown (heal everything, idempotent)
    Prepares    optional for a nemesis: change how the db starts
    Package     a nemesis with its generator, final (healing) generator and plot colour
                (harness.packages.compose_packages makes one of several)
    Checker     check(test, ops) -> {"valid": true | false | "unknown", ...}
    HasOptions  optional for any plugin: declared_options() -> the Opts it reads
                (harness.options), checked before a cluster starts; describe_options(plugin)

A db speaks to nodes only through a Remote, so the same db runs on containers or real hosts.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.generators import Generator
from harness.history import Op
from harness.options import Opt
from harness.spec import TestSpec

Command = str | Sequence[str]


@dataclass(frozen=True)
class Result:
    node: str
    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@runtime_checkable
class Remote(Protocol):
    """One node. ``run`` executes a shell command string (through ``sh -c``) or an argv list.

    Every call has a timeout; on expiry the command is killed and RemoteTimeout raised. With
    ``check=True`` (the default) a non-zero exit raises RemoteError carrying node, command,
    exit code and stderr.
    """

    node: str

    def run(self, command: Command, *, timeout: float = 30.0, check: bool = True,
            stdin: bytes | None = None) -> Result: ...

    def upload(self, local: Path | str, remote: str, *, timeout: float = 60.0) -> None: ...

    def download(self, remote: str, local: Path | str, *, timeout: float = 60.0) -> None: ...



@dataclass
class Context:
    """What a running test knows about its cluster. Passed to dbs, clients and nemeses.

    ``spec`` is the TestSpec; ``remotes`` maps node -> Remote (control path, docker exec);
    ``ips`` maps node -> address on the data network, as Docker reports it.
    """

    spec: TestSpec
    nodes: list[str]
    remotes: dict[str, Remote]
    ips: dict[str, str]
    run_dir: Path
    log: Callable[[str], None] = print
    db: DB | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> Mapping[str, Any]:
        """The test's ``--option KEY=VALUE`` pairs."""
        return self.spec.options


@runtime_checkable
class DB(Protocol):
    def setup(self, ctx: Context, node: str) -> None:
        """Install and start the db on ``node``; return once it accepts clients."""

    def teardown(self, ctx: Context, node: str) -> None:
        """Stop the db on ``node`` and wipe its data."""


@dataclass(frozen=True)
class Mode:
    """One way a db can run, declared by the db: what it promises and the verdict a test
    should reach under each fault (``expect``: nemesis name -> True | False | "unknown";
    a nemesis not listed falls back to ``expect_default``)::

        Mode("lww", "last write wins by wall clock: loses writes under clock skew",
             expect={"clock": False, "none": True}, expect_default=False)
    """

    name: str
    promise: str
    expect: Mapping[str, bool | str] = field(default_factory=dict)
    expect_default: bool | str = "unknown"

    def expected(self, nemesis: str) -> bool | str:
        return self.expect.get(nemesis, self.expect_default)


@runtime_checkable
class HasModes(Protocol):
    """A db that can run in several modes (``--mode``); the first is the default."""

    modes: Sequence[Mode]


class StoreError(Exception):
    """What a KV client raises when an operation did not answer ok. ``definite``: the
    operation surely did not take effect (the workload records fail, else info). A db's
    client raises subclasses of it (kvstore: KVError, also a SplitbrainError)."""

    definite: bool


@runtime_checkable
class KV(Protocol):
    """The key-value client a db hands to workloads (register, set, counter, bank ...).
    Each call raises a StoreError subclass on anything but success."""

    def read(self, key: Any) -> Any: ...

    def write(self, key: Any, value: Any) -> None: ...

    def cas(self, key: Any, expected: Any, new: Any) -> bool: ...

    def close(self) -> None: ...


# A workload that needs more than read / write / cas asks for it with isinstance on one of
# these (each is a KV with one more method); a db's client implements those it can.


@runtime_checkable
class KVIncr(KV, Protocol):
    """A KV that adds to an integer atomically (an absent key counts as 0) and returns the
    new value: the counter and unique-ids workloads."""

    def incr(self, key: Any, delta: int = 1) -> int: ...


@runtime_checkable
class KVAppend(KV, Protocol):
    """A KV whose keys can hold lists: ``append`` adds ``value`` at the end (lost-update)."""

    def append(self, key: Any, value: Any) -> None: ...


@runtime_checkable
class KVAdd(KV, Protocol):
    """A KV whose keys can hold sets (lists without duplicates): ``add`` (the set workload)."""

    def add(self, key: Any, value: Any) -> None: ...


@runtime_checkable
class HasKV(Protocol):
    """A db whose nodes speak key-value: ``kv(ctx, node)`` connects a new client to
    ``node``. Workloads reach the db only through this."""

    def kv(self, ctx: Context, node: str) -> KV: ...


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


@runtime_checkable
class Client(Protocol):
    def invoke(self, ctx: Context, op: Op) -> Op:
        """Perform ``op`` (an invocation) and return its completion: ``op.complete(...)``.

        ok: it happened. fail: it surely did not happen (a definite error, or any error on a
        read). info: unknown (timeout, lost connection). An exception raised here is recorded
        as info and the process is retired."""

    def close(self, ctx: Context) -> None: ...


@runtime_checkable
class Workload(Protocol):
    name: str

    def client(self, ctx: Context, process: int, node: str) -> Client:
        """A new client for ``process``, talking to ``node``."""

    def generator(self, ctx: Context) -> Generator:
        """Client ops for the main phase (the runner applies rate and time limit)."""

    def final_generator(self, ctx: Context) -> Generator | None:
        """Client ops after the faults are healed (e.g. a final read of every key)."""

    def checkers(self, ctx: Context) -> dict[str, Checker]:
        """The checkers of this workload's history, by the name results.json files them
        under: ``{"linearizable": LinearizableChecker(...)}``. The runtime adds ``stats``."""


@runtime_checkable
class Nemesis(Protocol):
    def setup(self, ctx: Context) -> None: ...

    def invoke(self, ctx: Context, op: Op) -> Op:
        """Apply or heal a fault; return the completion (type info, value says what)."""

    def teardown(self, ctx: Context) -> None:
        """Undo every fault this nemesis may have caused. Idempotent; called on every exit
        path, including Ctrl-C."""


@runtime_checkable
class Prepares(Protocol):
    """Optional for a nemesis: called before db setup, to change how the db starts (the
    clock nemesis puts libfaketime into ``ctx.extra["db_env"]``)."""

    def prepare(self, ctx: Context) -> None: ...


@dataclass
class Package:
    """A nemesis with the generators that drive it. ``faults`` maps start-f to stop-f so the
    runner can turn history into fault windows: {"start-partition": "stop-partition"}."""

    name: str
    nemesis: Nemesis
    generator: Generator | None
    final_generator: Generator | None
    color: str = "#e0e0e0"
    faults: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Checker(Protocol):
    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]: ...


@runtime_checkable
class HasOptions(Protocol):
    """Optional for any plugin (a db, a workload, a nemesis): the ``--option`` keys it reads,
    declared (harness.options.Opt) so the runtime checks them before a cluster starts and
    ``splitbrain list --verbose`` shows them. A test whose plugins all declare their options
    refuses a key none of them declares."""

    def declared_options(self) -> Sequence[Opt]: ...


def describe_options(plugin: Any) -> list[Opt] | None:
    """The options ``plugin`` declares (a Package: its nemesis's), or None when it declares
    nothing (it may read any option)."""
    target = plugin.nemesis if isinstance(plugin, Package) else plugin
    if isinstance(target, HasOptions):
        return list(target.declared_options())
    return None
