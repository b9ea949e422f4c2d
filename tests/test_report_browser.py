"""The HTML report in a real browser: Debian's headless Chromium driven by selenium, from
file:// and over a local HTTP server. Needs chromium and chromium-driver (scripts/setup.sh);
without them these tests fail, they never skip. Screenshots of each page type go to
test-output/report-screenshots/ for review."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.reportsite import HOSTILE_TITLE, HOSTILE_UPC, ReportSite, build_site

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / "test-output" / "report-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ReportSite:
    return build_site(tmp_path_factory.mktemp("browser-report"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: run scripts/setup.sh (apt chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def http_root(site: ReportSite) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site.out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=["file", "http"])
def base(request: pytest.FixtureRequest, site: ReportSite) -> str:
    if request.param == "file":
        return site.out.as_uri() + "/"
    return request.getfixturevalue("http_root")


def open_page(browser: webdriver.Chrome, url: str) -> None:
    browser.get_log("browser")  # drop what earlier pages said
    browser.get(url)


def console_errors(browser: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def visible_upcs(browser: webdriver.Chrome) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#catalog tbody tr")
    return [row.get_attribute("data-upc") or "" for row in rows]


def search(browser: webdriver.Chrome, text: str) -> list[str]:
    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys(text)
    return visible_upcs(browser)


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_catalog_search_and_filters(browser: webdriver.Chrome, base: str) -> None:
    open_page(browser, base + "index.html")
    everything = visible_upcs(browser)
    assert len(everything) == 6
    assert search(browser, "longitude") == ["0885686123454"]
    assert search(browser, "GBXYZ2500001") == ["5060236631114"]  # an ISRC of First Light
    assert search(browser, "nothing like this") == []
    search(browser, "")
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("failed")
    assert sorted(visible_upcs(browser)) == ["0885686123454", HOSTILE_UPC]
    Select(browser.find_element(By.ID, "filter-target")).select_by_visible_text("beatport")
    assert visible_upcs(browser) == ["0885686123454"]
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-target")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-genre")).select_by_visible_text("JAZZ")
    assert visible_upcs(browser) == ["5012345678900"]
    Select(browser.find_element(By.ID, "filter-genre")).select_by_value("")
    assert console_errors(browser) == []
    screenshot(browser, "catalog")


def test_a_hostile_title_is_text_on_every_page(browser: webdriver.Chrome, base: str) -> None:
    open_page(browser, base + "index.html")
    assert search(browser, "alert(1)") == [HOSTILE_UPC]
    link = browser.find_element(By.CSS_SELECTOR, "#catalog tbody tr a")
    assert link.text == HOSTILE_TITLE
    link.click()
    assert browser.find_element(By.ID, "title").text == HOSTILE_TITLE
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (no script ran: no alert)
    assert console_errors(browser) == []


def test_release_page_shows_status_per_target(browser: webdriver.Chrome, base: str) -> None:
    open_page(browser, base + "releases/5060236631114.html")
    rows = browser.find_elements(By.CSS_SELECTOR, "#status tbody tr")
    shown = {
        row.get_attribute("data-target"): row.find_element(By.CSS_SELECTOR, ".state").text
        for row in rows
    }
    assert shown == {
        "apple": "apple: rejected",
        "local": "local: live",
        "spotify": "spotify: acknowledged",
    }
    assert browser.find_element(By.CSS_SELECTOR, "img.cover").get_property("naturalWidth") > 0
    assert console_errors(browser) == []
    screenshot(browser, "release")


@pytest.mark.parametrize("page", ["deliveries", "targets", "problems"])
def test_other_pages_load_cleanly(browser: webdriver.Chrome, base: str, page: str) -> None:
    open_page(browser, f"{base}{page}.html")
    assert browser.find_element(By.TAG_NAME, "h1").text
    assert console_errors(browser) == []
    screenshot(browser, page)
