"""SSHRemote: a node reached over SSH (paramiko), for clusters that are not our containers.

Host keys are verified by default: the server's key must be in ``known_hosts`` (or in
~/.ssh/known_hosts when none is given), else the connection is refused (RejectPolicy).
``verify_host_key=False`` is the explicit, insecure opt-out.

    r = SSHRemote("10.0.0.5", node="n1", key_filename="~/.ssh/id_ed25519",
                  known_hosts="cluster_known_hosts")
    r.run("uname -r").stdout

Like DockerRemote, every command runs under coreutils ``timeout`` on the node, and the
harness additionally gives up on the channel ``kill_after + grace`` seconds after that.
Files go over SFTP. One connection per remote, opened on first use and reopened if it dies;
commands may run from several threads at once (one channel each).
"""
from __future__ import annotations

import os
import posixpath
import select
import stat
import threading
import time
from pathlib import Path
from typing import Self

import paramiko

from harness.api import Command, Result
from harness.control.remote import command_text, is_timeout, timeout_argv
from harness.errors import RemoteError, RemoteTimeout


class SSHRemote:
    def __init__(self, host: str, node: str | None = None, port: int = 22, user: str = "root",
                 key_filename: str | Path | None = None, known_hosts: str | Path | None = None,
                 verify_host_key: bool = True, connect_timeout: float = 10.0, *,
                 pkey: paramiko.PKey | None = None, kill_after: float = 2.0,
                 grace: float = 3.0) -> None:
        self.host, self.port, self.user = host, port, user
        self.node = node or host
        self.key_filename = str(Path(key_filename).expanduser()) if key_filename else None
        self.known_hosts = Path(known_hosts).expanduser() if known_hosts else None
        self.verify_host_key = verify_host_key
        self.connect_timeout = connect_timeout
        self.pkey = pkey
        self.kill_after, self.grace = kill_after, grace
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SSHRemote({self.user}@{self.host}:{self.port}, node={self.node!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # --- connection ------------------------------------------------------------------------

    def _transport(self, what: str) -> paramiko.Transport:
        with self._lock:
            if self._client is not None:
                t = self._client.get_transport()
                if t is not None and t.is_active():
                    return t
                self._client.close()
                self._client = None
            self._client = self._connect(what)
            t = self._client.get_transport()
            assert t is not None
            # keeps NAT/conntrack entries alive and notices a dead peer
            t.set_keepalive(15)
            return t

    def _connect(self, what: str) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        if self.verify_host_key:
            try:
                if self.known_hosts is not None:
                    # as "system" keys: read, never written back
                    client.load_system_host_keys(str(self.known_hosts))
                else:
                    client.load_system_host_keys()
            except OSError as e:
                raise self._error(what, f"cannot read known_hosts: {e}") from None
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            # the explicit opt-out: accept whatever key the host presents, remember nothing
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        default_keys = self.key_filename is None and self.pkey is None
        try:
            client.connect(self.host, port=self.port, username=self.user, pkey=self.pkey,
                           key_filename=self.key_filename, timeout=self.connect_timeout,
                           banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout,
                           allow_agent=default_keys, look_for_keys=default_keys)
        except paramiko.BadHostKeyException as e:
            client.close()
            raise self._error(what, f"host key mismatch for {self.host}: known_hosts has "
                              f"{e.expected_key.fingerprint}, the host sent "
                              f"{e.key.fingerprint} (another machine at that address?)"
                              ) from None
        except paramiko.SSHException as e:
            client.close()
            if "not found in known_hosts" in str(e):
                where = self.known_hosts or "~/.ssh/known_hosts"
                raise self._error(what, f"host key of {self.host} is not in {where} "
                                  "(add it, or pass verify_host_key=False)") from None
            raise self._error(what, f"ssh to {self.user}@{self.host}:{self.port}: {e}") from None
        except OSError as e:
            client.close()
            raise self._error(what, f"cannot connect to {self.host}:{self.port}: {e}") from None
        return client

    def _error(self, what: str, reason: str) -> RemoteError:
        return RemoteError(self.node, what, None, "", reason=f"failed: {reason}")

    # --- commands --------------------------------------------------------------------------

    def run(self, command: Command, *, timeout: float = 30.0, check: bool = True,
            stdin: bytes | None = None) -> Result:
        text = command_text(command)
        wrapped = command_text(timeout_argv(command, timeout, self.kill_after))
        t0 = time.monotonic()
        deadline = t0 + timeout + self.kill_after + self.grace
        transport = self._transport(text)
        try:
            chan = transport.open_session(timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError) as e:
            raise self._error(text, f"cannot open a channel: {e}") from None
        try:
            chan.exec_command(wrapped)
            if stdin is not None:
                chan.settimeout(max(deadline - time.monotonic(), 0.001))
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            chan.shutdown_write()
            out, err, code = _collect(chan, deadline)
        except TimeoutError:
            raise RemoteTimeout(self.node, text, timeout) from None
        except (paramiko.SSHException, OSError) as e:
            raise self._error(text, f"lost the channel: {e}") from None
        finally:
            chan.close()
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        if is_timeout(code, time.monotonic() - t0, timeout):
            raise RemoteTimeout(self.node, text, timeout, stderr)
        if code < 0:
            raise RemoteError(self.node, text, None, stderr,
                              reason="ended without an exit status (killed by a signal?)")
        if check and code != 0:
            raise RemoteError(self.node, text, code, stderr)
        return Result(self.node, text, code, stdout, stderr)

    # --- files -----------------------------------------------------------------------------

    def upload(self, local: Path | str, remote: str, *, timeout: float = 60.0) -> None:
        """Copy a local file or directory to exactly the path ``remote`` (parents created)."""
        src, dest = Path(local), posixpath.normpath(posixpath.join("/", remote))
        what = f"upload {src} {dest}"
        if not src.exists():
            raise self._error(what, f"no such file {src}")
        with self._sftp(what, timeout) as sftp:
            _sftp_makedirs(sftp, posixpath.dirname(dest))
            if src.is_dir():
                for here, _dirs, files in os.walk(src):
                    rel = Path(here).relative_to(src).as_posix()
                    target = posixpath.normpath(posixpath.join(dest, rel))
                    _sftp_makedirs(sftp, target)
                    for f in files:
                        sftp.put(os.path.join(here, f), posixpath.join(target, f))
                        sftp.chmod(posixpath.join(target, f),
                                   stat.S_IMODE(os.stat(os.path.join(here, f)).st_mode))
            else:
                sftp.put(str(src), dest)
                sftp.chmod(dest, stat.S_IMODE(src.stat().st_mode))

    def download(self, remote: str, local: Path | str, *, timeout: float = 60.0) -> None:
        """Copy the node's file or directory ``remote`` to exactly the local path ``local``."""
        src, dest = posixpath.normpath(posixpath.join("/", remote)), Path(local)
        what = f"download {src} {dest}"
        with self._sftp(what, timeout) as sftp:
            try:
                mode = sftp.stat(src).st_mode or 0
            except FileNotFoundError:
                raise self._error(what, "no such file or directory") from None
            dest.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISDIR(mode):
                _sftp_get_tree(sftp, src, dest)
            else:
                sftp.get(src, str(dest))

    def _sftp(self, what: str, timeout: float) -> _SFTPSession:
        return _SFTPSession(self, what, timeout)


class _SFTPSession:
    """An SFTP channel for one transfer, with a per-operation timeout; errors become
    RemoteError/RemoteTimeout."""

    def __init__(self, remote: SSHRemote, what: str, timeout: float) -> None:
        self.remote, self.what, self.timeout = remote, what, timeout
        self.sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> paramiko.SFTPClient:
        transport = self.remote._transport(self.what)
        try:
            sftp = paramiko.SFTPClient.from_transport(transport)
        except (paramiko.SSHException, OSError) as e:
            raise self.remote._error(self.what, f"cannot start sftp: {e}") from None
        channel = sftp.get_channel() if sftp is not None else None
        if sftp is None or channel is None:
            raise self.remote._error(self.what, "sftp session has no channel")
        channel.settimeout(self.timeout)
        self.sftp = sftp
        return sftp

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self.sftp is not None:
            self.sftp.close()
        if isinstance(exc, TimeoutError):
            raise RemoteTimeout(self.remote.node, self.what, self.timeout) from None
        if isinstance(exc, (OSError, paramiko.SSHException)):
            raise self.remote._error(self.what, str(exc) or type(exc).__name__) from None


def _collect(chan: paramiko.Channel, deadline: float) -> tuple[bytes, bytes, int]:
    """Read stdout and stderr as they come (reading one to its end first could stall the
    other's window), until EOF and the exit status; TimeoutError at ``deadline``."""
    out, err = bytearray(), bytearray()
    while True:
        while chan.recv_ready():
            out += chan.recv(1 << 16)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(1 << 16)
        if chan.eof_received and not chan.recv_ready() and not chan.recv_stderr_ready():
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        # the channel's fileno is signalled on data for either stream and on EOF
        select.select([chan], [], [], min(left, 0.5))
    if not chan.status_event.wait(max(deadline - time.monotonic(), 0.001)):
        raise TimeoutError
    return bytes(out), bytes(err), chan.recv_exit_status()


def _sftp_makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    if path in ("", "/"):
        return
    try:
        if stat.S_ISDIR(sftp.stat(path).st_mode or 0):
            return
    except FileNotFoundError:
        pass
    _sftp_makedirs(sftp, posixpath.dirname(path))
    try:
        sftp.mkdir(path)
    except OSError:
        if not stat.S_ISDIR(sftp.stat(path).st_mode or 0):
            raise


def _sftp_get_tree(sftp: paramiko.SFTPClient, src: str, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sftp.listdir_attr(src):
        path = posixpath.join(src, entry.filename)
        mode = entry.st_mode or 0
        if stat.S_ISDIR(mode):
            _sftp_get_tree(sftp, path, dest / entry.filename)
        elif stat.S_ISREG(mode):
            sftp.get(path, str(dest / entry.filename))
