"""Packet faults on the links between nodes: loss with iptables, bandwidth with tc tbf, and,
on kernels that have tc netem, delay / duplicate / reorder.

    loss       on each target, every packet from or to a peer node is dropped with
               probability ``packet_loss`` (default 0.3): iptables ``-m statistic --mode
               random --probability p -j DROP`` in our own chain SPLITBRAIN-LOSS, jumped to
               from INPUT and OUTPUT (only peers' data-network addresses: control traffic
               and the harness's clients are never touched)
    bandwidth  each target's egress through ``tc qdisc replace dev <if> root tbf rate R
               burst B latency L`` (``packet_rate`` 1mbit, ``packet_burst`` 32kbit,
               ``packet_latency`` 400ms)
    delay      netem delay ``packet_delay_ms`` (100) +- ``packet_jitter_ms`` (20)
    duplicate  netem duplicate ``packet_duplicate`` (0.05)
    reorder    netem delay + reorder ``packet_reorder`` (0.25)

Option ``packet``: a behaviour or a list, or "a,b" (one picked at random per start);
default loss and bandwidth. Targets: ``packet_targets`` / ``targets``, default "random". At
prepare, asking for a netem behaviour probes ``tc qdisc add dev lo root netem delay 1ms`` on
a node; this machine's kernel has no netem, so that is refused with one line. Heal
(stop-packet, teardown) flushes our chain and deletes a tbf/netem root qdisc, on every node,
and checks both are gone.

Ops: {"f": "start-packet"} -> info {"behaviour": "loss", "nodes": ["n2"], "loss": 0.3,
     "description": "loss 30% n2", "seconds": 0.12}; the value may say
     {"behaviour": "bandwidth", "nodes": ["n1"], "rate": "512kbit"} or {"loss": 1.0};
     {"f": "stop-packet"} -> info {"nodes": [...], "description": "healed", ...}.
"""
from __future__ import annotations

import random
import re
from typing import Any

from harness import generators as g
from harness.api import Context, Package
from harness.errors import ConfigError, NemesisError
from harness.history import Op
from harness.options import Opt, OptEnv, at_least, between, option
from nemeses.common import Cycle, Dispatcher, describe_nodes, on_nodes, sort_nodes
from nemeses.targets import Choice, select, targets_opt, targets_option

LOSS_CHAIN = "SPLITBRAIN-LOSS"
BEHAVIOURS = ("loss", "bandwidth", "delay", "duplicate", "reorder")
NETEM = frozenset({"delay", "duplicate", "reorder"})
DEFAULT_BEHAVIOURS = ("loss", "bandwidth")
NO_NETEM = ("tc netem is not available in this kernel: packet delay/duplicate/reorder cannot "
            "be injected; loss and bandwidth can")
_NETEM_PROBE = ("tc qdisc add dev lo root netem delay 1ms && "
                "tc qdisc del dev lo root")
_ROOT_QDISC = re.compile(r"^qdisc (tbf|netem) \S+ root", re.M)


def netem_available(ctx: Context, node: str) -> bool:
    """Whether ``node``'s kernel can do netem (tried on loopback, then removed)."""
    return ctx.remotes[node].run(_NETEM_PROBE, timeout=10, check=False).exit_code == 0


def _ensure_loss_chain() -> str:
    return (f"{{ iptables -w -N {LOSS_CHAIN} 2>/dev/null || true; }}; "
            f"iptables -w -C INPUT -j {LOSS_CHAIN} 2>/dev/null || "
            f"iptables -w -I INPUT 1 -j {LOSS_CHAIN}; "
            f"iptables -w -C OUTPUT -j {LOSS_CHAIN} 2>/dev/null || "
            f"iptables -w -I OUTPUT 1 -j {LOSS_CHAIN}")


def loss_rules(peer_ips: list[str], p: float) -> list[str]:
    """Our chain's rules for dropping traffic from and to the peers with probability p."""
    stat = "" if p >= 1 else f"-m statistic --mode random --probability {p:g} "
    return [f"-A {LOSS_CHAIN} {d} {ip} {stat}-j DROP" for ip in peer_ips for d in ("-s", "-d")]


def netem_args(behaviour: str, params: dict[str, Any]) -> str:
    if behaviour == "delay":
        return f"delay {params['delay_ms']:g}ms {params['jitter_ms']:g}ms"
    if behaviour == "duplicate":
        return f"duplicate {params['duplicate'] * 100:g}%"
    if behaviour == "reorder":
        return f"delay {params['delay_ms']:g}ms reorder {params['reorder'] * 100:g}% 50%"
    raise NemesisError(f"packet: {behaviour} is not a netem behaviour")


class PacketNemesis:
    """start-packet degrades the links of some nodes; stop-packet heals every node."""

    def __init__(self, seed: int = 0, *, cycle: Cycle | None = None, lenient: bool = False):
        self.rng = random.Random(seed)
        self.lenient = lenient
        self.faults = Dispatcher("packet", self._start, self._heal, cycle=cycle)
        self.behaviours: list[str] | None = None
        self.choices: list[Choice] | None = None
        self.params: dict[str, Any] = {}
        self.devices: dict[str, str] = {}
        self.netem: bool | None = None

    # -- config ---------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        asked: list[Any] = option(ctx.options, "packet", [])
        given = [str(b) for b in asked]
        bad = [b for b in given if b not in BEHAVIOURS]
        if bad:
            raise ConfigError(f"option packet: unknown behaviour(s) {bad}; behaviours: "
                              f"{', '.join(BEHAVIOURS)}")
        wants_netem = bool(NETEM & set(given)) or (not given and self.lenient)
        if wants_netem and self.netem is None and ctx.nodes:
            self.netem = netem_available(ctx, ctx.nodes[0])
        if given and NETEM & set(given) and not self.netem:
            raise ConfigError(NO_NETEM)
        if not given:
            given = list(DEFAULT_BEHAVIOURS)
            if self.lenient and self.netem:  # `all`: every behaviour this kernel can do
                given += sorted(NETEM)
        self.behaviours = given
        self.choices = targets_option(ctx, "packet", "random")
        p = self.params
        p["loss"] = _number(ctx, "loss", 0.3, lo=0.0, hi=1.0)
        p["rate"] = option(ctx.options, "rate", "1mbit", prefix="packet")
        p["burst"] = option(ctx.options, "burst", "32kbit", prefix="packet")
        p["latency"] = option(ctx.options, "latency", "400ms", prefix="packet")
        p["delay_ms"] = _number(ctx, "delay_ms", 100.0, lo=0.0)
        p["jitter_ms"] = _number(ctx, "jitter_ms", 20.0, lo=0.0)
        p["duplicate"] = _number(ctx, "duplicate", 0.05, lo=0.0, hi=1.0)
        p["reorder"] = _number(ctx, "reorder", 0.25, lo=0.0, hi=1.0)
        for key in ("rate", "burst", "latency"):
            if not re.fullmatch(r"[0-9.]+[a-zA-Z]*", p[key]):
                raise ConfigError(f"option packet_{key}={p[key]!r} is not a tc size/rate/"
                                  "time like 1mbit, 32kbit, 400ms")

    def prepare(self, ctx: Context) -> None:
        self.configure(ctx)

    def declared_options(self) -> tuple[Opt, ...]:
        return OPTIONS

    def setup(self, ctx: Context) -> None:
        self.faults.open()
        if self.behaviours is None:
            self.configure(ctx)
        self.devices = on_nodes(list(ctx.nodes), lambda n: self._device(ctx, n))
        self._heal(ctx)

    def _device(self, ctx: Context, node: str) -> str:
        """The interface that carries ``node``'s data-network address (eth0 in containers)."""
        ip = ctx.ips.get(node, "")
        out = ctx.remotes[node].run("ip -o -4 addr show", timeout=10, check=False).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[3].split("/")[0] == ip:
                return parts[1].split("@")[0]
        return "eth0"

    def dev(self, node: str) -> str:
        return self.devices.get(node, "eth0")

    # -- ops ------------------------------------------------------------------------------
    def invoke(self, ctx: Context, op: Op) -> Op:
        return self.faults.invoke(ctx, op)

    def _start(self, ctx: Context, value: Any) -> dict[str, Any]:
        if self.behaviours is None:
            self.configure(ctx)
        assert self.behaviours is not None and self.choices is not None
        spec = value if isinstance(value, dict) else {}
        params = {**self.params, **{k: v for k, v in spec.items() if k in self.params}}
        behaviour = str(spec.get("behaviour") or
                        ("loss" if "loss" in spec else self.rng.choice(self.behaviours)))
        if behaviour not in BEHAVIOURS:
            raise NemesisError(f"packet: unknown behaviour {behaviour!r}")
        if behaviour in NETEM and not self.netem:
            raise NemesisError(NO_NETEM)
        if spec.get("nodes"):
            nodes, how = sort_nodes(ctx, [str(n) for n in spec["nodes"]]), "given"
        else:
            nodes, how = select(ctx, self.choices, self.rng)
        out: dict[str, Any] = {"behaviour": behaviour, "nodes": nodes, "targets": how}
        if behaviour == "loss":
            p = float(params["loss"])
            on_nodes(nodes, lambda n: self._loss(ctx, n, p))
            out["loss"] = p
            what = f"loss {p * 100:g}%"
        elif behaviour == "bandwidth":
            on_nodes(nodes, lambda n: self._qdisc(ctx, n, "tbf", self._tbf_args(params)))
            out.update(rate=params["rate"], burst=params["burst"], latency=params["latency"])
            what = f"bandwidth {params['rate']}"
        else:
            args = netem_args(behaviour, params)
            on_nodes(nodes, lambda n: self._qdisc(ctx, n, "netem", args))
            out["netem"] = args
            what = f"netem {args}"
        out["description"] = f"{what} {describe_nodes(nodes)}"
        return out

    @staticmethod
    def _tbf_args(params: dict[str, Any]) -> str:
        return (f"rate {params['rate']} burst {params['burst']} "
                f"latency {params['latency']}")

    def _loss(self, ctx: Context, node: str, p: float) -> None:
        peers = [ctx.ips[n] for n in ctx.nodes if n != node and n in ctx.ips]
        rules = loss_rules(peers, p)
        cmd = "; ".join([f"set -e; {_ensure_loss_chain()}", f"iptables -w -F {LOSS_CHAIN}",
                         *(f"iptables -w {r}" for r in rules)])
        remote = ctx.remotes[node]
        remote.run(cmd, timeout=15)
        listed = remote.run(f"iptables -w -S {LOSS_CHAIN}", timeout=10).stdout
        found = sum(1 for line in listed.splitlines() if line.endswith("-j DROP"))
        if found != len(rules):
            raise NemesisError(f"packet loss on {node}: {found} of {len(rules)} rules in "
                               f"place")

    def _qdisc(self, ctx: Context, node: str, kind: str, args: str) -> None:
        dev = self.dev(node)
        out = ctx.remotes[node].run(f"tc qdisc replace dev {dev} root {kind} {args} && "
                                    f"tc qdisc show dev {dev}", timeout=10).stdout
        if not re.search(rf"^qdisc {kind} \S+ root", out, re.M):
            raise NemesisError(f"packet {kind} on {node}: not shown by tc qdisc show dev "
                               f"{dev}: {out.strip()!r}")

    def _heal(self, ctx: Context) -> dict[str, Any]:
        def one(node: str) -> None:
            dev = self.dev(node)
            cmd = (f"iptables -w -F {LOSS_CHAIN} 2>/dev/null || true; "
                   f"if tc qdisc show dev {dev} | grep -Eq '^qdisc (tbf|netem) [^ ]+ root'; "
                   f"then tc qdisc del dev {dev} root; fi; "
                   f"echo ---; iptables -w -S {LOSS_CHAIN} 2>/dev/null; "
                   f"tc qdisc show dev {dev}")
            out = ctx.remotes[node].run(cmd, timeout=15).stdout
            left = [line for line in out.splitlines() if line.endswith("-j DROP")]
            if left or _ROOT_QDISC.search(out):
                raise NemesisError(f"packet heal on {node}: still in place: "
                                   f"{left or _ROOT_QDISC.findall(out)}")

        nodes = list(ctx.nodes)
        on_nodes(nodes, one)
        return {"nodes": nodes, "description": "healed"}

    def teardown(self, ctx: Context) -> None:
        self.faults.teardown(ctx)


def _number(ctx: Context, key: str, default: float, lo: float | None = None,
            hi: float | None = None) -> float:
    """Option ``packet_<key>`` (or ``<key>``) as a number in [lo, hi]; ConfigError if not."""
    value = option(ctx.options, key, default, prefix="packet")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"option packet_{key}={value!r}: give a number in "
                          f"[{lo:g}, {hi if hi is not None else 'inf'}]")
    return value


def _tc_word(value: Any, env: OptEnv) -> str | None:
    if re.fullmatch(r"[0-9.]+[a-zA-Z]*", str(value)):
        return None
    return "a tc size/rate/time like 1mbit, 32kbit, 400ms"


def _p(name: str, typ: Any, default: Any, help: str, check: Any) -> Opt:
    return Opt(name, typ, default, help, check=check, prefix="packet")


OPTIONS: tuple[Opt, ...] = (
    Opt("packet", list, None, "the behaviour, or a list to draw from (default: loss, "
        "bandwidth)", choices=BEHAVIOURS),
    targets_opt("packet", "random"),
    _p("loss", float, 0.3, "the probability a packet is dropped", between(0, 1)),
    _p("rate", str, "1mbit", "tbf rate (bandwidth)", _tc_word),
    _p("burst", str, "32kbit", "tbf burst (bandwidth)", _tc_word),
    _p("latency", str, "400ms", "tbf latency (bandwidth)", _tc_word),
    _p("delay_ms", float, 100.0, "netem delay in ms (delay, reorder)", at_least(0)),
    _p("jitter_ms", float, 20.0, "netem jitter in ms (delay)", at_least(0)),
    _p("duplicate", float, 0.05, "netem duplicate probability", between(0, 1)),
    _p("reorder", float, 0.25, "netem reorder probability", between(0, 1)),
)


def packet_package(*, interval: float = 5.0, seed: int = 0, lenient: bool = False) -> Package:
    """Entry point ``packet``; ``lenient`` (the ``all`` package): netem's behaviours only where
    the kernel has netem."""
    gen = Cycle(interval, "start-packet", "stop-packet")
    return Package(name="packet", nemesis=PacketNemesis(seed=seed, cycle=gen, lenient=lenient),
                   generator=gen, final_generator=g.once({"f": "stop-packet"}),
                   color="#b6f4c8", faults={"start-packet": "stop-packet"})
