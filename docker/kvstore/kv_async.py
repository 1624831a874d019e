"""Mode ``async``: primary-backup with asynchronous replication and self-promotion. Wrong on
purpose: the failover split brain of DDIA chapter 8 ("The leader and the lock", and
chapter 5's "Handling node outages: failover").

The first of --nodes starts as primary (epoch 1). The primary applies each client op,
persists it (fsync), answers, and only then sends it to the backups (``rep`` messages,
numbered by ``seq``). It heartbeats every --async-heartbeat-ms. A backup forwards client
requests to whoever it believes is primary. A backup that hears no heartbeat for
--failover-ms (the k-th node in --nodes waits (1 + k/2) times that, so they rarely tie)
promotes itself to primary of a new epoch: no quorum, no vote, no fencing.

    pause the primary        a backup promotes; writes the old primary acknowledged but had
                             not yet sent are gone; reads on the new primary are stale
    partition                each side has a primary and both take writes (split brain)
    heal                     the primaries hear each other; the higher (epoch, name) wins, the
                             other demotes itself and installs the winner's state (a
                             snapshot): every write it acknowledged alone vanishes

Backups apply ``rep`` in order; a gap (lost messages, a new primary) makes them ask for a
snapshot of the whole state. Log events: ``promote``, ``following``, ``demoted``,
``snapshot-installed discarded_keys=N`` (what the split brain cost), ``forward-failed``.

On disk (--data-dir/async.wal, JSON lines): {"k","v","s"} a change, {"epoch","primary"} a
role change, {"snap","epoch","primary","s"} an installed snapshot. A restarted node comes
back as a backup of the primary it last knew (itself included), and promotes if silent.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from kv_net import Lost, Peer, Refused, cut_off, encode
from kv_persist import WriteLog, execute
from kv_state import KVState, Mutation
from kv_wire import AddressBook, Log, error

PRIMARY, BACKUP = "primary", "backup"
TICK_S = 0.05


class Failover:
    """When a backup gives up on its primary: pure, the clock passed in (monotonic).

    >>> f = Failover(1.0, rank=1, now=0.0)      # the second node: waits 1.5 s
    >>> f.heard(now=10.0); f.expired(now=11.4), f.expired(now=11.6)
    (False, True)
    """

    def __init__(self, timeout: float, rank: int, now: float):
        self.wait = timeout * (1 + rank / 2)
        self.last = now

    def heard(self, now: float) -> None:
        self.last = now

    def expired(self, now: float) -> bool:
        return now - self.last > self.wait

    def silent_for(self, now: float) -> float:
        return now - self.last


class AsyncMode:
    name = "async"

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, forward_timeout: float = 0.9, failover_ms: int = 1000,
                 heartbeat_ms: int = 100):
        self.node, self.nodes, self.log = node, nodes, log
        self.forward_timeout = forward_timeout
        self.heartbeat_s = heartbeat_ms / 1000
        self.state = KVState()
        self.wal = WriteLog(data_dir / "async.wal")
        self.epoch, self.primary, self.seq = 0, nodes[0], 0
        n = 0
        for rec in self.wal.replay():
            n += 1
            if "snap" in rec:
                self.state.data = dict(rec["snap"])
                self.epoch, self.primary, self.seq = rec["epoch"], rec["primary"], rec["s"]
            elif "epoch" in rec:
                self.epoch, self.primary = rec["epoch"], rec["primary"]
            else:
                self.state.set(rec["k"], rec["v"])
                self.seq = rec["s"]
        log(f"replayed records={n} keys={len(self.state.data)} epoch={self.epoch} "
            f"primary={self.primary}")
        self.role = BACKUP
        self.synced = n > 0  # a fresh backup has nothing to catch up with
        if n == 0 and node == nodes[0]:
            self._set_role(PRIMARY, node, 1, "initial primary")
        self.max_epoch = self.epoch
        self.failover = Failover(failover_ms / 1000, nodes.index(node), time.monotonic())
        self.peers = {p: Peer(p, book.addr(p), log) for p in nodes if p != node}
        self.isolated: set[str] = set()
        self.outbox: list[list[Any]] = []        # [seq, key, value], sent after the fsync
        self.writes_as_primary = 0
        self.sent_seq = self.seq  # the last change sent to the backups (heartbeats carry it)
        self._last_snap_req = 0.0
        self._task: asyncio.Task[None] | None = None
        if self.role == BACKUP:
            log(f"role=backup primary={self.primary} epoch={self.epoch}")

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._ticker())

    # --- roles ----------------------------------------------------------------------------

    def _set_role(self, role: str, primary: str, epoch: int, why: str) -> None:
        self.role, self.primary, self.epoch = role, primary, epoch
        self.wal.append({"epoch": epoch, "primary": primary})
        if role == PRIMARY:
            self.writes_as_primary = 0
            self.sent_seq = self.seq
            self.synced = True
            self.log(f"role=primary epoch={epoch} reason={why}")

    def _promote(self, now: float) -> None:
        old, old_epoch = self.primary, self.epoch
        epoch = max(self.epoch, self.max_epoch) + 1
        self.max_epoch = epoch
        self.log(f"promote epoch={epoch} was_following={old}@{old_epoch} silent_ms="
                 f"{self.failover.silent_for(now) * 1000:.0f} (no quorum asked, no fencing)")
        self._set_role(PRIMARY, self.node, epoch, "failover")
        self._heartbeat()

    def _follow(self, primary: str, epoch: int) -> None:
        if self.role == PRIMARY:
            self.log(f"demoted by={primary} epoch={epoch} own_epoch={self.epoch} "
                     f"writes_as_primary={self.writes_as_primary} (any it did not "
                     f"replicate to {primary} are lost)")
        self.log(f"following primary={primary} epoch={epoch} previous="
                 f"{self.primary}@{self.epoch}")
        self.role, self.synced = BACKUP, False
        self.primary, self.epoch = primary, epoch
        self.wal.append({"epoch": epoch, "primary": primary})
        self._ask_snapshot(force=True)

    # --- client requests -------------------------------------------------------------------

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.role == PRIMARY:
            return await self._execute(req)
        if req.get("fwd") or self.primary == self.node:
            self.log(f"rejected op={req['op']} reason=not-primary primary={self.primary}")
            return error("not-leader", True, f"{self.node} is not the primary "
                         f"(believes {self.primary}, epoch {self.epoch})")
        return await self._forward(self.primary, req)

    async def _execute(self, req: dict[str, Any]) -> dict[str, Any]:
        resp = await execute(self.state, self.wal, req, self._record)
        if resp["ok"]:
            # Acknowledged first, replicated after (and whatever queued since goes along).
            asyncio.get_running_loop().call_soon(self._replicate)
        return resp

    def _record(self, mutation: Mutation) -> dict[str, Any]:
        """A change made as primary: numbered, queued for the backups, logged."""
        self.seq += 1
        self.writes_as_primary += 1
        self.outbox.append([self.seq, mutation[0], mutation[1]])
        return {"k": mutation[0], "v": mutation[1], "s": self.seq}

    def _replicate(self) -> None:
        if not self.outbox or self.role != PRIMARY:
            self.outbox = []
            return
        msgs = b"".join(encode({"op": "peer", "msg": {
            "type": "rep", "from": self.node, "epoch": self.epoch, "seq": s, "k": k, "v": v}})
            for s, k, v in self.outbox)
        self.sent_seq = self.outbox[-1][0]
        self.outbox = []
        for name, peer in self.peers.items():
            if name not in self.isolated:
                peer.send_raw(msgs)

    async def _forward(self, primary: str, req: dict[str, Any]) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any] | Exception] = \
            asyncio.get_running_loop().create_future()
        fwd = {k: v for k, v in req.items() if k != "id"}
        def done(r: dict[str, Any] | Exception) -> None:
            if not fut.done():
                fut.set_result(r)

        self.peers[primary].request({**fwd, "fwd": 1}, done, self.forward_timeout)
        resp = await fut
        if isinstance(resp, Refused):
            self.log(f"forward-failed to={primary} op={req['op']} definite=true error={resp}")
            return error("unavailable", True, f"primary {primary} unreachable: {resp}")
        if isinstance(resp, (Lost, Exception)):
            self.log(f"forward-failed to={primary} op={req['op']} definite=false error={resp}")
            return error("timeout", False, f"forward to primary {primary}: {resp}")
        return resp

    # --- peers ----------------------------------------------------------------------------

    def on_peer(self, msg: dict[str, Any]) -> None:
        sender, kind = msg.get("from"), msg.get("type")
        if sender not in self.peers or sender in self.isolated:
            return
        if kind == "snap_req":
            if self.role == PRIMARY:
                self._send(sender, {"type": "snap", "epoch": self.epoch, "seq": self.seq,
                                    "data": self.state.data})
            return
        epoch = msg.get("epoch")
        if not isinstance(epoch, int):
            return
        self.max_epoch = max(self.max_epoch, epoch)
        theirs, ours = (epoch, sender), (self.epoch, self.primary)
        if self.role == PRIMARY:
            if theirs <= (self.epoch, self.node):
                return  # a lesser primary: it demotes itself when it hears our heartbeat
            self._follow(sender, epoch)
        elif theirs > ours:
            self._follow(sender, epoch)
        elif theirs < ours:
            return  # a stale primary we no longer follow
        self.failover.heard(time.monotonic())
        if kind == "rep":
            seq = msg.get("seq", 0)
            if self.synced and seq == self.seq + 1:
                self.state.set(str(msg["k"]), msg.get("v"))
                self.seq = seq
                self.wal.append({"k": msg["k"], "v": msg.get("v"), "s": seq})
            elif seq > self.seq:
                self._ask_snapshot()
        elif kind == "hb":
            if not self.synced or msg.get("seq", 0) > self.seq:
                self._ask_snapshot()
        elif kind == "snap" and (not self.synced or msg.get("seq", 0) > self.seq):
            self._install(msg)

    def _install(self, msg: dict[str, Any]) -> None:
        data = msg.get("data") or {}
        discarded = sum(1 for k, v in self.state.data.items() if data.get(k, None) != v)
        self.state.data = dict(data)
        self.seq, self.synced = int(msg.get("seq", 0)), True
        self.wal.append({"snap": data, "epoch": self.epoch, "primary": self.primary,
                         "s": self.seq})
        self.log(f"snapshot-installed from={msg.get('from')} epoch={self.epoch} "
                 f"seq={self.seq} keys={len(data)} discarded_keys={discarded}")

    def _ask_snapshot(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_snap_req > 0.3:
            self._last_snap_req = now
            self._send(self.primary, {"type": "snap_req"})

    def _send(self, to: str, msg: dict[str, Any]) -> None:
        peer = self.peers.get(to)
        if peer is not None and to not in self.isolated:
            peer.send({"op": "peer", "msg": {**msg, "from": self.node, "to": to}})

    def _heartbeat(self) -> None:
        for name in self.peers:
            self._send(name, {"type": "hb", "epoch": self.epoch, "seq": self.sent_seq})

    async def _ticker(self) -> None:
        last_hb = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            if self.role == PRIMARY:
                if now - last_hb >= self.heartbeat_s:
                    last_hb = now
                    self._heartbeat()
            elif self.failover.expired(now):
                self._promote(now)
            await self.wal.sync_pending(self.log)

    def isolate(self, peers: list[str]) -> None:
        self.isolated = cut_off(self.peers, peers)

    def status(self) -> dict[str, Any]:
        return {"mode": self.name, "node": self.node, "role": self.role,
                "leader": self.primary, "primary": self.primary, "epoch": self.epoch,
                "seq": self.seq, "synced": self.synced}

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for p in self.peers.values():
            p.close()
        self.wal.close()
