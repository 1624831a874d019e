"""Campaigns: db modes x workloads x nemeses x seeds, each a full run, resumable.

    cfg = load_config("chapter.toml", {"seeds": [1, 2]})     # a TOML file and/or overrides
    result = run_campaign(cfg, store="store")                 # runs what is not done yet
    result.valid, result.met                                  # worst verdict; expectations

A campaign lives in ``<store>/campaigns/<name>/``:

    campaign.json   the config and every cell: {"id": "weak/register/partition/2",
                    "mode": "weak", "workload": "register", "nemesis": "partition",
                    "seed": 2, "expect": "invalid", "status": "done", "valid": false,
                    "met": true, "run_dir": "chapter-weak-register-partition/2026...",
                    "seconds": 31.2, "error": null}
                    (run_dir is relative to the store), rewritten atomically after each
                    step, so an interrupted campaign leaves an exact record;
    campaign.html   the summary page, rewritten with it (watch it fill in with
                    ``splitbrain serve``).

Cells run in sequence through ``harness.runtime.run.run_test`` (each its own cluster up/down, as
``splitbrain run`` does). Status: pending -> running -> done | error | interrupted. Running
the same campaign again skips ``done`` cells (whose run directory still has results.json)
and runs the rest, so Ctrl-C then the same command picks up where it stopped. A campaign
name whose directory holds a different config is refused rather than mixed.

A nemesis axis entry may combine packages with ``+``: ``partition+clock``. The modes axis
names modes the db declares (``db.modes``, harness.api.Mode); left out, it is the db's
default mode (its first), and ``all`` is every mode it declares. Expectations come from the
db too: ``mode.expected(nemesis)`` is the verdict a run of that mode should reach under that
fault (a combination ``a+b`` the mode does not list expects the worst of its parts), shown
as ``valid`` (a correct design) or ``invalid`` (broken on purpose); the config's ``[expect]``
table overrides a mode's (``weak = "invalid"``). A cell (mode x workload x nemesis) meets
its expectation when every run passed (valid), or when at least one run was caught
(invalid: the harness found the bug under that fault). The overall verdict is the worst:
false > unknown > true.
"""
from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import hashlib
import json
import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import registry
from harness.api import HasModes, Mode
from harness.errors import ConfigError, SplitbrainError
from harness.spec import TestSpec, node_names
from harness.store import write_json
from harness.verdicts import merge_valid

EXPECTS = ("valid", "invalid")
ALL_MODES = "all"
_LIST_KEYS = ("modes", "workloads", "nemeses", "seeds")
_KNOWN = {"name", "db", "modes", "workloads", "nemeses", "seeds", "test_count", "time_limit",
          "nodes", "concurrency", "rate", "nemesis_interval", "options", "expect", "cluster"}


def _word(verdict: bool | str) -> str | None:
    """A verdict a mode expects, as a campaign says it: "valid", "invalid" or None."""
    return "valid" if verdict is True else "invalid" if verdict is False else None


def db_modes(db: str) -> list[Mode]:
    """The modes the db plugin ``db`` declares, its default first ([] if it has none). A
    mode given as a bare name is a mode that promises nothing and expects nothing."""
    plugin = registry.load("db", db)()
    if not isinstance(plugin, HasModes):
        return []
    return [m if isinstance(m, Mode) else Mode(str(m), "") for m in plugin.modes]


@dataclass
class CampaignConfig:
    name: str = ""
    db: str = "kvstore"  # the CLI's default db
    modes: list[str] = field(default_factory=list)  # load_config: [] -> the db's default
    workloads: list[str] = field(default_factory=lambda: ["register"])
    nemeses: list[str] = field(default_factory=lambda: ["partition"])
    seeds: list[int] = field(default_factory=lambda: [1])
    time_limit: float = 30.0
    nodes: int = 5
    concurrency: int = 10
    rate: float = 100.0
    nemesis_interval: float = 5.0
    options: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, str] = field(default_factory=dict)
    cluster: str = "campaign"
    declared: list[Mode] = field(default_factory=list, repr=False)  # the db's, by load_config

    def expectation(self, mode: str, nemesis: str) -> str | None:
        """"valid", "invalid", or None (nothing expected) for a run of ``mode`` under
        ``nemesis``: the config's [expect] for the mode, else what the db's mode declares."""
        if mode in self.expect:
            return self.expect[mode]
        m = next((d for d in self.declared if d.name == mode), None)
        if m is None:
            return None
        if nemesis in m.expect or "+" not in nemesis:
            return _word(m.expected(nemesis))
        return _word(merge_valid([m.expected(n) for n in nemesis.split("+")]))

    def mode_expectation(self, mode: str) -> str | dict[str, str | None] | None:
        """The mode's expectation: one word when it is the same under every nemesis of the
        campaign, else nemesis -> word."""
        by = {n: self.expectation(mode, n) for n in self.nemeses}
        words = set(by.values())
        return words.pop() if len(words) == 1 else by

    def identity(self) -> dict[str, Any]:
        """What makes two campaigns the same (the name and cluster do not)."""
        d = asdict(self)
        for k in ("name", "cluster", "declared"):
            d.pop(k)
        d["expect"] = {m: self.mode_expectation(m) for m in self.modes}
        return d

    def cells(self) -> list[Cell]:
        return [Cell(mode=m, workload=w, nemesis=n, seed=s, expect=self.expectation(m, n))
                for m in self.modes for w in self.workloads for n in self.nemeses
                for s in self.seeds]

    def spec(self, cell: Cell) -> TestSpec:
        tag = cell.nemesis.replace("+", "_")
        return TestSpec(name=f"{self.name}-{cell.mode or '-'}-{cell.workload}-{tag}",
                        nodes=node_names(self.nodes), concurrency=self.concurrency,
                        time_limit=self.time_limit, rate=self.rate, seed=cell.seed,
                        db=self.db, mode=cell.mode, workload=cell.workload,
                        nemesis=tuple(cell.nemesis.split("+")),
                        nemesis_interval=self.nemesis_interval, options=dict(self.options))


@dataclass
class Cell:
    mode: str
    workload: str
    nemesis: str
    seed: int
    expect: str | None = None
    status: str = "pending"          # pending | running | done | error | interrupted
    valid: Any = None                # true | false | "unknown" once done
    met: bool | None = None          # this run met its mode's expectation
    run_dir: str | None = None       # relative to the store
    seconds: float | None = None
    error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.mode or '-'}/{self.workload}/{self.nemesis}/{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}


# --- configuration --------------------------------------------------------------------------


def _names(v: Any, what: str) -> list[str]:
    if isinstance(v, str):
        v = [p for p in (x.strip() for x in v.split(",")) if p]
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"campaign {what} must be a non-empty list of names, e.g. "
                          f"{what} = [\"a\", \"b\"]; got {v!r}")
    if len(set(v)) != len(v):
        raise ConfigError(f"campaign {what} lists a name twice: {v}")
    for x in v:
        if any(c in x for c in "/\\\0 ") or x.startswith("."):
            raise ConfigError(f"campaign {what}: {x!r} is not a usable name")
    return list(v)


NO_FAULTS = "none"


def _nemesis_combos(names: list[str]) -> list[str]:
    """The nemesis axis: each entry a package or packages joined with ``+``; a package named
    twice in one entry (``partition+partition``) or ``none`` combined with anything
    (``none+partition``) is a ConfigError."""
    for entry in names:
        parts = entry.split("+")
        if any(not p for p in parts):
            raise ConfigError(f"campaign nemeses: {entry!r} has an empty package name; join "
                              "packages with one +, e.g. partition+clock")
        twice = sorted({p for p in parts if parts.count(p) > 1})
        if twice:
            raise ConfigError(f"campaign nemeses: {entry!r} names {', '.join(twice)} twice; "
                              "give each package once, e.g. partition+clock")
        if NO_FAULTS in parts and len(parts) > 1:
            raise ConfigError(f"campaign nemeses: {entry!r} combines {NO_FAULTS} (no faults) "
                              f"with other packages; give {NO_FAULTS} alone, or leave it out")
    return names


def _cluster_name(v: Any) -> str:
    from harness.control.cluster import check_name  # the rule Cluster itself enforces

    return check_name(v)


def _check_expect(expect: dict[str, str], declared: list[Mode], db: str) -> None:
    """Every ``[expect]`` key is a mode the db declares (a typo, ``raftt``, would otherwise
    expect nothing of nobody and silently never be checked)."""
    names = [m.name for m in declared]
    for key in expect:
        if key in names:
            continue
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"[expect] {key!r} is not a mode of db {db!r}; {hint}its modes: "
                          f"{', '.join(names) or '(none)'}")


def _seeds(v: Any) -> list[int]:
    if isinstance(v, str):
        try:
            v = [int(x) for x in v.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"seeds must be integers, e.g. 1,2,3; got {v!r}") from None
    if not isinstance(v, list) or not v or not all(isinstance(x, int)
                                                   and not isinstance(x, bool) for x in v):
        raise ConfigError(f"seeds must be a non-empty list of integers; got {v!r}")
    if len(set(v)) != len(v):
        raise ConfigError(f"seeds lists a seed twice: {v}")
    return list(v)


def _resolve_modes(cfg: CampaignConfig, given: list[str] | None) -> list[str]:
    """The modes axis as names the db declares: none given is the db's default mode,
    ``all`` every mode it declares; a name it does not declare is a ConfigError."""
    names = [m.name for m in cfg.declared]
    if given is None:
        return names[:1] or [""]
    if given == [ALL_MODES]:
        if not names:
            raise ConfigError(f"db {cfg.db!r} declares no modes, so modes = all means nothing")
        return names
    unknown = [m for m in given if m not in names]
    if unknown and names:
        raise ConfigError(f"db {cfg.db!r} has no mode {', '.join(map(repr, unknown))}; its "
                          f"modes: {', '.join(names)} (or all)")
    if unknown:
        raise ConfigError(f"db {cfg.db!r} declares no modes; leave modes out")
    return given


def load_config(path: Path | str | None = None, overrides: dict[str, Any] | None = None
                ) -> CampaignConfig:
    """A campaign from a TOML file (optional) with ``overrides`` (CLI flags; None values
    ignored) on top; its modes and expectations from the db plugin it names (db_modes).
    Raises ConfigError, one line, for anything wrong."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no campaign file {path}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read campaign file {path}: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"campaign file {path} is not valid TOML: {e}") from None
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ConfigError(f"unknown campaign setting(s) {unknown}; known: {sorted(_KNOWN)}")
    if "seeds" in raw and "test_count" in raw:
        raise ConfigError("give seeds or test_count (seeds 1..N), not both")
    cfg = CampaignConfig()
    for key in ("workloads", "nemeses"):
        if key in raw:
            setattr(cfg, key, _names(raw[key], key))
    cfg.nemeses = _nemesis_combos(cfg.nemeses)
    modes = _names(raw["modes"], "modes") if "modes" in raw else None
    if "seeds" in raw:
        cfg.seeds = _seeds(raw["seeds"])
    if "test_count" in raw:
        n = raw["test_count"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"test_count must be an integer >= 1; got {n!r}")
        cfg.seeds = list(range(1, n + 1))
    for key, typ in (("time_limit", float), ("rate", float), ("nemesis_interval", float),
                     ("nodes", int), ("concurrency", int)):
        if key in raw:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 \
                    or (typ is int and not isinstance(v, int)):
                raise ConfigError(f"{key} must be a positive {typ.__name__}; got {v!r}")
            setattr(cfg, key, typ(v))
    for key in ("db", "cluster", "name"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key]:
                raise ConfigError(f"{key} must be a non-empty string; got {raw[key]!r}")
            setattr(cfg, key, raw[key])
    cfg.cluster = _cluster_name(cfg.cluster)
    if "options" in raw:
        if not isinstance(raw["options"], dict):
            raise ConfigError("options must be a table: [options] keys = 5")
        cfg.options = dict(raw["options"])
    if "expect" in raw:
        exp = raw["expect"]
        if not isinstance(exp, dict) or not all(v in EXPECTS for v in exp.values()):
            raise ConfigError("expect must map modes to \"valid\" or \"invalid\": "
                              "[expect] weak = \"invalid\"")
        cfg.expect = dict(exp)
    cfg.declared = db_modes(cfg.db)
    _check_expect(cfg.expect, cfg.declared, cfg.db)
    cfg.modes = _resolve_modes(cfg, modes)
    if not cfg.name:
        blob = json.dumps(cfg.identity(), sort_keys=True, default=str).encode()
        cfg.name = "campaign-" + hashlib.sha1(blob).hexdigest()[:8]
    if any(c in cfg.name for c in "/\\\0") or cfg.name.startswith("."):
        raise ConfigError(f"campaign name {cfg.name!r} is not usable as a directory name")
    cfg.spec(cfg.cells()[0])  # TestSpec validates the shared settings once, up front
    return cfg


# --- state ----------------------------------------------------------------------------------


@dataclass
class CampaignResult:
    dir: Path
    cells: list[Cell]
    valid: Any
    met: bool | None
    summary: list[dict[str, Any]]
    interrupted: bool = False


def campaign_dir(store: Path | str, name: str) -> Path:
    return Path(store) / "campaigns" / name


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _load_state(cdir: Path, cfg: CampaignConfig) -> tuple[list[Cell], str]:
    """The cells of ``cfg``, with the status of any recorded in campaign.json."""
    cells = cfg.cells()
    path = cdir / "campaign.json"
    if not path.is_file():
        return cells, _now()
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path} is unreadable ({e}); remove it to start over") from None
    if old.get("config") != json.loads(json.dumps(cfg.identity(), default=str)):
        raise ConfigError(f"campaign {cfg.name!r} already exists in {cdir} with other "
                          "settings; give another --name, or remove that directory")
    known = {c.get("id"): c for c in old.get("cells", []) if isinstance(c, dict)}
    for c in cells:
        rec = known.get(c.id)
        if rec:
            for k in ("status", "valid", "met", "run_dir", "seconds", "error"):
                setattr(c, k, rec.get(k))
    return cells, str(old.get("created") or _now())


@contextmanager
def _locked(cdir: Path) -> Iterator[None]:
    """One process per campaign at a time."""
    cdir.mkdir(parents=True, exist_ok=True)
    with open(cdir / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"campaign in {cdir} is already running in another "
                              "process") from None
        yield


def _met(expect: str | None, valid: Any) -> bool | None:
    if expect is None or valid is None:
        return None
    return valid is True if expect == "valid" else valid is False


def summarise(cfg: CampaignConfig, cells: list[Cell]) -> list[dict[str, Any]]:
    """One row per mode x workload x nemesis: runs done, how many passed or were caught,
    and whether the cell met its mode's expectation (None while nothing is done)."""
    out = []
    for m in cfg.modes:
        for w in cfg.workloads:
            for n in cfg.nemeses:
                group = [c for c in cells if (c.mode, c.workload, c.nemesis) == (m, w, n)]
                done = [c for c in group if c.status == "done"]
                vs = [c.valid for c in done]
                valid, invalid = vs.count(True), sum(1 for v in vs if v is False)
                unknown = len(vs) - valid - invalid
                errors = sum(1 for c in group if c.status == "error")
                expect = cfg.expectation(m, n)
                if expect == "invalid":
                    k, word = invalid, "caught"
                    met = (invalid >= 1) if done else None
                elif expect == "valid":
                    k, word = valid, "passed"
                    met = (valid == len(done) and not errors) if done else None
                else:
                    k, word, met = invalid, "invalid", None
                out.append({"mode": m, "workload": w, "nemesis": n, "expect": expect,
                            "runs": len(group), "done": len(done), "valid": valid,
                            "invalid": invalid, "unknown": unknown, "errors": errors,
                            "pending": len(group) - len(done) - errors,
                            "word": word, "k": k, "text": f"{word} {k}/{len(done)}",
                            "met": met, "verdict": merge_valid(vs) if vs else None})
    return out


def _overall(cells: list[Cell], summary: list[dict[str, Any]]) -> tuple[Any, bool | None]:
    vs = [c.valid for c in cells if c.status == "done"]
    vs += ["unknown" for c in cells if c.status == "error"]
    mets = [s["met"] for s in summary if s["met"] is not None]
    met = None if not mets else all(mets)
    return merge_valid(vs), met


def save(cdir: Path, cfg: CampaignConfig, cells: list[Cell], created: str,
         status: str, store: Path) -> CampaignResult:
    """campaign.json (atomically) and campaign.html, from the cells as they are now."""
    summary = summarise(cfg, cells)
    valid, met = _overall(cells, summary)
    doc = {"name": cfg.name, "status": status, "created": created, "updated": _now(),
           "valid": valid, "met": met, "store": str(store), "config": json.loads(
               json.dumps(cfg.identity(), default=str)),
           "cells": [c.to_dict() for c in cells], "summary": summary}
    write_json(cdir / "campaign.json", doc)
    render_page(cdir, doc, store)
    return CampaignResult(dir=cdir, cells=cells, valid=valid, met=met, summary=summary,
                          interrupted=status == "interrupted")


# --- running --------------------------------------------------------------------------------


Runner = Callable[..., Any]


def _default_runner(spec: TestSpec, **kw: Any) -> Any:
    from harness.runtime.run import run_test

    # The campaign's [options] are for every cell; each was checked against the cells that
    # read it (check_plugins), so a cell lets through the keys meant for the others.
    return run_test(spec, also_known=set(spec.options), **kw)


def _default_validate(spec: TestSpec) -> set[str] | None:
    """Load the cell's plugins, check its options' values (keys meant for other cells let
    through), and return the option names its plugins declare (None: some plugin declares
    nothing, so any key may be meant for it)."""
    from harness.runtime.run import declared_options, load_plugins

    plugins = load_plugins(spec, also_known=set(spec.options))
    declared, complete = declared_options(plugins)
    return {n for o in declared for n in o.names()} if complete else None


def check_plugins(cfg: CampaignConfig,
                  validate: Callable[[TestSpec], set[str] | None] | None = None) -> None:
    """Every db mode, workload and nemesis the campaign names exists, every option value is
    one its cells accept, and every option key is read by at least one cell (ConfigError,
    one line, with a did-you-mean), checked before the first cluster starts."""
    validate = validate or _default_validate
    seen: set[tuple[str, str, str]] = set()
    known: set[str] | None = set()
    for c in cfg.cells():
        if (c.mode, c.workload, c.nemesis) not in seen:
            seen.add((c.mode, c.workload, c.nemesis))
            names = validate(cfg.spec(c))
            known = None if known is None or names is None else known | names
    if known is None:
        return
    for key in sorted(cfg.options):
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1)
            raise ConfigError(f"campaign option {key!r} is read by none of its runs"
                              + (f"; did you mean {near[0]!r}?" if near else "")
                              + f" (known: {', '.join(sorted(known))})")


def run_campaign(cfg: CampaignConfig, store: Path | str = "store", *,
                 runner: Runner | None = None,
                 validate: Callable[[TestSpec], set[str] | None] | None = None,
                 say: Callable[[str], None] = print) -> CampaignResult:
    """Run every cell not yet done, in order; see the module docstring. ``runner`` is
    ``harness.runtime.run.run_test`` (tests pass a fake with the same signature and result).
    Ctrl-C (or a run that reports itself interrupted) records the cell as interrupted and
    re-raises KeyboardInterrupt after saving."""
    store = Path(store)
    runner = runner or _default_runner
    cdir = campaign_dir(store, cfg.name)
    check_plugins(cfg, validate)
    with _locked(cdir):
        cells, created = _load_state(cdir, cfg)
        for c in cells:
            if c.status == "done" and not (c.run_dir and (store / c.run_dir /
                                                          "results.json").is_file()):
                c.status = "pending"  # its run directory is gone: run it again
        todo = [c for c in cells if c.status != "done"]
        say(f"campaign {cfg.name}: {len(cells)} runs, {len(cells) - len(todo)} already done, "
            f"{len(todo)} to run; {cdir / 'campaign.html'}")
        save(cdir, cfg, cells, created, "running", store)
        for i, c in enumerate(todo, 1):
            say(f"[{i}/{len(todo)}] {c.id} (expect {c.expect or 'nothing'})")
            c.status, c.error, c.valid, c.met = "running", None, None, None
            save(cdir, cfg, cells, created, "running", store)
            t = dt.datetime.now(dt.UTC)
            try:
                out = runner(cfg.spec(c), store=store, cluster_name=cfg.cluster, say=say)
            except KeyboardInterrupt:
                c.status = "interrupted"
                save(cdir, cfg, cells, created, "interrupted", store)
                raise
            except ConfigError:
                c.status = "pending"
                save(cdir, cfg, cells, created, "stopped", store)
                raise
            except SplitbrainError as e:
                c.status, c.error = "error", str(e)
                c.seconds = (dt.datetime.now(dt.UTC) - t).total_seconds()
                say(f"  error: {e}")
                save(cdir, cfg, cells, created, "running", store)
                continue
            c.seconds = round((dt.datetime.now(dt.UTC) - t).total_seconds(), 1)
            c.run_dir = _rel(Path(out.run_dir), store)
            if out.results.get("interrupted") is True:
                c.status = "interrupted"
                save(cdir, cfg, cells, created, "interrupted", store)
                raise KeyboardInterrupt
            c.status, c.valid = "done", out.valid
            c.met = _met(c.expect, c.valid)
            say(f"  {c.id}: valid={c.valid}"
                + ("" if c.met is None else f" ({'as expected' if c.met else 'NOT as expected'})"))
            save(cdir, cfg, cells, created, "running", store)
        return save(cdir, cfg, cells, created, "done", store)


def _rel(run_dir: Path, store: Path) -> str:
    try:
        return str(Path(os.path.realpath(run_dir)).relative_to(os.path.realpath(store)))
    except ValueError:
        return str(run_dir)


def plan(cfg: CampaignConfig) -> list[str]:
    """The runs a campaign would make, one line each (``--dry-run``)."""
    return [f"{c.id}  ->  test {cfg.spec(c).name}, expect {c.expect or '-'}"
            for c in cfg.cells()]


# --- the summary, as a page and as a terminal table -----------------------------------------


def _matrix(doc: dict[str, Any]) -> dict[str, Any]:
    cfg = doc["config"]
    by = {(s["mode"], s["workload"], s["nemesis"]): s for s in doc["summary"]}
    many_w = len(cfg["workloads"]) > 1
    rows = []
    for m in cfg["modes"]:
        expect = cfg["expect"].get(m)
        for w in cfg["workloads"]:
            rows.append({"mode": m, "workload": w if many_w else None,
                         "expect": "by fault" if isinstance(expect, dict) else expect,
                         "cells": [by.get((m, w, n)) for n in cfg["nemeses"]]})
    return {"nemeses": cfg["nemeses"], "rows": rows}


def render_page(cdir: Path, doc: dict[str, Any], store: Path) -> Path:
    """campaign.html beside campaign.json: the mode x nemesis matrix and every run, with
    relative links to the runs' reports (so it works from disk and under serve)."""
    from harness.report.render import ENV

    runs = []
    for c in doc["cells"]:
        rd = c.get("run_dir")
        report = store / rd / "report.html" if rd else None
        runs.append({**c, "report": os.path.relpath(report, cdir).replace(os.sep, "/")
                     if report is not None and report.is_file() else None,
                     "files": os.path.relpath(store / rd, cdir).replace(os.sep, "/") + "/"
                     if rd else None})
    html = ENV.get_template("campaign.html").render(
        c=doc, matrix=_matrix(doc), runs=runs,
        counts={s: sum(1 for c in doc["cells"] if c["status"] == s)
                for s in ("done", "running", "pending", "error", "interrupted")})
    out = cdir / "campaign.html"
    tmp = out.with_name(f".campaign.html.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, out)
    return out


def terminal_table(result: CampaignResult, cfg: CampaignConfig) -> Any:
    """The summary as a rich Table: one row per mode (and workload), one column per
    nemesis, each cell "caught k/n" or "passed k/n", green when it met expectations."""
    from rich.table import Table

    from harness.runtime.live import plain

    t = Table(title=f"campaign {plain(cfg.name)}", title_justify="left")
    t.add_column("mode")
    t.add_column("expect")
    for n in cfg.nemeses:
        t.add_column(plain(n), justify="center")
    by = {(s["mode"], s["workload"], s["nemesis"]): s for s in result.summary}
    for m in cfg.modes:
        for w in cfg.workloads:
            label = m if len(cfg.workloads) == 1 else f"{m} / {w}"
            cells = []
            for n in cfg.nemeses:
                s = by[(m, w, n)]
                colour = {True: "green", False: "red"}.get(s["met"], "yellow")
                extra = "".join(f" +{s[k]} {k}" for k in ("pending", "errors") if s[k])
                mark = {True: " ✓", False: " ✗"}.get(s["met"], "")
                cells.append(f"[{colour}]{s['text']}{mark}[/]{extra}")
            expect = cfg.mode_expectation(m)
            t.add_row(plain(label), "by fault" if isinstance(expect, dict) else expect or "-",
                      *cells)
    return t
