"""``splitbrain check``'s engine: read history files and check their linearizability.

    check_file("store/register/latest")            # a run directory: its history.jsonl
    check_file("etcd_000.log", fmt="jepsen-log")
    check_file("h.edn", model="register", initial=0)
    -> {"path": "etcd_000.log", "format": "jepsen-log", "valid": False,
        "model": "cas-register", "op_count": 170, "read_seconds": 0.004, "seconds": 0.02,
        "keys": {"None": {"valid": False, ...}}, "error": None}

    for res in check_paths(["a.jsonl", "broken.edn", "b.log"], model="register"):
        ...                      # one FileResult per path, in order; a bad file is its own
                                 # result (valid "unknown", error set), never the command's

Errors: a bad *argument* (an unknown model or format, a path that does not exist, a
directory without a history) is a ConfigError raised before any file is read; a bad *file*
(malformed, too big, not a regular file, an f the model does not know) is a
HistoryFormatError or ConfigError from ``check_file``, which ``check_paths`` turns into
that file's result.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from checkers.formats import FORMATS, load, resolve_path, sniff
from checkers.linearizable import UNSET, FileResult, check_history
from checkers.linearizable.models import get_model
from harness.errors import ConfigError, SplitbrainError

__all__ = ["check_file", "check_paths", "error_result"]


def check_file(path: str | Path, *, model: str = "cas-register", independent: bool = False,
               fmt: str = "auto", timeout: float | None = None,
               initial: Any = UNSET) -> FileResult:
    """Check the history at ``path`` (a file, or a run directory holding history.jsonl).

    ``seconds`` is the time spent checking only; reading and parsing the file is
    ``read_seconds``. ``timeout`` bounds the checking (not the reading), after which
    undecided keys are "unknown". ``initial`` is every key's initial state (omitted: the
    model's, nil for registers). Raises ConfigError for an unknown model or format, a
    directory without a history, or an f the model does not know, and HistoryFormatError
    for a malformed file (naming file and line) or a ``fmt`` its content contradicts.
    """
    _check_arguments(model, fmt)
    p = resolve_path(path)
    t0 = time.monotonic()
    used = sniff(p) if fmt == "auto" else fmt
    ops = load(p, fmt=fmt, independent=independent)
    read_seconds = time.monotonic() - t0
    res = check_history(ops, model=model, timeout=timeout, initial=initial, source=str(p))
    return FileResult(path=str(path), format=used, valid=res["valid"], model=res["model"],
                      op_count=len(ops), read_seconds=read_seconds, seconds=res["seconds"],
                      explain_seconds=res["explain_seconds"], keys=res["keys"],
                      error=res["error"])


def check_paths(paths: Iterable[str | Path], *, model: str = "cas-register",
                independent: bool = False, fmt: str = "auto", timeout: float | None = None,
                initial: Any = UNSET) -> Iterator[FileResult]:
    """``check_file`` for each path, lazily, in order. The arguments are checked at the
    call, before any file is read: an unknown model or format, a path that does not exist
    or a directory without a history.jsonl raises ConfigError here. Then a file that
    cannot be checked (malformed, too big, not a regular file, an f the model does not
    know) yields ``error_result``: valid "unknown", ``error`` the one-line reason."""
    _check_arguments(model, fmt)
    paths = list(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise ConfigError(f"no such file or directory: {', '.join(missing)}")
    for p in paths:
        if Path(p).is_dir() and not (Path(p) / "history.jsonl").exists():
            raise ConfigError(f"{p} is a directory without a history.jsonl; give a run "
                              "directory or a history file")
    return _each(paths, model, independent, fmt, timeout, initial)


def _each(paths: list[str | Path], model: str, independent: bool, fmt: str,
          timeout: float | None, initial: Any) -> Iterator[FileResult]:
    for p in paths:
        try:
            yield check_file(p, model=model, independent=independent, fmt=fmt,
                             timeout=timeout, initial=initial)
        except SplitbrainError as e:  # ConfigError here is the file's (an unknown f)
            yield error_result(p, str(e), model=model, fmt=fmt)


def error_result(path: str | Path, error: str, *, model: str = "cas-register",
                 fmt: str = "auto") -> FileResult:
    """The result of a file that could not be checked: valid "unknown", ``error`` set."""
    return FileResult(path=str(path), format=fmt, valid="unknown", model=model, op_count=0,
                      read_seconds=0.0, seconds=0.0, explain_seconds=0.0, keys={},
                      error=error, bad_input=True)


def _check_arguments(model: str, fmt: str) -> None:
    get_model(model)  # an unknown model is the user's mistake: say so before reading
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
