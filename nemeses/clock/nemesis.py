"""Clock faults with libfaketime, for the db process only: the host's and the containers'
clocks are never touched (no CAP_SYS_TIME needed).

How: ``prepare(ctx)`` (before db setup) puts into ``ctx.extra["db_env"]``, per node,

    LD_PRELOAD=<$LIBFAKETIME of the node>  FAKETIME_DONT_FAKE_MONOTONIC=1
    FAKETIME_TIMESTAMP_FILE=/var/lib/splitbrain/faketime/<node>.rc  FAKETIME_NO_CACHE=1

so the db starts under libfaketime and re-reads its rc file on every wall-clock call (monotonic
clocks, and so sleeps and timeouts, stay real). Faults rewrite that file atomically (temp file,
then rename). It holds an offset and a rate, ``+12.500000 x1``: libfaketime reports
``start + offset + (now - start) * rate``, where ``start`` is when the process began, so a
rate change is written with the offset that keeps the db's clock continuous (computed on the
node from the db process's start time, by node/set_rc.py). The rate is always written:
libfaketime keeps the last rate it saw when a later line has none.

prepare also runs a self-test on every node (node/selftest.py): python3 under exactly that
environment, with a scratch rc file at +3600.25 s, sleeps, waits on a threading.Event and
must then read the host's time + 3600.25 s. Anything else is one NemesisError line.

Ops (``start-clock``; the mode comes from option ``clock`` or the op's value):

    bump    add an offset to each target's clock: +-(10 ms .. ``clock_max_ms``), log-uniform
    strobe  flip each target between its offset and offset + delta every
            ``clock_strobe_period_ms`` for ``clock_strobe_s`` s (a loop on the node, killed on
            stop; default: one nemesis interval)
    drift   run each target's clock at a rate from ``clock_rates`` (default 0.5 0.8 1.25 2)
    stop-clock  reset: kill strobe loops, every clock back to +0 at rate 1

Targets: option ``clock_targets`` / ``targets``; default one of one, minority, majority,
all, and primaries when the db names them, drawn per fault (nemeses.targets). Every
completion's value has each node's offset now, in seconds:
``{"clock_offsets": {"n1": 0.0, "n2": 12.5}, ...}``, plus ``rates`` (drift) or ``strobe``
(the two offsets and the period).
An op may say exactly what to do: ``{"f": "start-clock", "value": {"mode": "bump",
"deltas_ms": {"n2": 60000}}}`` or ``{"mode": "drift", "rates": {"n3": 1.5}}``.
"""
from __future__ import annotations

import json
import math
import random
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from harness import generators as g
from harness.api import Context, Package
from harness.errors import ConfigError, NemesisError, SplitbrainError
from harness.history import Op
from harness.options import Opt, OptEnv, option, positive
from nemeses.common import Cycle, Dispatcher, describe_nodes, node_script, on_nodes, sort_nodes
from nemeses.targets import Choice, select, targets_opt, targets_option

MODES = ("bump", "strobe", "drift")
RC_DIR = "/var/lib/splitbrain/faketime"
STROBE_PID = "/var/run/splitbrain-strobe.pid"
STROBE_MARK = "splitbrain-strobe"
DEFAULT_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DEFAULT_RATES = (0.5, 0.8, 1.25, 2.0)
SELFTEST_OFFSET = 3600.25
SELFTEST_SLACK = 0.2  # s either side: python3's start, and docker exec's own skew


def rc_path(node: str) -> str:
    return f"{RC_DIR}/{node}.rc"


def rc_line(offset: float, rate: float = 1.0) -> str:
    """What the rc file holds: an offset in seconds (sign always written) and a rate.

    >>> rc_line(12.5), rc_line(-0.25, 1.5)
    ('+12.500000 x1', '-0.250000 x1.5')
    """
    return f"{offset:+.6f} x{rate:g}"


def faketime_env(lib: str, rc: str) -> dict[str, str]:
    return {"LD_PRELOAD": lib, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_TIMESTAMP_FILE": rc, "FAKETIME_NO_CACHE": "1"}


def _strobe_script(rc: str, a: float, b: float, period_s: float, seconds: float) -> str:
    """A shell loop on the node flipping the rc file between two offsets (rate 1). It records
    its pid (= its process group, it runs under setsid), ends by itself after ``seconds`` and
    leaves offset ``a`` behind."""
    tmp = shlex.quote(rc + ".strobe")
    dst = shlex.quote(rc)
    la, lb = shlex.quote(rc_line(a)), shlex.quote(rc_line(b))
    return (f"echo $$ > {STROBE_PID}; end=$(( $(date +%s) + {max(1, math.ceil(seconds))} )); "
            f'while [ "$(date +%s)" -lt "$end" ]; do '
            f"printf '%s\\n' {lb} > {tmp} && mv -f {tmp} {dst}; sleep {period_s:g}; "
            f"printf '%s\\n' {la} > {tmp} && mv -f {tmp} {dst}; sleep {period_s:g}; done; "
            f"rm -f {STROBE_PID}")


# Kills the strobe loop (its whole process group) and waits until every member is gone, so
# no late `mv` can overwrite what is written next. A stale pidfile is ignored unless the pid
# really is our loop.
_STROBE_KILL = (f'P=$(cat {STROBE_PID} 2>/dev/null); '
                f'if [ -n "$P" ] && grep -q {STROBE_MARK} /proc/$P/cmdline 2>/dev/null; then '
                'kill -KILL -"$P" 2>/dev/null || kill -KILL "$P" 2>/dev/null; '
                'for i in $(seq 100); do pgrep -g "$P" >/dev/null || break; sleep 0.02; done; '
                f'fi; rm -f {STROBE_PID}')


@dataclass
class NodeClock:
    """What one node's db clock does now: ``offset`` s at ``since`` (monotonic), running at
    ``rate`` from then on, or strobing between two offsets."""

    offset: float = 0.0
    rate: float = 1.0
    since: float = field(default_factory=time.monotonic)
    strobe: tuple[float, float] | None = None

    def now(self, at: float | None = None) -> float:
        t = time.monotonic() if at is None else at
        return self.offset + (t - self.since) * (self.rate - 1.0)


class ClockNemesis:
    """start-clock bumps, strobes or drifts the db's clock on some nodes; stop-clock resets
    every node. See the module docstring."""

    def __init__(self, seed: int = 0, *, interval: float = 5.0, cycle: Cycle | None = None,
                 lenient: bool = False):
        self.rng = random.Random(seed)
        self.interval, self.lenient = interval, lenient
        self.faults = Dispatcher("clock", self._start, self._reset, cycle=cycle)
        self.clocks: dict[str, NodeClock] = {}
        self.pids: dict[str, int | None] = {}     # the db process per node, at the last reset
        self.libs: dict[str, str] = {}
        self.modes: list[str] = list(MODES)
        self.choices: list[Choice] | None = None
        self.max_ms = 120_000.0
        self.rates: list[float] = list(DEFAULT_RATES)
        self.strobe_period_ms = 100.0
        self.strobe_s: float | None = None
        self.prepared = False

    # -- config ---------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        opts = ctx.options
        asked: list[Any] = option(opts, "clock_modes" if "clock_modes" in opts else "clock", [])
        modes = [str(m) for m in asked] or list(MODES)
        bad = [m for m in modes if m not in MODES]
        if bad:
            raise ConfigError(f"option clock: unknown mode(s) {bad}; modes: {', '.join(MODES)}")
        self.modes = modes
        self.choices = targets_option(ctx, "clock")
        self.max_ms = _positive(ctx, "max_ms", 120_000.0)
        self.strobe_period_ms = _positive(ctx, "strobe_period_ms", 100.0)
        self.strobe_s = _positive(ctx, "strobe_s", self.interval)
        given: list[Any] = option(opts, "rates", [], prefix="clock")
        try:
            rates = [float(r) for r in given] or list(DEFAULT_RATES)
        except (TypeError, ValueError):
            rates = [0.0]  # reported below, as one line
        if any(not r > 0 or r == 1 for r in rates):
            raise ConfigError(f"option clock_rates: {given}; give rates > 0 other than 1, "
                              "e.g. [0.5, 2]")
        self.rates = rates

    def declared_options(self) -> tuple[Opt, ...]:
        return OPTIONS

    # -- lifecycle ------------------------------------------------------------------------
    def prepare(self, ctx: Context) -> None:
        """Before db setup: options, the rc files at +0, the self-test, then the db's env."""
        self.configure(ctx)
        nodes = list(ctx.nodes)
        try:
            self.libs = on_nodes(nodes, lambda n: self._prepare_node(ctx, n), brief=True)
        except SplitbrainError as e:
            if not self.lenient:
                raise
            self.faults.disable(ctx, str(e))
            return
        env = ctx.extra.setdefault("db_env", {})
        for n in nodes:
            per_node = env.setdefault(n, {})
            per_node.update(faketime_env(self.libs[n], rc_path(n)))
        self.clocks = {n: NodeClock() for n in nodes}
        self.prepared = True

    def _prepare_node(self, ctx: Context, node: str) -> str:
        remote = ctx.remotes[node]
        # The image sets LIBFAKETIME; a node without it (SSH hosts) gets Debian's path.
        res = remote.run(f'L="${{LIBFAKETIME:-{DEFAULT_LIB}}}"; printf "%s" "$L"; '
                         f'test -r "$L" || exit 3; mkdir -p {RC_DIR}', timeout=10,
                         check=False)
        lib = res.stdout.strip() or DEFAULT_LIB
        if res.exit_code == 3:
            raise NemesisError(f"clock: libfaketime not found at {lib} on {node} (install "
                               "libfaketime in the node image, or set LIBFAKETIME)")
        if res.exit_code != 0:
            raise NemesisError(f"clock: could not prepare {RC_DIR} on {node}: "
                               f"{res.stderr.strip()}")
        self._write(ctx, node, 0.0, 1.0)
        self._selftest(ctx, node, lib)
        return lib

    def _selftest(self, ctx: Context, node: str, lib: str) -> None:
        scratch = f"{RC_DIR}/selftest-{node}.rc"
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in faketime_env(lib, scratch).items())
        cmd = (f"printf '%s\\n' {shlex.quote(rc_line(SELFTEST_OFFSET))} > {scratch} && "
               f"date +%s.%N && env {env} python3 -c {shlex.quote(_selftest_script())}; rc=$?; "
               f"date +%s.%N; rm -f {scratch}; exit $rc")
        fail = f"clock self-test failed on {node}: python3 under libfaketime ({lib})"
        try:
            res = ctx.remotes[node].run(cmd, timeout=15, check=False)
        except SplitbrainError as e:
            raise NemesisError(f"{fail} hung: {e}") from None
        words = res.stdout.split()
        try:
            before, faked, slept, after = (float(w) for w in words[:4])
        except ValueError:
            raise NemesisError(f"{fail} exited {res.exit_code}: "
                               f"{(res.stderr or res.stdout).strip()[-200:]}") from None
        lo = before + SELFTEST_OFFSET - SELFTEST_SLACK
        hi = after + SELFTEST_OFFSET + SELFTEST_SLACK
        if not lo <= faked <= hi:
            raise NemesisError(f"{fail} read {faked - before:+.2f} s from the real time with "
                               f"an offset of +{SELFTEST_OFFSET:g} s")
        if not 0.09 <= slept < 5:
            raise NemesisError(f"{fail}: sleep + Event.wait of 0.1 s took {slept:.3f} s")

    def setup(self, ctx: Context) -> None:
        self.faults.open()
        if self.faults.disabled:
            return
        if not self.prepared:
            self.prepare(ctx)
        self._reset(ctx)
        deaf = sorted(n for n, pid in self.pids.items() if pid is None)
        if deaf:
            name = getattr(ctx.db, "name", type(ctx.db).__name__)
            msg = (f"clock: no process on {', '.join(deaf)} runs under libfaketime after db "
                   f"setup: db {name!r} does not start with ctx.extra['db_env'], so clock "
                   "faults would not reach it")
            if not self.lenient:
                raise ConfigError(msg)
            self.faults.disable(ctx, msg)

    def teardown(self, ctx: Context) -> None:
        self.faults.teardown(ctx)

    # -- ops ------------------------------------------------------------------------------
    def invoke(self, ctx: Context, op: Op) -> Op:
        return self.faults.invoke(ctx, op)

    def _start(self, ctx: Context, value: Any) -> dict[str, Any]:
        if self.choices is None:
            self.configure(ctx)
        spec = value if isinstance(value, dict) else {}
        mode = str(spec.get("mode") or self.rng.choice(self.modes))
        if mode not in MODES:
            raise NemesisError(f"clock: unknown mode {mode!r}; modes: {', '.join(MODES)}")
        given = spec.get("deltas_ms") or spec.get("rates") or spec.get("nodes")
        if given:
            nodes, how = sort_nodes(ctx, [str(n) for n in given]), "given"
            unknown = [n for n in nodes if n not in ctx.nodes]
            if unknown:
                raise NemesisError(f"clock: unknown node(s) {unknown}")
        else:
            assert self.choices is not None
            nodes, how = select(ctx, self.choices, self.rng)
        out: dict[str, Any] = {"mode": mode, "nodes": nodes, "targets": how}
        if mode == "bump":
            deltas = {n: float(spec["deltas_ms"][n]) if "deltas_ms" in spec
                      else self._random_ms() for n in nodes}
            on_nodes(nodes, lambda n: self._set(ctx, n, self._clock(n).now() +
                                               deltas[n] / 1000.0, 1.0))
            out["deltas_ms"] = {n: round(d, 3) for n, d in deltas.items()}
            desc = ", ".join(f"{n} {d / 1000:+.3f}s" for n, d in deltas.items())
        elif mode == "drift":
            rates = {n: float(spec["rates"][n]) if "rates" in spec
                     else self.rng.choice(self.rates) for n in nodes}
            if any(not r > 0 for r in rates.values()):
                raise NemesisError(f"clock: rates must be > 0, got {rates}")
            on_nodes(nodes, lambda n: self._set(ctx, n, self._clock(n).now(), rates[n]))
            out["rates"] = rates
            desc = ", ".join(f"{n} x{r:g}" for n, r in rates.items())
        else:
            period = float(spec.get("period_ms", self.strobe_period_ms))
            seconds = float(spec.get("seconds", self.strobe_s or self.interval))
            deltas = {n: float(spec["deltas_ms"][n]) if "deltas_ms" in spec
                      else self._random_ms() for n in nodes}
            on_nodes(nodes, lambda n: self._strobe(ctx, n, deltas[n] / 1000.0, period,
                                                   seconds))
            out["strobe"] = {n: {"offsets": list(self.clocks[n].strobe or ()),
                                 "period_ms": period, "seconds": seconds} for n in nodes}
            desc = ", ".join(f"{n} {d / 1000:+.3f}s every {period:g}ms"
                             for n, d in deltas.items())
        out["description"] = f"{mode} {desc}" if nodes else f"{mode} {describe_nodes(nodes)}"
        out["clock_offsets"] = self.offsets(ctx)
        return out

    def _random_ms(self) -> float:
        """10 ms .. max_ms, log-uniform, either sign."""
        lo = min(10.0, self.max_ms)
        ms = math.exp(self.rng.uniform(math.log(lo), math.log(self.max_ms)))
        return round(ms if self.rng.random() < 0.5 else -ms, 3)

    def _clock(self, node: str) -> NodeClock:
        return self.clocks.setdefault(node, NodeClock())

    def _set(self, ctx: Context, node: str, offset: float, rate: float, *,
             before: str = "", after: str = "") -> None:
        self._write(ctx, node, offset, rate, before=before, after=after)
        self.clocks[node] = NodeClock(offset=offset, rate=rate)

    def _write(self, ctx: Context, node: str, offset: float, rate: float, *,
               before: str = "", after: str = "") -> int | None:
        """Write the rc file (one docker exec, with optional shell to run before and after
        it: the strobe loop's kill and start ride along). Returns the pid of the process
        that reads this rc file (the db), if one runs."""
        cmd = shlex.join(["python3", "-c", _set_rc_script(), rc_path(node), repr(offset),
                          repr(rate)])
        if before:
            cmd = f"{before}\n{cmd}"
        if after:
            cmd = f"{cmd}\n{after}"
        res = ctx.remotes[node].run(cmd, timeout=20)
        try:
            out = json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise NemesisError(f"clock on {node}: no answer from the rc writer: "
                               f"{res.stdout.strip()[-200:]!r}") from None
        if out.get("back") != out.get("line"):
            raise NemesisError(f"clock on {node}: rc file reads {out.get('back')!r}, "
                               f"expected {out.get('line')!r}")
        pid = out.get("pid")
        return pid if isinstance(pid, int) else None

    def _strobe(self, ctx: Context, node: str, delta: float, period_ms: float,
                seconds: float) -> None:
        base = self._clock(node).now()
        script = _strobe_script(rc_path(node), base, base + delta, period_ms / 1000.0,
                                seconds)
        # Any old loop gone, the clock at rate 1 from where it is, then the loop; the exec
        # returns once the loop has written its pidfile, so a stop right after finds it.
        launch = (f"setsid nohup sh -c {shlex.quote(script)} {STROBE_MARK} "
                  f">/dev/null 2>&1 </dev/null &\n"
                  f"for i in $(seq 100); do [ -s {STROBE_PID} ] && break; sleep 0.02; done")
        self._set(ctx, node, base, 1.0, before=_STROBE_KILL, after=launch)
        self.clocks[node].strobe = (round(base, 6), round(base + delta, 6))

    def _reset(self, ctx: Context) -> dict[str, Any]:
        """Every node: strobe loop gone, rc at +0 rate 1."""

        def one(node: str) -> None:
            self.pids[node] = self._write(ctx, node, 0.0, 1.0, before=_STROBE_KILL)
            self.clocks[node] = NodeClock()

        nodes = list(ctx.nodes)
        on_nodes(nodes, one)
        return {"nodes": nodes, "description": "clocks reset",
                "clock_offsets": self.offsets(ctx)}

    def offsets(self, ctx: Context) -> dict[str, float]:
        """Each node's db clock offset now, in seconds (a strobing node: its base offset)."""
        t = time.monotonic()
        return {n: round(self._clock(n).now(t), 6) for n in sort_nodes(ctx, ctx.nodes)}


def _positive(ctx: Context, key: str, default: float) -> float:
    """Option ``clock_<key>`` (or ``<key>``) as a number > 0; ConfigError, one line, if not."""
    value = option(ctx.options, key, float(default), prefix="clock")
    if not value > 0:
        raise ConfigError(f"option clock_{key}={value!r}: give a number > 0")
    return value


def _check_rates(value: Any, env: OptEnv) -> str | None:
    try:
        rates = [float(r) for r in value]
    except (TypeError, ValueError):
        rates = [0.0]
    return None if all(r > 0 and r != 1 for r in rates) else "rates > 0 other than 1, e.g. [0.5, 2]"


OPTIONS: tuple[Opt, ...] = (
    Opt("clock", list, None, "the clock fault, or a list to draw from (default: all three)",
        choices=MODES, aliases=("clock_modes",)),
    targets_opt("clock"),
    Opt("max_ms", float, 120_000.0, "the largest bump or strobe, in ms", check=positive,
        prefix="clock"),
    Opt("strobe_period_ms", float, 100.0, "how often a strobe flips the clock, in ms",
        check=positive, prefix="clock"),
    Opt("strobe_s", float, None, "how long a strobe lasts, in s (default: the interval)",
        check=positive, prefix="clock"),
    Opt("rates", list, list(DEFAULT_RATES), "the rates a drift draws from",
        check=_check_rates, prefix="clock"),
)


def _set_rc_script() -> str:
    return node_script("nemeses.clock", "set_rc.py")


def _selftest_script() -> str:
    return node_script("nemeses.clock", "selftest.py")


def clock_package(*, interval: float = 5.0, seed: int = 0, lenient: bool = False) -> Package:
    """Entry point ``clock``; ``lenient`` (the ``all`` package): a node or db that cannot take
    clock faults leaves them out instead of failing the test."""
    gen = Cycle(interval, "start-clock", "stop-clock")
    return Package(name="clock",
                   nemesis=ClockNemesis(seed=seed, interval=interval, cycle=gen,
                                        lenient=lenient),
                   generator=gen, final_generator=g.once({"f": "stop-clock"}),
                   color="#b6d7f4", faults={"start-clock": "stop-clock"})
