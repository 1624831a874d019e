"""Everything the store's modes write to disk, in one place. Stdlib only: this runs on the nodes.

    AppendFile     a file kept open for appends; ``write`` returns once the bytes are fsynced
    replay_lines   the JSON lines of a log, cutting off a torn tail (a crash mid-write)
    write_atomic   replace a small JSON file (tmp, fsync, rename, fsync the directory)
    WriteLog       JSON lines with group commit: many writers wait on one fsync
    execute        apply a client request to a KVState, log its mutation, answer once on disk

Every mode uses these: primary, async and lww keep a WriteLog; raft (and lease, fenced on top
of it) keeps its log with an AppendFile and its term and vote with write_atomic.

    >>> wal = WriteLog(Path(d) / "primary.wal")            # doctest: +SKIP
    >>> await execute(state, wal, {"op": "write", "key": 3, "value": 7})   # doctest: +SKIP
    {'ok': True, 'value': None}
"""
from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kv_state import KVState, Mutation, OpError
from kv_wire import Log, error


class AppendFile:
    """``path`` opened for appending on the first write and kept open across writes."""

    def __init__(self, path: Path):
        self.path = path
        self._file: Any = None

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; return once it is on disk (written, flushed, fsynced)."""
        if self._file is None:
            self._file = open(self.path, "ab")  # kept open across writes: closed in close()
        self._file.write(chunk)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def replay_lines(path: Path, keep: Callable[[Any], bool] | None = None) -> Iterator[Any]:
    """Yield each JSON line of ``path`` (nothing if it does not exist). The first torn line
    (no newline: a crash mid-write, so nobody was told it happened), unparsable line, or
    record ``keep`` refuses ends the log: the file is cut there, so appends continue a clean
    log. ``keep`` is asked just before each record is yielded, so it may look at what the
    caller built from the records before it."""
    if not path.exists():
        return
    good = 0
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                rec = json.loads(line)
            except ValueError:
                break
            if keep is not None and not keep(rec):
                break
            good += len(line)
            yield rec
    if good != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(good)
            os.fsync(f.fileno())


def write_atomic(path: Path, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as JSON so that a crash leaves the old or the new one."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself must survive a crash
    finally:
        os.close(fd)


class WriteLog:
    """An append-only file of JSON lines with group commit.

    ``append`` buffers a record; ``await sync()`` returns once every record appended before
    the call is on disk (written and fsynced). One flusher task does the I/O in a thread, so
    the event loop keeps serving while the disk works.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._buf: list[bytes] = []
        self._appended = 0
        self._synced = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._file = AppendFile(path)

    def replay(self) -> Iterator[Any]:
        """Yield each record on disk; a torn last line is cut off (see replay_lines)."""
        return replay_lines(self.path)

    def append(self, record: Any) -> None:
        self._buf.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._appended += 1

    @property
    def pending(self) -> bool:
        return self._synced < self._appended

    async def sync(self) -> None:
        target = self._appended
        if self._synced >= target:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await fut

    async def sync_pending(self, log: Log) -> None:
        """Sync what was appended without waiting (records a peer still holds), from a
        mode's periodic loop. A disk error is logged as ``fatal persist-failed`` and raised:
        the loop ends rather than go on acknowledging what may not survive."""
        if self.pending:
            try:
                await self.sync()
            except OSError as e:
                log(f"fatal persist-failed error={e}")
                raise

    async def _flush(self) -> None:
        while self._synced < self._appended:
            chunk, upto = b"".join(self._buf), self._appended
            self._buf = []
            try:
                await asyncio.to_thread(self._file.write, chunk)
            except OSError as e:
                # Memory is now ahead of disk with no way back: fail every waiter and stop
                # taking writes rather than acknowledge what may not survive.
                for _, fut in self._waiters:
                    if not fut.done():
                        fut.set_exception(e)
                self._waiters = []
                raise
            self._synced = upto
            still = []
            for target, fut in self._waiters:
                if target <= upto:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    still.append((target, fut))
            self._waiters = still

    def close(self) -> None:
        self._file.close()


def kv_record(mutation: Mutation) -> Any:
    """The WriteLog line of one mutation: {"k": key, "v": new value}."""
    return {"k": mutation[0], "v": mutation[1]}


async def execute(state: KVState, wal: WriteLog, req: dict[str, Any],
                  record: Callable[[Mutation], Any] = kv_record) -> dict[str, Any]:
    """Apply ``req`` to ``state``, append ``record(mutation)`` to ``wal`` if it changed
    anything, and answer once everything appended so far is on disk: a read never shows a
    value a crash could take back. A refused op (OpError) is a definite error."""
    try:
        value, mutation = state.apply(req)
    except OpError as e:
        # A failed cas may report a value that is not on disk yet: wait for it too.
        await wal.sync()
        return error(e.code, True, e.msg)
    if mutation is not None:
        wal.append(record(mutation))
    await wal.sync()
    return {"ok": True, "value": value}
