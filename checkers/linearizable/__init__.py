"""Linearizability of a history, key by key (P-compositionality), with explanations.

    check_history(ops, model="cas-register", timeout=10)
    -> {"valid": False, "model": "cas-register", "seconds": 0.012, "error": None,
        "explain_seconds": 0.008,
        "keys": {"3": {"valid": False, "op_count": 41, "prefix_ops": 17, "method": "zones",
                       "explanation": "read of key 3 returned 4 at 12.031 s, but write of 5
                                       had completed at 11.902 s, ...",
                       "ops": [{...}, ...],       # the minimal witness, as op dicts
                       "witness": [118, 120, 131], "explain_seconds": 0.008},
                 "4": {"valid": True, "op_count": 40, "prefix_ops": 40, "method": "zones",
                       "explanation": None, "ops": None}}}

The results are typed (checkers.linearizable.result: HistoryResult, KeyResult). Every key
that is not valid carries ``witness``, the op indices of its witness's invocations.

How the history is read (Jepsen's and Knossos's rules):
  - nemesis ops (process "nemesis") are ignored;
  - an invocation is paired with the next completion of its process (THE pairing,
    harness.history.pair_positions);
  - ``fail`` means the op never happened: both halves are dropped;
  - ``info``, or no completion at all, means the op may take effect at any point after its
    invocation, or never (its return is at +infinity); a crashed read observed nothing and is
    dropped;
  - ``ok`` ops take effect between invocation and completion; an ok read of None observed
    nil (it is not a wildcard).
Ops are split by the model's ``partition`` (``key`` by default; ops whose key is None form
one key, reported as "None"; two keys that print alike, 1 and "1", are reported by repr).
``op_count`` counts a key's invocations, failed ones included.

How a key is decided: a register or cas-register key whose written values are unique goes
to the zone checker (zones, O(n log n)); anything else to the search (search). ``method``
says which. A non-linearizable key is explained (explain): the longest linearizable prefix
(``prefix_ops``: the key's ops invoked before the first op that cannot be linearized), a
minimal failing sub-history (``ops``; ``witness``: its invocations' indices) and a sentence
(``explanation``). The first EXPLAIN_KEYS invalid keys get all of that within
EXPLAIN_SECONDS each (EXPLAIN_TOTAL in all); the others get the sentence, the ops it names
and those as ``witness``. ``explain_seconds`` is the time spent explaining, ``seconds``
everything.

Verdicts merge false > unknown > true over keys (harness.verdicts.merge_valid); a history
with no client op is linearizable (the empty order explains it). A ``timeout``
(seconds, for the whole history) turns undecided keys into "unknown", with what was
learned: the keys decided, and for a key whose search ran out of time the prefix it had
linearized. A key whose check fails unexpectedly is "unknown" with the reason; a malformed
history (pairing, a cas value that is not a pair) raises HistoryFormatError.

The room, bottom up (each module imports only those above it, and the model: harness.history,
harness.errors, harness.verdicts):
    models    sequential specifications (Model records) and step kinds
    search    Wing & Gong / Lowe search over Entry records
    zones     the O(n log n) zone check for registers with unique writes
    index     per-key histories (THE pairing's positions grouped by key) and THE entry builder
    decide    THE decider: zones, else search
    result    the typed results
    explain   prefix, minimal witness, sentence
    checker   check_history, check_key, LinearizableChecker (two processes when big:
              checkers.forked)
This file only re-exports the public face.
"""
from __future__ import annotations

from checkers.linearizable.checker import UNSET, LinearizableChecker, check_history, check_key
from checkers.linearizable.decide import Verdict, decide
from checkers.linearizable.index import KeyHistory, columns, index_history
from checkers.linearizable.models import MODELS, Model, define_model, get_model
from checkers.linearizable.result import FileResult, HistoryResult, KeyResult

__all__ = ["MODELS", "UNSET", "FileResult", "HistoryResult", "KeyHistory", "KeyResult",
           "LinearizableChecker", "Model", "Verdict", "check_history", "check_key", "columns",
           "decide", "define_model", "get_model", "index_history"]
