"""The clock nemesis against fake nodes that play libfaketime's part: rc files, the self-test,
strobe loops. (The real effect on a db process: tests/integration/test_nemeses_real.py.)"""
from __future__ import annotations

import json
import re
import runpy
import shlex
import time
from types import SimpleNamespace

import pytest

from harness.control.fake import TIMEOUT
from harness.errors import ConfigError, NemesisError
from harness.history import INFO, NEMESIS, Op
from nemeses.clock import (
    RC_DIR,
    STROBE_MARK,
    ClockNemesis,
    clock_package,
    faketime_env,
    rc_line,
    rc_path,
)
from nemeses.common import node_script

NODES = ["n1", "n2", "n3"]
LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
SET_RC = shlex.quote(node_script("nemeses.clock", "set_rc.py"))
SELFTEST = shlex.quote(node_script("nemeses.clock", "selftest.py"))


class Node:
    """Answers the commands the clock nemesis sends to one node."""

    def __init__(self, name, selftest_offset=3600.25, hang=False, lib=LIB):
        self.name, self.selftest_offset, self.hang, self.lib = name, selftest_offset, hang, lib
        self.rc: str | None = None
        self.db_pid: int | None = 4242  # a db process that reads our rc file
        self.strobing = False

    def __call__(self, cmd: str):
        if cmd.startswith('L="${LIBFAKETIME:-'):
            return (0 if self.lib == LIB else 3, self.lib)
        if f"python3 -c {SET_RC} " in cmd:  # the rc writer, maybe with strobe shell
            if "setsid nohup sh -c" in cmd:
                assert STROBE_MARK in cmd
                self.strobing = True
            elif "splitbrain-strobe.pid" in cmd:
                self.strobing = False
            m = re.search(r"' (\S+) (\S+) (\S+)(\n|$)", cmd)  # after the quoted script
            rc, want, rate = m[1], float(m[2]), float(m[3])
            assert rc == rc_path(self.name)
            self.rc = rc_line(want, rate)
            return json.dumps({"line": self.rc, "back": self.rc, "pid": self.db_pid, "now": 0})
        if "date +%s.%N" in cmd:  # the self-test
            assert f"python3 -c {SELFTEST};" in cmd
            assert f"FAKETIME_TIMESTAMP_FILE={RC_DIR}/selftest-{self.name}.rc" in cmd
            assert "LD_PRELOAD=" + self.lib in cmd and "FAKETIME_NO_CACHE=1" in cmd
            if self.hang:
                return TIMEOUT
            now = time.time()
            return f"{now:.6f}\n{now + self.selftest_offset:.6f} 0.101\n{now + 0.05:.6f}\n"
        return None


@pytest.fixture
def make(make_ctx):
    """make(n=NODES, db=None, **options) -> (ctx, {node: Node})."""
    def build(n=NODES, db=None, **options):
        nodes = {x: Node(x) for x in n}
        c = make_ctx(nodes=n, options=options, responses=nodes, db=db, log=lambda m: None)
        return c, nodes
    return build


def op(f, value=None):
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


def test_prepare_puts_libfaketime_into_the_db_env_per_node_and_starts_at_zero(make):
    c, nodes = make()
    c.extra["db_env"] = {"KEEP": "1"}
    ClockNemesis().prepare(c)
    env = c.extra["db_env"]
    assert env["KEEP"] == "1"
    for n in NODES:
        assert env[n] == faketime_env(LIB, f"{RC_DIR}/{n}.rc")
        assert env[n]["FAKETIME_DONT_FAKE_MONOTONIC"] == "1"
        assert nodes[n].rc == "+0.000000 x1"


def test_a_failing_self_test_is_one_clear_line(make):
    c, nodes = make()
    for node in nodes.values():
        node.selftest_offset = 0.0  # libfaketime not in effect
    with pytest.raises(NemesisError) as e:
        ClockNemesis().prepare(c)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("clock self-test failed on n1: python3 under libfaketime")
    assert "read -0.00 s" in msg or "read +0.00 s" in msg
    assert msg.endswith("(also on n2, n3)")
    assert "db_env" not in c.extra


def test_a_hanging_self_test_is_reported_as_hung(make):
    c, nodes = make(["n1"])
    nodes["n1"].hang = True
    with pytest.raises(NemesisError, match="hung"):
        ClockNemesis().prepare(c)


def test_missing_libfaketime_is_named(make):
    c, nodes = make(["n1"])
    nodes["n1"].lib = "/nowhere/libfaketime.so.1"
    with pytest.raises(NemesisError, match="libfaketime not found at /nowhere"):
        ClockNemesis().prepare(c)


def test_bump_records_every_nodes_offset_and_the_time_it_took(make):
    c, nodes = make()
    nem = ClockNemesis(seed=1)
    nem.prepare(c)
    nem.setup(c)
    done = nem.invoke(c, op("start-clock", {"mode": "bump", "deltas_ms": {"n2": 60000}}))
    assert done.type == INFO and not done.error
    v = done.value
    assert v["mode"] == "bump" and v["nodes"] == ["n2"]
    assert v["clock_offsets"] == {"n1": 0.0, "n2": 60.0, "n3": 0.0}
    assert v["description"] == "bump n2 +60.000s" and v["seconds"] >= 0
    assert nodes["n2"].rc == "+60.000000 x1" and nodes["n1"].rc == "+0.000000 x1"
    done = nem.invoke(c, op("start-clock", {"mode": "bump", "deltas_ms": {"n2": -500}}))
    assert done.value["clock_offsets"]["n2"] == 59.5, "bumps add up"
    done = nem.invoke(c, op("stop-clock"))
    assert done.value["clock_offsets"] == {"n1": 0.0, "n2": 0.0, "n3": 0.0}
    assert all(node.rc == "+0.000000 x1" for node in nodes.values())


def test_random_bumps_span_milliseconds_to_minutes_both_signs(make):
    c, _ = make(clock="bump", clock_targets="all")
    nem = ClockNemesis(seed=7)
    nem.prepare(c)
    deltas = []
    for _ in range(40):
        deltas += nem.invoke(c, op("start-clock")).value["deltas_ms"].values()
        nem.invoke(c, op("stop-clock"))
    assert min(deltas) < 0 < max(deltas)
    mags = sorted(abs(d) for d in deltas)
    assert mags[0] >= 10 and mags[-1] <= 120_000
    assert mags[0] < 1000 and mags[-1] > 10_000, "from ms to minutes"


def test_drift_writes_a_rate_and_the_offset_grows_at_that_rate(make):
    c, nodes = make()
    nem = ClockNemesis()
    nem.prepare(c)
    done = nem.invoke(c, op("start-clock", {"mode": "drift", "rates": {"n3": 2.0}}))
    assert done.value["rates"] == {"n3": 2.0}
    assert nodes["n3"].rc == "+0.000000 x2"
    time.sleep(0.2)
    grown = nem.offsets(c)["n3"]
    assert 0.15 < grown < 1.0, grown
    nem.invoke(c, op("stop-clock"))
    assert nodes["n3"].rc == "+0.000000 x1", "reset writes the rate too"


def test_strobe_starts_a_loop_on_the_node_and_stop_kills_it(make):
    c, nodes = make()
    nem = ClockNemesis(interval=3)
    nem.prepare(c)
    done = nem.invoke(c, op("start-clock", {"mode": "strobe", "deltas_ms": {"n1": 2500},
                                            "period_ms": 20}))
    assert nodes["n1"].strobing and not nodes["n2"].strobing
    assert done.value["strobe"] == {"n1": {"offsets": [0.0, 2.5], "period_ms": 20.0,
                                           "seconds": 3.0}}
    started = [cmd for cmd in c.remotes["n1"].commands if "setsid nohup" in cmd][0]
    assert "+2.500000 x1" in started and "sleep 0.02" in started
    nem.invoke(c, op("stop-clock"))
    assert not nodes["n1"].strobing and nodes["n1"].rc == "+0.000000 x1"


def test_teardown_resets_everything_is_idempotent_and_refuses_later_starts(make):
    c, nodes = make()
    nem = ClockNemesis()
    nem.prepare(c)
    nem.invoke(c, op("start-clock", {"mode": "bump", "deltas_ms": {"n1": 1000, "n3": -1000}}))
    nem.teardown(c)
    nem.teardown(c)
    assert all(node.rc == "+0.000000 x1" for node in nodes.values())
    with pytest.raises(NemesisError, match="torn down"):
        nem.invoke(c, op("start-clock"))


@pytest.mark.parametrize("opts,match", [
    ({"clock": "warp"}, r"unknown mode\(s\) \['warp'\]"),
    ({"clock_rates": [1]}, "rates > 0 other than 1"),
    ({"clock_max_ms": -3}, "clock_max_ms"),
    ({"clock_targets": "n7"}, "clock_targets"),
])
def test_bad_options_are_config_errors(make, opts, match):
    c, _ = make(**opts)
    with pytest.raises(ConfigError, match=match):
        ClockNemesis().prepare(c)


def test_lenient_package_leaves_clock_out_when_the_self_test_fails(make):
    c, nodes = make()
    nodes["n2"].selftest_offset = 0.0
    pkg = clock_package(interval=1, lenient=True)
    pkg.nemesis.prepare(c)
    assert "db_env" not in c.extra
    assert pkg.generator.op(SimpleNamespace(time=10**12)) is None
    pkg.nemesis.setup(c)
    pkg.nemesis.teardown(c)
    assert pkg.faults == {"start-clock": "stop-clock"}


def test_a_db_that_ignores_db_env_is_caught_at_setup(make):
    c, nodes = make()
    nodes["n3"].db_pid = None
    nem = ClockNemesis()
    nem.prepare(c)
    with pytest.raises(ConfigError, match=r"no process on n3 runs under libfaketime after db "
                                          r"setup: db 'NoneType' does not start with"):
        nem.setup(c)


def test_the_node_scripts_run_as_written(tmp_path, capsys):
    """node/set_rc.py and node/selftest.py are real files; run here, in process (no db reads
    our rc file, so there is no pid and the offset is written as asked)."""
    from importlib import resources

    node = resources.files("nemeses.clock").joinpath("node")
    set_rc = runpy.run_path(str(node.joinpath("set_rc.py")), run_name="set_rc")
    rc = tmp_path / "faketime" / "n1.rc"
    set_rc["main"](str(rc), 12.5, 1.0)
    out = json.loads(capsys.readouterr().out)
    assert out["line"] == out["back"] == rc_line(12.5) == rc.read_text().strip()
    assert out["pid"] is None
    set_rc["main"](str(rc), -0.25, 1.5)
    assert json.loads(capsys.readouterr().out)["line"] == rc_line(-0.25, 1.5)
    runpy.run_path(str(node.joinpath("selftest.py")), run_name="selftest")["main"]()
    wall, slept = (float(w) for w in capsys.readouterr().out.split())
    assert abs(wall - time.time()) < 5 and 0.09 <= slept < 5
