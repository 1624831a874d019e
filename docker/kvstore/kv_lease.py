"""Mode ``lease``: raft, plus a leader lease on the wall clock, and nothing that fences it.

Wrong on purpose: this is "the lease problem" of DDIA chapter 8 ("Process Pauses"). Writes
go through the Raft log as in mode raft, so they stay safe. Reads do not: a leader that holds
a lease answers them at once from its own state, on the theory that while the lease lasts
nobody else can lead. Three mistakes make that theory false:

1. The lease is measured with the wall clock (``time.time()``, plus ``--clock-offset`` for
   tests). A clock stepped back, or slowed by libfaketime, stretches it.
2. The lease (``--lease-ms``, 10 s as in the chapter's example) outlasts the followers'
   election timeout (300-600 ms), and followers do not honour it: they elect a new leader
   whenever heartbeats stop.
3. While its lease is valid the holder trusts it over any evidence: it does not step down
   for lack of a quorum and ignores messages from a newer term ("nobody else can lead
   yet"). Nothing fences it: no replica checks anything on a read.

So a leader paused (SIGSTOP) for less than its lease wakes up, still sure of its lease,
and answers reads with the value it had before the pause, while a new leader has since
committed newer writes: a stale read, which the linearizability checker reports. A leader
cut off by a partition does the same for the rest of its lease. The fix is mode fenced.

The lease is renewed whenever a quorum of followers has acknowledged the leader's appends:
expiry = (wall-clock time at which the quorum's last needed ack arrived) + lease. It is
only taken once the leader has applied an entry of its own term, so a fresh leader's
reads do not miss committed writes of earlier terms (that part is right).

Log events: ``lease-acquired``, ``lease-expired``, ``lease-read`` is not logged (too many),
``lease-ignores term=T from=N`` (once per newer term) and ``lease-keeps-leading`` (the
check-quorum step-down skipped).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kv_raft import RaftMode, Reply
from kv_raft_core import LEADER, RaftCore
from kv_state import norm_key
from kv_wire import AddressBook, Log

DEFAULT_LEASE_MS = 10_000  # DDIA's example lease; outlasts a default 5 s pause


class WallClock:
    """``time.time()`` plus a fixed offset (seconds). libfaketime skews the first part in
    real runs; ``--clock-offset`` the second, for tests on one host."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


class Lease:
    """Lease arithmetic, the clock injected: valid while ``clock() < expiry``.

    >>> now = [100.0]
    >>> lease = Lease(2.0, lambda: now[0])
    >>> lease.renew(100.0), lease.valid()
    (True, True)
    >>> now[0] = 102.5; lease.valid()
    False
    >>> now[0] -= 5.0; lease.valid()      # the wall clock stepped back: valid again
    True
    """

    def __init__(self, duration: float, clock: Callable[[], float]):
        self.duration, self.clock = duration, clock
        self.expiry = float("-inf")

    def renew(self, granted_at: float) -> bool:
        """Extend to ``granted_at + duration`` (never shorten). True if it was not valid."""
        was = self.valid()
        self.expiry = max(self.expiry, granted_at + self.duration)
        return not was and self.valid()

    def valid(self) -> bool:
        return self.clock() < self.expiry

    def remaining(self) -> float:
        return self.expiry - self.clock()


def quorum_ack_time(acks: dict[str, float], peers: Iterable[str], quorum: int,
                    now: float) -> float | None:
    """The latest time at which a quorum (the leader counts itself, at ``now``) had
    acknowledged the leader: the (quorum-1)-th most recent peer ack; None if too few."""
    need = quorum - 1
    if need <= 0:
        return now
    times = sorted((acks[p] for p in peers if p in acks), reverse=True)
    return times[need - 1] if len(times) >= need else None


class LeaseCore(RaftCore):
    """RaftCore whose leader does not step down for lack of a quorum while ``lease_holds()``
    says its lease is valid (mistake 3)."""

    lease_holds: Callable[[], bool] = staticmethod(lambda: False)
    on_kept: Callable[[int], None] | None = None

    def _check_quorum(self) -> None:
        if self.role == LEADER and self.lease_holds():
            heard = len(self.active) + 1
            if heard < self.quorum and self.on_kept is not None:
                self.on_kept(heard)
            self.active, self.quorum_elapsed = set(), 0
            return
        super()._check_quorum()


class LeaseMode(RaftMode):
    name = "lease"
    core_class: type[RaftCore] = LeaseCore

    def __init__(self, node: str, nodes: list[str], book: AddressBook, data_dir: Path,
                 log: Log, lease_ms: int = DEFAULT_LEASE_MS, clock_offset: float = 0.0,
                 **raft: Any):
        super().__init__(node, nodes, book, data_dir, log, **raft)
        self.clock = WallClock(clock_offset)
        self.lease = Lease(lease_ms / 1000, self.clock)
        core = self.core
        assert isinstance(core, LeaseCore)
        core.lease_holds = self.lease.valid
        core.on_kept = self._kept
        self.acks: dict[str, float] = {}
        self.acks_term = -1
        self.term_start = 0        # index of the first entry of our current term as leader
        self._lease_logged = False
        self._kept_logged = False
        self._ignored_term = 0
        if clock_offset:
            log(f"clock-offset seconds={clock_offset:+g} (test flag)")

    # --- reads on the lease -------------------------------------------------------------

    def submit(self, req: dict[str, Any], reply: Reply) -> None:
        if req["op"] == "read" and self.serves_locally():
            reply(self.local_read(req))
            return
        super().submit(req, reply)

    def serves_locally(self) -> bool:
        """The whole check, and the whole bug: the lease, on the wall clock, nothing else."""
        return self.lease.valid()

    def local_read(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "value": self.state.data.get(norm_key(req["key"]))}

    # --- the lease ------------------------------------------------------------------------

    def on_peer(self, msg: dict[str, Any]) -> None:
        if self.isolated and msg.get("from") in self.isolated:
            return
        term = msg.get("term")
        if isinstance(term, int) and term > self.core.term and self.lease.valid():
            # Mistake 3: "my lease says nobody else can lead yet", so this must be noise.
            if term > self._ignored_term:
                self._ignored_term = term
                self.log(f"lease-ignores term={term} from={msg.get('from')} "
                         f"kind={msg.get('type')} own_term={self.core.term} "
                         f"lease_left_ms={self.lease.remaining() * 1000:.0f}")
            return
        if (msg.get("type") == "append_resp" and term == self.core.term
                and self.core.role == LEADER and msg.get("success")):
            self._ack(str(msg.get("from")))
        super().on_peer(msg)

    def _ack(self, peer: str) -> None:
        core = self.core
        if self.acks_term != core.term:
            self.acks, self.acks_term = {}, core.term
            start = core.last_index
            while start > 1 and core.term_at(start - 1) == core.term:
                start -= 1
            self.term_start = start
        now = self.clock()
        self.acks[peer] = now
        if core.applied < self.term_start:
            return  # our term's first entry is not applied: our state may miss commits
        at = quorum_ack_time(self.acks, core.peers, core.quorum, now)
        if at is not None and self.lease.renew(at):
            self._lease_logged = self._kept_logged = False
            self._lease_logged = True
            self.log(f"lease-acquired term={core.term} duration_ms="
                     f"{self.lease.duration * 1000:.0f} expiry={_stamp(self.lease.expiry)}")

    def _kept(self, heard: int) -> None:
        if self._kept_logged:
            return
        self._kept_logged = True  # once per lease: the check runs every election timeout
        self.log(f"lease-keeps-leading term={self.core.term} heard={heard} "
                 f"quorum={self.core.quorum} lease_left_ms={self.lease.remaining() * 1000:.0f}")

    def _tick(self) -> None:
        if self._lease_logged and not self.lease.valid():
            self._lease_logged = False
            self.log(f"lease-expired term={self.core.term} role={self.core.role}")
        super()._tick()

    def status(self) -> dict[str, Any]:
        st = super().status()
        st["lease_ms_left"] = max(0, round(self.lease.remaining() * 1000)) \
            if self.lease.valid() else 0
        return st


def _stamp(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"
