"""The linearizability checker's results, as typed dicts (they go to results.json as they are).

    KeyResult          one key: {"valid": False, "op_count": 41, "method": "zones",
                       "prefix_ops": 17, "explanation": "read of key 3 returned 4 at ...",
                       "ops": [{...}, ...], "witness": [118, 120, 131],
                       "explain_seconds": 0.008}
    HistoryResult      check_history's: {"valid", "model", "seconds", "keys": {name:
                       KeyResult}, "error", "explain_seconds"}
    FileResult         checkers.check.check_file's: HistoryResult's fields with "path",
                       "format", "op_count", "read_seconds"

A KeyResult that is not valid (False) always has ``witness``: the op indices (``Op.index``)
of the invocations of its witness, sorted; the report reads it and never the sentence.
"""
from __future__ import annotations

from typing import Any, TypedDict

from harness.verdicts import Valid

__all__ = ["FileResult", "HistoryResult", "KeyResult", "key_result"]


class _KeyFields(TypedDict):
    valid: Valid
    op_count: int               # the key's invocations, failed ones included
    explanation: str | None     # the sentence (None for a valid key)
    ops: list[dict[str, Any]] | None  # op dicts of the witness; "relaxed": true on the ops
    #                             the sentence names outside it (invocation only)
    prefix_ops: int | None      # ops invoked before the first that cannot be linearized
    method: str | None          # "zones" | "search" (None: not decided)


class KeyResult(_KeyFields, total=False):
    witness: list[int]          # always set when valid is False: invocation op indices
    explain_seconds: float      # time spent explaining (invalid keys)


class HistoryResult(TypedDict):
    valid: Valid
    model: str
    seconds: float
    keys: dict[str, KeyResult]
    error: str | None
    explain_seconds: float


class _FileFields(TypedDict):
    path: str
    format: str
    valid: Valid
    model: str
    op_count: int
    read_seconds: float
    seconds: float
    explain_seconds: float
    keys: dict[str, KeyResult]
    error: str | None


class FileResult(_FileFields, total=False):
    bad_input: bool             # True: the file could not be read or checked (error says why)


def key_result(valid: Valid, op_count: int, explanation: str | None = None,
               ops: list[dict[str, Any]] | None = None, *, method: str | None = None,
               prefix_ops: int | None = None, witness: list[int] | None = None) -> KeyResult:
    """A KeyResult; ``witness`` is required when ``valid`` is False."""
    r = KeyResult(valid=valid, op_count=op_count, explanation=explanation, ops=ops,
                  prefix_ops=prefix_ops, method=method)
    if valid is False:
        if not witness:
            raise ValueError("an invalid key needs a witness")
        r["witness"] = witness
    return r
