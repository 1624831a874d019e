"""report.html: the human view of one run directory.

    render_report("store/latest")  ->  Path("store/latest/report.html")

Reads ``test.json``, ``results.json`` and ``history.jsonl`` (each may be missing or broken:
a crashed run still gets a report that says what it lacks) and writes one self-contained
HTML file: inline CSS, inline SVG, no scripts, nothing fetched from the network, so it opens
offline and can be mailed around.

Two rules keep it safe and fast:

- Everything from the run is data, never markup. The template is rendered with jinja2
  autoescape on and this module never builds HTML or SVG strings: it computes numbers and
  plain text, and the template emits every element (``Markup`` is not used anywhere).
- The report never embeds the history. It shows counts, fault windows and the ops the
  checkers cite for anomalies, each list capped (``MAX_ROWS``), so a 100k-op run renders in
  about the time it takes to read the file.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from harness import __version__
from harness.analysis import counts as count_ops
from harness.analysis import fault_windows
from harness.errors import HistoryFormatError
from harness.history import INVOKE, NEMESIS, Op, read_jsonl

MAX_ROWS = 200           # ops per anomaly table / chart
MAX_KEYS_DETAILED = 50   # anomalous keys shown with explanation and ops
MAX_KEY_ROWS = 2000      # rows of a per-key verdict table
MAX_JSON_CHARS = 20_000  # pretty-printed checker output
MAX_FILES = 500          # node log links
VALUE_CHARS = 80

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,  # for every template, whatever its extension
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- formatting ---------------------------------------------------------------------------


def compact(value: Any, limit: int = VALUE_CHARS) -> str:
    """A one-line JSON rendering of any value, cut to ``limit`` chars with an ellipsis."""
    try:
        s = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        # Ints past Python's 4300-digit str limit make both json and repr raise.
        s = f"<unprintable {type(value).__name__}>"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def pretty(value: Any, limit: int = MAX_JSON_CHARS) -> str:
    try:
        s = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        s = compact(value, limit)
    if len(s) > limit:
        s = s[:limit] + f"\n… ({len(s) - limit} more characters; see results.json)"
    return s


def secs(ns: Any, digits: int = 3) -> str:
    """Nanoseconds since test start as seconds; unknown times as a dash."""
    if isinstance(ns, (int, float)) and not isinstance(ns, bool) and ns >= 0:
        return f"{ns / 1e9:.{digits}f}"
    return "—"


def verdict_class(v: Any) -> str:
    return "valid" if v is True else "invalid" if v is False else "unknown"


_ENV.filters.update(compact=compact, secs=secs, verdict=verdict_class)


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _natural(k: Any) -> tuple[int, Any]:
    """Numeric keys in numeric order, then the rest as text."""
    s = str(k)
    return (0, int(s)) if s.lstrip("-").isdigit() and len(s) < 30 else (1, s)


# --- timelines (geometry only; the template draws) ------------------------------------------

LABEL_W, PLOT_W, ROW_H, AXIS_H = 70, 860, 16, 18


@dataclass
class Bar:
    x: float
    y: float
    w: float
    cls: str
    title: str
    label: str = ""
    open: bool = False  # an info / unfinished op: may act at any later time


@dataclass
class Chart:
    width: int
    height: int
    rows: list[tuple[float, str]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)


class _Scale:
    """Maps [t0, t1] ns onto the plot's pixels."""

    def __init__(self, t0: float, t1: float):
        self.t0, self.span = t0, max(t1 - t0, 1e6)

    def x(self, t: float) -> float:
        return round(LABEL_W + (t - self.t0) / self.span * PLOT_W, 1)

    def ticks(self) -> list[tuple[float, str]]:
        span_s = self.span / 1e9
        step = next((m * 10**e for e in range(-3, 7) for m in (1, 2, 5)
                     if span_s / (m * 10**e) <= 10), 1e7)
        first = -(-self.t0 // (step * 1e9)) * step
        digits = max(0, -int(f"{step:e}".split("e")[1]))
        out, i = [], 0
        while (t := first + i * step) * 1e9 <= self.t0 + self.span + 1:
            out.append((self.x(t * 1e9), f"{t + 0.0:.{digits}f}s"))  # + 0.0: no "-0s"
            i += 1
        return out


def _chart(rows: list[str], scale: _Scale) -> Chart:
    c = Chart(width=LABEL_W + PLOT_W + 10, height=len(rows) * ROW_H + AXIS_H)
    c.rows = [(i * ROW_H, r) for i, r in enumerate(rows)]
    c.ticks = scale.ticks()
    return c


def fault_chart(windows: list[dict[str, Any]], duration_ns: float) -> Chart | None:
    kinds = list(dict.fromkeys(str(w.get("f")) for w in windows))
    if not kinds:
        return None
    scale = _Scale(0, duration_ns)
    chart = _chart(kinds, scale)
    for w in windows:
        start, end = w.get("start_ns"), w.get("end_ns")
        if not isinstance(start, (int, float)):
            continue
        open_ = not isinstance(end, (int, float))
        x0, x1 = scale.x(start), scale.x(duration_ns if open_ else end)
        what = w.get("description") or compact(w.get("value"))
        chart.bars.append(Bar(
            x=x0, y=kinds.index(str(w.get("f"))) * ROW_H + 2, w=max(round(x1 - x0, 1), 2),
            cls="fault" if w.get("applied", True) else "fault-failed", open=open_,
            title=f"{w.get('f')} {secs(start)}–{secs(end)} s: {what}"))
    return chart


def _pkey(p: Any) -> tuple[int, Any]:
    return (0, p) if isinstance(p, int) else (1, str(p))


def ops_chart(ops: list[dict[str, Any]]) -> Chart | None:
    """Each client op as a bar on its process's row, from invocation to completion. An op
    that ended ``info`` (or never completed) runs open-ended to the right edge."""
    times = [o["time"] for o in ops if isinstance(o.get("time"), (int, float)) and o["time"] >= 0]
    if not times:
        return None
    scale = _Scale(min(times), max(times))
    right = scale.t0 + scale.span
    spans: list[tuple[Any, dict[str, Any], dict[str, Any] | None]] = []
    open_: dict[Any, dict[str, Any]] = {}
    for o in ops:
        p = o.get("process")
        if p == NEMESIS or not isinstance(o.get("time"), (int, float)):
            continue
        if o.get("type") == INVOKE:
            open_[p] = o
        else:
            spans.append((p, open_.pop(p, o), o))
    spans += [(p, inv, None) for p, inv in open_.items()]
    procs = sorted({p for p, _, _ in spans}, key=_pkey)
    chart = _chart([f"p{p}" for p in procs], scale)
    for p, inv, done in spans:
        kind = done.get("type") if done else "open"
        kind = kind if kind in ("ok", "fail", "info") else "open"  # it becomes a CSS class
        open_ended = kind in ("info", "open")
        t0 = inv["time"]
        t1 = right if open_ended or done is None else done["time"]
        x0, x1 = scale.x(t0), scale.x(t1)
        shown = done if done is not None and done.get("type") == "ok" else inv
        f = str(inv.get("f"))
        text = f"{f} {compact(shown.get('value'), 40)}"
        end = secs(done["time"]) if done is not None else "never"
        room = int((x1 - x0) / 6.5) - len(f) - 1  # characters that fit inside the bar
        chart.bars.append(Bar(
            x=x0, y=procs.index(p) * ROW_H + 2, w=max(round(x1 - x0, 1), 2), cls=f"op-{kind}",
            open=open_ended, title=f"process {p}: {text} → {kind} [{secs(t0)}–{end} s]",
            label=f"{f} {compact(shown.get('value'), room)}" if room >= 3 else ""))
    return chart


# --- view model -----------------------------------------------------------------------------


def _op_rows(ops: list[Any]) -> list[dict[str, Any]]:
    return [o.to_dict() if isinstance(o, Op) else _dict(o) for o in ops[:MAX_ROWS]]


def _keyed_view(res: dict[str, Any]) -> dict[str, Any]:
    """Per-key verdicts (Jepsen's independent checker): bad keys first, valid ones folded."""
    rows = []
    for k, r in _dict(res.get("keys")).items():
        r = _dict(r)
        rows.append({"key": k, "valid": r.get("valid"), "op_count": r.get("op_count"),
                     "explanation": r.get("explanation"), "ops": _list(r.get("ops"))})
    rank = {"invalid": 0, "unknown": 1, "valid": 2}
    rows.sort(key=lambda r: (rank[verdict_class(r["valid"])], _natural(r["key"])))
    bad = [r for r in rows if r["valid"] is not True]
    good = [r for r in rows if r["valid"] is True]
    for r in bad[:MAX_KEYS_DETAILED]:
        r["op_rows"] = _op_rows(r["ops"])
        r["chart"] = ops_chart(r["op_rows"])
    return {"bad": bad, "good": good[:MAX_KEY_ROWS], "good_total": len(good),
            "detailed": bad[:MAX_KEYS_DETAILED]}


def _checker_views(checkers: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    for name, res in checkers.items():
        res = _dict(res)
        keyed = isinstance(res.get("keys"), dict)
        rest = {k: v for k, v in res.items() if not (keyed and k == "keys")}
        views.append({"name": name, "valid": res.get("valid"), "error": res.get("error"),
                      "warnings": [str(w) for w in _list(res.get("warnings"))],
                      "keyed": _keyed_view(res) if keyed else None, "json": pretty(rest)})
    return views


def _human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _href(rel: Path) -> str:
    # Every part percent-encoded: a log named "a:b" must stay a relative link, not a scheme.
    return "/".join(quote(part, safe="") for part in rel.parts)


def _files(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
    out = []
    for name in ("history.jsonl", "results.json", "test.json", "harness.log"):
        p = run_dir / name
        out.append({"name": name, "href": _href(Path(name)), "exists": p.is_file(),
                    "size": _human_size(p.stat().st_size) if p.is_file() else ""})
    nodes = run_dir / "nodes"
    found = sorted(p for p in nodes.rglob("*") if p.is_file()) if nodes.is_dir() else []
    for p in found[:MAX_FILES]:
        rel = p.relative_to(run_dir)
        out.append({"name": rel.as_posix(), "href": _href(rel), "exists": True,
                    "size": _human_size(p.stat().st_size)})
    return out, max(0, len(found) - MAX_FILES)


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
    """Fault windows straight from the nemesis ops, pairing start-X with stop-X, for runs
    whose results.json never got written."""
    starts = {op.f for op in ops if op.process == NEMESIS and op.f.startswith("start-")}
    return fault_windows(ops, {f: "stop-" + f.removeprefix("start-") for f in starts})


def render_html(spec: dict[str, Any], results: dict[str, Any], ops: list[Op], run_dir: Path,
                *, problems: Iterable[str] = ()) -> str:
    """The report as a string. ``spec``/``results`` are the parsed test.json/results.json
    ({} when missing); ``ops`` the history (may be []); ``problems`` say what could not be
    read. Only summaries of ``ops`` are used, never the ops themselves."""
    spec, results, run_dir = _dict(spec), _dict(results), Path(run_dir)
    notes = list(problems)
    counts, counts_from = results.get("counts"), "results.json"
    if not isinstance(counts, dict):
        counts, counts_from = (count_ops(ops), "history.jsonl") if ops else (None, "")
    faults, faults_from = results.get("faults"), "results.json"
    if not isinstance(faults, list):
        faults, faults_from = _derived_faults(ops), "history.jsonl"
    faults = [_dict(w) for w in faults]
    # The timeline spans the whole test: its time limit, or longer if ops or faults ran on.
    # Lines land slightly out of index order, so look at the last few ops, not just one.
    time_limit = spec.get("time_limit")
    ends = [time_limit * 1e9 if isinstance(time_limit, (int, float)) else 0]
    ends += [op.time for op in ops[-1000:] if isinstance(op.time, (int, float))]
    ends += [w["end_ns"] for w in faults if isinstance(w.get("end_ns"), (int, float))]
    duration = max(ends)
    checkers = _dict(results.get("checkers"))
    stats = _dict(checkers.get("stats"))
    options = spec.get("options")
    return _ENV.get_template("report.html").render(
        name=str(spec.get("name") or run_dir.name), run_dir=str(run_dir),
        has_results=bool(results), valid=results.get("valid", "unknown"),
        interrupted=results.get("interrupted") is True, notes=notes,
        run=_dict(results.get("run")), spec_rows=_spec_rows(spec),
        options=sorted(_dict(options).items()) if isinstance(options, dict) else [],
        options_raw=None if isinstance(options, dict) or options is None else compact(options),
        counts=counts, counts_from=counts_from, by_f=sorted(_dict(stats.get("by_f")).items()),
        faults=faults, faults_from=faults_from, fault_chart=fault_chart(faults, duration),
        coverage=sorted(_dict(results.get("fault_coverage")).items()),
        checkers=_checker_views(checkers), has_checkers="checkers" in results,
        errors=[str(e) for e in _list(results.get("errors"))],
        files=_files(run_dir), max_rows=MAX_ROWS, max_keys=MAX_KEYS_DETAILED, version=__version__,
    )


# --- entry point ----------------------------------------------------------------------------


def _load_json(path: Path, problems: list[str], missing_means: str) -> dict[str, Any]:
    if not path.is_file():
        problems.append(f"{path.name} is missing: {missing_means}")
        return {}
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path.name} could not be read: {e}")
        return {}
    if not isinstance(d, dict):
        problems.append(f"{path.name} is not a JSON object")
        return {}
    return d


def _tail_ops(path: Path, nbytes: int = 64 * 1024) -> list[Op]:
    """The ops in the last ``nbytes`` of a history, skipping any torn or malformed line.
    Parsing a 100k-op history costs over a second; the report only needs its end time."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - nbytes))
        lines = f.read().splitlines()
    if size > nbytes:
        lines = lines[1:]  # starts mid-line
    ops = []
    for line in lines:
        try:
            d = json.loads(line)
            ops.append(Op.from_dict(d))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return ops


def render_report(run_dir: Path | str) -> Path:
    """Write ``<run_dir>/report.html`` from whatever the run left behind; return its path."""
    run_dir = Path(run_dir)
    problems: list[str] = []
    spec = _load_json(run_dir / "test.json", problems, "the test spec was never saved")
    results = _load_json(run_dir / "results.json", problems,
                         "the run never reached analysis, so there is no verdict "
                         "(try `splitbrain report --recheck`)")
    ops: list[Op] = []
    hist = run_dir / "history.jsonl"
    complete = isinstance(results.get("counts"), dict) and isinstance(results.get("faults"), list)
    if not hist.is_file():
        problems.append("history.jsonl is missing")
    elif complete:
        # results.json already summarises the history; its tail gives the test's length.
        ops = _tail_ops(hist)
    else:
        try:
            ops = read_jsonl(hist)
        except (OSError, ValueError, HistoryFormatError) as e:
            problems.append(f"history.jsonl could not be read: {e}")
    html = render_html(spec, results, ops, run_dir, problems=problems)
    out = run_dir / "report.html"
    # Atomic: a browser reloading the report never sees half of it.
    tmp = out.with_name(f".report.html.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
