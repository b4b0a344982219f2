"""The reading room in a real browser (Debian's chromium, driven headless through Selenium and
/usr/bin/chromedriver; nothing is downloaded). An archive is crawled from the local mirror plus
a hostile page, one article is corrected and fetched again (a second revision), then
``scraper web`` runs as a real process and a reader: opens the overview, searches, clicks the
first hit, opens its revisions, its story and its capture, and checks what is on screen, and
that no script of an archived page ran.

``make test`` installs chromium and chromium-driver when missing (see the Makefile); without
them this test fails, saying what to install. Set SCRAPER_WEB_SCREENSHOTS=DIR to save a
screenshot of each page type but the overview there (docs/img/ holds the committed ones; the
overview's comes from ``python -m tests.web_demo``, over articles spread across 90 days).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import ROOT, run_cli, write_config
from tests.mirror import build_mirror, rss
from tests.server import FixtureServer
from tests.web_helpers import HOSTILE, HOSTILE_ID, HOSTILE_URL, STORY_LEAD, STORY_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver"
LEAD_PATH = "/view/AEN20230419003851320"
OLD_SENTENCE = b"We plan to continue efforts to revamp regulations"
NEW_SENTENCE = b"We plan to redouble efforts to revamp outdated regulations"
HOSTILE_TITLE = "Hostile <script>alert(1)</script> headline <img src=x onerror=alert(2)>"


def _driver(profile: Path) -> WebDriver:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `{INSTALL}` (make test does it as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--mute-audio",
        "--hide-scrollbars",
        "--window-size=1024,860",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.fixture
def web(server: FixtureServer, tmp_path: Path) -> Iterator[str]:
    """``scraper web`` over an archive crawled from the mirror; yields its base URL."""
    urls = build_mirror(server)
    server.add(HOSTILE_URL.split("en.yna.co.kr", 1)[1], HOSTILE.read_bytes())
    feed = [(u, "item") for u in [*urls["yonhap"], HOSTILE_URL]]
    server.add("/RSS/news.xml", rss(feed), content_type="application/rss+xml")
    cfg = write_config(tmp_path, server.url)
    crawl = run_cli("--config", str(cfg), "crawl")
    assert crawl.returncode == 0, crawl.stderr
    # a correction on the site, fetched again: the LEAD gets a second revision
    lead = server.routes[LEAD_PATH].body
    assert OLD_SENTENCE in lead
    server.add(LEAD_PATH, lead.replace(OLD_SENTENCE, NEW_SENTENCE))
    again = run_cli("--config", str(cfg), "fetch", f"https://en.yna.co.kr{LEAD_PATH}")
    assert again.returncode == 0 and "revised" in again.stdout, again.stdout + again.stderr
    exe = Path(sys.executable).parent / "scraper"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    proc = subprocess.Popen(
        [str(exe), "--config", str(cfg), "web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the socket listens
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        yield match.group(0).rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def _shot(driver: WebDriver, name: str) -> None:
    target = os.environ.get("SCRAPER_WEB_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(target) / f"{name}.png"))


def test_a_reader_searches_reads_compares_and_opens_the_capture(web: str) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        driver = _driver(Path(profile))
        try:
            _walk(driver, web)
        finally:
            driver.quit()


def _walk(driver: WebDriver, base: str) -> None:
    text = lambda: driver.find_element(By.TAG_NAME, "body").text  # noqa: E731

    # 1. the overview
    driver.get(base + "/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert "20 articles in the archive." in text()  # 16 + the hostile page, 3 Korea Herald
    assert len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg rect")) >= 2

    # 2. search from the header form, as a reader types it
    box = driver.find_element(By.CSS_SELECTOR, "form.quick input[name=q]")
    box.send_keys("sluggish exports")
    box.submit()
    assert "/search?q=sluggish+exports" in driver.current_url
    assert re.search(r"\b\d+ match(es)? · page 1 of 1", text())
    marks = [m.text.lower() for m in driver.find_elements(By.CSS_SELECTOR, ".snippet mark")]
    assert "sluggish" in marks
    _shot(driver, "search")

    # 3. the first hit: the (LEAD) of the deregulation story
    driver.find_element(By.CSS_SELECTOR, "ol.hits li a.hit-title").click()
    assert driver.current_url == f"{base}/articles/{STORY_LEAD}"
    h1 = driver.find_element(By.TAG_NAME, "h1").text
    assert h1 == "(LEAD) S. Korea to support investments of 600 bln won via deregulation"
    assert "2023-04-19 14:53 KST (+09:00)" in text()
    assert NEW_SENTENCE.decode() in text()
    _shot(driver, "article")

    # 4. its revisions: the correction, word by word
    driver.find_element(By.LINK_TEXT, "Revisions (2)").click()
    assert "Revision 2" in text()
    inserted = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".diff ins")]
    deleted = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".diff del")]
    assert any("redouble" in t for t in inserted) and any("continue" in t for t in deleted)
    _shot(driver, "revisions")

    # 5. its story: the first version, then the LEAD
    driver.get(f"{base}/articles/{STORY_LEAD}")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Story (2 versions)").click()
    assert driver.current_url == f"{base}/stories/{STORY_ROOT}"
    items = driver.find_elements(By.CSS_SELECTOR, "ol.timeline > li h2")
    assert [i.text.startswith("LEAD") for i in items] == [False, True]
    _shot(driver, "story")

    # 6. the capture: the page as archived, sandboxed (none of its scripts run)
    driver.get(f"{base}/articles/{STORY_LEAD}")
    driver.find_element(By.PARTIAL_LINK_TEXT, "The page as captured").click()
    assert driver.current_url == f"{base}/articles/{STORY_LEAD}/capture"
    assert "(LEAD) S. Korea to support investments" in text()
    assert driver.title.endswith("| Yonhap News Agency")

    # 7. hostile text reads as text; the hostile page's scripts and handlers never run
    driver.get(f"{base}/articles/{HOSTILE_ID}")
    assert driver.find_element(By.TAG_NAME, "h1").text == HOSTILE_TITLE
    assert "pwned" not in driver.title and driver.title.startswith("Hostile <script>")
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
    driver.get(f"{base}/articles/{HOSTILE_ID}/capture")
    driver.find_element(By.TAG_NAME, "h1")  # the raw page has loaded
    assert driver.title == "Hostile page | Yonhap News Agency"
    assert "Hostile <script>alert(1)</script> headline" in text()
    _shot(driver, "capture")
    driver.get(f"{base}/search?q=Phosphorescent")
    assert "pwned" not in driver.title
    assert "Phosphorescent" in text()

    # 8. an unknown id and a bad parameter: pages that say so
    driver.get(f"{base}/articles/yonhap:AEN00000000000000000")
    assert "Not found" in driver.find_element(By.TAG_NAME, "h1").text
    _shot(driver, "not-found")
    driver.get(f"{base}/search?q=korea&page=-1")
    assert "page must be a whole number" in text()
