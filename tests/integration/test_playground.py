"""The playground page in a real headless browser (Debian's chromium + chromedriver, driven by
selenium) against the real stack: a rank of two resumes shows each answer with its checks,
evidence and status, and a screenshot is written to the test's folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hrstack.validators.rank import CHECKS
from tests.integration.conftest import API_KEY
from tests.integration.test_gateway import JD, RESUME, WEAK

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("Debian's chromium and chromium-driver are needed: `make browser`")
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,2000"):  # fmt: skip
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()


def test_the_playground_shows_a_rank_answer_with_its_checks(gateway, browser, tmp_path: Path,
                                                              figures):  # fmt: skip
    browser.get(f"{gateway.url}/playground")
    Select(browser.find_element(By.ID, "task")).select_by_value("rank")
    browser.find_element(By.ID, "job").send_keys(JD)
    browser.find_element(By.ID, "resumes").send_keys(f"{RESUME}\n---\n{WEAK}")
    browser.find_element(By.ID, "key").send_keys(API_KEY)
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 600).until(
        lambda page: (
            page.find_elements(By.CSS_SELECTOR, ".answer")
            or page.find_elements(By.CSS_SELECTOR, "#out .error")
        )
    )
    errors = browser.find_elements(By.CSS_SELECTOR, "#out .error")
    assert not errors, errors[0].text
    cards = browser.find_elements(By.CSS_SELECTOR, ".answer")
    assert len(cards) == 2  # one per resume, sorted by score
    for card in cards:
        rows = card.find_elements(By.CSS_SELECTOR, "table.checks tr[data-check]")
        assert {row.get_attribute("data-check") for row in rows} == set(CHECKS)
        results = {row.find_elements(By.TAG_NAME, "td")[1].text for row in rows}
        assert results <= {"pass", "fail"} and results
        assert card.find_element(By.CSS_SELECTOR, ".status").text in ("shortlist", "reject",
                                                                       "verify")  # fmt: skip
        assert "must-have met" in card.find_element(By.CSS_SELECTOR, ".evidence").text
    shot = tmp_path / "playground-rank.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    figures(f"rank of 2 resumes shown with {len(CHECKS)} checks each; screenshot {shot}")
