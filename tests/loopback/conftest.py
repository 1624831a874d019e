"""Loopback clusters of the kvstore: real server processes on 127.0.0.1 (kv_local), one per
node, started by a test and always stopped after it.

    def test_x(start_cluster):
        c = start_cluster("raft", ["n1", "n2", "n3"], ["--heartbeat-ms", "30"])

Shared helpers (kv, status, retry, eventually, wait_leader) are in tests/loopback/cluster.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from kv_local import LocalCluster


@pytest.fixture
def start_cluster(tmp_path: Path) -> Iterator[Callable[..., LocalCluster]]:
    """``start_cluster(mode, nodes, extra_args=(), start=True, cls=LocalCluster, **kw)``: a
    LocalCluster under the test's tmp_path, every node started unless ``start=False``."""
    made: list[LocalCluster] = []

    def start(mode: str, nodes: Sequence[str], extra_args: Sequence[str] = (),
              start: bool = True, cls: type[LocalCluster] = LocalCluster,
              **kw: Any) -> LocalCluster:
        c = cls(nodes, mode, tmp_path / f"cluster{len(made)}", extra_args=extra_args, **kw)
        made.append(c)
        if start:
            c.start_all()
        return c

    yield start
    for c in made:
        c.stop_all()
