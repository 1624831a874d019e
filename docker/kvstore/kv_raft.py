"""Mode ``raft``: the I/O around kv_raft_core.RaftCore. Stdlib only.

A drive callback turns the core's Ready batches into effects, in the order the core demands
(see kv_raft_core): a leader's appends, then persist (fsync), then the other messages, then
apply committed entries and answer the clients waiting on them. Every client op, reads
included, goes through the log: a read is answered only once its entry commits, never from a
leader's belief that it still leads.

Cost per op is what limits a five-node cluster on a small machine, so the I/O is callbacks,
not tasks (kv_net: no asyncio task step per message), and batches are made as big as the
load allows: one drive per loop pass after everything read in it; a leader with a batch in
flight lets new proposals wait for the drive its acks trigger (or the next tick); followers
get new entries only once they acknowledged what they were sent (kv_raft_core's flow
control). The fsync stays in the loop, before any ack: tried in a thread (more CPU per op:
GIL hand-offs) and deferred on the leader (more, smaller batches): both cost more per op.
``status`` reports saves, entries saved and peer messages, for the bench.

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kv_net import Peer, Refused, cut_off, encode
from kv_persist import AppendFile, replay_lines, write_atomic
from kv_raft_core import NOOP, Entry, RaftCore, Ready
from kv_state import KVState, OpError
from kv_wire import AddressBook, Log, error

Reply = Callable[[dict[str, Any]], None]
_dumps = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(...) builds one per call

TICK_MS = 10


class RaftStorage:
    def __init__(self, data_dir: Path):
        self.dir = data_dir
        self.meta_path = data_dir / "raft-meta.json"
        self.log_path = data_dir / "raft.log"
        self._file = AppendFile(self.log_path)

    def load(self) -> tuple[int, str | None, list[Entry]]:
        term, vote = 0, None
        if self.meta_path.exists():
            meta = json.loads(self.meta_path.read_text())
            term, vote = int(meta["term"]), meta["vote"]
        log: list[Entry] = []

        def fits(rec: Any) -> bool:  # [index, term, cmd], index at most one past the end
            return (isinstance(rec, list) and len(rec) == 3 and isinstance(rec[0], int)
                    and 1 <= rec[0] <= len(log) + 1)

        for index, t, cmd in replay_lines(self.log_path, fits):
            del log[index - 1:]
            log.append((t, cmd))
        return term, vote, log

    def save(self, meta: tuple[int, str | None] | None,
             entries: list[tuple[int, int, Any]]) -> None:
        """Runs in a worker thread; returns once everything is on disk."""
        if meta is not None:
            write_atomic(self.meta_path, {"term": meta[0], "vote": meta[1]})
        if entries:
            self._file.write(b"".join(_dumps([i, t, c]).encode() + b"\n"
                                      for i, t, c in entries))

    def close(self) -> None:
        self._file.close()


class RaftMode:
    name = "raft"
    core_class: type[RaftCore] = RaftCore  # a hook: mode lease/fenced bring their own

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, forward_timeout: float = 0.9,
                 election_ms: tuple[int, int] = (300, 600), heartbeat_ms: int = 50,
                 seed: int | None = None):
        self.node, self.nodes, self.book, self.log = node, nodes, book, log
        self.forward_timeout = forward_timeout
        self.storage = RaftStorage(data_dir)
        term, vote, entries = self.storage.load()
        log(f"recovered term={term} vote={vote} log_entries={len(entries)}")
        self.core = self.core_class(node, nodes, term=term, vote=vote, log=entries,
                                    election_ticks=(max(1, election_ms[0] // TICK_MS),
                                                    max(2, election_ms[1] // TICK_MS)),
                                    heartbeat_ticks=max(1, heartbeat_ms // TICK_MS),
                                    rng=random.Random(seed))
        self.state = KVState()
        self.peers = {p: Peer(p, book.addr(p), log) for p in self.core.peers}
        self.isolated: set[str] = set()
        # log index -> (term proposed in, reply, deadline (monotonic), op)
        self.waiting: dict[int, tuple[int, Reply, float, str]] = {}
        self._outbox: dict[str, list[bytes]] = {}
        self.counts = {"saves": 0, "entries_saved": 0, "peer_msgs_in": 0, "peer_msgs_out": 0}
        self._drive_handle: asyncio.Handle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tick_handle = self._loop.call_later(TICK_MS / 1000, self._tick)

    # --- client requests -------------------------------------------------------------------

    def submit(self, req: dict[str, Any], reply: Reply) -> None:
        """Answer ``req`` through ``reply``, now or once its entry commits."""
        cmd = {k: v for k, v in req.items() if k not in ("id", "fwd")}
        idle = self.core.commit >= self.core.last_index
        index = self.core.propose(cmd)
        if index is not None:
            self._wait(index, self.core.term, cmd["op"], reply)
            if idle:
                self._schedule()
            # else: a batch is in flight; the drive its acks trigger (or the next tick)
            # sends this with everything else proposed meanwhile: bigger batches, fewer
            # messages and fsyncs per op on every node.
            return
        leader = self.core.leader
        if leader is None or leader == self.node or req.get("fwd"):
            self.log(f"rejected op={cmd['op']} reason=not-leader term={self.core.term} "
                     f"leader={leader}")
            reply(error("not-leader", True, f"{self.node} is not the leader "
                        f"(term {self.core.term}, leader {leader or 'unknown'})"))
            return
        self._forward(leader, cmd, reply)

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """``submit`` as a coroutine, for callers that prefer to await."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        def done(resp: dict[str, Any]) -> None:
            if not fut.done():
                fut.set_result(resp)

        self.submit(req, done)
        return await fut

    def _wait(self, index: int, term: int, op: str, reply: Reply) -> None:
        old = self.waiting.get(index)
        if old is not None:
            # Our new entry took that index, so the old proposal's entry was cut off.
            old[1](error("not-leader", True, f"entry {index} of term {old[0]} "
                         "was replaced; it never took effect"))
        self.waiting[index] = (term, reply, time.monotonic() + self.forward_timeout, op)

    def _expire(self) -> None:
        now = time.monotonic()
        for index, (term, reply, deadline, op) in list(self.waiting.items()):
            if deadline <= now:
                del self.waiting[index]
                self.log(f"proposal-timeout op={op} index={index} term={term}")
                reply(error("timeout", False, f"entry {index} (term {term}) not committed "
                            f"within {self.forward_timeout:g}s"))

    def _forward(self, leader: str, cmd: dict[str, Any], reply: Reply) -> None:
        def done(resp: dict[str, Any] | Exception) -> None:
            if isinstance(resp, Refused):
                self.log(f"forward-failed to={leader} op={cmd['op']} definite=true "
                         f"error={resp}")
                reply(error("unavailable", True, f"leader {leader} unreachable: {resp}"))
            elif isinstance(resp, Exception):
                self.log(f"forward-failed to={leader} op={cmd['op']} definite=false "
                         f"error={resp}")
                reply(error("timeout", False, f"forward to leader {leader}: {resp}"))
            else:
                reply(resp)

        self.peers[leader].request({**cmd, "fwd": 1}, done, self.forward_timeout)

    # --- peers, timers, the driver ---------------------------------------------------------

    def on_peer(self, msg: dict[str, Any]) -> None:
        if self.isolated and msg.get("from") in self.isolated:
            return
        self.counts["peer_msgs_in"] += 1
        try:
            self.core.step(msg)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # A malformed message must not take the connection (or the node) down.
            self.log(f"bad-peer-message error={type(e).__name__}: {e} msg={str(msg)[:200]}")
            return
        self._schedule()

    def isolate(self, peers: list[str]) -> None:
        """Test hook: behave as if the network to ``peers`` were cut (both ways here)."""
        self.isolated = cut_off(self.peers, peers)

    def _tick(self) -> None:
        assert self._loop is not None
        self._tick_handle = self._loop.call_later(TICK_MS / 1000, self._tick)
        self.core.tick()
        if self.waiting:
            self._expire()
        if self.core.has_ready():
            self._schedule()

    def _schedule(self) -> None:
        # One drive per loop pass, after every request and message read in this pass: one
        # batch (one fsync, one message per peer) instead of one per arrival.
        if self._drive_handle is None:
            assert self._loop is not None
            self._drive_handle = self._loop.call_soon(self._drive)

    def _drive(self) -> None:
        self._drive_handle = None
        while True:
            rd = self.core.ready()
            if rd.empty():
                return
            try:
                self._process(rd)
            except OSError as e:
                # The disk refused: we can no longer promise anything we acknowledge.
                self.log(f"fatal persist-failed error={e}")
                os._exit(3)

    def _process(self, rd: Ready) -> None:
        # A leader's appends go out first, so the followers' disks work while ours does.
        later = []
        for m in rd.messages:
            if m["type"] == "append":
                self._send(m)
            else:
                later.append(m)
        self._flush()
        if rd.meta is not None or rd.entries:
            # In the loop, not a thread: a thread hand-off per batch cost more CPU than the
            # fsync, and while we block, requests pile up into the next (bigger) batch.
            self.storage.save(rd.meta, rd.entries)
            self.counts["saves"] += 1
            self.counts["entries_saved"] += len(rd.entries)
            if rd.entries:
                self.core.stabilized(rd.entries[-1][0], rd.entries[-1][1])
        for m in later:
            self._send(m)
        self._flush()
        for index, term, cmd in rd.committed:
            self._apply(index, term, cmd)
        for event in rd.events:
            self.log(event)

    def _send(self, msg: dict[str, Any]) -> None:
        to = msg["to"]
        if to in self.peers:
            self.counts["peer_msgs_out"] += 1
            self._outbox.setdefault(to, []).append(encode({"op": "peer", "msg": msg}))

    def _flush(self) -> None:
        if self._outbox:
            for to, chunks in self._outbox.items():
                self.peers[to].send_raw(b"".join(chunks))
            self._outbox = {}

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
        want_term, reply = waiter[0], waiter[1]
        if want_term == term and resp is not None:
            reply(resp)
        else:
            reply(error("not-leader", True, f"entry {index} of term {want_term} was "
                        f"replaced by a term-{term} entry; it never took effect"))

    def status(self) -> dict[str, Any]:
        c = self.core
        return {"mode": self.name, "node": self.node, "role": c.role, "term": c.term,
                "leader": c.leader, "commit": c.commit, "last_index": c.last_index,
                "applied": c.applied, **self.counts}

    async def stop(self) -> None:
        for h in (self._tick_handle, self._drive_handle):
            if h is not None:
                h.cancel()
        for p in self.peers.values():
            p.close()
        self.storage.close()
