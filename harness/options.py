"""Plugin options: ``--option KEY=VALUE`` pairs, looked up in one place and given a type.

A plugin reads an option with ``option(opts, key, default)``; the value comes back as the
default's type (``"5"`` -> 5 for an int default, ``"yes"`` -> True for a bool), or one
ConfigError line naming the option and what would be right::

    option({"pause_targets": "primaries"}, "targets", "one", prefix="pause")  # -> "primaries"
    option({"keys": "8"}, "keys", 4)                                          # -> 8
    option({"keys": "many"}, "keys", 4)   # ConfigError: option keys='many' is not an int ...

``prefix`` lets composed plugins be told apart: ``pause_targets`` wins over ``targets`` for
the pause nemesis. ``given`` (a plugin constructor's keyword arguments) wins over both.

Each plugin declares what it reads (``Opt``: name, type, default, help, choices, check;
harness.api.HasOptions), and the runtime checks the test's options against them all before
a cluster starts (``validate_options``): an unknown key or a bad value is one ConfigError line::

    validate_options({"lease_ms": -1}, [Opt("lease_ms", int, 10_000, "...", check=positive)])
    # ConfigError: option lease_ms=-1 is not allowed: give a number > 0
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
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


def as_str(raw: Any) -> str:
    if isinstance(raw, dict | list | tuple | bool) or raw is None:
        raise ValueError(f"expected a word, got {type(raw).__name__}")
    return str(raw)


as_str.__name__ = "a string"


def as_any(raw: Any) -> Any:
    return raw


as_any.__name__ = "a JSON value"


# --- declarations ----------------------------------------------------------------------------

@dataclass(frozen=True)
class OptEnv:
    """What a check may look at besides the value: the test's nodes and its db."""

    nodes: tuple[str, ...] = ()
    db: Any = None


# A check answers None for a good value, else what is allowed, in words ("a number > 0").
Check = Callable[[Any, OptEnv], "str | None"]

_TYPES: dict[Any, Callable[[Any], Any]] = {bool: as_bool, int: as_int, float: as_float,
                                           str: as_str, list: as_list, object: as_any}


@dataclass(frozen=True)
class Opt:
    """One option a plugin reads, declared so it is checked before anything heavy starts and
    shown by ``splitbrain list --verbose``::

        Opt("lease_ms", int, 10_000, "lease length of modes lease and fenced", check=positive)
        Opt("targets", list, None, "which nodes a pause hits", prefix="pause")
            # read as pause_targets or targets; pause_targets wins

    ``type``: bool, int, float, str, list (a list, or "a,b"), object (any JSON value), or a
    parser (raw -> value, raising ValueError). ``choices``: the values allowed (for a list,
    each element). ``check``: a further test of the parsed value (``positive``,
    ``between(0, 1)``, or any ``(value, OptEnv) -> None | what is allowed``). ``prefix``: the
    option may also be given as ``<prefix>_<name>``; ``aliases``: other names it goes by.
    """

    name: str
    type: Any
    default: Any
    help: str
    choices: Sequence[Any] | None = None
    check: Check | None = None
    prefix: str | None = None
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every name it is given by: ``("pause_targets", "targets")``."""
        pre = (f"{self.prefix}_{self.name}",) if self.prefix else ()
        return (*pre, self.name, *self.aliases)

    def parser(self) -> Callable[[Any], Any]:
        return _TYPES.get(self.type, self.type)

    def problem(self, raw: Any, env: OptEnv) -> str | None:
        """None if ``raw`` is a good value of this option, else what would be (one line)."""
        parse = self.parser()
        try:
            value = parse(raw)
        except (TypeError, ValueError) as e:
            what = getattr(parse, "__name__", "a value of the right type")
            return f"{what} ({e})" if str(e) else what
        if self.choices is not None:
            items = value if isinstance(value, list) else [value]
            if any(v not in self.choices for v in items):
                many = "one or more of" if isinstance(value, list) else "one of"
                return f"{many} {', '.join(map(str, self.choices))}"
        if self.check is not None:
            return self.check(value, env)
        return None

    def describe(self) -> str:
        """One line for ``splitbrain list --verbose``: names, default and help."""
        default = "" if self.default is None else f" (default {self.default!r})"
        allowed = f"; one of {', '.join(map(str, self.choices))}" if self.choices else ""
        return f"{' / '.join(self.names())}{default}: {self.help}{allowed}"


def check(ok: Callable[[Any], bool], allowed: str) -> Check:
    """A check from a predicate on the value: ``check(lambda v: v > 0, "a number > 0")``."""
    def run(value: Any, env: OptEnv) -> str | None:
        try:
            return None if ok(value) else allowed
        except (TypeError, ValueError):
            return allowed
    return run


def at_least(lo: float) -> Check:
    return check(lambda v: v >= lo, f"a number >= {lo:g}")


def between(lo: float, hi: float) -> Check:
    return check(lambda v: lo <= v <= hi, f"a number from {lo:g} to {hi:g}")


positive = check(lambda v: v > 0, "a number > 0")
port_number = check(lambda v: 0 < v < 65536, "a port number, 1 to 65535")


def validate_options(given: Mapping[str, Any], declared: Sequence[Opt], *,
                     env: OptEnv = OptEnv(), strict: bool = True, whose: str = "",
                     also_known: Collection[str] = ()) -> None:
    """Check every ``--option`` pair against the declarations: one ConfigError line for the
    first bad one. A key no declaration names is an error when ``strict`` (with a did-you-mean;
    ``whose`` says which plugins were asked, ``also_known`` are names to let through); a value
    must satisfy every declaration of its name (two plugins may read one option)."""
    by_name: dict[str, list[Opt]] = {}
    for o in declared:
        for n in o.names():
            if o not in by_name.setdefault(n, []):
                by_name[n].append(o)
    for key, raw in given.items():
        opts = by_name.get(key)
        if not opts:
            if strict and key not in also_known:
                raise ConfigError(unknown_option(key, sorted(by_name), whose))
            continue
        for o in opts:
            allowed = o.problem(raw, env)
            if allowed is not None:
                raise ConfigError(f"option {key}={_show(raw)} is not allowed: give {allowed}")


def unknown_option(key: str, known: Sequence[str], whose: str = "") -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    of = f" of {whose}" if whose else ""
    if close:
        return (f"unknown option {key!r}; did you mean {close[0]!r}? "
                f"(`splitbrain list --verbose` shows the options{of})")
    return f"unknown option {key!r}; the options{of} are: {', '.join(known) or 'none'}"


def _show(raw: Any) -> str:
    s = json.dumps(raw, default=str) if not isinstance(raw, str) else repr(raw)
    return s if len(s) <= 60 else s[:59] + "…"
