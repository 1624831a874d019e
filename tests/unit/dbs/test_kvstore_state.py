"""The kvstore's state machine and write log, in-process (no sockets)."""
from __future__ import annotations

import asyncio

import pytest
from kv_persist import WriteLog
from kv_state import KVState, OpError, norm_key, validate


def test_ops_semantics():
    s = KVState()
    assert s.apply({"op": "read", "key": 1}) == (None, None)
    assert s.apply({"op": "write", "key": 1, "value": 5}) == (None, ("1", 5))
    assert s.apply({"op": "read", "key": "1"}) == (5, None)
    assert s.apply({"op": "cas", "key": 1, "expected": 5, "new": 6}) == (None, ("1", 6))
    with pytest.raises(OpError) as e:
        s.apply({"op": "cas", "key": 1, "expected": 5, "new": 7})
    assert e.value.code == "cas-mismatch"
    assert s.apply({"op": "read", "key": 1}) == (6, None)
    # an absent key compares equal to null: cas(null -> x) creates
    assert s.apply({"op": "cas", "key": "new", "expected": None, "new": 1})[1] == ("new", 1)
    assert s.apply({"op": "incr", "key": "c"}) == (1, ("c", 1))
    assert s.apply({"op": "incr", "key": "c", "value": 4}) == (5, ("c", 5))
    s.apply({"op": "append", "key": "l", "value": 1})
    s.apply({"op": "append", "key": "l", "value": 1})
    s.apply({"op": "add", "key": "s", "value": "a"})
    s.apply({"op": "add", "key": "s", "value": "a"})
    s.apply({"op": "add", "key": "s", "value": "b"})
    assert s.data["l"] == [1, 1] and s.data["s"] == ["a", "b"]


def test_type_errors_are_definite_and_change_nothing():
    s = KVState()
    s.apply({"op": "write", "key": "x", "value": "str"})
    for req in ({"op": "incr", "key": "x"}, {"op": "append", "key": "x", "value": 1},
                {"op": "incr", "key": "y", "value": True}):
        with pytest.raises(OpError) as e:
            s.apply(req)
        assert e.value.code == "type-error"
    assert s.data == {"x": "str"}


@pytest.mark.parametrize("req", [
    [], {"op": "drop", "key": 1}, {"op": "read"}, {"op": "read", "key": [1]},
    {"op": "cas", "key": 1, "expected": 1}, {"op": "write", "key": 1},
])
def test_validate_rejects_malformed(req):
    with pytest.raises(OpError) as e:
        validate(req)
    assert e.value.code == "bad-request"


def test_norm_key():
    assert norm_key(3) == norm_key("3") == "3"
    assert norm_key(None) == "null" and norm_key(True) == "true"


def test_write_log_group_commit_and_replay(tmp_path):
    path = tmp_path / "w.wal"

    async def main():
        log = WriteLog(path)
        for i in range(50):
            log.append({"k": "a", "v": i})
        assert log.pending
        await asyncio.gather(*(log.sync() for _ in range(10)))
        assert not log.pending
        log.append({"k": "b", "v": 1})
        await log.sync()
        log.close()

    asyncio.run(main())
    recs = list(WriteLog(path).replay())
    assert len(recs) == 51 and recs[-1] == {"k": "b", "v": 1}


def test_torn_tail_is_cut_on_replay(tmp_path):
    path = tmp_path / "w.wal"
    path.write_bytes(b'{"k":"a","v":1}\n{"k":"a","v":2}\n{"k":"a","v"')
    assert [r["v"] for r in WriteLog(path).replay()] == [1, 2]
    assert path.read_bytes() == b'{"k":"a","v":1}\n{"k":"a","v":2}\n'
