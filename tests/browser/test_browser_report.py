"""report.html in a real browser: loads offline with no console errors, shows what matters,
and runs nothing that came from the history."""
from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from harness.report.render import render_report
from tests.browser.pages import console_errors, make_run_dir, no_xss, open_page, screenshot

pytestmark = pytest.mark.browser

POISON = ('<script>window.__xss=1;document.title="pwned"</script>'
          '<img src=x onerror="window.__xss=2">')


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rd = make_run_dir(tmp_path_factory.mktemp("fail") / "run", n_ops=4000, seed=3)
    render_report(rd)
    return rd


def test_failing_report_loads_and_shows_the_anomaly(driver, failing_run):
    ms = open_page(driver, (failing_run / "report.html").as_uri())
    assert console_errors(driver) == []
    assert 0 < ms < 2000, ms
    assert "invalid" in driver.title
    banner = driver.find_element(By.CSS_SELECTOR, ".verdict.invalid")
    assert banner.is_displayed() and "INVALID" in banner.text
    for section in ("summary", "faults", "performance", "causes", "timeline", "checkers",
                    "files"):
        assert driver.find_element(By.ID, section).is_displayed()
    # Every plot decoded into a real image (a broken data: URI has naturalWidth 0).
    sizes = driver.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(sizes) == 4, sizes  # latency, throughput, processes, clock offsets
    assert all(done and w > 300 for done, w, _ in sizes), sizes
    expl = driver.find_element(By.CSS_SELECTOR, ".anomaly .explanation")
    assert expl.is_displayed() and "key" in expl.text and " s" in expl.text
    witness = driver.find_elements(By.CSS_SELECTOR, ".anomaly svg rect.witness")
    assert witness and all(w.is_displayed() for w in witness)
    assert driver.find_element(By.CSS_SELECTOR, "#faults svg.timeline").is_displayed()
    assert "p99 ms" in driver.find_element(By.ID, "performance").text
    log_links = driver.find_elements(By.CSS_SELECTOR, "#files a[href^='nodes/']")
    assert len(log_links) == 5
    shot = screenshot(driver, "report-invalid.png")
    assert shot.stat().st_size > 50_000
    # The anomaly itself, as a person scrolled to it sees it.
    driver.execute_script("document.querySelector('.anomaly').scrollIntoView()")
    screenshot(driver, "report-anomaly.png", full=False)
    # A node log opens from its link (relative, from disk).
    log_links[0].click()
    assert "started" in driver.find_element(By.TAG_NAME, "body").text
    assert console_errors(driver) == []


def test_values_from_the_history_are_shown_never_run(driver, tmp_path):
    rd = make_run_dir(tmp_path / "run", n_ops=1500, seed=5, poison=POISON)
    render_report(rd)
    open_page(driver, (rd / "report.html").as_uri())
    no_xss(driver)
    assert console_errors(driver) == []
    body = driver.find_element(By.TAG_NAME, "body").text
    # As text: in the fault table, the anomaly's explanation and the title.
    assert body.count(POISON) >= 2, body[:2000]
    assert 'synthetic <script>window.__xss=1;document.title="pwned"<_script>' in body
    assert not driver.find_elements(By.CSS_SELECTOR, "body script, img[src='x']")
    # Hovering the SVG timelines renders <title> text, never markup.
    titles = driver.execute_script(
        "return [...document.querySelectorAll('svg title')].map(t => t.textContent)")
    assert titles and not driver.find_elements(By.CSS_SELECTOR, "svg script, svg img")
    no_xss(driver)


def test_big_report_loads_fast(driver, tmp_path):
    """A 30,000-op history (the 100,000-op figure is bench/report_load.py's)."""
    rd = make_run_dir(tmp_path / "run", n_ops=30_000, seed=9, valid=True)
    out = render_report(rd)
    assert out.stat().st_size < 3_000_000
    times = [open_page(driver, out.as_uri()) for _ in range(3)]
    assert console_errors(driver) == []
    assert sorted(times)[1] < 2000, times
    notes = driver.find_element(By.ID, "timeline").text
    assert "20,000 of 30,000 ops drawn" in notes
