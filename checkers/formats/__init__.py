"""Reading histories from disk: ours (history.jsonl) and Jepsen's (history.edn, the log).

    load("store/register/latest/history.jsonl")            # our runs
    load("history.edn")                                     # Jepsen: a vector, or a map a line
    load("jepsen.log", fmt="jepsen-log", independent=True)  # INFO  jepsen.util - 3 :ok :cas [3 0]

Every reader returns ``list[Op]`` in history order. The keywords that name an op's fields,
type, f, process and error become strings (``:ok`` -> ``"ok"``, ``:process :nemesis`` ->
``"nemesis"``); in values, keywords and symbols stay checkers.values.Keyword and Symbol
(``:a`` is not ``"a"``), ``nil`` becomes None and vectors become lists. Every reader refuses
a path that is not a regular file or is over 2 GiB before reading it, and values nested
deeper than harness.history.MAX_DEPTH: one HistoryFormatError line, never a traceback.
Ops without an ``:index`` get their position in the file; ops without a
``:time`` keep -1, and then the file line they came from is kept in ``extra["line"]`` so an
explanation can point at it.

With ``independent=True`` client values are Jepsen's ``[key value]`` tuples (its
``independent`` checker): ``{:f :cas, :value [7 [3 0]]}`` becomes key 7, value ``[3, 0]``.
A completion that does not carry a tuple (``:info ... :timed-out``) keeps key None; the
checker takes the key from the invocation.

An empty (or blank) file is an empty history in every format. A non-empty file in which no op
can be found is an error, as is any malformed op: ``HistoryFormatError(path, line, reason)``.

The room: this face (``load``, ``sniff``, ``resolve_path``); ``edn`` (history.edn) over two
EDN readers, ``ednjson`` (simple lines as JSON, in bulk) and ``ednread`` (any form);
``jepsen_log`` (Jepsen's log); ``independent`` (``[key value]`` tuples). Our jsonl is read by
harness.history.read_jsonl. It imports only the model (harness.history, harness.errors) and
edn_format.
"""
from __future__ import annotations

import gc
import json
import re
from pathlib import Path

from checkers.formats.edn import read_edn
from checkers.formats.independent import split_tuples
from checkers.formats.jepsen_log import LOG_OP, read_log
from harness.errors import ConfigError, HistoryFormatError
from harness.history import Op, check_history_file, read_jsonl

__all__ = ["FORMATS", "load", "resolve_path", "sniff", "sniff_content"]

FORMATS = ("auto", "jsonl", "edn", "jepsen-log")


def resolve_path(path: str | Path) -> Path:
    """A run directory means its history.jsonl. ConfigError for a directory without one;
    HistoryFormatError for a path that is not a regular file (/dev/zero, a FIFO), cannot be
    read, or is over harness.history.MAX_HISTORY_BYTES: refused before a byte is read."""
    p = Path(path)
    if p.is_dir():
        h = p / "history.jsonl"
        if not h.exists():
            raise ConfigError(f"{p} is a directory without a history.jsonl; give a run "
                              "directory or a history file")
        p = h
    check_history_file(p)
    return p


def load(path: str | Path, fmt: str = "auto", independent: bool = False) -> list[Op]:
    """All ops of the history at ``path`` (a file, or a run directory) in history order.

    ConfigError for an unknown ``fmt`` or a directory without a history; HistoryFormatError
    for anything wrong with the file, including a forced ``fmt`` its content contradicts
    (``--format edn`` on a JSONL file)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    p = resolve_path(path)
    if fmt == "auto":
        fmt = sniff(p)
    else:
        seen = sniff_content(p)
        if seen is not None and seen != fmt:
            raise HistoryFormatError(str(p), None, f"read as {fmt}, but its content is "
                                                   f"{seen}; pass --format {seen} (or auto)")
    gc_was = gc.isenabled()
    gc.disable()  # millions of new objects and no garbage: the collector only costs here
    try:
        if fmt == "jsonl":
            ops = read_jsonl(p)
        else:
            text = p.read_text(encoding="utf-8")
            if not text.strip():
                return []  # an empty file is an empty history (Porcupine's etcd_095.log)
            if fmt == "edn":
                return read_edn(str(p), text, independent)
            ops = read_log(str(p), text)
    except OSError as e:
        raise HistoryFormatError(str(p), None, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise HistoryFormatError(str(p), None, f"not UTF-8 text: {e.reason}") from None
    except (RecursionError, ValueError, TypeError) as e:  # a last line of defence
        raise HistoryFormatError(str(p), None, f"cannot read it as {fmt}: "
                                               f"{type(e).__name__}: {str(e)[:80]}") from None
    finally:
        if gc_was:
            gc.enable()
    if independent:
        ops = split_tuples(str(p), ops)
    return ops


def _head(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(64 * 1024)
    except OSError as e:
        raise HistoryFormatError(str(path), None, f"cannot read: {e.strerror or e}") from None


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def sniff_content(path: Path) -> str | None:
    """The format the first lines of ``path`` are written in, or None when they do not
    say (an empty file, or text in none of the three)."""
    head = _head(path)
    if "jepsen.util -" in head or re.search(r"\t:invoke\t", head):
        return "jepsen-log"
    first = next((ln.strip() for ln in head.splitlines() if ln.strip()), "")
    if not first:
        return None
    if first.startswith('{"') or (first[:1] == "{" and _is_json_object(first)):
        return "jsonl"
    if first[:1] in ("{", "[", "#"):
        return "edn"
    if any(LOG_OP.search(ln) for ln in head.splitlines()[:200]):
        return "jepsen-log"
    return None


def sniff(path: Path) -> str:
    """The format of ``path``: by extension, else by its first lines."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".edn":
        return "edn"
    seen = sniff_content(path)
    if seen is not None:
        return seen
    if not _head(path).strip():  # empty: any reader gives no ops; the name suggests one
        return "jepsen-log" if suffix in (".log", ".txt") else "jsonl"
    raise HistoryFormatError(str(path), None, "cannot tell the history format; pass one of "
                                              "jsonl, edn, jepsen-log")
