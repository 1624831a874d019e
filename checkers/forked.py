"""Two halves of a job at once: one here, one in a forked child.

    head, tail = in_two(lambda: work(first), lambda: work(second))

The child inherits everything (fork: nothing is pickled on the way in) and sends back its
answer; an exception in the child is raised here; a child that dies is not fatal: its half
is done here (``died`` is logged). Only use it when ``can_fork()``: several cores, the fork
start method, and one thread (a forked child of a threaded process may inherit a held
lock, logging's for one; ``splitbrain check`` has one thread).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["can_fork", "in_two"]

log = logging.getLogger("splitbrain.checkers")
A = TypeVar("A")
B = TypeVar("B")


def can_fork() -> bool:
    return ((os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def in_two(mine: Callable[[], A], theirs: Callable[[], B], died: str = "") -> tuple[A, B]:
    """``(mine(), theirs())``, ``theirs`` run in a forked child."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", theirs()))
        except BaseException as e:  # noqa: B036 - report anything to the parent
            send.send(("error", e))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        head = mine()
        try:
            status, payload = recv.recv()
        except (EOFError, OSError):
            status, payload = "died", None
    finally:
        recv.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    if status == "error":
        raise payload
    if status == "ok":
        tail: Any = payload
        return head, tail
    if died:
        log.warning("%s", died)
    return head, theirs()
