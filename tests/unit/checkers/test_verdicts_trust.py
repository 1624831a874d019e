"""Issue 12: verdicts you can trust. Unread is not lost; values compare as Knossos's `=`;
bad files are their own result, never a traceback."""
from __future__ import annotations

from typing import Any

import pytest

from checkers.check import check_paths
from checkers.formats import load
from checkers.linearizable import check_history
from checkers.lost_update import LostUpdateChecker
from checkers.sets import SetChecker, SetFullChecker
from checkers.values import Keyword, Symbol
from harness.errors import ConfigError, HistoryFormatError
from harness.history import Op


def H(*events: tuple[Any, ...]) -> list[Op]:
    """(process, type, f, key, value), one second apart."""
    return [Op(type=t, f=f, process=p, key=k, value=v, index=i, time=i * 10**9)
            for i, (p, t, f, k, v) in enumerate(events)]


# --- 1. an update is lost only to a read invoked after it was acknowledged ------------------

def _late_add() -> list[Op]:
    # add 1 acked, the last ok read begins, add 2 is acked while it runs, the read returns
    # [1]; the final reads after that failed (not-leader): nothing read after add 2.
    return H((0, "invoke", "add", 0, 1), (0, "ok", "add", 0, 1),
             (1, "invoke", "read", 0, None),
             (0, "invoke", "add", 0, 2), (0, "ok", "add", 0, 2),
             (1, "ok", "read", 0, [1]),
             (2, "invoke", "read", 0, None), (2, "fail", "read", 0, None))


@pytest.mark.parametrize("checker", [SetChecker(), LostUpdateChecker(updates=("add",))])
def test_an_add_acknowledged_after_the_final_read_began_is_unread_not_lost(checker):
    res = checker.check({}, _late_add())
    assert res["valid"] == "unknown" and res["lost_count"] == 0
    assert res["unread_count"] == 1 and res["unread"][0]["value"] == 2
    assert res["unread"][0]["seen"] is False and "unread, not lost" in res["why"]
    full = SetFullChecker().check({}, _late_add())  # set-full calls the same add never-read
    assert [r["value"] for r in full["never_read"]] == [2] and full["lost_count"] == 0


def test_an_add_acknowledged_before_the_final_read_began_is_lost():
    ops = _late_add() + [Op("invoke", "read", 3, 0, None, index=8, time=9 * 10**9),
                 Op("ok", "read", 3, 0, [1], index=9, time=10 * 10**9)]  # a later read
    res = SetChecker().check({}, ops)
    assert res["valid"] is False and res["lost_count"] == 1 and res["lost"][0]["value"] == 2
    assert res["unread_count"] == 0 and res["why"] is None


def test_an_unread_add_the_read_shows_anyway_leaves_the_verdict_alone():
    ops = H((0, "invoke", "add", 0, 1), (1, "invoke", "read", 0, None),
            (0, "ok", "add", 0, 1), (1, "ok", "read", 0, [1]))
    res = SetChecker().check({}, ops)
    assert res["valid"] is True and res["unread"][0]["seen"] is True


def test_unhashable_process_is_a_format_error_not_a_crash():
    ops = [Op("invoke", "add", [1], 0, 1, index=0), Op("ok", "add", [1], 0, 1, index=1)]
    for checker in (SetChecker(), SetFullChecker()):
        with pytest.raises(HistoryFormatError, match="process"):
            checker.check({}, ops)
    with pytest.raises(HistoryFormatError, match="process"):
        check_history(ops, model="set")


def test_unhashable_keys_are_checked():
    ops = H((0, "invoke", "add", [1, 2], 1), (0, "ok", "add", [1, 2], 1),
            (1, "invoke", "read", [1, 2], None), (1, "ok", "read", [1, 2], [1]))
    assert SetChecker().check({}, ops)["valid"] is True
    assert SetFullChecker().check({}, ops)["valid"] is True


# --- 2. values compare as Clojure's = and JSON's types --------------------------------------

def _wr(written: Any, read: Any) -> list[Op]:
    return H((0, "invoke", "write", None, written), (0, "ok", "write", None, written),
             (1, "invoke", "read", None, None), (1, "ok", "read", None, read))


@pytest.mark.parametrize("written, read", [
    (Keyword("a"), "a"), ("a", Keyword("a")), (1, 1.0), (1.0, 1), (1, True), (0, False),
    (True, 1), ("a", Symbol("a")), (Symbol("a"), Keyword("a")), ([1, 2], [1, 2.0]),
    ({"a": 1}, [["a", 1]]), ({"a": True}, {"a": 1}), ([0], [False]),
])
def test_a_value_of_another_type_is_not_the_value_written(written, read):
    for model in ("register", "cas-register"):
        res = check_history(_wr(written, read), model=model)
        assert res["valid"] is False, (written, read, model)


@pytest.mark.parametrize("value", [Keyword("a"), 1.5, True, False, [1, [2.0, True]],
                                   {"a": [1.0]}, Symbol("s"), None, "a", 7])
def test_the_same_value_is_still_equal(value):
    assert check_history(_wr(value, value), model="cas-register")["valid"] is True


def test_cas_compares_exactly():
    ops = H((0, "invoke", "write", None, 1), (0, "ok", "write", None, 1),
            (0, "invoke", "cas", None, [True, 2]), (0, "ok", "cas", None, [True, 2]))
    assert check_history(ops, model="cas-register")["valid"] is False


def test_edn_keyword_read_as_a_string_is_not_linearizable(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text('{:type :invoke, :f :write, :value :a, :process 0, :index 0}\n'
                 '{:type :ok, :f :write, :value :a, :process 0, :index 1}\n'
                 '{:type :invoke, :f :read, :value nil, :process 1, :index 2}\n'
                 '{:type :ok, :f :read, :value "a", :process 1, :index 3}\n')
    ops = load(p)
    assert ops[1].value == Keyword("a") and ops[3].value == "a"
    res = check_history(ops, model="register")
    assert res["valid"] is False and "no op wrote 'a'" in res["keys"]["None"]["explanation"]


def test_json_true_after_one_is_not_linearizable(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"type":"invoke","f":"write","process":0,"value":1}\n'
                 '{"type":"ok","f":"write","process":0,"value":1}\n'
                 '{"type":"invoke","f":"read","process":1,"value":null}\n'
                 '{"type":"ok","f":"read","process":1,"value":true}\n')
    assert check_history(load(p), model="register")["valid"] is False


def test_mutex_still_works():
    ops = H((0, "invoke", "acquire", None, None), (0, "ok", "acquire", None, None),
            (1, "invoke", "acquire", None, None), (1, "ok", "acquire", None, None))
    assert check_history(ops, model="mutex")["valid"] is False
    assert check_history(ops[:2], model="mutex")["valid"] is True


# --- 4. bad inputs are one line, never a traceback ------------------------------------------

DEEP = "[" * 1000 + "]" * 1000
BIG = "1" * 5000


@pytest.mark.parametrize("name, text", [
    ("list-process.jsonl", '{"type":"invoke","f":"read","process":[1]}\n'),
    ("index-a.jsonl", '{"index":1,"type":"invoke","f":"read","process":0}\n'
                      '{"index":"a","type":"ok","f":"read","process":0}\n'),
    ("big.jsonl", '{"type":"invoke","f":"read","process":0,"value":' + BIG + '}\n'),
    ("deep.jsonl", '{"type":"invoke","f":"read","process":0,"value":' + DEEP + '}\n'),
    ("deep-map.jsonl", '{"type":"invoke","f":"read","process":0,"value":'
                       + '{"a":' * 1000 + '1' + '}' * 1000 + '}\n'),
    ("big.edn", '{:type :invoke, :f :read, :process 0, :value ' + BIG + '}\n'),
    ("deep.edn", '{:type :invoke, :f :read, :process 0, :value ' + DEEP + '}\n'),
    ("deep-set.edn", '{:type :invoke, :f :read, :process 0, :value '
                     + "#{" * 1000 + "}" * 1000 + '}\n'),
    ("deep-list.edn", '{:type :invoke, :f :read, :process 0, :value '
                      + "(" * 1000 + ")" * 1000 + '}\n'),
    ("big.log", 'INFO  jepsen.util - 0\t:invoke\t:read\t' + BIG + '\n'),
    ("bigproc.log", 'INFO  jepsen.util - ' + BIG + '\t:invoke\t:read\tnil\n'),
    ("deep.log", 'INFO  jepsen.util - 0\t:invoke\t:read\t' + DEEP + '\n'),
    ("typelist.edn", '{:type [1], :f :read, :process 0}\n'),
])
def test_bad_input_is_a_format_error(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(HistoryFormatError) as e:
        load(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_dev_zero_and_a_fifo_are_refused_up_front(tmp_path):
    import os

    with pytest.raises(HistoryFormatError, match="regular file"):
        load("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(HistoryFormatError, match="FIFO"):
        load(fifo)  # would block forever if opened


# --- 5. many files: a bad file is its own result --------------------------------------------

GOOD = ('{"type":"invoke","f":"write","process":0,"value":1}\n'
        '{"type":"ok","f":"write","process":0,"value":1}\n')


def test_check_paths_gives_each_file_its_result(tmp_path):
    a, b, c, d = (tmp_path / n for n in ("a.jsonl", "b.jsonl", "c.jsonl", "d.edn"))
    a.write_text(GOOD)
    b.write_text('{"type":"invoke","f":"frobnicate","process":0}\n')  # unknown f
    c.write_text('{"type":\n')
    d.write_text(GOOD)  # JSONL in a .edn file: sniffed by extension as edn ...
    res = list(check_paths([a, b, c, a], model="register"))
    assert [r["valid"] for r in res] == [True, "unknown", "unknown", True]
    assert "frobnicate" in (res[1]["error"] or "") and "c.jsonl:1" in (res[2]["error"] or "")
    (forced,) = check_paths([a], model="register", fmt="edn")
    assert forced["valid"] == "unknown" and "content is jsonl" in (forced["error"] or "")


def test_check_paths_bad_arguments_raise_before_reading(tmp_path):
    (tmp_path / "a.jsonl").write_text(GOOD)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="unknown model"):
        check_paths([tmp_path / "a.jsonl"], model="nope")
    with pytest.raises(ConfigError, match="unknown format"):
        check_paths([tmp_path / "a.jsonl"], fmt="csv")
    with pytest.raises(ConfigError, match="without a history"):
        check_paths([tmp_path / "a.jsonl", empty])
    with pytest.raises(ConfigError, match="no such file"):
        check_paths([tmp_path / "missing.jsonl"])
