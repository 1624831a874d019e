"""Reading histories from disk: ours (history.jsonl) and Jepsen's (history.edn, the log).

    load("store/register/latest/history.jsonl")            # our runs
    load("history.edn")                                     # Jepsen: a vector, or a map a line
    load("jepsen.log", fmt="jepsen-log", independent=True)  # INFO  jepsen.util - 3 :ok :cas [3 0]

Every reader returns ``list[Op]`` in history order. Jepsen's keywords become strings
(``:ok`` -> ``"ok"``, ``:process :nemesis`` -> ``"nemesis"``), ``nil`` becomes None and
vectors become lists. Ops without an ``:index`` get their position in the file; ops without a
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
import re
from pathlib import Path

from checkers.formats.edn import read_edn
from checkers.formats.independent import split_tuples
from checkers.formats.jepsen_log import LOG_OP, read_log
from harness.errors import HistoryFormatError
from harness.history import Op, read_jsonl

__all__ = ["FORMATS", "load", "resolve_path", "sniff"]

FORMATS = ("auto", "jsonl", "edn", "jepsen-log")


def resolve_path(path: str | Path) -> Path:
    """A run directory means its history.jsonl."""
    p = Path(path)
    if p.is_dir():
        h = p / "history.jsonl"
        if not h.exists():
            raise HistoryFormatError(str(p), None, "a directory without a history.jsonl")
        return h
    return p


def load(path: str | Path, fmt: str = "auto", independent: bool = False) -> list[Op]:
    """All ops of the history at ``path`` (a file, or a run directory) in history order."""
    p = resolve_path(path)
    if fmt not in FORMATS:
        raise HistoryFormatError(str(p), None, f"unknown format {fmt!r}; one of "
                                               f"{', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = sniff(p)
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
    finally:
        if gc_was:
            gc.enable()
    if independent:
        ops = split_tuples(str(p), ops)
    return ops


def sniff(path: Path) -> str:
    """The format of ``path``: by extension, else by its first lines."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".edn":
        return "edn"
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(64 * 1024)
    except OSError as e:
        raise HistoryFormatError(str(path), None, f"cannot read: {e.strerror or e}") from None
    if "jepsen.util -" in head or re.search(r"\t:invoke\t", head):
        return "jepsen-log"
    first = next((ln.strip() for ln in head.splitlines() if ln.strip()), "")
    if not first:  # empty: any reader gives no ops; pick the one the name suggests
        return "jepsen-log" if suffix in (".log", ".txt") else "jsonl"
    if first.startswith('{"'):
        return "jsonl"
    if first[:1] in ("{", "[", "#"):
        return "edn"
    if any(LOG_OP.search(ln) for ln in head.splitlines()[:200]):
        return "jepsen-log"
    raise HistoryFormatError(str(path), None, "cannot tell the history format; pass one of "
                                              "jsonl, edn, jepsen-log")
