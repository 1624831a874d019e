"""The false-alarm soak, opt-in (`scripts/test.sh -m soak`, ~25 min): the store's correct
modes over the workloads whose checkers judge final state, under every fault, must all come
out valid. A flagged run is a bug in the store, a workload or a checker; its report says
which. The full matrix (every workload x every nemesis x seeds) is bench/false_alarm_soak.sh.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.soak]
REPO = Path(__file__).resolve().parents[2]


def test_correct_modes_raise_no_false_alarm(node_image, tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "harness.app.cli", "campaign", "--name", "soak-test",
         "--modes", "raft,fenced,primary", "--workloads", "register,set,lost-update,counter",
         "--nemeses", "partition,pause,kill,clock", "--seeds", "1", "--time-limit", "20",
         "--nodes", "5", "--store", str(tmp_path), "--cluster", "itest-soak", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=3600)
    doc = json.loads((tmp_path / "campaigns" / "soak-test" / "campaign.json").read_text())
    flagged = [c for c in doc["cells"] if c.get("valid") is not True]
    assert not flagged, [(c["mode"], c["workload"], c["nemesis"], c.get("valid"),
                          c.get("run_dir")) for c in flagged]
    assert p.returncode == 0, p.stderr[-2000:]
