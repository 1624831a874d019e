"""History readers: our jsonl, Jepsen's EDN (vector or a map a line) and Jepsen's log."""
from __future__ import annotations

import pytest

from checkers.formats import load, sniff
from checkers.formats.edn import op_map
from checkers.formats.ednread import EDNError, read_form
from checkers.values import Keyword, Symbol
from harness.errors import ConfigError, HistoryFormatError
from harness.history import Op, write_jsonl

EDN_LINES = """\
{:index 0, :time 10, :type :invoke, :process 0, :f :cas, :value [3 0]}
{:index 1, :time 20, :type :invoke, :process :nemesis, :f :start, :value nil}
{:index 2, :time 30, :type :ok, :process 0, :f :cas, :value [3 0], :node "n1"}
{:index 3, :time 40, :type :info, :process :nemesis, :f :start, :value {:n1 #{"n2"}}}
"""

LOG = """\
2017-03-13 INFO  jepsen.core - Running test
INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0]
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 3\t:ok\t:cas\t[3 0]
INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:info\t:read\tindeterminate: Read timed out
INFO  jepsen.util - 5   :invoke :write  "s p"
INFO  jepsen.util - 5   :ok     :write  "s p"
\tat clojure.lang.AFn.run(AFn.java:22)
2017-03-13 14:30:00,123{GMT}\tINFO\t[jepsen worker 6] jepsen.util: 6\t:invoke\t:read\tnil
"""


def _dicts(ops: list[Op]) -> list[dict]:
    return [o.to_dict() for o in ops]


# --- jsonl ----------------------------------------------------------------------------------

def test_jsonl_round_trip(tmp_path):
    ops = [Op(type="invoke", f="cas", process=3, key="k", value=[1, 2], index=0, time=5),
           Op(type="ok", f="cas", process=3, key="k", value=[1, 2], index=1, time=9,
              extra={"node": "n1"})]
    write_jsonl(tmp_path / "history.jsonl", ops)
    assert _dicts(load(tmp_path / "history.jsonl")) == _dicts(ops)
    assert _dicts(load(tmp_path)) == _dicts(ops)  # a run directory


def test_jsonl_independent_splits_tuples(tmp_path):
    ops = [Op(type="invoke", f="write", process=0, value=[7, 1], index=0),
           Op(type="info", f="write", process=0, value="timed-out", index=1)]
    write_jsonl(tmp_path / "h.jsonl", ops)
    got = load(tmp_path / "h.jsonl", independent=True)
    assert [(o.key, o.value) for o in got] == [(7, 1), (None, "timed-out")]


def test_malformed_jsonl_names_the_line(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"type": "invoke", "f": "read", "process": 0}\n{"type": \n{"type":"ok"}\n')
    with pytest.raises(HistoryFormatError) as e:
        load(p)
    assert e.value.line == 2 and e.value.path == str(p)


# --- edn ------------------------------------------------------------------------------------

def test_edn_one_map_per_line(tmp_path):
    p = tmp_path / "history.edn"
    p.write_text(EDN_LINES)
    ops = load(p)
    assert [o.type for o in ops] == ["invoke", "invoke", "ok", "info"]
    assert ops[0].to_dict() == {"index": 0, "time": 10, "type": "invoke", "process": 0,
                                "f": "cas", "key": None, "value": [3, 0], "error": None}
    assert ops[1].process == "nemesis" and ops[1].value is None
    assert ops[2].extra == {"node": "n1"}
    assert ops[3].value == {Keyword("n1"): frozenset({"n2"})}  # a set: the slow path read the file


def test_edn_vector_equals_lines(tmp_path):
    lines, vec, pretty = (tmp_path / n for n in ("a.edn", "b.edn", "c.edn"))
    lines.write_text(EDN_LINES)
    vec.write_text("[" + EDN_LINES.strip() + "]\n")
    # one op spread over three lines: only the real parser reads that
    pretty.write_text("[{:index 0, :time 10, :type :invoke,\n  :process 0, :f :cas,\n"
                      "  :value [3 0]}\n" + EDN_LINES.split("\n", 1)[1] + "]")
    assert _dicts(load(vec)) == _dicts(load(lines)) == _dicts(load(pretty))


def test_edn_without_index_or_time_gets_position_and_line(tmp_path):
    p = tmp_path / "h.txt"
    p.write_text('{:process 0, :type :invoke, :f :get, :key "5", :value nil}\n\n'
                 '{:process 0, :type :ok, :f :get, :key "5", :value ""}\n')
    ops = load(p)
    assert sniff(p) == "edn"
    assert [(o.index, o.time, o.extra) for o in ops] == [(0, -1, {"line": 1}),
                                                         (1, -1, {"line": 3})]
    assert ops[1].key == "5" and ops[1].value == ""


def test_edn_records_are_their_maps(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, "
                 ":f :read, :value nil}\n")
    assert load(p)[0].f == "read"


def test_edn_independent(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke, :process 0, :f :cas, :value [7 [3 0]]}\n"
                 "{:type :ok, :process 0, :f :cas, :value [7 [3 0]]}\n")
    ops = load(p, independent=True)
    assert [(o.key, o.value) for o in ops] == [(7, [3, 0]), (7, [3, 0])]


@pytest.mark.parametrize("text, line, reason", [
    ("{:type :invoke, :process 0, :f :read}\n{:type :ok :process 0\n", 2, None),
    ("{:type :invoke, :process 0, :f :read}\n{:type :bogus, :process 0, :f :read}\n", 2,
     ":type must be one of"),
    ("{:type :invoke, :process 0, :f :read}\n\n{:type :ok, :process 0}\n", 3, "no :f"),
    ("{:type :invoke, :process \"x\", :f :read}\n", 1, ":process must be"),
    ("{:type :invoke, :process 0, :f :read}\n[1 2]\n", 2, "expected an op map"),
])
def test_malformed_edn_names_the_line(tmp_path, text, line, reason):
    p = tmp_path / "h.edn"
    p.write_text(text)
    with pytest.raises(HistoryFormatError) as e:
        load(p)
    assert e.value.line == line and e.value.path == str(p)
    if reason:
        assert reason in e.value.reason


def test_independent_needs_tuples(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke, :process 0, :f :read, :value [1 nil]}\n"
                 "{:type :ok, :process 0, :f :read, :value 3}\n")
    with pytest.raises(HistoryFormatError, match="not a \\[key value\\] tuple") as e:
        load(p, independent=True)
    assert e.value.line == 2


# --- jepsen log -----------------------------------------------------------------------------

def test_jepsen_log_lines(tmp_path):
    p = tmp_path / "jepsen.log"
    p.write_text(LOG)
    assert sniff(p) == "jepsen-log"
    ops = load(p)
    assert [(o.process, o.type, o.f, o.value) for o in ops] == [
        (3, "invoke", "cas", [3, 0]), ("nemesis", "info", "start", None),
        (3, "ok", "cas", [3, 0]), (4, "invoke", "read", None),
        (4, "info", "read", "indeterminate: Read timed out"),
        (5, "invoke", "write", "s p"), (5, "ok", "write", "s p"), (6, "invoke", "read", None)]
    assert [o.index for o in ops] == list(range(8))
    assert ops[0].extra == {"line": 2} and ops[0].time == -1


def test_jepsen_log_value_then_error():
    from checkers.formats.jepsen_log import log_value as _log_value
    assert _log_value("f", 1, "[3 0]\t:timed-out", "info", 1) == ([3, 0], ":timed-out")


def test_jepsen_log_without_ops_is_an_error(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("INFO  jepsen.core - Running test\nnothing to see\n")
    with pytest.raises(HistoryFormatError, match="no Jepsen op lines"):
        load(p, fmt="jepsen-log")


def test_jepsen_log_unreadable_ok_value_names_the_line(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0\n")
    with pytest.raises(HistoryFormatError) as e:
        load(p)
    assert e.value.line == 1


def test_empty_file_is_an_empty_history(tmp_path):
    for name in ("e.log", "e.edn", "e.jsonl"):
        (tmp_path / name).write_text("\n")
        assert load(tmp_path / name) == []


def test_unknown_content_and_format(tmp_path):
    p = tmp_path / "x.dat"
    p.write_text("hello\n")
    with pytest.raises(HistoryFormatError, match="cannot tell"):
        load(p)
    with pytest.raises(ConfigError, match="unknown format"):
        load(p, fmt="csv")
    with pytest.raises(HistoryFormatError, match="cannot read"):
        load(tmp_path / "missing.edn")
    with pytest.raises(ConfigError, match="without a history.jsonl"):
        load(tmp_path)


# --- the EDN reader -------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("nil", None), (":ok", Keyword("ok")), (":a.b/c", Keyword("a.b/c")), ("-12", -12),
    ("3N", 3), ("1.5", 1.5), ('"a\\"b\\n"', 'a"b\n'),
    ("[1 [2 nil] (3)]", [1, [2, None], [3]]),
    ("{:a 1, :b true}", {Keyword("a"): 1, Keyword("b"): True}), ("#{1}", frozenset({1})),
    ("\\c", "c"), ("sym", Symbol("sym")),
])
def test_read_form(text, value):
    assert read_form(text) == value


@pytest.mark.parametrize("text", ["[1 2", "{:a}", "1 2", "#unknown 3", "", "]"])
def test_read_form_rejects(text):
    with pytest.raises(EDNError):
        read_form(text)


# --- the JSON fast path for EDN -------------------------------------------------------------

def _big_edn(n: int, odd_every: int = 0) -> str:
    out = []
    for i in range(n):
        extra = ', :error [:cas-mismatch "expected \\"3\\", got nil"]' if i % 7 == 3 else ""
        if odd_every and i == n // 2:
            extra += ", :rare-key #{1 2}"  # a set: not JSON; this line takes the EDN reader
        out.append(f"{{:type :{'invoke' if i % 2 == 0 else 'ok'}, :f :cas, "
                   f":value [{i % 5} [nil {i}]], :time {i * 10}, :process {i % 3}{extra}, "
                   f":index {i}}}")
    return "\n".join(out) + "\n"


def test_edn_fast_path_equals_the_edn_reader(tmp_path):
    from checkers.formats.ednread import read_form

    text = _big_edn(300, odd_every=1)
    p = tmp_path / "history.edn"
    p.write_text(text)
    ops = load(p)
    assert len(ops) == 300
    for op, line in zip(ops, text.splitlines()):
        m = op_map(read_form(line))
        assert op.type == m["type"] and op.f == m["f"] and op.value == m["value"]
        assert op.time == m["time"] and op.process == m["process"]
        assert op.error == (None if "error" not in m else str(m["error"]))
    assert ops[150].extra == {"rare-key": frozenset({1, 2})}
    assert ops[3].error == "[:cas-mismatch, 'expected \"3\", got nil']"


def test_edn_fast_path_with_independent_tuples(tmp_path):
    p = tmp_path / "history.edn"
    p.write_text(_big_edn(50))
    ops = load(p, independent=True)
    assert [(o.key, o.value) for o in ops[:2]] == [(0, [None, 0]), (1, [None, 1])]


def test_edn_records_and_a_wrapping_vector_on_the_fast_path(tmp_path):
    p = tmp_path / "history.edn"
    p.write_text("[#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, "
                 ":f :read, :value nil}\n\n"
                 " #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :read, "
                 ":value 3}]\n")
    ops = load(p)
    assert [(o.type, o.value) for o in ops] == [("invoke", None), ("ok", 3)]


def test_a_key_the_sample_missed_is_still_read(tmp_path):
    line = "{:type :ok, :f :read, :value 1, :process 0}"
    odd = "{:type :ok, :f :read, :value 2, :process 0, :late-key :x}"
    p = tmp_path / "history.edn"
    p.write_text("\n".join([line] * 30000 + [odd] + [line] * 30000) + "\n")  # > 2 samples
    ops = load(p)
    assert len(ops) == 60001 and ops[30000].extra == {"late-key": Keyword("x"), "line": 30001}
    assert ops[30000].value == 2 and ops[-1].value == 1


def test_the_json_fast_path_in_two_processes(monkeypatch):
    from checkers.formats import ednjson

    lines = _big_edn(400).splitlines()
    one = ednjson.read_simple_lines(lines)
    monkeypatch.setattr(ednjson, "PARALLEL_MIN_CHARS", 1000)
    monkeypatch.setattr(ednjson, "can_fork", lambda: True)
    assert ednjson.read_simple_lines(lines) == one
    assert ednjson.NOT_READ not in one
