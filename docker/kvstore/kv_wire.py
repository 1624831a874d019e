"""JSON lines on TCP: framing, node addresses, and the two kinds of peer link.

``PeerConn`` is a multiplexed request/response link (a follower forwarding client requests):
many requests in flight on one connection, answers matched by id. It tells apart the two
ways a forward can fail, because the client's history depends on it:

    Refused  the connection could not be made: the request surely was not sent (definite)
    Lost     sent, but no answer in time or the connection died (indefinite)

``PeerSender`` is one-way (Raft messages): fire and forget, drop on trouble, reconnect later;
Raft tolerates lost messages by design.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

MAX_LINE = 16 * 1024 * 1024
Log = Callable[[str], None]


def error(code: str, definite: bool, msg: str) -> dict[str, Any]:
    """A client's answer for an op that did not succeed: ``definite`` says it surely did not
    take effect (the harness records fail), else it may have (info)."""
    return {"ok": False, "error": code, "definite": definite, "msg": msg}


def encode(msg: Any) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


async def read_msg(reader: asyncio.StreamReader) -> Any:
    """One decoded line, or None at end of stream. Raises ValueError on a malformed line."""
    line = await reader.readline()
    if not line:
        return None
    if not line.endswith(b"\n"):
        return None  # the peer went away mid-line
    return json.loads(line)


class AddressBook:
    """node name -> (host, port). By default a node is reached by its name on the shared
    port (containers resolve n1..nN); ``--peer-addr n1=127.0.0.1:17001,...`` overrides it,
    which is how the tests run a cluster on loopback."""

    def __init__(self, port: int, overrides: dict[str, tuple[str, int]] | None = None):
        self.port = port
        self.overrides = dict(overrides or {})

    @staticmethod
    def parse(spec: str) -> dict[str, tuple[str, int]]:
        """'n1=127.0.0.1:17001,n2=h:17002' -> {"n1": ("127.0.0.1", 17001), ...}"""
        out: dict[str, tuple[str, int]] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, addr = part.partition("=")
            host, _, port = addr.rpartition(":")
            if not name or not host or not port.isdigit():
                raise ValueError(f"bad --peer-addr entry {part!r}; want name=host:port")
            out[name] = (host, int(port))
        return out

    def addr(self, node: str) -> tuple[str, int]:
        return self.overrides.get(node, (node, self.port))


class Refused(Exception):
    """Could not connect: the request was never sent."""


class Lost(Exception):
    """The request was sent; its fate is unknown."""


class PeerConn:
    def __init__(self, name: str, addr: tuple[str, int], connect_timeout: float = 0.5):
        self.name, self.addr, self.connect_timeout = name, addr, connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def request(self, msg: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``msg`` (its id is replaced by ours) and return the answer (with our id
        removed). Raises Refused or Lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        writer = await self._connect(deadline)
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[rid] = fut
        try:
            writer.write(encode({**msg, "id": rid}))
            return await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise Lost(f"no answer from {self.name} within {timeout:g}s") from None
        except (OSError, RuntimeError) as e:
            raise Lost(f"connection to {self.name} failed after sending: {e}") from None
        finally:
            self._pending.pop(rid, None)

    async def _connect(self, deadline: float) -> asyncio.StreamWriter:
        async with self._lock:
            if self._writer is not None and not self._writer.is_closing():
                return self._writer
            loop = asyncio.get_running_loop()
            wait = max(0.01, min(self.connect_timeout, deadline - loop.time()))
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.addr, limit=MAX_LINE), wait)
            except (OSError, TimeoutError) as e:
                raise Refused(f"cannot connect to {self.name} at {self.addr[0]}:"
                              f"{self.addr[1]}: {e or type(e).__name__}") from None
            self._writer = writer
            self._reader_task = loop.create_task(self._read_loop(reader, writer))
            return writer

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                         ) -> None:
        why = "connection closed"
        try:
            while True:
                msg = await read_msg(reader)
                if msg is None:
                    break
                fut = self._pending.get(msg.pop("id", None)) if isinstance(msg, dict) else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (OSError, ValueError) as e:
            why = f"connection broken: {e}"
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()
            for fut in list(self._pending.values()):
                if not fut.done():
                    fut.set_exception(Lost(f"{why} ({self.name})"))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()


class PeerSender:
    """One-way messages to one peer. ``send`` never blocks and never raises: a message that
    cannot be delivered now is dropped (bounded queue), and the link reconnects on demand."""

    QUEUE = 10_000
    HIGH_WATER = 256 * 1024

    def __init__(self, name: str, addr: tuple[str, int], log: Log,
                 connect_timeout: float = 0.3):
        self.name, self.addr, self.log = name, addr, log
        self.connect_timeout = connect_timeout
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(self.QUEUE)
        self._task: asyncio.Task[None] | None = None
        self._down_logged = False

    def send(self, msg: dict[str, Any]) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            self._queue.put_nowait(encode(msg))
        except asyncio.QueueFull:
            pass  # peer is not keeping up; Raft will retry

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(*self.addr),
                                                   self.connect_timeout)
            except (OSError, TimeoutError) as e:
                if not self._down_logged:
                    self.log(f"peer-unreachable peer={self.name} error={e or type(e).__name__}")
                    self._down_logged = True
                self._drain()  # stale by the time we could deliver them
                await asyncio.sleep(0.05)
                continue
            self._down_logged = False
            try:
                writer.write(first)
                while True:
                    chunk = [await self._queue.get()]
                    while not self._queue.empty() and len(chunk) < 256:
                        chunk.append(self._queue.get_nowait())
                    writer.write(b"".join(chunk))
                    # Draining on every write costs a task per message; only wait when the
                    # peer is really behind (a partition fills the buffer quickly enough).
                    if writer.transport.get_write_buffer_size() > self.HIGH_WATER:
                        await asyncio.wait_for(writer.drain(), 1.0)
                    if writer.is_closing():
                        raise ConnectionResetError("peer connection closed")
            except (OSError, TimeoutError):
                writer.close()
                self._drain()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
