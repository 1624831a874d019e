"""checkers.forked.in_two: half a job in a forked child, and what happens when it fails."""
from __future__ import annotations

import multiprocessing
import os

import pytest

from checkers.forked import in_two

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="needs the fork start method")


def test_both_halves_come_back():
    parent = os.getpid()
    assert in_two(lambda: ("mine", os.getpid()), lambda: os.getpid() != parent) == (
        ("mine", parent), True)


def test_a_dead_childs_half_is_done_here(caplog):
    parent = os.getpid()

    def theirs() -> str:
        if os.getpid() != parent:
            os._exit(1)  # the child dies without a word
        return "done here"

    assert in_two(lambda: 1, theirs, died="child died") == (1, "done here")
    assert "child died" in caplog.text


def test_an_error_in_the_child_is_raised_here():
    def theirs() -> None:
        raise ValueError("from the child")

    with pytest.raises(ValueError, match="from the child"):
        in_two(lambda: 1, theirs)
