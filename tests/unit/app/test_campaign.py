"""Campaigns: config, the run loop with a fake runner, resume after interruption, summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.api import Mode
from harness.app import campaign as cmod
from harness.app import cli
from harness.app.campaign import load_config, run_campaign, summarise
from harness.errors import ClusterError, ConfigError
from harness.runtime.run import RunOutcome
from harness.spec import TestSpec
from harness.store import new_run_dir

TOML = """
name = "chapter"
modes = ["raft", "lease"]
workloads = ["register"]
nemeses = ["partition", "pause+clock"]
seeds = [1, 2]
time_limit = 12
nodes = 3

[expect]
lease = "invalid"

[options]
keys = 4
"""


# The db these campaigns run: the expectations campaign.py hard-coded before dbs declared
# their modes (correct designs valid, broken ones invalid, under every fault), plus a mode
# whose expectation depends on the fault.
MODES = [Mode("raft", "linearizable", expect_default=True),
         Mode("primary", "linearizable while the primary lives", expect_default=True),
         Mode("lease", "leader leases: stale reads under a paused leader", expect_default=False),
         Mode("fenced", "leases with fencing tokens", expect_default=True),
         Mode("lww", "last write wins", expect_default=False),
         Mode("async", "async replication", expect_default=False),
         Mode("weak", "breaks under partitions only",
              expect={"partition": False, "clock": True, "pause": "unknown"},
              expect_default=True)]


@pytest.fixture(autouse=True)
def fake_db_modes(monkeypatch: pytest.MonkeyPatch) -> list[Mode]:
    """Campaigns read modes and expectations from the db plugin: here, from MODES."""
    monkeypatch.setattr(cmod, "db_modes", lambda db: list(MODES))
    return MODES


class FakeRunner:
    """Stands in for harness.runtime.run.run_test: makes a run directory with a results.json whose
    verdict comes from ``verdicts`` (by mode, or a function of the spec)."""

    def __init__(self, verdicts: Any = None, interrupt_at: int | None = None,
                 raise_at: dict[int, BaseException] | None = None,
                 interrupted_run_at: int | None = None):
        self.verdicts = verdicts or {"raft": True, "lease": False}
        self.calls: list[TestSpec] = []
        self.interrupt_at, self.raise_at = interrupt_at, raise_at or {}
        self.interrupted_run_at = interrupted_run_at

    def __call__(self, spec: TestSpec, *, store: Path, cluster_name: str, say: Any
                 ) -> RunOutcome:
        self.calls.append(spec)
        n = len(self.calls)
        if n == self.interrupt_at:
            raise KeyboardInterrupt
        if n in self.raise_at:
            raise self.raise_at[n]
        v = self.verdicts(spec) if callable(self.verdicts) else self.verdicts[spec.mode]
        rd = new_run_dir(store, spec.name)
        (rd / "test.json").write_text(spec.to_json())
        results = {"valid": v, "interrupted": n == self.interrupted_run_at,
                   "counts": {"invoke": 10}}
        (rd / "results.json").write_text(json.dumps(results))
        return RunOutcome(run_dir=rd, valid=v, results=results, report=None)


def _no_validate(spec: TestSpec) -> None:
    pass


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(TOML)
    return p


def test_load_config_from_toml_with_overrides(cfg_file):
    cfg = load_config(cfg_file, {"seeds": "3,4,5", "time_limit": None})
    assert cfg.name == "chapter" and cfg.modes == ["raft", "lease"]
    assert cfg.nemeses == ["partition", "pause+clock"] and cfg.seeds == [3, 4, 5]
    assert cfg.time_limit == 12.0 and cfg.nodes == 3 and cfg.options == {"keys": 4}
    assert len(cfg.cells()) == 2 * 2 * 3
    spec = cfg.spec(cfg.cells()[3])
    assert spec.nemesis == ("pause", "clock") and spec.name == "chapter-raft-register-pause_clock"
    assert spec.nodes == ("n1", "n2", "n3") and spec.seed == 3 and spec.options == {"keys": 4}
    assert cfg.expectation("raft", "partition") == "valid"
    assert cfg.expectation("lease", "pause+clock") == "invalid"  # [expect] and the db agree
    assert cfg.expectation("lww", "clock") == "invalid"
    assert cfg.expectation("fenced", "partition") == "valid"
    assert cfg.expectation("custom", "partition") is None
    assert [c.expect for c in cfg.cells()[:6]] == ["valid"] * 6


def test_modes_and_expectations_come_from_the_db():
    cfg = load_config(None, {"nemeses": "partition,clock,pause,clock+partition,none"})
    assert cfg.modes == ["raft"]  # the db's default mode: the first it declares
    every = load_config(None, {"modes": "all"})
    assert every.modes == [m.name for m in MODES]
    weak = {c.nemesis: c.expect for c in load_config(
        None, {"modes": "weak", "nemeses": "partition,clock,pause,clock+partition,none"}
    ).cells()}
    # Per fault; a combination expects the worst of its parts; unknown expects nothing.
    assert weak == {"partition": "invalid", "clock": "valid", "pause": None,
                    "clock+partition": "invalid", "none": "valid"}
    over = load_config(None, {"modes": "weak", "expect": {"weak": "valid"}})
    assert over.expectation("weak", "partition") == "valid"  # the config's [expect] wins


def test_expectations_that_do_not_depend_on_the_fault_keep_the_old_identity():
    cfg = load_config(None, {"modes": "raft,lease,weak", "nemeses": "partition,clock"})
    assert cfg.identity()["expect"] == {
        "raft": "valid", "lease": "invalid",
        "weak": {"partition": "invalid", "clock": "valid"}}
    assert "declared" not in cfg.identity()


def test_unknown_modes_are_refused_naming_the_db_modes():
    with pytest.raises(ConfigError, match="no mode 'nosuch'.*raft, primary"):
        load_config(None, {"modes": "raft,nosuch"})


def test_a_db_without_modes(monkeypatch):
    monkeypatch.setattr(cmod, "db_modes", lambda db: [])
    cfg = load_config(None, {"db": "plain"})
    assert cfg.modes == [""] and cfg.cells()[0].expect is None
    assert cfg.spec(cfg.cells()[0]).mode == ""
    with pytest.raises(ConfigError, match="declares no modes"):
        load_config(None, {"db": "plain", "modes": "all"})


def test_cli_axes_give_a_stable_name():
    a = load_config(None, {"modes": "raft,lease", "test_count": 3})
    b = load_config(None, {"modes": "raft,lease", "test_count": 3, "cluster": "other"})
    c = load_config(None, {"modes": "raft,lease", "test_count": 4})
    assert a.seeds == [1, 2, 3] and a.name == b.name != c.name
    assert a.name.startswith("campaign-")


@pytest.mark.parametrize("overrides,message", [
    ({"seeds": "1", "test_count": 2}, "not both"),
    ({"modes": ""}, "non-empty list"),
    ({"modes": "raft,raft"}, "twice"),
    ({"modes": "a/b"}, "not a usable name"),
    ({"seeds": "1,x"}, "integers"),
    ({"test_count": 0}, "test_count"),
    ({"time_limit": -1}, "positive"),
    ({"nodes": 2.5}, "positive int"),
    ({"expect": {"raft": "maybe"}}, "expect"),
    ({"bogus": 1}, "unknown campaign setting"),
    ({"name": "../x"}, "directory name"),
])
def test_bad_config_is_one_config_error(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_bad_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("modes = [raft")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="no campaign file"):
        load_config(tmp_path / "missing.toml")


def test_runs_every_cell_and_summarises(cfg_file, tmp_path):
    store = tmp_path / "store"
    cfg = load_config(cfg_file)
    # lease escapes detection once: partition, seed 2
    runner = FakeRunner(verdicts=lambda s: s.mode == "raft" or
                        (s.seed == 2 and s.nemesis == ("partition",)))
    out = run_campaign(cfg, store, runner=runner, validate=_no_validate, say=lambda m: None)
    assert len(runner.calls) == 8 and out.valid is False and out.met is True
    doc = json.loads((store / "campaigns" / "chapter" / "campaign.json").read_text())
    assert doc["status"] == "done" and doc["valid"] is False and doc["met"] is True
    assert all(c["status"] == "done" for c in doc["cells"])
    cell = doc["cells"][0]
    assert cell["id"] == "raft/register/partition/1" and cell["met"] is True
    assert (store / cell["run_dir"] / "results.json").is_file()  # relative to the store
    by = {(s["mode"], s["nemesis"]): s for s in doc["summary"]}
    assert by[("raft", "partition")]["text"] == "passed 2/2"
    assert by[("lease", "partition")]["text"] == "caught 1/2"
    assert by[("lease", "pause+clock")]["text"] == "caught 2/2"
    html = (store / "campaigns" / "chapter" / "campaign.html").read_text()
    assert "caught 1/2" in html and "passed 2/2" in html
    assert 'href="../../chapter-raft-register-partition/' in html  # relative run links
    assert not list((store / "campaigns" / "chapter").glob(".*.tmp"))


def test_expectation_missed_and_unknown_verdicts(tmp_path):
    cfg = load_config(None, {"modes": "raft,lease", "seeds": "1,2"})
    runner = FakeRunner(verdicts={"raft": "unknown", "lease": True})
    out = run_campaign(cfg, tmp_path, runner=runner, validate=_no_validate, say=lambda m: None)
    by = {s["mode"]: s for s in out.summary}
    assert by["raft"]["text"] == "passed 0/2" and by["raft"]["met"] is False
    assert by["raft"]["unknown"] == 2
    assert by["lease"]["text"] == "caught 0/2" and by["lease"]["met"] is False
    assert out.valid == "unknown" and out.met is False


def test_interrupted_campaign_resumes_where_it_stopped(cfg_file, tmp_path):
    store = tmp_path / "store"
    cfg = load_config(cfg_file)
    first = FakeRunner(interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        run_campaign(cfg, store, runner=first, validate=_no_validate, say=lambda m: None)
    doc = json.loads((store / "campaigns" / "chapter" / "campaign.json").read_text())
    assert doc["status"] == "interrupted"
    assert [c["status"] for c in doc["cells"]][:4] == ["done", "done", "interrupted", "pending"]
    second = FakeRunner()
    out = run_campaign(cfg, store, runner=second, validate=_no_validate, say=lambda m: None)
    ran = [(s.mode, "+".join(s.nemesis), s.seed) for s in second.calls]
    assert len(ran) == 6 and ran[0] == ("raft", "pause+clock", 1)  # the interrupted cell first
    assert all(c.status == "done" for c in out.cells)
    third = FakeRunner()
    run_campaign(cfg, store, runner=third, validate=_no_validate, say=lambda m: None)
    assert third.calls == []  # all done: nothing runs again


def test_a_run_that_reports_itself_interrupted_stops_the_campaign(tmp_path):
    cfg = load_config(None, {"modes": "raft", "seeds": "1,2,3"})
    with pytest.raises(KeyboardInterrupt):
        run_campaign(cfg, tmp_path, runner=FakeRunner(interrupted_run_at=2),
                     validate=_no_validate, say=lambda m: None)
    doc = json.loads((tmp_path / "campaigns" / cfg.name / "campaign.json").read_text())
    assert [c["status"] for c in doc["cells"]] == ["done", "interrupted", "pending"]
    assert doc["cells"][1]["run_dir"]  # its partial run is recorded


def test_harness_errors_mark_the_cell_and_go_on(tmp_path):
    cfg = load_config(None, {"modes": "raft", "seeds": "1,2"})
    runner = FakeRunner(raise_at={1: ClusterError("docker is down")})
    out = run_campaign(cfg, tmp_path, runner=runner, validate=_no_validate, say=lambda m: None)
    assert [c.status for c in out.cells] == ["error", "done"]
    assert out.cells[0].error == "docker is down" and out.valid == "unknown"
    again = FakeRunner()
    run_campaign(cfg, tmp_path, runner=again, validate=_no_validate, say=lambda m: None)
    assert [s.seed for s in again.calls] == [1]  # errors are retried, done cells are not


def test_same_name_with_other_settings_is_refused(tmp_path):
    cfg = load_config(None, {"name": "x", "modes": "raft"})
    run_campaign(cfg, tmp_path, runner=FakeRunner(), validate=_no_validate, say=lambda m: None)
    other = load_config(None, {"name": "x", "modes": "raft", "time_limit": 99})
    with pytest.raises(ConfigError, match="other settings"):
        run_campaign(other, tmp_path, runner=FakeRunner(), validate=_no_validate,
                     say=lambda m: None)


def test_unknown_plugins_are_refused_before_anything_runs(tmp_path):
    runner = FakeRunner()
    with pytest.raises(ConfigError, match="nosuchmode"):
        run_campaign(load_config(None, {"modes": "raft,nosuchmode"}), tmp_path,
                     runner=runner, say=lambda m: None)
    cfg = load_config(None, {"modes": "raft", "workloads": "nosuchworkload"})
    with pytest.raises(ConfigError, match="nosuchworkload"):
        run_campaign(cfg, tmp_path, runner=runner, say=lambda m: None)
    assert runner.calls == [] and not (tmp_path / "campaigns").exists()


def test_summarise_counts_pending_cells():
    cfg = load_config(None, {"modes": "lease", "seeds": "1,2,3"})
    cells = cfg.cells()
    cells[0].status, cells[0].valid = "done", False
    s = summarise(cfg, cells)[0]
    assert s["text"] == "caught 1/1" and s["pending"] == 2 and s["met"] is True


def test_cli_campaign_exit_code_is_the_worst_verdict(cfg_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cmod, "_default_runner", FakeRunner())
    monkeypatch.setattr(cmod, "_default_validate", _no_validate)
    with pytest.raises(SystemExit) as e:
        cli.main(["campaign", str(cfg_file), "--store", str(tmp_path / "s")])
    assert e.value.code == 1
    out = capsys.readouterr()
    assert "caught 2/2" in out.out and "passed 2/2" in out.out
    assert out.out.strip().endswith("campaign.html")
    monkeypatch.setattr(cmod, "_default_runner", FakeRunner(verdicts={"raft": True}))
    with pytest.raises(SystemExit) as e:
        cli.main(["campaign", "--modes", "raft", "--seeds", "1", "--store",
                  str(tmp_path / "s2"), "--json"])
    assert e.value.code == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["valid"] is True and last["met"] is True


def test_cli_campaign_dry_run_and_bad_args(cfg_file, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["campaign", str(cfg_file), "--dry-run"])
    assert e.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[0].startswith("raft/register/partition/1")
    with pytest.raises(SystemExit) as e:
        cli.main(["campaign", "--seeds", "1", "--test-count", "2"])
    assert e.value.code == 254


def test_cli_list_shows_each_db_modes_with_their_promise(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["list"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "mode raft        linearizable  (default)" in out
    assert "mode weak        breaks under partitions only" in out


def test_cli_run_mode_defaults_to_the_db_default_mode(monkeypatch, tmp_path):
    import harness.runtime.run as run_mod

    specs: list[TestSpec] = []

    def fake_run_test(spec: TestSpec, **kw: Any) -> RunOutcome:
        specs.append(spec)
        return RunOutcome(run_dir=tmp_path, valid=True, results={}, report=None)

    monkeypatch.setattr(run_mod, "run_test", fake_run_test)
    monkeypatch.setattr(cli, "_sigterm_as_interrupt", lambda: None)
    for args in ([], ["--mode", "lease"]):
        with pytest.raises(SystemExit) as e:
            cli.main(["run", "--time-limit", "1", "--store", str(tmp_path), *args])
        assert e.value.code == 0
    assert [(s.mode, s.name) for s in specs] == [("raft", "kvstore-raft-register"),
                                                 ("lease", "kvstore-lease-register")]


def test_campaign_options_need_one_cell_that_reads_them(tmp_path):
    # keys is read by register but not by unique-ids: fine in a matrix of both; a typo is
    # read by nobody: one line with a did-you-mean, before any cluster starts.
    from harness.app.campaign import CampaignConfig, check_plugins
    from harness.errors import ConfigError

    def validate(spec):
        return {"keys", "read_ratio"} if spec.workload == "register" else {"read_ratio"}

    cfg = CampaignConfig(name="x", modes=["raft"], workloads=["register", "unique-ids"],
                         nemeses=["none"], seeds=[1], options={"keys": 3})
    check_plugins(cfg, validate)
    cfg.options = {"keyz": 3}
    with pytest.raises(ConfigError, match="did you mean 'keys'"):
        check_plugins(cfg, validate)
    check_plugins(cfg, lambda spec: None)  # a plugin that declares nothing may read it
