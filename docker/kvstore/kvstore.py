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
    timeout       indefinite forwarded or proposed, but no answer in time
    internal      indefinite the server failed while handling the op

Peer messages (mode raft) are one-way: {"op": "peer", "msg": {...}}, no answer (see
kv_raft_core.py for the message kinds). A follower forwards a client request to the leader
with "fwd": 1 added; a forwarded request is never forwarded again.

Any node accepts any request and forwards or refuses as its mode demands. Modes:
    primary  the first of --nodes holds the only copy; others forward (kv_primary.py)
    raft     Raft consensus; followers forward to the leader they know (kv_raft.py)

Log: one line per event, ``<UTC wall-clock time> <node> <event> key=value...``: start,
mode, roles, elections, terms, leader changes, rejected writes, failed forwards.

More flags: --host (listen address), --pid-file, --peer-addr n1=host:port,... (tests run a
cluster on loopback with it), --forward-timeout (s; also how long a raft leader waits for
a commit), --election-min-ms/--election-max-ms/--heartbeat-ms/--seed (raft timers).

Files: kv_state.py (ops, write log), kv_wire.py (framing, peer links), kv_primary.py,
kv_raft_core.py (pure Raft), kv_raft.py (its I/O), kv_local.py (loopback cluster for tests
and bench/kvstore_throughput.py; unused on the nodes).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from kv_state import OPS, OpError, validate
from kv_wire import MAX_LINE, AddressBook, Log, encode, read_msg

MODES = ("primary", "raft")


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
    out = open(path, "a", buffering=1) if path else sys.stderr  # noqa: SIM115

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
    if args.mode == "raft":
        from kv_raft import RaftMode

        return RaftMode(args.node, args.nodes, book, data_dir, log,
                        forward_timeout=args.forward_timeout,
                        election_ms=(args.election_min_ms, args.election_max_ms),
                        heartbeat_ms=args.heartbeat_ms, seed=args.seed)
    raise SystemExit(f"unknown mode {args.mode!r}; modes: {', '.join(MODES)}")


class Server:
    def __init__(self, mode: Mode, log: Log):
        self.mode, self.log = mode, log

    async def serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                         ) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    msg = await read_msg(reader)
                except ValueError as e:
                    writer.write(encode({"ok": False, "error": "bad-request", "definite": True,
                                         "msg": f"not JSON: {e}"}))
                    continue
                if msg is None:
                    break
                if isinstance(msg, dict) and msg.get("op") == "peer":
                    self.mode.on_peer(msg.get("msg") or {})
                    continue
                # Each request runs on its own so a slow one (a forward, a Raft commit) does
                # not hold up the others multiplexed on this connection.
                t = asyncio.get_running_loop().create_task(self.answer(msg, writer))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down; re-raising makes 3.11's stream callback log a traceback
        finally:
            writer.close()

    async def answer(self, msg: Any, writer: asyncio.StreamWriter) -> None:
        rid = msg.get("id") if isinstance(msg, dict) else None
        try:
            if isinstance(msg, dict) and msg.get("op") == "status":
                resp: dict[str, Any] = {"ok": True, "value": self.mode.status()}
            else:
                resp = await self.mode.handle(validate(msg))
        except OpError as e:
            resp = {"ok": False, "error": e.code, "definite": True, "msg": e.msg}
        except Exception as e:  # noqa: BLE001 (a bug must answer, not hang the client)
            self.log(f"internal-error op={msg.get('op') if isinstance(msg, dict) else None} "
                     f"error={type(e).__name__}: {e}")
            resp = {"ok": False, "error": "internal", "definite": False, "msg": str(e)}
        if not writer.is_closing():
            writer.write(encode({"id": rid, **resp}))


async def run(args: argparse.Namespace) -> None:
    log = make_logger(args.node, args.log_file)
    book = AddressBook(args.port, AddressBook.parse(args.peer_addr or ""))
    log(f"start pid={os.getpid()} port={args.port} nodes={','.join(args.nodes)} "
        f"data_dir={args.data_dir} python={sys.version.split()[0]}")
    log(f"mode {args.mode}")
    mode = make_mode(args, book, log)
    server = Server(mode, log)
    if args.pid_file:
        # Before listening: once the port answers, the kill/pause nemeses can find us.
        Path(args.pid_file).write_text(f"{os.getpid()}\n")
    srv = await asyncio.start_server(server.serve_conn, args.host, args.port, limit=MAX_LINE,
                                     reuse_address=True)
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
    args = p.parse_args(argv)
    args.nodes = [n for n in args.nodes.split(",") if n]
    if args.node not in args.nodes:
        p.error(f"--node {args.node} is not in --nodes {','.join(args.nodes)}")
    return args


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
