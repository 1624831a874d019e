"""Reading a big Jepsen history.edn: 400,000 ops (about 37 MB) in <= 5 s.

    python bench/edn_read.py [--ops 400000] [--rounds 3] [--seed 1] [--keep PATH]

Writes a history.edn the way Jepsen prints one (``{:type :invoke, :f :cas, :value [72 [nil
1]], :time 247294, :process 2, :index 0}``, independent [key value] tuples, failed cas with
an ``:error`` vector holding a string, info ops with ``:error :timeout``) from
checkers.synth.register_history (``--ops`` events: half as many invocations), then times
``checkers.formats.load(path, independent=True)``, best of ``--rounds``, and checks the
result against the history it came from. Prints the figure beside the target.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.formats import load
from harness.testing import register_history

TARGET = 5.0


def edn(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(edn(x) for x in v) + "]"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(v)


def write_history(path: Path, events: int, seed: int) -> list[Any]:
    history = register_history(seed, events // 2, keys=100, processes=10, crash_rate=0.005)
    with open(path, "w") as f:
        for i, o in enumerate(history):
            extra = ""
            if o.type == "info":
                extra = ", :error :timeout"
            elif o.type == "fail":
                extra = ', :error [:cas-mismatch "expected a different value"]'
            f.write(f"{{:type :{o.type}, :f :{o.f}, :value {edn([o.key, o.value])}, "
                    f":time {o.time}, :process {o.process}{extra}, :index {i}}}\n")
    return history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=400_000, help="events (lines) in the file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="write the file here and keep it")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = a.keep or Path(tmp) / "history.edn"
        history = write_history(path, a.ops, a.seed)
        size = path.stat().st_size / 1e6
        best = float("inf")
        ops: list[Any] = []
        for _ in range(a.rounds):
            t = time.monotonic()
            ops = load(path, independent=True)
            best = min(best, time.monotonic() - t)
        same = len(ops) == len(history) and all(
            (o.type, o.f, o.process, o.key, o.time) == (h.type, h.f, h.process, h.key, h.time)
            for o, h in zip(ops, history))
        verdict = "ok" if best <= TARGET else "MISSED"
        print(f"edn read: {best:.3f} s for {len(ops)} ops, {size:.1f} MB (target <= "
              f"{TARGET:g} s) {verdict}; best of {a.rounds}; same ops as written: {same}")


if __name__ == "__main__":
    main()
