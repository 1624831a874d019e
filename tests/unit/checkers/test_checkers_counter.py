"""The counter checker: reads between what surely and what possibly was added."""
from __future__ import annotations

from typing import Any

from checkers.counter import CounterChecker
from harness.history import Op


def H(*events: tuple[Any, ...]) -> list[Op]:
    return [Op(type=t, f=f, process=p, key=ev[4] if len(ev) > 4 else "c", value=v, index=i,
               time=i * 10**9) for i, ev in enumerate(events) for p, t, f, v in [ev[:4]]]


def test_reads_within_bounds_are_valid():
    ops = H((0, "invoke", "add", 2), (0, "ok", "add", 2),
            (1, "invoke", "read", None), (0, "invoke", "add", 3),
            (1, "ok", "read", 5), (0, "ok", "add", 3),
            (1, "invoke", "read", None), (1, "ok", "read", 5))
    res = CounterChecker().check({}, ops)
    assert res["valid"] is True and res["reads"] == 2
    assert res["acknowledged_sum"] == {"c": 5} and res["final_reads"] == {"c": 5}


def test_a_read_below_the_acknowledged_sum_is_an_error():
    ops = H((0, "invoke", "add", 2), (0, "ok", "add", 2),
            (1, "invoke", "read", None), (1, "ok", "read", 1))
    res = CounterChecker().check({}, ops)
    assert res["valid"] is False
    assert res["errors"] == [{"key": "c", "value": 1, "lower": 2, "upper": 2, "process": 1,
                              "invoked_at": 2.0, "completed_at": 3.0}]


def test_a_read_above_everything_attempted_is_an_error():
    ops = H((0, "invoke", "add", 2), (0, "info", "add", 2),
            (1, "invoke", "read", None), (1, "ok", "read", 2),
            (1, "invoke", "read", None), (1, "ok", "read", 3))
    res = CounterChecker().check({}, ops)
    assert res["error_count"] == 1 and res["errors"][0]["upper"] == 2
    assert res["possible_sum"] == {"c": 2} and res["acknowledged_sum"] == {"c": 0}


def test_failed_adds_never_happened_and_nil_is_zero():
    ops = H((1, "invoke", "read", None), (1, "ok", "read", None),
            (0, "invoke", "add", 4), (0, "fail", "add", 4),
            (1, "invoke", "read", None), (1, "ok", "read", 4))
    res = CounterChecker().check({}, ops)
    assert res["valid"] is False and res["errors"][0]["value"] == 4


def test_negative_deltas_widen_both_ways():
    ops = H((0, "invoke", "add", 5), (0, "ok", "add", 5),
            (0, "invoke", "add", -3), (1, "invoke", "read", None), (1, "ok", "read", 5),
            (1, "invoke", "read", None), (1, "ok", "read", 2), (0, "info", "add", -3))
    assert CounterChecker().check({}, ops)["valid"] is True


def test_keys_are_separate_and_odd_values_are_reported():
    ops = H((0, "invoke", "add", 1, "a"), (0, "ok", "add", 1, "a"),
            (1, "invoke", "read", None, "b"), (1, "ok", "read", 0, "b"),
            (1, "invoke", "read", None, "a"), (1, "ok", "read", "many", "a"))
    res = CounterChecker().check({}, ops)
    assert res["valid"] is False and res["error_count"] == 0
    assert res["bad_values"][0]["value"] == "many"


def test_no_reads_is_unknown():
    ops = H((0, "invoke", "add", 1), (0, "ok", "add", 1))
    assert CounterChecker().check({}, ops)["valid"] == "unknown"
