"""Mode ``raft``: the I/O around kv_raft_core.RaftCore. Stdlib only.

One driver task turns the core's Ready batches into effects, in the order the core demands
(see kv_raft_core): a leader's appends, then persist (fsync), then the other messages, then
apply committed entries and answer the clients waiting on them. Every client op, reads
included, goes through the log: a read is answered only once its entry commits, never from a
leader's belief that it still leads.

Client requests:
    leader        propose; answer when the entry applies; indefinite "timeout" if it has not
                  committed within --forward-timeout; definite "not-leader" if the entry was
                  overwritten by a later leader (then it can never commit)
    follower      forward to the leader it knows (definite "unavailable" if that cannot be
                  reached, indefinite "timeout" if it does not answer)
    no leader     definite "not-leader"; a forwarded request is never forwarded again

On disk in --data-dir: ``raft-meta.json`` (term, vote; replaced atomically) and ``raft.log``
(JSON lines [index, term, cmd]; a line for index i drops every later entry before it, which
is how a truncation is persisted).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
from pathlib import Path
from typing import Any

from kv_primary import error
from kv_raft_core import NOOP, Entry, RaftCore, Ready
from kv_state import KVState, OpError
from kv_wire import AddressBook, Log, Lost, PeerConn, PeerSender, Refused

TICK_MS = 10


class RaftStorage:
    def __init__(self, data_dir: Path):
        self.dir = data_dir
        self.meta_path = data_dir / "raft-meta.json"
        self.log_path = data_dir / "raft.log"
        self._file: Any = None

    def load(self) -> tuple[int, str | None, list[Entry]]:
        term, vote = 0, None
        if self.meta_path.exists():
            meta = json.loads(self.meta_path.read_text())
            term, vote = int(meta["term"]), meta["vote"]
        log: list[Entry] = []
        good = 0
        if self.log_path.exists():
            with open(self.log_path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # a torn last write: never acknowledged, so drop it
                    try:
                        index, t, cmd = json.loads(line)
                    except (ValueError, TypeError):
                        break
                    if not 1 <= index <= len(log) + 1:
                        break
                    del log[index - 1:]
                    log.append((t, cmd))
                    good += len(line)
            if good != self.log_path.stat().st_size:
                with open(self.log_path, "r+b") as f:
                    f.truncate(good)
                    os.fsync(f.fileno())
        return term, vote, log

    def save(self, meta: tuple[int, str | None] | None,
             entries: list[tuple[int, int, Any]]) -> None:
        """Runs in a worker thread; returns once everything is on disk."""
        if meta is not None:
            tmp = self.meta_path.with_suffix(".tmp")
            with open(tmp, "w") as f:
                json.dump({"term": meta[0], "vote": meta[1]}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.meta_path)
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)  # the rename itself must survive a crash
            finally:
                os.close(fd)
        if entries:
            if self._file is None:
                self._file = open(self.log_path, "ab")  # noqa: SIM115 (kept open)
            self._file.write(b"".join(json.dumps([i, t, c], separators=(",", ":")).encode()
                                      + b"\n" for i, t, c in entries))
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RaftMode:
    name = "raft"

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, forward_timeout: float = 0.9,
                 election_ms: tuple[int, int] = (300, 600), heartbeat_ms: int = 50,
                 seed: int | None = None):
        self.node, self.nodes, self.book, self.log = node, nodes, book, log
        self.forward_timeout = forward_timeout
        self.storage = RaftStorage(data_dir)
        term, vote, entries = self.storage.load()
        log(f"recovered term={term} vote={vote} log_entries={len(entries)}")
        self.core = RaftCore(node, nodes, term=term, vote=vote, log=entries,
                             election_ticks=(max(1, election_ms[0] // TICK_MS),
                                             max(2, election_ms[1] // TICK_MS)),
                             heartbeat_ticks=max(1, heartbeat_ms // TICK_MS),
                             rng=random.Random(seed))
        self.state = KVState()
        self.senders = {p: PeerSender(p, book.addr(p), log) for p in self.core.peers}
        self.links: dict[str, PeerConn] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[dict[str, Any]]]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._ticker()), loop.create_task(self._driver())]

    # --- client requests -------------------------------------------------------------------

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = {k: v for k, v in req.items() if k not in ("id", "fwd")}
        index = self.core.propose(cmd)
        if index is not None:
            return await self._await_commit(index, self.core.term, cmd)
        leader = self.core.leader
        if leader is None or leader == self.node or req.get("fwd"):
            self.log(f"rejected op={cmd['op']} reason=not-leader term={self.core.term} "
                     f"leader={leader}")
            return error("not-leader", True, f"{self.node} is not the leader "
                         f"(term {self.core.term}, leader {leader or 'unknown'})")
        return await self._forward(leader, cmd)

    async def _await_commit(self, index: int, term: int, cmd: dict[str, Any]
                            ) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        old = self.waiting.get(index)
        if old is not None and not old[1].done():
            # Our new entry took that index, so the old proposal's entry was cut off.
            old[1].set_result(error("not-leader", True, f"entry {index} of term {old[0]} "
                                    "was replaced; it never took effect"))
        self.waiting[index] = (term, fut)
        self._wake.set()
        try:
            return await asyncio.wait_for(fut, self.forward_timeout)
        except TimeoutError:
            self.log(f"proposal-timeout op={cmd['op']} index={index} term={term}")
            return error("timeout", False, f"entry {index} (term {term}) not committed "
                         f"within {self.forward_timeout:g}s")
        finally:
            if self.waiting.get(index, (0, None))[1] is fut:
                del self.waiting[index]

    async def _forward(self, leader: str, cmd: dict[str, Any]) -> dict[str, Any]:
        link = self.links.get(leader)
        if link is None:
            link = self.links[leader] = PeerConn(leader, self.book.addr(leader))
        try:
            return await link.request({**cmd, "fwd": 1}, self.forward_timeout)
        except Refused as e:
            self.log(f"forward-failed to={leader} op={cmd['op']} definite=true error={e}")
            return error("unavailable", True, f"leader {leader} unreachable: {e}")
        except Lost as e:
            self.log(f"forward-failed to={leader} op={cmd['op']} definite=false error={e}")
            return error("timeout", False, f"forward to leader {leader}: {e}")

    # --- peers, timers, the driver ---------------------------------------------------------

    def on_peer(self, msg: dict[str, Any]) -> None:
        try:
            self.core.step(msg)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # A malformed message must not take the connection (or the node) down.
            self.log(f"bad-peer-message error={type(e).__name__}: {e} msg={str(msg)[:200]}")
            return
        self._wake.set()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_MS / 1000)
            self.core.tick()
            self._wake.set()

    async def _driver(self) -> None:
        while True:
            await self._wake.wait()
            # Let the requests and messages already read off the sockets reach the core
            # first: one batch (one fsync, one message per peer) instead of many.
            for _ in range(3):
                await asyncio.sleep(0)
            self._wake.clear()
            rd = self.core.ready()
            if rd.empty():
                continue
            try:
                await self._process(rd)
            except OSError as e:
                # The disk refused: we can no longer promise anything we acknowledge.
                self.log(f"fatal persist-failed error={e}")
                os._exit(3)

    async def _process(self, rd: Ready) -> None:
        # A leader's appends go out first, so the followers' disks work while ours does.
        later = []
        for m in rd.messages:
            if m["type"] == "append":
                self._send(m)
            else:
                later.append(m)
        if rd.meta is not None or rd.entries:
            # In the loop, not a thread: a thread hand-off per batch cost more CPU than the
            # fsync, and while we block, requests pile up into the next (bigger) batch.
            self.storage.save(rd.meta, rd.entries)
            if rd.entries:
                self.core.stabilized(rd.entries[-1][0], rd.entries[-1][1])
                self._wake.set()
        for m in later:
            self._send(m)
        for index, term, cmd in rd.committed:
            self._apply(index, term, cmd)
        for event in rd.events:
            self.log(event)

    def _send(self, msg: dict[str, Any]) -> None:
        sender = self.senders.get(msg["to"])
        if sender is not None:
            sender.send({"op": "peer", "msg": msg})

    def _apply(self, index: int, term: int, cmd: Any) -> None:
        if cmd == NOOP:
            resp = None
        else:
            try:
                value, _ = self.state.apply(cmd)
                resp = {"ok": True, "value": value}
            except OpError as e:
                resp = error(e.code, True, e.msg)
        waiter = self.waiting.pop(index, None)
        if waiter is None:
            return
        want_term, fut = waiter
        if fut.done():
            return
        if want_term == term and resp is not None:
            fut.set_result(resp)
        else:
            fut.set_result(error("not-leader", True, f"entry {index} of term {want_term} was "
                                 f"replaced by a term-{term} entry; it never took effect"))

    def status(self) -> dict[str, Any]:
        c = self.core
        return {"mode": self.name, "node": self.node, "role": c.role, "term": c.term,
                "leader": c.leader, "commit": c.commit, "last_index": c.last_index,
                "applied": c.applied}

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for s in self.senders.values():
            s.close()
        for link in self.links.values():
            await link.close()
        self.storage.close()
