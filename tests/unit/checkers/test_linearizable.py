"""Hand-made histories for the linearizability checker: each says what it is about."""
from __future__ import annotations

import importlib
from typing import Any

import pytest

from checkers.check import check_file
from checkers.linearizable import LinearizableChecker, check_history
from harness.errors import ConfigError, HistoryFormatError
from harness.history import NEMESIS, Op, write_jsonl

search_mod = importlib.import_module("checkers.linearizable.search")
checker_mod = importlib.import_module("checkers.linearizable.checker")
decide_mod = importlib.import_module("checkers.linearizable.decide")


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
    # No client op, no key: the empty order explains it (Porcupine's etcd_095.log is empty
    # and known linearizable). Not a merge of zero verdicts, which would be "unknown".
    for ops in ([], H((NEMESIS, "invoke", "start-partition", None),
                      (NEMESIS, "info", "start-partition", None))):
        res = check_history(ops)
        assert res["valid"] is True and res["keys"] == {}
        assert res["error"] is None
        assert res["model"] == "cas-register" and res["seconds"] >= 0


def test_sequential_write_then_read():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 1))
    res = check_history(ops, model="register")
    assert res["valid"] is True
    assert res["keys"]["None"] == {"valid": True, "op_count": 2, "explanation": None,
                                   "ops": None, "prefix_ops": 2, "method": "zones"}


def test_read_of_a_value_never_written_is_invalid():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 3))
    k = only_key(check_history(ops))
    assert k["valid"] is False
    assert k["explanation"] == "read returned 3 at 3.000 s, but no op wrote 3"
    assert [o["index"] for o in k["ops"]] == [2, 3]  # the read alone is the witness
    assert k["prefix_ops"] == 1


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
        "read returned 4 at 5.000 s, but write of 5 by process 1 had completed at 3.000 s, "
        "before the read began (at 4.000 s) and after write of 4 by process 1 had completed "
        "(at 1.000 s), and no later write of 4 could have happened")
    assert [o["index"] for o in k["ops"]] == [0, 1, 2, 3, 4, 5]
    assert k["prefix_ops"] == 2 and k["method"] == "zones"


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
    assert k["explanation"] == "cas from 1 to 2 succeeded at 3.000 s, but no op wrote 1"


def test_register_model_does_not_know_cas():
    ops = H((0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]))
    with pytest.raises(ConfigError, match="does not know f 'cas'"):
        check_history(ops, model="register")


def test_a_cas_value_that_is_not_a_pair_is_a_format_error():
    ops = H((0, "invoke", "cas", 7), (0, "ok", "cas", 7))
    with pytest.raises(HistoryFormatError, match=r"\[old new\]"):
        check_history(ops)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ConfigError, match="cas-register, fifo-queue, kv, mutex, register, set"):
        check_history([], model="stack")
    with pytest.raises(ConfigError):
        LinearizableChecker(model="stack")


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
    # the second invocation then completes: every completion pairs, one invocation is lost
    (H((0, "invoke", "write", 1), (0, "invoke", "write", 2), (0, "ok", "write", 2)),
     r"process 0 invoked write while its write \(op index 0\) had not completed"),
    (H((1, "invoke", "read", None), (0, "ok", "write", 1), (1, "ok", "read", None)),
     r"ok write of process 0 completes no invocation \(op index 1\)"),
])
@pytest.mark.parametrize("partition", ["key", None])  # the inline key, and the general path
def test_malformed_pairing_is_a_format_error(ops, match, partition):
    from checkers.linearizable.models import define_model, get_model

    reg = get_model("cas-register")
    model = define_model("one-register", init=None, fs=reg.fs, step=reg.step,
                         partition=partition)
    assert model.by_key is (partition == "key")
    with pytest.raises(HistoryFormatError, match=match):
        check_history(ops, model=model)


# --- kv model -------------------------------------------------------------------------------

def test_kv_model_appends_to_strings():
    ops = H((0, "invoke", "append", "x", "k"), (0, "ok", "append", "x", "k"),
            (1, "invoke", "put", "y", "j"), (1, "ok", "put", "y", "j"),
            (0, "invoke", "append", "z", "k"), (0, "ok", "append", "z", "k"),
            (2, "invoke", "get", None, "k"), (2, "ok", "get", "xz", "k"),
            (2, "invoke", "get", None, "q"), (2, "ok", "get", "", "q"))
    assert valid(ops, model="kv") is True
    ops[7] = ops[7].with_(value="zx")
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
    monkeypatch.setattr(checker_mod, "time", FakeClock())
    ops = H((0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"),
            (0, "invoke", "write", 1, "b"), (0, "ok", "write", 1, "b"))
    res = check_history(ops, timeout=1.5)
    assert res["valid"] == "unknown"
    assert res["keys"]["a"]["valid"] is True and res["keys"]["b"]["valid"] == "unknown"
    assert res["error"] == "timed out after 1.5 s; decided 1 of 2 keys (a)"


def test_timeout_inside_a_search_is_unknown(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(checker_mod, "time", clock)
    monkeypatch.setattr(search_mod, "time", clock)
    monkeypatch.setattr(search_mod, "_DEADLINE_EVERY", 1)
    # The same value written twice: not for the zone checker, so the search runs.
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 1),
            (0, "ok", "write", 1), (1, "ok", "write", 1))
    res = check_history(ops, timeout=2.5)
    assert res["valid"] == "unknown"
    k = only_key(res)
    assert k["explanation"].startswith("timed out") and k["method"] == "search"
    assert k["prefix_ops"] == 0
    assert "decided 0 of 1 keys" in res["error"]


def test_small_keys_are_checked_first_under_a_timeout(monkeypatch):
    monkeypatch.setattr(checker_mod, "time", FakeClock())
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
    monkeypatch.setattr(checker_mod, "time", FakeClock())
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
        check_file(tmp_path / "nothing.jsonl", model="stack")


def test_check_file_takes_an_initial_state(tmp_path):
    write_jsonl(tmp_path / "history.jsonl",
                H((1, "invoke", "read", None), (1, "ok", "read", 0)))
    assert check_file(tmp_path)["valid"] is False
    assert check_file(tmp_path, initial=0)["valid"] is True
    assert check_file(tmp_path, initial=None)["valid"] is False


# --- more models ----------------------------------------------------------------------------

def test_mutex_model():
    ok = H((0, "invoke", "acquire", None), (0, "ok", "acquire", None),
           (0, "invoke", "release", None), (0, "ok", "release", None),
           (1, "invoke", "acquire", None), (1, "ok", "acquire", None))
    assert valid(ok, model="mutex") is True
    both = H((0, "invoke", "acquire", None), (0, "ok", "acquire", None),
             (1, "invoke", "acquire", None), (1, "ok", "acquire", None))
    k = only_key(check_history(both, model="mutex"))
    assert k["valid"] is False and k["method"] == "search"
    assert "acquire by process 1" in k["explanation"]
    crashed_release = H((0, "invoke", "acquire", None), (0, "ok", "acquire", None),
                        (0, "invoke", "release", None), (0, "info", "release", None),
                        (1, "invoke", "acquire", None), (1, "ok", "acquire", None))
    assert valid(crashed_release, model="mutex") is True


def test_set_model():
    ops = H((0, "invoke", "add", 1), (0, "ok", "add", 1),
            (1, "invoke", "add", 2), (2, "invoke", "read", None),
            (2, "ok", "read", [1]), (1, "ok", "add", 2),
            (2, "invoke", "read", None), (2, "ok", "read", [2, 1]))
    assert valid(ops, model="set") is True
    ops[-1] = ops[-1].with_(value=[1])  # 2 was added before this read began
    k = only_key(check_history(ops, model="set"))
    assert k["valid"] is False and "read" in k["explanation"]


def test_fifo_queue_model():
    ops = H((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1),
            (0, "invoke", "enqueue", 2), (0, "ok", "enqueue", 2),
            (1, "invoke", "dequeue", None), (1, "ok", "dequeue", 1),
            (1, "invoke", "dequeue", None), (1, "ok", "dequeue", 2),
            (1, "invoke", "dequeue", None), (1, "ok", "dequeue", None))
    assert valid(ops, model="fifo-queue") is True
    ops[5], ops[7] = ops[5].with_(value=2), ops[7].with_(value=1)  # out of order
    assert valid(ops, model="fifo-queue") is False
    lost = H((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1),
             (1, "invoke", "dequeue", None), (1, "ok", "dequeue", None))
    assert valid(lost, model="fifo-queue") is False  # a nil dequeue saw it empty


def test_a_crashed_dequeue_may_have_taken_the_head():
    ops = H((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1),
            (0, "invoke", "enqueue", 2), (0, "ok", "enqueue", 2),
            (1, "invoke", "dequeue", None), (1, "info", "dequeue", None),
            (2, "invoke", "dequeue", None), (2, "ok", "dequeue", 2))
    assert valid(ops, model="fifo-queue") is True


def test_a_model_of_your_own():
    from checkers.linearizable.models import INVALID, UNKNOWN, define_model

    def step(state, f, value, out):
        if f == "add":
            return state + value
        return state if out is UNKNOWN or out == state else INVALID

    counter = define_model("grow-counter", init=0, fs=("add", "read"), step=step,
                           pure=lambda f, value, out: f == "read")
    ops = H((0, "invoke", "add", 2), (1, "invoke", "read", None), (1, "ok", "read", 0),
            (0, "ok", "add", 2), (1, "invoke", "read", None), (1, "ok", "read", 2))
    res = check_history(ops, model=counter)
    assert res["valid"] is True and res["model"] == "grow-counter"
    ops[-1] = ops[-1].with_(value=3)
    assert check_history(ops, model=counter)["valid"] is False
    assert LinearizableChecker(model=counter).check({}, ops)["valid"] is False


def test_a_model_with_its_own_equality():
    from checkers.linearizable.models import INVALID, define_model

    def step(state, f, value, out):  # states are lists; equal ignores order
        if f == "add":
            return tuple(state) + (value,)
        return state if sorted(out) == sorted(state) else INVALID

    bag = define_model("bag", init=(), fs=("add", "read"), step=step,
                       equal=lambda a, b: sorted(a) == sorted(b),
                       pure=lambda f, value, out: f == "read")
    ops = H((0, "invoke", "add", 1), (1, "invoke", "add", 2), (0, "ok", "add", 1),
            (1, "ok", "add", 2), (2, "invoke", "read", None), (2, "ok", "read", [2, 1]))
    assert valid(ops, model=bag) is True


# --- odd values never crash -----------------------------------------------------------------

@pytest.mark.parametrize("value", ["s p", "", 10**40, -3, 1.5, [1, [2, None]],
                                   {"a": [1, 2]}, [], True])
def test_odd_values_are_just_values(value):
    ops = H((0, "invoke", "write", value), (0, "ok", "write", value),
            (1, "invoke", "read", None), (1, "ok", "read", value),
            (1, "invoke", "cas", [value, "next"]), (1, "ok", "cas", [value, "next"]),
            (2, "invoke", "read", None), (2, "ok", "read", "next"))
    assert valid(ops) is True
    ops[3] = ops[3].with_(value="something else")
    assert valid(ops) is False


def test_a_process_that_never_returns_and_missing_completions():
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 2), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (3, "invoke", "read", None), (3, "ok", "read", 1),
            (3, "invoke", "cas", [1, 3]))
    res = check_history(ops)
    assert res["valid"] is True and only_key(res)["op_count"] == 5


def test_a_checker_failure_is_unknown_with_the_reason(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(decide_mod, "zones", boom)
    ops = H((0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"))
    res = check_history(ops)
    assert res["valid"] == "unknown"
    assert res["keys"]["a"]["explanation"].endswith("RuntimeError: kaboom")
    assert "could not be checked" in res["error"]


# --- explanations ---------------------------------------------------------------------------

def test_overlapping_zones_are_explained(monkeypatch):
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 2),
            (0, "ok", "write", 1), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 2),
            (3, "invoke", "read", None), (3, "ok", "read", 1))
    monkeypatch.setattr(checker_mod, "EXPLAIN_KEYS", 0)  # the sentence on the whole key
    k = only_key(check_history(ops))
    assert k["explanation"] == (
        "the register must have held 1 from 2.000 s (when write of 1 by process 0 completed) "
        "until 6.000 s (when read of 1 by process 3 began), and 2 from 3.000 s (when write of "
        "2 by process 1 completed) until 4.000 s (when read of 2 by process 2 began); those "
        "spans overlap, and each value is written once, so neither can have followed the "
        "other")
    assert sorted(o["index"] for o in k["ops"]) == list(range(8))


def test_the_witness_is_smaller_than_the_history():
    ops = H((0, "invoke", "write", 1), (1, "invoke", "write", 2),
            (0, "ok", "write", 1), (1, "ok", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 2),
            (3, "invoke", "read", None), (3, "ok", "read", 1))
    k = only_key(check_history(ops))
    # write 2 may stay unconfirmed: the read of 2 still needs it before 5.000 s, and the
    # register must hold 1 from 2.000 s to 6.000 s.
    assert [o["index"] for o in k["ops"] if not o.get("relaxed")] == [0, 2, 4, 5, 6, 7]
    assert [o["index"] for o in k["ops"] if o.get("relaxed")] == [1]
    assert k["explanation"].startswith("2 must have been the value at some moment between "
                                       "4.000 s")


def test_two_cas_from_one_value_are_explained():
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "cas", [1, 2]), (1, "ok", "cas", [1, 2]),
            (2, "invoke", "cas", [1, 3]), (2, "ok", "cas", [1, 3]))
    k = only_key(check_history(ops))
    assert k["explanation"] == ("cas from 1 to 2 succeeded at 3.000 s and cas from 1 to 3 "
                                "succeeded at 5.000 s, but 1 was written once, so only one "
                                "cas can have found it")


def test_a_read_before_its_write_is_explained():
    ops = H((1, "invoke", "read", None), (1, "ok", "read", 5),
            (0, "invoke", "write", 5), (0, "ok", "write", 5))
    k = only_key(check_history(ops))
    assert k["explanation"] == ("read returned 5 at 1.000 s, but no op had written 5 by "
                                "then: the only write of it, write of 5 by process 0, was "
                                "invoked later, at 2.000 s")


def test_a_witness_names_the_relaxed_ops_it_needs():
    # The read of 2 needs the crashed write of 2; the stale read of 1 is the violation.
    ops = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
            (1, "invoke", "write", 2), (1, "info", "write", 2),
            (2, "invoke", "read", None), (2, "ok", "read", 2),
            (3, "invoke", "read", None), (3, "ok", "read", 1))
    k = only_key(check_history(ops))
    assert k["valid"] is False
    relaxed = [o for o in k["ops"] if o.get("relaxed")]
    assert [(o["f"], o["value"]) for o in relaxed] == [("write", 2)]


def test_keys_beyond_the_explanation_budget_get_a_sentence(monkeypatch):
    monkeypatch.setattr(checker_mod, "EXPLAIN_KEYS", 1)
    ops = H((0, "invoke", "read", None, "a"), (0, "ok", "read", 7, "a"),
            (0, "invoke", "read", None, "b"), (0, "ok", "read", 8, "b"))
    res = check_history(ops)
    a, b = res["keys"]["a"], res["keys"]["b"]
    assert a["prefix_ops"] == 0 and b["prefix_ops"] is None
    assert b["explanation"] == "read of key 'b' returned 8 at 3.000 s, but no op wrote 8"
    assert b["ops"] and res["explain_seconds"] >= 0


# --- two processes --------------------------------------------------------------------------

def test_two_processes_agree_with_one():
    from harness.testing import register_history

    ops = register_history(5, 600, keys=6, processes=5, crash_rate=0.05)
    last = max(i for i, o in enumerate(ops) if o.type == "ok" and o.f == "read" and o.key == 3)
    ops[last] = ops[last].with_(value=-1)
    one = check_history(ops, workers=1)
    two = check_history(ops, workers=2)
    assert one["valid"] is two["valid"] is False
    assert list(one["keys"]) == list(two["keys"])
    for k in one["keys"]:
        a, b = one["keys"][k], two["keys"][k]
        assert (a["valid"], a["explanation"], a["ops"]) == (b["valid"], b["explanation"],
                                                            b["ops"])

