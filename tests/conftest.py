"""Fixtures every room's tests share.

    def test_heals(fake_ctx):                 # a Context over n1..n3 with a FakeRemote each
        ...
    def test_options(make_ctx):               # the same, built with your own options
        ctx = make_ctx(options={"targets": "primaries"}, nodes=("n1", "n2"))

Layout: unit/<room>/ (pure and fast: no processes, no sockets beyond loopback fakes),
loopback/ (real processes of the store on 127.0.0.1), golden/ (histories with known
verdicts), property/ (hypothesis), integration/ (real containers), browser/ (chromium).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.api import Context
from harness.testing import fake_context


@pytest.fixture
def make_ctx(tmp_path: Path) -> Callable[..., Context]:
    """``make_ctx(nodes=..., options=..., responses=..., db=...)``: harness.testing's
    fake_context with its run directory under the test's tmp_path."""
    def make(**kw: Any) -> Context:
        kw.setdefault("run_dir", tmp_path)
        return fake_context(**kw)
    return make


@pytest.fixture
def fake_ctx(make_ctx: Callable[..., Context]) -> Context:
    """A Context over n1, n2, n3, each with a FakeRemote, no options."""
    return make_ctx()
