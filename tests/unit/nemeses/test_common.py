"""The one dispatcher every built-in nemesis uses: start-X/stop-X routed to apply/heal, timed,
under the Guard (teardown waits for an op in flight; a start after teardown is refused), and
leaving a fault out (disable)."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from harness.errors import NemesisError
from harness.history import INFO, NEMESIS, Op
from nemeses.common import Cycle, Dispatcher, node_script


def op(f, value=None):
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


class Fault:
    """Records what the dispatcher calls; ``gate`` holds apply until it is set."""

    def __init__(self, gate=None):
        self.calls: list[tuple[str, object]] = []
        self.gate = gate

    def apply(self, ctx, value):
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(("apply", value))
        return {"description": "applied"}

    def heal(self, ctx):
        self.calls.append(("heal", None))
        return {"description": "healed"}


def test_start_and_stop_are_routed_timed_and_completed_as_info(fake_ctx):
    fault = Fault()
    faults = Dispatcher("x", fault.apply, fault.heal)
    done = faults.invoke(fake_ctx, op("start-x", {"nodes": ["n1"]}))
    assert done.type == INFO and done.f == "start-x"
    assert done.value["description"] == "applied" and done.value["seconds"] >= 0
    assert faults.invoke(fake_ctx, op("stop-x")).value["description"] == "healed"
    assert fault.calls == [("apply", {"nodes": ["n1"]}), ("heal", None)]
    with pytest.raises(NemesisError, match="x nemesis cannot do 'start-y'; it knows start-x "
                                           "and stop-x"):
        faults.invoke(fake_ctx, op("start-y"))


def test_teardown_waits_for_the_op_in_flight_then_refuses_starts_but_not_stops(fake_ctx):
    gate = threading.Event()
    fault = Fault(gate)
    faults = Dispatcher("x", fault.apply, fault.heal)
    worker = threading.Thread(target=lambda: faults.invoke(fake_ctx, op("start-x")))
    worker.start()
    time.sleep(0.1)
    td = threading.Thread(target=faults.teardown, args=(fake_ctx,))
    td.start()
    time.sleep(0.1)
    assert td.is_alive(), "teardown waits for the start in flight"
    gate.set()
    worker.join(5)
    td.join(5)
    assert fault.calls == [("apply", None), ("heal", None)], "the heal comes after the apply"
    with pytest.raises(NemesisError, match="x: torn down; not applying a new fault"):
        faults.invoke(fake_ctx, op("start-x"))
    faults.invoke(fake_ctx, op("stop-x"))
    faults.open()  # setup of a reused nemesis
    faults.invoke(fake_ctx, op("start-x"))
    assert fault.calls[-1] == ("apply", None)


def test_a_disabled_fault_is_left_out_but_still_heals_on_stop(make_ctx):
    lines: list[str] = []
    c = make_ctx(log=lines.append)
    fault = Fault()
    cycle = Cycle(1, "start-x", "stop-x")
    faults = Dispatcher("x", fault.apply, fault.heal, cycle=cycle)
    faults.disable(c, "no such thing here")
    assert lines == ["nemesis x left out: no such thing here"]
    assert cycle.op(SimpleNamespace(time=10**12)) is None, "its schedule is off"
    with pytest.raises(NemesisError, match=r"x is not available: no such thing here \(after"):
        faults.invoke(c, op("start-x"))
    faults.invoke(c, op("stop-x"))
    faults.teardown(c)
    assert fault.calls == [("heal", None)], "teardown of a fault left out heals nothing"


def test_node_scripts_are_read_from_the_package():
    assert "def main(" in node_script("nemeses.partition", "probe.py")
    assert "FAKETIME_TIMESTAMP_FILE=" in node_script("nemeses.clock", "set_rc.py")
