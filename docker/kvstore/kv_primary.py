"""Mode ``primary``: one fixed primary (the first of --nodes) holds the only copy.

Every other node forwards each client request to the primary and relays the answer. One
copy, applied in one order, persisted before any answer: linearizable, and it stays so under
partitions because a cut-off follower can only fail or time out, never answer on its own.

The primary writes each mutation to ``<data-dir>/primary.wal`` (a JSON line, fsynced in
groups) before replying, and replays that file on start. Reads also wait for the writes
before them to reach the disk: a read must never show a value that a crash could take back.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kv_persist import WriteLog, execute
from kv_state import KVState
from kv_wire import AddressBook, Log, Lost, PeerConn, Refused, error


class LocalStore:
    """The state machine plus its write-ahead log: apply, persist, then answer."""

    def __init__(self, data_dir: Path, log: Log, filename: str = "primary.wal"):
        self.state = KVState()
        self.wal = WriteLog(data_dir / filename)
        n = 0
        for rec in self.wal.replay():
            self.state.set(rec["k"], rec["v"])
            n += 1
        log(f"replayed records={n} keys={len(self.state.data)} path={self.wal.path}")

    async def execute(self, req: dict[str, Any]) -> dict[str, Any]:
        return await execute(self.state, self.wal, req)

    def close(self) -> None:
        self.wal.close()


class PrimaryMode:
    name = "primary"

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, forward_timeout: float = 0.9):
        self.node, self.nodes, self.log = node, nodes, log
        self.primary = nodes[0]
        self.forward_timeout = forward_timeout
        self.store: LocalStore | None = None
        self.link: PeerConn | None = None
        if node == self.primary:
            self.store = LocalStore(data_dir, log)
            log("role=primary")
        else:
            self.link = PeerConn(self.primary, book.addr(self.primary))
            log(f"role=follower primary={self.primary}")

    async def start(self) -> None:
        pass

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.store is not None:
            return await self.store.execute(req)
        assert self.link is not None
        fwd = {k: v for k, v in req.items() if k != "id"}
        try:
            return await self.link.request(fwd, self.forward_timeout)
        except Refused as e:
            self.log(f"forward-failed to={self.primary} op={req['op']} definite=true "
                     f"error={e}")
            return error("unavailable", True, f"primary {self.primary} unreachable: {e}")
        except Lost as e:
            self.log(f"forward-failed to={self.primary} op={req['op']} definite=false "
                     f"error={e}")
            return error("timeout", False, f"forward to primary {self.primary}: {e}")

    def on_peer(self, msg: dict[str, Any]) -> None:
        pass  # this mode has no peer protocol beyond forwarding

    def status(self) -> dict[str, Any]:
        role = "primary" if self.store is not None else "follower"
        return {"mode": self.name, "node": self.node, "role": role,
                "leader": self.primary, "primary": self.primary}

    async def stop(self) -> None:
        if self.link is not None:
            await self.link.close()
        if self.store is not None:
            self.store.close()
