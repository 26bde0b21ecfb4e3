"""The dashboard opened in headless Chromium (Debian's ``chromium`` and
``chromium-driver``), against reporting on the real broker and database: the page
asks for a key, then draws every chart with data; no console error; no request leaves
loopback; it fits a phone's width. Screenshots go to ``var/test-output/``."""
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from services.reporting import dashboard
from tests.support import events as made
from tests.support import scenarios
from tests.support.browser import headless_chromium
from tests.support.services import RunningService, running, wait_until
from tests.support.system import fresh_system

OUTPUT = Path(__file__).resolve().parents[3] / "var" / "test-output"
CHARTS = ("trend-chart", "category-chart", "department-chart", "representative-chart")
pytestmark = pytest.mark.skipif(not shutil.which("chromedriver"),
                                reason="needs Debian's chromium-driver (make tools installs it)")


@pytest.fixture(scope="module")
def reporting():
    """Reporting with the sewer scenario of the last three weeks counted."""
    keys, _, directory = fresh_system()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=8, minute=0, second=0, microsecond=0)
    sent, _ = scenarios.sewer_among_others(directory, today - timedelta(days=21))
    with running("reporting") as base:
        made.publish(*sent)
        wait_until(lambda: requests.get(
            f"{base}/api/v1/reports/summary", timeout=5,
            headers={"Authorization": f"Bearer {keys['admin']}"}).json()["received"] == 120,
            timeout=60, what="reporting counted the scenario")
        yield RunningService(base, keys, directory)


@pytest.fixture
def browser():
    driver = headless_chromium(1280, 1600, network_log=True)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver):
    """Every URL the page asked for, from Chromium's network log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def chart_points(driver, chart_id):
    return driver.execute_script(
        "const chart = echarts.getInstanceByDom(document.getElementById(arguments[0]));"
        "return chart ? chart.getOption().series.map(s => s.data.length) : null;", chart_id)


def test_the_dashboard_asks_for_a_key_then_draws_every_chart_offline(reporting, browser):
    base, keys = reporting.base, reporting.keys
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser.get(f"{base}/dashboard")
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                     .get_attribute("data-state") == "key")
    assert browser.find_element(By.ID, "key-dialog").is_displayed()
    browser.find_element(By.ID, "key").send_keys(keys["admin"])
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                     .get_attribute("data-state") in ("ready", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready", \
        browser.find_element(By.ID, "status").text
    browser.save_screenshot(str(OUTPUT / "dashboard.png"))

    received = browser.find_element(By.CSS_SELECTOR, '[data-figure="received"] .value').text
    assert received == "120"
    assert chart_points(browser, "trend-chart") == [30, 30, 30]
    for chart in CHARTS[1:]:
        assert all(points > 0 for points in chart_points(browser, chart)), chart
    hot = browser.find_elements(By.CSS_SELECTOR, "#hot-topics tbody tr")
    assert hot and hot[0].find_elements(By.TAG_NAME, "td")[0].text == "20"
    assert "下水道" in hot[0].text
    assert browser.find_elements(By.CSS_SELECTOR, "#overdue tbody tr"), "the unresolved are overdue"
    assert browser.execute_script("return sessionStorage.getItem('zd.dashboard.key')") == keys["admin"]
    assert browser.execute_script("return localStorage.length") == 0, "the key stays in the session"

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    urls = requested_urls(browser)
    assert f"{base}/dashboard/echarts.min.js?v={dashboard.ECHARTS_VERSION}" in urls
    network = [url for url in urls if not url.startswith("data:")]  # inline images: no request
    assert {urlsplit(url).hostname for url in network} == {"127.0.0.1"}, network

    browser.set_window_size(390, 844)  # a phone
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    browser.save_screenshot(str(OUTPUT / "dashboard-phone.png"))
    assert overflow <= 0


def test_an_office_key_sees_only_its_district_and_a_wrong_key_is_asked_again(reporting, browser):
    base, keys = reporting.base, reporting.keys
    browser.get(f"{base}/dashboard")
    browser.execute_script("sessionStorage.setItem('zd.dashboard.key', arguments[0]); location.reload()",
                           keys["congress:baiyun"])
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                     .get_attribute("data-state") == "ready")
    options = [option.get_attribute("value")
               for option in browser.find_elements(By.CSS_SELECTOR, "#district option")]
    assert options == ["baiyun"]
    browser.execute_script("sessionStorage.setItem('zd.dashboard.key', 'zd_nobody.nothing');"
                           " location.reload()")
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                     .get_attribute("data-state") == "key")
    assert browser.find_element(By.ID, "key-error").text


def test_the_page_is_served_with_its_policy_and_unknown_files_are_404(reporting):
    base = reporting.base
    page = requests.get(f"{base}/dashboard", timeout=5)
    assert page.status_code == 200 and "connect-src 'self'" in page.headers["Content-Security-Policy"]
    assert not [line for line in page.text.splitlines() if "src=\"http" in line or "href=\"http" in line]
    script = requests.get(f"{base}/dashboard/echarts.min.js", timeout=5)
    assert script.status_code == 200 and script.content == dashboard.ASSETS["echarts.min.js"][0].read_bytes()
    assert requests.get(f"{base}/dashboard/../service.py", timeout=5).status_code == 404
    missing = requests.get(f"{base}/dashboard/nothing.js", timeout=5)
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
