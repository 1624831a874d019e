"""The `splitbrain` command line.

Exit codes: 0 all valid, 1 any invalid, 2 any unknown (none invalid), 3 the harness could not
do its job (Docker down, image build failed), 254 bad arguments, 130 interrupted before a
verdict. A mistake the user made is one line on stderr, never a traceback.

Whatever came from a history, a run directory or the user is printed through ``plain``
(harness.runtime.live): rich would take ``[old new]`` in an explanation for markup and drop it.
"""
from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from harness import __version__
from harness.errors import ConfigError, HistoryFormatError, SplitbrainError
from harness.runtime.live import plain
from harness.spec import TestSpec, node_names
from harness.verdicts import merge_valid

EXIT_BAD_ARGS = 254
EXIT_HARNESS = 3
err = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)  # stdout


def exit_code(valid: Any) -> int:
    return 0 if valid is True else 1 if valid is False else 2


def _colour(valid: object) -> str:
    """A verdict's colour on the terminal."""
    return "green" if valid is True else "red" if valid is False else "yellow"


def verdict_word(valid: object) -> str:
    """A verdict as a person reads it: valid, invalid or unknown (never ``True``)."""
    return "valid" if valid is True else "invalid" if valid is False else "unknown"


def _say(m: str) -> None:
    err.print(f"[dim]splitbrain:[/] {plain(m)}")


def merge_exit(valids: list[Any]) -> int:
    return exit_code(merge_valid(valids)) if valids else 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="splitbrain")
def cli() -> None:
    """splitbrain: break a distributed system on purpose and prove what it did."""


# --- run -------------------------------------------------------------------------------------

def _split(ctx: Any, param: Any, value: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in value.split(",") if p.strip())
    if not parts:
        raise click.BadParameter("give at least one name, e.g. partition")
    return parts


@cli.command()
@click.option("--name", default=None, help="test name (directory under the store)")
@click.option("--nodes", type=click.IntRange(1, 32), default=5, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="client worker threads")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=60,
              show_default=True, help="seconds of workload")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=100,
              show_default=True, help="target ops/s across all clients")
@click.option("--seed", type=int, default=None, help="random seed (default: random)")
@click.option("--test-count", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="run the test N times, with seeds seed..seed+N-1, each its own run "
                   "directory; the exit code is the worst verdict")
@click.option("--db", default="kvstore", show_default=True)
@click.option("--mode", default=None,
              help="db mode  [default: the db's default mode, the first it declares; "
                   "`splitbrain list` shows each db's modes]")
@click.option("--workload", default="register", show_default=True)
@click.option("--nemesis", default="partition", show_default=True, callback=_split,
              help="comma-separated nemesis packages, or none")
@click.option("--nemesis-interval", type=click.FloatRange(min=0, min_open=True), default=5,
              show_default=True, help="seconds between fault starts and stops")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="workload/db option (JSON value), repeatable")
@click.option("--store", type=click.Path(file_okay=False), default="store", show_default=True)
@click.option("--cluster", "cluster_name", default="splitbrain", show_default=True,
              help="cluster name (containers splitbrain-<name>-n1...)")
@click.option("--leave-running", is_flag=True, help="keep the cluster up after the run")
@click.option("--json", "as_json", is_flag=True,
              help="last line of stdout: {\"run_dir\": ..., \"valid\": ...}")
def run(name: str | None, nodes: int, concurrency: int, time_limit: float, rate: float,
        seed: int | None, test_count: int, db: str, mode: str | None, workload: str,
        nemesis: tuple[str, ...], nemesis_interval: float, options: tuple[str, ...],
        store: str, cluster_name: str, leave_running: bool, as_json: bool) -> int:
    """Run one test against a fresh Docker cluster, then check it and write a report.
    With --test-count N, N such runs, one after another."""
    import random

    from harness.runtime.live import live_display
    from harness.runtime.run import run_test

    opts = _parse_options(options)
    if mode is None:
        mode = default_mode(db)
    spec = TestSpec(name=name or f"{db}-{mode}-{workload}", nodes=node_names(nodes),
                    concurrency=concurrency, time_limit=time_limit, rate=rate,
                    seed=seed if seed is not None else random.randrange(2**31), db=db,
                    mode=mode, workload=workload, nemesis=nemesis,
                    nemesis_interval=nemesis_interval, options=opts)
    _sigterm_as_interrupt()

    def one(s: TestSpec) -> Any:
        return run_test(s, store=store, leave_running=leave_running, cluster_name=cluster_name,
                        say=_say, display=live_display)
    return repeat_runs(spec, test_count, one, as_json=as_json)


def repeat_runs(spec: TestSpec, count: int, run_one: Callable[[TestSpec], Any], *,
                as_json: bool = False) -> int:
    """``run --test-count``: ``count`` full runs of ``spec`` with seeds seed..seed+count-1
    (Jepsen's ``--test-count``), each its own run directory. One line per run on stdout (the
    report's path, or with ``as_json`` a JSON object with its seed); returns the exit code of
    the worst verdict. A run that was interrupted ends the series."""
    valids = []
    for i in range(count):
        s = spec.with_(seed=spec.seed + i) if i else spec
        out = run_one(s)
        valids.append(out.valid)
        _print_verdict(out.valid, out.results)
        if count > 1:
            err.print(f"run {i + 1}/{count} (seed {s.seed}): "
                      f"[bold {_colour(out.valid)}]{verdict_word(out.valid)}[/]")
        if out.report is not None:
            err.print(f"report: {plain(out.report)}")
        if as_json:
            click.echo(json.dumps({"run_dir": str(out.run_dir), "valid": out.valid,
                                   "report": str(out.report) if out.report else None,
                                   "seed": s.seed}))
        else:
            click.echo(str(out.report or out.run_dir))
        if out.results.get("interrupted") is True:
            break
    if count > 1:
        worst = merge_valid(valids)
        err.print(f"{len(valids)} of {count} runs: [bold {_colour(worst)}]"
                  f"{verdict_word(worst).upper()}[/] at worst "
                  f"({valids.count(True)} valid, {sum(v is False for v in valids)} invalid, "
                  f"{sum(v is not True and v is not False for v in valids)} unknown)")
    return merge_exit(valids)


def default_mode(db: str) -> str:
    """The db plugin's default mode: the first it declares ("" if it declares none, which
    the runtime reads the same way)."""
    from harness.app.campaign import db_modes

    modes = db_modes(db)
    return modes[0].name if modes else ""


def _parse_options(options: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for o in options:
        if "=" not in o:
            raise ConfigError(f"--option {o!r} is not KEY=VALUE; e.g. --option keys=10")
        k, v = o.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _sigterm_as_interrupt() -> None:
    """SIGTERM takes the same road as Ctrl-C: heal, collect, check."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, handler)


def _print_verdict(valid: Any, results: dict[str, Any]) -> None:
    colour = _colour(valid)
    word = verdict_word(valid).upper()
    c = results.get("counts")
    c = c if isinstance(c, dict) else {}
    err.print(f"[bold {colour}]{word}[/]  ok {plain(c.get('ok', 0))}  "
              f"fail {plain(c.get('fail', 0))}  info {plain(c.get('info', 0))}")
    checkers = results.get("checkers")
    for name, r in (checkers.items() if isinstance(checkers, dict) else []):
        r = r if isinstance(r, dict) else {}
        col = _colour(r.get("valid"))
        extra = f"  {plain(r['error'])}" if r.get("error") else ""
        err.print(f"  {plain(name)}: [{col}]{verdict_word(r.get('valid'))}[/]{extra}")
    errors = results.get("errors")
    for e in (errors if isinstance(errors, list) else []):
        err.print(f"  [red]error:[/] {plain(e)}")


# --- check -----------------------------------------------------------------------------------

@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--model", default="cas-register", show_default=True)
@click.option("--independent", is_flag=True, help="values are Jepsen [key value] tuples")
@click.option("--format", "fmt", type=click.Choice(["auto", "jsonl", "edn", "jepsen-log"]),
              default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file, per line")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="seconds per file before answering unknown")
@click.option("--initial", default=None, metavar="JSON",
              help="the model's initial state as JSON, e.g. 0 (default: the model's own, "
                   "nil for registers)")
def check(paths: tuple[str, ...], model: str, independent: bool, fmt: str, as_json: bool,
          timeout: float | None, initial: str | None) -> int:
    """Check the linearizability of stored runs or outside history files. A file that
    cannot be checked is that file's result (unknown, with the reason), not the command's."""
    from checkers.check import check_paths

    extra: dict[str, Any] = {}
    if initial is not None:
        try:
            extra["initial"] = json.loads(initial)
        except json.JSONDecodeError:
            raise ConfigError(f"--initial {initial!r} is not JSON; e.g. --initial 0, "
                              "--initial null, --initial '\"\"'") from None
    valids = []
    bad_input = False
    for res in check_paths(paths, model=model, independent=independent, fmt=fmt,
                           timeout=timeout, **extra):
        valids.append(res["valid"])
        bad_input = bad_input or bool(res.get("bad_input"))
        if as_json:
            click.echo(json.dumps({k: v for k, v in res.items() if k != "keys"} |
                                  {"keys": _key_summary(res)}, default=repr))
        else:
            for line in check_lines(res["path"], res):
                console.print(line)
    # Every file gets its line; then an anomaly found anywhere (1) outranks a file that
    # could not be read (254: the input was wrong), which outranks an undecided one (2).
    code = merge_exit(valids)
    return code if code == 1 or not bad_input else EXIT_BAD_ARGS


def key_text(k: Any) -> str:
    """A key as a person reads it: a string as it is, anything else as JSON (``[1, 2]``,
    ``null``)."""
    if isinstance(k, str):
        return k
    try:
        return json.dumps(k, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(k)


def check_lines(path: str, res: Mapping[str, Any]) -> list[str]:
    """``check``'s text output for one file, as console markup whose every value from the
    file is escaped: ``h.jsonl: invalid (0.012 s)``, then one line per key that is not
    valid, ``  key 3: <explanation>`` (no key prefix for a history without keys)."""
    valid = res.get("valid")
    secs = res.get("seconds")
    took = f" ({secs:.3f} s)" if isinstance(secs, (int, float)) else ""
    line = f"{plain(path)}: [{_colour(valid)}]{verdict_word(valid)}[/]{took}"
    if res.get("error"):
        line += f" {plain(res['error'])}"
    lines = [line]
    keys = res.get("keys")
    keys = keys if isinstance(keys, Mapping) else {}
    for k, kr in keys.items():
        if isinstance(kr, Mapping) and kr.get("valid") is not True and kr.get("explanation"):
            # A history without keys is checked as one key, None, which results name "None".
            no_key = k is None or (k == "None" and len(keys) == 1)
            where = "" if no_key else f"key {plain(key_text(k))}: "
            lines.append(f"  {where}{plain(kr['explanation'])}")
    return lines


def _key_summary(res: Mapping[str, Any]) -> dict[str, Any]:
    keys = res.get("keys") or {}
    return {key_text(k): {"valid": v.get("valid"), "explanation": v.get("explanation")}
            for k, v in keys.items() if v.get("valid") is not True}


# --- cluster / image / list / report ---------------------------------------------------------

@cli.group()
def cluster() -> None:
    """Start, inspect or remove a cluster of node containers."""


@cluster.command("up")
@click.option("--nodes", type=click.IntRange(1, 32), default=5, show_default=True)
@click.option("--name", default="splitbrain", show_default=True)
def cluster_up(nodes: int, name: str) -> int:
    from harness.control.cluster import Cluster
    from harness.control.image import ensure_image

    image = ensure_image(log=lambda m: err.print(plain(m)))
    c = Cluster(name=name, nodes=nodes, image=image)
    c.up()
    _print_status(c.status())
    return 0


@cluster.command("down")
@click.option("--name", default=None, help="only this cluster (default: every splitbrain one)")
def cluster_down(name: str | None) -> int:
    from harness.control.cluster import down_all

    n = down_all(name=name)
    err.print(f"removed {n} container(s)/network(s)")
    return 0


@cluster.command("status")
@click.option("--name", default=None)
def cluster_status(name: str | None) -> int:
    from harness.control.cluster import status_all

    _print_status(status_all(name=name))
    return 0


def _print_status(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not rows:
        err.print("no splitbrain containers")
        return
    t = Table("cluster", "node", "container", "state", "ip")
    for r in rows:
        t.add_row(*(plain(r.get(k, "")) for k in ("cluster", "node", "container", "state", "ip")))
    console.print(t)


@cli.group()
def image() -> None:
    """The node image (built from Debian packages; no registry needed)."""


@image.command("build")
@click.option("--force", is_flag=True, help="rebuild even if the tag exists")
def image_build(force: bool) -> int:
    import time

    from harness.control.image import ensure_image

    t = time.monotonic()
    tag = ensure_image(force=force, log=lambda m: err.print(plain(m)))
    err.print(f"image {tag} ready in {time.monotonic() - t:.1f} s")
    click.echo(tag)
    return 0


@image.command("tag")
def image_tag_cmd() -> int:
    from harness.control.image import image_tag

    click.echo(image_tag())
    return 0


@cli.command("list")
@click.argument("name", required=False)
@click.option("--verbose", "-v", is_flag=True,
              help="also each plugin's options (name, type, default, allowed values)")
def list_plugins(name: str | None, verbose: bool) -> int:
    """Installed dbs (with the modes each declares and what each promises), workloads,
    nemeses and checkers. With NAME, only the plugins of that name, with their options."""
    from harness.registry import describe

    plural = {"db": "dbs", "workload": "workloads", "nemesis": "nemeses", "checker": "checkers"}
    found = False
    for kind, items in describe().items():
        items = [(n, t) for n, t in items if name is None or n == name]
        if not items:
            continue
        found = True
        click.echo(f"{plural.get(kind, kind)}:")
        for plugin, target in items:
            click.echo(f"  {plugin:16} {target}")
            if kind == "db":
                _list_modes(plugin)
            if verbose or name is not None:
                _list_options(kind, plugin)
    if not found:
        known = sorted({n for items in describe().values() for n, _ in items})
        raise ConfigError(f"no plugin named {name!r}; installed: {', '.join(known)}")
    return 0


def _list_options(kind: str, plugin: str) -> None:
    """The options a plugin declares, one line each (harness.options.Opt.describe)."""
    from harness.registry import options_of

    if kind == "checker":
        return
    try:
        opts = options_of(kind, plugin)
    except ConfigError as e:  # a broken plugin: say so, list the rest
        click.echo(f"    (options unknown: {e})")
        return
    if opts is None:
        click.echo("    (declares no options: any --option is passed to it unchecked)")
        return
    for o in opts:
        click.echo(f"    option {o.describe()}")


def _list_modes(db: str) -> None:
    """A db's modes, read from the db: the default first, each with its promise."""
    from harness.app.campaign import db_modes

    try:
        modes = db_modes(db)
    except ConfigError as e:  # a broken plugin: say so, list the rest
        click.echo(f"    (modes unknown: {e})")
        return
    for i, m in enumerate(modes):
        click.echo(f"    mode {m.name:11} {m.promise}{'  (default)' if i == 0 else ''}")


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--recheck", is_flag=True, help="re-run the checkers before rendering")
def report(run_dir: str, recheck: bool) -> int:
    """(Re)write report.html for a run directory (e.g. store/latest)."""
    from harness.report.render import render_report
    from harness.store import resolve_run

    rd = resolve_run(run_dir)
    if recheck:
        from harness.runtime.run import analyse

        old = _old_results(rd)
        run_info, errors = old.get("run"), old.get("errors")
        run_info = run_info if isinstance(run_info, dict) else {}
        errors = errors if isinstance(errors, list) else []
        # The run's own record (when it started, how long it took, how it ended) survives a
        # recheck: an interrupted or failed run cannot vouch for the system however often
        # its history is checked again.
        analyse(rd, spec=load_spec(rd / "test.json"),
                run_info={k: v for k, v in run_info.items()
                          if k not in ("splitbrain_version", "run_dir")},
                errors=[str(e) for e in errors], interrupted=old.get("interrupted") is True)
    click.echo(str(render_report(rd)))
    return 0


def load_spec(path: Path) -> TestSpec:
    """The TestSpec a run saved in ``test.json``; ConfigError (one line) if it is missing,
    not JSON, or not a spec."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing, so the run cannot be checked again (its "
                          "checkers come from the test spec); `splitbrain report` without "
                          "--recheck renders what there is") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"{path} is not readable JSON ({e}); `splitbrain report` without "
                          "--recheck renders what there is") from None
    if not isinstance(d, dict):
        raise ConfigError(f"{path} is not a test spec: a JSON object was expected, got "
                          f"{type(d).__name__}")
    try:
        return TestSpec.from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{path} is not a usable test spec: {e}") from None
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path} is not a usable test spec (a field has the wrong type: "
                          f"{e}); e.g. \"concurrency\": 10, \"nodes\": [\"n1\"]") from None


def _old_results(rd: Path) -> dict[str, Any]:
    try:
        d = json.loads((rd / "results.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


@cli.command()
@click.option("--store", type=click.Path(file_okay=False), default="store", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind (the store is readable by anyone who can reach it)")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--verbose", is_flag=True, help="log every request")
def serve(store: str, host: str, port: int, verbose: bool) -> int:
    """Browse the store: an index of runs, each run's files and report, zip downloads."""
    from harness.app.serve import make_server

    if not Path(store).is_dir():
        raise ConfigError(f"no store at {store}; give --store DIR (runs are made with "
                          "splitbrain run --store DIR)")
    try:
        server = make_server(store, host, port, verbose=verbose)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}; "
                          "try another --port") from None
    h, p = server.server_address[:2]
    h = h.decode() if isinstance(h, bytes) else h
    err.print(plain(f"serving {Path(store).resolve()} at http://{h}:{p}/ (Ctrl-C stops)"))
    click.echo(f"http://{h}:{p}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        server.server_close()
    return 0


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--name", default=None, help="campaign name (default: from the file, else "
              "a hash of the settings, so the same command resumes)")
@click.option("--modes", default=None,
              help="db modes, comma-separated, or all (every mode the db declares)  "
                   "[default: the db's default mode]")
@click.option("--workloads", default=None, help="workloads, comma-separated")
@click.option("--nemeses", default=None,
              help="nemeses, comma-separated; join packages with +: partition,pause+clock")
@click.option("--seeds", default=None, help="seeds, comma-separated: 1,2,3")
@click.option("--test-count", type=click.IntRange(1, 10_000), default=None,
              help="seeds 1..N (instead of --seeds)")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--nodes", type=click.IntRange(1, 32), default=None)
@click.option("--concurrency", type=click.IntRange(1, 1000), default=None)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--nemesis-interval", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--db", default=None)
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="workload/db option for every run (JSON value), repeatable")
@click.option("--store", type=click.Path(file_okay=False), default="store", show_default=True)
@click.option("--cluster", "cluster_name", default=None,
              help="cluster name for the runs (default: campaign)")
@click.option("--dry-run", is_flag=True, help="list the runs, run nothing")
@click.option("--json", "as_json", is_flag=True,
              help="last line of stdout: {\"campaign_dir\": ..., \"valid\": ..., \"met\": ...}")
def campaign(config: str | None, name: str | None, modes: str | None, workloads: str | None,
             nemeses: str | None, seeds: str | None, test_count: int | None,
             time_limit: float | None, nodes: int | None, concurrency: int | None,
             rate: float | None, nemesis_interval: float | None, db: str | None,
             options: tuple[str, ...], store: str, cluster_name: str | None, dry_run: bool,
             as_json: bool) -> int:
    """Run db modes x workloads x nemeses x seeds (a TOML file and/or the flags), resumably,
    and summarise: a table here, campaign.html and campaign.json in the store. Exit code:
    the worst verdict (1 if any run was invalid, else 2 if any unknown, else 0)."""
    from harness.app.campaign import check_plugins, load_config, plan, run_campaign, terminal_table

    overrides: dict[str, Any] = {
        "name": name, "modes": modes, "workloads": workloads, "nemeses": nemeses,
        "seeds": seeds, "test_count": test_count, "time_limit": time_limit, "nodes": nodes,
        "concurrency": concurrency, "rate": rate, "nemesis_interval": nemesis_interval,
        "db": db, "cluster": cluster_name,
        "options": _parse_options(options) if options else None}
    cfg = load_config(config, overrides)
    if dry_run:
        check_plugins(cfg)
        for line in plan(cfg):
            click.echo(line)
        return 0
    _sigterm_as_interrupt()
    res = run_campaign(cfg, store, say=_say)
    console.print(terminal_table(res, cfg))
    colour = _colour(res.valid)
    met = {True: "every cell met its expectation", False: "some cells did NOT meet their "
           "expectation", None: "no expectations to meet"}[res.met]
    err.print(f"[bold {colour}]{exit_code(res.valid) and 'NOT ALL VALID' or 'ALL VALID'}[/]"
              f" (worst verdict: {verdict_word(res.valid)}); {met}")
    err.print(f"summary: {plain(res.dir / 'campaign.html')}")
    if as_json:
        click.echo(json.dumps({"campaign_dir": str(res.dir), "valid": res.valid,
                               "met": res.met}))
    else:
        click.echo(str(res.dir / "campaign.html"))
    return exit_code(res.valid)


# --- entry point -----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="splitbrain", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        err.print("splitbrain: interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("splitbrain: interrupted")
        sys.exit(130)
    except click.UsageError as e:
        hint = f" (see: splitbrain {e.ctx.command_path.split(' ', 1)[-1]} --help)" \
            if e.ctx and " " in e.ctx.command_path else " (see: splitbrain --help)"
        err.print(f"splitbrain: error: {plain(e.format_message())}{plain(hint)}")
        sys.exit(EXIT_BAD_ARGS)
    except click.ClickException as e:
        err.print(f"splitbrain: error: {plain(e.format_message())}")
        sys.exit(EXIT_BAD_ARGS)
    except (ConfigError, HistoryFormatError) as e:  # the input was wrong: say what and where
        err.print(f"splitbrain: error: {plain(e)}")
        sys.exit(EXIT_BAD_ARGS)
    except SplitbrainError as e:
        err.print(f"splitbrain: error: {plain(e)}")
        sys.exit(EXIT_HARNESS)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
