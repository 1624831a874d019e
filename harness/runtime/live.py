"""The live display while a test runs: elapsed of limit, ops/s, ok/fail/info, active faults.

On a terminal it is a rich Live panel on stderr; elsewhere (CI logs, pipes) one progress line
every 5 s, so logs stay readable.

Text from a test or a history (names, fault names, error messages) reaches the console only
through ``plain``: rich would read ``[old new]`` or ``[link=...]`` in it as markup.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from harness.history import FAIL, INFO, OK
from harness.runtime.runner import LiveStats
from harness.spec import TestSpec


def plain(value: object) -> str:
    """Any value as console text that rich prints as it is: markup escaped
    (``"[bold]"`` stays ``[bold]``), a lone surrogate (valid JSON: ``"\\ud800"``) written as
    ``\\ud800`` so that no terminal encoding can fail on it.

    >>> plain("a cas value must be [old new], got 0")
    'a cas value must be \\\\[old new], got 0'
    """
    s = str(value)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return escape(s)


def _table(stats: LiveStats, spec: TestSpec, rate: float) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    c = stats.counts
    t.add_row("test", plain(f"{spec.name}  db {spec.db}/{spec.mode}  "
                            f"nemesis {','.join(spec.nemesis)}"))
    t.add_row("elapsed", f"{min(stats.elapsed(), 10**9):6.1f} s of {spec.time_limit:g} s "
                         f"({stats.phase})")
    t.add_row("ops/s", f"{rate:8.1f}")
    t.add_row("ops", f"[green]ok {c[OK]}[/]  [yellow]fail {c[FAIL]}[/]  [red]info {c[INFO]}[/]")
    faults = ", ".join(f"{k.removeprefix('start-')}: {v}" for k, v in
                       stats.active_faults.items()) or "none"
    t.add_row("faults", plain(faults))
    return t


@contextlib.contextmanager
def live_display(stats: LiveStats, spec: TestSpec, console: Console | None = None
                 ) -> Iterator[None]:
    console = console or Console(stderr=True)
    window: list[tuple[float, int]] = [(time.monotonic(), stats.completed)]

    def rate() -> float:
        now = time.monotonic()
        window.append((now, stats.completed))
        while len(window) > 2 and now - window[0][0] > 3:
            window.pop(0)
        dt = window[-1][0] - window[0][0]
        return (window[-1][1] - window[0][1]) / dt if dt > 0 else 0.0

    if console.is_terminal:
        with Live(_table(stats, spec, 0.0), console=console, refresh_per_second=4,
                  transient=False) as live:
            with _every(0.25, lambda: live.update(_table(stats, spec, rate()))):
                yield
            live.update(_table(stats, spec, rate()))
        return

    def progress() -> None:
        c = stats.counts
        faults = ",".join(stats.active_faults) or "none"
        console.print(plain(f"[{stats.elapsed():6.1f}s/{spec.time_limit:g}s] {rate():7.1f} "
                            f"ops/s ok {c[OK]} fail {c[FAIL]} info {c[INFO]} faults {faults}"),
                      highlight=False)
    with _every(5.0, progress):
        yield


@contextlib.contextmanager
def _every(period: float, fn: Callable[[], None]) -> Iterator[None]:
    """Call ``fn`` every ``period`` seconds from a daemon thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(period):
            fn()
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
