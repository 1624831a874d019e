"""Mode ``lww``: every node takes writes, replicates them asynchronously, and resolves
conflicts by last-write-wins on wall-clock timestamps. Wrong on purpose: DDIA chapter 8,
"Timestamps for ordering events" ("the danger of last write wins").

A node stamps each change it accepts with its own ``time.time()`` (plus ``--clock-offset``
in tests; libfaketime in real runs) and its name as the tie-break, applies it if that stamp
beats the one it holds, persists it (fsync), answers ok, and then sends it to every peer,
which keeps it only if its stamp is newer than theirs too. Every ``--sync-ms`` each node
pushes its whole state to its peers, so partitions heal into agreement.

    read                the local value (a replica that has not heard yet answers stale)
    write               stamp, merge, persist, ok: even when the stamp loses on arrival
    cas/incr/append/add read-modify-write on the local value, then as write

So all replicas converge, but on the value with the highest *timestamp*, not the last one
written. A node whose clock runs behind writes values that lose to older writes from
other nodes: its client was told ok, and the value is never seen, here or anywhere
(``lww-lost`` in the log). Concurrent increments at two nodes both read 5 and both write
6: one increment vanishes. The lost-update and linearizability checkers see both.

Errors: only the definite ones of the state machine (cas-mismatch, type-error): a node
never waits for anyone, which is what makes this mode always available.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kv_lease import WallClock
from kv_net import Peer, cut_off, encode
from kv_persist import WriteLog
from kv_state import KVState, norm_key
from kv_wire import AddressBook, Log

Stamp = tuple[float, str]  # (wall-clock seconds, node): compared as a tuple


class LWWStore:
    """The state: values, each with the stamp of the write that produced it.

    >>> s = LWWStore()
    >>> s.merge("x", "first", (105.0, "n1"))
    True
    >>> s.merge("x", "second", (100.0, "n2"))   # written later, by a clock 5 s behind
    False
    >>> s.state.data["x"]
    'first'
    """

    def __init__(self) -> None:
        self.state = KVState()  # the values alone, so KVState.apply does the arithmetic
        self.stamps: dict[str, Stamp] = {}

    def merge(self, key: str, value: Any, stamp: Stamp) -> bool:
        """Keep ``value`` iff ``stamp`` beats the key's stamp. True if it was kept."""
        cur = self.stamps.get(key)
        if cur is not None and stamp <= cur:
            return False
        self.stamps[key] = stamp
        self.state.data[key] = value
        return True

    def local(self, req: dict[str, Any], stamp: Stamp
              ) -> tuple[Any, tuple[str, Any] | None, bool]:
        """Run a client op here: (response value, mutation or None, kept?). A mutation
        that loses its merge is still returned: it gets replicated, and loses everywhere."""
        key = norm_key(req["key"])
        before = self.state.data.get(key)
        present = key in self.state.data
        value, mutation = self.state.apply(req)  # OpError (definite) propagates
        if mutation is None:
            return value, None, True
        # apply() already stored the new value; undo it and let the stamps decide.
        if present:
            self.state.data[key] = before
        else:
            del self.state.data[key]
        kept = self.merge(key, mutation[1], stamp)
        return value, mutation, kept

    def items(self) -> list[list[Any]]:
        return [[k, self.state.data[k], t, n] for k, (t, n) in self.stamps.items()]


class LWWMode:
    name = "lww"

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, clock_offset: float = 0.0, sync_ms: int = 1000):
        self.node, self.nodes, self.log = node, nodes, log
        self.clock = WallClock(clock_offset)
        self.sync_s = sync_ms / 1000
        self.store = LWWStore()
        self.wal = WriteLog(data_dir / "lww.wal")
        n = 0
        for rec in self.wal.replay():
            self.store.merge(rec[0], rec[1], (rec[2], rec[3]))
            n += 1
        log(f"replayed records={n} keys={len(self.store.stamps)} path={self.wal.path}")
        if clock_offset:
            log(f"clock-offset seconds={clock_offset:+g} (test flag)")
        self.peers = {p: Peer(p, book.addr(p), log) for p in nodes if p != node}
        self.isolated: set[str] = set()
        self.lost = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._anti_entropy())

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        stamp = (self.clock(), self.node)
        key = norm_key(req["key"])
        held = self.store.stamps.get(key)
        value, mutation, kept = self.store.local(req, stamp)
        if mutation is None:
            return {"ok": True, "value": value}
        if not kept:
            self.lost += 1
            assert held is not None
            self.log(f"lww-lost op={req['op']} key={key} stamp={stamp[0]:.6f} "
                     f"loses_to={held[0]:.6f}@{held[1]} by_ms={(held[0] - stamp[0]) * 1000:.0f}"
                     f" (acknowledged, never visible)")
        item = [key, mutation[1], stamp[0], stamp[1]]
        self.wal.append(item)
        await self.wal.sync()
        self._broadcast([item])  # after the ack's fsync: asynchronous replication
        return {"ok": True, "value": value}

    def _broadcast(self, items: list[list[Any]]) -> None:
        data = encode({"op": "peer", "msg": {"type": "lww", "from": self.node,
                                              "items": items}})
        for name, peer in self.peers.items():
            if name not in self.isolated:
                peer.send_raw(data)

    def on_peer(self, msg: dict[str, Any]) -> None:
        if msg.get("type") != "lww" or msg.get("from") in self.isolated:
            return
        for k, v, t, n in msg.get("items") or []:
            if self.store.merge(str(k), v, (float(t), str(n))):
                self.wal.append([k, v, t, n])  # persisted lazily: a peer still has it

    async def _anti_entropy(self) -> None:
        while True:
            await asyncio.sleep(self.sync_s)
            await self.wal.sync_pending(self.log)
            items = self.store.items()
            if items:
                self._broadcast(items)

    def isolate(self, peers: list[str]) -> None:
        self.isolated = cut_off(self.peers, peers)

    def status(self) -> dict[str, Any]:
        return {"mode": self.name, "node": self.node, "role": "primary", "leader": None,
                "keys": len(self.store.stamps), "lost_writes": self.lost,
                "clock": self.clock()}

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for p in self.peers.values():
            p.close()
        self.wal.close()
