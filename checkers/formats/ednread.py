"""EDN values as plain Python: a fast reader for simple forms, edn_format for everything else.

Jepsen writes histories and logs in EDN. We want plain values out of it, but no two EDN
values that Clojure's ``=`` tells apart may come out equal: keywords become
checkers.values.Keyword (``:ok`` -> ``Keyword("ok")``, printed ``:ok``, never equal to the
string ``"ok"``), symbols Symbol, ``nil`` -> None, vectors and lists -> lists, maps -> dicts,
sets -> frozensets. (The history reader, checkers.formats.edn, turns the keywords that name
an op's fields and its type, f and process into plain strings.)

    read_form('{:process 0, :type :ok, :f :cas, :value [3 :a]}')
    -> {Keyword("process"): 0, Keyword("type"): Keyword("ok"), Keyword("f"): Keyword("cas"),
        Keyword("value"): [3, Keyword("a")]}

``read_form`` first tries a small tokenizer that knows only what Jepsen ops are made of
(maps, vectors, lists, strings, numbers, keywords, nil, booleans); anything else (tags, sets,
characters, metadata, ratios) raises ``NotSimple`` inside it and the text goes to the real
parser, ``edn_format``. The fast path exists because edn_format builds its parser on every
call and costs about a millisecond per op.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import edn_format  # untyped: pyproject's mypy overrides ignore its missing stubs

from checkers.values import FrozenMap, Keyword, Symbol
from harness.history import MAX_DEPTH, nesting_depth

__all__ = ["EDNError", "NotSimple", "from_edn", "read_all", "read_form", "read_leading"]


class EDNError(ValueError):
    """Text that is not EDN; ``pos`` is a character offset into it when known."""

    def __init__(self, reason: str, pos: int | None = None):
        super().__init__(reason)
        self.reason, self.pos = reason, pos


class NotSimple(Exception):
    """The fast reader met something it does not handle; use edn_format."""


# Commas are whitespace in EDN. A token is a bracket, a string, or an atom.
_TOKEN = re.compile(r'[\s,]*(?:([{}\[\]()])|"((?:[^"\\]|\\.)*)"|([^\s,{}\[\]()"\\;#^]+)|(\S))',
                    re.DOTALL)
_INT = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CLOSE = {"[": "]", "(": ")", "{": "}"}
_ATOMS: dict[str, Any] = {"nil": None, "true": True, "false": False}


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = s[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2:i + 6]):
            out.append(chr(int(s[i + 2:i + 6], 16)))
            i += 6
        else:
            raise NotSimple
    return "".join(out)


def _atom(t: str) -> Any:
    if t in _ATOMS:
        return _ATOMS[t]
    c = t[0]
    if c == ":":
        if len(t) == 1:
            raise NotSimple
        return Keyword(t[1:])
    if c.isdigit() or (c in "+-" and len(t) > 1 and t[1].isdigit()):
        if _INT.fullmatch(t):
            try:
                return int(t.rstrip("N"))
            except ValueError:  # Python's int-string limit
                raise EDNError(f"a number too long to read ({len(t)} digits)") from None
        if _FLOAT.fullmatch(t):
            return float(t)
        raise NotSimple  # ratios, 1.5M, hex: rare enough for the slow path
    return Symbol(t)


def _parse(text: str, pos: int, depth: int = 0) -> tuple[Any, int]:
    """One form starting at ``pos``; returns it and the offset just after it."""
    if depth > MAX_DEPTH:
        raise EDNError(f"a value nests deeper than {MAX_DEPTH} lists or maps", pos)
    m = _TOKEN.match(text, pos)
    if m is None or m.end() == pos and not m.group(0):
        raise EDNError("unexpected end of input", pos)
    bracket, string, atom, other = m.groups()
    end = m.end()
    if string is not None:
        return _unescape(string), end
    if atom is not None:
        return _atom(atom), end
    if other is not None:
        raise NotSimple
    if bracket in "}])":
        raise EDNError(f"unexpected {bracket!r}", m.start(1))
    close = _CLOSE[bracket]
    items: list[Any] = []
    while True:
        m = _TOKEN.match(text, end)
        if m is None:
            raise EDNError(f"unclosed {bracket!r}", pos)
        if m.group(1) == close:
            end = m.end()
            break
        item, end = _parse(text, end, depth + 1)
        items.append(item)
    if bracket != "{":
        return items, end
    if len(items) % 2:
        raise EDNError("a map needs an even number of forms", pos)
    try:
        return dict(zip(items[::2], items[1::2])), end
    except TypeError:  # a list as a map key
        raise NotSimple from None


def read_leading(text: str) -> tuple[Any, str]:
    """The first EDN form of ``text`` (fast reader only) and the text after it.

    ``read_leading("[3 0]\\tindeterminate: timeout")`` -> ``([3, 0], "indeterminate: timeout")``
    Raises NotSimple or EDNError when the fast reader cannot read it.
    """
    value, end = _parse(text, 0)
    return value, text[end:].strip()


def read_form(text: str) -> Any:
    """Exactly one EDN form; raises EDNError if the text is not that."""
    if text.isascii() and text.isdigit():  # the commonest values in a log line: 3, nil, :timed-out
        return int(text)
    if text in _ATOMS:
        return _ATOMS[text]
    try:
        value, rest = read_leading(text)
        if rest:
            raise EDNError(f"unexpected text after the form: {rest[:40]!r}")
        return value
    except NotSimple:
        pass
    forms = read_all(text)
    if len(forms) != 1:
        raise EDNError(f"expected one EDN form, found {len(forms)}")
    return forms[0]


def read_all(text: str) -> list[Any]:
    """Every form of ``text`` through edn_format (the general path), converted."""
    try:
        forms = edn_format.loads_all(text)
        out = [from_edn(f) for f in forms]
    except edn_format.EDNDecodeError as e:
        raise EDNError(_edn_reason(e), _lexpos(e)) from None
    except NotImplementedError as e:  # edn_format's answer to an unknown #tag
        raise EDNError(str(e).replace("ImmutableDict(", "#").rstrip(")")) from None
    except RecursionError:
        raise EDNError(f"a value nests deeper than {MAX_DEPTH} lists or maps") from None
    except (ValueError, TypeError, ArithmeticError, KeyError, AttributeError) as e:
        # edn_format's own failures on odd input: a number of 5,000 digits (Python's
        # int-string limit), a map key it cannot hash, a bad #inst, 1/0 ...
        raise EDNError(f"cannot read: {str(e).split(';')[0][:80] or type(e).__name__}"
                       ) from None
    for v in out:
        if nesting_depth(v, MAX_DEPTH + 1) > MAX_DEPTH + 1:  # +1: the op map
            raise EDNError(f"a value nests deeper than {MAX_DEPTH} lists or maps")
    return out


def _edn_reason(e: Exception) -> str:
    msg = str(e)
    if msg == "EOF Reached":
        return "unexpected end of input (an unclosed bracket or string?)"
    return msg.split(" in the area of")[0]


def _lexpos(e: Exception) -> int | None:
    m = re.search(r"lexpos (\d+)", str(e))
    if m:
        return int(m.group(1))
    arg = e.args[0] if e.args else None
    pos = getattr(arg, "lexpos", None)  # edn_format passes the bad ply token itself
    return pos if isinstance(pos, int) else None


def from_edn(v: Any) -> Any:
    """edn_format's values -> plain Python values (see the module docstring)."""
    if isinstance(v, edn_format.Keyword):
        return Keyword(v.name)
    if isinstance(v, str):
        return str(v)  # edn_format's Char is a str subclass
    if isinstance(v, (int, float, Decimal, datetime.datetime)) or v is None:
        return v
    if isinstance(v, Mapping):
        return {_hashable(from_edn(k)): from_edn(x) for k, x in v.items()}
    if isinstance(v, (frozenset, set)):
        return frozenset(_hashable(from_edn(x)) for x in v)
    if isinstance(v, Sequence):  # edn_format's ImmutableList is a Sequence, not a list
        return [from_edn(x) for x in v]
    if isinstance(v, edn_format.Symbol):
        return Symbol(str(v))
    return v


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return FrozenMap(frozenset((k, _hashable(x)) for k, x in v.items()))
    return v


# Jepsen prints some ops as records: #jepsen.history.Op{...} (0.3+), #knossos.op.Op{...}.
# A record is its map. edn_format keeps tag handlers in a module-wide table, so register
# ours only where nobody else has registered the tag.
_RECORD_TAGS = ("jepsen.history.Op", "knossos.op.Op")


def _register_record_tags() -> None:
    known = getattr(getattr(edn_format, "edn_parse", None), "_serializers", {})
    for tag in _RECORD_TAGS:
        if tag not in known:
            edn_format.add_tag(tag, lambda m: m)


_register_record_tags()
