"""Generators on the virtual clock (simulate): rates, limits, phases, routing."""
from __future__ import annotations

from collections import Counter

from harness import generators as g
from harness.history import INFO, INVOKE, NEMESIS, OK

S = g.SECOND


def invokes(h):
    return [o for o in h if o.type == INVOKE]


def test_limit_counts_ops_exactly():
    h = g.simulate(g.limit(7, g.repeat({"f": "read"})), concurrency=3)
    assert len(invokes(h)) == 7
    assert all(o.type in (INVOKE, OK) for o in h)


def test_time_limit_stops_at_deadline():
    gen = g.time_limit(2.0, g.delay(0.1, g.repeat({"f": "read"})))
    h = g.simulate(gen, concurrency=2)
    inv = invokes(h)
    assert inv and max(o.time for o in inv) < 2 * S
    assert 18 <= len(inv) <= 21


def test_stagger_gives_the_asked_rate_across_workers():
    gen = g.time_limit(100, g.rate(50, g.repeat({"f": "write", "value": 1})))
    h = g.simulate(gen, concurrency=10, seed=3)
    n = len(invokes(h))
    assert 4500 < n < 5500  # 50/s for 100 s, with random jitter


def test_mix_draws_from_every_source():
    gen = g.limit(1000, g.mix([g.repeat({"f": "read"}), g.repeat({"f": "write"})]))
    c = Counter(o.f for o in invokes(g.simulate(gen, concurrency=4, seed=1)))
    assert c["read"] > 400 and c["write"] > 400


def test_mix_drops_exhausted_sources():
    gen = g.mix([g.limit(3, g.repeat({"f": "a"})), g.limit(5, g.repeat({"f": "b"}))])
    c = Counter(o.f for o in invokes(g.simulate(gen, concurrency=2)))
    assert c == {"a": 3, "b": 5}


def test_routing_sends_nemesis_ops_only_to_the_nemesis():
    gen = g.time_limit(10, g.any_of(
        g.clients(g.delay(0.05, g.repeat({"f": "read"}))),
        g.nemesis(g.delay(1, g.repeat({"f": "start-partition"}))),
    ))
    h = g.simulate(gen, concurrency=3, nemesis=True)
    for o in h:
        assert (o.f == "start-partition") == (o.process == NEMESIS)
    assert 9 <= sum(1 for o in invokes(h) if o.process == NEMESIS) <= 11


def test_phases_wait_for_all_ops_of_the_previous_phase():
    gen = g.phases(g.limit(10, g.repeat({"f": "write"})),
                   g.nemesis(g.once({"f": "heal"})),
                   g.clients(g.limit(3, g.repeat({"f": "read"}))))
    h = g.simulate(gen, concurrency=4, nemesis=True, latency=lambda op, r: r.random())
    last_write_done = max(o.time for o in h if o.f == "write" and o.type == OK)
    heal = [o for o in h if o.f == "heal"]
    assert heal[0].type == INVOKE and heal[0].time >= last_write_done
    first_read = min(o.time for o in h if o.f == "read")
    assert first_read >= heal[1].time


def test_sleep_delays_the_next_phase():
    gen = g.phases(g.once({"f": "a"}), g.sleep(5), g.once({"f": "b"}))
    h = g.simulate(gen, concurrency=1)
    b = next(o for o in h if o.f == "b")
    assert b.time >= 5 * S


def test_info_retires_the_process():
    gen = g.limit(20, g.repeat({"f": "write"}))
    h = g.simulate(gen, concurrency=2, complete=lambda op, r: INFO if r.random() < 0.3 else OK,
                   seed=4)
    seen_after_info = set()
    for o in h:
        if o.type == INVOKE:
            assert o.process not in seen_after_info, "a retired process invoked again"
        if o.type == INFO:
            seen_after_info.add(o.process)
    assert seen_after_info
    assert all(isinstance(o.process, int) for o in h)


def test_simulation_is_deterministic_per_seed():
    def run(seed):
        gen = g.limit(50, g.mix([g.FnGen(lambda c: {"f": "r", "key": c.rng.randrange(9)}),
                                 g.repeat({"f": "w"})]))
        return [(o.type, o.f, o.key, o.process, o.time) for o in
                g.simulate(gen, concurrency=3, seed=seed, latency=lambda op, r: r.random())]
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_bad_generator_output_is_rejected():
    import pytest
    with pytest.raises(TypeError, match="expected an Op"):
        g.simulate(g.FnGen(lambda c: 42), concurrency=1)


def test_any_of_interleaves_generators_that_schedule_ahead():
    gen = g.time_limit(10, g.nemesis(g.any_of(g.delay(1, g.repeat({"f": "a"})),
                                              g.delay(2.5, g.repeat({"f": "b"})))))
    h = invokes(g.simulate(gen, concurrency=1, nemesis=True))
    c = Counter(o.f for o in h)
    assert 9 <= c["a"] <= 10 and 3 <= c["b"] <= 4, c
    assert [o.time for o in h] == sorted(o.time for o in h)


def test_any_of_ends_when_every_generator_has():
    gen = g.any_of(g.limit(2, g.repeat({"f": "a"})), g.limit(3, g.repeat({"f": "b"})))
    assert Counter(o.f for o in invokes(g.simulate(gen, concurrency=2))) == {"a": 2, "b": 3}


# --- until_ok and wait_until (issue 12: final reads after the heal) -------------------------

def test_until_ok_reissues_each_failed_op_until_it_is_ok():
    # Keys 0 and 2 answer fail/info to their first three reads (a cluster still electing).
    tries: Counter = Counter()

    def complete(op, rng):
        tries[op.key] += 1
        if op.key in (0, 2) and tries[op.key] <= 3:
            return "fail" if op.key == 0 else INFO
        return OK

    gen = g.until_ok(g.Seq([{"f": "read", "key": k} for k in range(3)]), timeout=30)
    h = g.simulate(gen, concurrency=2, complete=complete)
    oks = [o.key for o in h if o.type == OK]
    assert sorted(oks) == [0, 1, 2], "every key ends with an ok read"
    assert tries == {0: 4, 1: 1, 2: 4}, "an ok op is never repeated"
    # Retries are paced ~0.5 s apart on the virtual clock.
    key0 = [o.time for o in invokes(h) if o.key == 0]
    assert all(b - a >= S // 2 for a, b in zip(key0, key0[1:]))


def test_until_ok_gives_up_after_its_timeout():
    gen = g.until_ok(g.once({"f": "read", "key": 0}), timeout=5, pause=0.5)
    h = g.simulate(gen, concurrency=1, complete=lambda op, rng: "fail")
    inv = invokes(h)
    assert 8 <= len(inv) <= 11 and max(o.time for o in inv) < 5 * S
    assert all(o.type != OK for o in h)


def test_until_ok_passes_ok_ops_through_once():
    h = g.simulate(g.until_ok(g.limit(5, g.repeat({"f": "read"}))), concurrency=3)
    assert len(invokes(h)) == 5


def test_wait_until_polls_until_ready_within_its_timeout():
    polls = []

    def ready():
        polls.append(1)
        return len(polls) >= 7

    gen = g.phases(g.wait_until(ready, timeout=30, poll=0.5), g.once({"f": "read"}))
    (read,) = invokes(g.simulate(gen, concurrency=3))
    assert len(polls) == 7 and 3 * S <= read.time < 3 * S + S // 10
    never = g.phases(g.wait_until(lambda: False, timeout=4, poll=0.5), g.once({"f": "read"}))
    (late,) = invokes(g.simulate(never, concurrency=2))
    assert 4 * S <= late.time < 4 * S + S // 10, "bounded by its timeout"
