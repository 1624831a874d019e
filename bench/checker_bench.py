"""Linearizability checker speed, figure by figure against Porcupine and our targets.

    python bench/checker_bench.py [--rounds 5] [--cases etcd,kv,20k,200k,2000x20,1000x30]
                                  [--seed 1] [--data tests/data/porcupine]

Every figure is the best of ``--rounds`` (the machine is shared: best-of is the stable
statistic) and is printed beside its target and Porcupine's time for the same job. Nothing
is asserted.

  etcd      Porcupine's 103 etcd logs, cas-register: the sum over files of the seconds spent
            deciding (reading excluded). Porcupine decides without explaining; ours also
            explains every invalid file (prefix, minimal witness, sentence), printed apart.
  kv        Porcupine's kv histories that are vendored (c01, c10; its 50-client file is not).
  20k       20,000 ops over 10 keys, 10 processes, ~2% of ops crashed (info), cas-register.
  200k      200,000 ops over 100 keys, 10 processes, ~1% crashed: two processes (fork).
  2000x20   one key, 2,000 ops, 20 processes, ~10% crashed.
  1000x30   one key, 1,000 ops, 30 processes, ~15% crashed.
Synthetic histories come from checkers.synth.register_history with a seed; its crash_rate
is a per-step chance and an op has two steps, so we pass half the wanted fraction and print
the fraction we got.
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
from harness.testing import register_history

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "porcupine"

# (name, ops, keys, processes, crashed fraction, target s, Porcupine s)
SYNTHETIC = [
    ("20k", 20_000, 10, 10, 0.02, 0.17, "0.17 s"),
    ("200k", 200_000, 100, 10, 0.01, 1.8, "1.8 s"),
    ("2000x20", 2_000, 1, 20, 0.10, 1.0, "33 s"),
    ("1000x30", 1_000, 1, 30, 0.15, 1.0, "no answer in 300 s"),
]


def line(name: str, figure: float, target: float | None, porcupine: str, detail: str) -> None:
    verdict = "" if target is None else ("  ok" if figure <= target else "  MISSED")
    tgt = "" if target is None else f"target <= {target:g} s, "
    print(f"{name:>8}: {figure:7.3f} s  ({tgt}Porcupine {porcupine}){verdict}  {detail}")


def bench_etcd(data: Path, rounds: int) -> None:
    logs = sorted((data / "etcd").glob("*.log"))
    if not logs:
        print(f"    etcd: no logs under {data / 'etcd'}; skipped")
        return
    best_decide = best_total = best_read = float("inf")
    verdicts: Counter[str] = Counter()
    for _ in range(rounds):
        decide = total = read = 0.0
        verdicts.clear()
        for p in logs:
            res = check_file(p, model="cas-register", fmt="jepsen-log")
            total += res["seconds"]
            decide += res["seconds"] - res["explain_seconds"]
            read += res["read_seconds"]
            verdicts[str(res["valid"])] += 1
        best_decide, best_total = min(best_decide, decide), min(best_total, total)
        best_read = min(best_read, read)
    line("etcd", best_decide, 0.11, "0.55 s",
         f"{len(logs)} logs, verdicts {dict(verdicts)}; with explanations of the invalid "
         f"ones {best_total:.3f} s; reading {best_read:.3f} s")


def bench_kv(data: Path, rounds: int) -> None:
    files = sorted((data / "kv").glob("*.txt"))
    for p in files:
        best = float("inf")
        for _ in range(rounds):
            res = check_file(p, model="kv", fmt="edn")
            best = min(best, res["seconds"] - res["explain_seconds"])
        line(f"kv {p.stem}", best, None, "n/a", f"{res['op_count']} events, "
             f"valid={res['valid']}")


def bench_synthetic(name: str, n: int, keys: int, procs: int, fraction: float,
                    target: float, porcupine: str, seed: int, rounds: int) -> None:
    t = time.monotonic()
    history = register_history(seed, n, keys=keys, processes=procs, crash_rate=fraction / 2)
    made = time.monotonic() - t
    types = Counter(o.type for o in history)
    best = float("inf")
    res: dict = {}
    for _ in range(rounds):
        res = check_history(history, model="cas-register")
        best = min(best, res["seconds"])
    methods = Counter(k["method"] for k in res["keys"].values())
    line(name, best, target, porcupine,
         f"{n} ops, {keys} keys, {procs} processes, {types['info'] / n:.1%} crashed, "
         f"{types['fail']} failed; valid={res['valid']}, {dict(methods)}; "
         f"generated in {made:.2f} s (seed {seed})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", default="etcd,kv," + ",".join(c[0] for c in SYNTHETIC))
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    cases = a.cases.split(",")
    if "etcd" in cases:
        bench_etcd(a.data, a.rounds)
    if "kv" in cases:
        bench_kv(a.data, a.rounds)
    for name, n, keys, procs, fraction, target, porcupine in SYNTHETIC:
        if name in cases:
            bench_synthetic(name, n, keys, procs, fraction, target, porcupine, a.seed,
                            a.rounds)


if __name__ == "__main__":
    main()
