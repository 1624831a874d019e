"""RaftCore driven deterministically: no sockets, no clocks, no disk."""
from __future__ import annotations

import random

import pytest
from kv_raft import RaftStorage
from kv_raft_core import CANDIDATE, FOLLOWER, LEADER, NOOP, RaftCore


class Net:
    """A simulated cluster: ready() batches are "persisted" and their messages delivered,
    except across a partition or when the (seeded) dice say drop."""

    def __init__(self, n=3, seed=0, drop=0.0, logs=None):
        self.names = [f"n{i}" for i in range(1, n + 1)]
        self.rng = random.Random(seed)
        self.cores = {name: RaftCore(name, self.names, rng=random.Random(seed * 100 + i),
                                     election_ticks=(10, 20), heartbeat_ticks=2,
                                     log=(logs or {}).get(name))
                      for i, name in enumerate(self.names)}
        self.drop = drop
        self.cut: set[frozenset[str]] = set()
        self.applied = {name: [] for name in self.names}
        self.leaders_by_term: dict[int, set[str]] = {}
        self.inflight: list[dict] = []

    def partition(self, *groups):
        self.cut = {frozenset((a, b)) for g in groups for h in groups if g is not h
                    for a in g for b in h}

    def heal(self):
        self.cut = set()

    def pump(self, rounds=50):
        for _ in range(rounds):
            for name, core in self.cores.items():
                rd = core.ready()
                if rd.entries:
                    core.stabilized(rd.entries[-1][0], rd.entries[-1][1])
                    rd2 = core.ready()  # stabilizing may commit (leader self-count)
                    rd.messages += rd2.messages
                    rd.committed += rd2.committed
                self.applied[name].extend(rd.committed)
                self.inflight.extend(rd.messages)
                if core.role == LEADER:
                    self.leaders_by_term.setdefault(core.term, set()).add(name)
            if not self.inflight:
                return
            batch, self.inflight = self.inflight, []
            self.rng.shuffle(batch)
            for m in batch:
                if frozenset((m["from"], m["to"])) in self.cut or self.rng.random() < self.drop:
                    continue
                self.cores[m["to"]].step(m)

    def tick(self, n=1, only=None):
        for _ in range(n):
            for name, core in self.cores.items():
                if only is None or name in only:
                    core.tick()
            self.pump()

    def leader(self):
        leaders = [c for c in self.cores.values() if c.role == LEADER]
        return leaders[0] if len(leaders) == 1 else None

    def elect(self, max_ticks=500):
        for _ in range(max_ticks):
            self.tick()
            ldr = self.leader()
            if ldr and all(c.leader == ldr.node for c in self.cores.values()):
                return ldr
        raise AssertionError("no leader")


def test_election_one_leader_all_agree():
    net = Net(5, seed=1)
    ldr = net.elect()
    assert {c.term for c in net.cores.values()} == {ldr.term}
    assert sum(c.role == LEADER for c in net.cores.values()) == 1
    # the new leader's no-op commits everywhere eventually
    net.tick(5)
    assert all(c.commit >= 1 and c.log[0] == (ldr.term, NOOP) for c in net.cores.values())


def test_vote_is_persisted_in_the_same_batch_as_the_reply():
    c = RaftCore("n2", ["n1", "n2", "n3"])
    c.step({"type": "vote", "term": 1, "from": "n1", "to": "n2", "last_index": 0,
            "last_term": 0})
    rd = c.ready()
    assert rd.meta == (1, "n1")
    assert rd.messages == [{"type": "vote_resp", "term": 1, "from": "n2", "to": "n1",
                            "granted": True}]


def test_one_vote_per_term_and_only_for_an_up_to_date_log():
    c = RaftCore("n3", ["n1", "n2", "n3"], term=2, log=[(1, "a"), (2, "b")])
    vote = {"type": "vote", "term": 3, "to": "n3"}
    c.step({**vote, "from": "n1", "last_index": 5, "last_term": 1})  # longer, older term
    assert c.ready().messages[-1]["granted"] is False
    c.step({**vote, "from": "n1", "last_index": 2, "last_term": 2})
    assert c.ready().messages[-1]["granted"] is True
    c.step({**vote, "from": "n2", "last_index": 9, "last_term": 3})
    assert c.ready().messages[-1]["granted"] is False, "already voted for n1 in term 3"
    assert c.vote == "n1"


def test_restarted_node_does_not_vote_twice_in_a_term():
    c = RaftCore("n3", ["n1", "n2", "n3"], term=3, vote="n1")
    c.step({"type": "vote", "term": 3, "from": "n2", "to": "n3", "last_index": 0,
            "last_term": 0})
    assert c.ready().messages[-1]["granted"] is False


def test_candidate_waits_for_majority():
    c = RaftCore("n1", ["n1", "n2", "n3", "n4", "n5"], election_ticks=(3, 3))
    for _ in range(3):
        c.tick()
    assert c.role == CANDIDATE and c.term == 1
    rd = c.ready()
    assert rd.meta == (1, "n1") and len([m for m in rd.messages if m["type"] == "vote"]) == 4
    c.step({"type": "vote_resp", "term": 1, "from": "n2", "to": "n1", "granted": True})
    assert c.role == CANDIDATE
    c.step({"type": "vote_resp", "term": 1, "from": "n3", "to": "n1", "granted": False})
    c.step({"type": "vote_resp", "term": 1, "from": "n4", "to": "n1", "granted": True})
    assert c.role == LEADER and c.log == [(1, NOOP)]


def append(frm, term, prev, prev_term, entries, commit=0, to="f"):
    return {"type": "append", "term": term, "from": frm, "to": to, "prev_index": prev,
            "prev_term": prev_term, "entries": [list(e) for e in entries], "commit": commit}


def test_conflicting_suffix_is_truncated_and_persisted_as_such():
    f = RaftCore("f", ["l", "f", "x"], term=2,
                 log=[(1, "a"), (1, "b"), (2, "x"), (2, "y")])
    f.step(append("l", 3, 2, 1, [(3, "z")], commit=2))
    assert f.log == [(1, "a"), (1, "b"), (3, "z")]
    rd = f.ready()
    assert rd.entries == [(3, 3, "z")]
    assert any(e.startswith("truncate from=3") for e in rd.events)
    assert rd.messages[-1]["success"] is True and rd.messages[-1]["match"] == 3
    assert [i for i, _, _ in rd.committed] == [1, 2]


def test_mismatched_prev_is_refused_with_a_hint_past_the_bad_term():
    f = RaftCore("f", ["l", "f", "x"], term=2,
                 log=[(1, "a"), (2, "x"), (2, "y"), (2, "w")])
    f.step(append("l", 3, 4, 3, [(3, "q")]))
    resp = f.ready().messages[-1]
    assert resp["success"] is False and resp["hint"] == 2, "skips the whole term-2 run"
    assert len(f.log) == 4, "nothing changed"
    f.step(append("l", 3, 9, 3, []))
    assert f.ready().messages[-1]["hint"] == 5, "prev past our end: hint our end"


def test_stale_or_duplicate_append_never_truncates_matching_entries():
    f = RaftCore("f", ["l", "f", "x"], term=1, log=[(1, "a"), (1, "b"), (1, "c")])
    f.step(append("l", 1, 0, 0, [(1, "a")], commit=3))
    assert f.log == [(1, "a"), (1, "b"), (1, "c")]
    rd = f.ready()
    assert rd.entries == [] and rd.messages[-1]["match"] == 1
    assert f.commit == 1, "only what the message vouched for may commit"
    f.step(append("l", 1, 3, 1, [], commit=3))
    assert f.commit == 3
    f.step(append("l", 1, 0, 0, [(1, "a")], commit=3))
    assert f.commit == 3, "commit never goes back"


def make_leader(term, log, nodes=("n1", "n2", "n3", "n4", "n5")):
    c = RaftCore("n1", list(nodes), term=term - 1, log=log, election_ticks=(1, 1))
    c.tick()  # campaign in `term`
    for p in nodes[1:3]:
        c.step({"type": "vote_resp", "term": term, "from": p, "to": "n1", "granted": True})
    assert c.role == LEADER and c.term == term
    return c


def test_old_term_entry_is_not_committed_by_counting_figure_8():
    c = make_leader(4, [(1, "a"), (2, "old")])
    c.ready()
    c.stabilized(3, 4)
    assert c.log[-1] == (4, NOOP)
    for p in ("n2", "n3"):  # a majority holds index 2 (term 2), not yet our no-op
        c.step({"type": "append_resp", "term": 4, "from": p, "to": "n1", "success": True,
                "match": 2})
    assert c.commit == 0, "a previous-term entry must not commit by counting replicas"
    for p in ("n2", "n3"):
        c.step({"type": "append_resp", "term": 4, "from": p, "to": "n1", "success": True,
                "match": 3})
    assert c.commit == 3, "the current-term no-op commits, and index 2 with it"
    assert [i for i, _, _ in c.ready().committed] == [1, 2, 3]


def test_leader_counts_itself_only_once_its_entries_are_stable():
    c = make_leader(1, [])
    idx = c.propose({"op": "write", "key": 1, "value": 1})
    assert idx == 2
    c.ready()  # not stabilized yet
    c.step({"type": "append_resp", "term": 1, "from": "n2", "to": "n1", "success": True,
            "match": 2})
    c.step({"type": "append_resp", "term": 1, "from": "n3", "to": "n1", "success": True,
            "match": 2})
    assert c.commit == 0, "2 followers + an unpersisted leader is not a durable majority"
    c.stabilized(2, 1)
    assert c.commit == 2


def test_single_node_commits_after_its_own_fsync():
    c = RaftCore("n1", ["n1"], election_ticks=(1, 1))
    c.tick()
    assert c.role == LEADER
    c.propose({"op": "read", "key": 1})
    rd = c.ready()
    assert rd.committed == []
    c.stabilized(*rd.entries[-1][:2])
    assert [i for i, _, _ in c.ready().committed] == [1, 2]


def test_higher_term_deposes_leader_and_stale_leader_learns():
    c = make_leader(2, [])
    c.step({"type": "append_resp", "term": 5, "from": "n2", "to": "n1", "success": False,
            "match": 0, "hint": 0})
    assert c.role == FOLLOWER and c.term == 5 and c.vote is None
    c.step(append("n3", 3, 0, 0, [], to="n1"))  # a stale leader
    resp = c.ready().messages[-1]
    assert resp["type"] == "append_resp" and resp["success"] is False and resp["term"] == 5


def test_leader_without_quorum_steps_down():
    c = make_leader(1, [])
    for _ in range(c.election_ticks[0]):
        c.tick()
    assert c.role == FOLLOWER and c.leader is None
    assert any("step-down" in e for e in c.ready().events)


def test_propose_on_follower_is_refused():
    assert RaftCore("n1", ["n1", "n2", "n3"]).propose({"op": "read", "key": 1}) is None


def test_replication_repairs_a_diverged_follower():
    net = Net(3, seed=3, logs={"n3": [(1, "x"), (1, "y"), (1, "z")]})
    net.cores["n3"].term = 1
    for c in net.cores.values():
        c.term = 1
    ldr = net.elect()
    if ldr.node == "n3":
        pytest.skip("the diverged node won; covered by other seeds")
    ldr.propose({"op": "write", "key": "k", "value": 1})
    net.tick(10)
    logs = [c.log for c in net.cores.values()]
    assert logs[0] == logs[1] == logs[2]


@pytest.mark.parametrize("seed", range(12))
def test_safety_under_random_partitions_and_drops(seed):
    """Election safety (<= 1 leader per term) and state machine safety (every node applies
    the same entry at each index), with proposals flowing through chaos."""
    net = Net(5, seed=seed, drop=0.1)
    rng = random.Random(seed)
    for step in range(400):
        if step % 40 == 0:
            names = list(net.names)
            rng.shuffle(names)
            k = rng.randrange(1, 3)
            net.partition(names[:k], names[k:])
        if step % 40 == 25:
            net.heal()
        for c in net.cores.values():
            if c.role == LEADER and rng.random() < 0.5:
                c.propose({"op": "write", "key": step, "value": c.node})
        net.tick()
    net.heal()
    net.drop = 0.0
    net.tick(100)
    assert all(len(ls) <= 1 for ls in net.leaders_by_term.values()), net.leaders_by_term
    seqs = [[(i, t, repr(cmd)) for i, t, cmd in net.applied[n]] for n in net.names]
    longest = max(seqs, key=len)
    for s in seqs:
        assert s == longest[:len(s)], "applied sequences diverge"
    assert len(longest) > 10, "the cluster made progress"
    assert min(len(s) for s in seqs) == len(longest), "all caught up after healing"


def test_storage_roundtrip_with_truncation_and_torn_tail(tmp_path):
    st = RaftStorage(tmp_path)
    st.save((3, "n2"), [(1, 1, "a"), (2, 1, "b"), (3, 2, "c")])
    st.save(None, [(2, 3, "B")])  # a truncation at 2, then the new entry
    st.close()
    with open(tmp_path / "raft.log", "ab") as f:
        f.write(b'[3,3,"torn')
    term, vote, log = RaftStorage(tmp_path).load()
    assert (term, vote, log) == (3, "n2", [(1, "a"), (3, "B")])
    assert (tmp_path / "raft.log").read_bytes().endswith(b"\n"), "torn tail cut"
    c = RaftCore("n1", ["n1", "n2", "n3"], term=term, vote=vote, log=log)
    assert c.last_index == 2 and c.stable == 2 and c.commit == 0


def test_messages_from_strangers_or_without_a_term_are_ignored():
    c = RaftCore("n1", ["n1", "n2", "n3"])
    c.step({"type": "vote", "term": 9, "from": "mallory", "to": "n1"})
    c.step({"type": "vote", "term": "9", "from": "n2", "to": "n1"})
    assert c.term == 0 and c.ready().empty()
