"""The runner with in-memory clients and nemeses (real threads, real history file)."""
from __future__ import annotations

import threading

from harness import generators as g
from harness.faults import coverage, fault_windows
from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, HistoryWriter, Op, read_jsonl
from harness.runtime.analysis import StatsChecker
from harness.runtime.runner import Runner, validate_completion
from harness.verdicts import compose_checks, merge_valid


class Register:
    """An in-memory atomic register shared by all clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.value = None


class RegClient:
    def __init__(self, reg, fail_every=0):
        self.reg, self.n, self.fail_every = reg, 0, fail_every
        self.closed = False

    def invoke(self, ctx, op):
        self.n += 1
        if self.fail_every and self.n % self.fail_every == 0:
            raise ConnectionError("boom")
        with self.reg.lock:
            if op.f == "read":
                return op.complete(OK, value=self.reg.value)
            self.reg.value = op.value
            return op.complete(OK, value=op.value)

    def close(self, ctx):
        self.closed = True


def run(ctx, gen, factory, nemesis=None, concurrency=3):
    h = HistoryWriter(ctx.run_dir / "history.jsonl")
    r = Runner(ctx, None, nemesis, gen, h, concurrency=concurrency, seed=1,
               client_factory=factory, fault_names={"start-x": "stop-x"})
    r.run()
    h.close()
    return r, read_jsonl(ctx.run_dir / "history.jsonl")


def test_every_invocation_has_one_completion_in_order(fake_ctx):
    reg = Register()
    counter = iter(range(10**6))
    gen = g.clients(g.limit(300, g.mix([g.repeat({"f": "read"}),
                                        g.FnGen(lambda c: {"f": "write",
                                                           "value": next(counter)})])))
    _, h = run(fake_ctx, gen, lambda p, n: RegClient(reg))
    assert len(h) == 600
    open_ = {}
    for o in h:
        if o.type == INVOKE:
            assert o.process not in open_, "two ops in flight on one process"
            open_[o.process] = o
        else:
            inv = open_.pop(o.process)
            assert (inv.f, inv.process) == (o.f, o.process) and o.time >= inv.time
    assert not open_
    times = [o.time for o in h]
    assert times == sorted(times)


def test_client_exception_becomes_info_and_retires_the_process(fake_ctx):
    reg = Register()
    opened = []

    def factory(p, n):
        c = RegClient(reg, fail_every=4)
        opened.append((p, n, c))
        return c
    _, h = run(fake_ctx, g.clients(g.limit(40, g.repeat({"f": "write", "value": 1}))), factory)
    infos = [o for o in h if o.type == INFO]
    assert infos and all("ConnectionError: boom" in o.error for o in infos)
    retired = {o.process for o in infos}
    for o in h:
        if o.type == INVOKE:
            assert o.process not in retired or any(
                i.process == o.process and i.index > o.index for i in infos)
    procs = {p for p, _, _ in opened}
    assert any(p >= 3 for p in procs), "new processes continue the retired workers"
    assert all(c.closed for p, _, c in opened if p in retired)
    assert {n for p, n, _ in opened} <= {"n1", "n2", "n3"}


def test_invalid_completions_are_recorded_as_info_with_every_problem():
    inv = Op(type="invoke", f="write", process=2, value=1)
    bad = validate_completion(inv, Op(type="done", f="read", process=5))
    assert bad.type == INFO and "type 'done'" in bad.error and "f changed" in bad.error \
        and "process changed" in bad.error
    assert validate_completion(inv, "ok").type == INFO
    good = validate_completion(inv, inv.complete(FAIL, error="nope"))
    assert good.type == FAIL and good.process == 2
    # A completion built from scratch gets the invocation's process and key, as a copy.
    inv = Op(type="invoke", f="read", process=4, key="k")
    bare = Op(type=OK, f="read", value=3)
    done = validate_completion(inv, bare)
    assert (done.process, done.key, done.value) == (4, "k", 3)
    assert (bare.process, bare.key) == (-1, None)


def test_the_generators_op_is_never_changed(fake_ctx):
    """One frozen op handed out again and again: the history holds stamped copies."""
    shared = Op(type="invoke", f="read", key=1)
    seen = []

    class Client(RegClient):
        def invoke(self, ctx, op):
            seen.append(op)
            return super().invoke(ctx, op)
    _, h = run(fake_ctx, g.clients(g.limit(20, g.repeat(shared))),
               lambda p, n: Client(Register()))
    assert (shared.index, shared.process, shared.time) == (-1, -1, -1)
    assert [o.index for o in h] == list(range(40))
    invokes = [o for o in h if o.type == INVOKE]
    assert sorted(o.index for o in seen) == [o.index for o in invokes], \
        "the client is handed the invocation as recorded, index included"
    assert {o.process for o in invokes} <= {0, 1, 2}


class FlakyNemesis:
    def __init__(self):
        self.calls = []

    def setup(self, ctx):
        pass

    def invoke(self, ctx, op):
        self.calls.append(op.f)
        return op.complete(INFO, value={"description": "n1 | n2 n3"})

    def teardown(self, ctx):
        pass


def test_nemesis_worker_runs_beside_clients_and_windows_are_derived(fake_ctx):
    reg = Register()
    nem = FlakyNemesis()
    seq = iter(["start-x", "stop-x", "start-x"])
    gen = g.time_limit(0.6, g.any_of(
        g.clients(g.delay(0.01, g.repeat({"f": "read"}))),
        g.nemesis(g.limit(3, g.delay(0.15, g.FnGen(lambda c: {"f": next(seq)})))),
    ))
    _, h = run(fake_ctx, gen, lambda p, n: RegClient(reg), nemesis=nem)
    assert nem.calls == ["start-x", "stop-x", "start-x"]
    assert all(o.process == NEMESIS for o in h if o.f.endswith("-x"))
    w = fault_windows(h, {"start-x": "stop-x"})
    assert [x["f"] for x in w] == ["x", "x"]
    assert w[0]["end_ns"] > w[0]["start_ns"] and w[1]["end_ns"] == h[-1].time
    cov = coverage(w)
    assert cov["x"]["applied"] == 2 and cov["x"]["active_seconds"] > 0


def test_stop_event_ends_a_run_early(fake_ctx):
    reg = Register()
    h = HistoryWriter(fake_ctx.run_dir / "history.jsonl")
    r = Runner(fake_ctx, None, None,
               g.clients(g.delay(0.01, g.repeat({"f": "read"}))), h, concurrency=2, seed=1,
               client_factory=lambda p, n: RegClient(reg))
    r.start()
    threading.Timer(0.3, r.stop.set).start()
    assert r.join(timeout=5)
    h.close()
    assert 5 < len(read_jsonl(fake_ctx.run_dir / "history.jsonl")) < 200


def test_a_crashing_generator_stops_the_run_and_is_reported(fake_ctx):
    def boom(ctx):
        raise RuntimeError("generator bug")
    r, h = run(fake_ctx, g.clients(g.FnGen(boom)), lambda p, n: RegClient(Register()))
    assert r.errors and "generator bug" in r.errors[0]


def test_checkers_compose_and_a_crash_is_unknown():
    class Crash:
        def check(self, test, ops):
            raise ValueError("bad")
    ops = [Op("invoke", "read", 0), Op("ok", "read", 0, value=1)]
    res = compose_checks({"stats": StatsChecker(), "crash": Crash()}, {}, ops)
    assert res["valid"] == "unknown"
    assert "ValueError: bad" in res["checkers"]["crash"]["error"]
    assert merge_valid([True, "unknown", False]) is False
    assert merge_valid([True, True]) is True
    assert merge_valid([]) == "unknown"


def test_stats_warns_when_an_f_never_succeeds():
    ops = [Op("invoke", "cas", 0), Op("fail", "cas", 0), Op("invoke", "read", 1),
           Op("ok", "read", 1)]
    res = StatsChecker().check({}, ops)
    assert res["valid"] == "unknown" and "cas never succeeded" in res["warnings"][0]


def test_fault_names_are_inferred_from_start_stop_pairs():
    from harness.faults import infer_faults
    ops = [Op("invoke", "start-pause", NEMESIS), Op("info", "start-pause", NEMESIS),
           Op("invoke", "read", 0), Op("invoke", "stop-pause", NEMESIS)]
    assert infer_faults(ops) == {"start-pause": "stop-pause"}
