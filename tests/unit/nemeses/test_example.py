"""README's worked example (nemeses/example_marker.py) really works, against FakeRemote."""
from __future__ import annotations

import pytest

from harness import generators as g
from harness.errors import NemesisError
from harness.history import INFO, INVOKE, NEMESIS, Op
from nemeses.example_marker import MARKER, marker_package

NODES = ["n1", "n2", "n3"]


def test_marker_package_against_fake_remotes(make_ctx):
    ctx = make_ctx(nodes=NODES)
    remotes = ctx.remotes
    pkg = marker_package(interval=2, seed=0)
    nem = pkg.nemesis
    nem.setup(ctx)
    assert all(r.commands == [f"rm -f {MARKER}"] for r in remotes.values())
    done = nem.invoke(ctx, Op(type="invoke", f="start-marker", process=NEMESIS))
    assert done.type == INFO and done.value["description"] == f"marker on {done.value['node']}"
    assert "seconds" in done.value
    assert remotes[done.value["node"]].ran(f"touch {MARKER}")
    nem.invoke(ctx, Op(type="invoke", f="stop-marker", process=NEMESIS))
    nem.teardown(ctx)
    assert all(r.commands[-1] == f"rm -f {MARKER}" for r in remotes.values())
    with pytest.raises(NemesisError, match="torn down"):
        nem.invoke(ctx, Op(type="invoke", f="start-marker", process=NEMESIS))
    with pytest.raises(NemesisError, match="marker nemesis cannot do 'start-chaos'"):
        nem.invoke(ctx, Op(type="invoke", f="start-chaos", process=NEMESIS))
    # The schedule: first start after one interval, then alternating.
    h = g.simulate(g.nemesis(g.time_limit(7, pkg.generator)), concurrency=0, nemesis=True)
    assert [(o.f, round(o.time / 1e9)) for o in h if o.type == INVOKE] == [
        ("start-marker", 2), ("stop-marker", 4), ("start-marker", 6)]


def test_a_failing_remote_becomes_a_nemesis_error_with_its_duration(make_ctx):
    ctx = make_ctx(nodes=NODES,
                   responses={n: {f"touch {MARKER}": (1, "", "read-only fs")} for n in NODES})
    with pytest.raises(NemesisError, match=r"read-only fs \(after \d\.\d\d s\)"):
        marker_package().nemesis.invoke(ctx, Op(type="invoke", f="start-marker", process=NEMESIS))
