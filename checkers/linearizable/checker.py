"""Checking a whole history key by key: ``check_history`` and the ``linearizable`` plugin.

Keys are indexed (checkers.linearizable.index), decided (checkers.linearizable.decide) and,
when not linearizable, explained (checkers.linearizable.explain); results are
checkers.linearizable.result's typed dicts. See the package docstring for the rules.

Verdicts merge over keys with harness.verdicts.merge_valid (false > unknown > true). A
history with no client op is linearizable (True): the empty order explains it, as Knossos
and Porcupine say too. That is a proof over zero ops, not a merge of zero verdicts (which
would be "unknown"); a run that recorded no client op is made "unknown" by the run's stats
checker ("no client op completed"), not here. Keys are checked smallest first so a timeout
leaves as few undecided as it can; they are reported in history order. Big histories are
checked by two processes (fork), each taking half the keys by op count.
"""
from __future__ import annotations

import gc
import logging
import time
import traceback
from typing import Any

from checkers.forked import can_fork, in_two
from checkers.linearizable.decide import decide
from checkers.linearizable.explain import explain_key, timed_out
from checkers.linearizable.index import KeyHistory, columns, index_history, key_names
from checkers.linearizable.models import Model, freeze, get_model
from checkers.linearizable.result import HistoryResult, KeyResult, key_result
from checkers.linearizable.search import SearchTimeout
from harness.errors import ConfigError, HistoryFormatError
from harness.history import Op
from harness.verdicts import merge_valid

__all__ = ["UNSET", "LinearizableChecker", "check_history", "check_key"]

log = logging.getLogger("splitbrain.checkers")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # ``initial`` not given: the model's own
PARALLEL_MIN_OPS = 60_000  # events; below this a second process costs more than it saves
EXPLAIN_KEYS = 20          # keys explained in full (witness, prefix); the rest get a sentence
EXPLAIN_SECONDS = 2.0      # at most this long on one key's explanation
EXPLAIN_TOTAL = 10.0       # and on all of them (per process)


def check_history(ops: list[Op], model: str | Model = "cas-register",
                  timeout: float | None = None, initial: Any = UNSET, *,
                  source: str = "history", workers: int | None = None) -> HistoryResult:
    """Check every key of ``ops``; see the package docstring for the result. ``initial``
    overrides the model's initial state; ``source`` names the history in errors;
    ``workers`` caps the processes (None: 2 for a big history on a machine with 2 cores)."""
    t0 = time.monotonic()
    m = get_model(model)
    init = m.init if initial is UNSET else freeze(initial)
    deadline = None if timeout is None else t0 + timeout
    # The checker allocates millions of small objects and frees none until it is done; the
    # cyclic GC would walk them again and again (a third of the time on big histories).
    gc_was = gc.isenabled()
    gc.disable()
    try:
        by_key = index_history(ops, m, source)
        names = key_names(list(by_key))
        order = sorted(by_key, key=lambda k: len(by_key[k]))
        n_workers = _workers(workers, len(ops), len(by_key))
        if n_workers > 1:
            results = _check_parallel(by_key, order, m, init, deadline, source)
        else:
            results = _check_keys(by_key, order, m, init, deadline, source)
    finally:
        if gc_was:
            gc.enable()
    keys = {names[k]: results[k] for k in by_key}
    undecided = [n for n, r in keys.items() if r["valid"] == "unknown"]
    # No key: the empty history, linearizable by the empty order (see the module docstring).
    valid = merge_valid([k["valid"] for k in keys.values()]) if keys else True
    error = None
    if undecided:
        decided = [k for k in keys if k not in undecided]
        why = (f"timed out after {timeout:g} s" if timeout is not None
               and time.monotonic() >= (deadline or 0) else "some keys could not be checked")
        error = (f"{why}; decided {len(decided)} of {len(keys)} keys"
                 + (f" ({_names(decided)})" if decided else ""))
    explained = sum(r.get("explain_seconds", 0.0) for r in keys.values())
    return HistoryResult(valid=valid, model=m.name, seconds=time.monotonic() - t0, keys=keys,
                         error=error, explain_seconds=explained)


class LinearizableChecker:
    """The ``linearizable`` checker plugin: ``check(test, ops)`` is ``check_history``.
    ``initial`` as in check_history (omitted: the model's)."""

    def __init__(self, model: str | Model = "cas-register", timeout: float | None = None,
                 initial: Any = UNSET):
        get_model(model)  # fail at construction, not after the run
        self.model, self.timeout, self.initial = model, timeout, initial

    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        """check_history's HistoryResult, as the Checker protocol's plain dict."""
        return dict(check_history(ops, model=self.model, timeout=self.timeout,
                                  initial=self.initial))


def check_key(kh: KeyHistory, m: Model, init: Any, deadline: float | None, source: str,
              explain_budget: float | None) -> KeyResult:
    """One key's result. ``explain_budget``: seconds for a full explanation (None: only a
    sentence and the ops it names)."""
    n = len(kh)
    try:
        t0 = time.monotonic()
        try:
            v = decide(columns(kh, m, source), m, init, deadline)
        except SearchTimeout as e:
            return timed_out(kh, e)
        if v.valid:
            return key_result(True, n, method=v.method, prefix_ops=n)
        t1 = time.monotonic()
        res = explain_key(kh, m, init, v, deadline, explain_budget, source, t1 - t0)
        res["explain_seconds"] = time.monotonic() - t1
        return res
    except (HistoryFormatError, ConfigError):
        raise
    except Exception as e:  # a checker bug must not sink the other keys
        log.error("checking a key failed: %s", traceback.format_exc())
        return key_result("unknown", n, f"the checker failed on this key: "
                                        f"{type(e).__name__}: {e}")


def _check_keys(by_key: dict[Any, KeyHistory], order: list[Any], m: Model, init: Any,
                deadline: float | None, source: str) -> dict[Any, KeyResult]:
    results: dict[Any, KeyResult] = {}
    explained = 0
    spent = 0.0
    for key in order:
        kh = by_key[key]
        if deadline is not None and time.monotonic() > deadline:
            results[key] = key_result("unknown", len(kh), "not checked: out of time")
            continue
        budget = (min(EXPLAIN_SECONDS, EXPLAIN_TOTAL - spent)
                  if explained < EXPLAIN_KEYS and spent < EXPLAIN_TOTAL else None)
        r = check_key(kh, m, init, deadline, source, budget)
        if r["valid"] is False:
            explained += 1
            spent += r.get("explain_seconds", 0.0)
        results[key] = r
    return results


# --- two processes --------------------------------------------------------------------------

def _workers(asked: int | None, n_ops: int, n_keys: int) -> int:
    if asked is not None:
        return max(1, min(asked, 2, n_keys))
    if n_ops < PARALLEL_MIN_OPS or n_keys < 2:
        return 1
    if not can_fork():  # several cores, and one thread (see checkers.forked)
        return 1
    return 2


def _check_parallel(by_key: dict[Any, KeyHistory], order: list[Any], m: Model, init: Any,
                    deadline: float | None, source: str) -> dict[Any, KeyResult]:
    """Half the keys (by op count) in a forked child, half here (checkers.forked: the
    child inherits the history and sends back plain result dicts; if it dies, its keys are
    checked here)."""
    halves: list[list[Any]] = [[], []]
    load = [0, 0]
    for key in sorted(order, key=lambda k: -len(by_key[k])):
        i = 0 if load[0] <= load[1] else 1
        halves[i].append(key)
        load[i] += len(by_key[key])
    mine = [k for k in order if k in set(halves[0])]
    theirs = [k for k in order if k in set(halves[1])]
    results, rest = in_two(
        lambda: _check_keys(by_key, mine, m, init, deadline, source),
        lambda: _check_keys(by_key, theirs, m, init, deadline, source),
        died="the checker's second process died; checking its keys here")
    results.update(rest)
    return results


def _names(keys: list[str], limit: int = 10) -> str:
    more = f", ... {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
