"""The store: one directory per run, ``store/<test>/<timestamp>/``.

    test.json      the TestSpec
    history.jsonl  every op, appended and flushed as it happens
    results.json   the verdicts of every checker
    report.html    the human view
    harness.log    what the harness did, with timestamps
    nodes/<node>/  logs collected from each node

``store/latest`` (and ``store/<test>/latest``) point at the newest run.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

DEFAULT_STORE = Path("store")


def new_run_dir(store: Path | str, test_name: str) -> Path:
    store = Path(store)
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"
    run = store / test_name / stamp
    n = 1
    while run.exists():  # two runs in the same millisecond
        run = store / test_name / f"{stamp}-{n}"
        n += 1
    (run / "nodes").mkdir(parents=True)
    _point(store / "latest", run.relative_to(store))
    _point(store / test_name / "latest", Path(run.name))
    return run


def _point(link: Path, target: Path) -> None:
    """Atomically repoint a symlink (create a new one beside it, then rename over)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically: a reader never sees half a results.json."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=repr)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def resolve_run(path: Path | str) -> Path:
    """A run directory from a path the user gave: a run dir, ``store/latest``, or a history
    file inside a run dir."""
    p = Path(path)
    if p.is_file() and p.name == "history.jsonl":
        return p.parent
    if p.is_dir() and (p / "history.jsonl").exists():
        return p.resolve()
    raise ConfigError(f"{path} is not a run directory (no history.jsonl in it); "
                      "give store/<test>/<timestamp> or store/latest")


def list_runs(store: Path | str) -> list[Path]:
    """Every run directory under ``store``, oldest first."""
    store = Path(store)
    runs = [p.parent for p in store.glob("*/*/test.json") if not p.parent.is_symlink()]
    return sorted(runs, key=lambda p: p.name)
