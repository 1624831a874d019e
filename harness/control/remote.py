"""Helpers every remote shares: the command as text, and coreutils ``timeout`` wrapping.

The Remote protocol itself is in harness.api; the implementations are harness.control.docker
(docker exec; the harness's control path, never the data network), harness.control.ssh
(paramiko, host keys verified by default) and harness.control.fake (records commands, answers
from a script; for unit tests of the layers above):

    r.run("iptables -S")                     # a shell string, run through ``sh -c``
    r.run(["cat", "/etc/hostname"])          # an argv list, no shell
    r.run("sleep 60", timeout=1)             # -> RemoteTimeout(node, "sleep 60", 1)
    r.run("false")                           # -> RemoteError(node, "false", 1, stderr)
    r.run("false", check=False).exit_code    # -> 1
"""
from __future__ import annotations

import shlex

from harness.api import Command

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
