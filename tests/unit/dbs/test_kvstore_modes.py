"""The modes that get distribution wrong (lease, lww, async) and the fix (fenced): their
pure logic, driven without sockets or real clocks."""
from __future__ import annotations

import pytest
from kv_async import Failover
from kv_fenced import Fence, FencedCore, FencedMode
from kv_lease import Lease, LeaseMode, quorum_ack_time
from kv_lww import LWWStore
from kv_raft_core import LEADER
from kv_state import OpError
from kv_wire import AddressBook

# --- lease arithmetic ------------------------------------------------------------------------


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_lease_is_computed_from_the_wall_clock_and_a_step_back_revives_it():
    clock = FakeClock(100.0)
    lease = Lease(2.0, clock)
    assert not lease.valid()
    assert lease.renew(100.0) is True  # newly valid
    assert lease.expiry == 102.0 and lease.valid()
    clock.t = 101.9
    assert lease.valid() and lease.remaining() == pytest.approx(0.1)
    clock.t = 102.0
    assert not lease.valid()
    clock.t -= 5  # NTP (or libfaketime) steps the wall clock back: the lease lives again
    assert lease.valid()
    assert lease.renew(96.0) is False  # renewing never shortens it
    assert lease.expiry == 102.0


def test_quorum_ack_time_is_the_oldest_ack_a_quorum_needs():
    acks = {"n2": 10.0, "n3": 12.0, "n4": 11.0}
    peers = ["n2", "n3", "n4", "n5"]
    assert quorum_ack_time(acks, peers, quorum=3, now=20.0) == 11.0  # us + n3 + n4
    assert quorum_ack_time(acks, peers, quorum=4, now=20.0) == 10.0
    assert quorum_ack_time({"n2": 10.0}, peers, quorum=3, now=20.0) is None
    assert quorum_ack_time({}, [], quorum=1, now=20.0) == 20.0


class FakeLoop:
    """Just enough of an event loop for a mode's timers and drive callbacks."""

    def __init__(self):
        self.soon = []

    def call_soon(self, fn, *args):
        self.soon.append(fn)
        return _Handle()

    def call_later(self, delay, fn, *args):
        return _Handle()

    def run(self):
        while self.soon:
            self.soon.pop(0)()


class _Handle:
    def cancel(self):
        pass


def make_mode(cls, tmp_path, node="n1", nodes=("n1", "n2", "n3"), **kw):
    lines: list[str] = []
    (tmp_path / node).mkdir(parents=True, exist_ok=True)
    mode = cls(node, list(nodes), AddressBook(7000), tmp_path / node, lines.append, **kw)
    mode._loop = FakeLoop()
    sent: list[dict] = []
    mode._flush = lambda: (sent.extend(m for chunks in mode._outbox.values() for m in chunks),
                           mode._outbox.clear())
    return mode, lines, sent


def elect(mode, clock):
    """Make ``mode`` leader with votes from n2, and let n2 and n3 acknowledge it."""
    core = mode.core
    core._campaign()
    core.step({"type": "vote_resp", "term": core.term, "from": "n2", "to": mode.node,
               "granted": True})
    assert core.role == LEADER
    mode._loop.run()  # persist + "send"
    mode._drive()
    for peer in ("n2", "n3"):
        mode.on_peer({"type": "append_resp", "term": core.term, "from": peer,
                      "to": mode.node, "success": True, "match": core.last_index, "hint": 0})
        mode._loop.run()


def read(mode, key):
    box = []
    mode.submit({"op": "read", "key": key}, box.append)
    mode._loop.run()
    return box


def test_lease_leader_serves_reads_locally_and_a_deposed_one_still_does(tmp_path):
    clock = FakeClock(1000.0)
    mode, lines, _ = make_mode(LeaseMode, tmp_path, lease_ms=3000)
    mode.clock = mode.lease.clock = clock
    elect(mode, clock)
    assert mode.lease.valid() and mode.lease.expiry == 1003.0
    assert any("lease-acquired" in line for line in lines)
    mode.state.data["x"] = 1  # what the leader had applied
    assert read(mode, "x") == [{"ok": True, "value": 1}]  # no log entry, no round trip

    # n2 is elected in term+1 and commits x=2 there. The news reaches us: ignored.
    term = mode.core.term
    mode.on_peer({"type": "append", "term": term + 1, "from": "n2", "to": "n1",
                  "prev_index": 0, "prev_term": 0, "entries": [], "commit": 0})
    assert mode.core.term == term and mode.core.role == LEADER
    assert any(f"lease-ignores term={term + 1} from=n2" in line for line in lines)
    clock.t = 1002.5
    assert read(mode, "x") == [{"ok": True, "value": 1}]  # stale: n2 has 2

    clock.t = 1003.5  # the lease ran out: reads go to the log (no immediate answer)
    assert read(mode, "x") == []
    clock.t = 990.0  # ... until the wall clock is stepped back 13.5 s
    assert read(mode, "x") == [{"ok": True, "value": 1}]


def test_lease_holder_skips_check_quorum_while_the_lease_holds(tmp_path):
    clock = FakeClock(1000.0)
    mode, lines, _ = make_mode(LeaseMode, tmp_path, lease_ms=3000,
                               election_ms=(300, 600))
    mode.clock = mode.lease.clock = clock
    elect(mode, clock)
    for _ in range(100):  # 1 s of ticks with no acks: raft would step down after 300 ms
        mode.core.tick()
    assert mode.core.role == LEADER
    assert any("lease-keeps-leading" in line for line in lines)
    clock.t = 1004.0
    for _ in range(60):
        mode.core.tick()
    assert mode.core.role != LEADER


# --- fencing -----------------------------------------------------------------------------------


def test_fence_admits_only_tokens_that_do_not_go_back():
    f = Fence()
    assert f.admit(3) and f.admit(3) and f.admit(5)
    assert not f.admit(4) and f.newest == 5


def test_storage_rejects_an_append_with_an_older_token_and_says_so():
    core = FencedCore("n2", ["n1", "n2", "n3"], term=5)
    core.step({"type": "append", "term": 3, "from": "n1", "to": "n2", "prev_index": 0,
               "prev_term": 0, "entries": [[3, {"op": "write", "key": "x", "value": 9}]],
               "commit": 0})
    rd = core.ready()
    assert core.log == [] and core.term == 5
    [resp] = rd.messages
    assert resp["type"] == "append_resp" and resp["success"] is False and resp["term"] == 5
    assert rd.events == ["fence-rejected kind=append from=n1 token=3 newest=5"]
    core.step({"type": "append", "term": 3, "from": "n1", "to": "n2", "prev_index": 0,
               "prev_term": 0, "entries": [], "commit": 0})
    assert core.ready().events == []  # logged once per holder and token


def test_replica_refuses_a_fence_with_an_older_token(tmp_path):
    mode, lines, sent = make_mode(FencedMode, tmp_path, node="n2")
    mode.core.term = 5
    mode.on_peer({"type": "fence", "term": 3, "from": "n1", "to": "n2", "round": 7})
    mode.on_peer({"type": "fence", "term": 5, "from": "n3", "to": "n2", "round": 2})
    assert [b'"ok":false' in m and b'"term":5' in m and b'"round":7' in m for m in sent] \
        == [True, False]
    assert b'"ok":true' in sent[1]
    assert any("fence-rejected kind=read from=n1 token=3 newest=5" in x for x in lines)
    assert mode.core.term == 5


def test_resumed_old_holder_read_is_refused_not_served(tmp_path):
    clock = FakeClock(1000.0)
    mode, lines, sent = make_mode(FencedMode, tmp_path)
    mode.clock = mode.lease.clock = clock
    elect(mode, clock)
    mode._drive()
    mode.state.data["x"] = 1
    assert mode.lease.valid()
    box = read(mode, "x")
    assert box == []  # not answered from the lease alone: a fence round went out
    fences = [m for m in sent if b'"type":"fence"' in m]
    assert len(fences) == 2
    term = mode.core.term
    mode.on_peer({"type": "fence_resp", "term": term + 1, "from": "n2", "to": "n1",
                  "round": mode.round, "ok": False})
    assert box and box[0]["error"] == "fenced" and box[0]["definite"] is True
    assert any("fenced-read" in line for line in lines)
    # a majority's confirmation, on the other hand, answers (once applied)
    box2 = read(mode, "x")
    for peer in ("n2", "n3"):
        mode.on_peer({"type": "fence_resp", "term": term, "from": peer, "to": "n1",
                      "round": mode.round, "ok": True})
    assert box2 == [{"ok": True, "value": 1}]


# --- last write wins ---------------------------------------------------------------------------


def test_lww_the_later_timestamp_wins_whatever_the_arrival_order():
    a, b = LWWStore(), LWWStore()
    w1, w2 = ("x", "v1", (10.0, "n1")), ("x", "v2", (11.0, "n2"))
    a.merge(*w1), a.merge(*w2)
    b.merge(*w2), b.merge(*w1)
    assert a.state.data == b.state.data == {"x": "v2"}
    assert a.merge("x", "tie", (11.0, "n1")) is False  # same time: the larger name wins
    assert a.merge("x", "tie", (11.0, "n3")) is True


def test_lww_a_slow_clock_loses_an_acknowledged_write_and_an_increment():
    store = LWWStore()
    store.local({"op": "write", "key": "x", "value": "from-n1"}, (100.0, "n1"))
    # n2's clock is 5 s behind: its later write is stamped earlier
    value, mutation, kept = store.local({"op": "write", "key": "x", "value": "from-n2"},
                                        (96.0, "n2"))
    assert mutation == ("x", "from-n2") and kept is False  # answered ok, yet...
    assert store.state.data["x"] == "from-n1"
    store.local({"op": "incr", "key": "c", "value": 1}, (100.0, "n1"))
    value, _, kept = store.local({"op": "incr", "key": "c", "value": 1}, (96.5, "n2"))
    assert value == 2 and kept is False and store.state.data["c"] == 1  # increment lost
    with pytest.raises(OpError):
        store.local({"op": "cas", "key": "x", "expected": "nope", "new": 1}, (200.0, "n1"))
    assert store.state.data["x"] == "from-n1"


# --- async failover ----------------------------------------------------------------------------


def test_failover_waits_longer_the_further_down_the_node_list():
    first, second = Failover(1.0, rank=1, now=0.0), Failover(1.0, rank=2, now=0.0)
    assert not first.expired(1.4) and first.expired(1.6)
    assert not second.expired(1.9) and second.expired(2.1)
    first.heard(5.0)
    assert not first.expired(6.4) and first.silent_for(6.0) == 1.0
