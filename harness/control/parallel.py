"""Run one function on every node at once (Docker calls mostly wait), collecting failures."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from harness.errors import SplitbrainError

T = TypeVar("T")


def on_nodes(nodes: list[str], fn: Callable[[str], T], *, brief: bool = False,
             error: type[SplitbrainError] = SplitbrainError) -> dict[str, T]:
    """``fn(node)`` on every node in parallel; every node runs even if some fail, then all
    failures are raised at once as one ``error`` ("n1: ...; n3: ..."). ``brief``: only the
    first failure's message, and which other nodes failed (for one clear line when every
    node fails the same way)."""
    if not nodes:
        return {}
    errors: list[tuple[str, Exception]] = []
    out: dict[str, T] = {}
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        for node, fut in [(n, pool.submit(fn, n)) for n in nodes]:
            try:
                out[node] = fut.result()
            except Exception as e:
                errors.append((node, e))
    if errors and brief:
        first = errors[0][1]
        also = [n for n, _ in errors[1:]]
        raise error(f"{first}" + (f" (also on {', '.join(also)})" if also else ""))
    if errors:
        raise error("; ".join(f"{n}: {e}" for n, e in errors))
    return out
