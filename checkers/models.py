"""Sequential specifications for the linearizability checker, one object per key.

A model is a record (Porcupine's shape): a name, an initial state, and ``prepare``, which turns
one op of the history into a *step*: ``(kind, a, b)``. The search applies steps with a fixed
set of kinds so its inner loop stays free of calls (``checkers.search.apply_step``):

    READ    valid iff state == a; state unchanged          {"f": "read", "value": 4} (ok)
    WRITE   state := a                                     {"f": "write", "value": 4}
    CAS     valid iff state == a; state := b               {"f": "cas", "value": [4, 5]}
    APPEND  state := state + a                             {"f": "append", "value": "x 0 1 y"}

Models:
    register      read, write                         initial None (nil)
    cas-register  read, write, cas [old new]          initial None
    kv            get, put, append on strings         initial "" (Porcupine's kv model; the
                                                      checker splits keys, so one key each)

Values are frozen (lists -> tuples) so states can be hashed into the search cache. A read
that returned None observed nil: it is not a wildcard (Knossos treats it as one; we do not).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError

__all__ = ["APPEND", "CAS", "MODELS", "READ", "WRITE", "Model", "ModelError", "freeze",
           "get_model", "is_pure"]

READ, WRITE, CAS, APPEND = 0, 1, 2, 3
Step = tuple[int, Any, Any]


class ModelError(ValueError):
    """An op the model cannot interpret (unknown f, a cas value that is not [old new])."""


def freeze(v: Any) -> Any:
    """A hashable copy: lists -> tuples, dicts -> sorted item tuples, sets -> frozensets."""
    if isinstance(v, (list, tuple)):
        return tuple(freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted(((k, freeze(x)) for k, x in v.items()), key=repr))
    if isinstance(v, set):
        return frozenset(v)
    return v


@dataclass(frozen=True)
class Model:
    """``prepare(f, invoke_value, ok_value)`` -> step, or None for an op with no effect and no
    observation (it can be dropped from the history); raises ModelError when it cannot.
    ``ok_value`` is the completion's value for an ok op, None for a crashed one."""

    name: str
    init: Any
    fs: tuple[str, ...]
    prepare: Callable[[str, Any, Any], Step | None]
    noun: str = "register"  # for explanations: "the register held 5"


def is_pure(step: Step) -> bool:
    """A step that never changes the state it is valid in: a read, or a cas [a a]. The
    search may linearize such a step as soon as it is valid (see checkers.search)."""
    kind, a, b = step
    return kind == READ or (kind == CAS and a == b)


def _pair(v: Any) -> tuple[Any, Any]:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return freeze(v[0]), freeze(v[1])
    raise ModelError(f"a cas value must be [old new], got {v!r}")


def _register(cas: bool) -> Callable[[str, Any, Any], Step | None]:
    def prepare(f: str, invoke_value: Any, ok_value: Any) -> Step | None:
        if f == "read":
            return READ, freeze(ok_value), None
        # Knossos takes an ok op's value from its completion; a client that echoes nothing
        # on ok (value None) meant the value it was asked to write.
        v = invoke_value if ok_value is None else ok_value
        if f == "write":
            return WRITE, freeze(v), None
        if f == "cas" and cas:
            old, new = _pair(v)
            return CAS, old, new
        raise ModelError(f"unknown f {f!r}")
    return prepare


def _kv_prepare(f: str, invoke_value: Any, ok_value: Any) -> Step | None:
    if f == "get":
        return READ, freeze(ok_value), None
    v = invoke_value if ok_value is None else ok_value
    if not isinstance(v, str):
        raise ModelError(f"kv {f} needs a string value, got {v!r}")
    if f == "put":
        return WRITE, v, None
    if f == "append":
        return (APPEND, v, None) if v else None  # appending "" changes and shows nothing
    raise ModelError(f"unknown f {f!r}")


MODELS: dict[str, Model] = {
    m.name: m for m in (
        Model("register", None, ("read", "write"), _register(cas=False)),
        Model("cas-register", None, ("read", "write", "cas"), _register(cas=True)),
        Model("kv", "", ("get", "put", "append"), _kv_prepare, noun="key"),
    )
}


def get_model(name: str) -> Model:
    """The model called ``name``; ConfigError listing the known ones otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: "
                          f"{', '.join(sorted(MODELS))}") from None
