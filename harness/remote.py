"""Remote: run a command on a node. DBs and nemeses speak only to this interface.

Implementations: DockerRemote (docker exec; the harness's control path, never the data
network), SSHRemote (paramiko, host keys verified by default), FakeRemote (records commands,
answers from a script; for unit tests of the layers above). They live in their own modules
(remote_docker, remote_ssh, remote_fake) and are imported from here lazily, so that code
which only needs the protocol does not pay for importing the Docker SDK or paramiko:

    from harness.remote import DockerRemote, FakeRemote, Remote, Result

    r.run("iptables -S")                     # a shell string, run through ``sh -c``
    r.run(["cat", "/etc/hostname"])          # an argv list, no shell
    r.run("sleep 60", timeout=1)             # -> RemoteTimeout(node, "sleep 60", 1)
    r.run("false")                           # -> RemoteError(node, "false", 1, stderr)
    r.run("false", check=False).exit_code    # -> 1
"""
from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from harness.remote_docker import DockerRemote
    from harness.remote_fake import TIMEOUT, Call, FakeRemote
    from harness.remote_ssh import SSHRemote

__all__ = [
    "TIMEOUT",
    "TIMEOUT_EXIT_CODES",
    "Call",
    "Command",
    "DockerRemote",
    "FakeRemote",
    "Remote",
    "Result",
    "SSHRemote",
    "command_text",
    "timeout_argv",
]

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


# coreutils `timeout` exits 124 when it had to signal the command, 137 (128 + KILL) when the
# command also ignored that signal for --kill-after seconds.
TIMEOUT_EXIT_CODES = frozenset({124, 137})


def command_text(command: Command) -> str:
    """The command as a person would type it: the string itself, or the argv shell-quoted.

    >>> command_text(["echo", "a b"])
    "echo 'a b'"
    """
    if isinstance(command, str):
        return command
    return shlex.join(list(command))


def timeout_argv(command: Command, timeout: float, kill_after: float = 2.0) -> list[str]:
    """Wrap ``command`` in coreutils ``timeout`` so the node itself kills it on expiry.

    ``timeout`` puts the command in its own process group and signals the whole group, so a
    shell's children die with it (daemons that call setsid escape, as they should).

    >>> timeout_argv("sleep 9", 1.5)
    ['timeout', '--kill-after=2', '1.5', 'sh', '-c', 'sleep 9']
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    head = ["timeout", f"--kill-after={kill_after:g}", f"{timeout:.3f}".rstrip("0").rstrip(".")]
    if isinstance(command, str):
        return [*head, "sh", "-c", command]
    argv = list(command)
    if not argv:
        raise ValueError("empty argv")
    return [*head, *argv]


def is_timeout(exit_code: int | None, elapsed: float, timeout: float) -> bool:
    """Whether an exit of the ``timeout`` wrapper means "timed out": its codes, and only once
    the time was really up (a command may legitimately exit 124, or die of SIGKILL, itself).
    """
    return exit_code in TIMEOUT_EXIT_CODES and elapsed >= timeout


def __getattr__(name: str) -> Any:
    # Lazy re-exports (PEP 562): see the module docstring.
    if name == "DockerRemote":
        from harness.remote_docker import DockerRemote
        return DockerRemote
    if name == "SSHRemote":
        from harness.remote_ssh import SSHRemote
        return SSHRemote
    if name in ("FakeRemote", "Call", "TIMEOUT"):
        from harness import remote_fake
        return getattr(remote_fake, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
