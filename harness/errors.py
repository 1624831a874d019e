"""The one exception tree of splitbrain.

    SplitbrainError                  root: a user sees str(err) as one line, no traceback
    ├── ConfigError                  bad input from the user (spec, CLI, history file)
    │   └── UnknownPluginError       a plugin name that is not installed
    ├── HistoryFormatError           a malformed history: carries path and line
    ├── RemoteError                  a command on a node failed: node, command, exit, stderr
    │   └── RemoteTimeout            ... or did not finish within its timeout
    ├── ClusterError                 containers / network / image could not be made
    └── NemesisError                 a fault could not be applied or verified
"""
from __future__ import annotations


class SplitbrainError(Exception):
    """Root of every error splitbrain raises on purpose."""


class ConfigError(SplitbrainError):
    """The user asked for something that cannot be done; the message says what would be right."""


class UnknownPluginError(ConfigError):
    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}; installed: {', '.join(self.known) or 'none'}")


class HistoryFormatError(SplitbrainError):
    def __init__(self, path: str, line: int | None, reason: str):
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class RemoteError(SplitbrainError):
    def __init__(self, node: str, command: str, exit_code: int | None, stderr: str,
                 reason: str = ""):
        self.node, self.command, self.exit_code, self.stderr = node, command, exit_code, stderr
        tail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        msg = f"on {node}: `{command}` exited {exit_code}"
        if reason:
            msg = f"on {node}: `{command}` {reason}"
        if tail:
            msg += f": {tail}"
        super().__init__(msg)


class RemoteTimeout(RemoteError):
    def __init__(self, node: str, command: str, timeout: float, stderr: str = ""):
        self.timeout = timeout
        super().__init__(node, command, None, stderr, reason=f"timed out after {timeout:g}s")


class ClusterError(SplitbrainError):
    """Docker could not give us the cluster we asked for."""


class NemesisError(SplitbrainError):
    """A fault could not be applied, verified or healed."""
