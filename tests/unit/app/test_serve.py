"""splitbrain serve: the index, the file browser, zips, and nothing outside the store."""
from __future__ import annotations

import http.client
import io
import json
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.app import cli
from harness.app.serve import Refused, make_server, resolve_in_store

XSS = "<script>alert(1)</script>"


def _run(store: Path, test: str, stamp: str, valid: Any, ops: int = 1200) -> Path:
    rd = store / test / stamp
    (rd / "nodes" / "n1").mkdir(parents=True)
    (rd / "test.json").write_text(json.dumps({"name": test, "mode": "raft",
                                              "workload": "register"}))
    (rd / "history.jsonl").write_text("")
    (rd / "results.json").write_text(json.dumps({
        "valid": valid, "counts": {"invoke": ops, "ok": ops - 10},
        "fault_coverage": {"partition": {"applied": 3, "failed": 0, "active_seconds": 9}},
        "checkers": {"linearizable": {"valid": valid, "keys": {"1": {"valid": valid}}}}}))
    (rd / "report.html").write_text("<!DOCTYPE html><title>report</title><p>the report</p>")
    (rd / "nodes" / "n1" / "kvstore.log").write_text("node log line\n")
    (rd / "nodes" / "n1" / "evil.html").write_text("<script>alert(1)</script>")
    return rd


@pytest.fixture
def store(tmp_path: Path) -> Path:
    s = tmp_path / "store"
    _run(s, "kvstore-raft-register", "20261122T004119.662Z", True)
    bad = _run(s, "kvstore-lease-register", "20261122T010000.000Z", False, ops=777)
    _run(s, XSS.replace("/", "_"), "20261122T020000.000Z", "unknown")
    os.symlink(bad.relative_to(s), s / "latest")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", s / "leak.txt")
    os.symlink(tmp_path, s / "outside")
    os.symlink(tmp_path / "secret.txt", bad / "nodes" / "n1" / "leak.log")
    cdir = s / "campaigns" / "c1"
    cdir.mkdir(parents=True)
    (cdir / "campaign.json").write_text(json.dumps({
        "valid": False, "met": True, "cells": [{"status": "done"}, {"status": "pending"}]}))
    (cdir / "campaign.html").write_text("<p>campaign</p>")
    return s


@pytest.fixture
def server(store: Path) -> Iterator[tuple[str, int]]:
    srv = make_server(store, "127.0.0.1", 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[:2]
    finally:
        srv.shutdown()
        srv.server_close()


def get(addr: tuple[str, int], path: str, method: str = "GET"
        ) -> tuple[int, dict[str, str], bytes]:
    """A raw request: the path goes on the wire exactly as given (no client cleanup)."""
    c = http.client.HTTPConnection(*addr, timeout=10)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        c.endheaders()
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_index_lists_runs_newest_first_with_verdicts(server):
    status, headers, body = get(server, "/")
    doc = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    rows = doc[doc.index('id="runs"'):]
    assert rows.index("kvstore-lease-register") < rows.index("kvstore-raft-register")
    assert 'class="run invalid"' in doc and 'class="run valid"' in doc
    assert 'class="run unknown"' in doc
    assert "777" in doc and "partition ×3" in doc and "2026-11-22 01:00:00" in doc
    assert 'href="/store/kvstore-lease-register/20261122T010000.000Z/report.html"' in doc
    assert 'href="/zip/kvstore-lease-register/20261122T010000.000Z"' in doc
    assert "<script" not in doc and "&lt;script&gt;alert(1)&lt;_script&gt;" in doc
    assert "c1" in doc and "1 / 2" in doc  # the campaign


def test_files_and_directory_listing(server):
    status, headers, body = get(server, "/store/latest/nodes/n1/kvstore.log")
    assert status == 200 and body == b"node log line\n"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-security-policy"].startswith("sandbox")
    status, headers, body = get(server, "/store/latest/report.html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"].startswith("sandbox")
    # An HTML file in a node's logs is served, but sandboxed with no scripts allowed.
    status, headers, _ = get(server, "/store/latest/nodes/n1/evil.html")
    assert status == 200 and "sandbox" in headers["content-security-policy"]
    status, headers, _ = get(server, "/store/latest")
    assert status == 301 and headers["location"] == "/store/latest/"
    status, _, body = get(server, "/store/latest/")
    doc = body.decode()
    assert status == 200 and 'href="report.html"' in doc and 'href="nodes/"' in doc
    assert 'href="/zip/kvstore-lease-register/20261122T010000.000Z"' in doc
    status, _, body = get(server, "/store/")
    assert status == 200 and "kvstore-raft-register/" in body.decode()
    assert "&lt;script&gt;" in body.decode()
    status, _, body = get(server, "/store/latest/results.json", method="HEAD")
    assert status == 200 and body == b""
    assert get(server, "/store/nope.txt")[0] == 404
    assert get(server, "/elsewhere")[0] == 404


@pytest.mark.parametrize("path", [
    "/store/../secret.txt",
    "/store/%2e%2e/secret.txt",
    "/store/%2E%2E%2Fsecret.txt",
    "/store/latest/../../../secret.txt",
    "/store/latest/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/store/..%5csecret.txt",
    "/store/./latest",
    "/store/leak.txt",               # a symlink in the store pointing out of it
    "/store/outside/secret.txt",     # a symlinked directory pointing out
    "/store/latest/nodes/n1/leak.log",
    "/zip/..",
    "/zip/%2e%2e",
    "/zip/outside",
    "/store/%00",
    "/store/%ff",
])
def test_paths_outside_the_store_are_refused(server, path):
    status, _, body = get(server, path)
    assert status == 403, (path, status)
    assert b"TOP SECRET" not in body


@pytest.mark.parametrize("path", ["/store//etc/passwd", "/store/%2Fetc%2Fpasswd",
                                  "//etc/passwd", "/store/%2F%2Fetc/passwd"])
def test_absolute_paths_stay_inside_the_store(server, path):
    status, _, body = get(server, path)
    assert status == 404 and b"root:" not in body


def test_resolve_in_store(tmp_path):
    (tmp_path / "a").mkdir()
    assert resolve_in_store(tmp_path, "a/b%20c") == tmp_path.resolve() / "a" / "b c"
    assert resolve_in_store(tmp_path, "") == tmp_path.resolve()
    for bad in ("..", "a/..", "%2e%2e", "a%2f..%2f..", "a\\b"):
        with pytest.raises(Refused):
            resolve_in_store(tmp_path, bad)


def test_zip_of_a_run(server):
    status, headers, body = get(server, "/zip/latest")
    assert status == 200 and headers["content-type"] == "application/zip"
    assert 'filename="kvstore-lease-register-20261122T010000.000Z.zip"' in \
        headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    top = "kvstore-lease-register-20261122T010000.000Z"
    assert f"{top}/results.json" in names and f"{top}/nodes/n1/kvstore.log" in names
    assert not any("leak" in n for n in names)  # symlinks are not followed
    z = zipfile.ZipFile(io.BytesIO(body))
    assert b"TOP SECRET" not in b"".join(z.read(n) for n in names)
    assert get(server, "/zip/")[0] == 404           # not the whole store
    assert get(server, "/zip/nope")[0] == 404


def test_binds_loopback_by_default(store):
    srv = make_server(store, port=0)
    try:
        assert srv.server_address[0] == "127.0.0.1"
    finally:
        srv.server_close()


def test_cli_serve_refuses_a_missing_store(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["serve", "--store", str(tmp_path / "nope"), "--port", "0"])
    assert e.value.code == 254
    assert "no store at" in capsys.readouterr().err


def test_cli_serve_defaults():
    params = {p.name: p.default for p in cli.serve.params}
    assert params["host"] == "127.0.0.1" and params["port"] == 8080
    assert params["store"] == "store"
