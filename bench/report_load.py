"""How long the report takes to render, and to open in a browser, for a big history.

    .venv/bin/python bench/report_load.py [--ops 100000] [--seed 1] [--valid] [--keep DIR]

Builds a synthetic run directory from a seed (``make_run_dir``: a linearizable register
history from ``checkers.synth``, stretched over ``--time-limit`` seconds, with partition and
clock-fault windows and, unless ``--valid``, one stale read that the checker catches), runs
the real analysis on it (results.json), renders report.html (timed), then opens it in
headless Chromium (Debian's chromium + chromium-driver, via selenium) a few times and prints
the navigation-start-to-load-event time from the Navigation Timing API.

Prints lines like:

    history: 100000 ops, 15.3 MB; analysis 9.8 s
    render: 3.1 s (report.html 1.4 MB)
    browser load: median 180 ms (runs: 176, 180, 201 ms); no console errors

``make_run_dir`` is also what the report's browser tests use to get a realistic run.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.history import Op, write_jsonl
from harness.spec import TestSpec, node_names
from harness.testing import register_history

NODES = node_names(5)


def _nemesis_ops(rng: random.Random, duration_ns: int, interval_s: float = 5.0
                 ) -> list[Op]:
    """Alternating partition and clock faults, each ``interval_s`` long, then healed."""
    ops: list[Op] = []
    t = int(interval_s * 1e9)
    kind = 0
    while t + interval_s * 1e9 < duration_ns:
        shuffled = list(NODES)
        rng.shuffle(shuffled)
        if kind % 2 == 0:
            a, b = sorted(shuffled[:2]), sorted(shuffled[2:])
            grudge = {n: b for n in a} | {n: a for n in b}
            desc = f"{' '.join(a)} | {' '.join(b)}"
            start = {"grudge": grudge, "description": desc}
            stop = {"description": "healed"}
            f = "partition"
        else:
            node = shuffled[0]
            off = round(rng.choice([-1, 1]) * rng.uniform(0.05, 3.0), 3)
            offs = {n: (off if n == node else 0.0) for n in NODES}
            start = {"nodes": [node], "description": f"bump {node} {off:+.3f} s",
                     "clock_offsets": offs}
            stop = {"description": "clocks reset", "clock_offsets": dict.fromkeys(NODES, 0.0)}
            f = "clock"
        end = t + int(interval_s * 1e9)
        ops += [Op(type="invoke", f=f"start-{f}", process="nemesis", time=t),
                Op(type="info", f=f"start-{f}", process="nemesis", time=t + 40_000_000,
                   value=start),
                Op(type="invoke", f=f"stop-{f}", process="nemesis", time=end),
                Op(type="info", f=f"stop-{f}", process="nemesis", time=end + 30_000_000,
                   value=stop)]
        t = end + int(interval_s * 1e9)
        kind += 1
    return ops


def _corrupt(ops: list[Op], rng: random.Random) -> None:
    """Make one ok read in the middle of the history return a value overwritten long
    before: a stale read, the anomaly of a split brain."""
    reads = [i for i, o in enumerate(ops) if o.f == "read" and o.type == "ok"
             and o.value is not None and len(ops) * 0.4 < i < len(ops) * 0.6]
    i = reads[len(reads) // 2]
    key = ops[i].key
    old = [o.value for o in ops[: i // 2] if o.key == key and o.f == "write"
           and o.type == "ok" and o.value != ops[i].value]
    ops[i].value = old[len(old) // 2] if old else -1


def make_run_dir(run_dir: Path | str, *, n_ops: int = 100_000, seed: int = 1,
                 valid: bool = False, time_limit: float = 60.0, keys: int = 8,
                 analyse: bool = True, poison: str | None = None) -> Path:
    """A run directory as ``splitbrain run`` leaves it, from a synthetic history.
    ``poison``, if given, is put where a stored value can reach the report: the name of a
    key, an f, a read's value, a fault's description and a node log's name (for XSS tests).
    """
    rd = Path(run_dir)
    (rd / "nodes").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ops = register_history(seed=seed, n_ops=n_ops, keys=keys, processes=10, crash_rate=0.004)
    last = max(o.time for o in ops) or 1
    scale = time_limit * 1e9 / last
    for o in ops:
        o.time = int(o.time * scale)
    if not valid:
        _corrupt(ops, rng)
    nem = _nemesis_ops(rng, int(time_limit * 1e9))
    if poison is not None:
        nem[1].value = {**nem[1].value, "description": poison}
        for o in ops:
            if o.key == keys - 1:
                o.key = poison
        reads = [o for o in ops if o.f == "read" and o.type == "ok"]
        reads[len(reads) // 3].value = poison
    merged = sorted(ops + nem, key=lambda o: o.time)
    for i, o in enumerate(merged):
        o.index = i
    spec = TestSpec(name="synthetic-register" if poison is None
                    else "synthetic " + poison.replace("/", "_"),
                    nodes=NODES, concurrency=10, time_limit=time_limit,
                    rate=round(n_ops / time_limit, 1), seed=seed,
                    mode="lease" if not valid else "raft", nemesis=("partition", "clock"),
                    options={"keys": keys})
    (rd / "test.json").write_text(spec.to_json() + "\n")
    write_jsonl(rd / "history.jsonl", merged)
    (rd / "harness.log").write_text("synthetic run made by bench/report_load.py\n")
    for n in NODES:
        (rd / "nodes" / n).mkdir(exist_ok=True)
        (rd / "nodes" / n / "kvstore.log").write_text(f"{n}: started\n{n}: leader elected\n")
    if poison is not None:
        (rd / "nodes" / "n1" / (poison.replace("/", "_") + ".log")).write_text("x\n")
    if analyse:
        from harness.runtime.run import analyse as run_analyse

        results = run_analyse(rd, spec=spec, run_info={
            "started_at": "2026-11-22T00:00:00+00:00", "wall_seconds": time_limit + 8.0})
        if poison is not None:
            lin = results["checkers"]["linearizable"]
            for k in lin.get("keys", {}).values():
                if k.get("explanation"):
                    k["explanation"] += f" {poison}"
            (rd / "results.json").write_text(json.dumps(results, indent=1))
    return rd


def chrome(width: int = 1280, height: int = 900) -> Any:
    """Headless Debian chromium under selenium, offline: the driver and browser are given
    by path so selenium never tries to download either. Console messages are logged."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run",
              "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def load_ms(driver: Any, url: str) -> float:
    driver.get(url)
    t = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n ? n.loadEventEnd - n.startTime : -1;")
    return float(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--valid", action="store_true", help="no injected anomaly")
    ap.add_argument("--runs", type=int, default=5, help="browser loads to time")
    ap.add_argument("--keep", type=Path, default=None, help="make the run dir here and keep it")
    a = ap.parse_args(argv)
    base = a.keep or Path(tempfile.mkdtemp(prefix="report-load-"))
    rd = base / "run"
    t = time.monotonic()
    make_run_dir(rd, n_ops=a.ops, seed=a.seed, valid=a.valid)
    made = time.monotonic() - t
    size = (rd / "history.jsonl").stat().st_size
    results = json.loads((rd / "results.json").read_text())
    print(f"history: {a.ops} ops, {size / 1e6:.1f} MB, verdict {results['valid']}; "
          f"made and analysed in {made:.1f} s")

    from harness.report.render import render_report

    renders = []
    for _ in range(3):
        t = time.monotonic()
        out = render_report(rd)
        renders.append(time.monotonic() - t)
    print(f"render: median {statistics.median(renders):.2f} s "
          f"(runs: {', '.join(f'{r:.2f}' for r in renders)} s; the first includes importing "
          f"matplotlib); report.html {out.stat().st_size / 1e6:.2f} MB")

    driver = chrome()
    try:
        url = out.resolve().as_uri()
        load_ms(driver, url)  # warm the browser process itself
        times = [load_ms(driver, url) for _ in range(a.runs)]
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    finally:
        driver.quit()
    print(f"browser load (navigation start to load event end, headless chromium): median "
          f"{statistics.median(times):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in times)} ms)"
          f"; {len(errors)} console errors")
    if a.keep is None:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"kept {rd}")
    return 1 if errors or statistics.median(times) > 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
