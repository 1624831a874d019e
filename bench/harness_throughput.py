"""Runner throughput with an in-process no-op client and full history recording.

    python bench/harness_throughput.py [--ops 200000] [--concurrency 10]

Prints ops/s (completed ops per second of wall time, each op = invoke + completion written to
history.jsonl and flushed). Target: >= 20,000 ops/s on a 2-core machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import generators as g  # noqa: E402
from harness.api import Context  # noqa: E402
from harness.history import OK, HistoryWriter, Op, read_jsonl  # noqa: E402
from harness.runtime.runner import Runner  # noqa: E402


class NoopClient:
    def invoke(self, ctx: Context, op: Op) -> Op:
        return op.complete(OK, value=op.value)

    def close(self, ctx: Context) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    best = 0.0
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "history.jsonl"
            counter = iter(range(10**12))
            gen = g.limit(a.ops, g.mix([
                g.FnGen(lambda c: {"f": "read", "key": c.rng.randrange(10)}),
                g.FnGen(lambda c, counter=counter: {"f": "write", "key": c.rng.randrange(10),
                                                    "value": next(counter)}),
            ]))
            ctx = Context(spec=None, nodes=["n1", "n2", "n3", "n4", "n5"], remotes={}, ips={},
                          run_dir=Path(d))
            hist = HistoryWriter(path, keep=False)
            r = Runner(ctx, None, None, g.clients(gen), hist, concurrency=a.concurrency,
                       seed=1, client_factory=lambda p, n: NoopClient())
            t = time.perf_counter()
            r.run()
            hist.close()
            el = time.perf_counter() - t
            n = sum(1 for _ in open(path))
            assert n == 2 * a.ops, (n, a.ops)
            read_jsonl(path)  # the file must parse
            best = max(best, a.ops / el)
            print(f"{a.ops} ops, {a.concurrency} workers: {el:.2f} s, {a.ops / el:,.0f} ops/s")
    print(f"harness_throughput best: {best:,.0f} ops/s (target >= 20,000)")


if __name__ == "__main__":
    main()
