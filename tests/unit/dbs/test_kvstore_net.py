"""kv_net (callback framing and peer links) and raft's batching: definite vs indefinite
failures of a forwarded request, framing across chunks, flow control in the core."""
from __future__ import annotations

import asyncio
import random

from kv_local import free_ports
from kv_net import LineConn, Lost, Peer, Refused
from kv_raft_core import LEADER, RaftCore


def test_lines_split_across_chunks_and_bad_lines_reported():
    got, bad = [], []
    conn = LineConn(lambda c, m: got.append(m), on_bad=lambda c, e: bad.append(e))
    conn.data_received(b'{"a": 1}\n{"b"')
    conn.data_received(b': 2}\nnot json\n\n{"c": [1,')
    assert got == [{"a": 1}, {"b": 2}] and len(bad) == 1
    conn.data_received(b" 2]}\n")
    assert got[-1] == {"c": [1, 2]}


async def _answering_server(behaviour):
    """A server on loopback: 'echo' answers each request, 'silent' never answers, 'close'
    hangs up on the first request."""
    loop = asyncio.get_running_loop()

    def on_msg(conn, msg):
        if behaviour == "echo":
            conn.send({"id": msg["id"], "ok": True, "value": msg.get("key")})
        elif behaviour == "close":
            conn.close()

    srv = await loop.create_server(lambda: LineConn(on_msg), "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


def _request(peer, msg, timeout):
    fut = asyncio.get_running_loop().create_future()
    peer.request(msg, lambda r: fut.done() or fut.set_result(r), timeout)
    return fut


def test_forwarded_request_outcomes_are_definite_or_not_as_they_should_be():
    async def main():
        out = {}
        for behaviour in ("echo", "silent", "close"):
            srv, port = await _answering_server(behaviour)
            peer = Peer("p", ("127.0.0.1", port), log=lambda s: None)
            out[behaviour] = await asyncio.wait_for(
                _request(peer, {"op": "read", "key": 5}, 0.3), 5)
            peer.close()
            srv.close()
        nobody = Peer("q", ("127.0.0.1", free_ports(1)[0]), log=lambda s: None)
        out["refused"] = await asyncio.wait_for(_request(nobody, {"op": "read"}, 1.0), 5)
        cut = Peer("r", ("127.0.0.1", 1), log=lambda s: None)
        cut.blocked = True
        out["blocked"] = await asyncio.wait_for(_request(cut, {"op": "read"}, 1.0), 5)
        return out

    out = asyncio.run(main())
    assert out["echo"] == {"ok": True, "value": 5}  # our id removed
    assert isinstance(out["silent"], Lost)     # sent, no answer: indefinite
    assert isinstance(out["close"], Lost)      # sent, then the line died: indefinite
    assert isinstance(out["refused"], Refused)  # never sent: definite
    assert isinstance(out["blocked"], Refused)


def _leader(n=3):
    nodes = [f"n{i}" for i in range(1, n + 1)]
    core = RaftCore("n1", nodes, rng=random.Random(1))
    core._campaign()
    for p in nodes[1:]:
        core.step({"type": "vote_resp", "term": core.term, "from": p, "to": "n1",
                   "granted": True})
    assert core.role == LEADER
    rd = core.ready()
    core.stabilized(rd.entries[-1][0], rd.entries[-1][1])
    return core, rd


def test_flow_control_holds_new_entries_until_the_peer_acknowledged():
    core, rd = _leader()
    assert {m["to"] for m in rd.messages if m["type"] == "append"} == {"n2", "n3"}
    for i in range(3):  # the noop is in flight: proposals wait
        core.propose({"op": "write", "key": i, "value": i})
        assert [m for m in core.ready().messages if m["type"] == "append"] == []
    core.step({"type": "append_resp", "term": core.term, "from": "n2", "to": "n1",
               "success": True, "match": 1, "hint": 0})
    sent = [m for m in core.ready().messages if m["type"] == "append"]
    assert [(m["to"], len(m["entries"])) for m in sent] == [("n2", 3)]  # one, with all
    for _ in range(2 * core.heartbeat_ticks):  # a heartbeat still reaches the busy peer
        core.tick()
    assert "n3" in {m["to"] for m in core.ready().messages}


def test_heartbeats_go_only_to_peers_that_got_no_append_lately():
    core, _ = _leader()
    for _ in range(core.heartbeat_ticks):
        core.tick()
    core.ready()
    core.propose({"op": "write", "key": 1, "value": 1})
    core.step({"type": "append_resp", "term": core.term, "from": "n2", "to": "n1",
               "success": True, "match": 1, "hint": 0})
    assert [m["to"] for m in core.ready().messages if m["type"] == "append"] == ["n2"]
    for _ in range(core.heartbeat_ticks):
        core.tick()
    assert [m["to"] for m in core.ready().messages if m["type"] == "append"] == ["n3"]
