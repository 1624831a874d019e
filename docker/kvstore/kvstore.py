"""splitbrain's key-value store under test. Stdlib only; runs with the node's python3.

    python3 /opt/splitbrain/kvstore/kvstore.py --node n1 --nodes n1,n2,n3 --port 7000 \
        --data-dir /var/lib/splitbrain/kv --mode primary \
        --log-file /var/log/splitbrain/kvstore.log --pid-file /var/run/splitbrain-kvstore.pid

Protocol: JSON lines over TCP (one object per line, UTF-8), port 7000 by default. Clients and
peers use the same port. A connection may carry many requests; answers come back tagged with
the request's id, possibly out of order.

Client request:
    {"id": 17, "op": "read",   "key": 3}
    {"id": 18, "op": "write",  "key": 3, "value": 7}
    {"id": 19, "op": "cas",    "key": 3, "expected": 7, "new": 8}
    {"id": 20, "op": "incr",   "key": "c", "value": 2}      value = delta, default 1
    {"id": 21, "op": "append", "key": "l", "value": 5}      key holds a list
    {"id": 22, "op": "add",    "key": "s", "value": 5}      key holds a list used as a set
    {"id": 23, "op": "status"}                              mode, role, leader, term...
Keys are JSON scalars, normalised to strings (3 and "3" are one key).

Answer:
    {"id": 17, "ok": true, "value": 8}       read: the value, null if absent; incr: the
                                             new value; write/cas/append/add: null
    {"id": 19, "ok": false, "error": "cas-mismatch", "definite": true, "msg": "..."}
``definite: true`` means the op surely did not happen; ``false`` means it may have, may not,
or may still. Error codes:
    cas-mismatch  definite   cas precondition failed (an absent key equals null)
    type-error    definite   incr on a non-integer, append/add on a non-list
    bad-request   definite   malformed request
    unavailable   definite   the primary/leader could not be reached; nothing was sent
    not-leader    definite   refused before doing anything (no leader known, a forwarded
                             request reached a node that no longer leads), or (raft) the
                             op's log entry was overwritten by a later leader, so it can
                             never take effect
    fenced        definite   (fenced) a replica has seen a newer fencing token than this
                             node's: it no longer holds the lease; nothing was read
    timeout       indefinite forwarded or proposed, but no answer in time
    internal      indefinite the server failed while handling the op

Peer messages are one-way: {"op": "peer", "msg": {...}}, no answer (see kv_raft_core.py,
kv_fenced.py, kv_lww.py, kv_async.py for the kinds). A node forwards a client request to
the leader/primary it knows with "fwd": 1 added; a forwarded request is never forwarded
again.

Any node accepts any request and forwards or refuses as its mode demands. Modes (the first
two and fenced are correct; lease, lww and async are wrong on purpose, as DDIA ch. 8 warns):
    primary  the first of --nodes holds the only copy; others forward (kv_primary.py)
    raft     Raft consensus, every op through the log; followers forward (kv_raft.py)
    lease    raft, but a leader answers reads alone while its wall-clock lease lasts, and
             trusts that lease over news of a newer term: stale reads after a pause,
             under a partition or a clock bumped back (kv_lease.py)
    fenced   lease's holder, but replicas check its fencing token (the term) on every op
             and refuse older ones: linearizable (kv_fenced.py)
    lww      every node takes writes, replicates them asynchronously, and keeps the value
             with the highest wall-clock timestamp: a slow clock loses acknowledged writes
             (kv_lww.py)
    async    primary-backup, acknowledged before replicated; a backup promotes itself after
             --failover-ms without a heartbeat, no quorum, no fencing: split brain and
             lost writes (kv_async.py)

Log: one line per event, ``<UTC wall-clock time> <node> <event> key=value...``: start,
mode, roles, elections, terms, leader changes, rejected writes, failed forwards; leases
(lease-acquired, lease-ignores, lease-expired), fencing (fence-rejected, fenced-read),
lww-lost, promote / demoted / snapshot-installed.

More flags: --host (listen address), --pid-file, --peer-addr n1=host:port,... (tests run a
cluster on loopback with it), --forward-timeout (s; also how long a raft leader waits for
a commit), --election-min-ms/--election-max-ms/--heartbeat-ms/--seed (raft timers),
--lease-ms, --clock-offset (s added to time.time(); tests), --sync-ms (lww),
--failover-ms/--async-heartbeat-ms (async), --test-hooks (accept
{"op": "isolate", "peers": [...]}: drop all traffic with those peers, in-process; a
partition for loopback tests; lww, async, raft, lease, fenced).

Files: kv_state.py (ops), kv_persist.py (everything written to disk: write log, raft's
log and metadata, execute-then-fsync), kv_wire.py (framing, error answers, the primary
mode's links), kv_net.py (callback-style framing and peer links: the other modes),
kv_primary.py, kv_raft_core.py (pure Raft), kv_raft.py (its I/O), kv_lease.py, kv_fenced.py,
kv_lww.py, kv_async.py, kv_local.py (loopback cluster for tests and bench/kvstore_throughput.py;
unused on the nodes).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from kv_net import LineConn
from kv_state import OPS, OpError, validate
from kv_wire import AddressBook, Log, error

MODES = ("primary", "raft", "lease", "fenced", "lww", "async")


class Mode(Protocol):
    name: str

    async def start(self) -> None: ...

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]: ...

    def on_peer(self, msg: dict[str, Any]) -> None: ...

    def status(self) -> dict[str, Any]: ...

    async def stop(self) -> None: ...


def make_logger(node: str, path: str | None) -> Log:
    """A line per event with a wall-clock timestamp: these logs are read beside the
    harness's history, and under a clock nemesis the skew should show."""
    out = open(path, "a", buffering=1) if path else sys.stderr  # open for the life of the node

    def log(event: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        out.write(f"{stamp}.{int(now * 1000) % 1000:03d}Z {node} {event}\n")

    return log


def make_mode(args: argparse.Namespace, book: AddressBook, log: Log) -> Mode:
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.mode == "primary":
        from kv_primary import PrimaryMode

        return PrimaryMode(args.node, args.nodes, book, data_dir, log,
                           forward_timeout=args.forward_timeout)
    raft: dict[str, Any] = dict(forward_timeout=args.forward_timeout,
                                election_ms=(args.election_min_ms, args.election_max_ms),
                                heartbeat_ms=args.heartbeat_ms, seed=args.seed)
    if args.mode == "raft":
        from kv_raft import RaftMode

        return RaftMode(args.node, args.nodes, book, data_dir, log, **raft)
    if args.mode == "lease":
        from kv_lease import LeaseMode

        return LeaseMode(args.node, args.nodes, book, data_dir, log, lease_ms=args.lease_ms,
                         clock_offset=args.clock_offset, **raft)
    if args.mode == "fenced":
        from kv_fenced import FencedMode

        return FencedMode(args.node, args.nodes, book, data_dir, log, lease_ms=args.lease_ms,
                          clock_offset=args.clock_offset, **raft)
    if args.mode == "lww":
        from kv_lww import LWWMode

        return LWWMode(args.node, args.nodes, book, data_dir, log,
                       clock_offset=args.clock_offset, sync_ms=args.sync_ms)
    if args.mode == "async":
        from kv_async import AsyncMode

        return AsyncMode(args.node, args.nodes, book, data_dir, log,
                         forward_timeout=args.forward_timeout, failover_ms=args.failover_ms,
                         heartbeat_ms=args.async_heartbeat_ms)
    raise SystemExit(f"unknown mode {args.mode!r}; modes: {', '.join(MODES)}")


Reply = Callable[[dict[str, Any]], None]


class Server:
    """Reads requests off every connection through kv_net.LineConn (no task per request).

    A mode with ``submit(req, reply)`` answers through the callback, synchronously or later;
    a mode with only ``async handle(req)`` gets a task per request (mode primary)."""

    def __init__(self, mode: Mode, log: Log, test_hooks: bool = False):
        self.mode, self.log = mode, log
        self.test_hooks = test_hooks
        self.submit: Callable[[dict[str, Any], Reply], None] | None = getattr(
            mode, "submit", None)
        self._tasks: set[asyncio.Task[None]] = set()

    def protocol(self) -> LineConn:
        return LineConn(self.on_msg, on_bad=self.on_bad)

    def on_bad(self, conn: LineConn, e: Exception) -> None:
        conn.send(error("bad-request", True, f"not JSON: {e}"))

    def on_msg(self, conn: LineConn, msg: Any) -> None:
        if isinstance(msg, dict) and msg.get("op") == "peer":
            try:
                self.mode.on_peer(msg.get("msg") or {})
            except Exception as e:  # a bad message must not end the node
                self.log(f"bad-peer-message error={type(e).__name__}: {e} "
                         f"msg={str(msg)[:200]}")
            return
        rid = msg.get("id") if isinstance(msg, dict) else None

        def reply(resp: dict[str, Any]) -> None:
            conn.send({"id": rid, **resp})

        try:
            op = msg.get("op") if isinstance(msg, dict) else None
            if op == "status":
                reply({"ok": True, "value": self.mode.status()})
                return
            if op == "isolate" and self.test_hooks and hasattr(self.mode, "isolate"):
                peers = [str(p) for p in msg.get("peers") or []]
                self.mode.isolate(peers)
                self.log(f"isolate peers={','.join(peers) or '-'} (test hook)")
                reply({"ok": True, "value": peers})
                return
            req = validate(msg)
            if self.submit is not None:
                self.submit(req, reply)
                return
        except OpError as e:
            reply(error(e.code, True, e.msg))
            return
        except Exception as e:  # a bug must answer, not hang the client
            self.internal(msg, e, reply)
            return
        t = asyncio.get_running_loop().create_task(self.answer(req, reply))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def internal(self, msg: Any, e: Exception, reply: Reply) -> None:
        self.log(f"internal-error op={msg.get('op') if isinstance(msg, dict) else None} "
                 f"error={type(e).__name__}: {e}")
        reply(error("internal", False, str(e)))

    async def answer(self, req: dict[str, Any], reply: Reply) -> None:
        try:
            resp = await self.mode.handle(req)
        except OpError as e:
            resp = error(e.code, True, e.msg)
        except Exception as e:  # a bug must answer, not hang the client
            self.internal(req, e, reply)
            return
        reply(resp)


async def run(args: argparse.Namespace) -> None:
    log = make_logger(args.node, args.log_file)
    book = AddressBook(args.port, AddressBook.parse(args.peer_addr or ""))
    log(f"start pid={os.getpid()} port={args.port} nodes={','.join(args.nodes)} "
        f"data_dir={args.data_dir} python={sys.version.split()[0]}")
    log(f"mode {args.mode}")
    mode = make_mode(args, book, log)
    server = Server(mode, log, test_hooks=args.test_hooks)
    if args.pid_file:
        # Before listening: once the port answers, the kill/pause nemeses can find us.
        Path(args.pid_file).write_text(f"{os.getpid()}\n")
    srv = await asyncio.get_running_loop().create_server(
        server.protocol, args.host, args.port, reuse_address=True)
    await mode.start()
    log(f"listening host={args.host} port={args.port} ops={','.join(OPS)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with srv:
        await stop.wait()
    log("stop signal received")
    await mode.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", required=True)
    p.add_argument("--nodes", required=True, help="comma-separated, e.g. n1,n2,n3")
    p.add_argument("--port", type=int, default=7000)
    p.add_argument("--host", default="0.0.0.0", help="address to listen on")
    p.add_argument("--data-dir", default="/var/lib/splitbrain/kv")
    p.add_argument("--mode", default="primary", choices=MODES)
    p.add_argument("--log-file", default=None, help="default: stderr")
    p.add_argument("--pid-file", default=None)
    p.add_argument("--peer-addr", default="", help="n1=host:port,... (default: name:--port)")
    p.add_argument("--forward-timeout", type=float, default=0.9,
                   help="seconds a forwarded request may take before it is indefinite")
    p.add_argument("--election-min-ms", type=int, default=300)
    p.add_argument("--election-max-ms", type=int, default=600)
    p.add_argument("--heartbeat-ms", type=int, default=50)
    p.add_argument("--seed", type=int, default=None, help="election timeout randomness")
    p.add_argument("--lease-ms", type=int, default=10_000,
                   help="lease/fenced: how long a leader's lease lasts, on the wall clock "
                        "(longer than the pause nemesis' default 5 s pause, on purpose)")
    p.add_argument("--clock-offset", type=float, default=0.0,
                   help="lease/fenced/lww: seconds added to time.time() (tests; real runs "
                        "skew the clock with libfaketime)")
    p.add_argument("--sync-ms", type=int, default=1000,
                   help="lww: how often every node pushes its whole state to its peers")
    p.add_argument("--failover-ms", type=int, default=1000,
                   help="async: heartbeat silence after which the first backup promotes "
                        "itself (the k-th backup waits k halves longer)")
    p.add_argument("--async-heartbeat-ms", type=int, default=100,
                   help="async: how often a primary heartbeats")
    p.add_argument("--test-hooks", action="store_true",
                   help='accept {"op": "isolate", "peers": [...]}: cut this node off from '
                        "those peers in-process (loopback tests of partitions)")
    args = p.parse_args(argv)
    args.nodes = [n for n in args.nodes.split(",") if n]
    if args.node not in args.nodes:
        p.error(f"--node {args.node} is not in --nodes {','.join(args.nodes)}")
    return args


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
