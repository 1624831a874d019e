"""Timeline geometry for the report's hand-drawn SVG charts: numbers and plain text only.

    fault_chart(windows, duration_ns) -> Chart   one row per fault kind, one bar per window
    ops_chart(op_dicts, witness=...)   -> Chart   one row per process, one bar per op
    calls_chart(digest_calls, ...)     -> Chart   the same for the digest's calls: the
                                                  report's hoverable process timeline

The template (``templates/report.html``, macro ``timeline``) turns a Chart into SVG elements
with autoescape on, so a value from the history lands in a ``<title>`` or ``<text>`` as text,
never as markup. These charts are small (fault windows, the ops a checker cites) and carry
tooltips; the big pictures of a whole history are matplotlib's, in ``harness.report.plots``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from harness.report.digest import Call, pair_dicts

LABEL_W, PLOT_W, ROW_H, AXIS_H = 70, 860, 16, 18
VALUE_CHARS = 80

FAULT_COLOURS = {"partition": "#e8590c", "clock": "#7048e8", "pause": "#1971c2",
                 "kill": "#343a40", "packet": "#0b7285"}
_SPARE = ("#ae3ec9", "#5c940d", "#a61e4d", "#1098ad", "#862e9c")


def fault_colours(kinds: list[str]) -> dict[str, str]:
    """One colour per fault kind, the same in every picture of a report: the built-in kinds
    have their own, others take spare colours in name order."""
    out = {k: FAULT_COLOURS[k] for k in kinds if k in FAULT_COLOURS}
    others = sorted({k for k in kinds if k not in FAULT_COLOURS})
    out.update({k: _SPARE[i % len(_SPARE)] for i, k in enumerate(others)})
    return out


# Bidi controls (they reverse the text around them: a key "\u202eabc" would read "cba"
# and drag its neighbours along) and lone surrogates (valid JSON, "\ud800", but no encoding
# can write them): shown as the escape a person can read.
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(s: str) -> str:
    """Text from a run as it may be shown and written: every bidi control and lone
    surrogate as its escape, ``"a\u202eb"`` -> ``"a\\u202eb"``; anything else unchanged."""
    if s.isascii():
        return s
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", s)


def compact(value: Any, limit: int = VALUE_CHARS) -> str:
    """A one-line JSON rendering of any value, cut to ``limit`` chars with an ellipsis."""
    try:
        s = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        # Ints past Python's 4300-digit str limit make both json and repr raise.
        s = f"<unprintable {type(value).__name__}>"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def secs(ns: Any, digits: int = 3) -> str:
    """Nanoseconds since test start as seconds; unknown times as a dash."""
    if isinstance(ns, (int, float)) and not isinstance(ns, bool) and ns >= 0:
        return f"{ns / 1e9:.{digits}f}"
    return "—"


@dataclass
class Bar:
    x: float
    y: float
    w: float
    cls: str
    title: str
    label: str = ""
    open: bool = False  # an info / unfinished op: may act at any later time
    witness: bool = False  # part of the minimal witness of an anomaly: drawn outlined
    kind: str = ""         # a fault bar's kind, for its colour


@dataclass
class Chart:
    width: int
    height: int
    rows: list[tuple[float, str]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    breaks: list[tuple[float, str]] = field(default_factory=list)  # cut-out idle time
    edges: list[tuple[float, str, str]] = field(default_factory=list)  # x, label, anchor


class Scale:
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


BREAK_W = 56  # pixels for a stretch of time cut out of a compressed axis


class GappedScale:
    """A time axis with the idle stretches cut out: a witness may be three ops 20 s apart,
    each a few ms long, which a linear axis would draw as slivers. Stretches longer than
    ``min_gap`` of the span with no event in them shrink to BREAK_W pixels; the busy
    stretches share the rest of the width in proportion to their length."""

    def __init__(self, times: list[float], min_gap: float = 0.12):
        ts = sorted(set(times))
        self.t0 = ts[0]
        span = max(ts[-1] - ts[0], 1e6)
        self.span = span
        clusters: list[list[float]] = [[ts[0], ts[0]]]
        for t in ts[1:]:
            if t - clusters[-1][1] > min_gap * span:
                clusters.append([t, t])
            else:
                clusters[-1][1] = t
        # Pad each busy stretch a little so a bar never starts on a break line.
        busy = sum(max(b - a, span * 0.01) for a, b in clusters)
        width = PLOT_W - BREAK_W * (len(clusters) - 1)
        self.pieces: list[tuple[float, float, float, float]] = []  # t_a, t_b, x_a, x_b
        x = float(LABEL_W)
        for i, (a, b) in enumerate(clusters):
            w = max(b - a, span * 0.01) / busy * width
            self.pieces.append((a, b if b > a else a + span * 0.01, x, x + w))
            x += w + (BREAK_W if i < len(clusters) - 1 else 0)
        self.breaks: list[tuple[float, str]] = [
            (round(xb + BREAK_W / 2, 1), f"+{(self.pieces[i + 1][0] - tb) / 1e9:.1f}s")
            for i, (_, tb, _, xb) in enumerate(self.pieces[:-1])]

    @property
    def compressed(self) -> bool:
        return len(self.pieces) > 1

    def x(self, t: float) -> float:
        for i, (a, b, xa, xb) in enumerate(self.pieces):
            nxt = self.pieces[i + 1][0] if i + 1 < len(self.pieces) else math.inf
            if t < nxt:
                if t <= b:
                    return round(xa + (t - a) / (b - a) * (xb - xa), 1)
                return round(xb + min(BREAK_W / 2, (t - b) / max(nxt - b, 1) * BREAK_W), 1)
        return float(LABEL_W + PLOT_W)

    def ticks(self) -> list[tuple[float, str]]:
        return []  # edges() instead: labels anchored away from the breaks

    def edges(self) -> list[tuple[float, str, str]]:
        """(x, label, text-anchor) at each busy stretch's start, and at its end if there
        is room, each label on the side away from the neighbouring break."""
        out = []
        for a, b, xa, xb in self.pieces:
            out.append((round(xa, 1), f"{a / 1e9:.3f}s", "start"))
            if xb - xa > 130:
                out.append((round(xb, 1), f"{b / 1e9:.3f}s", "end"))
        return out


def _chart(rows: list[str], scale: Scale | GappedScale) -> Chart:
    c = Chart(width=LABEL_W + PLOT_W + 10, height=len(rows) * ROW_H + AXIS_H)
    c.rows = [(i * ROW_H, r) for i, r in enumerate(rows)]
    c.ticks = scale.ticks()
    if isinstance(scale, GappedScale):
        c.breaks = scale.breaks
        c.edges = scale.edges()
    return c


def _room(x0: float, x1: float) -> int:
    """Characters of 10px monospace that fit inside a bar from x0 to x1."""
    return int((x1 - x0) / 6.5) - 1


def fault_chart(windows: list[dict[str, Any]], duration_ns: float) -> Chart | None:
    """One row per fault kind; each window a bar labelled with what it did (its targets,
    e.g. ``n1 n3 | n2 n4 n5``) where the bar has room, and in its tooltip always."""
    kinds = list(dict.fromkeys(str(w.get("f")) for w in windows))
    if not kinds:
        return None
    scale = Scale(0, duration_ns)
    chart = _chart(kinds, scale)
    for w in windows:
        start, end = w.get("start_ns"), w.get("end_ns")
        if not isinstance(start, (int, float)):
            continue
        open_ = not isinstance(end, (int, float))
        x0, x1 = scale.x(start), scale.x(end if isinstance(end, (int, float)) else duration_ns)
        what = str(w.get("description") or targets(w.get("value")) or compact(w.get("value")))
        room = _room(x0, x1)
        chart.bars.append(Bar(
            x=x0, y=kinds.index(str(w.get("f"))) * ROW_H + 2, w=max(round(x1 - x0, 1), 2),
            cls="fault" if w.get("applied", True) else "fault-failed", open=open_,
            kind=str(w.get("f")),
            title=f"{w.get('f')} {secs(start)}–{secs(end)} s: {what}",
            label=(what if len(what) <= room else what[: room - 1] + "…") if room >= 4 else ""))
    return chart


def _node_key(n: str) -> tuple[int, int, str]:
    """n2 before n10."""
    digits = n.lstrip("abcdefghijklmnopqrstuvwxyz")
    return (0, int(digits), n) if digits.isdigit() and len(digits) < 10 else (1, 0, n)


def targets(value: Any) -> str:
    """The nodes a nemesis op acted on, from its value: ``nodes`` (pause, kill, clock ...),
    or for a partition (nemeses/partition: ``{"grudge": {"n1": ["n4", "n5"], ...},
    "shape": ..., "description": "n1 n2 n3 | n4 n5"}``) every node that drops traffic from
    another, in node order.

    >>> targets({"grudge": {"n1": ["n3"], "n2": [], "n3": ["n1"]}, "shape": "grudge"})
    'n1 n3'
    """
    if not isinstance(value, dict):
        return ""
    nodes = value.get("nodes")
    if isinstance(nodes, list) and nodes:
        return " ".join(str(n) for n in nodes)
    grudge = value.get("grudge")
    if isinstance(grudge, dict):
        cut = [str(n) for n, refused in grudge.items() if refused]
        return " ".join(sorted(cut, key=_node_key))
    if isinstance(grudge, list):  # a grudge given as components: every node in them
        names = {str(n) for comp in grudge if isinstance(comp, list) for n in comp}
        return " ".join(sorted(names, key=_node_key)) if len(grudge) > 1 else ""
    return ""


def _pkey(p: Any) -> tuple[int, Any]:
    return (0, p) if isinstance(p, int) else (1, str(p))


def ops_chart(ops: list[dict[str, Any]], witness: set[int] | None = None, *,
              compress: bool = False) -> Chart | None:
    """Each client op as a bar on its process's row, from invocation to completion (paired
    by ``digest.pair_dicts``, THE pairing; a completion with no invocation is not drawn).
    An op that ended ``info`` (or never completed) runs open-ended to the right edge. Ops
    whose invocation index is in ``witness`` are flagged for the template to outline. With
    ``compress``, idle stretches of time are cut out of the axis (see GappedScale)."""
    times = [o["time"] for o in ops if isinstance(o.get("time"), (int, float))
             and not isinstance(o.get("time"), bool) and o["time"] >= 0]
    if not times:
        return None
    witness = witness or set()
    scale: Scale | GappedScale = Scale(min(times), max(times))
    if compress:
        gapped = GappedScale(times)
        if gapped.compressed:
            scale = gapped
    right = scale.t0 + scale.span
    timed = [o for o in ops if isinstance(o.get("time"), (int, float))]
    spans = [(inv.get("process"), inv, done) for inv, done in pair_dicts(timed)]
    procs = sorted({str(p): p for p, _, _ in spans}.values(), key=_pkey)
    rows = [str(p) for p in procs]
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
        room = _room(x0, x1) - len(f)
        is_witness = inv.get("index") in witness
        chart.bars.append(Bar(
            x=x0, y=rows.index(str(p)) * ROW_H + 2, w=max(round(x1 - x0, 1), 2),
            cls=f"op-{kind}", open=open_ended, witness=is_witness,
            title=f"{'witness: ' if is_witness else ''}process {p}: {text} → {kind} "
                  f"[{secs(t0)}–{end} s]",
            label=f"{f} {compact(shown.get('value'), room)}" if room >= 3 else ""))
    return chart


def op_hover(index: Any, process: Any, f: Any, value: Any, result: str, start: Any,
             end: Any, error: Any) -> str:
    """An op's hover text, as Jepsen's timeline.html gives it: index, process, f, value,
    result, latency and error.

    >>> op_hover(7, 2, "cas", [1, 2], "fail", 1_000_000, 5_000_000, "cas-mismatch")
    'op 7 · process 2 · cas [1,2] → fail · 4.00 ms (0.001–0.005 s) · error: cas-mismatch'
    """
    if isinstance(end, (int, float)) and isinstance(start, (int, float)):
        took = f"{(end - start) / 1e6:.2f} ms ({secs(start)}–{secs(end)} s)"
    else:
        took = f"never completed (invoked {secs(start)} s)"
    err = "" if error is None else \
        f" · error: {error if isinstance(error, str) else compact(error)}"
    return (f"op {index if index is not None and index != -1 else '?'} · process {process} · "
            f"{f} {compact(value, 60)} → {result} · {took}{err}")


def calls_chart(calls: list[Call], t0: float, t1: float, max_rows: int = 120) -> Chart | None:
    """The digest's calls (harness.report.digest.Call) as bars on their processes' rows from
    ``t0`` to ``t1`` ns, each with its hover text (``op_hover``); an info or unfinished op
    runs open-ended to the right edge. At most ``max_rows`` processes (the lowest ids)."""
    if not calls:
        return None
    procs = sorted({str(c.process): c.process for c in calls}.values(), key=_pkey)[:max_rows]
    row = {str(p): i for i, p in enumerate(procs)}
    scale = Scale(t0, t1)
    chart = _chart([f"p{p}" for p in procs], scale)
    right = scale.t0 + scale.span
    for c in calls:
        y = row.get(str(c.process))
        if y is None:
            continue
        open_ended = c.type in ("info", "open") or c.end is None
        x0 = scale.x(c.start)
        x1 = scale.x(right if open_ended or c.end is None else c.end)
        text = f"{c.f} {compact(c.value, 40)}"
        room = _room(x0, x1)
        chart.bars.append(Bar(
            x=x0, y=y * ROW_H + 2, w=max(round(x1 - x0, 1), 1), cls=f"op-{c.type}",
            open=open_ended,
            title=op_hover(c.index, c.process, c.f, c.value, c.type, c.start, c.end, c.error),
            label=(text if len(text) <= room else text[: room - 1] + "…") if room >= 6 else ""))
    return chart
