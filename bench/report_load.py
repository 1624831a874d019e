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

``make_run_dir`` and ``chrome`` live in tests/browser/pages.py: the report's browser tests
use the same run directory and browser.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.pages import chrome, load_ms, make_run_dir  # the tests' run and browser


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
