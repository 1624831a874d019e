"""Browser tests: Debian's headless chromium driven by selenium (chromium-driver), offline.

scripts/install-deps.sh installs both; without them these tests fail (not skip), because CI
must run them. Pages are opened from disk (file://) or from a `splitbrain serve` started
here on 127.0.0.1. Screenshots go to artifacts/ (gitignored).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
sys.path.insert(0, str(ROOT / "bench"))

from report_load import chrome  # noqa: E402  (bench/ is not a package)

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def driver() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, DRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)}: run scripts/install-deps.sh "
                    "(Debian packages chromium and chromium-driver)")
    d = chrome(1280, 900)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser console entries at SEVERE level since the last call (reading clears them)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def open_page(driver: Any, url: str) -> float:
    """Load ``url`` (console cleared first); return navigation start to load event, ms."""
    console_errors(driver)
    driver.set_window_size(1280, 900)
    driver.get(url)
    return float(driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n ? n.loadEventEnd - n.startTime : -1;"))


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


@pytest.fixture
def serve_store() -> Iterator[Any]:
    """Start `splitbrain serve` on a store (127.0.0.1, a free port); yields a function
    store -> base URL."""
    from harness.app.serve import make_server

    servers = []

    def start(store: Path) -> str:
        srv = make_server(store, "127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        host, port = srv.server_address[:2]
        return f"http://{host}:{port}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
