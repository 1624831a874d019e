"""Sequential specifications for the linearizability checker: one record of functions each.

A model is a record, as in Porcupine: a name, an initial state and a ``step`` function, with
the rest filled in by ``define_model`` (the one place where defaults live):

    step(state, f, value, out) -> the state after the op, or INVALID
        ``value`` is the invocation's value, ``out`` the ok completion's value, or UNKNOWN
        for a crashed op (info, or never completed: its output was never seen)
    equal(a, b)            are two states the same (default ``==``; see below)
    describe_op(f, value, out) -> "cas from 3 to 4";  describe_state(state) -> "4"
    partition(op)          the object an op acts on (default ``op.key``, flagged by
                           ``by_key``: the checker reads the key inline); the checker checks
                           each object apart (P-compositionality); None: one object for all
    pure(f, value, out)    the op never changes the state (a read); a crashed pure op
                           observed nothing and is dropped, a completed one is linearized as
                           soon as it is valid
    compile(f, value, out) optional fast path: the op as a *step* ``(kind, a, b)`` of a
                           register-like kind the search runs without calls (see below)

States must be hashable (the search keeps them in hash tables), so ``step`` returns canonical
values: tuples, frozensets. ``equal`` exists for the odd model whose states have several
representations that compare equal; with a custom ``equal`` the search canonicalises every
state it meets by a scan of those seen so far (slower).

Step kinds (``compile``'s vocabulary; ``checkers.linearizable.search.apply_step`` is their meaning):

    READ    valid iff state == a; state unchanged          {"f": "read", "value": 4} (ok)
    WRITE   state := a                                     {"f": "write", "value": 4}
    CAS     valid iff state == a; state := b               {"f": "cas", "value": [4, 5]}
    APPEND  state := state + a                             {"f": "append", "value": "x 0 1 y"}
    FN      a(state) -> new state or INVALID; b: pure      any other model (``step`` bound)

The models shipped (``MODELS``):

    register      read, write                     initial nil
    cas-register  read, write, cas [old new]      initial nil
    mutex         acquire, release                initial unlocked (a cas-register of
                                                  false/true underneath)
    set           add x, read -> [elements]       initial #{}
    fifo-queue    enqueue x, dequeue -> x         initial empty; a dequeue that returns nil
                                                  saw the queue empty
    kv            get, put, append on strings     initial "" (Porcupine's kv model)

A read that returned None observed nil: it is not a wildcard (Knossos treats it as one; we do
not). To add a model, call ``define_model`` and put it in ``MODELS`` (or pass the Model
object itself wherever a model name is accepted):

    def step(state, f, value, out):          # a counter that only grows
        if f == "add":
            return state + value
        return state if out is UNKNOWN or out == state else INVALID
    COUNTER = define_model("counter", init=0, fs=("add", "read"), step=step,
                           pure=lambda f, value, out: f == "read")
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from checkers.values import FrozenMap, Keyword, Symbol, Typed
from harness.errors import ConfigError

__all__ = ["APPEND", "CAS", "FN", "INVALID", "MODELS", "READ", "UNKNOWN", "WRITE", "Model",
           "ModelError", "define_model", "freeze", "get_model", "is_pure"]

READ, WRITE, CAS, APPEND, FN = 0, 1, 2, 3, 4
Step = tuple[int, Any, Any]


class _Token:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


INVALID: Any = _Token("INVALID")  # step's answer to an op the state does not allow
UNKNOWN: Any = _Token("UNKNOWN")  # the output of a crashed op, which nobody saw


class ModelError(ValueError):
    """An op the model cannot interpret (unknown f, a cas value that is not [old new])."""


def freeze(v: Any) -> Any:
    """A hashable copy whose ``==`` is Knossos's (Clojure ``=``) and JSON's: lists and
    tuples -> tuples, maps -> FrozenMap, sets -> frozensets, and every scalar but an int,
    a str, None, an EDN Keyword or Symbol -> Typed, which equals only a value of its own
    type (``true != 1``, ``1.0 != 1``; see checkers.values). ints and strs pass untouched:
    the common case costs one type test."""
    t = type(v)
    if t is int or t is str or v is None or t in _EXACT:
        return v
    if t is list or t is tuple:
        return tuple([freeze(x) for x in v])
    if t is bool or t is float:
        return Typed(v)
    if isinstance(v, dict):
        return FrozenMap(frozenset([(freeze(k), freeze(x)) for k, x in v.items()]))
    if isinstance(v, (set, frozenset)):
        return frozenset([freeze(x) for x in v])
    if isinstance(v, (list, tuple)):
        return tuple([freeze(x) for x in v])
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)  # an int subclass (an IntEnum) is its number
    if isinstance(v, str):
        return str(v)  # a str subclass is its text
    try:
        hash(v)
    except TypeError:
        return Typed(repr(v))  # something exotic: compare it by its printed form
    return Typed(v)


_EXACT = frozenset((Keyword, Symbol, Typed, FrozenMap, _Token))  # _Token: UNKNOWN, INVALID


def show(v: Any, limit: int = 80) -> str:
    """A value as Jepsen prints it (nil, [3 0], #{1 2}), cut in the middle past ``limit``."""
    if type(v) is Typed:
        v = v.value
    if v is None:
        s = "nil"
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, (list, tuple)):
        s = "[" + " ".join(show(x) for x in v) + "]"
    elif isinstance(v, frozenset):
        s = "#{" + " ".join(sorted(show(x) for x in v)) + "}"
    elif isinstance(v, FrozenMap):
        s = "{" + ", ".join(sorted(f"{show(k)} {show(x)}" for k, x in v.items)) + "}"
    elif isinstance(v, dict):
        s = "{" + ", ".join(f"{show(k)} {show(x)}" for k, x in v.items()) + "}"
    else:
        s = repr(v) if isinstance(v, str) else str(v)
    if len(s) > limit:
        s = f"{s[:limit // 2 - 2]}...{s[-(limit // 2 - 2):]} ({len(s)} chars)"
    return s


@dataclass(frozen=True)
class Model:
    """A sequential specification; build one with ``define_model`` (it fills the defaults)."""

    name: str
    init: Any
    fs: tuple[str, ...]
    step: Callable[[Any, str, Any, Any], Any]
    equal: Callable[[Any, Any], bool] | None
    describe_op: Callable[[str, Any, Any], str]
    describe_state: Callable[[Any], str]
    partition: Callable[[Any], Any] | None
    pure: Callable[[str, Any, Any], bool]
    compile: Callable[[str, Any, Any], Step | None] | None
    noun: str = "object"  # for explanations: "the register held 5"
    unique_writes: bool = False  # may use zone checking when written values are unique
    # f -> READ/WRITE/CAS for a plain register: lets the checker build steps inline (the
    # same steps ``compile`` makes; a property test holds them equal).
    register_kinds: dict[str, int] | None = None
    # True when ``partition`` is the default (``op.key``): the checker then reads the key
    # without calling ``partition`` (an explicit flag, not a guess from the function).
    by_key: bool = False

    def prepare(self, f: str, value: Any, out: Any) -> Step | None:
        """The op as a search step (``out`` UNKNOWN for a crashed op), or None for an op that
        changes nothing and observes nothing. Raises ModelError when it cannot."""
        if f not in self.fs:
            raise ModelError(f"unknown f {f!r}")
        if self.compile is not None:
            return self.compile(f, value, out)
        return FN, partial(_bound_step, self.step, f, freeze(value), freeze(out)), \
            bool(out is not UNKNOWN and self.pure(f, value, out))


def _bound_step(step: Callable[[Any, str, Any, Any], Any], f: str, value: Any, out: Any,
                state: Any) -> Any:
    return step(state, f, value, out)


def define_model(name: str, *, init: Any, fs: tuple[str, ...] | list[str],
                 step: Callable[[Any, str, Any, Any], Any],
                 equal: Callable[[Any, Any], bool] | None = None,
                 describe_op: Callable[[str, Any, Any], str] | None = None,
                 describe_state: Callable[[Any], str] | None = None,
                 partition: Callable[[Any], Any] | None | str = "key",
                 pure: Callable[[str, Any, Any], bool] | None = None,
                 compile: Callable[[str, Any, Any], Step | None] | None = None,
                 noun: str = "object", unique_writes: bool = False,
                 register_kinds: dict[str, int] | None = None) -> Model:
    """A Model with every default filled in (this is the only place defaults live)."""
    by_key = partition == "key"
    part = _by_key if isinstance(partition, str) else partition
    if isinstance(partition, str) and not by_key:
        raise ConfigError(f"model {name!r}: partition must be a function, None or \"key\", "
                          f"got {partition!r}")
    return Model(
        name=name, init=freeze(init), fs=tuple(fs), step=step, equal=equal,
        describe_op=describe_op or _describe_op,
        describe_state=describe_state or show,
        partition=part,
        pure=pure or (lambda f, value, out: False),
        compile=compile, noun=noun, unique_writes=unique_writes,
        register_kinds=register_kinds, by_key=by_key)


def _by_key(op: Any) -> Any:
    return op.key


def _describe_op(f: str, value: Any, out: Any) -> str:
    if out is not UNKNOWN and out is not None and out != value:
        return f"{f} of {show(value)} -> {show(out)}" if value is not None \
            else f"{f} -> {show(out)}"
    return f"{f} of {show(value)}" if value is not None else f


def is_pure(step: Step) -> bool:
    """A step that never changes the state it is valid in: a read, a cas [a a], or a
    model's pure op. The search may linearize such a step as soon as it is valid."""
    kind, a, b = step
    return kind == READ or (kind == CAS and a == b) or (kind == FN and bool(b))


def apply_kind(state: Any, step: Step) -> Any:
    """The state after ``step`` (of any kind), or INVALID."""
    kind, a, b = step
    if kind == READ:
        return state if state == a else INVALID
    if kind == WRITE:
        return a
    if kind == CAS:
        return b if state == a else INVALID
    if kind == APPEND:
        return state + a
    if kind == FN:
        return a(state)
    raise ValueError(f"unknown step kind {kind}")


# --- registers ------------------------------------------------------------------------------

def _pair(v: Any) -> tuple[Any, Any]:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return freeze(v[0]), freeze(v[1])
    raise ModelError(f"a cas value must be [old new], got {_short(v)}")


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _written(value: Any, out: Any) -> Any:
    # Knossos takes an ok op's value from its completion; a client that echoes nothing on ok
    # (value None) meant the value it was asked to write.
    return value if out is None or out is UNKNOWN else out


def _register_compile(cas: bool) -> Callable[[str, Any, Any], Step | None]:
    def compile_(f: str, value: Any, out: Any) -> Step | None:
        if f == "read":
            return (READ, freeze(out), None) if out is not UNKNOWN else (READ, UNKNOWN, None)
        v = _written(value, out)
        if f == "write":
            return WRITE, freeze(v), None
        if f == "cas" and cas:
            old, new = _pair(v)
            return CAS, old, new
        raise ModelError(f"unknown f {f!r}")
    return compile_


def _register_step(state: Any, f: str, value: Any, out: Any) -> Any:
    if f == "read":
        return state if out is UNKNOWN or freeze(out) == state else INVALID
    v = freeze(_written(value, out))
    if f == "write":
        return v
    old, new = _pair(v)
    return new if state == old else INVALID


def _register_describe(f: str, value: Any, out: Any) -> str:
    if f == "read":
        return "read" if out is UNKNOWN else f"read of {show(out)}"
    v = _written(value, out)
    if f == "cas" and isinstance(v, (list, tuple)) and len(v) == 2:
        return f"cas from {show(v[0])} to {show(v[1])}"
    return f"{f} of {show(v)}"


def _reads(f: str, value: Any, out: Any) -> bool:
    return f in ("read", "get")


REGISTER = define_model("register", init=None, fs=("read", "write"), step=_register_step,
                        describe_op=_register_describe, pure=_reads,
                        compile=_register_compile(cas=False), noun="register",
                        unique_writes=True, register_kinds={"read": READ, "write": WRITE})
CAS_REGISTER = define_model("cas-register", init=None, fs=("read", "write", "cas"),
                            step=_register_step, describe_op=_register_describe,
                            pure=_reads,
                            compile=_register_compile(cas=True), noun="register",
                            unique_writes=True,
                            register_kinds={"read": READ, "write": WRITE, "cas": CAS})


# --- mutex ----------------------------------------------------------------------------------

_LOCKED, _UNLOCKED = freeze(True), freeze(False)  # the states as freeze makes them


def _mutex_step(state: Any, f: str, value: Any, out: Any) -> Any:
    if f == "acquire":
        return INVALID if state else _LOCKED
    return _UNLOCKED if state else INVALID


def _mutex_compile(f: str, value: Any, out: Any) -> Step:
    # A mutex is a register of false/true: acquire is cas false -> true, release the reverse.
    # Same states, same validity, so the register machinery (and its pruning) applies.
    return (CAS, _UNLOCKED, _LOCKED) if f == "acquire" else (CAS, _LOCKED, _UNLOCKED)


MUTEX = define_model("mutex", init=False, fs=("acquire", "release"), step=_mutex_step,
                     describe_op=lambda f, value, out: f, compile=_mutex_compile,
                     describe_state=lambda s: "locked" if s else "unlocked", noun="lock")


# --- set ------------------------------------------------------------------------------------

def _set_step(state: Any, f: str, value: Any, out: Any) -> Any:
    if f == "add":
        return state | {value}
    if out is UNKNOWN:
        return state
    got = frozenset(out) if isinstance(out, (tuple, frozenset)) else out
    return state if got == state else INVALID


SET = define_model("set", init=frozenset(), fs=("add", "read"), step=_set_step,
                   pure=lambda f, value, out: f == "read", noun="set")


# --- fifo queue -----------------------------------------------------------------------------

def _queue_step(state: Any, f: str, value: Any, out: Any) -> Any:
    if f == "enqueue":
        return state + (value,)
    if out is UNKNOWN:  # a crashed dequeue took the head, if there was one
        return state[1:]
    if out is None:  # a dequeue that found the queue empty
        return state if not state else INVALID
    return state[1:] if state and state[0] == out else INVALID


FIFO_QUEUE = define_model("fifo-queue", init=(), fs=("enqueue", "dequeue"), step=_queue_step,
                          pure=lambda f, value, out: f == "dequeue" and out is None,
                          describe_op=lambda f, value, out: (
                              f"enqueue of {show(value)}" if f == "enqueue"
                              else "dequeue" if out is UNKNOWN else f"dequeue -> {show(out)}"),
                          noun="queue")


# --- kv (Porcupine's) -----------------------------------------------------------------------

def _kv_compile(f: str, value: Any, out: Any) -> Step | None:
    if f == "get":
        return (READ, freeze(out), None) if out is not UNKNOWN else (READ, UNKNOWN, None)
    v = _written(value, out)
    if not isinstance(v, str):
        raise ModelError(f"kv {f} needs a string value, got {_short(v)}")
    if f == "put":
        return WRITE, v, None
    return (APPEND, v, None) if v else None  # appending "" changes and shows nothing


def _kv_step(state: Any, f: str, value: Any, out: Any) -> Any:
    step = _kv_compile(f, value, out)
    if step is None:
        return state
    if step[0] == READ and step[1] is UNKNOWN:
        return state
    return apply_kind(state, step)


KV = define_model("kv", init="", fs=("get", "put", "append"), step=_kv_step,
                  pure=_reads, compile=_kv_compile, noun="key",
                  describe_op=lambda f, value, out: (
                      "get" if out is UNKNOWN else f"get of {show(out)}") if f == "get"
                  else f"{f} of {show(_written(value, out))}")


MODELS: dict[str, Model] = {m.name: m for m in (REGISTER, CAS_REGISTER, MUTEX, SET,
                                                 FIFO_QUEUE, KV)}


def get_model(name: str | Model) -> Model:
    """The model called ``name`` (or ``name`` itself if it is a Model); ConfigError listing
    the known ones otherwise."""
    if isinstance(name, Model):
        return name
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: "
                          f"{', '.join(sorted(MODELS))}") from None
