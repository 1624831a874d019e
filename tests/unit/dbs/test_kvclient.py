"""KVClient against scripted one-thread servers: every way a call can end."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from dbs.kvstore.client import KVClient, KVError, KVIndefinite, KVUnavailable
from harness.errors import SplitbrainError


class ScriptedServer:
    """Accepts connections; for each request line calls ``behave(req)``, which returns a
    response dict, "hang" (never answer), "close" (drop the connection) or a raw bytes."""

    def __init__(self, behave):
        self.behave = behave
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.requests: list[dict] = []
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            for line in f:
                req = json.loads(line)
                self.requests.append(req)
                out = self.behave(req)
                if out == "hang":
                    continue
                if out == "close":
                    conn.close()
                    return
                if isinstance(out, bytes):
                    conn.sendall(out)
                    continue
                conn.sendall(json.dumps({"id": req["id"], **out}).encode() + b"\n")
        except OSError:
            pass

    def close(self):
        self._stop = True
        self.sock.close()


@pytest.fixture
def serve():
    servers = []

    def make(behave):
        s = ScriptedServer(behave)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_ops_send_the_documented_requests(serve):
    srv = serve(lambda req: {"ok": True, "value": 41 if req["op"] == "incr" else None})
    kv = KVClient("127.0.0.1", srv.port)
    kv.write(1, "a")
    assert kv.read(1) is None
    assert kv.cas(1, "a", "b") is True
    assert kv.incr("c", 2) == 41
    kv.append("l", 3)
    kv.add("s", 4)
    kv.close()
    stripped = [{k: v for k, v in r.items() if k != "id"} for r in srv.requests]
    assert stripped == [
        {"op": "write", "key": 1, "value": "a"}, {"op": "read", "key": 1},
        {"op": "cas", "key": 1, "expected": "a", "new": "b"},
        {"op": "incr", "key": "c", "value": 2}, {"op": "append", "key": "l", "value": 3},
        {"op": "add", "key": "s", "value": 4}]
    assert srv.connections == 1, "one connection reused"
    assert len({r["id"] for r in srv.requests}) == 6


def test_server_errors_keep_code_and_definite(serve):
    answers = {"cas": {"ok": False, "error": "cas-mismatch", "definite": True, "msg": "no"},
               "write": {"ok": False, "error": "timeout", "definite": False, "msg": "slow"},
               "read": {"ok": False, "error": "unavailable", "definite": True, "msg": "down"}}
    srv = serve(lambda req: answers[req["op"]])
    kv = KVClient("127.0.0.1", srv.port)
    assert kv.cas(1, 2, 3) is False
    with pytest.raises(KVError) as e:
        kv.write(1, 1)
    assert (e.value.code, e.value.definite, e.value.msg) == ("timeout", False, "slow")
    assert isinstance(e.value, SplitbrainError) and "indefinite" in str(e.value)
    with pytest.raises(KVError) as e:
        kv.read(1)
    assert e.value.code == "unavailable" and e.value.definite is True
    assert srv.connections == 1, "a server-side error keeps the connection"


def test_refused_is_definite_unavailable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(KVUnavailable) as e:
        KVClient("127.0.0.1", port).write(1, 1)
    assert e.value.definite is True and e.value.code == "unavailable"


def test_no_answer_is_indefinite_timeout_then_reconnects(serve):
    hang = {"on": True}
    srv = serve(lambda req: "hang" if hang["on"] else {"ok": True, "value": 9})
    kv = KVClient("127.0.0.1", srv.port, timeout=0.3)
    with pytest.raises(KVIndefinite) as e:
        kv.write(1, 1)
    assert e.value.definite is False and e.value.code == "timeout"
    hang["on"] = False
    assert kv.read(1) == 9
    assert srv.connections == 2, "a fresh connection after the timeout"


def test_dropped_connection_after_send_is_indefinite(serve):
    drop = {"on": True}
    srv = serve(lambda req: "close" if drop["on"] else {"ok": True, "value": 1})
    kv = KVClient("127.0.0.1", srv.port)
    with pytest.raises(KVIndefinite) as e:
        kv.incr("c")
    assert e.value.code == "connection-lost" and not e.value.definite
    drop["on"] = False
    assert kv.incr("c") == 1


def test_stray_answers_are_skipped(serve):
    def behave(req):
        stale = json.dumps({"id": -1, "ok": True, "value": "stale"}).encode() + b"\n"
        return stale + json.dumps({"id": req["id"], "ok": True, "value": "mine"}).encode() + b"\n"

    kv = KVClient("127.0.0.1", serve(behave).port)
    assert kv.read(1) == "mine"
    assert kv.read(2) == "mine"
