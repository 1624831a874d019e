"""What the browser tests share: a synthetic run directory as ``splitbrain run`` leaves it
(``make_run_dir``), Debian's headless chromium under selenium (``chrome``), and helpers to
open a page, read its console, take a screenshot and check that nothing injected ran.

bench/report_load.py times the report with the same run directory and browser.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from harness.history import Op, write_jsonl
from harness.spec import TestSpec, node_names
from harness.testing import register_history

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
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
    ops[i] = ops[i].with_(value=old[len(old) // 2] if old else -1)


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
    ops = [o.with_(time=int(o.time * scale)) for o in ops]
    if not valid:
        _corrupt(ops, rng)
    nem = _nemesis_ops(rng, int(time_limit * 1e9))
    if poison is not None:
        nem[1] = nem[1].with_(value={**nem[1].value, "description": poison})
        ops = [o.with_(key=poison) if o.key == keys - 1 else o for o in ops]
        reads = [i for i, o in enumerate(ops) if o.f == "read" and o.type == "ok"]
        r = reads[len(reads) // 3]
        ops[r] = ops[r].with_(value=poison)
    merged = [o.with_(index=i) for i, o in enumerate(sorted(ops + nem, key=lambda o: o.time))]
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
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run",
              "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(DRIVER)), options=opts)


def load_ms(driver: Any, url: str) -> float:
    driver.get(url)
    t = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n ? n.loadEventEnd - n.startTime : -1;")
    return float(t)


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser console entries at SEVERE level since the last call (reading clears them)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def open_page(driver: Any, url: str) -> float:
    """Load ``url`` (console cleared first); return navigation start to load event, ms."""
    console_errors(driver)
    driver.set_window_size(1280, 900)
    return load_ms(driver, url)


def screenshot(driver: Any, name: str, full: bool = True) -> Path:
    """A PNG of the page (the whole page when ``full``) in artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    if full:
        h = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(h) + 100, 20000))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def no_xss(driver: Any) -> None:
    marks = driver.execute_script("return [window.__xss, document.title]")
    assert marks[0] is None, f"injected script ran: window.__xss = {marks[0]!r}"
    assert marks[1] != "pwned", "injected script set the title"
