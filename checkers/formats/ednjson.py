"""Jepsen's history.edn at C speed: simple op lines rewritten to JSON, parsed by ``json``.

A history.edn is one op map a line, and most lines use a small part of EDN: keyword keys,
keywords, integers, strings, nil, booleans and vectors, printed by Clojure as

    {:type :invoke, :f :cas, :value [72 [nil 1]], :time 247294, :process 2, :index 0}

Such lines (no tags, characters or comments) are rewritten together, with a few
passes of ``str.replace`` and ``re.sub`` over the joined text, into

    {"type":"invoke", "f":"cas", "value":[72,[null,1]], "time":247294, "process":2, "index":0}

(keywords in values are marked, ``"\\u0000a"``, and become checkers.values.Keyword after
the load: ``:a`` is not the string ``"a"``; a line with a nested map is left to the general
reader, whose keys would otherwise come out as strings) and read by one ``json.loads``: no
Python code runs per token (strings are set aside
during the rewrite and put back: EDN's string escapes are JSON's). The rewrite is only ever
*checked* by JSON's strictness: anything it does not cover (a map printed without commas,
a symbol, a ratio, a non-keyword map key, an odd space) comes out as invalid JSON, and that
line is left to the general reader (``NOT_READ``). A rewrite cannot turn valid EDN into a
different valid JSON value: keys are only rewritten at ``{:k `` and ``, :k `` (where EDN has
a map key), keywords only at a delimiter, ``nil`` only between delimiters.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from checkers.forked import can_fork, in_two
from checkers.values import Keyword

__all__ = ["NOT_READ", "read_simple_lines"]

NOT_READ: Any = object()  # a line this reader left to the general one

_KWC = r'[^\s,{}\[\]()"\\;#^@`~\x00]'
_STRING = re.compile(r'("(?:[^"\\\n]|\\.)*")')
_KEY = re.compile(r"(?:\{|, ):(" + _KWC + r"+) ")
_KEYWORD = re.compile(r":(?<=[\s\[{(,:]:)" + _KWC + r"+")  # a keyword after a delimiter
_NIL = re.compile(r"nil(?<=[\s\[{(,:]nil)(?=[\s\]}),])")
# A key and the keyword after it, then "," or "}" (looked at, not taken: the next pair may
# start with it).
_PAIR = re.compile(r"(\{|, ):(" + _KWC + r"+) :(" + _KWC + r"+)(?=([,}]))")
PARALLEL_MIN_CHARS = 8 << 20  # below this a second process costs more than it saves


def _quote(m: re.Match[str]) -> str:
    return '"\\u0000' + m[0][1:] + '"'  # marked: a keyword, not a string (see _unmark)


_NAMED = frozenset(("type", "f", "process", "error"))  # their keywords are names: strings
_MARKED = "\\u0000"  # how a keyword value is marked in the JSON text (a NUL prefix)


def _simple(line: str) -> bool:
    # One map, no nested map (its keyword keys would come out as strings), no tag.
    return (line[:1] == "{" and line[-1:] == "}" and "#" not in line
            and line.count("{") == 1)


def read_simple_lines(lines: list[str]) -> list[Any]:
    """The value of each line (one EDN form a line, stripped), or NOT_READ."""
    out: list[Any] = [NOT_READ] * len(lines)
    text = "\n".join(lines)
    n = len(lines)
    if "\x00" in text or "\\u0000" in text:
        return out  # a NUL of its own would read as our keyword mark: the general reader
    if ("#" not in text and text[:1] == "{" and text[-1:] == "}"
            and text.count("\n{") == n - 1 and text.count("}\n") == n - 1
            and text.count("{") == n):
        picked: list[int] | range = range(n)  # every line is a candidate (the usual case)
    else:
        picked = [i for i, ln in enumerate(lines) if _simple(ln)]
        if not picked:
            return out
        text = "\n".join([lines[i] for i in picked])
    js = _to_json(text)
    if js is None:
        return out
    try:
        values = json.loads("[" + js.replace("\n", ",") + "]")
    except (ValueError, RecursionError):  # RecursionError: a value nested 1,000 deep
        values = [_loads(t) for t in js.split("\n")]
    if len(values) != len(picked):  # cannot happen: one JSON value a line
        return out
    if _MARKED in js:  # keyword values: back to Keyword (or to names, see _unmark_op)
        for k, ln in enumerate(js.split("\n")):
            if _MARKED in ln:
                values[k] = _unmark_op(values[k])
    for i, v in zip(picked, values):
        out[i] = v
    return out


def _unmark_op(m: Any) -> Any:
    """A line's map with its marked keyword values as checkers.formats.edn.op_map makes
    them: names (plain strings) for type, f, process and error, Keyword elsewhere."""
    if type(m) is not dict:
        return _unmark(m)
    return {k: (v[1:] if k in _NAMED and type(v) is str and v[:1] == "\x00" else _unmark(v))
            for k, v in m.items()}


def _unmark(v: Any) -> Any:
    t = type(v)
    if t is str:
        return Keyword(v[1:]) if v[:1] == "\x00" else v
    if t is list:
        return [_unmark(x) for x in v]
    if t is dict:
        return {_unmark(k): _unmark(x) for k, x in v.items()}
    return v


def _to_json(text: str) -> str | None:
    """Lines of EDN -> lines of JSON (None: give up), in two processes for a big text."""
    if len(text) < PARALLEL_MIN_CHARS or not can_fork():
        return _to_json_one(text)
    cut = text.find("\n", len(text) // 2)
    if cut < 0:
        return _to_json_one(text)
    first, second = text[:cut], text[cut + 1:]
    head, tail = in_two(lambda: _to_json_one(first), lambda: _to_json_one(second))
    if head is None or tail is None:
        return None
    return head + "\n" + tail


def _to_json_one(text: str) -> str | None:
    if '"' not in text:
        return _rewrite(text)
    # Strings stay as they are (EDN's escapes are JSON's): set aside, the code between them
    # rewritten with a NUL in their place, then put back.
    parts = _STRING.split(text)
    code = _rewrite("\x00".join(parts[0::2])).split("\x00")
    if len(code) * 2 - 1 != len(parts):
        return None  # a NUL in the history itself: let the general reader have it
    parts[0::2] = code
    return "".join(parts)


def _rewrite(text: str) -> str:
    """Code (strings set aside) -> JSON, by whole-text passes:

    1. the commonest key-keyword pairs (``{:type :invoke,``, ``, :f :cas,``: from a sample)
       become ``{"type":"invoke",`` in one str.replace each;
    2. every other ``{:`` and ``, :`` opens a key (after this the only quotes in the text are
       the keys'), and each distinct key's closing ``k `` becomes ``k":`` (str.replace: a
       regex with a backreference runs Python code per match on 3.11). Keys come from a
       sample: one it missed stays unquoted and makes its lines invalid JSON (left to the
       general reader);
    3. the keywords left (values) are quoted, nil becomes null, spaces become commas.
    """
    if '"' in text:
        return text  # a quote outside a string: not something this reader rewrites
    head, tail = text[:1 << 20], text[-(1 << 20):]
    pairs = _PAIR.findall(head)
    for (pre, k, v, end), n in Counter(pairs).items():
        if n * 100 >= len(pairs) and k in _NAMED:  # a :value :a stays a (marked) keyword
            text = text.replace(f"{pre}:{k} :{v}{end}", f'{pre}"{k}":"{v}"{end}')
    keys = set(_KEY.findall(head)) | set(_KEY.findall(tail))
    text = text.replace("{:", '{"').replace(", :", ', "')
    for k in keys:
        text = text.replace('"' + k + " ", '"' + k + '":')
    text = _KEYWORD.sub(_quote, text)
    text = _NIL.sub("null", text)
    return text.replace(", ", ",").replace(" ", ",")


def _loads(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # left to the general reader, which says why
        return NOT_READ
