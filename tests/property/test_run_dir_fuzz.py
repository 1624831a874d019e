"""Damaged run directories through `report` and `check`: whatever a crash, a full disk or a
hand edit left behind, the answer is a report page or one error line, never a traceback.

A small real run directory is made once (a synthetic history, analysed as `splitbrain run`
would); each example damages copies of its files (truncated, bytes flipped, replaced by
other JSON, deleted) and runs the CLI's `report` (rendering, and `--recheck`) and `check`
on it in-process through the CLI's entry point. (No shrinking: an example costs ~1 s, and a
failing one is reported as drawn.)
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.app.cli import main
from harness.history import write_jsonl
from harness.runtime.run import analyse
from harness.spec import TestSpec
from harness.testing import register_history

FILES = ("test.json", "results.json", "history.jsonl")
EXIT_CODES = {0, 1, 2, 254}

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                   max_size=4),
    max_leaves=12)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("run")
    spec = TestSpec(nodes=("n1", "n2", "n3"), time_limit=1, nemesis=(), name="fuzz")
    (d / "test.json").write_text(spec.to_json() + "\n")
    write_jsonl(d / "history.jsonl", register_history(seed=3, n_ops=40, keys=2))
    analyse(d, spec=spec)
    assert json.loads((d / "results.json").read_text())["valid"] is True
    return d


def damage(data: bytes, how: str, at: float, junk: bytes, value: object) -> bytes | None:
    cut = int(len(data) * at)
    if how == "truncate":
        return data[:cut]
    if how == "flip":
        return data[:cut] + junk + data[cut + len(junk):]
    if how == "insert":
        return data[:cut] + junk + data[cut:]
    if how == "json":
        return json.dumps(value).encode()
    return None  # delete


@settings(max_examples=int(os.environ.get("SPLITBRAIN_FUZZ_EXAMPLES", "25")), deadline=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(FILES),
       how=st.sampled_from(["truncate", "flip", "insert", "json", "delete"]),
       at=st.floats(0, 1), junk=st.binary(min_size=1, max_size=12), value=JSONISH)
def test_damaged_run_dirs_never_crash_report_or_check(pristine: Path, tmp_path_factory, name,
                                                      how, at, junk, value) -> None:
    d = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(pristine, d)
    new = damage((d / name).read_bytes(), how, at, junk, value)
    if new is None:
        (d / name).unlink()
    else:
        (d / name).write_bytes(new)
    for args in (["report", str(d)], ["report", str(d), "--recheck"],
                 ["check", str(d), "--json"]):
        with pytest.raises(SystemExit) as done:
            main(args)   # anything but SystemExit (a traceback) fails the test here
        assert done.value.code in EXIT_CODES, (args, done.value.code)
