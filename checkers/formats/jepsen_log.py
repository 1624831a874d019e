"""Jepsen's log (jepsen.log, Porcupine's etcd logs): one op a line among other chatter.

    INFO  jepsen.util - 3	:ok	:cas	[3 0]
    -> Op("ok", "cas", 3, value=[3, 0], index=<its position>, extra={"line": <file line>})

Fields are tab separated in Jepsen's own logs, but copies in the wild (Porcupine's test
data) use runs of spaces. Values are read by checkers.formats.ednread.
"""
from __future__ import annotations

import re
from typing import Any

from checkers.formats.ednread import EDNError, read_form
from harness.errors import HistoryFormatError
from harness.history import NEMESIS, Op

__all__ = ["LOG_OP", "log_value", "read_log"]

# `INFO  jepsen.util - 3	:ok	:cas	[3 0]`: a process (int or :nemesis), a type, an f, then
# the value (and, on some Jepsen versions, a tab and an error).
LOG_OP = re.compile(r"(?:^|\s)(\d+|:nemesis)\s+:(invoke|ok|fail|info)\s+:(\S+)(?:\s+(.*?))?\s*$")


def read_log(path: str, text: str) -> list[Op]:
    """Op lines of a Jepsen log; every other line (startup chatter, stack traces, nemesis
    maps spread over lines) is skipped. A file without one op line is an error."""
    ops: list[Op] = []
    for n, line in enumerate(text.splitlines(), 1):
        if ":" not in line:
            continue
        m = LOG_OP.search(line)
        if m is None:
            continue
        proc, t, f, rest = m.groups()
        if len(proc) > 18:  # past int64: no Jepsen process (and 5,000 digits past int())
            raise HistoryFormatError(path, n, f"process {proc[:20]}... ({len(proc)} digits) "
                                              "is not a process number")
        process: int | str = NEMESIS if proc == ":nemesis" else int(proc)
        value, error = log_value(path, n, rest or "nil", t, process)
        ops.append(Op(type=t, f=f, process=process, value=value, error=error,
                      index=len(ops), extra={"line": n}))
    if not ops:
        raise HistoryFormatError(path, None, "no Jepsen op lines "
                                             "(like `INFO  jepsen.util - 3\t:ok\t:read\t4`)")
    return ops


def log_value(path: str, line: int, text: str, t: str,
               process: int | str) -> tuple[Any, str | None]:
    """The EDN value of an op line and the error Jepsen prints after it, past a tab."""
    head, _, tail = text.partition("\t")
    try:
        return read_form(head.strip()), tail.strip() or None
    except EDNError as e:
        if t in ("info", "fail") or process == NEMESIS:
            return text, None  # an exception message; the checker does not need the value
        raise HistoryFormatError(path, line, f"cannot read the op value {text[:60]!r}: "
                                             f"{e.reason}") from None
