"""Values compared as Knossos compares them (Clojure's ``=``) and as JSON's types say.

Python's ``==`` says ``True == 1``, ``1 == 1.0`` and, once an EDN reader has turned keywords
into strings, ``:a == "a"``. A checker that compared values that way would accept a read of
``true`` after a write of ``1``: a value nobody wrote. Here:

    Keyword("a")   EDN's ``:a``       equal only to Keyword("a"), prints ``:a``
    Symbol("a")    EDN's ``a``        equal only to Symbol("a"), prints ``a``
    Typed(v)       what ``freeze`` makes of every scalar that is not an int, a str or None
                   (bool, float, Decimal, datetime, ...): equal only to a Typed of the same
                   Python type and an equal value, so ``true != 1``, ``1.0 != 1``,
                   ``1.5M != 1.5``; prints as the value
    FrozenMap      what ``freeze`` makes of a map: equal only to a map (never to a list of
                   pairs), order-insensitive, prints ``{k v, ...}``

ints and strs are left as they are (they are already exact in Python: ``1 != "1"``), so the
common case, a history of ints and strings, costs nothing.
"""
from __future__ import annotations

from typing import Any

__all__ = ["FrozenMap", "Keyword", "Symbol", "Typed", "text_of", "thaw"]


class Keyword:
    """An EDN keyword (``:a``): not a string. ``name`` is the text without the colon."""

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)

    def __setattr__(self, k: str, v: Any) -> None:
        raise AttributeError("Keyword is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is Keyword and other.name == self.name

    def __hash__(self) -> int:
        return hash((Keyword, self.name))

    def __repr__(self) -> str:
        return ":" + self.name

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return Keyword, (self.name,)


class Symbol:
    """An EDN symbol (``a``): not a string."""

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)

    def __setattr__(self, k: str, v: Any) -> None:
        raise AttributeError("Symbol is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is Symbol and other.name == self.name

    def __hash__(self) -> int:
        return hash((Symbol, self.name))

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return Symbol, (self.name,)


class Typed:
    """A scalar that equals only a scalar of its own type: ``Typed(True) != 1``,
    ``Typed(1.0) != 1``, ``Typed(1.0) == Typed(1.0)``. ``value`` is the original."""

    __slots__ = ("value",)
    value: Any

    def __init__(self, value: Any):
        object.__setattr__(self, "value", value)

    def __setattr__(self, k: str, v: Any) -> None:
        raise AttributeError("Typed is immutable")

    def __eq__(self, other: object) -> bool:
        return (type(other) is Typed and type(other.value) is type(self.value)
                and other.value == self.value)

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))

    def __bool__(self) -> bool:
        return bool(self.value)

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, bool):
            return "true" if v else "false"
        return repr(v)

    def __reduce__(self) -> tuple[Any, ...]:
        return Typed, (self.value,)


class FrozenMap:
    """A frozen map: its (key, value) pairs, both frozen. Equal only to a FrozenMap with
    the same pairs (a map is not a list of pairs)."""

    __slots__ = ("items",)
    items: frozenset[tuple[Any, Any]]

    def __init__(self, items: frozenset[tuple[Any, Any]]):
        object.__setattr__(self, "items", items)

    def __setattr__(self, k: str, v: Any) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is FrozenMap and other.items == self.items

    def __hash__(self) -> int:
        return hash((FrozenMap, self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(f"{k!r} {v!r}" for k, v in self.items)) + "}"

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenMap, (self.items,)


def text_of(v: Any) -> str:
    """A keyword or symbol as the text it names (``:timed-out`` -> ``"timed-out"``), anything
    else as ``str``: for the op fields that are names (type, f, error, extra keys)."""
    if type(v) is Keyword or type(v) is Symbol:
        return v.name
    return v if type(v) is str else str(v)


def thaw(v: Any) -> Any:
    """A frozen value back as plain data for a result (Typed -> its value, FrozenMap ->
    dict, tuple -> list); anything else as it is."""
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is Typed:
        return v.value
    if t is tuple:
        return [thaw(x) for x in v]
    if t is FrozenMap:
        return {thaw(k) if type(k) is not tuple else k: thaw(x) for k, x in v.items}
    return v
