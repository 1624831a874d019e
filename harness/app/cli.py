"""The `splitbrain` command line.

Exit codes: 0 all valid, 1 any invalid, 2 any unknown (none invalid), 3 the harness could not
do its job (Docker down, image build failed), 254 bad arguments, 130 interrupted before a
verdict. A mistake the user made is one line on stderr, never a traceback.
"""
from __future__ import annotations

import json
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from harness import __version__
from harness.errors import ConfigError, SplitbrainError
from harness.spec import TestSpec, node_names

EXIT_BAD_ARGS = 254
EXIT_HARNESS = 3
err = Console(stderr=True, highlight=False, soft_wrap=True)


def exit_code(valid: Any) -> int:
    return 0 if valid is True else 1 if valid is False else 2


def _colour(valid: object) -> str:
    """A verdict's colour on the terminal."""
    return "green" if valid is True else "red" if valid is False else "yellow"


def merge_exit(valids: list[Any]) -> int:
    from harness.verdicts import merge_valid

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
        seed: int | None, db: str, mode: str | None, workload: str, nemesis: tuple[str, ...],
        nemesis_interval: float, options: tuple[str, ...], store: str, cluster_name: str,
        leave_running: bool, as_json: bool) -> int:
    """Run one test against a fresh Docker cluster, then check it and write a report."""
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
    out = run_test(spec, store=store, leave_running=leave_running, cluster_name=cluster_name,
                   say=lambda m: err.print(f"[dim]splitbrain:[/] {m}"), display=live_display)
    _print_verdict(out.valid, out.results)
    if out.report is not None:
        err.print(f"report: {out.report}")
    if as_json:
        click.echo(json.dumps({"run_dir": str(out.run_dir), "valid": out.valid,
                               "report": str(out.report) if out.report else None}))
    else:
        click.echo(str(out.report or out.run_dir))
    return exit_code(out.valid)


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
    word = {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")
    c = results.get("counts", {})
    err.print(f"[bold {colour}]{word}[/]  ok {c.get('ok', 0)}  fail {c.get('fail', 0)}  "
              f"info {c.get('info', 0)}")
    for name, r in results.get("checkers", {}).items():
        col = _colour(r.get("valid"))
        extra = f"  {r['error']}" if r.get("error") else ""
        err.print(f"  {name}: [{col}]{r.get('valid')}[/]{extra}")
    for e in results.get("errors", []):
        err.print(f"  [red]error:[/] {e}")


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
    """Check the linearizability of stored runs or outside history files."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise ConfigError(f"no such file or directory: {', '.join(missing)}")
    from checkers.check import check_file

    extra: dict[str, Any] = {}
    if initial is not None:
        try:
            extra["initial"] = json.loads(initial)
        except json.JSONDecodeError:
            raise ConfigError(f"--initial {initial!r} is not JSON; e.g. --initial 0, "
                              "--initial null, --initial '\"\"'") from None
    valids = []
    for p in paths:
        res: Mapping[str, Any]
        try:
            res = check_file(p, model=model, independent=independent, fmt=fmt, timeout=timeout,
                             **extra)
        except ConfigError:
            raise
        except SplitbrainError as e:
            res = {"path": p, "valid": "unknown", "seconds": 0.0, "error": str(e)}
        valids.append(res["valid"])
        if as_json:
            click.echo(json.dumps({k: v for k, v in res.items() if k != "keys"} |
                                  {"keys": _key_summary(res)}, default=repr))
        else:
            colour = _colour(res["valid"])
            line = f"{p}: [{colour}]{res['valid']}[/] ({res.get('seconds', 0):.3f} s)"
            if res.get("error"):
                line += f" {res['error']}"
            Console(highlight=False).print(line)
            for k, kr in (res.get("keys") or {}).items():
                if kr.get("valid") is not True and kr.get("explanation"):
                    Console(highlight=False).print(f"  key {k}: {kr['explanation']}")
    return merge_exit(valids)


def _key_summary(res: Mapping[str, Any]) -> dict[str, Any]:
    keys = res.get("keys") or {}
    return {k: {"valid": v.get("valid"), "explanation": v.get("explanation")}
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

    image = ensure_image(log=lambda m: err.print(m))
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
        t.add_row(*(str(r.get(k, "")) for k in ("cluster", "node", "container", "state", "ip")))
    Console().print(t)


@cli.group()
def image() -> None:
    """The node image (built from Debian packages; no registry needed)."""


@image.command("build")
@click.option("--force", is_flag=True, help="rebuild even if the tag exists")
def image_build(force: bool) -> int:
    import time

    from harness.control.image import ensure_image

    t = time.monotonic()
    tag = ensure_image(force=force, log=lambda m: err.print(m))
    err.print(f"image {tag} ready in {time.monotonic() - t:.1f} s")
    click.echo(tag)
    return 0


@image.command("tag")
def image_tag_cmd() -> int:
    from harness.control.image import image_tag

    click.echo(image_tag())
    return 0


@cli.command("list")
def list_plugins() -> int:
    """Installed dbs (with the modes each declares and what each promises), workloads,
    nemeses and checkers."""
    from harness.registry import describe

    plural = {"db": "dbs", "workload": "workloads", "nemesis": "nemeses", "checker": "checkers"}
    for kind, items in describe().items():
        click.echo(f"{plural.get(kind, kind)}:")
        for name, target in items:
            click.echo(f"  {name:16} {target}")
            if kind == "db":
                _list_modes(name)
    return 0


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

        spec = TestSpec.from_dict(json.loads((rd / "test.json").read_text()))
        analyse(rd, spec=spec)
    click.echo(str(render_report(rd)))
    return 0


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
    err.print(f"serving {Path(store).resolve()} at http://{h}:{p}/ (Ctrl-C stops)")
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
    out = run_campaign(cfg, store, say=lambda m: err.print(f"[dim]splitbrain:[/] {m}"))
    Console(highlight=False).print(terminal_table(out, cfg))
    colour = _colour(out.valid)
    met = {True: "every cell met its expectation", False: "some cells did NOT meet their "
           "expectation", None: "no expectations to meet"}[out.met]
    err.print(f"[bold {colour}]{exit_code(out.valid) and 'NOT ALL VALID' or 'ALL VALID'}[/]"
              f" (valid = {out.valid}); {met}")
    err.print(f"summary: {out.dir / 'campaign.html'}")
    if as_json:
        click.echo(json.dumps({"campaign_dir": str(out.dir), "valid": out.valid,
                               "met": out.met}))
    else:
        click.echo(str(out.dir / "campaign.html"))
    return exit_code(out.valid)


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
        err.print(f"splitbrain: error: {e.format_message()}{hint}")
        sys.exit(EXIT_BAD_ARGS)
    except click.ClickException as e:
        err.print(f"splitbrain: error: {e.format_message()}")
        sys.exit(EXIT_BAD_ARGS)
    except ConfigError as e:
        err.print(f"splitbrain: error: {e}")
        sys.exit(EXIT_BAD_ARGS)
    except SplitbrainError as e:
        err.print(f"splitbrain: error: {e}")
        sys.exit(EXIT_HARNESS)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
