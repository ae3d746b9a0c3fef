"""Headless Debian Chromium through Selenium, for the browser tests.

``chromium(network_log=True)`` also records Chrome's performance log, whose
``Network.requestWillBeSent`` events are every request the page tried to make
(made, failed or blocked): ``requested_urls(driver)`` returns their URLs.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian chromium and chromedriver: apt-get install -y chromium chromium-driver",
)


@contextlib.contextmanager
def chromium(network_log: bool = False, lang: str = "zh-CN", args: tuple[str, ...] = ()) -> Iterator:
    """``args``: more command-line flags (e.g. ``--host-resolver-rules=MAP name 127.0.0.1``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1440,1250", f"--lang={lang}",
                 *args):
        opts.add_argument(flag)
    if network_log:
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def emulate(driver, dark: bool = False, width: int = 1440, height: int = 1000) -> None:
    """Light or dark colour scheme (``prefers-color-scheme``) and a window width; applies
    to the next page load."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
    driver.set_window_size(width, height)


def requested_urls(driver) -> list[str]:
    """URLs of the requests the page started since the last call (the log is drained)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def patient_wait(driver, seconds: float = 90):
    """A WebDriverWait that polls again when an element it read was re-rendered meanwhile.

    Gradio replaces nodes while it updates the page, so a condition that finds an element
    and then reads it can meet a StaleElementReferenceException between the two: that
    says "not yet", like a condition that returns False, not that the page is wrong."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))
