"""report.html: the human view of one run directory.

    render_report("store/latest")  ->  Path("store/latest/report.html")

Reads ``test.json``, ``results.json`` and ``history.jsonl`` (each may be missing or broken:
a crashed run still gets a report that says what it lacks) and writes one self-contained
HTML file: inline CSS, inline SVG, images as data: URIs, no scripts, nothing fetched from the
network, so it opens offline and can be mailed around. A Content-Security-Policy meta tag
forbids scripts outright, as a second line behind the escaping.

The work is split along three seams:

- ``digest``: one pass over history.jsonl -> op spans, counts, clock offsets;
- ``plots``: matplotlib pictures of the whole history (latency, throughput, the
  per-process timeline, clock offsets), each capped for huge histories with a note;
- ``timeline``: small hand-drawn SVG charts with tooltips (fault windows, the ops a
  checker cites for an anomaly), emitted by the template.

Checker results are read as data: ``results.json``'s ``checkers`` by name, flat as the
runtime writes them ({"set-full": ..., "set": ..., "stats": ...}) or nested as older runs
stored them ({"workload": {"checkers": {...}}, "stats": ...}; see ``flat_checkers``); the
ops of an anomaly's minimal witness are the result's ``witness`` field, never words parsed
out of its explanation.

Everything from the run is data, never markup: the template is rendered with jinja2
autoescape on, and this module never builds HTML strings (``Markup`` is not used anywhere).
Every value a template prints passes ``_finalize`` first: bidi controls (U+202E would reverse
the text of the cell and its neighbours) and lone surrogates (valid JSON, unwritable as
UTF-8) become visible escapes, ``\u202e``, in every page of ``ENV`` (report, campaign,
serve's index and listings).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from harness import __version__
from harness.faults import fault_windows, infer_faults
from harness.history import Op
from harness.report.causes import causes_by_f, causes_over_time
from harness.report.digest import Digest, call_window, digest_file, digest_lines, pair_dicts
from harness.report.timeline import (
    Bar,
    Chart,
    calls_chart,
    compact,
    fault_chart,
    fault_colours,
    ops_chart,
    secs,
    targets,
    visible,
)

__all__ = ["Bar", "Chart", "compact", "fault_chart", "flat_checkers", "ops_chart",
           "render_html", "render_report", "secs", "witness_indices"]

MAX_ROWS = 200           # ops per anomaly table / chart
MAX_KEYS_DETAILED = 50   # anomalous keys shown with explanation and ops
MAX_KEY_ROWS = 2000      # rows of a per-key verdict table
MAX_JSON_CHARS = 20_000  # pretty-printed checker output
MAX_FILES = 500          # node log links
MAX_TABLE_COLS = 12      # columns of a table made from a checker's list of records
MAX_HOVER_OPS = 1000     # ops in the hoverable process timeline (an inline SVG)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " \
      "form-action 'none'"

_TEMPLATES = Path(__file__).parent / "templates"


def _finalize(value: Any) -> Any:
    """What ``{{ value }}`` prints, before autoescape: text from the run with its bidi
    controls and lone surrogates made visible (timeline.visible). Our own markup (a macro's
    output) and numbers pass unchanged."""
    if isinstance(value, Markup) or value is None or isinstance(value, (bool, int, float)):
        return value
    return visible(value if isinstance(value, str) else str(value))


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,  # for every template, whatever its extension
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)


# --- formatting ---------------------------------------------------------------------------


def pretty(value: Any, limit: int = MAX_JSON_CHARS) -> str:
    try:
        s = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        s = compact(value, limit)
    if len(s) > limit:
        s = s[:limit] + f"\n… ({len(s) - limit} more characters; see results.json)"
    return s


def verdict_class(v: Any) -> str:
    return "valid" if v is True else "invalid" if v is False else "unknown"


def _ms(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, (int, float)) and x >= 10 else \
        f"{x:.2f}" if isinstance(x, (int, float)) else "—"


ENV.filters.update(compact=compact, secs=secs, verdict=verdict_class, ms=_ms)
ENV.globals.update(csp=CSP)


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _natural(k: Any) -> tuple[int, Any]:
    """Numeric keys in numeric order, then the rest as text."""
    s = str(k)
    return (0, int(s)) if s.lstrip("-").isdigit() and len(s) < 30 else (1, s)


# --- anomalies ------------------------------------------------------------------------------

def witness_indices(result: dict[str, Any], ops: list[dict[str, Any]]) -> set[int]:
    """The invocation indices of the minimal witness of a key's anomaly, read from data:

    - ``witness``: the list of invocation indices the checker gives (every invalid
      linearizability key result carries it);
    - else, a result with ``prefix_ops`` (the linearizability checker's, checkers.explain)
      whose ``ops`` are the minimal witness itself: every invocation among ``ops``;
    - else nothing: the report highlights no op rather than guess from the explanation.
    """
    explicit = result.get("witness")
    if isinstance(explicit, list):
        return {i for i in explicit if isinstance(i, int) and not isinstance(i, bool)}
    if "prefix_ops" in result:
        return {o["index"] for o in ops if o.get("type") == "invoke"
                and isinstance(o.get("index"), int)}
    return set()


def _witness_rows(ops: list[dict[str, Any]], witness: set[int]) -> list[dict[str, Any]]:
    """The witness invocations with their completions (THE pairing), in history order."""
    chosen = {id(o) for inv, done in pair_dicts(ops) if inv.get("index") in witness
              for o in (inv, done) if o is not None}
    return [o for o in ops if id(o) in chosen]


def _op_rows(ops: list[Any]) -> list[dict[str, Any]]:
    return [o.to_dict() if isinstance(o, Op) else _dict(o) for o in ops[:MAX_ROWS]]


def _keyed_view(res: dict[str, Any]) -> dict[str, Any]:
    """Per-key verdicts (Jepsen's independent checker): bad keys first, valid ones folded."""
    rows: list[dict[str, Any]] = []
    for k, r in _dict(res.get("keys")).items():
        r = _dict(r)
        rows.append({"key": k, "valid": r.get("valid"), "op_count": r.get("op_count"),
                     "explanation": r.get("explanation"), "ops": _list(r.get("ops")),
                     "prefix_ops": r.get("prefix_ops"), "result": r})
    rank = {"invalid": 0, "unknown": 1, "valid": 2}
    rows.sort(key=lambda r: (rank[verdict_class(r["valid"])], _natural(r["key"])))
    bad = [r for r in rows if r["valid"] is not True]
    good = [r for r in rows if r["valid"] is True]
    for r in bad[:MAX_KEYS_DETAILED]:
        r["op_rows"] = _op_rows(r["ops"])
        witness = witness_indices(r["result"], r["op_rows"])
        r["witness"] = witness
        r["witness_rows"] = _witness_rows(r["op_rows"], witness)
        r["all_witness"] = len(r["witness_rows"]) == len(r["op_rows"])
        r["chart"] = ops_chart(r["op_rows"], witness, compress=True)
        times = [o["time"] for o in r["op_rows"]
                 if isinstance(o.get("time"), (int, float)) and o["time"] >= 0]
        r["span"] = (min(times), max(times)) if times else None
    return {"bad": bad, "good": good[:MAX_KEY_ROWS], "good_total": len(good),
            "detailed": bad[:MAX_KEYS_DETAILED]}


def _record_tables(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Every list-valued field of a checker result as a table (``lost`` first, titled "Lost
    updates"): records' keys become columns; plain values one column."""
    names = sorted((k for k, v in res.items() if isinstance(v, list) and v
                    and k not in ("warnings",)), key=lambda k: (k != "lost", k))
    out = []
    for name in names:
        items = res[name]
        if all(isinstance(x, dict) for x in items):
            cols = list(dict.fromkeys(c for x in items[:MAX_ROWS] for c in x))[:MAX_TABLE_COLS]
            rows = [[x.get(c) for c in cols] for x in items[:MAX_ROWS]]
        else:
            cols = ["value"]
            rows = [[x] for x in items[:MAX_ROWS]]
        title = "Lost updates: acknowledged, then never seen again" if name == "lost" else name
        out.append({"name": name, "title": title, "cols": [str(c) for c in cols],
                    "rows": rows, "total": len(items)})
    return out


def flat_checkers(checkers: dict[str, Any]) -> dict[str, Any]:
    """Checker results by name, one level: as the runtime writes them, ``{"set-full": ...,
    "set": ..., "stats": ...}``. A run stored before nested a workload's composed checkers,
    ``{"workload": {"valid": false, "checkers": {"set-full": ..., "set": ...}}, "stats":
    ...}``: each nested result is lifted up under its own name (``workload/<name>`` if that
    name is taken), and the composite, whose verdict is theirs merged, is dropped."""
    out: dict[str, Any] = {}
    for name, res in checkers.items():
        nested = res.get("checkers") if isinstance(res, dict) else None
        if isinstance(nested, dict) and nested and "keys" not in res:
            for sub, r in flat_checkers(nested).items():
                out[sub if sub not in checkers and sub not in out else f"{name}/{sub}"] = r
        else:
            out[name] = res
    return out


def _checker_views(checkers: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    for name, res in checkers.items():
        res = _dict(res)
        keyed = isinstance(res.get("keys"), dict)
        tables = _record_tables(res)
        shown = {t["name"] for t in tables} | ({"keys"} if keyed else set())
        rest = {k: v for k, v in res.items() if k not in shown}
        by_f = sorted(_dict(res.get("by_f")).items())
        views.append({"name": name, "valid": res.get("valid"), "error": res.get("error"),
                      "warnings": [str(w) for w in _list(res.get("warnings"))],
                      "keyed": _keyed_view(res) if keyed else None, "tables": tables,
                      "by_f": by_f, "json": pretty(rest)})
    return views


# --- files ----------------------------------------------------------------------------------


def _human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def href(rel: Path) -> str:
    # Every part percent-encoded: a log named "a:b" must stay a relative link, not a scheme.
    return "/".join(quote(part, safe="") for part in rel.parts)


def _files(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
    out = []
    for name in ("history.jsonl", "results.json", "test.json", "harness.log"):
        p = run_dir / name
        out.append({"name": name, "href": href(Path(name)), "exists": p.is_file(),
                    "size": _human_size(p.stat().st_size) if p.is_file() else "",
                    "node": None})
    nodes = run_dir / "nodes"
    found = sorted(p for p in nodes.rglob("*") if p.is_file()) if nodes.is_dir() else []
    for p in found[:MAX_FILES]:
        rel = p.relative_to(run_dir)
        out.append({"name": rel.as_posix(), "href": href(rel), "exists": True,
                    "size": _human_size(p.stat().st_size), "node": rel.parts[1]})
    return out, max(0, len(found) - MAX_FILES)


# --- summary --------------------------------------------------------------------------------


def _spec_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    def show(v: Any) -> str:
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return ", ".join(v) or "—"
        return v if isinstance(v, str) else compact(v, 400)

    order = ("name", "db", "mode", "workload", "nemesis", "nemesis_interval", "nodes",
             "concurrency", "rate", "time_limit", "seed")
    units = {"time_limit": " s", "nemesis_interval": " s", "rate": " ops/s"}
    rows = [(k.replace("_", " "), show(spec[k]) + units.get(k, "")) for k in order if k in spec]
    rows += [(k.replace("_", " "), show(v)) for k, v in spec.items()
             if k not in order and k != "options"]
    return rows


def _derived_faults(ops: list[Op]) -> list[dict[str, Any]]:
    """Fault windows straight from the nemesis ops (start-X paired with stop-X), for runs
    whose results.json never got written."""
    return fault_windows(ops, infer_faults(ops))


def _nemesis_ops(d: Digest) -> list[Op]:
    out = []
    for o in d.nemesis:
        try:
            out.append(Op.from_dict(o))
        except (KeyError, TypeError):
            continue
    return out


def _coverage_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind, c in sorted(_dict(results.get("fault_coverage")).items()):
        if isinstance(c, dict):
            errs = [str(e) for e in _list(c.get("errors")) if e]
            rows.append({"kind": kind, "ok": True, "applied": c.get("applied"),
                         "failed": c.get("failed"), "active": c.get("active_seconds"),
                         "errors": errs[:5], "more_errors": max(0, len(errs) - 5)})
        else:
            rows.append({"kind": kind, "ok": False, "raw": compact(c)})
    return rows


def _plots(d: Digest | None, faults: list[dict[str, Any]], duration_s: float,
           focus_ns: int | None, notes: list[str]) -> dict[str, Any]:
    if d is None or not d.calls:
        return {}
    try:
        from harness.report import plots
    except ImportError as e:  # matplotlib missing: the report still renders, without pictures
        notes.append(f"plots left out: {e}")
        return {}
    out: dict[str, Any] = {}
    for name, fn in (("latency", plots.latency_plot), ("throughput", plots.throughput_plot),
                     ("clock", plots.clock_plot)):
        out[name] = fn(d, faults, duration_s)
    out["processes"] = plots.process_plot(d, faults, duration_s, focus_ns)
    return out


def _hover_timeline(d: Digest | None, duration_ns: float, focus_ns: int | None
                    ) -> tuple[Chart | None, str]:
    """The process timeline as an inline SVG whose every op has a hover text (Jepsen's
    timeline.html): all the ops when they fit in MAX_HOVER_OPS, else a window of them
    around the first anomaly (or from the start)."""
    if d is None or not d.calls:
        return None, ""
    calls, note = call_window(d.calls, MAX_HOVER_OPS, focus_ns)
    t0, t1 = 0.0, float(max(duration_ns, max(c.end or c.start for c in calls)))
    if note:
        t0 = float(min(c.start for c in calls))
        t1 = float(max(c.end if c.end is not None else c.start for c in calls))
    return calls_chart(calls, t0, t1), note


def render_html(spec: dict[str, Any], results: dict[str, Any], ops: list[Op], run_dir: Path,
                *, problems: Iterable[str] = (), digest: Digest | None = None,
                no_results: str = "results.json is missing") -> str:
    """The report as a string. ``spec``/``results`` are the parsed test.json/results.json
    ({} when missing); ``ops`` the history as Ops (may be []), or ``digest`` the history
    already digested (see harness.report.digest); ``problems`` say what could not be read;
    ``no_results`` why there are no results, when ``results`` is empty ("results.json is
    not a JSON object")."""
    spec, results, run_dir = _dict(spec), _dict(results), Path(run_dir)
    notes = list(problems)
    if digest is None and ops:
        digest = digest_lines(o.to_dict() for o in ops)
    nem_ops = _nemesis_ops(digest) if digest is not None else []
    counts, counts_from = results.get("counts"), "results.json"
    if not isinstance(counts, dict):
        counts, counts_from = ((dict(digest.counts), "history.jsonl") if digest is not None
                               and digest.counts else (None, ""))
    if isinstance(counts, dict):
        counts = {t: counts.get(t, 0) for t in ("invoke", "ok", "fail", "info")} | counts
    faults, faults_from = results.get("faults"), "results.json"
    if not isinstance(faults, list):
        faults, faults_from = _derived_faults(nem_ops), "history.jsonl"
    faults = [_dict(w) for w in faults]
    # The timeline spans the whole test: its time limit, or longer if ops or faults ran on.
    time_limit = spec.get("time_limit")
    ends = [time_limit * 1e9 if isinstance(time_limit, (int, float)) else 0]
    ends += [digest.end_ns] if digest is not None else []
    ends += [w["end_ns"] for w in faults if isinstance(w.get("end_ns"), (int, float))]
    duration = max(ends)
    checkers = flat_checkers(_dict(results.get("checkers")))
    views = _checker_views(checkers)
    focus = next((r["span"][0] for v in views if v["keyed"] for r in v["keyed"]["detailed"]
                  if r.get("span")), None)
    stats = _dict(checkers.get("stats"))
    by_f = sorted(_dict(stats.get("by_f")).items())
    if not by_f and digest is not None:
        acc: dict[str, dict[str, int]] = {}
        for c in digest.calls:
            if c.type in ("ok", "fail", "info"):
                acc.setdefault(c.f, {"ok": 0, "fail": 0, "info": 0})[c.type] += 1
        by_f = sorted(acc.items())
    options = spec.get("options")
    run = _dict(results.get("run"))
    hover, hover_note = _hover_timeline(digest, duration, focus)
    files, more_files = _files(run_dir)
    return ENV.get_template("report.html").render(
        name=str(spec.get("name") or run_dir.name), run_dir=str(run_dir),
        has_results=bool(results), no_results=no_results,
        history_span=(digest.end_ns - digest.start_ns) / 1e9
        if digest is not None and digest.lines > digest.bad_lines else None,
        valid=results.get("valid", "unknown"),
        interrupted=results.get("interrupted") is True, notes=notes,
        run=run, spec_rows=_spec_rows(spec), seed=spec.get("seed"),
        options=sorted(_dict(options).items()) if isinstance(options, dict) else [],
        options_raw=None if isinstance(options, dict) or options is None else compact(options),
        counts=counts, counts_from=counts_from, by_f=by_f, duration_s=duration / 1e9,
        faults=faults, faults_from=faults_from, fault_chart=fault_chart(faults, duration),
        fault_targets=[targets(w.get("value")) for w in faults],
        coverage=_coverage_rows(results),
        fault_colours=fault_colours([str(w.get("f")) for w in faults]
                                    + list(_dict(results.get("fault_coverage")))),
        quantiles=digest.latency_quantiles() if digest is not None else [],
        plots=_plots(digest, faults, duration / 1e9, focus, notes),
        hover=hover, hover_note=hover_note,
        causes=causes_by_f(digest.calls) if digest is not None else [],
        causes_time=causes_over_time(digest.calls, faults, duration)
        if digest is not None else None,
        history_ops=digest.counts.get("invoke", 0) if digest is not None else 0,
        checkers=views, has_checkers="checkers" in results,
        errors=[str(e) for e in _list(results.get("errors"))],
        files=files, more_files=more_files,
        node_logs=[f for f in files if f["node"]],
        max_rows=MAX_ROWS, max_keys=MAX_KEYS_DETAILED, version=__version__,
    )


# --- entry point ----------------------------------------------------------------------------


def _load_json(path: Path, problems: list[str], missing_means: str
               ) -> tuple[dict[str, Any], str]:
    """The JSON object in ``path``, or {} and why not (also added to ``problems``)."""
    if not path.is_file():
        problems.append(f"{path.name} is missing: {missing_means}")
        return {}, f"{path.name} is missing"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path.name} could not be read: {e}")
        return {}, f"{path.name} could not be read"
    if not isinstance(d, dict):
        problems.append(f"{path.name} is not a JSON object (it holds a "
                        f"{type(d).__name__})")
        return {}, f"{path.name} is not a JSON object"
    return d, ""


def render_report(run_dir: Path | str) -> Path:
    """Write ``<run_dir>/report.html`` from whatever the run left behind; return its path."""
    run_dir = Path(run_dir)
    problems: list[str] = []
    spec, _ = _load_json(run_dir / "test.json", problems, "the test spec was never saved")
    results, why = _load_json(run_dir / "results.json", problems,
                         "the run never reached analysis, so there is no verdict "
                         "(try `splitbrain report --recheck`)")
    digest: Digest | None = None
    hist = run_dir / "history.jsonl"
    if not hist.is_file():
        problems.append("history.jsonl is missing")
    else:
        try:
            digest = digest_file(hist)
        except OSError as e:
            problems.append(f"history.jsonl could not be read: {e}")
        else:
            if digest.bad_lines:
                problems.append(f"history.jsonl could not be read in full: {digest.bad_lines} "
                                f"of {digest.lines} lines are not ops and were skipped")
    html = render_html(spec, results, [], run_dir, problems=problems, digest=digest,
                       no_results=why or "results.json holds no results")
    out = run_dir / "report.html"
    # Atomic: a browser reloading the report never sees half of it.
    tmp = out.with_name(f".report.html.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, out)
    return out
