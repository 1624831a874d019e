"""unique-ids, bank, unhandled exceptions, and Compose."""
from __future__ import annotations

from typing import Any

from checkers.bank import BankChecker
from checkers.common import Compose, active_faults, latency_summary
from checkers.exceptions import UnhandledExceptionsChecker, exception_class
from checkers.unique_ids import UniqueIdsChecker
from harness.history import Op


def H(*events: tuple[Any, ...]) -> list[Op]:
    """(process, type, f, value[, error]) events, one second apart."""
    return [Op(type=ev[1], f=ev[2], process=ev[0], value=ev[3],
               error=ev[4] if len(ev) > 4 else None, index=i, time=i * 10**9)
            for i, ev in enumerate(events)]


# --- unique ids -----------------------------------------------------------------------------

def test_unique_ids():
    ops = H((0, "invoke", "generate", None), (0, "ok", "generate", 1),
            (1, "invoke", "generate", None), (1, "ok", "generate", 2),
            (2, "invoke", "generate", None), (2, "info", "generate", None))
    res = UniqueIdsChecker().check({}, ops)
    assert res["valid"] is True and res["range"] == [1, 2]
    assert res["attempted_count"] == 3 and res["acknowledged_count"] == 2


def test_a_duplicated_id():
    ops = H((0, "invoke", "generate", None), (0, "ok", "generate", 7),
            (1, "invoke", "generate", None), (1, "ok", "generate", 7))
    res = UniqueIdsChecker().check({}, ops)
    assert res["valid"] is False
    assert res["duplicated"] == [{"id": 7, "times": 2, "processes": [0, 1], "at": [1.0, 3.0]}]
    assert UniqueIdsChecker().check({}, [])["valid"] == "unknown"


# --- bank -----------------------------------------------------------------------------------

def test_bank_reads_conserve_the_total():
    t = {"from": 0, "to": 1, "amount": 3}
    ops = H((0, "invoke", "transfer", t), (0, "ok", "transfer", t),
            (1, "invoke", "read", None), (1, "ok", "read", {"0": 7, "1": 13}),
            (0, "invoke", "transfer", t), (0, "fail", "transfer", t, "insufficient-funds"))
    res = BankChecker(accounts=[0, 1], total=20).check({}, ops)
    assert res["valid"] is True and res["transfers"] == {"ok": 1, "fail": 1, "info": 0}


def test_bank_anomalies():
    ops = H((1, "invoke", "read", None), (1, "ok", "read", {"0": 7, "1": 12}),
            (1, "invoke", "read", None), (1, "ok", "read", {"0": -1, "1": 21}),
            (1, "invoke", "read", None), (1, "ok", "read", {"0": 20, "2": 0}),
            (1, "invoke", "read", None), (1, "ok", "read", [1, 2]))
    res = BankChecker(accounts=[0, 1], total=20).check({}, ops)
    assert res["valid"] is False and res["bad_read_count"] == 4
    wrong, negative, accounts, shape = res["bad_reads"]
    assert wrong["total"] == 19 and wrong["at"] == 1.0
    assert negative["negative"] == {"0": -1}
    assert accounts["missing"] == ["1"] and accounts["unexpected"] == ["2"]
    assert "map of balances" in shape["error"]


def test_bank_without_a_total_takes_the_first_read():
    ops = H((1, "invoke", "read", None), (1, "ok", "read", {"0": 5}),
            (1, "invoke", "read", None), (1, "ok", "read", {"0": 6}))
    res = BankChecker().check({}, ops)
    assert res["valid"] is False and res["expected_total"] == 5


# --- unhandled exceptions -------------------------------------------------------------------

def test_exceptions_are_grouped_and_counted():
    ops = H((0, "invoke", "write", 1), (0, "info", "write", 1, "ConnectionResetError: boom"),
            (1, "invoke", "read", None), (1, "fail", "read", None, "timeout: no answer"),
            (2, "invoke", "read", None), (2, "info", "read", None, "ConnectionResetError: x"),
            (3, "invoke", "cas", [1, 2]), (3, "info", "cas", [1, 2], "KeyError('k')"))
    res = UnhandledExceptionsChecker().check({}, ops)
    assert res["valid"] is True and res["count"] == 3
    first, second = res["exceptions"]
    assert first["class"] == "ConnectionResetError" and first["count"] == 2
    assert first["fs"] == {"write": 1, "read": 1}
    assert first["example"] == {"error": "ConnectionResetError: boom", "process": 0,
                                "f": "write", "type": "info", "at": 1.0}
    assert second["class"] == "KeyError"


def test_exception_class_names():
    assert exception_class("json.decoder.JSONDecodeError: bad") == "json.decoder.JSONDecodeError"
    assert exception_class("Exception") == "Exception"
    assert exception_class("cas-mismatch: expected 3") is None
    assert exception_class(None) is None and exception_class(42) is None


# --- shared bits ----------------------------------------------------------------------------

class Boom:
    def check(self, test: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
        raise RuntimeError("no")


def test_compose_merges_and_survives_a_crashing_checker():
    ops = H((0, "invoke", "generate", None), (0, "ok", "generate", 1))
    res = Compose({"ids": UniqueIdsChecker(), "boom": Boom()}).check({}, ops)
    assert res["valid"] == "unknown"
    assert res["checkers"]["ids"]["valid"] is True
    assert "RuntimeError: no" in res["checkers"]["boom"]["error"]


def test_active_faults_and_latencies():
    w = [{"f": "partition", "start_ns": 10, "end_ns": 20}, {"f": "kill", "start_ns": 30,
                                                            "end_ns": None}]
    assert active_faults(w, 0, 15) == ["partition"]
    assert active_faults(w, 21, None) == ["kill"]
    assert active_faults(w, 25, 29) == []
    assert latency_summary([]) is None
    assert latency_summary([10**6, 2 * 10**6]) == {"p50": 2.0, "p95": 2.0, "p99": 2.0,
                                                   "max": 2.0}
