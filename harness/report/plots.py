"""The report's pictures of a whole history, drawn by matplotlib into data: URIs.

    latency_plot(digest, windows, duration_s)     -> Plot | None
    throughput_plot(digest, windows, duration_s)  -> Plot | None
    process_plot(digest, windows, duration_s)     -> Plot | None
    clock_plot(digest, windows, duration_s)       -> Plot | None

Each Plot is an SVG (axes, labels and legends as vectors; the point clouds rasterised so a
100,000-op history stays small and quick to paint) wrapped in a ``data:image/svg+xml`` URI
for an ``<img>``. An image cannot run scripts, and matplotlib escapes the text it writes,
so a stored value like ``<script>`` in an ``f`` is at worst odd text in a legend. Every label
from the history goes through ``label``, which escapes ``$``: a value must never be parsed
as mathtext.

Only ``matplotlib.figure.Figure`` is used, never pyplot: no global state, safe in threads
(``splitbrain serve`` may render while a campaign runs).

Big histories are capped, with a note saying what was left out: ``MAX_POINTS`` scatter points
(every fail and info kept first, then ok sampled evenly), ``MAX_TIMELINE_CALLS`` ops and
``MAX_PROCESSES`` rows in the process timeline.
"""
from __future__ import annotations

import base64
import io
import random
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator
from matplotlib.typing import RcKeyType

from harness.report.digest import Call, Digest, call_window
from harness.report.timeline import fault_colours, visible

MAX_POINTS = 20_000
MAX_TIMELINE_CALLS = 20_000
MAX_PROCESSES = 120
MAX_PANELS = 6
LABEL_CHARS = 40

TYPE_COLOURS = {"ok": "#2b8a3e", "fail": "#c92a2a", "info": "#f59f00", "open": "#f59f00"}
NODE_COLOURS = ("#1971c2", "#e8590c", "#2b8a3e", "#7048e8", "#c92a2a", "#0b7285", "#5c940d",
                "#a61e4d", "#343a40", "#f59f00")
_RC: dict[RcKeyType, Any] = {"svg.fonttype": "none", "font.size": 8.5,
       "font.family": "DejaVu Sans", "svg.hashsalt": "splitbrain", "axes.titlesize": 9,
       "axes.spines.top": False, "axes.spines.right": False}


@dataclass
class Plot:
    uri: str
    alt: str
    width: int    # CSS pixels
    height: int
    note: str = ""


def _style() -> Any:
    return matplotlib.rc_context(_RC)


def label(x: Any) -> str:
    """A value from the history as a plot label: cut short, and with every ``$`` escaped so
    matplotlib never parses it as mathtext (which could fail, or draw TeX); bidi controls and
    lone surrogates as their escapes (see timeline.visible)."""
    s = visible(str(x))
    s = s if len(s) <= LABEL_CHARS else s[: LABEL_CHARS - 1] + "…"
    return s.replace("$", r"\$")


def _figure(width_in: float, height_in: float, *, top_in: float = 0.32,
            bottom_in: float = 0.45) -> Figure:
    """A figure with fixed margins (in inches): constrained layout measured every tick label
    and cost more than the drawing."""
    fig = Figure(figsize=(width_in, height_in), dpi=96)
    fig.subplots_adjust(left=0.75 / width_in, right=1 - 0.15 / width_in,
                        top=1 - top_in / height_in, bottom=bottom_in / height_in,
                        hspace=0.32 / max(0.4, (height_in - top_in - bottom_in) / 3))
    return fig


def _legend(fig: Figure, handles: list[Any]) -> None:
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(1 - 0.1 / 10.5, 1.0),
               ncols=10, fontsize=8, frameon=False, borderaxespad=0.2)


def _plain_log(ax: Any) -> None:
    """A log y axis labelled 0.1, 1, 10 (no mathtext: it was most of the drawing time)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())


def _uri(fig: Figure, alt: str, note: str = "") -> Plot:
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=110)
    w, h = fig.get_size_inches() * 96
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return Plot(uri="data:image/svg+xml;base64," + data, alt=alt, width=round(w),
                height=round(h), note=note)


def _shade(ax: Any, windows: list[dict[str, Any]]) -> list[Patch]:
    """Fault windows as translucent bands; returns legend handles, one per kind."""
    kinds = [str(w.get("f")) for w in windows]
    colours = fault_colours(kinds)
    seen: dict[str, Patch] = {}
    for w, kind in zip(windows, kinds):
        s, e = w.get("start_ns"), w.get("end_ns")
        if not isinstance(s, (int, float)) or not w.get("applied", True):
            continue
        e = e if isinstance(e, (int, float)) else ax.get_xlim()[1] * 1e9
        colour = colours[kind]
        ax.axvspan(s / 1e9, e / 1e9, color=colour, alpha=0.13, lw=0, zorder=0)
        seen.setdefault(kind, Patch(color=colour, alpha=0.3, label=label(kind)))
    return list(seen.values())


def _sample(calls: list[Call], cap: int) -> tuple[list[Call], str]:
    if len(calls) <= cap:
        return calls, ""
    rare = [c for c in calls if c.type != "ok"]
    common = [c for c in calls if c.type == "ok"]
    rng = random.Random(0)
    if len(rare) >= cap:
        keep = rng.sample(rare, cap)
    else:
        keep = rare + rng.sample(common, cap - len(rare))
    return keep, (f"{len(keep):,} of {len(calls):,} points drawn (every fail and info first, "
                  "then ok ops sampled evenly); the quantiles use every op.")


def latency_plot(d: Digest, windows: list[dict[str, Any]], duration_s: float) -> Plot | None:
    """Latency (ms, log scale) against invocation time, one panel per f, coloured by how
    the op ended; fault windows shaded."""
    done = [c for c in d.calls if c.end is not None]
    if not done:
        return None
    fs = d.fs
    panels = fs[:MAX_PANELS]
    other = len(fs) > MAX_PANELS
    points, note = _sample(done, MAX_POINTS)
    by_panel: dict[str, list[Call]] = {f: [] for f in panels}
    if other:
        by_panel["other fs"] = []
    for c in points:
        by_panel[c.f if c.f in by_panel else "other fs"].append(c)
    n = len(by_panel)
    with _style():
        fig = _figure(10.5, 0.4 + 1.55 * n)
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        legend: list[Any] = []
        for ax, (f, cs) in zip(axes, by_panel.items()):
            ax.set_xlim(0, max(duration_s, 1e-3))
            legend = _shade(ax, windows)
            for typ in ("ok", "fail", "info"):
                sel = [c for c in cs if c.type == typ]
                if sel:
                    ax.scatter([c.start / 1e9 for c in sel],
                               [max(((c.end or c.start) - c.start) / 1e6, 1e-3)
                                for c in sel],  # every call here has an end
                               s=3, c=TYPE_COLOURS[typ], marker="o" if typ == "ok" else "x",
                               linewidths=0.6, alpha=0.7, rasterized=True, label=typ)
            _plain_log(ax)
            ax.set_ylabel("ms")
            ax.set_title(label(f), loc="left")
            ax.grid(True, which="major", axis="y", color="#e3e6ea", lw=0.6)
        axes[-1].set_xlabel("time since test start (s)")
        handles = [Patch(color=TYPE_COLOURS[t], label=t) for t in ("ok", "fail", "info")]
        _legend(fig, handles + legend)
    return _uri(fig, "latency of each op against time, by f, coloured by outcome", note)


def _bin_width(duration_s: float) -> float:
    target = max(duration_s / 120, 1e-3)
    return next((m * 10**e for e in range(-3, 5) for m in (1, 2, 5) if m * 10**e >= target),
                1e4)


def throughput_plot(d: Digest, windows: list[dict[str, Any]], duration_s: float
                    ) -> Plot | None:
    """Completions per second, stacked by outcome, in bins of about 1/120 of the test."""
    ends = [(c.end, c.type) for c in d.calls if c.end is not None]
    if not ends:
        return None
    w = _bin_width(duration_s)
    nbins = max(1, int(max(duration_s, max(e for e, _ in ends) / 1e9) / w) + 1)
    series = {t: [0.0] * nbins for t in ("ok", "fail", "info")}
    for e, typ in ends:
        series[typ][min(nbins - 1, int(e / 1e9 / w))] += 1 / w
    xs = [(i + 0.5) * w for i in range(nbins)]
    with _style():
        fig = _figure(10.5, 2.6)
        ax = fig.add_subplot()
        ax.set_xlim(0, nbins * w)
        legend = _shade(ax, windows)
        ax.stackplot(xs, series["ok"], series["fail"], series["info"],
                     colors=[TYPE_COLOURS[t] for t in ("ok", "fail", "info")],
                     labels=["ok", "fail", "info"], alpha=0.85, step="mid")
        ax.set_ylabel("ops/s")
        ax.set_xlabel(f"time since test start (s); bins of {w:g} s")
        ax.grid(True, axis="y", color="#e3e6ea", lw=0.6)
        handles = [Patch(color=TYPE_COLOURS[t], label=t) for t in ("ok", "fail", "info")]
        _legend(fig, handles + legend)
    return _uri(fig, "completed ops per second over time, stacked by outcome")


def _pkey(p: Any) -> tuple[int, Any]:
    return (0, p) if isinstance(p, int) else (1, str(p))


def timeline_window(d: Digest, focus_ns: int | None = None,
                    cap: int | None = None) -> tuple[list[Call], str]:
    """At most ``cap`` (MAX_TIMELINE_CALLS) calls, consecutive in invocation order: all of
    them if they fit, else a window around ``focus_ns`` (an anomaly) or from the start."""
    return call_window(d.calls, cap or MAX_TIMELINE_CALLS, focus_ns)


def process_plot(d: Digest, windows: list[dict[str, Any]], duration_s: float,
                 focus_ns: int | None = None) -> Plot | None:
    """Every op as a line on its process's row from invocation to completion, coloured by
    outcome; an info (or unfinished) op trails a faint line to the end of the test, because
    it may still take effect at any later time."""
    calls, note = timeline_window(d, focus_ns)
    if not calls:
        return None
    procs = sorted({c.process: None for c in calls}, key=_pkey)
    if len(procs) > MAX_PROCESSES:
        keep = set(procs[:MAX_PROCESSES])
        calls = [c for c in calls if c.process in keep]
        note = (note + " " if note else "") + (
            f"{MAX_PROCESSES} of {len(procs)} processes shown (the lowest ids).")
        procs = procs[:MAX_PROCESSES]
    row = {p: i for i, p in enumerate(procs)}
    lo = min(c.start for c in calls) / 1e9
    hi = max(duration_s, max((c.end or c.start) for c in calls) / 1e9)
    if note:
        hi = max((c.end or c.start) for c in calls) / 1e9
    # Segments as (n, 2, 2) arrays: a list of tuples cost matplotlib more than drawing.
    segs: dict[str, list[tuple[float, float, float]]] = {t: [] for t in TYPE_COLOURS}
    tails: list[tuple[float, float, float]] = []
    for c in calls:
        y = row[c.process]
        start = c.start / 1e9
        end = c.end / 1e9 if c.end is not None else hi
        segs[c.type].append((start, max(end, start + 1e-4), y))
        if c.type in ("info", "open"):
            tails.append((end, hi, y))
    n = len(procs)
    lw = max(0.8, min(7.0, 160 / max(n, 1)))
    with _style():
        fig = _figure(10.5, min(9.0, 0.9 + 0.11 * n))
        ax = fig.add_subplot()
        ax.set_xlim(lo if note else 0, hi)
        ax.set_ylim(n - 0.5, -0.5)
        legend = _shade(ax, windows)
        if tails:
            ax.add_collection(LineCollection(_segments(tails), colors=TYPE_COLOURS["info"],
                                             linewidths=0.6, alpha=0.35, linestyles="dotted",
                                             rasterized=True))
        for typ, ss in segs.items():
            if ss:
                ax.add_collection(LineCollection(_segments(ss), colors=TYPE_COLOURS[typ],
                                                 linewidths=lw, capstyle="butt",
                                                 rasterized=True))
        step = max(1, n // 24)
        ax.set_yticks(range(0, n, step), [label(f"p{p}") for p in procs[::step]])
        ax.set_xlabel("time since test start (s)")
        handles = [Patch(color=TYPE_COLOURS[t], label=t) for t in ("ok", "fail", "info")]
        _legend(fig, handles + legend)
    return _uri(fig, "each process's ops over time, coloured by outcome", note)


def _segments(spans: list[tuple[float, float, float]]) -> Any:
    """(x0, x1, y) spans as the (n, 2, 2) array of horizontal segments LineCollection takes."""
    a = np.asarray(spans, dtype=float)
    out = np.empty((len(a), 2, 2))
    out[:, 0, 0], out[:, 1, 0] = a[:, 0], a[:, 1]
    out[:, 0, 1] = out[:, 1, 1] = a[:, 2]
    return out


def clock_plot(d: Digest, windows: list[dict[str, Any]], duration_s: float) -> Plot | None:
    """Each node's clock offset (s) over time, from the clock nemesis's completions."""
    points = d.clock_offsets()
    if not points:
        return None
    nodes = sorted({n for _, offs in points for n in offs}, key=lambda n: (len(n), n))
    end = max(duration_s, points[-1][0] / 1e9)
    with _style():
        fig = _figure(10.5, 2.4)
        ax = fig.add_subplot()
        ax.set_xlim(0, end)
        legend = _shade(ax, windows)
        for i, node in enumerate(nodes[:len(NODE_COLOURS) * 3]):
            xs, ys, last = [0.0], [0.0], 0.0
            for t, offs in points:
                if node in offs:
                    xs.append(t / 1e9)
                    ys.append(last)
                    last = offs[node]
                    xs.append(t / 1e9)
                    ys.append(last)
            xs.append(end)
            ys.append(last)
            ax.plot(xs, ys, color=NODE_COLOURS[i % len(NODE_COLOURS)], lw=1.3,
                    ls=("-", "--", ":")[i // len(NODE_COLOURS)], label=label(node))
        ax.axhline(0, color="#98a2b3", lw=0.6)
        ax.set_ylabel("offset (s)")
        ax.set_xlabel("time since test start (s)")
        ax.grid(True, axis="y", color="#e3e6ea", lw=0.6)
        handles, _ = ax.get_legend_handles_labels()
        _legend(fig, handles + legend)
    return _uri(fig, "clock offset of each node over time")
