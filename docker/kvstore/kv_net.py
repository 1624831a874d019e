"""Callback-style JSON-lines networking: the cheap path for the modes that take it.

kv_wire's streams cost an asyncio task step (or three) per message; at a thousand ops a
second on a small machine that was most of the store's CPU. Here every byte arrives through
``asyncio.Protocol.data_received`` and is handled synchronously, and answers are callbacks:

    LineConn    one connection, either side: splits bytes into JSON lines, hands each to
                ``on_msg(conn, msg)``; ``send(obj)`` / ``send_raw(bytes)`` write
    Peer        the link to one peer node, made on demand: one-way messages (``send``,
                dropped when the peer is unreachable or too far behind; the protocols on top
                tolerate loss) and forwarded requests (``request``, matched by id)

A forwarded request ends in exactly one call of its callback, with the peer's answer or
with the same two failures as kv_wire:

    Refused  the connection could not be made: the request surely was not sent (definite)
    Lost     sent, but no answer in time or the connection died (indefinite)

``isolate`` is a test hook (mode lww/async/lease/fenced ``{"op": "isolate", "peers": [...]}``):
a Peer marked blocked refuses requests and drops messages, as if the network were cut.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from kv_wire import MAX_LINE, Log, Lost, Refused

__all__ = ["LineConn", "Peer", "Refused", "Lost", "encode"]

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def encode(msg: Any) -> bytes:
    return _dumps(msg).encode() + b"\n"


OnMsg = Callable[["LineConn", Any], None]
Answer = Callable[[dict[str, Any] | Exception], None]


class LineConn(asyncio.Protocol):
    """JSON lines in both directions. ``on_bad(conn, error)`` hears of lines that are not
    JSON; ``on_close(conn)`` of the end of the connection."""

    def __init__(self, on_msg: OnMsg, on_bad: Callable[[LineConn, Exception], None] | None
                 = None, on_close: Callable[[LineConn], None] | None = None):
        self.on_msg, self.on_bad, self.on_close = on_msg, on_bad, on_close
        self.transport: asyncio.Transport | None = None
        self._buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\n" not in data:
            self._buf += data
            if len(self._buf) > MAX_LINE:
                self.close()
            return
        lines = (self._buf + data).split(b"\n")
        self._buf = lines.pop()
        for line in lines:
            if not line:
                continue
            try:
                msg = _decode(line.decode())
            except ValueError as e:  # UnicodeDecodeError is one too
                if self.on_bad is not None:
                    self.on_bad(self, e)
                continue
            self.on_msg(self, msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.on_close is not None:
            self.on_close(self)

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, obj: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_dumps(obj).encode() + b"\n")

    def send_raw(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def cut_off(peers: dict[str, Peer], names: list[str]) -> set[str]:
    """The ``isolate`` test hook of every mode: block the links to ``names`` and unblock the
    rest; returns ``names`` as a set (the mode also ignores what they send)."""
    isolated = set(names)
    for name, peer in peers.items():
        peer.blocked = name in isolated
    return isolated


class Peer:
    """The link to one peer. Never blocks, never raises to its caller."""

    HIGH_WATER = 4 * 1024 * 1024   # bytes queued to a peer before one-way messages drop
    STALL = 1.0                     # seconds over HIGH_WATER before the link is reset
    QUEUE = 10_000                  # messages held while connecting

    def __init__(self, name: str, addr: tuple[str, int], log: Log,
                 connect_timeout: float = 0.5):
        self.name, self.addr, self.log = name, addr, log
        self.connect_timeout = connect_timeout
        self.blocked = False
        self._conn: LineConn | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._queue: list[bytes] = []          # written once connected
        self._waiting: list[tuple[int, dict[str, Any], Answer, float]] = []  # not yet sent
        # sent, awaiting an answer: id -> (answer, deadline, the connection it went on)
        self._pending: dict[int, tuple[Answer, float, LineConn]] = {}
        self._ids = itertools.count(1)
        self._down_logged = False
        self._stalled_since: float | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    # --- one-way --------------------------------------------------------------------------

    def send(self, msg: Any) -> None:
        self.send_raw(encode(msg))

    def send_raw(self, data: bytes) -> None:
        if self.blocked:
            return
        conn = self._conn
        if conn is not None and conn.open:
            if conn.buffered() > self.HIGH_WATER:
                self._stalled(conn)
                return
            conn.send_raw(data)
            return
        if len(self._queue) < self.QUEUE:
            self._queue.append(data)
        self._connect()

    def _stalled(self, conn: LineConn) -> None:
        now = time.monotonic()
        if self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since > self.STALL:
            self.log(f"peer-stalled peer={self.name} buffered={conn.buffered()} reset=true")
            conn.close()

    # --- request / answer -----------------------------------------------------------------

    def request(self, msg: dict[str, Any], answer: Answer, timeout: float) -> None:
        """Send ``msg`` (its id replaced by ours); ``answer`` gets the reply (our id
        removed), a Refused or a Lost, exactly once."""
        if self.blocked:
            answer(Refused(f"{self.name} is cut off (isolate)"))
            return
        deadline = time.monotonic() + timeout
        rid = next(self._ids)
        conn = self._conn
        if conn is not None and conn.open:
            self._pending[rid] = (answer, deadline, conn)
            conn.send({**msg, "id": rid})
        else:
            self._waiting.append((rid, msg, answer, deadline))
            self._connect()
        self._arm_sweeper()

    def _arm_sweeper(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(0.05, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = time.monotonic()
        for rid, (answer, deadline, _) in list(self._pending.items()):
            if deadline <= now:
                del self._pending[rid]
                answer(Lost(f"no answer from {self.name} in time"))
        if self._pending or self._waiting:
            self._arm_sweeper()

    # --- connection -----------------------------------------------------------------------

    def _connect(self) -> None:
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: LineConn(self._on_answer, on_close=self._on_close), *self.addr),
                self.connect_timeout)
        except (OSError, TimeoutError) as e:
            if not self._down_logged:
                self.log(f"peer-unreachable peer={self.name} error={e or type(e).__name__}")
                self._down_logged = True
            self._queue = []  # stale by the time we could deliver them
            waiting, self._waiting = self._waiting, []
            for _, _, answer, _ in waiting:
                answer(Refused(f"cannot connect to {self.name} at {self.addr[0]}:"
                               f"{self.addr[1]}: {e or type(e).__name__}"))
            return
        self._down_logged = False
        self._stalled_since = None
        self._conn = conn
        queue, self._queue = self._queue, []
        if queue:
            conn.send_raw(b"".join(queue))
        waiting, self._waiting = self._waiting, []
        now = time.monotonic()
        for rid, msg, answer, deadline in waiting:
            if deadline <= now:
                answer(Refused(f"connecting to {self.name} took too long; nothing sent"))
                continue
            self._pending[rid] = (answer, deadline, conn)
            conn.send({**msg, "id": rid})

    def _on_answer(self, conn: LineConn, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        entry = self._pending.pop(msg.pop("id", None), None)
        if entry is not None:
            entry[0](msg)

    def _on_close(self, conn: LineConn) -> None:
        if self._conn is conn:
            self._conn = None
        lost = [rid for rid, entry in self._pending.items() if entry[2] is conn]
        for rid in lost:
            self._pending.pop(rid)[0](Lost(f"connection to {self.name} closed"))

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        if self._conn is not None:
            self._conn.close()
