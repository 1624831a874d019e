"""``splitbrain check``'s engine: read one history file and check its linearizability.

    check_file("store/register/latest")            # a run directory: its history.jsonl
    check_file("etcd_000.log", fmt="jepsen-log")
    check_file("h.edn", model="register", initial=0)
    -> {"path": "etcd_000.log", "format": "jepsen-log", "valid": False,
        "model": "cas-register", "op_count": 170, "read_seconds": 0.004, "seconds": 0.02,
        "keys": {"None": {"valid": False, ...}}, "error": None}
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from checkers.formats import load, resolve_path, sniff
from checkers.linearizable import UNSET, FileResult, check_history
from checkers.linearizable.models import get_model

__all__ = ["check_file"]


def check_file(path: str | Path, *, model: str = "cas-register", independent: bool = False,
               fmt: str = "auto", timeout: float | None = None,
               initial: Any = UNSET) -> FileResult:
    """Check the history at ``path`` (a file, or a run directory holding history.jsonl).

    ``seconds`` is the time spent checking only; reading and parsing the file is
    ``read_seconds``. ``timeout`` bounds the checking (not the reading), after which
    undecided keys are "unknown". ``initial`` is every key's initial state (omitted: the
    model's, nil for registers). Raises ConfigError for an unknown model and
    HistoryFormatError for a malformed file (naming file and line).
    """
    get_model(model)  # an unknown model is the user's mistake: say so before reading
    p = resolve_path(path)
    t0 = time.monotonic()
    used = sniff(p) if fmt == "auto" else fmt
    ops = load(p, fmt=used, independent=independent)
    read_seconds = time.monotonic() - t0
    res = check_history(ops, model=model, timeout=timeout, initial=initial, source=str(p))
    return FileResult(path=str(path), format=used, valid=res["valid"], model=res["model"],
                      op_count=len(ops), read_seconds=read_seconds, seconds=res["seconds"],
                      explain_seconds=res["explain_seconds"], keys=res["keys"],
                      error=res["error"])
