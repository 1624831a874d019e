"""Remote: run a command on a node. DBs and nemeses speak only to this interface.

Implementations: DockerRemote (docker exec; the harness's control path, never the data
network), SSHRemote (paramiko, host keys verified by default), FakeRemote (records commands,
answers from a script; for unit tests of the layers above).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

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
