"""Raft consensus as pure logic: no sockets, no clocks, no disk. Stdlib only.

The I/O layer (kv_raft.py) drives a ``RaftCore`` with three inputs and one output:

    core.tick()            one timer tick (elections, heartbeats, check-quorum)
    core.step(msg)         one message from a peer (a dict, as it came off the wire)
    core.propose(cmd)      a client command; the log index it got, or None if not leader
    rd = core.ready()      what to do next, in this order:
        1. send the "append" messages among rd.messages (may go before the fsync)
        2. persist rd.meta (term, vote) and rd.entries, with fsync; then
           core.stabilized(index, term) for the last entry written
        3. send the other messages
        4. apply rd.committed to the state machine, answer clients
        5. log rd.events

Sending votes and acknowledgements only after persisting is what makes them durable before
anyone can count them. A leader's appends may go out before its own fsync (the disks then
work in parallel) because the leader counts itself toward a majority only for entries it has
reported stable. Tests drive the core the same way, deterministically (a seeded
``random.Random`` picks election timeouts).

Messages (all carry "type", "term", "from", "to"):
    vote         last_index, last_term                       -> vote_resp {granted}
    append       prev_index, prev_term, entries [[term, cmd], ...], commit
                                                             -> append_resp {success, match, hint}

Beyond the paper: a new leader appends a no-op (so earlier terms' entries commit promptly),
and a leader that has not heard from a majority for an election timeout steps down
(check-quorum), so a leader cut off in a minority stops taking requests. For cost per op:
flow control (a peer gets new entries from ``ready()`` only once it has acknowledged all it
was sent; its ack, or a heartbeat, sends the rest in one message) and heartbeats only to
peers that got no append since the last one. No pre-vote, no snapshots: the log grows for
the life of the data dir.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
MAX_BATCH = 1000  # entries per append message
NOOP = {"noop": True}

Entry = tuple[int, Any]  # (term, command); the index is the position in the log, from 1


@dataclass
class Ready:
    meta: tuple[int, str | None] | None = None        # (term, vote) to persist, if changed
    entries: list[tuple[int, int, Any]] = field(default_factory=list)  # (index, term, cmd)
    messages: list[dict[str, Any]] = field(default_factory=list)
    committed: list[tuple[int, int, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.meta or self.entries or self.messages or self.committed or self.events)


class RaftCore:
    def __init__(self, node: str, nodes: list[str], *, term: int = 0, vote: str | None = None,
                 log: list[Entry] | None = None, election_ticks: tuple[int, int] = (30, 60),
                 heartbeat_ticks: int = 5, rng: random.Random | None = None):
        self.node, self.nodes = node, list(nodes)
        self.peers = [n for n in self.nodes if n != node]
        self.term, self.vote = term, vote
        self.log: list[Entry] = list(log or [])
        self.election_ticks, self.heartbeat_ticks = election_ticks, heartbeat_ticks
        self.rng = rng or random.Random()
        self.role: str = FOLLOWER
        self.leader: str | None = None
        self.commit = 0
        self.applied = 0  # the last index handed out in Ready.committed
        self.stable = len(self.log)  # entries known to be on our disk
        self.votes: set[str] = set()
        self.next: dict[str, int] = {}
        self.match: dict[str, int] = {}
        self.active: set[str] = set()  # peers heard from in this check-quorum window
        self._sent: set[str] = set()   # peers sent an append since the last heartbeat
        self.elapsed = 0
        self.quorum_elapsed = 0
        self.timeout = self._random_timeout()
        self._meta_dirty = False
        self._unstable_from: int | None = None
        self._out: list[dict[str, Any]] = []
        self._events: list[str] = []

    # --- queries -------------------------------------------------------------------------

    @property
    def last_index(self) -> int:
        return len(self.log)

    def term_at(self, index: int) -> int:
        return self.log[index - 1][0] if 0 < index <= len(self.log) else 0

    @property
    def quorum(self) -> int:
        return len(self.nodes) // 2 + 1

    # --- inputs --------------------------------------------------------------------------

    def tick(self) -> None:
        if self.role == LEADER:
            self.elapsed += 1
            self.quorum_elapsed += 1
            if self.quorum_elapsed >= self.election_ticks[0]:
                self._check_quorum()
            if self.role == LEADER and self.elapsed >= self.heartbeat_ticks:
                # A heartbeat only to peers that got no append since the last one: under
                # load the appends themselves keep everyone's election timer quiet.
                self.elapsed = 0
                quiet = [p for p in self.peers if p not in self._sent]
                self._sent = set()
                for p in quiet:
                    self._replicate(p)
            return
        self.elapsed += 1
        if self.elapsed >= self.timeout:
            self._campaign()

    def propose(self, cmd: Any) -> int | None:
        """Append ``cmd`` if we lead; its index, or None (the caller answers not-leader)."""
        if self.role != LEADER:
            return None
        self._append(cmd)
        return self.last_index

    def stabilized(self, index: int, term: int) -> None:
        """Entries up to ``index`` (whose entry has ``term``) are on disk."""
        if self.term_at(index) == term and index > self.stable:
            self.stable = index
            if self.role == LEADER:
                self._maybe_commit()

    def step(self, msg: dict[str, Any]) -> None:
        kind, term, sender = msg.get("type"), msg.get("term"), msg.get("from")
        if not isinstance(term, int) or sender not in self.peers:
            return  # not from a member of this cluster: ignore
        if term > self.term:
            self._become_follower(term, sender if kind == "append" else None)
        elif term < self.term:
            # A stale sender learns our term from the reply and steps down.
            if kind == "vote":
                self._send(sender, "vote_resp", granted=False)
            elif kind == "append":
                self._send(sender, "append_resp", success=False, match=0, hint=0)
            return
        if kind == "vote":
            self._on_vote(msg)
        elif kind == "vote_resp":
            self._on_vote_resp(msg)
        elif kind == "append":
            self._on_append(msg)
        elif kind == "append_resp":
            self._on_append_resp(msg)

    def has_ready(self) -> bool:
        """Whether ``ready()`` would return something (cheap; the ticker asks each tick)."""
        return bool(self._out or self._events or self._meta_dirty
                    or self._unstable_from is not None or self.commit > self.applied
                    or (self.role == LEADER
                        and any(self.last_index >= self.next[p] <= self.match[p] + 1
                                for p in self.peers)))

    def ready(self) -> Ready:
        if self.role == LEADER:
            # Proposals since the last ready go out together: one message per peer per batch,
            # and only to peers that have acknowledged all we sent them (flow control); the
            # others get everything new from their ack (_on_append_resp) or the heartbeat.
            # Fewer, bigger appends: fewer messages and fsyncs per op on the followers.
            for p in self.peers:
                if self.next[p] <= self.last_index and self.match[p] + 1 >= self.next[p]:
                    self._replicate(p)
        rd = Ready()
        if self._meta_dirty:
            rd.meta = (self.term, self.vote)
            self._meta_dirty = False
        if self._unstable_from is not None:
            rd.entries = [(i, *self.log[i - 1]) for i in range(self._unstable_from,
                                                               self.last_index + 1)]
            self._unstable_from = None
        rd.messages, self._out = self._out, []
        if self.commit > self.applied:
            rd.committed = [(i, *self.log[i - 1]) for i in range(self.applied + 1,
                                                                 self.commit + 1)]
            self.applied = self.commit
        rd.events, self._events = self._events, []
        return rd

    # --- roles ---------------------------------------------------------------------------

    def _random_timeout(self) -> int:
        return self.rng.randint(*self.election_ticks)

    def _become_follower(self, term: int, leader: str | None) -> None:
        if term != self.term:
            self.term, self.vote = term, None
            self._meta_dirty = True
        if self.role != FOLLOWER or leader != self.leader:
            self._events.append(f"role=follower term={term} leader={leader}")
        self.role, self.leader = FOLLOWER, leader
        self.elapsed, self.timeout = 0, self._random_timeout()

    def _campaign(self) -> None:
        self.term += 1
        self.vote, self._meta_dirty = self.node, True
        self.role, self.leader, self.votes = CANDIDATE, None, {self.node}
        self.elapsed, self.timeout = 0, self._random_timeout()
        self._events.append(f"election term={self.term} last_index={self.last_index}")
        if len(self.votes) >= self.quorum:
            self._become_leader()
            return
        for p in self.peers:
            self._send(p, "vote", last_index=self.last_index,
                       last_term=self.term_at(self.last_index))

    def _become_leader(self) -> None:
        self.role, self.leader = LEADER, self.node
        self.next = {p: self.last_index + 1 for p in self.peers}
        self.match = {p: 0 for p in self.peers}
        self.active, self.elapsed, self.quorum_elapsed = set(), 0, 0
        self._events.append(f"role=leader term={self.term} votes={','.join(sorted(self.votes))}")
        self._append(NOOP)
        self._maybe_commit()
        self._broadcast()

    def _check_quorum(self) -> None:
        heard = len(self.active) + 1
        self.active, self.quorum_elapsed = set(), 0
        if heard < self.quorum:
            self._events.append(f"step-down term={self.term} reason=no-quorum heard={heard}")
            self._become_follower(self.term, None)

    # --- votes ---------------------------------------------------------------------------

    def _on_vote(self, msg: dict[str, Any]) -> None:
        cand = msg["from"]
        mine = (self.term_at(self.last_index), self.last_index)
        theirs = (msg.get("last_term", 0), msg.get("last_index", 0))
        granted = self.vote in (None, cand) and theirs >= mine
        if granted:
            if self.vote != cand:
                self.vote, self._meta_dirty = cand, True
                self._events.append(f"vote-granted to={cand} term={self.term}")
            self.elapsed = 0  # a live candidate: give it time to win
        self._send(cand, "vote_resp", granted=granted)

    def _on_vote_resp(self, msg: dict[str, Any]) -> None:
        if self.role != CANDIDATE or not msg.get("granted"):
            return
        self.votes.add(msg["from"])
        if len(self.votes) >= self.quorum:
            self._become_leader()

    # --- replication ---------------------------------------------------------------------

    def _append(self, cmd: Any) -> None:
        self.log.append((self.term, cmd))
        self._mark_unstable(self.last_index)

    def _mark_unstable(self, index: int) -> None:
        if self._unstable_from is None or index < self._unstable_from:
            self._unstable_from = index
        self.stable = min(self.stable, index - 1)

    def _broadcast(self) -> None:
        for p in self.peers:
            self._replicate(p)

    def _replicate(self, peer: str) -> None:
        """Send ``peer`` everything from its next index (or an empty heartbeat), and assume
        it arrives: a failure reply or a heartbeat's mismatch brings next back down."""
        nxt = max(1, min(self.next[peer], self.last_index + 1))
        entries = [list(e) for e in self.log[nxt - 1:nxt - 1 + MAX_BATCH]]
        self._send(peer, "append", prev_index=nxt - 1, prev_term=self.term_at(nxt - 1),
                   entries=entries, commit=self.commit)
        self.next[peer] = nxt + len(entries)
        self._sent.add(peer)

    def _on_append(self, msg: dict[str, Any]) -> None:
        leader = msg["from"]
        if self.role != FOLLOWER or self.leader != leader:
            self._become_follower(self.term, leader)
        self.elapsed = 0
        prev, prev_term = int(msg.get("prev_index", 0)), int(msg.get("prev_term", 0))
        if prev > self.last_index:
            self._send(leader, "append_resp", success=False, match=0, hint=self.last_index + 1)
            return
        if self.term_at(prev) != prev_term:
            # Skip back over the whole conflicting term in one round trip.
            bad, hint = self.term_at(prev), prev
            while hint > self.commit + 1 and self.term_at(hint - 1) == bad:
                hint -= 1
            self._send(leader, "append_resp", success=False, match=0, hint=hint)
            return
        index = prev
        for term, cmd in msg.get("entries", []):
            index += 1
            if index <= self.last_index:
                if self.term_at(index) == term:
                    continue  # already have it (a duplicate or reordered message)
                if index <= self.commit:  # pragma: no cover - would be a Raft safety bug
                    raise AssertionError(f"asked to overwrite committed entry {index}")
                self._events.append(f"truncate from={index} last_index={self.last_index} "
                                    f"term={self.term}")
                del self.log[index - 1:]
            self.log.append((term, cmd))
            self._mark_unstable(index)
        # Only what this message vouched for is known to match the leader's log.
        leader_commit = int(msg.get("commit", 0))
        self.commit = max(self.commit, min(leader_commit, index))
        self._send(leader, "append_resp", success=True, match=index, hint=0)

    def _on_append_resp(self, msg: dict[str, Any]) -> None:
        if self.role != LEADER:
            return
        peer = msg["from"]
        self.active.add(peer)
        if msg.get("success"):
            self.match[peer] = max(self.match[peer], int(msg.get("match", 0)))
            self.next[peer] = max(self.next[peer], self.match[peer] + 1)
            self._maybe_commit()
            if self.next[peer] <= self.last_index:
                self._replicate(peer)
            return
        hint = int(msg.get("hint", 0)) or self.next[peer] - 1
        self.next[peer] = max(self.match[peer] + 1, min(self.next[peer] - 1, hint))
        self._replicate(peer)

    def _maybe_commit(self) -> None:
        # The highest index a quorum holds (ourselves counted only for what is on our disk).
        # Only an entry of the current term commits by counting replicas (Raft paper, 5.4.2);
        # earlier ones commit with it. Counting an old-term entry is the Figure 8 bug.
        held = sorted([self.stable, *self.match.values()], reverse=True)
        n = held[self.quorum - 1]
        if n > self.commit and self.term_at(n) == self.term:
            self.commit = n

    def _send(self, to: str, kind: str, **fields: Any) -> None:
        self._out.append({"type": kind, "term": self.term, "from": self.node, "to": to,
                          **fields})
