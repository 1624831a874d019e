from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from harness.errors import ConfigError, HistoryFormatError
from harness.history import HistoryWriter, Op, pair_index, read_jsonl, write_jsonl
from harness.spec import TestSpec
from harness.store import new_run_dir, resolve_run, write_json


def test_history_round_trip_keeps_every_field(tmp_path):
    ops = [Op(type="invoke", f="cas", process=3, key="k", value=[1, 2], time=5),
           Op(type="ok", f="cas", process=3, key="k", value=[1, 2], time=9),
           Op(type="info", f="start-partition", process="nemesis",
              value={"grudge": {"n1": ["n2"]}}, error="x", extra={"node": "n1"}),
           Op(type="ok", f="read", process=4, key=None, value=10**40)]
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        recorded = [w.append(o) for o in ops]
    back = read_jsonl(path)
    assert [o.to_dict() for o in back] == [o.to_dict() for o in recorded]
    assert [o.index for o in ops] == [-1] * 4, "append returns a copy; the caller's op stays"
    assert back[2].extra == {"node": "n1"} and back[3].value == 10**40
    assert [o.index for o in back] == [0, 1, 2, 3]


def test_concurrent_appends_all_land_and_parse(tmp_path):
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)

    def work(p):
        for i in range(500):
            w.append(Op(type="invoke", f="write", process=p, value=i))
    ts = [threading.Thread(target=work, args=(p,)) for p in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    w.close()
    back = read_jsonl(path)
    assert [o.index for o in back] == list(range(4000))


def test_append_stamps_under_the_lock_so_index_order_is_time_order(tmp_path):
    import time
    w = HistoryWriter(tmp_path / "h.jsonl")
    mine = Op(type="invoke", f="write")

    def work(p):
        for _ in range(300):
            w.append(mine, process=p, clock=time.monotonic_ns)
    ts = [threading.Thread(target=work, args=(p,)) for p in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    w.close()
    back = read_jsonl(tmp_path / "h.jsonl")
    assert [o.time for o in back] == sorted(o.time for o in back)
    assert {o.process for o in back} == set(range(6))
    assert (mine.index, mine.process, mine.time) == (-1, -1, -1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mine.index = 3


def test_torn_last_line_is_skipped_but_middle_garbage_is_an_error(tmp_path):
    p = tmp_path / "h.jsonl"
    write_jsonl(p, [Op(type="invoke", f="read", process=0)])
    with open(p, "a") as f:
        f.write('{"index": 1, "ty')
    assert len(read_jsonl(p)) == 1
    p.write_text('{"type":"invoke","f":"read"}\nnot json\n{"type":"ok","f":"read"}\n')
    with pytest.raises(HistoryFormatError, match=r"h.jsonl:2"):
        read_jsonl(p)
    p.write_text('{"type":"done","f":"read"}\n')
    with pytest.raises(HistoryFormatError, match="type must be"):
        read_jsonl(p)


def test_pair_index_matches_by_process():
    ops = [Op("invoke", "w", 0), Op("invoke", "w", 1), Op("ok", "w", 1), Op("info", "w", 0),
           Op("invoke", "r", 2)]
    assert pair_index(ops) == {1: 2, 0: 3}


def test_spec_round_trips_through_json():
    s = TestSpec(nodes=("n1", "n2", "n3"), time_limit=12.5, seed=9, nemesis=["partition"],
                 options={"keys": 3})
    back = TestSpec.from_dict(json.loads(s.to_json()))
    assert back == s and isinstance(back.nodes, tuple)


@pytest.mark.parametrize("bad, match", [
    ({"concurrency": 0}, "concurrency 0"),
    ({"time_limit": -1}, "time limit"),
    ({"rate": 0}, "rate"),
    ({"nodes": ()}, "no nodes"),
    ({"nodes": ("n1", "n1")}, "duplicate"),
    ({"name": "../x"}, "directory name"),
])
def test_spec_rejects_bad_values_with_a_clear_line(bad, match):
    with pytest.raises(ConfigError, match=match):
        TestSpec(**bad)


def test_spec_from_dict_names_unknown_fields():
    with pytest.raises(ConfigError, match="unknown test spec field.*colour"):
        TestSpec.from_dict({"colour": "red"})


def test_store_layout_and_latest_links(tmp_path):
    a = new_run_dir(tmp_path, "t")
    b = new_run_dir(tmp_path, "t")
    assert a != b and (b / "nodes").is_dir()
    assert (tmp_path / "latest").resolve() == b.resolve()
    assert (tmp_path / "t" / "latest").resolve() == b.resolve()
    write_json(b / "results.json", {"valid": True})
    (b / "history.jsonl").write_text("")
    assert resolve_run(tmp_path / "latest") == b.resolve()
    with pytest.raises(ConfigError, match="not a run directory"):
        resolve_run(tmp_path)


# --- the reader's index rule (issue 12) -----------------------------------------------------

def _jsonl(tmp_path, *lines: dict) -> str:
    p = tmp_path / "h.jsonl"
    p.write_text("".join(json.dumps({"type": "invoke", "f": "read", "process": 0} | d) + "\n"
                         for d in lines))
    return str(p)


@pytest.mark.parametrize("indices, match, line", [
    ([0, None, 2], "no 'index' here but one on line 1", 2),     # partial: missing
    ([None, 1], "an 'index' here but none on line 1", 2),      # partial: first has none
    ([0, 1, 1], "index 1 appears twice", 3),
    ([0, "a"], "non-negative integer, got 'a'", 2),
    ([0, True], "non-negative integer, got true", 2),
    ([0, 1.0], "non-negative integer, got 1.0", 2),
    ([0, -5], "non-negative integer, got -5", 2),
])
def test_partial_duplicated_or_non_integer_indices_are_refused(tmp_path, indices, match, line):
    path = _jsonl(tmp_path, *({} if i is None else {"index": i} for i in indices))
    with pytest.raises(HistoryFormatError, match=match) as e:
        read_jsonl(path)
    assert e.value.line == line and e.value.path == path


def test_a_permutation_of_indices_is_sorted_and_no_index_means_file_order(tmp_path):
    path = _jsonl(tmp_path, {"index": 2, "f": "c"}, {"index": 0, "f": "a"},
                  {"index": 1, "f": "b"})
    assert [(o.index, o.f) for o in read_jsonl(path)] == [(0, "a"), (1, "b"), (2, "c")]
    path = _jsonl(tmp_path, {"f": "a"}, {"f": "b", "index": -1}, {"f": "c"})  # -1: none
    assert [(o.index, o.f) for o in read_jsonl(path)] == [(0, "a"), (1, "b"), (2, "c")]


def test_a_partial_index_no_longer_moves_a_read_before_its_write(tmp_path):
    # The case: the read had no index (-1) and was sorted before the write.
    path = _jsonl(tmp_path, {"index": 0, "f": "write", "value": 1},
                  {"f": "read", "type": "invoke"})
    with pytest.raises(HistoryFormatError, match="give every line an index or none"):
        read_jsonl(path)


def test_reader_refuses_what_it_cannot_hold(tmp_path):
    with pytest.raises(HistoryFormatError, match="regular file"):
        read_jsonl("/dev/zero")
    small = _jsonl(tmp_path, {}, {})
    from harness.history import iter_jsonl

    with pytest.raises(HistoryFormatError, match="over the limit"):
        list(iter_jsonl(small, max_bytes=10))
    path = _jsonl(tmp_path, {"process": {"a": 1}})
    with pytest.raises(HistoryFormatError, match="'process' must be an integer or a string"):
        read_jsonl(path)
