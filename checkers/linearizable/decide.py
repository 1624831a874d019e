"""Deciding one key: the zone checker when the model and the values allow, else the search.

    v = decide(columns(kh, m), m, init, deadline)
    v.valid, v.method       # True, "zones"
    v.zone / v.outcome      # what a False rests on (checkers.linearizable.explain reads it)

This is the only decider: the checker and the explainer (for each cut and each candidate
witness) both call it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checkers.linearizable.index import Columns, to_entries
from checkers.linearizable.models import Model
from checkers.linearizable.search import Entry, Outcome, search
from checkers.linearizable.zones import ZoneOutcome, zones

__all__ = ["Verdict", "decide"]


@dataclass
class Verdict:
    """What deciding a key's Columns found: ``valid``, the ``method`` that decided it, and
    the zone conflict or search outcome behind a False. ``entries`` are the Columns as
    search entries (the ones the search ran on, whose indices ``zone`` and ``outcome``
    name), built on first use."""

    valid: bool
    method: str
    cols: Columns
    zone: ZoneOutcome | None = None
    outcome: Outcome | None = None
    _entries: list[Entry] | None = None

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = to_entries(self.cols)
        return self._entries


def decide(cols: Columns, m: Model, init: Any, deadline: float | None) -> Verdict:
    """Zones when the model has unique writes and the values are unique, else the search
    (which may raise SearchTimeout once ``time.monotonic()`` passes ``deadline``)."""
    if m.unique_writes:
        rets, calls, kinds, arg_a, arg_b = cols
        z = zones(rets, calls, list(kinds), arg_a, arg_b, init)  # zones may change kinds
        if z is not None:
            return Verdict(z.valid, "zones", cols, zone=z)
    entries = to_entries(cols)
    out = search(entries, init, deadline, canon=_canon(m))
    return Verdict(out.valid, "search", cols, outcome=out, _entries=entries)


def _canon(m: Model) -> Callable[[Any], Any] | None:
    """For a model with a custom ``equal``: each state to the first equal one seen."""
    if m.equal is None:
        return None
    seen: list[Any] = []
    equal = m.equal

    def canon(state: Any) -> Any:
        for s in seen:
            if equal(s, state):
                return s
        seen.append(state)
        return state
    return canon
