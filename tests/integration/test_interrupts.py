"""Ctrl-C in the middle of each kind of fault heals it: `splitbrain run --leave-running` is
interrupted as soon as the history shows the fault applied, and the nodes, still running,
must show nothing of it: no DROP rule in our chains, no stopped process, the db process
running, every faketime rc file at +0 and the db's clock within 1 s of the host's, no strobe
loop, no tbf/netem qdisc."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.history import read_jsonl

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

# kind -> (nemesis, extra options, the fault's start f)
KINDS = {
    "partition": ("partition", [], "start-partition"),
    "clock": ("clock", ["clock=strobe", "clock_targets=all"], "start-clock"),
    "pause": ("pause", ["pause_targets=majority"], "start-pause"),
    "kill": ("kill", ["kill_targets=majority"], "start-kill"),
    "packet-loss": ("packet", ["packet=loss", "packet_targets=all"], "start-packet"),
}

# Runs on a node: everything a left-over fault could show, as JSON.
_INSPECT = r"""
import glob, json, os, subprocess, time
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout
out = {"drops": [l for l in (sh("iptables -S SPLITBRAIN 2>/dev/null") +
                             sh("iptables -S SPLITBRAIN-LOSS 2>/dev/null")).splitlines()
                 if "DROP" in l],
       "stopped": [l for l in sh("ps -eo stat=,args=").splitlines() if l.startswith("T")],
       "strobe": [l for l in sh("ps -eo args=").splitlines() if l.endswith("splitbrain-strobe")],
       "qdisc": [l for l in sh("tc qdisc show").splitlines() if "tbf" in l or "netem" in l],
       "rc": {f: open(f).read().strip()
              for f in glob.glob("/var/lib/splitbrain/faketime/*.rc")}}
try:
    pid = open("/var/run/splitbrain-kvstore.pid").read().strip()
    out["db_alive"] = b"kvstore" in open("/proc/%s/cmdline" % pid, "rb").read()
    raw = open("/proc/%s/environ" % pid, "rb").read().decode()
except OSError as e:
    out.update(db_alive=False, db_skew=None, faketime=None, why=str(e))
else:
    env = dict(kv.split("=", 1) for kv in raw.split("\0") if "=" in kv)
    before = time.time()
    faked = float(subprocess.run(["python3", "-c", "import time; print(time.time())"],
                                 env=env, capture_output=True, text=True).stdout)
    out["db_skew"] = faked - (before + time.time()) / 2
    out["faketime"] = "LD_PRELOAD" in env
print(json.dumps(out))
"""


def cluster_down(name: str) -> None:
    subprocess.run([sys.executable, "-m", "harness.app.cli", "cluster", "down", "--name", name],
                   cwd=REPO, capture_output=True, timeout=120)


def applied(hist: Path, start_f: str) -> bool:
    return any(o.f == start_f and o.type == "info" and not o.error for o in read_jsonl(hist))


@pytest.mark.parametrize("kind", list(KINDS))
def test_interrupt_mid_fault_leaves_nothing_behind(kind, node_image, itest_lock, tmp_path):
    nemesis, opts, start_f = KINDS[kind]
    name = f"itest-{kind}"
    args = ["run", "--nodes", "3", "--time-limit", "60", "--nemesis", nemesis,
            "--nemesis-interval", "2", "--rate", "20", "--concurrency", "3", "--seed", "5",
            "--leave-running", "--cluster", name, "--store", str(tmp_path)]
    for o in opts:
        args += ["--option", o]
    p = subprocess.Popen([sys.executable, "-m", "harness.app.cli", *args], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        hist = None
        while True:
            assert time.monotonic() < deadline, f"{start_f} never applied"
            assert p.poll() is None, p.communicate()[1][-2000:]
            found = list(tmp_path.glob("*/*/history.jsonl"))
            if found and applied(found[0], start_f):
                hist = found[0]
                break
            time.sleep(0.2)
        os.kill(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 2, err[-2000:]
        results = json.loads((hist.parent / "results.json").read_text())
        assert results["interrupted"] is True
        assert results["fault_coverage"][nemesis]["applied"] >= 1

        client = docker.from_env()
        containers = client.containers.list(filters={"label": f"splitbrain.cluster={name}"})
        assert len(containers) == 3, "--leave-running keeps the nodes"
        for c in containers:
            res = c.exec_run(["python3", "-c", _INSPECT])
            assert res.exit_code == 0, res.output.decode()
            state = json.loads(res.output.decode())
            where = f"{kind} on {c.name}: {state}"
            assert state["drops"] == [], where
            assert state["stopped"] == [], where
            assert state["db_alive"], where
            assert state["db_skew"] is not None and abs(state["db_skew"]) < 1.0, where
            assert state["qdisc"] == [], where
            assert state["strobe"] == [], where
            assert all(v == "+0.000000 x1" for v in state["rc"].values()), where
            if kind == "clock":
                assert state["faketime"] and len(state["rc"]) == 1, where
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        cluster_down(name)
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": f"splitbrain.cluster={name}"}) \
        == []
