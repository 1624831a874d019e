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
"""
from __future__ import annotations

import gc
import re
from pathlib import Path
from typing import Any

from checkers.formats.ednjson import NOT_READ, read_simple_lines
from checkers.formats.ednread import EDNError, NotSimple, read_all, read_form, read_leading
from harness.errors import HistoryFormatError
from harness.history import NEMESIS, TYPES, Op, read_jsonl

__all__ = ["FORMATS", "load", "resolve_path", "sniff"]

FORMATS = ("auto", "jsonl", "edn", "jepsen-log")
_STANDARD = ("index", "time", "type", "process", "f", "key", "value", "error")

# `INFO  jepsen.util - 3	:ok	:cas	[3 0]`: a process (int or :nemesis), a type, an f, then
# the value (and, on some Jepsen versions, a tab and an error). Fields are tab separated in
# Jepsen's own logs, but copies in the wild (Porcupine's test data) use runs of spaces.
_LOG_OP = re.compile(r"(?:^|\s)(\d+|:nemesis)\s+:(invoke|ok|fail|info)\s+:(\S+)(?:\s+(.*?))?\s*$")


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
                return _read_edn(str(p), text, independent)
            ops = _read_log(str(p), text)
    except OSError as e:
        raise HistoryFormatError(str(p), None, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise HistoryFormatError(str(p), None, f"not UTF-8 text: {e.reason}") from None
    finally:
        if gc_was:
            gc.enable()
    if independent:
        _split_tuples(str(p), ops)
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
    if any(_LOG_OP.search(ln) for ln in head.splitlines()[:200]):
        return "jepsen-log"
    raise HistoryFormatError(str(path), None, "cannot tell the history format; pass one of "
                                              "jsonl, edn, jepsen-log")


# --- edn ------------------------------------------------------------------------------------

def _read_edn(path: str, text: str, independent: bool = False) -> list[Op]:
    """A vector of op maps, or one op map per line (Jepsen's history.edn).

    Three readers, fastest first: simple lines go through JSON together (checkers.ednjson),
    the rest one by one through the fast EDN reader, then edn_format; a line that is not
    one whole form (a map spread over lines) sends the whole file to edn_format."""
    lines = text.splitlines()
    nums, body = _body(lines)
    if "#jepsen.history.Op{" in text or "#knossos.op.Op{" in text:
        body = list(map(_untag, body))
    values = read_simple_lines(body)
    try:
        for i, v in enumerate(values):
            if v is NOT_READ:
                try:
                    values[i] = _fast_map(body[i])
                except NotSimple:
                    values[i] = read_form(body[i])
    except EDNError:
        slow = _slow_maps(path, text, lines)
        nums, values = [n for n, _ in slow], [v for _, v in slow]
    ops = _ops_from_maps(path, nums, values, independent)
    if not ops:
        raise HistoryFormatError(path, None, "no ops in this EDN history")
    return ops


def _body(lines: list[str]) -> tuple[list[int] | range, list[str]]:
    """``_strip_vector`` as (line numbers, texts), in bulk: this runs once per line of a
    big history."""
    body = list(map(str.strip, lines))
    nums: list[int] | range = range(1, len(body) + 1)
    if "" in body:
        keep = [i for i, ln in enumerate(body) if ln]
        nums, body = [i + 1 for i in keep], [body[i] for i in keep]
    if body and body[0].startswith("[") and body[-1].endswith("]"):
        body[0], body[-1] = body[0][1:].strip(), body[-1][:-1].strip()
        if not body[0] or not body[-1]:
            keep = [i for i, ln in enumerate(body) if ln]
            nums, body = [nums[i] for i in keep], [body[i] for i in keep]
    return nums, body


_RECORDS = ("#jepsen.history.Op{", "#knossos.op.Op{")


def _untag(line: str) -> str:
    """Jepsen 0.3 prints ops as records, ``#jepsen.history.Op{...}``: a record is its map."""
    if line[:1] == "#":
        for tag in _RECORDS:
            if line.startswith(tag):
                return line[len(tag) - 1:]
    return line


_STD = frozenset(_STANDARD)


def _ops_from_maps(path: str, nums: list[int] | range, maps: list[Any],
                   independent: bool = False) -> list[Op]:
    """``_op_from_map`` for every map (``independent``: and ``_split_tuples``), with the
    common case inlined: most of the time of reading a big history is here."""
    ops: list[Op] = []
    append = ops.append
    for i, (n, m) in enumerate(zip(nums, maps)):
        if type(m) is not dict:
            append(_op_from_map(path, n, m, i))  # raises
            continue
        get = m.get
        t, f, p = get("type"), get("f"), get("process", -1)
        index, time = get("index", i), get("time", -1)
        if (t not in TYPES or f is None or type(index) is not int or type(time) is not int
                or (type(p) is not int and p != NEMESIS)):
            op = _op_from_map(path, n, m, i)  # raises, or an odd but legal op
            if independent:
                _split_tuples(path, [op])
            append(op)
            continue
        extra = None
        if not _STD.issuperset(m):
            extra = {str(k): v for k, v in m.items() if k not in _STD}
        if time < 0 and n:
            extra = (extra or {}) | {"line": n}
        error = get("error")
        key, value = get("key"), get("value")
        if independent:
            if type(value) is list and len(value) == 2 and p != NEMESIS:
                key, value = value
                if type(key) is list:
                    key = tuple(key)
            else:
                op = Op(t, str(f), p, key, value, index, time,
                        None if error is None else str(error), extra)
                _split_tuples(path, [op])
                append(op)
                continue
        append(Op(t, f if type(f) is str else str(f), p, key, value, index, time,
                  None if error is None else str(error), extra))
    return ops


def _strip_vector(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines, without one enclosing ``[`` ... ``]``."""
    body = [(n, ln.strip()) for n, ln in enumerate(lines, 1) if ln.strip()]
    if body and body[0][1].startswith("[") and body[-1][1].endswith("]"):
        body[0] = (body[0][0], body[0][1][1:].strip())
        body[-1] = (body[-1][0], body[-1][1][:-1].strip())
        body = [(n, ln) for n, ln in body if ln]
    return body


def _fast_map(line: str) -> Any:
    """The one form on a line through the fast reader; NotSimple for anything else (a map
    spread over lines, tags, sets ...), which sends the whole file to the real parser."""
    try:
        value, rest = read_leading(line)
    except EDNError:
        raise NotSimple from None
    if rest:
        raise NotSimple
    return value


def _slow_maps(path: str, text: str, lines: list[str]) -> list[tuple[int, Any]]:
    """The general path: edn_format over the whole text. Line numbers of the forms are not
    known there, so ops get line None; a parse error is located by re-reading line by line."""
    try:
        forms = read_all(text)
    except EDNError as e:
        raise HistoryFormatError(path, _locate(text, lines, e), e.reason) from None
    if len(forms) == 1 and isinstance(forms[0], list):
        forms = forms[0]
    return [(0, f) for f in forms]


def _locate(text: str, lines: list[str], e: EDNError) -> int | None:
    if e.pos is not None:
        return text.count("\n", 0, e.pos) + 1
    for n, ln in _strip_vector(lines):
        try:
            read_form(ln)
        except EDNError:
            return n
    return len(lines) or None


def _op_from_map(path: str, line: int, m: Any, position: int) -> Op:
    where = line or None
    if not isinstance(m, dict):
        raise HistoryFormatError(path, where, f"expected an op map, got {_short(m)}")
    t, f = m.get("type"), m.get("f")
    if t not in TYPES:
        raise HistoryFormatError(path, where, f"op :type must be one of :invoke :ok :fail "
                                              f":info, got {_short(t)}")
    if f is None:
        raise HistoryFormatError(path, where, "op has no :f")
    process = m.get("process", -1)
    if not isinstance(process, int) and process != NEMESIS:
        raise HistoryFormatError(path, where, f"op :process must be an integer or :nemesis, "
                                              f"got {_short(process)}")
    index, time = m.get("index", position), m.get("time", -1)
    if not isinstance(index, int) or not isinstance(time, int):
        raise HistoryFormatError(path, where, "op :index and :time must be integers")
    extra = {str(k): v for k, v in m.items() if k not in _STANDARD} or None
    if time < 0 and line:
        extra = (extra or {}) | {"line": line}
    error = m.get("error")
    return Op(type=t, f=str(f), process=process, key=m.get("key"), value=m.get("value"),
              index=index, time=time, error=None if error is None else str(error), extra=extra)


# --- jepsen log -----------------------------------------------------------------------------

def _read_log(path: str, text: str) -> list[Op]:
    """Op lines of a Jepsen log; every other line (startup chatter, stack traces, nemesis
    maps spread over lines) is skipped. A file without one op line is an error."""
    ops: list[Op] = []
    for n, line in enumerate(text.splitlines(), 1):
        if ":" not in line:
            continue
        m = _LOG_OP.search(line)
        if m is None:
            continue
        proc, t, f, rest = m.groups()
        process: int | str = NEMESIS if proc == ":nemesis" else int(proc)
        value, error = _log_value(path, n, rest or "nil", t, process)
        ops.append(Op(type=t, f=f, process=process, value=value, error=error,
                      index=len(ops), extra={"line": n}))
    if not ops:
        raise HistoryFormatError(path, None, "no Jepsen op lines "
                                             "(like `INFO  jepsen.util - 3\t:ok\t:read\t4`)")
    return ops


def _log_value(path: str, line: int, text: str, t: str,
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


# --- independent keys -----------------------------------------------------------------------

def _split_tuples(path: str, ops: list[Op]) -> None:
    for op in ops:
        v = op.value
        if type(v) is list and len(v) == 2 and op.process != NEMESIS:
            k = v[0]
            op.key, op.value = tuple(k) if type(k) is list else k, v[1]
            continue
        if op.process == NEMESIS:
            continue
        if isinstance(v, (list, tuple)) and len(v) == 2:
            op.key, op.value = _key(v[0]), v[1]
        elif op.type in ("invoke", "ok"):
            line = (op.extra or {}).get("line")
            where = "" if line else f" (op index {op.index})"
            raise HistoryFormatError(path, line, f"independent history, but the value of this "
                                                 f"{op.type} {op.f}{where} is {_short(v)}, "
                                                 f"not a [key value] tuple")


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."
