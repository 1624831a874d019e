"""KVClient: the host-side client of splitbrain's key-value store (docker/kvstore).

The db hands it to workloads (``KVStoreDB.kv(ctx, node)``): a harness.api.KV with every
optional capability (KVIncr, KVAppend, KVAdd). Synchronous, one TCP connection reused across
calls, reconnected on the next call after any error. Speaks the JSON-lines protocol
documented in docker/kvstore/kvstore.py.

    >>> kv = KVClient("10.0.0.2")                    # doctest: +SKIP
    >>> kv.write(3, 7); kv.cas(3, 7, 8); kv.read(3)  # doctest: +SKIP
    8

Errors, each with ``code``, ``definite``, ``msg`` and ``host``:

    SplitbrainError, harness.api.StoreError (what workloads catch)
    └── KVError             the server answered ok=false; ``definite`` as the server said
        ├── KVUnavailable   could not connect: the request was never sent (definite=True)
        └── KVIndefinite    sent, then a timeout or a lost connection (definite=False)

``definite=True`` means the op surely did not happen, so a workload may record it as ``fail``;
otherwise it must be ``info``. ``cas`` does not raise on a failed precondition: it returns
False (the server's definite "cas-mismatch").
"""
from __future__ import annotations

import itertools
import json
import socket
import time
from typing import Any, Self

from harness.api import StoreError
from harness.errors import SplitbrainError


class KVError(SplitbrainError, StoreError):
    def __init__(self, code: str, definite: bool, msg: str = "", host: str = ""):
        self.code, self.definite, self.msg, self.host = code, definite, msg, host
        where = f" from {host}" if host else ""
        kind = "definite" if definite else "indefinite"
        super().__init__(f"{code}{where} ({kind}): {msg}" if msg else f"{code}{where} ({kind})")


class KVUnavailable(KVError):
    """Connecting failed; nothing was sent."""

    def __init__(self, msg: str, host: str = ""):
        super().__init__("unavailable", True, msg, host)


class KVIndefinite(KVError):
    """The request went out and no answer came back: it may or may not have taken effect."""

    def __init__(self, code: str, msg: str, host: str = ""):
        super().__init__(code, False, msg, host)


class KVClient:
    """``KVClient(host, port=7000, timeout=1.0)``; ``timeout`` bounds each call (connect,
    send and wait for the answer)."""

    def __init__(self, host: str, port: int = 7000, timeout: float = 1.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self._ids = itertools.count(1)

    # --- ops ---------------------------------------------------------------------------

    def read(self, key: Any) -> Any:
        """The value at ``key``, None if absent."""
        return self.request({"op": "read", "key": key})

    def write(self, key: Any, value: Any) -> None:
        self.request({"op": "write", "key": key, "value": value})

    def cas(self, key: Any, expected: Any, new: Any) -> bool:
        """True if the value was ``expected`` and is now ``new``; False on cas-mismatch."""
        try:
            self.request({"op": "cas", "key": key, "expected": expected, "new": new})
        except KVError as e:
            if e.code == "cas-mismatch":
                return False
            raise
        return True

    def incr(self, key: Any, delta: int = 1) -> int:
        """Add ``delta`` (an absent key counts as 0); returns the new value."""
        return int(self.request({"op": "incr", "key": key, "value": delta}))

    def append(self, key: Any, value: Any) -> None:
        """Append ``value`` to the list at ``key``."""
        self.request({"op": "append", "key": key, "value": value})

    def add(self, key: Any, value: Any) -> None:
        """Add ``value`` to the set (a list without duplicates) at ``key``."""
        self.request({"op": "add", "key": key, "value": value})

    def status(self) -> dict[str, Any]:
        """The node's view: {"mode", "node", "role", "leader", ...}."""
        return dict(self.request({"op": "status"}))

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- wire ----------------------------------------------------------------------------

    def request(self, msg: dict[str, Any]) -> Any:
        """Send one request, return the answer's value or raise a KVError."""
        rid = next(self._ids)
        deadline = time.monotonic() + self.timeout
        line = json.dumps({"id": rid, **msg}, separators=(",", ":")).encode() + b"\n"
        sock = self._connect()
        try:
            sock.sendall(line)
            resp = self._read_answer(sock, rid, deadline)
        except TimeoutError:
            self.close()
            raise KVIndefinite("timeout", f"no answer within {self.timeout:g}s",
                               self.host) from None
        except (OSError, ValueError) as e:
            self.close()
            raise KVIndefinite("connection-lost", f"{type(e).__name__}: {e}",
                               self.host) from None
        if resp.get("ok"):
            return resp.get("value")
        raise KVError(str(resp.get("error", "unknown")), bool(resp.get("definite", False)),
                      str(resp.get("msg", "")), self.host)

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:  # refused, unreachable, or connect timeout: nothing sent
            raise KVUnavailable(f"cannot connect to {self.host}:{self.port}: {e}",
                                self.host) from None
        sock.settimeout(self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buf = sock, b""
        return sock

    def _read_answer(self, sock: socket.socket, rid: int, deadline: float) -> dict[str, Any]:
        # One request at a time per connection, but skip any stray answer to be safe.
        while True:
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("deadline passed")
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("server closed the connection")
                self._buf += chunk
            line, _, self._buf = self._buf.partition(b"\n")
            resp = json.loads(line)
            if isinstance(resp, dict) and resp.get("id") == rid:
                return resp
