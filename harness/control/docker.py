"""DockerRemote: a node reached by ``docker exec`` (the harness's control path).

Docker exec has no timeout of its own, so every command gets two:

* on the node, coreutils ``timeout --kill-after=2 <t>`` kills the command's process group;
* in the harness, a deadline of ``t + kill_after + grace`` on the exec's socket, so a wedged
  exec (a paused container, a stuck engine) raises RemoteTimeout instead of hanging us.

One ``run`` is three HTTP calls on the shared Docker client (exec create, start, inspect);
stdout and stderr come back separately (Docker's multiplexed stream, demuxed here).

Start daemons with all three standard streams redirected
(``kv > /var/log/splitbrain/kv.log 2>&1 < /dev/null &``). A background process that keeps
the exec's stdout or stderr open makes Docker wait 2 s for the stream after the command
exits, and that wait also delays the next exec on the same container (measured on Docker
20.10).

Files travel as tar archives (put_archive / get_archive); ``upload`` and ``download`` take
the exact destination path, for files and directories alike:

    r.upload("docker/kvstore", "/opt/splitbrain/kvstore")   # the directory, under that name
    r.download("/var/log/splitbrain/kv.log", "store/x/nodes/n1/kv.log")
"""
from __future__ import annotations

import io
import posixpath
import shutil
import socket
import struct
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import docker.errors
from docker.client import DockerClient
from docker.models.containers import Container

from harness.api import Command, Result
from harness.control.image import DOCKER_ERRORS, docker_client
from harness.control.remote import command_text, is_timeout, timeout_argv
from harness.errors import RemoteError, RemoteTimeout

T = TypeVar("T")

_HEADER = struct.Struct(">BxxxL")  # Docker stream frame: stream id, 3 pad bytes, length


class DockerRemote:
    """One container, addressed by a docker-py Container (or its name/id plus ``client``).

    ``kill_after``: seconds between the node's SIGTERM and SIGKILL on timeout.
    ``grace``: extra seconds the harness waits past that before giving up on the exec.
    """

    def __init__(self, container: Container | str, node: str, *,
                 client: DockerClient | None = None,
                 kill_after: float = 2.0, grace: float = 3.0) -> None:
        if isinstance(container, str):
            client = client or docker_client()
            self._id = container
        else:
            client = client or container.client
            self._id = container.id or container.name
        assert client is not None
        self._api = client.api
        self.node = node
        self.kill_after = kill_after
        self.grace = grace

    def __repr__(self) -> str:
        return f"DockerRemote({self._id[:12]!r}, node={self.node!r})"

    # --- commands ------------------------------------------------------------------------

    def run(self, command: Command, *, timeout: float = 30.0, check: bool = True,
            stdin: bytes | None = None) -> Result:
        text = command_text(command)
        argv = timeout_argv(command, timeout, self.kill_after)
        deadline = time.monotonic() + timeout + self.kill_after + self.grace
        t0 = time.monotonic()
        try:
            exec_id = self._api.exec_create(self._id, argv, stdout=True, stderr=True,
                                            stdin=stdin is not None)["Id"]
            raw = self._api.exec_start(exec_id, socket=True)
        except DOCKER_ERRORS as e:
            raise RemoteError(self.node, text, None, "",
                              reason=f"could not be started: {_explain(e)}") from None
        sock: socket.socket = getattr(raw, "_sock", raw)
        try:
            if stdin is not None:
                _send_all(sock, stdin.encode() if isinstance(stdin, str) else stdin, deadline)
            data = _recv_all(sock, _buffered(raw), deadline)
        except TimeoutError:
            raise RemoteTimeout(self.node, text, timeout) from None
        except OSError as e:
            raise RemoteError(self.node, text, None, "",
                              reason=f"lost the exec stream: {e}") from None
        finally:
            sock.close()
        stdout, stderr = _demux(data)
        code = self._exit_code(exec_id, text, deadline)
        out, err = stdout.decode(errors="replace"), stderr.decode(errors="replace")
        if is_timeout(code, time.monotonic() - t0, timeout):
            raise RemoteTimeout(self.node, text, timeout, err)
        if code is None:
            # the stream ended but Docker never reported an exit: the same as hanging
            raise RemoteTimeout(self.node, text, timeout, err)
        if check and code != 0:
            raise RemoteError(self.node, text, code, err)
        return Result(self.node, text, code, out, err)

    def _exit_code(self, exec_id: str, text: str, deadline: float) -> int | None:
        # The stream can close a moment before Docker records the exit; poll briefly.
        pause = 0.001
        while True:
            try:
                info = self._api.exec_inspect(exec_id)
            except DOCKER_ERRORS as e:
                raise RemoteError(self.node, text, None, "",
                                  reason=f"exit status unknown: {_explain(e)}") from None
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if time.monotonic() + pause > deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    # --- files ---------------------------------------------------------------------------

    def upload(self, local: Path | str, remote: str, *, timeout: float = 60.0) -> None:
        """Copy a local file or directory to exactly the path ``remote`` on the node (missing
        parent directories are created). Ownership becomes root; modes are kept."""
        src = Path(local)
        dest = posixpath.normpath(posixpath.join("/", remote))
        what = f"upload {src} {dest}"
        if not src.exists():
            raise RemoteError(self.node, what, None, "", reason=f"failed: no such file {src}")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            # relative to "/": Docker creates the missing parent directories while extracting
            tar.add(str(src), arcname=dest.lstrip("/"), filter=_as_root)
        self._docker_call(what, timeout, lambda: self._api.put_archive(self._id, "/",
                                                                         buf.getvalue()))

    def download(self, remote: str, local: Path | str, *, timeout: float = 60.0) -> None:
        """Copy the node's file or directory ``remote`` to exactly the local path ``local``
        (a directory is merged into an existing one; a file replaces one)."""
        src = posixpath.normpath(posixpath.join("/", remote))
        dest = Path(local)
        what = f"download {src} {dest}"

        def fetch() -> bytes:
            stream, _stat = self._api.get_archive(self._id, src)
            return b"".join(stream)

        data = self._docker_call(what, timeout, fetch)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download-") as tmp:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp, filter="data")
            top = Path(tmp) / (posixpath.basename(src) or ".")
            if top.is_dir():
                shutil.copytree(top, dest, dirs_exist_ok=True, symlinks=True)
            else:
                if dest.is_dir():
                    raise RemoteError(self.node, what, None, "",
                                      reason=f"failed: {dest} is a directory")
                top.replace(dest)

    def _docker_call(self, what: str, timeout: float, fn: Callable[[], T]) -> T:
        try:
            return _with_deadline(fn, timeout)
        except TimeoutError:
            raise RemoteTimeout(self.node, what, timeout) from None
        except docker.errors.NotFound as e:
            raise RemoteError(self.node, what, None, "",
                              reason=f"failed: not found ({_explain(e)})") from None
        except DOCKER_ERRORS as e:
            raise RemoteError(self.node, what, None, "", reason=f"failed: {_explain(e)}") from None


# --- helpers ---------------------------------------------------------------------------------

def _explain(e: Exception) -> str:
    return str(getattr(e, "explanation", None) or e).strip().splitlines()[0]


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        sock.settimeout(_remaining(deadline))
        n = sock.send(view)
        view = view[n:]
    # half-close: the command sees EOF on stdin, and its output still flows back to us
    sock.shutdown(socket.SHUT_WR)


def _buffered(raw: Any) -> Any:
    """The HTTP response's buffered reader over the exec socket, if we can reach it.

    While reading the "101 UPGRADED" headers, http.client's BufferedReader may already have
    pulled the first bytes of the command's output off the socket; reading the bare socket
    then loses them (seen: an `echo 3` returning "" under load). Reading through the buffered
    reader returns those bytes first."""
    try:
        return raw._response.raw._fp.fp
    except AttributeError:
        return None


def _recv_all(sock: socket.socket, reader: Any, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        sock.settimeout(_remaining(deadline))
        chunk = reader.read1(1 << 16) if reader is not None else sock.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _demux(data: bytes) -> tuple[bytes, bytes]:
    """Split Docker's multiplexed stream: frames of (stream 1=stdout 2=stderr, length, data)."""
    out, err = bytearray(), bytearray()
    pos = 0
    while pos + _HEADER.size <= len(data):
        stream, size = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        (err if stream == 2 else out).extend(data[pos:pos + size])
        pos += size
    return bytes(out), bytes(err)


def _with_deadline(fn: Callable[[], T], timeout: float) -> T:
    """Run ``fn`` in a daemon thread; raise TimeoutError if it is not done in ``timeout`` s.

    The Docker SDK's own timeout applies per socket read, not to a whole transfer; a thread is
    the only way to bound a call we cannot interrupt. A call that overruns is abandoned.
    """
    value: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            value.append(fn())
        except Exception as e:  # re-raised in the caller's thread below
            error.append(e)

    t = threading.Thread(target=target, name="docker-call", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError
    if error:
        raise error[0]
    return value[0]
