"""Plugin registry over entry points. Built-ins register through our own pyproject.toml,
the same road a third party takes:

    [project.entry-points."splitbrain.nemeses"]
    my-fault = "my_pkg.nemesis:my_fault_package"

An entry point names a factory, called with what it uses and nothing else:

    db          factory() -> DB
    workload    factory() -> Workload
    nemesis     factory(*, interval: float, seed: int) -> Package
                (interval: seconds between faults, ``--nemesis-interval``; seed: the test's)

Kinds: dbs, workloads, nemeses, checkers. An unknown name is one ConfigError line listing
what is installed.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from harness.api import describe_options
from harness.errors import ConfigError, UnknownPluginError
from harness.options import Opt

KINDS = {"db": "splitbrain.dbs", "workload": "splitbrain.workloads",
         "nemesis": "splitbrain.nemeses", "checker": "splitbrain.checkers"}


def available(kind: str) -> dict[str, Any]:
    """name -> entry point for one plugin kind."""
    group = KINDS[kind]
    return {ep.name: ep for ep in entry_points(group=group)}


def load(kind: str, name: str) -> Callable[..., Any]:
    eps = available(kind)
    if name not in eps:
        raise UnknownPluginError(kind, name, list(eps))
    try:
        return eps[name].load()
    except Exception as e:  # a broken third-party plugin must not look like our crash
        raise ConfigError(f"{kind} plugin {name!r} ({eps[name].value}) failed to load: {e}") \
            from e


def describe() -> dict[str, list[tuple[str, str]]]:
    """kind -> [(name, target)] for `splitbrain list`."""
    return {kind: sorted((n, ep.value) for n, ep in available(kind).items()) for kind in KINDS}


def options_of(kind: str, name: str) -> list[Opt] | None:
    """The options plugin ``name`` of ``kind`` (db, workload, nemesis) declares, for
    `splitbrain list --verbose`; None when it declares none (or is a checker). Builds the
    plugin as the runtime would (a nemesis with interval 5 and seed 0); nothing runs."""
    factory = load(kind, name)
    if kind == "checker":
        return None
    try:
        plugin = factory(interval=5.0, seed=0) if kind == "nemesis" else factory()
    except Exception as e:  # a broken third-party plugin must not look like our crash
        raise ConfigError(f"{kind} plugin {name!r} could not be built: {e}") from e
    return describe_options(plugin)
