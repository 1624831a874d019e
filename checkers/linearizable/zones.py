"""Linearizability of a register whose written values are unique, in O(n log n).

Gibbons & Korach's zones (1997), extended to cas chains and to crashed ops. It applies to
one key of a register or cas-register history in which no two writes (or successful cas) put
the same value, and none puts the initial value: our register workload writes 1, 2, 3, ...
per key, so a read names the one op that wrote what it saw. ``check_unique`` answers None
when that does not hold, and the caller falls back to the search (checkers.linearizable.search).

Input: search entries (search.Entry) for one key, failed ops and crashed pure ops
already dropped; ``ret`` None means crashed (may take effect at any time after its call, or
never). A cas [a a] is a read of a. Each op takes effect at a point strictly inside
(call, ret); history positions are distinct integers, so no two endpoints tie.

Why it is exact (each step is an equivalence, so the answer is the search's answer):

1. Mandatory ops. A value v is *needed* if a completed op observes it (a read of v, a cas
   from v). The unique op that wrote v must then be in every linearization, and if it is a
   cas from u, u is needed too: close under that. Every other crashed op can be removed from
   any linearization, since no op left observes what it wrote (an op that observed v in the
   linearization had v's writer as the last state change before it; that writer is kept, and
   the ops removed change no state a kept op looks at). So the crashed ops outside the
   closure are dropped, and the rest are all mandatory. A needed value nobody wrote, or two
   mandatory cas from one value (values are written once, so only one can find it), refute
   the history at once.

2. Blocks. Follow each root (the initial value, each mandatory write) along its chain: the
   root, the reads of its value, the cas from that value, the reads of the cas's value, the
   cas from that, and so on. In a linearization a block's ops are contiguous (any other op
   in between would either change the state, after which the block's later ops could not
   find their values again, or read a value that is not there), and ordered group by group;
   within a group of reads any order does. A mandatory cas that no chain reaches (a cycle of
   cas) can never happen: refuted. The initial value's block comes first.

3. One block. Started at time s (its root's point), the earliest schedule puts every op at
   max(s, the calls of everything before it in the chain, its own call). That is feasible iff
   s < min ret over the block (call it R) and each op's call-prefix is below its ret (a static
   check: "read of 4 returned before the write of 4 was invoked"); and any schedule ends at
   or after M, the max call over the block, which the earliest one attains. So a block is
   either *backward* (M < R: it can sit at any single instant of (M, R)) or *forward* (R < M:
   it must occupy at least [R, M], and with s just below R occupies exactly that). The
   initial block starts at -infinity: forward zone (-inf, M].

4. Placing blocks. Blocks occupy disjoint time intervals. Hence: forward zones must be
   pairwise disjoint, and each backward block needs an instant of (M, R) outside every
   forward zone, which, forward zones being disjoint closed intervals, holds iff no single
   forward zone contains (M, R). These conditions are also sufficient: place forward blocks
   on their zones, backward blocks at free instants.

The property tests check this against brute force and against the search.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from checkers.linearizable.models import CAS, READ, WRITE

__all__ = ["INF", "Conflict", "ZoneOutcome", "check_unique", "zones"]


@dataclass
class Conflict:
    """Why a history is not linearizable, in zone terms. ``kind``:

    unwritten   ``ops[0]`` observed a value no op wrote (``value``)
    double      ``ops[0]`` and ``ops[1]`` are cas from the same value, both must happen
    cycle       ``ops`` are cas whose input values only each other write
    order       ``ops[0]`` returned before ``ops[1]``, which must precede it, was invoked
    overlap     the blocks of ``ops[0]`` and ``ops[1]`` (their roots) must each be open
                over an interval, and the intervals meet: [first return, last call]
    inside      the block of ``ops[1]`` fits between two instants at which the block of
                ``ops[0]`` must be open
    Every op is an entry index; -1 stands for the initial value. ``detail`` keeps the
    positions that decided it (zone ends and the ops at them)."""

    kind: str
    ops: list[int]
    value: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ZoneOutcome:
    valid: bool
    conflict: Conflict | None = None
    blocks: int = 0


def check_unique(entries: list[Any], init: Any) -> ZoneOutcome | None:
    """The verdict for one key's search entries, or None if written values are not unique
    (or an op is not a read, write or cas); conflict op numbers index ``entries``. The
    checker itself calls ``zones`` on columns (checkers.linearizable.decide)."""
    return zones([INF if e.ret is None else e.ret for e in entries], [e.call for e in entries],
                 [e.step[0] for e in entries], [e.step[1] for e in entries],
                 [e.step[2] for e in entries], init)


INF = 1 << 62  # the return of a crashed op: after every position (an int compares fast)


def zones(rets: list[int], calls: list[int], kinds: list[int], arg_a: list[Any],
          arg_b: list[Any], init: Any) -> ZoneOutcome | None:
    """The zone check on columns: entry i is (calls[i], rets[i] or INF if crashed,
    (kinds[i], arg_a[i], arg_b[i])). ``kinds`` may be modified. None: values not unique."""
    n = len(kinds)
    writer: dict[Any, int] = {}
    for i in [i for i, k in enumerate(kinds) if k]:  # READ is 0: everything else
        k = kinds[i]
        if k == WRITE:
            v = arg_a[i]
        elif k == CAS:
            v = arg_b[i]
            if arg_a[i] == v:
                kinds[i] = READ  # cas [a a]: observes a, changes nothing
                continue
        else:
            return None
        try:
            if v in writer or v == init:
                return None
        except TypeError:
            return None
        writer[v] = i

    # 1. Mandatory ops: the closure of "needed" values from the completed observers.
    mandatory = [r < INF for r in rets]
    needed = {arg_a[i] for i in range(n) if kinds[i] != WRITE and rets[i] < INF}
    todo = list(needed)
    while todo:
        v = todo.pop()
        if v == init:
            continue
        w = writer.get(v)
        if w is None:
            by = next(i for i in range(n) if kinds[i] != WRITE and arg_a[i] == v
                      and (mandatory[i]))
            return ZoneOutcome(False, Conflict("unwritten", [by], v))
        if not mandatory[w]:
            mandatory[w] = True
            if kinds[w] == CAS:
                u = arg_a[w]
                if u not in needed:
                    needed.add(u)
                    todo.append(u)

    readers: dict[Any, list[int]] = {}
    consumer: dict[Any, int] = {}
    roots: list[int] = [-1]
    live = 0
    for i in range(n):
        if not mandatory[i]:
            continue
        live += 1
        k = kinds[i]
        if k == READ:
            a = arg_a[i]
            group = readers.get(a)
            if group is None:
                readers[a] = [i]
            else:
                group.append(i)
        elif k == CAS:
            a = arg_a[i]
            other = consumer.get(a)
            if other is not None:
                return ZoneOutcome(False, Conflict("double", [other, i], a))
            consumer[a] = i
        else:
            roots.append(i)

    # 2-3. Blocks, their static order check, and their zones.
    forward: list[tuple[int, int, int, dict[str, Any]]] = []
    backward: list[tuple[int, int, int, dict[str, Any]]] = []
    reached = 0
    for root in roots:
        if root < 0:
            v, prefix, prefix_op = init, -1, -1
            min_ret, min_ret_op = INF, -1
            size = 0
        else:
            v = arg_a[root]
            prefix, prefix_op = calls[root], root
            min_ret, min_ret_op = rets[root], root
            size = 1
        while True:
            group = readers.get(v)
            if group is not None:
                gmax, gmax_op = -1, -1
                for r in group:
                    ret = rets[r]
                    if prefix > ret:
                        return ZoneOutcome(False, Conflict("order", [r, prefix_op], v))
                    c = calls[r]
                    if c > gmax:
                        gmax, gmax_op = c, r
                    if ret < min_ret:
                        min_ret, min_ret_op = ret, r
                size += len(group)
                if gmax > prefix:
                    prefix, prefix_op = gmax, gmax_op
            nxt = consumer.get(v)
            if nxt is None:
                break
            c, ret = calls[nxt], rets[nxt]
            if c > prefix:
                prefix, prefix_op = c, nxt
            if prefix > ret:
                return ZoneOutcome(False, Conflict("order", [nxt, prefix_op], v))
            if ret < min_ret:
                min_ret, min_ret_op = ret, nxt
            size += 1
            v = arg_b[nxt]
        reached += size
        if size == 0:
            continue  # the initial value, never observed
        detail = {"first_ret": min_ret_op if root >= 0 else -1, "last_call": prefix_op}
        if root < 0:
            forward.append((-1, prefix, root, detail))
        elif min_ret < prefix:  # prefix is now the block's max call
            forward.append((min_ret, prefix, root, detail))
        else:
            backward.append((prefix, min_ret, root, detail))
    if reached != live:
        seen = _chained(roots, arg_a, arg_b, consumer, init)
        cyc = [i for i in range(n) if mandatory[i] and kinds[i] == CAS and i not in seen]
        return ZoneOutcome(False, Conflict("cycle", cyc))

    # 4. Forward zones pairwise disjoint; no backward block inside one of them.
    forward.sort(key=_first)
    for (_s0, e0, r0, d0), (s1, _e1, r1, d1) in zip(forward, forward[1:]):
        if s1 < e0:
            return ZoneOutcome(False, Conflict("overlap", [r0, r1],
                                               detail={"a": d0, "b": d1}))
    starts = [z[0] for z in forward]
    for lo, hi, root, d in backward:
        j = bisect.bisect_right(starts, lo) - 1
        if j >= 0 and forward[j][1] > hi:
            s_, e_, fr, fd = forward[j]
            return ZoneOutcome(False, Conflict("inside", [fr, root],
                                               detail={"a": fd, "b": d}))
    return ZoneOutcome(True, None, len(forward) + len(backward))


def _first(z: tuple[int, int, int, dict[str, Any]]) -> int:
    return z[0]


def _chained(roots: list[int], arg_a: list[Any], arg_b: list[Any], consumer: dict[Any, int],
             init: Any) -> set[int]:
    """The cas ops some chain from a root reaches."""
    seen: set[int] = set()
    for root in roots:
        v = init if root < 0 else arg_a[root]
        while True:
            c = consumer.get(v)
            if c is None or c in seen:
                break
            seen.add(c)
            v = arg_b[c]
    return seen
