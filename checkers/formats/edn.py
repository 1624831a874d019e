"""Jepsen's history.edn: a vector of op maps, or one op map a line.

    {:type :invoke, :f :cas, :value [3 0], :process 2, :time 247294, :index 0}
    -> Op("invoke", "cas", 2, value=[3, 0], time=247294, index=0)

Two EDN readers serve it, and they are genuinely different: checkers.formats.ednjson
rewrites the simple lines of a whole file to JSON at C speed (most lines of a big history),
checkers.formats.ednread reads any other form (its own small tokenizer, then edn_format).
"""
from __future__ import annotations

from itertools import repeat
from typing import Any

from checkers.formats.ednjson import NOT_READ, read_simple_lines
from checkers.formats.ednread import EDNError, NotSimple, read_all, read_form, read_leading
from checkers.formats.independent import short, split_tuple
from checkers.values import Keyword, Symbol
from harness.errors import HistoryFormatError
from harness.history import MAX_DEPTH, NEMESIS, TYPES, Op, nesting_depth

__all__ = ["op_map", "read_edn"]

_STANDARD = ("index", "time", "type", "process", "f", "key", "value", "error")


def read_edn(path: str, text: str, independent: bool = False) -> list[Op]:
    """A vector of op maps, or one op map per line (Jepsen's history.edn).

    Three readers, fastest first: simple lines go through JSON together (ednjson),
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
                    values[i] = op_map(_fast_map(body[i]))
                except NotSimple:
                    values[i] = op_map(read_form(body[i]))
    except EDNError:
        slow = _slow_maps(path, text, lines)
        nums, values = [n for n, _ in slow], [v for _, v in slow]
    else:
        _check_depth(path, nums, body, values)
    ops = _ops_from_maps(path, nums, values, independent)
    if not ops:
        raise HistoryFormatError(path, None, "no ops in this EDN history")
    return ops


def _check_depth(path: str, nums: list[int] | range, body: list[str],
                 values: list[Any]) -> None:
    """HistoryFormatError for a value nested deeper than MAX_DEPTH (the JSON path reads
    what ``json`` reads, ~1,000 deep; the checkers recurse). Only lines with more than
    MAX_DEPTH brackets are looked at, found by C-speed counts."""
    for ch in "[{(":
        counts = list(map(str.count, body, repeat(ch, len(body))))
        if not counts or max(counts) <= MAX_DEPTH:
            continue
        for i, c in enumerate(counts):
            if c > MAX_DEPTH and nesting_depth(values[i], MAX_DEPTH + 1) > MAX_DEPTH + 1:
                raise HistoryFormatError(path, nums[i] or None, f"a value nests deeper than "
                                                               f"{MAX_DEPTH} lists or maps")


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
_NAMED = frozenset(("type", "f", "process", "error"))


def op_map(m: Any) -> Any:
    """An EDN op map with its keys as strings (``:type`` -> ``"type"``) and the keywords
    that name its type, f, process and error as strings (``:ok`` -> ``"ok"``, ``:nemesis``
    -> ``"nemesis"``); every other value keeps its EDN types (a ``:value :a`` stays the
    keyword, not the string "a"). Anything but a map is returned as it is."""
    if type(m) is not dict:
        return m
    out: dict[Any, Any] = {}
    for k, v in m.items():
        if type(k) is Keyword or type(k) is Symbol:
            k = k.name
        if k in _NAMED and (type(v) is Keyword or type(v) is Symbol):
            v = v.name
        out[k] = v
    return out


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
    """``_op_from_map`` for every map (``independent``: and ``split_tuple``), with the
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
        if (type(t) is not str or t not in TYPES or f is None or type(index) is not int
                or type(time) is not int or (type(p) is not int and p != NEMESIS)):
            op = _op_from_map(path, n, m, i)  # raises, or an odd but legal op
            append(split_tuple(path, op) if independent else op)
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
                append(split_tuple(path, Op(t, str(f), p, key, value, index, time,
                                            None if error is None else str(error), extra)))
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
    return [(0, op_map(f)) for f in forms]


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
        raise HistoryFormatError(path, where, f"expected an op map, got {short(m)}")
    t, f = m.get("type"), m.get("f")
    if type(t) is not str or t not in TYPES:
        raise HistoryFormatError(path, where, f"op :type must be one of :invoke :ok :fail "
                                              f":info, got {short(t)}")
    if f is None:
        raise HistoryFormatError(path, where, "op has no :f")
    process = m.get("process", -1)
    if type(process) is not int and process != NEMESIS:
        raise HistoryFormatError(path, where, f"op :process must be an integer or :nemesis, "
                                              f"got {short(process)}")
    index, time = m.get("index", position), m.get("time", -1)
    if type(index) is not int or type(time) is not int:
        raise HistoryFormatError(path, where, "op :index and :time must be integers")
    extra = {str(k): v for k, v in m.items() if k not in _STANDARD} or None
    if time < 0 and line:
        extra = (extra or {}) | {"line": line}
    error = m.get("error")
    return Op(type=t, f=str(f), process=process, key=m.get("key"), value=m.get("value"),
              index=index, time=time, error=None if error is None else str(error), extra=extra)
