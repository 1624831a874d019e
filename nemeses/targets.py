"""Which nodes a fault hits, chosen afresh for every start op.

A target spec is one of

    one        a random node
    minority   a random minority: max(1, (n - 1) // 2) nodes
    majority   a random majority: n // 2 + 1 nodes
    all        every node
    primaries  the nodes the db names as primaries/leaders (HasPrimaries); a random node if
               it names none at that moment (the value says so)
    random     a random non-empty subset

or explicit nodes, "n1,n3". Option ``targets`` (or ``<kind>_targets``, e.g.
``pause_targets``) takes one spec or a list of them, one picked at random per op. Without it,
pause, kill and clock draw from one, minority, majority, all, and primaries when the db names
its primaries (``default_targets``; Jepsen's nemesis.combined does the same):

    --option pause_targets=majority
    --option 'kill_targets=["one", "n1,n2"]'

    >>> import random
    >>> choices = parse_targets(["one", "n1,n3"], ["n1", "n2", "n3"])
    >>> choices
    ['one', ('n1', 'n3')]
    >>> pick(choices[1], ["n1", "n2", "n3"], random.Random(0))
    ['n1', 'n3']
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from harness.api import Context, HasPrimaries
from harness.errors import ConfigError
from harness.options import Opt, OptEnv, as_list, lookup
from nemeses.common import sort_nodes

SPECS = ("one", "minority", "majority", "all", "primaries", "random")
Choice = str | tuple[str, ...]
# The default of pause, kill and clock (Jepsen's nemesis.combined db-nodes): a size drawn
# afresh per fault, and the primaries when the db can name them, so a fault that only bites
# a leader (a paused lease holder) is not left to a 1-in-n draw.
DEFAULT_CHOICES: tuple[Choice, ...] = ("one", "minority", "majority", "all")
# With a db that names its primaries, a fault hits exactly the primaries 3 times in 7: a
# paused, killed or skewed leader is where lease, failover and fencing bugs live, and with the
# five shapes drawn evenly (Jepsen's combined nemesis) a 60 s run of 12 faults missed the
# broken lease mode 1 time in 10 (pausing followers, a majority or all nodes shows nothing).
DEFAULT_WITH_PRIMARIES: tuple[Choice, ...] = (
    "one", "primaries", "primaries", "primaries", "minority", "majority", "all")


def parse_targets(value: Any, nodes: list[str], *, what: str = "targets") -> list[Choice]:
    """Validate a ``targets`` option into a list of choices; ConfigError (one line) if any
    element is neither a spec nor a comma-separated list of this test's nodes. A string is one
    choice ("n1,n3" is both nodes at once), a list is several."""
    items = [value] if isinstance(value, str) else as_list(value)
    if not items:
        raise ConfigError(f"option {what} is empty; give one of {', '.join(SPECS)} or nodes "
                          "like n1,n3")
    out: list[Choice] = []
    for item in items:
        if isinstance(item, list | tuple):
            names = [str(x) for x in item]
        elif isinstance(item, str) and item in SPECS:
            out.append(item)
            continue
        elif isinstance(item, str):
            names = [s.strip() for s in item.split(",") if s.strip()]
        else:
            names = []
        unknown = [n for n in names if n not in nodes]
        if not names or unknown:
            raise ConfigError(f"option {what}: {item!r} is not a target; give one of "
                              f"{', '.join(SPECS)} or nodes of this test like "
                              f"{','.join(nodes[:2])}")
        out.append(tuple(names))
    return out


def default_targets(ctx: Context) -> list[Choice]:
    """What a fault hits when no ``targets`` option says: one of one, minority, majority and
    all, drawn per fault; when the db names its primaries (HasPrimaries), primaries too, 3
    draws in 7 (see DEFAULT_WITH_PRIMARIES)."""
    return list(DEFAULT_WITH_PRIMARIES if isinstance(ctx.db, HasPrimaries)
                else DEFAULT_CHOICES)


def targets_option(ctx: Context, kind: str, default: Any = None) -> list[Choice]:
    """The ``<kind>_targets`` / ``targets`` option of this test, validated; without one,
    ``default``, or (None) ``default_targets(ctx)``."""
    found, raw = lookup(ctx.options, "targets", prefix=kind)
    if not found and default is None:
        return default_targets(ctx)
    value = raw if found else default
    choices = parse_targets(value, list(ctx.nodes), what=f"{kind}_targets")
    if "primaries" in choices and not isinstance(ctx.db, HasPrimaries):
        raise ConfigError(f"option {kind}_targets=primaries needs a db that names its "
                          f"primaries (HasPrimaries); db {_db_name(ctx)} does not")
    return choices


def targets_opt(kind: str, default: str | None = None) -> Opt:
    """The declaration of option ``<kind>_targets`` / ``targets`` (harness.options.Opt):
    checked against the test's nodes and, for primaries, its db."""
    shown = default or "one/minority/majority/all, and primaries (3 in 7) when the db names them"
    return Opt("targets", object, default, f"which nodes a {kind} fault hits: one of "
               f"{', '.join(SPECS)}, nodes like n1,n3, or a list to draw from (default: "
               f"{shown})", check=_check_targets, prefix=kind)


def _check_targets(value: Any, env: OptEnv) -> str | None:
    nodes = list(env.nodes)
    try:
        choices = parse_targets(value, nodes)
    except ConfigError:
        like = ",".join(nodes[:2]) or "n1,n2"
        return f"one of {', '.join(SPECS)}, or nodes of this test like {like}"
    if "primaries" in choices and env.db is not None and not isinstance(env.db, HasPrimaries):
        name = getattr(env.db, "name", type(env.db).__name__)
        return f"a target other than primaries: db {name} does not name its primaries"
    return None


def pick(choice: Choice, nodes: list[str], rng: random.Random,
         primaries: Callable[[], list[str]] | None = None) -> list[str]:
    """The nodes one choice selects now, in the test's node order."""
    n = len(nodes)
    if isinstance(choice, tuple):
        chosen = list(choice)
    elif choice == "one":
        chosen = [rng.choice(nodes)]
    elif choice == "minority":
        chosen = rng.sample(nodes, max(1, (n - 1) // 2))
    elif choice == "majority":
        chosen = rng.sample(nodes, n // 2 + 1)
    elif choice == "all":
        chosen = list(nodes)
    elif choice == "random":
        chosen = rng.sample(nodes, rng.randint(1, n))
    elif choice == "primaries":
        chosen = [p for p in (primaries() if primaries else []) if p in nodes]
        if not chosen:
            chosen = [rng.choice(nodes)]
    else:
        raise ConfigError(f"unknown target {choice!r}; give one of {', '.join(SPECS)}")
    order = {x: i for i, x in enumerate(nodes)}
    return sorted(set(chosen), key=order.__getitem__)


def select(ctx: Context, choices: list[Choice], rng: random.Random) -> tuple[list[str], str]:
    """Pick one choice at random and resolve it: (nodes, how), e.g. (["n2"], "one")."""
    choice = rng.choice(choices)
    known: list[str] = []
    if choice == "primaries" and isinstance(ctx.db, HasPrimaries):
        known = list(ctx.db.primaries(ctx))
    nodes = pick(choice, list(ctx.nodes), rng, lambda: known)
    how = ",".join(choice) if isinstance(choice, tuple) else choice
    if choice == "primaries" and not set(nodes) & set(known):
        how = "primaries (none known: a random node)"
    return sort_nodes(ctx, nodes), how


def _db_name(ctx: Context) -> str:
    return str(getattr(ctx.db, "name", type(ctx.db).__name__ if ctx.db is not None else None))
