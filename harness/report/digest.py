"""A history boiled down to the numbers the report draws, in one pass over history.jsonl.

    d = digest_file("store/latest/history.jsonl")
    d.calls        # client ops: (invoke ns, complete ns | None, process, f, type, index,
                   #              value, error)
    d.latency_quantiles()  ->  [{"f": "read", "n": 1424, "p50": 1.9, "p90": ..., "max": ...}]

It reads lines as plain dicts (no ``Op`` per line, no sort) because a 100,000-op history is
the case that matters and the report only needs times, processes, f and type. A line that is
not a JSON object, or is torn, is counted in ``bad_lines`` and skipped: a crashed run still
gets its pictures. Lines land slightly out of index order, but each process's invocation is
always written before its completion (one worker thread writes both), so pairing by process
in file order is exact.

The pairing itself is not said here: it is ``harness.history.pair_positions``, the rule
``harness.history.pairs`` applies to Ops, run on ``(process, type, f)`` triples taken from
the dicts. Converting every line to an ``Op`` and calling ``pairs`` instead was measured on
bench/report_load.py's 100,000-op history (200,000 lines): building the Ops took 0.7 s and
pairing them 0.26 s, against 0.27 s for this module's whole loop and about 2 s for the whole
render, so about +45%, far past the 10% it could cost; the triples cost about 0.14 s
(+7%). ``pair_dicts`` is the same pairing for the op dicts a checker cites (the timeline's
and the report's anomaly tables use it).

Nemesis ops are kept whole (there are few): the report takes fault windows and clock offsets
from them.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.history import INVOKE, NEMESIS, pair_positions

TYPES = ("ok", "fail", "info")


@dataclass(slots=True)
class Call:
    start: int           # invocation time, ns since test start
    end: int | None      # completion time; None: never completed
    process: Any
    f: str
    type: str            # ok | fail | info | open (never completed)
    index: int = -1      # the invocation's index
    value: Any = None    # the completion's value if it is ok, else the invocation's
    error: Any = None    # the completion's error (fail and info ops say why)


@dataclass
class Digest:
    calls: list[Call] = field(default_factory=list)
    nemesis: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)   # client ops by type
    end_ns: int = 0                                    # the latest time seen
    start_ns: int = 0                                  # the earliest time seen
    lines: int = 0
    bad_lines: int = 0

    @property
    def fs(self) -> list[str]:
        """Client fs, most frequent first."""
        return [f for f, _ in Counter(c.f for c in self.calls).most_common()]

    def latency_quantiles(self) -> list[dict[str, Any]]:
        """Per f, over its ok completions: count and p50/p90/p99/max latency in ms; then a
        row ``"all"``. Computed exactly (sorted), which for 100k ops takes milliseconds."""
        by_f: dict[str, list[float]] = {}
        for c in self.calls:
            if c.type == "ok" and c.end is not None:
                by_f.setdefault(c.f, []).append((c.end - c.start) / 1e6)
        rows = [_quantiles(f, v) for f, v in sorted(by_f.items())]
        if len(by_f) > 1:
            rows.append(_quantiles("all", [x for v in by_f.values() for x in v]))
        return rows

    def clock_offsets(self) -> list[tuple[int, dict[str, float]]]:
        """(time ns, {node: offset s}) from nemesis completions whose value carries
        ``clock_offsets``, in time order."""
        out = []
        for op in self.nemesis:
            v = op.get("value")
            if op.get("type") == INVOKE or not isinstance(v, dict):
                continue
            offs = v.get("clock_offsets")
            t = op.get("time")
            if isinstance(offs, dict) and isinstance(t, (int, float)) and _is_num(t):
                clean = {str(n): float(o) for n, o in offs.items() if _is_num(o)}
                if clean:
                    out.append((int(t), clean))
        out.sort(key=lambda x: x[0])
        return out


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _quantiles(f: str, values: list[float]) -> dict[str, Any]:
    v = sorted(values)
    n = len(v)

    def q(p: float) -> float:
        return v[min(n - 1, max(0, int(round(p * (n - 1)))))]

    return {"f": f, "n": n, "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": v[-1]}


def _hashable(p: Any) -> Any:
    """A process id as a dict key: ints and strings as they are, anything odd as its JSON."""
    if p is None or type(p) is int or type(p) is str:
        return p
    return json.dumps(p, default=repr)


def pair_dicts(ops: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The client op dicts as (invocation, completion | None) by THE pairing
    (harness.history.pair_positions), in invocation order; nemesis ops are left out.

    >>> inv, ok = {"process": 1, "type": "invoke", "f": "read"}, {"process": 1, "type": "ok"}
    >>> [(a["type"], b and b["type"]) for a, b in pair_dicts([inv, ok | {"f": "read"}])]
    [('invoke', 'ok')]
    """
    ev = [(_hashable(o.get("process")), str(o.get("type")), str(o.get("f"))) for o in ops]
    return [(ops[i], None if j is None else ops[j]) for i, j in zip(*pair_positions(ev))]


def digest_lines(lines: Any) -> Digest:
    """Digest an iterable of history.jsonl lines (str or bytes) or of op dicts."""
    d = Digest()
    counts: dict[str, int] = {INVOKE: 0, "ok": 0, "fail": 0, "info": 0}
    loads = json.loads
    end = 0
    start = -1
    n = bad = 0
    # The client lines, for the pairing: (process, type, f), and beside it time and index.
    ev: list[tuple[Any, str, str]] = []
    times: list[int] = []
    indices: list[Any] = []
    values: list[Any] = []
    errors: list[Any] = []
    push_ev, push_t, push_i = ev.append, times.append, indices.append
    push_v, push_e = values.append, errors.append
    for line in lines:
        n += 1
        try:
            o = line if type(line) is dict else loads(line)
            t = o["time"]
            typ = o["type"]
        except (ValueError, TypeError, KeyError, IndexError):
            # Not an op: a line that is not JSON, or JSON that is not an object (a number,
            # a list: a damaged file parsed whole). Blank lines are not counted.
            if not isinstance(line, str | bytes) or line.strip():
                bad += 1
            continue
        tt = type(t)
        if (tt is not int and tt is not float) or t < 0:
            bad += 1
            continue
        if tt is float:
            t = int(t)
        if t > end:
            end = t
        if t < start or start < 0:
            start = t
        p = o.get("process")
        if p == NEMESIS:
            d.nemesis.append(o)
            continue
        if typ not in counts:
            bad += 1
            continue
        counts[typ] += 1
        if p is not None and type(p) is not int and type(p) is not str:
            p = json.dumps(p, default=repr)  # an odd process id, made hashable
        push_ev((p, typ, str(o.get("f"))))
        push_t(t)
        push_i(o.get("index", -1))
        push_v(o.get("value"))
        push_e(o.get("error"))
    d.calls = [Call(times[i], None, ev[i][0], ev[i][2], "open", indices[i], values[i])
               if j is None else
               Call(times[i], times[j], ev[i][0], ev[i][2], ev[j][1], indices[i],
                    values[j] if ev[j][1] == "ok" else values[i], errors[j])
               for i, j in zip(*pair_positions(ev))]
    d.counts.update({k: v for k, v in counts.items() if v})
    d.end_ns, d.start_ns, d.lines, d.bad_lines = end, max(start, 0), n, bad
    return d


def digest_file(path: Path | str) -> Digest:
    """Digest a history.jsonl. The lines are parsed as one JSON array (one call into the C
    parser instead of one per line: 100,000 ops in a fraction of a second); if any line is
    not JSON, line by line instead, skipping the bad ones."""
    with open(path, "rb") as fh:
        text = fh.read().decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    try:
        ops = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        return digest_lines(lines)
    return digest_lines(ops)


def call_window(calls: list[Call], cap: int, focus_ns: int | None = None
                ) -> tuple[list[Call], str]:
    """At most ``cap`` calls, consecutive in invocation order: all of them if they fit, else
    a window around ``focus_ns`` (an anomaly) or from the start, with a note saying so."""
    if len(calls) <= cap:
        return calls, ""
    start = 0
    if focus_ns is not None:
        i = next((k for k, c in enumerate(calls) if c.start >= focus_ns), len(calls))
        start = max(0, min(i - cap // 2, len(calls) - cap))
    win = calls[start:start + cap]
    t0, t1 = win[0].start / 1e9, win[-1].start / 1e9
    why = " around the first anomaly" if focus_ns is not None else ""
    return win, (f"{cap:,} of {len(calls):,} ops drawn: those invoked from {t0:.3f} s to "
                 f"{t1:.3f} s{why}. The full history is in history.jsonl.")
