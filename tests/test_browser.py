"""The app in a real browser (headless Chromium via Selenium): ask, see the citation
card, follow a citation link, give feedback, open the cited clause in its plan.
Saves eval/screenshot.png of the answered chat (shown in the README)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app_harness import served_app
from assistant.settings import PROJECT_ROOT
from browser_harness import chromium, needs_chromium, patient_wait

SCREENSHOT = PROJECT_ROOT / "eval" / "screenshot.png"
QUESTION = "我们是海门的中小企业，想找机构帮忙打理专利，区里在知识产权托管上有什么支持？"

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def test_ask_cite_feedback_and_open_clause(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC

    served = served_app()
    wait = patient_wait(browser, 90)
    browser.get(served.url)
    box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)

    card = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .cite-card")))
    assert card.find_element(By.CSS_SELECTOR, ".cite-title").text.startswith("《")
    assert card.find_elements(By.CSS_SELECTOR, ".cite-clause mark"), "the quoted sentence is not highlighted"
    # the streamed answer has finished once its links are in the bubble
    link = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#chatbot a.cite-link")))
    target_id = link.get_attribute("href").split("#", 1)[1]
    link.click()
    wait.until(lambda d: "flash" in (d.find_element(By.ID, target_id).get_attribute("class") or ""))
    assert len(browser.window_handles) == 1, "a citation link opened a new tab instead of scrolling to its card"

    copy = browser.find_element(By.CSS_SELECTOR, "#cards .copy-cite")
    cite_text = copy.get_attribute("data-cite")
    assert cite_text.startswith("《") and "：" not in cite_text[:1] and "“" in cite_text
    copy.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#cards .copy-cite"), "已复制"))

    log = Path(served.settings.eval_dir) / "feedback.jsonl"
    before = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    browser.find_element(By.CSS_SELECTOR, "#fb-comment textarea").send_keys("出处清楚")
    browser.find_element(By.ID, "fb-up").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "fb-status"), "感谢"))
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == before + 1
    rec = json.loads(lines[-1])
    assert (rec["rating"], rec["comment"], rec["question"]) == ("up", "出处清楚", QUESTION)

    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)  # let the flash animation fade so the screenshot shows the resting page
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))

    # the card's link opens the clause in the document tab, highlighted
    browser.find_element(By.CSS_SELECTOR, "#cards .open-clause").click()
    focus = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#doc-body-box .clause.focus")))
    assert rec["citations"][0]["path"] in focus.text
