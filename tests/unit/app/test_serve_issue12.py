"""Issue 12 in serve: Host checked (DNS rebinding), idle connections closed, long path
segments answered cleanly, listings that do not stat what lies outside the store."""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app import serve as serve_mod
from harness.app.serve import make_server
from tests.unit.app.test_serve import _run


@pytest.fixture
def store(tmp_path: Path) -> Path:
    s = tmp_path / "store"
    rd = _run(s, "kvstore-raft-register", "20261122T004119.662Z", True)
    secret = tmp_path / "secret.txt"
    secret.write_text("x" * 12345)
    os.utime(secret, (0, 0))  # 1970: a date the listing must not show
    os.symlink(secret, rd / "leak.txt")
    os.symlink(rd / "history.jsonl", rd / "inside.jsonl")
    return s


def _serve(store: Path, host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    srv = make_server(store, host, 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[:2]
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def server(store: Path) -> Iterator[tuple[str, int]]:
    yield from _serve(store)


def get(addr: tuple[str, int], path: str, host: str | None = None) -> tuple[int, bytes]:
    c = http.client.HTTPConnection(*addr, timeout=10)
    try:
        c.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            c.putheader("Host", host)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


@pytest.mark.parametrize("host, status", [
    ("evil.example", 421), ("evil.example:{port}", 421), ("127.0.0.2", 421),
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("LOCALHOST", 200),
    ("[::1]:{port}", 200)])
def test_host_header_must_name_the_server(server, host, status):
    code, body = get(server, "/", host=host.format(port=server[1]))
    assert code == status
    if status == 421:
        assert b"kvstore-raft-register" not in body


def test_allowed_hosts():
    allowed_hosts = serve_mod.allowed_hosts
    assert allowed_hosts("0.0.0.0") is None and allowed_hosts("::") is None
    assert allowed_hosts("10.1.2.3") == frozenset({"10.1.2.3", "[10.1.2.3]"})
    assert "localhost" in (allowed_hosts("127.0.0.1") or ())


def test_a_silent_connection_is_closed(store, monkeypatch):
    idle = serve_mod.StoreHandler.timeout  # the socket timeout of every connection
    assert isinstance(idle, (int, float)) and 0 < idle <= 120
    monkeypatch.setattr(serve_mod.StoreHandler, "timeout", 0.3)
    for addr in _serve(store):
        s = socket.create_connection(addr, timeout=10)
        try:
            s.sendall(b"GET / HTTP/1.1\r\n")  # ... and then nothing more
            t = time.monotonic()
            assert s.recv(100) == b""  # the server hung up instead of waiting forever
            assert time.monotonic() - t < 9
        finally:
            s.close()


def test_a_long_path_segment_is_answered_not_dropped(server):
    for path in ("/store/" + "a" * 300, "/store/kvstore-raft-register/" + "b" * 256 + "/x",
                 "/zip/" + "c" * 1000):
        code, _ = get(server, path)
        assert code in (404, 414), (path, code)
    assert get(server, "/")[0] == 200  # and the server still serves


def test_listing_does_not_stat_links_out_of_the_store(server):
    code, body = get(server, "/store/kvstore-raft-register/20261122T004119.662Z/")
    assert code == 200
    doc = body.decode()
    row = next(r for r in doc.split("<tr>") if "leak.txt" in r)
    assert "12345" not in row and "1970-" not in row and "1969-" not in row
    assert "refused" in row
    inside = next(r for r in doc.split("<tr>") if "inside.jsonl" in r)
    assert "refused" not in inside
