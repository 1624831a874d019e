"""One test, end to end: cluster up, db setup, workload + nemesis, heal, check, report.

Every exit path (normal end, an exception, Ctrl-C, SIGTERM) heals every fault, closes the
history, collects node logs and tears the cluster down (unless asked to leave it running).
The history is on disk as it happens, so even a harness killed outright leaves it readable;
the next run finds and removes the leftover containers (their iptables rules, paused
processes and clocks go with them).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from harness import __version__, registry
from harness import generators as g
from harness.api import (
    DB,
    Checker,
    Context,
    HasLogFiles,
    HasModes,
    HasPrimaries,
    Package,
    Prepares,
    Workload,
    describe_options,
)
from harness.control.parallel import on_nodes
from harness.errors import ConfigError, SplitbrainError
from harness.faults import coverage, fault_windows, infer_faults
from harness.history import HistoryWriter, read_jsonl
from harness.options import Opt, OptEnv, option, positive, validate_options
from harness.packages import compose_packages
from harness.runtime.analysis import StatsChecker, counts
from harness.runtime.runner import LiveStats, Runner
from harness.spec import TestSpec
from harness.store import new_run_dir, write_json
from harness.verdicts import Valid, compose_checks, merge_valid

log = logging.getLogger("splitbrain")
# What shows live stats while the workload runs (harness.runtime.live.live_display).
Display = Callable[[LiveStats, TestSpec], contextlib.AbstractContextManager[object]]


@dataclass
class RunOutcome:
    run_dir: Path
    valid: Valid
    results: dict[str, Any]
    report: Path | None


@dataclass
class Plugins:
    """The plugins a spec names, loaded; ``spec`` is the spec with the db's default mode
    filled in (what test.json records and every stage after sees)."""

    spec: TestSpec
    db: DB
    workload: Workload
    packages: list[Package]


def load_plugins(spec: TestSpec, *, also_known: Collection[str] = ()) -> Plugins:
    """Resolve every plugin the spec names and check its options before anything heavy
    starts, so a typo is one error line, not a half-built cluster. ``also_known``: option
    names to let through though no plugin of this spec reads them (a campaign's options,
    meant for its other cells)."""
    db: DB = registry.load("db", spec.db)()
    spec = resolve_mode(spec, db)
    if not spec.name:
        spec = spec.with_(name=spec.default_name())
    workload: Workload = registry.load("workload", spec.workload)()
    packages: list[Package] = []
    for name in spec.nemesis:
        factory = registry.load("nemesis", name)
        packages.append(factory(interval=spec.nemesis_interval, seed=spec.seed))
    plugins = Plugins(spec=spec, db=db, workload=workload, packages=packages)
    check_options(plugins, also_known=also_known)
    return plugins


# The runtime's own options (the recovery pause before the final reads).
RUNTIME_OPTIONS: tuple[Opt, ...] = (
    Opt("recovery_time", float, None, "seconds between the heal and the final reads: the "
        "most to wait for a db that names its primaries to have one again (default 30), "
        "else a fixed pause (default 2)", check=positive),
)


def declared_options(plugins: Plugins) -> tuple[list[Opt], bool]:
    """Every option the runtime and the plugins declare, and whether every plugin declares
    (only then is an undeclared key surely a mistake)."""
    declared = list(RUNTIME_OPTIONS)
    complete = True
    for plugin in (plugins.db, plugins.workload, *plugins.packages):
        opts = describe_options(plugin)
        if opts is None:
            complete = False
        else:
            declared += opts
    return declared, complete


def check_options(plugins: Plugins, *, also_known: Collection[str] = ()) -> None:
    """The spec's ``--option`` pairs against what its plugins declare: an unknown key (with a
    did-you-mean) or a bad value is one ConfigError line."""
    spec = plugins.spec
    declared, complete = declared_options(plugins)
    whose = ", ".join([f"db {spec.db}", f"workload {spec.workload}",
                       *(f"nemesis {n}" for n in spec.nemesis)])
    validate_options(spec.options, declared, env=OptEnv(nodes=spec.nodes, db=plugins.db),
                     strict=complete, whose=whose, also_known=also_known)


def resolve_mode(spec: TestSpec, db: DB) -> TestSpec:
    """The spec with its mode checked against the modes ``db`` declares; an empty mode is
    the db's default (its first). A db without modes takes no mode."""
    names = [m.name for m in db.modes] if isinstance(db, HasModes) else []
    if not names:
        if spec.mode:
            raise ConfigError(f"db {spec.db!r} has no modes; drop --mode {spec.mode!r}")
        return spec
    if not spec.mode:
        return spec.with_(mode=names[0])
    if spec.mode not in names:
        raise ConfigError(f"db {spec.db!r} has no mode {spec.mode!r}; modes: "
                          f"{', '.join(names)}")
    return spec


def build_generator(spec: TestSpec, ctx: Context, plugins: Plugins, pkg: Package | None
                    ) -> g.Generator:
    """main phase (clients at the spec's rate + nemesis) for the time limit, then the
    nemesis's final (healing) ops, a recovery pause, then the workload's final ops."""
    main: g.Generator = g.clients(g.rate(spec.rate, plugins.workload.generator(ctx)))
    if pkg is not None and pkg.generator is not None:
        main = g.any_of(main, g.nemesis(pkg.generator))
    phases: list[g.Generator] = [g.time_limit(spec.time_limit, main)]
    if pkg is not None and pkg.final_generator is not None:
        phases.append(g.nemesis(pkg.final_generator))
    final = plugins.workload.final_generator(ctx)
    if final is not None:
        phases.append(recovery(ctx, plugins.db))
        phases.append(g.clients(final))
    return g.phases(*phases)


RECOVERY_WAIT = 30.0   # s: the most to wait for a db that names its primaries to have one
RECOVERY_PAUSE = 2.0   # s: the fixed pause for a db that cannot say
RECOVERY_POLL = 0.5    # s between two questions to the db


def recovery(ctx: Context, db: DB) -> g.Generator:
    """The pause between the heal and the final reads. Any db gets the fixed pause (2 s, or
    option ``recovery_time`` if shorter: replicas that converge in the background get that
    long, as before). A db that names its primaries (HasPrimaries) is then asked every
    0.5 s until it names the same non-empty set twice in a row (an election over, no leader
    being replaced), until ``recovery_time`` s (30) after the heal in all."""
    if not isinstance(db, HasPrimaries):
        return g.sleep(option(ctx.options, "recovery_time", RECOVERY_PAUSE))
    limit = option(ctx.options, "recovery_time", RECOVERY_WAIT)
    floor = min(RECOVERY_PAUSE, limit)
    return g.then(g.sleep(floor), g.wait_until(PrimariesSettled(ctx, db),
                                               timeout=limit - floor, poll=RECOVERY_POLL))


class PrimariesSettled:
    """``ready()`` for the recovery pause: True once ``db.primaries(ctx)`` is non-empty and the
    same as at the previous poll. A db that fails to answer is not ready (and logged)."""

    def __init__(self, ctx: Context, db: HasPrimaries):
        self.ctx, self.db = ctx, db
        self.last: list[str] | None = None

    def __call__(self) -> bool:
        try:
            now = sorted(self.db.primaries(self.ctx))
        except Exception as e:  # a node still restarting: ask again at the next poll
            log.info("recovery: primaries not known yet: %s", e)
            self.last = None
            return False
        settled = bool(now) and now == self.last
        self.last = now
        if settled:
            log.info("recovery: primaries %s", ", ".join(now))
        return settled


@contextlib.contextmanager
def shielded(say: Callable[[str], None]) -> Iterator[None]:
    """While cleaning up, Ctrl-C and SIGTERM must not abort the heal: they are noted and
    ignored until cleanup is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        say("cleanup in progress (healing faults, collecting logs); please wait")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _file_logging(run_dir: Path) -> logging.Handler:
    h = logging.FileHandler(run_dir / "harness.log", encoding="utf-8")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s"))
    root = logging.getLogger("splitbrain")
    root.setLevel(logging.DEBUG)
    root.addHandler(h)
    return h


def run_test(spec: TestSpec, *, store: Path | str = "store", leave_running: bool = False,
             cluster_name: str = "splitbrain", say: Callable[[str], None] = print,
             display: Display | None = None, also_known: Collection[str] = ()
             ) -> RunOutcome:
    """Run one test and analyse it. ``say`` prints progress lines for a person; ``display``
    returns a context manager showing live stats while the workload runs; ``also_known`` as
    for load_plugins (a campaign's options meant for its other cells)."""
    plugins = load_plugins(spec, also_known=also_known)
    spec = plugins.spec
    from harness.control.cluster import Cluster, cluster_lock
    from harness.control.image import ensure_image

    pkg = compose_packages(plugins.packages) if plugins.packages else None
    run_dir = new_run_dir(store, spec.name)
    (run_dir / "test.json").write_text(spec.to_json() + "\n")
    handler = _file_logging(run_dir)
    started = dt.datetime.now(dt.UTC)
    t_start = time.monotonic()
    errors: list[str] = []
    interrupted = False
    history = HistoryWriter(run_dir / "history.jsonl", keep=False)
    stats = LiveStats()
    cluster = None
    ctx: Context | None = None

    def note(msg: str) -> None:
        log.info(msg)
        say(msg)

    try:
        with cluster_lock(cluster_name):
            note(f"run directory {run_dir}")
            image = ensure_image(log=note)
            cluster = Cluster(name=cluster_name, nodes=len(spec.nodes), image=image)
            try:
                t = time.monotonic()
                cluster.up()
                note(f"cluster {cluster_name} up: {len(spec.nodes)} nodes in "
                     f"{time.monotonic() - t:.1f} s")
                ctx = Context(spec=spec, nodes=list(cluster.nodes), remotes=cluster.remotes,
                              ips=cluster.ips, run_dir=run_dir, log=log.info, db=plugins.db)
                interrupted = _run_phases(spec, ctx, plugins, pkg, history, stats, errors,
                                          note, display)
            finally:
                # Runs on every exit path, Ctrl-C during cluster start or db setup included.
                with shielded(note):
                    if ctx is not None:
                        _cleanup(ctx, plugins, pkg, errors, note, leave_running)
                    if not leave_running:
                        cluster.down()
                        note("cluster down")
                    else:
                        note(f"cluster left running: splitbrain cluster down --name "
                             f"{cluster_name} removes it")
    except KeyboardInterrupt:
        interrupted = True
        errors.append("interrupted")
        note("interrupted")
    except SplitbrainError as e:
        errors.append(str(e))
        note(f"error: {e}")
        if cluster is None or ctx is None:
            history.close()
            logging.getLogger("splitbrain").removeHandler(handler)
            handler.close()
            raise
    finally:
        history.close()

    with shielded(note):
        results = analyse(run_dir, spec=spec, workload=plugins.workload, ctx=ctx, pkg=pkg,
                          errors=errors, interrupted=interrupted,
                          run_info={"started_at": started.isoformat(timespec="seconds"),
                                    "wall_seconds": round(time.monotonic() - t_start, 3)})
        report = _report(run_dir, note)
    logging.getLogger("splitbrain").removeHandler(handler)
    handler.close()
    return RunOutcome(run_dir=run_dir, valid=results["valid"], results=results, report=report)


def _run_phases(spec: TestSpec, ctx: Context, plugins: Plugins, pkg: Package | None,
                history: HistoryWriter, stats: LiveStats, errors: list[str],
                note: Callable[[str], None], display: Display | None) -> bool:
    """db setup, nemesis setup, the generator phases. Returns True if interrupted."""
    t = time.monotonic()
    stats.phase = "db setup"
    if pkg is not None and isinstance(pkg.nemesis, Prepares):
        # e.g. the clock nemesis: the db must start under libfaketime, so its environment
        # has to be in ctx.extra["db_env"] before db.setup.
        pkg.nemesis.prepare(ctx)
    on_nodes(ctx.nodes, lambda n: plugins.db.setup(ctx, n))
    note(f"db {spec.db} ({spec.mode}) set up on {len(ctx.nodes)} nodes in "
         f"{time.monotonic() - t:.1f} s")
    if pkg is not None:
        pkg.nemesis.setup(ctx)
    gen = build_generator(spec, ctx, plugins, pkg)
    runner = Runner(ctx, plugins.workload, pkg.nemesis if pkg else None, gen, history,
                    concurrency=spec.concurrency, seed=spec.seed, stats=stats,
                    fault_names=pkg.faults if pkg else None)
    stats.phase = "running"
    note(f"running {spec.workload} for {spec.time_limit:g} s, {spec.concurrency} clients, "
         f"nemesis {','.join(spec.nemesis)}")
    view = display(stats, spec) if display else contextlib.nullcontext()
    interrupted = False
    with view:
        runner.start()
        try:
            runner.join()
        except KeyboardInterrupt:
            interrupted = True
            note("interrupted: stopping workers, then healing")
            runner.stop.set()
            # Workers finish their current op (client timeouts bound it); don't wait forever.
            runner.join(timeout=15)
    errors.extend(runner.errors)
    stats.phase = "done"
    return interrupted


def _cleanup(ctx: Context, plugins: Plugins, pkg: Package | None, errors: list[str],
             note: Callable[[str], None], leave_running: bool) -> None:
    """Heal, collect logs, tear the db down. Each step runs even if an earlier one failed."""
    if pkg is not None:
        try:
            pkg.nemesis.teardown(ctx)
            note("faults healed")
        except Exception as e:
            errors.append(f"heal failed: {e}")
            note(f"error: heal failed: {e}")
    db = plugins.db
    if isinstance(db, HasLogFiles):
        def collect(node: str) -> None:
            dest = ctx.run_dir / "nodes" / node
            dest.mkdir(parents=True, exist_ok=True)
            for path in db.log_files(ctx, node):
                try:
                    ctx.remotes[node].download(path, dest / Path(path).name)
                except Exception as e:
                    log.warning("could not collect %s from %s: %s", path, node, e)
        try:
            on_nodes(ctx.nodes, collect)
        except Exception as e:
            errors.append(f"log collection failed: {e}")
    if not leave_running:
        try:
            on_nodes(ctx.nodes, lambda n: db.teardown(ctx, n))
        except Exception as e:
            errors.append(f"db teardown failed: {e}")


def analyse(run_dir: Path, *, spec: TestSpec, workload: Workload | None = None,
            ctx: Context | None = None, pkg: Package | None = None,
            errors: list[str] | None = None, interrupted: bool = False,
            run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the history on disk (the source of truth) and write results.json."""
    ops = read_jsonl(run_dir / "history.jsonl")
    if ctx is None:
        ctx = Context(spec=spec, nodes=list(spec.nodes), remotes={}, ips={}, run_dir=run_dir)
    if workload is None:
        workload = registry.load("workload", spec.workload)()
    faults = pkg.faults if pkg else infer_faults(ops)
    windows = fault_windows(ops, faults)
    # The workload names its checkers; every run adds "stats". One flat level in results.
    checkers: dict[str, Checker] = {**workload.checkers(ctx), "stats": StatsChecker()}
    # Checkers that explain anomalies (lost-update) say which faults were active then.
    checked = compose_checks(checkers, spec.to_dict() | {"faults": windows}, ops)
    valid = checked["valid"]
    errors = list(errors or [])
    if interrupted or errors:
        # A run that did not finish cleanly cannot vouch for the system.
        valid = merge_valid([valid, "unknown"])
    results = {
        "valid": valid,
        "interrupted": interrupted,
        "run": {**(run_info or {}), "splitbrain_version": __version__,
                "run_dir": str(run_dir)},
        "counts": counts(ops),
        "faults": windows,
        "fault_coverage": coverage(windows),
        "checkers": checked["checkers"],
        "errors": errors,
    }
    write_json(run_dir / "results.json", results)
    return results


def _report(run_dir: Path, note: Callable[[str], None]) -> Path | None:
    try:
        from harness.report.render import render_report

        return render_report(run_dir)
    except Exception as e:  # a broken report must not lose the verdict
        log.error("report failed: %s", e, exc_info=True)
        note(f"error: report failed: {e}")
        return None
