"""Packet loss (iptables statistic), bandwidth (tbf), the netem probe, heal: the commands and
their verification, against fake nodes that keep iptables rules and qdiscs."""
from __future__ import annotations

import re

import pytest

from harness.errors import ConfigError, NemesisError
from harness.history import NEMESIS, Op
from nemeses.packet import LOSS_CHAIN, NO_NETEM, PacketNemesis, loss_rules, packet_package

NODES = ["n1", "n2", "n3"]
IPS = {n: f"10.0.0.{i}" for i, n in enumerate(NODES, 1)}  # fake_context's addresses


class Node:
    def __init__(self, name, netem=False, stuck_qdisc=False):
        self.name, self.netem, self.stuck = name, netem, stuck_qdisc
        self.rules: list[str] = []
        self.qdisc: str | None = None

    def show(self):
        q = f"qdisc {self.qdisc} 8001: root refcnt 2 ...\n" if self.qdisc else \
            "qdisc noqueue 0: root refcnt 2\n"
        return q

    def __call__(self, cmd: str):
        if cmd.startswith("ip -o -4 addr show"):
            return (f"1: lo    inet 127.0.0.1/8 scope host lo\n"
                    f"57: eth7@if58    inet {IPS[self.name]}/24 brd 10.0.0.255 scope global")
        if "netem delay 1ms" in cmd and "dev lo" in cmd:
            return 0 if self.netem else (2, "", "Error: Specified qdisc kind is unknown.")
        if cmd.startswith("tc qdisc replace"):
            kind = cmd.split(" root ")[1].split()[0]
            if kind == "netem" and not self.netem:
                return (2, "", "Error: Specified qdisc kind is unknown.")
            self.qdisc = kind
            return self.show()
        if cmd.startswith(f"iptables -w -F {LOSS_CHAIN} 2>/dev/null || true; if tc"):  # heal
            self.rules = []
            if not self.stuck:
                self.qdisc = None
            listing = "\n".join([f"-N {LOSS_CHAIN}", *self.rules])
            return f"---\n{listing}\n{self.show()}"
        if f"-F {LOSS_CHAIN}" in cmd:
            self.rules = re.findall(rf"iptables -w (-A {LOSS_CHAIN} [^;]*)", cmd)
            return 0
        if cmd == f"iptables -w -S {LOSS_CHAIN}":
            return "\n".join([f"-N {LOSS_CHAIN}", *self.rules])
        return None


@pytest.fixture
def make(make_ctx):
    """make(netem=False, **options) -> (ctx, {node: Node}) over NODES."""
    def build(netem=False, **options):
        nodes = {n: Node(n, netem=netem) for n in NODES}
        c = make_ctx(nodes=NODES, options=options, responses=nodes, log=lambda m: None)
        assert c.ips == IPS
        return c, nodes
    return build


def op(f, value=None):
    return Op(type="invoke", f=f, process=NEMESIS, value=value)


def test_loss_drops_to_and_from_every_peer_with_the_given_probability(make):
    c, nodes = make(packet="loss", packet_loss=0.25, packet_targets="n1")
    nem = PacketNemesis()
    nem.prepare(c)
    nem.setup(c)
    done = nem.invoke(c, op("start-packet"))
    assert done.value["behaviour"] == "loss" and done.value["nodes"] == ["n1"]
    assert done.value["description"] == "loss 25% n1" and done.value["seconds"] >= 0
    rules = nodes["n1"].rules
    assert len(rules) == 4 and nodes["n2"].rules == []
    for ip in (IPS["n2"], IPS["n3"]):
        for d in ("-s", "-d"):
            assert (f"-A {LOSS_CHAIN} {d} {ip} -m statistic --mode random --probability 0.25 "
                    "-j DROP") in rules
    cmd = [x for x in c.remotes["n1"].commands if "-F SPLITBRAIN-LOSS" in x][1]
    assert f"-I INPUT 1 -j {LOSS_CHAIN}" in cmd and f"-I OUTPUT 1 -j {LOSS_CHAIN}" in cmd
    nem.invoke(c, op("stop-packet"))
    assert all(n.rules == [] for n in nodes.values())


def test_total_loss_needs_no_statistic_match():
    assert loss_rules(["10.0.0.9"], 1.0) == [f"-A {LOSS_CHAIN} -s 10.0.0.9 -j DROP",
                                             f"-A {LOSS_CHAIN} -d 10.0.0.9 -j DROP"]


def test_bandwidth_puts_a_tbf_on_the_data_interface_and_heal_removes_it(make):
    c, nodes = make(packet="bandwidth", packet_rate="512kbit", packet_targets="all")
    nem = PacketNemesis()
    nem.setup(c)
    assert nem.devices == {"n1": "eth7", "n2": "eth7", "n3": "eth7"}
    done = nem.invoke(c, op("start-packet"))
    assert done.value["rate"] == "512kbit"
    assert all(n.qdisc == "tbf" for n in nodes.values())
    cmd = [x for x in c.remotes["n2"].commands if x.startswith("tc qdisc replace")][0]
    assert cmd.startswith("tc qdisc replace dev eth7 root tbf rate 512kbit burst 32kbit "
                          "latency 400ms")
    nem.teardown(c)
    assert all(n.qdisc is None for n in nodes.values())


def test_a_qdisc_that_survives_heal_is_an_error(make):
    c, nodes = make(packet="bandwidth", packet_targets="n3")
    nem = PacketNemesis()
    nem.setup(c)
    nem.invoke(c, op("start-packet"))
    nodes["n3"].stuck = True
    with pytest.raises(NemesisError, match="packet heal on n3: still in place: .*tbf"):
        nem.invoke(c, op("stop-packet"))


@pytest.mark.parametrize("asked", ["delay", ["loss", "reorder"], "loss,reorder", "duplicate"])
def test_netem_behaviours_are_refused_in_one_line_without_netem(make, asked):
    c, nodes = make(packet=asked)
    with pytest.raises(ConfigError) as e:
        PacketNemesis().prepare(c)
    assert str(e.value) == NO_NETEM
    assert str(e.value) == ("tc netem is not available in this kernel: packet delay/duplicate/"
                            "reorder cannot be injected; loss and bandwidth can")
    assert c.remotes["n1"].ran("tc qdisc add dev lo root netem delay 1ms")


def test_with_netem_the_delay_goes_in(make):
    c, nodes = make(netem=True, packet="delay", packet_targets="n2", packet_delay_ms=50)
    nem = PacketNemesis()
    nem.prepare(c)
    nem.setup(c)
    done = nem.invoke(c, op("start-packet"))
    assert done.value["netem"] == "delay 50ms 20ms" and nodes["n2"].qdisc == "netem"
    nem.invoke(c, op("stop-packet"))
    assert nodes["n2"].qdisc is None


def test_lenient_all_mode_adds_netem_only_where_the_kernel_has_it(make):
    c, _ = make(netem=False)
    nem = PacketNemesis(lenient=True)
    nem.prepare(c)
    assert nem.behaviours == ["loss", "bandwidth"]
    c, _ = make(netem=True)
    nem = PacketNemesis(lenient=True)
    nem.prepare(c)
    assert set(nem.behaviours) == {"loss", "bandwidth", "delay", "duplicate", "reorder"}


@pytest.mark.parametrize("opts,match", [
    ({"packet": "smoke"}, r"unknown behaviour\(s\) \['smoke'\]"),
    ({"packet_loss": 1.5}, "packet_loss"),
    ({"packet_loss": "lots"}, "option packet_loss='lots' is not a number"),
    ({"packet_rate": "fast; reboot"}, "packet_rate"),
])
def test_bad_options_are_config_errors(make, opts, match):
    c, _ = make(**opts)
    with pytest.raises(ConfigError, match=match):
        PacketNemesis().prepare(c)


def test_package_shape():
    pkg = packet_package(interval=2)
    assert pkg.name == "packet" and pkg.faults == {"start-packet": "stop-packet"}
