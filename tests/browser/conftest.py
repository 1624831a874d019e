"""Browser tests: Debian's headless chromium driven by selenium (chromium-driver), offline.

scripts/install-deps.sh installs both; without them these tests fail (not skip), because CI
must run them. Pages are opened from disk (file://) or from a `splitbrain serve` started
here on 127.0.0.1. Screenshots go to artifacts/ (gitignored). The helpers the tests call
(make_run_dir, open_page, console_errors, screenshot, no_xss) are in tests/browser/pages.py.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import CHROMIUM, DRIVER, chrome


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


@pytest.fixture
def serve_store() -> Iterator[Callable[[Path], str]]:
    """Start `splitbrain serve` on a store (127.0.0.1, a free port); yields a function
    store -> base URL."""
    from harness.app.serve import make_server

    servers = []

    def start(store: Path) -> str:
        srv = make_server(store, "127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        host, port = srv.server_address[:2]
        return f"http://{host!s}:{port}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
