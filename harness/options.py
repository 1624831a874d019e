"""Plugin options: ``--option KEY=VALUE`` pairs, looked up in one place and given a type.

A plugin reads an option with ``option(opts, key, default)``; the value comes back as the
default's type (``"5"`` -> 5 for an int default, ``"yes"`` -> True for a bool), or one
ConfigError line naming the option and what would be right::

    option({"pause_targets": "primaries"}, "targets", "one", prefix="pause")  # -> "primaries"
    option({"keys": "8"}, "keys", 4)                                          # -> 8
    option({"keys": "many"}, "keys", 4)   # ConfigError: option keys='many' is not an int ...

``prefix`` lets composed plugins be told apart: ``pause_targets`` wins over ``targets`` for
the pause nemesis. ``given`` (a plugin constructor's keyword arguments) wins over both.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from harness.errors import ConfigError

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def lookup(opts: Mapping[str, Any], key: str, *, prefix: str | None = None,
           given: Mapping[str, Any] | None = None) -> tuple[bool, Any]:
    """(found, raw value): ``given[key]``, else ``opts[prefix_key]``, else ``opts[key]``."""
    if given and key in given:
        return True, given[key]
    if prefix and f"{prefix}_{key}" in opts:
        return True, opts[f"{prefix}_{key}"]
    if key in opts:
        return True, opts[key]
    return False, None


def option(opts: Mapping[str, Any], key: str, default: T, *, prefix: str | None = None,
           given: Mapping[str, Any] | None = None,
           parse: Callable[[Any], T] | None = None) -> T:
    """The option ``key`` as the type of ``default`` (or as ``parse`` makes it)."""
    found, raw = lookup(opts, key, prefix=prefix, given=given)
    if not found:
        return default
    name = f"{prefix}_{key}" if prefix and f"{prefix}_{key}" in opts else key
    convert = parse or converter(default)
    if convert is None:
        return cast(T, raw)  # no default type to hold it to
    try:
        return convert(raw)
    except (TypeError, ValueError) as e:
        what = getattr(convert, "__name__", "the expected type")
        raise ConfigError(f"option {name}={raw!r} is not {what}: {e}; "
                          f"give a value like {default!r}") from None


def converter(default: Any) -> Callable[[Any], Any] | None:
    """The parser for values of ``default``'s type; None when it has none (None, dicts)."""
    if isinstance(default, bool):
        return as_bool
    if isinstance(default, int):
        return as_int
    if isinstance(default, float):
        return as_float
    if isinstance(default, str):
        return str
    if isinstance(default, list | tuple):
        return as_list
    return None


def as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    s = str(raw).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("expected true/false, yes/no or 1/0")


as_bool.__name__ = "a boolean"


def as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a count")
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError("expected a whole number")
    return int(raw)


as_int.__name__ = "an int"


def as_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a number")
    return float(raw)


as_float.__name__ = "a number"


def as_list(raw: Any) -> list[Any]:
    """A list from a list, a tuple, a comma-separated string, or one value; None is []."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        return [p.strip() for p in raw.split(",") if p.strip()]
    return [raw]


as_list.__name__ = "a list"
