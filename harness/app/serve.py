"""``splitbrain serve``: a browser over the store, on 127.0.0.1 unless told otherwise.

    GET /                      index of runs (newest first) and campaigns
    GET /store/<path>          a file of the store (a run's report.html, logs, ...), or a
                               directory listing
    GET /zip/<path>            a directory of the store (a run) as a zip download

    server = make_server("store", "127.0.0.1", 8080); server.serve_forever()

Nothing outside the store is ever served. A request path is percent-decoded once, then
refused (403) if any segment is ``..`` or ``.``, holds a backslash or a NUL, or if the
resolved real path (symlinks followed) is not inside the store's real path; empty segments
are dropped, so ``/store//etc/passwd`` means ``<store>/etc/passwd``. Zips include regular
files only and never follow symlinks.

A path segment longer than a file name can be (255 bytes) is answered 414, never looked up.
A directory listing shows a symlink that leads outside the store as a refused link, without
the size or time of its target.

Against DNS rebinding (a page on evil.example whose name later resolves to 127.0.0.1), a
request's ``Host`` must name the address the server is bound to: that address, and for a
loopback bind also ``localhost``, ``127.0.0.1`` and ``[::1]``; anything else is answered 421.
A server bound to every interface (0.0.0.0, ::) accepts any Host. Every connection has an
idle timeout (``IDLE_TIMEOUT`` s per read or write), so a client that says nothing does not
hold a thread forever.

Everything shown is escaped (jinja2 autoescape). Our own pages carry a Content-Security-Policy
with no scripts at all; files from the store are sent with ``sandbox`` on top, and as
text/plain unless they are a report (text/html), JSON or an image, so a node log named
``x.html`` or ``x.svg`` cannot run anything.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import mimetypes
import os
import shutil
import tempfile
import threading
import zipfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from harness import __version__
from harness.report.render import ENV, verdict_class
from harness.store import list_runs

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
FILE_CSP = "sandbox; " + PAGE_CSP
MAX_LISTING = 2000
MAX_INDEX_RUNS = 1000
MAX_SEGMENT = 255     # bytes in a file name (NAME_MAX)
IDLE_TIMEOUT = 30.0   # seconds a connection may stay silent
# Types a browser may render from the store; anything else is text/plain or a download.
_RENDER = {".html": "text/html; charset=utf-8", ".json": "application/json",
           ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
           ".gif": "image/gif", ".css": "text/css; charset=utf-8"}
_BINARY = {".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst", ".bin", ".core"}


class Refused(Exception):
    """A path that points outside the store, or is malformed."""


class TooLong(Refused):
    """A path segment longer than any file name can be."""


def resolve_in_store(root: Path, url_path: str) -> Path:
    """The real path of ``url_path`` (still percent-encoded, relative to the store) inside
    ``root``; raises Refused for anything that could leave it. The path need not exist."""
    try:
        raw = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        raise Refused("not UTF-8") from None
    parts = raw.split("/")
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_SEGMENT for p in parts):
        raise TooLong(f"a path segment is longer than {MAX_SEGMENT} bytes")
    if any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
        raise Refused(f"path segment not allowed in {raw!r}")
    real_root = Path(os.path.realpath(root))
    cand = Path(os.path.realpath(real_root.joinpath(*[p for p in parts if p])))
    if cand != real_root and real_root not in cand.parents:
        raise Refused(f"{raw!r} leads outside the store")
    return cand


# --- the index ------------------------------------------------------------------------------

_cache: dict[Path, tuple[tuple[float, int], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from disk, cached by mtime and size (results.json of a 100k-op run is
    read once, not at every page view); {} if missing or unreadable."""
    try:
        st = path.stat()
    except OSError:
        return {}
    stamp = (st.st_mtime, st.st_size)
    with _cache_lock:
        hit = _cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        d = {}
    d = d if isinstance(d, dict) else {}
    if "checkers" in d:  # keep the summary only: per-key results can be megabytes
        d = {k: v for k, v in d.items() if k != "checkers"}
    with _cache_lock:
        _cache[path] = (stamp, d)
    return d


def _when(stamp: str) -> str:
    """``20261122T004119.662Z`` -> ``2026-11-22 00:41:19``."""
    try:
        t = dt.datetime.strptime(stamp.split("-")[0][:15], "%Y%m%dT%H%M%S")
        return t.strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def _url(rel: Path | str) -> str:
    return "/".join(quote(p, safe="") for p in Path(rel).parts)


def run_rows(store: Path) -> list[dict[str, Any]]:
    """One row per run directory, newest first."""
    rows = []
    for rd in reversed(list_runs(store)[-MAX_INDEX_RUNS:]):
        res = _read_json(rd / "results.json")
        spec = _read_json(rd / "test.json")
        cov = res.get("fault_coverage")
        faults = [f"{k} ×{v.get('applied', 0)}" if isinstance(v, dict) else str(k)
                  for k, v in (cov.items() if isinstance(cov, dict) else [])]
        counts = res.get("counts")
        counts = counts if isinstance(counts, dict) else {}
        rel = rd.relative_to(store)
        rows.append({
            "test": rd.parent.name, "stamp": rd.name, "when": _when(rd.name),
            "has_results": bool(res), "valid": res.get("valid", "unknown"),
            "verdict": verdict_class(res.get("valid")) if res else "none",
            "mode": spec.get("mode", ""), "workload": spec.get("workload", ""),
            "faults": faults, "ops": counts.get("invoke"),
            "interrupted": res.get("interrupted") is True,
            "report": f"/store/{_url(rel)}/report.html" if (rd / "report.html").is_file()
            else None,
            "files": f"/store/{_url(rel)}/", "zip": f"/zip/{_url(rel)}",
        })
    return rows


def campaign_rows(store: Path) -> list[dict[str, Any]]:
    rows = []
    for cj in sorted((store / "campaigns").glob("*/campaign.json"),
                     key=lambda p: p.stat().st_mtime, reverse=True):
        d = _read_json(cj)
        cells = d.get("cells")
        cells = cells if isinstance(cells, list) else []
        done = sum(1 for c in cells if isinstance(c, dict) and c.get("status") == "done")
        rel = cj.parent.relative_to(store)
        rows.append({"name": cj.parent.name, "done": done, "total": len(cells),
                     "valid": d.get("valid", "unknown"), "verdict": verdict_class(d.get("valid")),
                     "met": d.get("met"), "updated": d.get("updated", ""),
                     "page": f"/store/{_url(rel)}/campaign.html"
                     if (cj.parent / "campaign.html").is_file() else f"/store/{_url(rel)}/"})
    return rows


# --- the handler ----------------------------------------------------------------------------


def allowed_hosts(host: str) -> frozenset[str] | None:
    """The Host header names (lower case, no port) a server bound to ``host`` answers to;
    None for a bind to every interface (any name may reach it)."""
    h = host.strip("[]").lower()
    if h in ("", "0.0.0.0", "::"):
        return None
    names = {h, f"[{h}]"}
    try:
        loopback = ipaddress.ip_address(h).is_loopback
    except ValueError:
        loopback = h == "localhost"
    if loopback:
        names |= {"localhost", "127.0.0.1", "[::1]", "::1"}
    return frozenset(names)


def _host_name(header: str) -> str:
    """``Host: 127.0.0.1:8080`` -> ``127.0.0.1``; ``[::1]:80`` -> ``[::1]``."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class StoreHandler(BaseHTTPRequestHandler):
    server_version = f"splitbrain/{__version__}"
    store: Path = Path("store")  # set per server by make_server
    hosts: frozenset[str] | None = None  # set per server by make_server (allowed_hosts)
    timeout = IDLE_TIMEOUT  # socketserver sets it on the connection: an idle timeout

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    # -- routing

    def _dispatch(self, head: bool) -> None:
        path = urlsplit(self.path).path
        try:
            host = self.headers.get("Host")
            if self.hosts is not None and host is not None and \
                    _host_name(host) not in self.hosts:
                self._error(HTTPStatus.MISDIRECTED_REQUEST,
                            "this server does not answer to that host name", head)
                return
            if path in ("/", "/index.html"):
                self._page("index.html", head, runs=run_rows(self.store),
                           campaigns=campaign_rows(self.store), store=str(self.store))
            elif path == "/store" or path.startswith("/store/"):
                self._store(path.removeprefix("/store").lstrip("/"), head,
                            trailing=path.endswith("/"))
            elif path.startswith("/zip/"):
                self._zip(path.removeprefix("/zip/"), head)
            else:
                self._error(HTTPStatus.NOT_FOUND, "no such page", head)
        except TooLong as e:
            self._error(HTTPStatus.REQUEST_URI_TOO_LONG, str(e), head)
        except Refused as e:
            self._error(HTTPStatus.FORBIDDEN, f"refused: {e}", head)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _store(self, rel: str, head: bool, trailing: bool) -> None:
        p = resolve_in_store(self.store, rel)
        try:
            is_dir, is_file = p.is_dir(), p.is_file()
        except OSError:  # a name the file system refuses (too long, bad bytes)
            is_dir = is_file = False
        if is_dir:
            if not trailing:  # so relative links inside the listing resolve below it
                self._redirect("/store/" + rel + "/" if rel else "/store/")
                return
            self._listing(p, head)
        elif is_file:
            self._file(p, head)
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such file in the store", head)

    # -- responses

    def _send(self, status: HTTPStatus, ctype: str, length: int | None, csp: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _page(self, template: str, head: bool, status: HTTPStatus = HTTPStatus.OK,
              **ctx: Any) -> None:
        body = ENV.get_template(template).render(version=__version__, **ctx).encode(
            "utf-8", "backslashreplace")
        self._send(status, "text/html; charset=utf-8", len(body), PAGE_CSP)
        if not head:
            self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str, head: bool) -> None:
        self._page("error.html", head, status=status, status_code=int(status),
                   status_phrase=status.phrase, message=message)

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.MOVED_PERMANENTLY, "text/plain; charset=utf-8", 0, PAGE_CSP,
                   {"Location": location})

    def _file(self, p: Path, head: bool) -> None:
        ext = p.suffix.lower()
        extra = {}
        if ext in _RENDER:
            ctype = _RENDER[ext]
        elif ext in _BINARY:
            ctype = "application/octet-stream"
            extra["Content-Disposition"] = f'attachment; filename="{_ascii(p.name)}"'
        else:
            guess = mimetypes.guess_type(p.name)[0] or ""
            ctype = "text/plain; charset=utf-8" if not guess.startswith("image/") \
                or ext == ".svg" else guess
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._send(HTTPStatus.OK, ctype, size, FILE_CSP, extra)
            if not head:
                shutil.copyfileobj(f, self.wfile, 256 * 1024)

    def _listing(self, d: Path, head: bool) -> None:
        real_root = Path(os.path.realpath(self.store))
        rel = d.relative_to(real_root) if d != real_root else Path()
        entries = []
        try:
            names = sorted(os.listdir(d))
        except OSError as e:
            self._error(HTTPStatus.FORBIDDEN, f"cannot list: {e.strerror}", head)
            return
        for name in names[:MAX_LISTING]:
            p = d / name
            link = p.is_symlink()
            outside = link and not _inside(real_root, Path(os.path.realpath(p)))
            try:
                # A link out of the store is refused when followed: its target's size and
                # time are not the store's to show either.
                st = None if outside else p.stat()
                is_dir = not outside and p.is_dir()
            except OSError:
                st, is_dir = None, False  # a dangling symlink
            entries.append({"name": name, "href": quote(name, safe="") + ("/" if is_dir else ""),
                            "dir": is_dir, "link": link, "outside": outside,
                            "size": st.st_size if st and not is_dir else None,
                            "mtime": dt.datetime.fromtimestamp(st.st_mtime).strftime(
                                "%Y-%m-%d %H:%M:%S") if st else ""})
        crumbs = [("store", "/store/")]
        acc = "/store"
        for part in rel.parts:
            acc += "/" + quote(part, safe="")
            crumbs.append((part, acc + "/"))
        is_run = (d / "history.jsonl").is_file() or (d / "test.json").is_file()
        self._page("listing.html", head, crumbs=crumbs, entries=entries,
                   more=max(0, len(names) - MAX_LISTING), is_run=is_run,
                   zip="/zip/" + _url(rel) if rel.parts else None,
                   report=(d / "report.html").is_file())

    def _zip(self, rel: str, head: bool) -> None:
        d = resolve_in_store(self.store, rel)
        real_root = Path(os.path.realpath(self.store))
        if not d.is_dir() or d == real_root:
            self._error(HTTPStatus.NOT_FOUND, "no such run directory", head)
            return
        name = "-".join(d.relative_to(real_root).parts)
        with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as buf:
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as z:
                for top, dirs, files in os.walk(d, followlinks=False):
                    dirs[:] = sorted(x for x in dirs if not os.path.islink(os.path.join(top, x)))
                    for fn in sorted(files):
                        fp = Path(top, fn)
                        if fp.is_symlink() or not fp.is_file() or fn.startswith(".report."):
                            continue
                        z.write(fp, Path(name) / fp.relative_to(d))
            size = buf.tell()
            buf.seek(0)
            self._send(HTTPStatus.OK, "application/zip", size, FILE_CSP,
                       {"Content-Disposition": f'attachment; filename="{_ascii(name)}.zip"'})
            if not head:
                shutil.copyfileobj(buf, self.wfile, 256 * 1024)


def _inside(root: Path, p: Path) -> bool:
    return p == root or root in p.parents


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)


class StoreServer(ThreadingHTTPServer):
    daemon_threads = True
    verbose = False


def make_server(store: Path | str, host: str = "127.0.0.1", port: int = 8080,
                verbose: bool = False) -> StoreServer:
    """A server for ``store`` (not yet serving: call serve_forever). Port 0 picks one."""
    handler = type("BoundStoreHandler", (StoreHandler,),
                   {"store": Path(store), "hosts": allowed_hosts(host)})
    server = StoreServer((host, port), handler)
    server.verbose = verbose
    return server
