"""The lost-update checker (and the set checker, which is it with add/read)."""
from __future__ import annotations

from typing import Any

from checkers.lost_update import LostUpdateChecker
from checkers.sets import SetChecker
from harness.history import Op
from harness.verdicts import compose_checks


def H(*events: tuple[Any, ...]) -> list[Op]:
    """(process, type, f, key, value) events, one second apart."""
    return [Op(type=t, f=f, process=p, key=k, value=v, index=i, time=i * 10**9)
            for i, (p, t, f, k, v) in enumerate(events)]


def appends(*vals: int, key: int = 0, t: str = "ok") -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for v in vals:
        out += [(0, "invoke", "append", key, v), (0, t, "append", key, v)]
    return out


def test_everything_acknowledged_is_there():
    ops = H(*appends(1, 2, 3), (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [1, 2, 3]))
    res = LostUpdateChecker().check({}, ops)
    assert res["valid"] is True
    assert res["acknowledged_count"] == 3 and res["lost_count"] == 0


def test_a_lost_update_is_named_with_its_time_and_faults():
    ops = H(("nemesis", "invoke", "start-partition", None, None),
            ("nemesis", "info", "start-partition", None, "n1 | n2"),
            *appends(1, 2),
            ("nemesis", "invoke", "stop-partition", None, None),
            ("nemesis", "info", "stop-partition", None, None),
            *appends(3),
            (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [1, 3]))
    res = LostUpdateChecker().check({}, ops)
    assert res["valid"] is False and res["lost_count"] == 1
    (lost,) = res["lost"]
    assert lost["value"] == 2 and lost["acknowledged_at"] == 5.0 and lost["invoked_at"] == 4.0
    assert lost["faults_during"] == ["partition"]
    assert lost["faults_before_final_read"] == ["partition"]
    assert res["faults_known"] is True


def test_fault_windows_from_the_test_map_win():
    ops = H(*appends(1), (1, "invoke", "read", 0, None), (1, "ok", "read", 0, []))
    test = {"faults": [{"f": "kill", "start_ns": 0, "end_ns": 10**9 // 2},
                       {"f": "clock", "start_ns": 3 * 10**9, "end_ns": 4 * 10**9}]}
    (lost,) = LostUpdateChecker().check(test, ops)["lost"]
    assert lost["faults_during"] == ["kill"] and lost["faults_before_final_read"] == []


def test_indeterminate_updates_may_or_may_not_be_there():
    ops = H(*appends(1, t="info"), *appends(2, t="fail"), *appends(3, t="info"),
            (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [3]))
    res = LostUpdateChecker().check({}, ops)
    assert res["valid"] is True and res["recovered_count"] == 1


def test_unexpected_and_duplicated_elements():
    ops = H(*appends(1), (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [1, 1, 9]))
    res = LostUpdateChecker().check({}, ops)
    assert res["valid"] is False
    assert [u["value"] for u in res["unexpected"]] == [9]
    assert res["duplicated"] == [{"key": 0, "value": 1, "times": 2}]


def test_the_last_read_is_the_final_state_per_key():
    ops = H(*appends(1, key=0), *appends(5, key=1),
            (1, "invoke", "read", 0, None), (1, "ok", "read", 0, []),
            (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [1]),
            (1, "invoke", "read", 1, None), (1, "fail", "read", 1, None))
    res = LostUpdateChecker().check({}, ops)
    assert res["valid"] == "unknown"  # key 1 was never read back
    assert res["keys_without_final_read"] == [1] and res["lost_count"] == 0


def test_the_set_checker_is_lost_update_over_add():
    ops = H((0, "invoke", "add", 0, 1), (0, "ok", "add", 0, 1),
            (0, "invoke", "add", 0, 2), (0, "ok", "add", 0, 2),
            (1, "invoke", "read", 0, None), (1, "ok", "read", 0, [2]))
    res = SetChecker().check({}, ops)
    assert res["valid"] is False and [x["value"] for x in res["lost"]] == [1]


def test_composes_with_others():
    ops = H(*appends(1), (1, "invoke", "read", 0, None), (1, "ok", "read", 0, "garbage"))
    res = compose_checks({"lost": LostUpdateChecker()}, {}, ops)
    assert res["valid"] is False  # "garbage" is one unexpected element, 1 is lost
