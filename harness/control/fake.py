"""FakeRemote: a Remote that records every command and answers from a script.

For unit tests of dbs, nemeses and clients, without containers:

    r = FakeRemote("n1", responses={
        "cat /etc/hostname": "n1\\n",                      # stdout, exit 0
        re.compile(r"^iptables -A"): 0,                   # an exit code
        "systemctl start kv": (1, "", "no such unit"),   # (exit, stdout, stderr)
        "sleep 60": TIMEOUT,                              # raises RemoteTimeout
    })
    r.run("cat /etc/hostname").stdout      # -> "n1\\n"
    r.commands                             # -> ["cat /etc/hostname"]

``responses`` may be

* a list: answers in order, one per ``run``; once used up, ``default`` answers;
* a dict: keyed by the exact command string, or by a compiled regex (``search``ed); exact
  keys win, then patterns in insertion order; no match -> ``default``;
* a callable ``f(command: str) -> answer`` (return None for ``default``).

An answer is a Result, a str (stdout, exit 0), an int (exit code), a tuple
``(exit, stdout[, stderr])``, an exception instance (raised as is), or TIMEOUT. ``default``
is itself an answer (exit 0, no output, unless given). ``check`` behaves as on a real remote:
a non-zero exit raises RemoteError. Uploads and downloads go to and from ``files``, a dict
path -> bytes, so a test can look at what a db installed or plant a log to collect.
Safe to share between threads.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from harness.api import Command, Result
from harness.control.remote import command_text
from harness.errors import RemoteError, RemoteTimeout


class _Timeout:
    def __repr__(self) -> str:
        return "TIMEOUT"


TIMEOUT: Final = _Timeout()
"""An answer that makes ``run`` raise RemoteTimeout with the command's own timeout."""

Answer = Any  # Result | str | int | tuple | BaseException | TIMEOUT | None
Responses = Sequence[Answer] | Mapping[str | re.Pattern[str], Answer] | Callable[[str], Answer]


@dataclass(frozen=True)
class Call:
    """One recorded ``run``: the command as a string, and how it was called."""

    command: str
    timeout: float
    check: bool
    stdin: bytes | None


class FakeRemote:
    def __init__(self, node: str = "n1", responses: Responses | None = None, *,
                 default: Answer = None) -> None:
        self.node = node
        self.default = default
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self.uploads: list[tuple[str, str]] = []    # (local, remote)
        self.downloads: list[tuple[str, str]] = []  # (remote, local)
        self._lock = threading.Lock()
        self._script: list[Answer] | None = None
        self._table: Mapping[str | re.Pattern[str], Answer] | None = None
        self._fn: Callable[[str], Answer] | None = None
        if responses is None:
            pass
        elif callable(responses):
            self._fn = responses
        elif isinstance(responses, Mapping):
            self._table = dict(responses)
        elif isinstance(responses, Sequence) and not isinstance(responses, (str, bytes)):
            self._script = list(responses)
        else:
            raise TypeError("responses: a list, a dict or a callable, "
                            f"not {type(responses).__name__}")

    def __repr__(self) -> str:
        return f"FakeRemote({self.node!r}, {len(self.calls)} calls)"

    @property
    def commands(self) -> list[str]:
        """Every command run so far, in order."""
        with self._lock:
            return [c.command for c in self.calls]

    def ran(self, pattern: str | re.Pattern[str]) -> bool:
        """Whether some command so far contains ``pattern`` (a str) or matches it (a regex)."""
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        return any(rx.search(c) for c in self.commands)

    # --- Remote ------------------------------------------------------------------------------

    def run(self, command: Command, *, timeout: float = 30.0, check: bool = True,
            stdin: bytes | None = None) -> Result:
        text = command_text(command)
        with self._lock:
            self.calls.append(Call(text, timeout, check, stdin))
            answer = self._answer(text)
        if answer is None:
            answer = self.default
        if answer is TIMEOUT:
            raise RemoteTimeout(self.node, text, timeout)
        if isinstance(answer, BaseException):
            raise answer
        result = self._result(text, answer)
        if check and result.exit_code != 0:
            raise RemoteError(self.node, text, result.exit_code, result.stderr)
        return result

    def upload(self, local: Path | str, remote: str, *, timeout: float = 60.0) -> None:
        src = Path(local)
        with self._lock:
            self.uploads.append((str(local), remote))
            if src.is_dir():
                for p in sorted(src.rglob("*")):
                    if p.is_file():
                        self.files[f"{remote.rstrip('/')}/{p.relative_to(src).as_posix()}"] = (
                            p.read_bytes())
            elif src.is_file():
                self.files[remote] = src.read_bytes()
            else:
                raise RemoteError(self.node, f"upload {local} {remote}", None, "",
                                  reason=f"failed: no such file {local}")

    def download(self, remote: str, local: Path | str, *, timeout: float = 60.0) -> None:
        dest = Path(local)
        with self._lock:
            self.downloads.append((remote, str(local)))
            prefix = remote.rstrip("/") + "/"
            under = {k[len(prefix):]: v for k, v in self.files.items() if k.startswith(prefix)}
            if remote in self.files:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(self.files[remote])
            elif under:
                for rel, data in under.items():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    (dest / rel).write_bytes(data)
            else:
                raise RemoteError(self.node, f"download {remote} {local}", None, "",
                                  reason="failed: no such file or directory")

    # --- answers -----------------------------------------------------------------------------

    def _answer(self, text: str) -> Answer:
        if self._fn is not None:
            return self._fn(text)
        if self._script is not None:
            return self._script.pop(0) if self._script else None
        if self._table is not None:
            if text in self._table:
                return self._table[text]
            for key, answer in self._table.items():
                if isinstance(key, re.Pattern) and key.search(text):
                    return answer
        return None

    def _result(self, text: str, answer: Answer) -> Result:
        if answer is None:
            return Result(self.node, text, 0, "", "")
        if isinstance(answer, Result):
            return answer
        if isinstance(answer, str):
            return Result(self.node, text, 0, answer, "")
        if isinstance(answer, bool) or not isinstance(answer, (int, tuple)):
            raise TypeError(f"FakeRemote: cannot answer {text!r} with {answer!r}")
        if isinstance(answer, int):
            return Result(self.node, text, answer, "", "")
        code, out, err = (tuple(answer) + ("", ""))[:3]
        return Result(self.node, text, int(code), str(out), str(err))
