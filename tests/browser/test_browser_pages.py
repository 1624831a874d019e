"""The store browser's index and a campaign's page in a real browser."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from harness.app.campaign import load_config, run_campaign
from harness.report.render import render_report
from harness.runtime.run import RunOutcome
from harness.spec import TestSpec
from harness.store import new_run_dir
from tests.browser.pages import console_errors, make_run_dir, no_xss, open_page, screenshot

pytestmark = pytest.mark.browser

XSS_NAME = "x<script>window.__xss=1<_script><img src=x onerror=window.__xss=2>"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = tmp_path_factory.mktemp("store")
    bad = make_run_dir(new_run_dir(s, "synthetic-lease"), n_ops=1500, seed=3)
    render_report(bad)
    good = make_run_dir(new_run_dir(s, "synthetic-raft"), n_ops=800, seed=4, valid=True)
    render_report(good)
    odd = new_run_dir(s, XSS_NAME)
    (odd / "test.json").write_text(json.dumps({"name": XSS_NAME}))
    (odd / "history.jsonl").write_text("")
    return s


def test_index_lists_runs_and_opens_their_reports(driver, store, serve_store):
    base = serve_store(store)
    ms = open_page(driver, base + "/")
    assert console_errors(driver) == [] and ms < 2000
    no_xss(driver)
    table = driver.find_element(By.ID, "runs")
    assert table.is_displayed()
    rows = driver.find_elements(By.CSS_SELECTOR, "#runs tr.run")
    assert len(rows) == 3
    assert driver.find_element(By.CSS_SELECTOR, "tr.run.invalid .dot.invalid").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, "tr.run.valid .dot.valid").is_displayed()
    assert XSS_NAME in table.text  # shown as text
    screenshot(driver, "index.png")
    driver.find_element(By.CSS_SELECTOR, "tr.run.invalid a.report").click()
    assert "invalid" in driver.title
    assert driver.find_element(By.CSS_SELECTOR, ".verdict.invalid").is_displayed()
    imgs = driver.execute_script("return [...document.images].map(i => i.naturalWidth)")
    assert imgs and min(imgs) > 300
    assert console_errors(driver) == []
    # The file browser of that run, then a node log.
    driver.find_element(By.CSS_SELECTOR, "#files a[href='nodes/n1/kvstore.log']").click()
    assert "started" in driver.find_element(By.TAG_NAME, "body").text
    open_page(driver, base + "/store/")
    assert driver.find_element(By.ID, "listing").is_displayed()
    driver.find_element(By.LINK_TEXT, "synthetic-lease/").click()
    assert driver.find_element(By.ID, "listing").is_displayed()
    assert console_errors(driver) == []
    no_xss(driver)


def test_traversal_is_refused_in_the_browser(driver, store, serve_store):
    base = serve_store(store)
    # The browser folds %2e%2e itself (so the server sees /etc/passwd: 404); a backslash
    # it leaves alone, and the server refuses it (403). Neither shows the file.
    open_page(driver, base + "/store/%2e%2e/%2e%2e/%2e%2e/etc/passwd")
    assert driver.title.startswith(("403", "404")) and "root:" not in driver.page_source
    open_page(driver, base + "/store/..%5c..%5c..%5cetc%5cpasswd")
    assert driver.title.startswith("403") and "root:" not in driver.page_source


def _fake_runner(store_reports: bool) -> Any:
    """Runs in name only: a run directory with the verdict the book's chapter would get."""
    caught = {("lease", "partition"): {1, 2}, ("lease", "clock"): {1},
              ("lww", "clock"): {1, 2}, ("lww", "partition"): set()}

    def run(spec: TestSpec, *, store: Path, cluster_name: str, say: Any) -> RunOutcome:
        valid = spec.seed not in caught.get((spec.mode, spec.nemesis[0]), set())
        rd = new_run_dir(store, spec.name)
        (rd / "test.json").write_text(spec.to_json())
        results = {"valid": valid, "counts": {"invoke": 100}, "checkers": {}}
        (rd / "results.json").write_text(json.dumps(results))
        (rd / "history.jsonl").write_text("")
        render_report(rd)
        return RunOutcome(run_dir=rd, valid=valid, results=results, report=rd / "report.html")

    return run


def test_campaign_page(driver, tmp_path, serve_store):
    store = tmp_path / "store"
    cfg = load_config(None, {"name": "chapter-9", "modes": "raft,lease,lww",
                             "nemeses": "partition,clock", "seeds": "1,2"})
    out = run_campaign(cfg, store, runner=_fake_runner(True), validate=lambda s: None,
                       say=lambda m: None)
    assert out.valid is False and out.met is False
    page = out.dir / "campaign.html"
    ms = open_page(driver, page.as_uri())
    assert console_errors(driver) == [] and ms < 2000
    matrix = driver.find_element(By.CSS_SELECTOR, "table.matrix")
    assert matrix.is_displayed()
    text = matrix.text
    for want in ("passed 2/2", "caught 2/2", "caught 1/2", "caught 0/2"):
        assert want in text, text
    assert len(driver.find_elements(By.CSS_SELECTOR, "td.cell.met")) == 5
    missed = driver.find_elements(By.CSS_SELECTOR, "td.cell.missed")
    assert len(missed) == 1 and "caught 0/2" in missed[0].text
    assert "ANOMALIES FOUND" in driver.find_element(By.CSS_SELECTOR, ".verdict").text
    screenshot(driver, "campaign.png")
    # Its report links are relative: they work from disk...
    driver.find_elements(By.CSS_SELECTOR, "#runs a.report")[0].click()
    assert "splitbrain" in driver.title and console_errors(driver) == []
    # ...and under serve, from the index.
    base = serve_store(store)
    open_page(driver, base + "/")
    driver.find_element(By.LINK_TEXT, "chapter-9").click()
    assert driver.find_element(By.CSS_SELECTOR, "table.matrix").is_displayed()
    driver.find_elements(By.CSS_SELECTOR, "#runs a.report")[-1].click()
    assert "splitbrain" in driver.title
    assert console_errors(driver) == []
