"""The set-full checker: lost, stale, never-read elements and their latencies."""
from __future__ import annotations

from typing import Any

from checkers.sets import SetFullChecker
from harness.history import Op


def H(*events: tuple[Any, ...]) -> list[Op]:
    """(process, type, f, value) on key 0, one second apart."""
    return [Op(type=t, f=f, process=p, key=0, value=v, index=i, time=i * 10**9)
            for i, (p, t, f, v) in enumerate(events)]


def add(p: int, v: int, t: str = "ok") -> list[tuple[Any, ...]]:
    return [(p, "invoke", "add", v), (p, t, "add", v)]


def read(p: int, v: list[int]) -> list[tuple[Any, ...]]:
    return [(p, "invoke", "read", None), (p, "ok", "read", v)]


def test_stable_elements():
    ops = H(*add(0, 1), *read(1, [1]), *add(0, 2), *read(1, [1, 2]))
    res = SetFullChecker().check({}, ops)
    assert res["valid"] is True
    assert res["stable_count"] == 2 and res["lost_count"] == res["stale_count"] == 0
    assert res["stable_latencies"] == {"p50": 1000.0, "p95": 1000.0, "p99": 1000.0,
                                       "max": 1000.0}


def test_a_lost_element():
    ops = H(*add(0, 1), *read(1, [1]), *read(1, []), *read(1, []))
    res = SetFullChecker().check({}, ops)
    assert res["valid"] is False and res["lost_count"] == 1
    assert res["lost"] == [{"key": 0, "value": 1, "known_at": 1.0, "lost_at": 4.0,
                            "last_seen_at": 3.0}]
    assert res["lost_latencies"]["max"] == 3000.0


def test_a_stale_read_is_reported_and_only_an_error_when_linearizable():
    ops = H(*add(0, 1), *read(1, []), *read(1, [1]))
    res = SetFullChecker().check({}, ops)
    assert res["valid"] is True and res["stale_count"] == 1
    assert res["stale"][0]["stale_reads"] == 1 and res["stale"][0]["first_stale_at"] == 2.0
    assert SetFullChecker(linearizable=True).check({}, ops)["valid"] is False


def test_never_read_and_concurrent_reads_do_not_count():
    ops = H((1, "invoke", "read", None), *add(0, 1), (1, "ok", "read", []), *add(0, 2))
    res = SetFullChecker().check({}, ops)
    assert res["valid"] is True and res["never_read_count"] == 2
    assert res["lost_count"] == 0


def test_indeterminate_adds_are_known_once_seen():
    ops = H(*add(0, 1, "info"), *read(1, [1]), *read(1, []), *add(0, 2, "info"),
            *read(1, []))
    res = SetFullChecker().check({}, ops)
    assert res["lost_count"] == 1 and res["lost"][0]["value"] == 1
    assert res["attempt_count"] == 2 and res["acknowledged_count"] == 0


def test_unexpected_and_duplicate_elements():
    ops = H(*add(0, 1), *read(1, [1, 1, 7]))
    res = SetFullChecker().check({}, ops)
    assert res["valid"] is False
    assert res["unexpected"][0]["value"] == 7 and res["duplicated"][0]["times"] == 2


def test_no_reads_is_unknown():
    assert SetFullChecker().check({}, H(*add(0, 1)))["valid"] == "unknown"
