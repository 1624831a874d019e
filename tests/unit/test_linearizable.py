"""Hand-made histories for the linearizability checker: each says what it is about."""
from __future__ import annotations

from typing import Any

import pytest

import checkers.linearizable as lin
import checkers.search as search_mod
from checkers.check import check_file
from checkers.linearizable import LinearizableChecker, check_history
from harness.errors import ConfigError, HistoryFormatError
from harness.history import Op, write_jsonl


def H(*events: tuple[Any, ...], key: Any = None) -> list[Op]:
    """History from (process, type, f, value) tuples; time = 1 s per event."""
    ops = []
    for i, ev in enumerate(events):
        p, t, f, v = ev[:4]
        k = ev[4] if len(ev) > 4 else key
        ops.append(Op(type=t, f=f, process=p, key=k, value=v, index=i, time=i * 10**9))
    return ops


def valid(ops: list[Op], **kw: Any) -> Any:
    return check_history(ops, **kw)["valid"]


def only_key(res: dict[str, Any]) -> dict[str, Any]:
    (k,) = res["keys"].values()
    return k


# --- registers ------------------------------------------------------------------------------

def test_empty_history_is_linearizable():
    res = check_history([])
    assert res["valid"] is True and res["keys"] == {} and res["error"] is None
    assert res["model"] == "cas-register" and res["seconds"] >= 0


def test_sequential_write_then_read():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 1))
    res = check_history(ops, model="register")
    assert res["valid"] is True
    assert res["keys"]["None"] == {"valid": True, "op_count": 2, "explanation": None,
                                   "ops": None}


def test_read_of_a_value_never_written_is_invalid():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 3))
    k = only_key(check_history(ops))
    assert k["valid"] is False
    assert k["explanation"].startswith("no linearization explains read of 3 by process 1")
    assert "1 (write of 1 by process 0, ok at 1.000 s)" in k["explanation"]


def test_nil_read_after_a_completed_write_is_invalid():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", None))
    assert valid(ops) is False


def test_nil_read_concurrent_with_the_first_write_is_fine():
    ops = H((0, "invoke", "write", 1), (1, "invoke", "read", None),
            (1, "ok", "read", None), (0, "ok", "write", 1))
    assert valid(ops) is True


def test_initial_state_can_be_overridden():
    ops = H((1, "invoke", "read", None), (1, "ok", "read", 0))
    assert valid(ops) is False
    assert valid(ops, initial=0) is True


def test_reads_that_disagree_on_the_order_of_concurrent_writes():
    both = [(0, "invoke", "write", 1), (1, "invoke", "write", 2),
            (0, "ok", "write", 1), (1, "ok", "write", 2)]
    fine = H(*both, (2, "invoke", "read", None), (2, "ok", "read", 2),
             (3, "invoke", "read", None), (3, "ok", "read", 2))
    flip = H(*both, (2, "invoke", "read", None), (2, "ok", "read", 2),
             (3, "invoke", "read", None), (3, "ok", "read", 1))
    assert valid(fine) is True
    assert valid(flip) is False


def test_the_explanation_names_the_last_value_that_could_be_read():
    ops = H((1, "invoke", "write", 4), (1, "ok", "write", 4),
            (1, "invoke", "write", 5), (1, "ok", "write", 5),
            (3, "invoke", "read", None), (3, "ok", "read", 4))
    k = only_key(check_history(ops))
    assert k["explanation"] == (
        "no linearization explains read of 4 by process 3 (invoked at 4.000 s, ok at "
        "5.000 s): the value it could have read was 5 (write of 5 by process 1, ok at "
        "3.000 s)")
    assert [o["index"] for o in k["ops"]] == [2, 3, 4, 5]


# --- cas ------------------------------------------------------------------------------------

def test_cas_swaps_only_from_its_old_value():
    ok = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
           (0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]),
           (1, "invoke", "read", None), (1, "ok", "read", 2))
    bad = H((0, "invoke", "write", 3), (0, "ok", "write", 3),
            (0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]))
    assert valid(ok) is True
    k = only_key(check_history(bad))
    assert k["valid"] is False
    assert "cas from 1 to 2 by process 0" in k["explanation"]
    assert k["explanation"].endswith("the register held 3 (write of 3 by process 0, ok at "
                                     "1.000 s), never 1")


def test_register_model_does_not_know_cas():
    ops = H((0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]))
    with pytest.raises(ConfigError, match="does not know f 'cas'"):
        check_history(ops, model="register")


def test_a_cas_value_that_is_not_a_pair_is_a_format_error():
    ops = H((0, "invoke", "cas", 7), (0, "ok", "cas", 7))
    with pytest.raises(HistoryFormatError, match=r"\[old new\]"):
        check_history(ops)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ConfigError, match="cas-register, kv, register"):
        check_history([], model="queue")
    with pytest.raises(ConfigError):
        LinearizableChecker(model="queue")


# --- fail, info, never completed ------------------------------------------------------------

def test_failed_ops_never_happened():
    failed_write = H((0, "invoke", "write", 5), (0, "fail", "write", 5),
                     (1, "invoke", "read", None), (1, "ok", "read", 5))
    failed_cas = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
                   (0, "invoke", "cas", [1, 2]), (0, "fail", "cas", [1, 2]),
                   (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert valid(failed_write) is False
    assert valid(failed_cas) is True


def test_a_crashed_write_may_take_effect_long_after_it_crashed():
    ops = H((0, "invoke", "write", 1), (0, "info", "write", 1),
            (1, "invoke", "write", 2), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 1))
    assert valid(ops) is True


def test_a_crashed_write_may_never_take_effect():
    ops = H((0, "invoke", "write", 1), (0, "info", "write", 1),
            (2, "invoke", "read", None), (2, "ok", "read", None))
    assert valid(ops) is True


def test_a_crashed_write_cannot_act_before_it_was_invoked():
    ops = H((2, "invoke", "read", None), (2, "ok", "read", 1),
            (0, "invoke", "write", 1), (0, "info", "write", 1))
    assert valid(ops) is False


def test_a_crashed_op_takes_effect_at_most_once():
    ops = H((0, "invoke", "write", 1), (0, "info", "write", 1),
            (1, "invoke", "write", 2), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 1),
            (1, "invoke", "write", 3), (1, "ok", "write", 3),
            (2, "invoke", "read", None), (2, "ok", "read", 1))
    assert valid(ops) is False


def test_never_completed_invocations_are_crashed():
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 2), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 1))
    assert valid(ops) is True
    assert only_key(check_history(ops))["op_count"] == 3


def test_crashed_and_failed_reads_observed_nothing():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "info", "read", 99),
            (2, "invoke", "read", None), (2, "fail", "read", 98))
    assert valid(ops) is True


def test_crashed_cas_may_or_may_not_have_swapped():
    base = [(0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "cas", [1, 2]), (1, "info", "cas", [1, 2])]
    assert valid(H(*base, (2, "invoke", "read", None), (2, "ok", "read", 2))) is True
    assert valid(H(*base, (2, "invoke", "read", None), (2, "ok", "read", 1))) is True
    assert valid(H(*base, (2, "invoke", "read", None), (2, "ok", "read", 3))) is False


def test_crashed_ops_can_chain():
    # Only order: the crashed write of 2, the crashed cas 2 -> 3, then the read of 3.
    ops = H((0, "invoke", "write", 2), (0, "info", "write", 2),
            (1, "invoke", "cas", [2, 3]), (1, "info", "cas", [2, 3]),
            (2, "invoke", "read", None), (2, "ok", "read", 3))
    assert valid(ops) is True


def test_a_write_may_follow_a_read_of_a_crashed_write():
    # Only order: crashed write 2, read 2, write 3, read 3. After the crashed write and the
    # read that observed it, the search must again allow any op (here a write).
    ops = H((0, "invoke", "write", 2), (0, "info", "write", 2),
            (1, "invoke", "read", None), (2, "invoke", "write", 3),
            (1, "ok", "read", 2), (2, "ok", "write", 3),
            (1, "invoke", "read", None), (1, "ok", "read", 3))
    assert valid(ops) is True


def test_a_crashed_op_spent_early_does_not_rule_out_spending_it_late():
    # The only linearization: write 1, write 3, cas 3->1, then the crashed write 3 and the
    # crashed cas 3->2, then cas 2->2. A search that has tried the crashed write early must
    # not take "same ops, same state, more crashed ops spent" as proof for fewer spent.
    ops = H((2, "invoke", "write", 3), (3, "invoke", "write", 1), (2, "ok", "write", 3),
            (4, "invoke", "write", 3), (3, "ok", "write", 1), (5, "invoke", "cas", [3, 2]),
            (6, "invoke", "cas", [3, 1]), (6, "ok", "cas", [3, 1]),
            (7, "invoke", "cas", [2, 2]), (7, "ok", "cas", [2, 2]))
    assert valid(ops) is True


# --- keys, nemesis, malformed histories ------------------------------------------------------

def test_keys_are_checked_apart_and_verdicts_merge():
    ops = H((0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"),
            (1, "invoke", "read", None, "b"), (1, "ok", "read", 1, "b"),
            (1, "invoke", "read", None, "a"), (1, "ok", "read", 1, "a"))
    res = check_history(ops)
    assert res["valid"] is False
    assert res["keys"]["a"]["valid"] is True and res["keys"]["b"]["valid"] is False
    assert res["keys"]["b"]["ops"][0]["key"] == "b"


def test_nemesis_ops_are_ignored():
    ops = H(("nemesis", "invoke", "start", None), (0, "invoke", "write", 1),
            ("nemesis", "info", "start", {"n1": ["n2"]}), (0, "ok", "write", 1),
            ("nemesis", "invoke", "stop", None))
    assert valid(ops) is True


def test_the_completion_may_lack_the_key():
    ops = H((0, "invoke", "write", 1, "k"), (0, "info", "write", "timed-out", None),
            (1, "invoke", "read", None, "k"), (1, "ok", "read", 1, "k"))
    res = check_history(ops)
    assert res["valid"] is True and list(res["keys"]) == ["k"]


@pytest.mark.parametrize("ops, match", [
    (H((0, "invoke", "write", 1), (0, "invoke", "write", 2)), "had not completed"),
    (H((0, "ok", "write", 1),), "completes no invocation"),
    (H((0, "invoke", "write", 1), (0, "ok", "read", 1)), "invoked write but completed read"),
])
def test_malformed_pairing_is_a_format_error(ops, match):
    with pytest.raises(HistoryFormatError, match=match):
        check_history(ops)


# --- kv model -------------------------------------------------------------------------------

def test_kv_model_appends_to_strings():
    ops = H((0, "invoke", "append", "x", "k"), (0, "ok", "append", "x", "k"),
            (1, "invoke", "put", "y", "j"), (1, "ok", "put", "y", "j"),
            (0, "invoke", "append", "z", "k"), (0, "ok", "append", "z", "k"),
            (2, "invoke", "get", None, "k"), (2, "ok", "get", "xz", "k"),
            (2, "invoke", "get", None, "q"), (2, "ok", "get", "", "q"))
    assert valid(ops, model="kv") is True
    ops[7].value = "zx"
    assert valid(ops, model="kv") is False


# --- timeout and the plugin -----------------------------------------------------------------

class FakeClock:
    """Each look at the clock moves it one second on."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now


def test_timeout_between_keys_reports_what_was_decided(monkeypatch):
    monkeypatch.setattr(lin, "time", FakeClock())
    ops = H((0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"),
            (0, "invoke", "write", 1, "b"), (0, "ok", "write", 1, "b"))
    res = check_history(ops, timeout=1.5)
    assert res["valid"] == "unknown"
    assert res["keys"]["a"]["valid"] is True and res["keys"]["b"]["valid"] == "unknown"
    assert res["error"] == "timed out after 1.5 s; decided 1 of 2 keys (a)"


def test_timeout_inside_a_search_is_unknown(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(lin, "time", clock)
    monkeypatch.setattr(search_mod, "time", clock)
    monkeypatch.setattr(search_mod, "_DEADLINE_EVERY", 1)
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 2),
            (0, "ok", "write", 1), (1, "ok", "write", 2))
    res = check_history(ops, timeout=2.5)
    assert res["valid"] == "unknown"
    assert only_key(res)["explanation"].startswith("timed out")
    assert "decided 0 of 1 keys" in res["error"]


def test_small_keys_are_checked_first_under_a_timeout(monkeypatch):
    monkeypatch.setattr(lin, "time", FakeClock())
    ops = H((0, "invoke", "write", 1, "big"), (0, "ok", "write", 1, "big"),
            (0, "invoke", "write", 2, "big"), (0, "ok", "write", 2, "big"),
            (0, "invoke", "write", 1, "small"), (0, "ok", "write", 1, "small"))
    res = check_history(ops, timeout=1.5)
    assert list(res["keys"]) == ["big", "small"]  # reported in history order
    assert res["keys"]["small"]["valid"] is True
    assert res["keys"]["big"]["valid"] == "unknown"


def test_keys_that_print_alike_stay_apart():
    ops = H((0, "invoke", "write", 1, 1), (0, "ok", "write", 1, 1),
            (0, "invoke", "read", None, "1"), (0, "ok", "read", 1, "1"))
    res = check_history(ops)
    assert res["keys"]["1"]["valid"] is True and res["keys"]["'1'"]["valid"] is False


def test_a_false_key_beats_an_unknown_one(monkeypatch):
    monkeypatch.setattr(lin, "time", FakeClock())
    ops = H((0, "invoke", "read", None, "a"), (0, "ok", "read", 7, "a"),
            (0, "invoke", "write", 1, "b"), (0, "ok", "write", 1, "b"))
    assert check_history(ops, timeout=1.5)["valid"] is False


def test_plugin_checks_like_check_history():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 2))
    res = LinearizableChecker().check({"name": "t"}, ops)
    assert res["valid"] is False and res["model"] == "cas-register"
    assert LinearizableChecker(model="register").check({}, ops[:2])["valid"] is True


# --- check_file -----------------------------------------------------------------------------

def test_check_file_reads_a_run_directory(tmp_path):
    write_jsonl(tmp_path / "history.jsonl",
                H((0, "invoke", "write", 1, 3), (0, "ok", "write", 1, 3),
                  (1, "invoke", "read", None, 3), (1, "ok", "read", 2, 3)))
    res = check_file(tmp_path)
    assert res["path"] == str(tmp_path) and res["format"] == "jsonl"
    assert res["valid"] is False and res["keys"]["3"]["valid"] is False
    assert res["read_seconds"] >= 0 and res["seconds"] >= 0 and res["op_count"] == 4


def test_check_file_names_the_file_in_history_errors(tmp_path):
    p = tmp_path / "h.jsonl"
    write_jsonl(p, H((0, "ok", "write", 1)))
    with pytest.raises(HistoryFormatError, match=r"h\.jsonl.*completes no invocation"):
        check_file(p)


def test_check_file_rejects_an_unknown_model(tmp_path):
    with pytest.raises(ConfigError, match="known models"):
        check_file(tmp_path / "nothing.jsonl", model="set")
