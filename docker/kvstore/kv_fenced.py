"""Mode ``fenced``: mode lease's holder, made harmless by fencing tokens. DDIA ch. 8's fix.

The holder is kept exactly as confused as in mode lease (a wall-clock lease, longer than
the election timeout, trusted over any news of a newer term) because the point of the fix
is that it does not matter what the holder believes. What changes is the storage: every
operation carries the holder's fencing token, its Raft term, and every replica refuses a
token older than the newest it has seen.

    writes  go through the Raft log; each append carries the leader's term, and a replica
            with a newer term rejects it (logged as ``fence-rejected kind=append``). An
            old holder's write can never reach a majority: its client gets an indefinite
            timeout (the holder cannot tell), and the entry is later overwritten.
    reads   a holder with a valid lease sends ``fence`` with its token to every replica and
            answers only once a majority said "no newer token here"; one refusal fails the
            read with the definite error ``fenced`` (logged as ``fenced-read``). It then
            answers from its state once that has applied everything committed when the
            read arrived (Raft's ReadIndex). Without a lease, reads go through the log.

Why it is linearizable even for a holder that was paused for a minute: a newer leader was
elected by a majority that had all moved to the newer term; any majority that answers our
fence overlaps it, and that replica refuses our older token. No round trip to storage, no
answer; so a paused, partitioned or clock-skewed holder cannot serve anything stale.

Replica side of the fence (pure): ``Fence.admit(token)`` is True iff token >= the newest
token seen. Raft's term is that number; a fence message does not raise it (only votes and
appends do), so answering a fence never disturbs an election.
"""
from __future__ import annotations

import time
from typing import Any

from kv_lease import LeaseCore, LeaseMode
from kv_raft import Reply
from kv_raft_core import LEADER, RaftCore, Ready
from kv_wire import error


class Fence:
    """What a storage replica checks: tokens never go backwards.

    >>> f = Fence(); f.admit(3), f.admit(5), f.admit(4), f.newest
    (True, True, False, 5)
    """

    def __init__(self, newest: int = 0):
        self.newest = newest

    def admit(self, token: int) -> bool:
        if token < self.newest:
            return False
        self.newest = token
        return True


class FencedCore(LeaseCore):
    """LeaseCore that records each refusal of an older token (per sender and token once)."""

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._refused: set[tuple[str, int]] = set()

    def step(self, msg: dict[str, Any]) -> None:
        term, sender, kind = msg.get("term"), msg.get("from"), msg.get("type")
        if (isinstance(term, int) and term < self.term and kind in ("append", "vote")
                and sender in self.peers and (sender, term) not in self._refused):
            self._refused.add((str(sender), term))
            self._events.append(f"fence-rejected kind={kind} from={sender} token={term} "
                                f"newest={self.term}")
        super().step(msg)


class FencedMode(LeaseMode):
    name = "fenced"
    core_class: type[RaftCore] = FencedCore

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.round = 0
        self.round_term = 0
        self.round_acks: set[str] = set()
        self.round_deadline = 0.0
        self.round_reads: list[tuple[int, dict[str, Any], Reply]] = []  # in the open round
        self.next_reads: list[tuple[int, dict[str, Any], Reply]] = []   # for the next one
        self.confirmed: list[tuple[int, dict[str, Any], Reply]] = []    # wait to be applied
        self._refused_reads: set[tuple[str, int]] = set()

    # --- the holder's side --------------------------------------------------------------

    def submit(self, req: dict[str, Any], reply: Reply) -> None:
        core = self.core
        if (req["op"] == "read" and self.lease.valid() and core.role == LEADER
                and core.term_at(core.commit) == core.term):
            # read index: everything committed now must be in the answer
            self.next_reads.append((core.commit, req, reply))
            if not self.round_reads:
                self._start_round()
            return
        super(LeaseMode, self).submit(req, reply)  # raft's path: through the log

    def _start_round(self) -> None:
        self.round += 1
        self.round_reads, self.next_reads = self.next_reads, []
        self.round_acks, self.round_term = set(), self.core.term
        self.round_deadline = time.monotonic() + self.forward_timeout
        if self.core.quorum <= 1:
            self._round_done(None)
            return
        for p in self.core.peers:
            self._send({"type": "fence", "term": self.round_term, "from": self.node,
                        "to": p, "round": self.round})
        self._flush()

    def _on_fence_resp(self, msg: dict[str, Any]) -> None:
        if msg.get("round") != self.round or not self.round_reads:
            return
        if msg.get("ok") and msg.get("term") == self.round_term:
            self.round_acks.add(str(msg.get("from")))
            if len(self.round_acks) + 1 >= self.core.quorum:
                self._round_done(None)
            return
        newest = msg.get("term")
        self.log(f"fenced-read token={self.round_term} refused_by={msg.get('from')} "
                 f"newest={newest} reads={len(self.round_reads)}")
        self._round_done(error("fenced", True, f"replica {msg.get('from')} has seen token "
                               f"{newest}, newer than ours ({self.round_term}); "
                               "this node no longer holds the lease"))

    def _round_done(self, err: dict[str, Any] | None) -> None:
        reads, self.round_reads = self.round_reads, []
        for read_index, req, reply in reads:
            if err is not None:
                reply(err)
            else:
                self.confirmed.append((read_index, req, reply))
        self._release()
        if self.next_reads:
            self._start_round()

    def _release(self) -> None:
        if not self.confirmed:
            return
        still = []
        for read_index, req, reply in self.confirmed:
            if self.core.applied >= read_index:
                reply(self.local_read(req))
            else:
                still.append((read_index, req, reply))
        self.confirmed = still

    def _process(self, rd: Ready) -> None:
        super()._process(rd)
        self._release()

    def _tick(self) -> None:
        if self.round_reads and time.monotonic() > self.round_deadline:
            n = len(self.round_reads)
            self.log(f"fence-timeout token={self.round_term} acks={len(self.round_acks)} "
                     f"reads={n}")
            self._round_done(error("timeout", False, f"no majority confirmed token "
                                   f"{self.round_term} within {self.forward_timeout:g}s"))
        super()._tick()

    # --- the replica's side -------------------------------------------------------------

    def on_peer(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind not in ("fence", "fence_resp"):
            super().on_peer(msg)
            return
        if self.isolated and msg.get("from") in self.isolated:
            return
        if kind == "fence_resp":
            self._on_fence_resp(msg)
            return
        token, sender = msg.get("term"), msg.get("from")
        if not isinstance(token, int) or sender not in self.peers:
            return
        ok = Fence(self.core.term).admit(token)
        if not ok and (sender, token) not in self._refused_reads:
            self._refused_reads.add((sender, token))  # once per holder and token
            self.log(f"fence-rejected kind=read from={sender} token={token} "
                     f"newest={self.core.term}")
        self._send({"type": "fence_resp", "term": token if ok else self.core.term,
                    "from": self.node, "to": sender, "round": msg.get("round"), "ok": ok})
        self._flush()

    def status(self) -> dict[str, Any]:
        st = super().status()
        st["fence_round"] = self.round
        return st
