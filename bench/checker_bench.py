"""Linearizability checker speed on Porcupine's etcd corpus and on a big synthetic history.

    python bench/checker_bench.py [--rounds 3] [--ops 20000] [--keys 10] [--crash 0.02]
                                  [--seed 1] [--data tests/data/porcupine]

Prints:
  - etcd: the sum over the 103 logs of the per-file checking seconds (reading and parsing
    excluded, printed apart), best of ``--rounds``. Porcupine (Go) takes 0.55 s for these.
  - synthetic: a cas-register history of ``--ops`` invocations over ``--keys`` keys from
    ``checkers.synth.register_history`` (10 workers; ``--crash`` is the chance, at each of
    two points of an op's life, that it crashes), checked with check_history, best of rounds.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.check import check_file
from checkers.linearizable import check_history
from checkers.synth import register_history

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "porcupine"


def bench_etcd(data: Path, rounds: int) -> None:
    logs = sorted(data.glob("*.log"))
    if not logs:
        print(f"etcd: no logs under {data}; skipped")
        return
    best_check = best_read = float("inf")
    verdicts: Counter[str] = Counter()
    for _ in range(rounds):
        check = read = 0.0
        verdicts.clear()
        for p in logs:
            res = check_file(p, model="cas-register", fmt="jepsen-log")
            check += res["seconds"]
            read += res["read_seconds"]
            verdicts[str(res["valid"])] += 1
        best_check, best_read = min(best_check, check), min(best_read, read)
    print(f"etcd: {len(logs)} logs checked in {best_check:.3f} s (sum of per-file checking "
          f"seconds, best of {rounds}); reading took {best_read:.3f} s; "
          f"verdicts {dict(verdicts)}")


def bench_synthetic(seed: int, ops: int, keys: int, crash: float, rounds: int) -> None:
    t = time.monotonic()
    history = register_history(seed, ops, keys=keys, processes=10, crash_rate=crash)
    made = time.monotonic() - t
    types = Counter(o.type for o in history)
    best = float("inf")
    valid = None
    for _ in range(rounds):
        res = check_history(history, model="cas-register")
        best, valid = min(best, res["seconds"]), res["valid"]
    print(f"synthetic: {ops} ops over {keys} keys (seed {seed}; {types['info']} info, "
          f"{types['fail']} fail; generated in {made:.2f} s) checked in {best:.3f} s "
          f"(best of {rounds}): valid={valid}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ops", type=int, default=20_000)
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--crash", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA / "etcd")
    a = ap.parse_args()
    bench_etcd(a.data, a.rounds)
    bench_synthetic(a.seed, a.ops, a.keys, a.crash, a.rounds)


if __name__ == "__main__":
    main()
