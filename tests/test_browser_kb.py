"""The knowledge base in a real browser (issue 11): upload a document on the
knowledge-base tab, read its parse report, ask about it, correct its place and
type, delete it; the app keeps
answering other users throughout (a gradio_client user asks during the upload).
Saves eval/screenshot-kb.png (the knowledge-base page, shown in the README)."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import unquote

import pytest

from app_harness import served_app
from assistant.settings import PROJECT_ROOT
from browser_harness import chromium, emulate, needs_chromium
from test_knowledge import NEW_PLAN, NEW_Q, docx_bytes

pytestmark = [pytest.mark.slow, needs_chromium]

KB_SCREENSHOT = PROJECT_ROOT / "eval" / "screenshot-kb.png"
TITLE = "示例市知识产权质押融资工作方案"


def test_upload_ask_delete_while_serving(tmp_path):
    from gradio_client import Client
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    served = own_app(tmp_path)
    src = tmp_path / "示例市质押融资方案.docx"
    src.write_bytes(docx_bytes(NEW_PLAN))
    with chromium() as browser:
        wait = WebDriverWait(browser, 240)
        emulate(browser, width=1440)
        browser.get(served.url)

        def tab(name: str):
            wait.until(lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == name])
            next(b for b in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == name).click()

        tab("知识库")
        upload = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#kb-upload input[type=file]")))
        upload.send_keys(str(src))
        wait.until(EC.text_to_be_present_in_element((By.ID, "kb-upload"), ".docx"))

        # another user, already connected, keeps asking while the document is indexed
        other: dict = {}
        user = Client(served.url, verbose=False)

        def ask_meanwhile():
            out = user.predict("嘉兴规划中知识产权质押融资的目标是多少？", [], False, api_name="/ask")
            other["answer"] = json.loads(out[4])

        link = browser.find_element(By.CSS_SELECTOR, "#kb-upload a[href*='file=']").get_attribute("href")
        cached = Path(unquote(link.split("file=", 1)[1]))  # Gradio's copy of the upload
        assert cached.is_file(), link
        browser.find_element(By.ID, "kb-add").click()
        asker = threading.Thread(target=ask_meanwhile)
        asker.start()
        wait.until(EC.text_to_be_present_in_element((By.ID, "kb-status"), "已添加"))
        assert not cached.exists(), "the upload stayed in Gradio's cache after it was added"
        asker.join(240)
        assert "200亿" in other["answer"]["answer"]
        report = browser.find_element(By.ID, "kb-status").text
        assert TITLE in report and "条款数" in report
        assert TITLE in browser.find_element(By.ID, "kb-table").text
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(KB_SCREENSHOT))

        tab("问答")
        box = browser.find_element(By.CSS_SELECTOR, "#question textarea")
        box.send_keys(NEW_Q)
        box.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chatbot .copy-answer"))
        card = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .cite-card")))
        assert TITLE in card.text and "六十" in card.text

        tab("知识库")
        pick = browser.find_element(By.CSS_SELECTOR, "#kb-doc input")
        pick.click()
        pick.send_keys("示例市")
        pick.send_keys(Keys.ENTER)
        # correct its metadata: the fields show what was read, the corrected values are kept
        title = browser.find_element(By.CSS_SELECTOR, "#kb-title input, #kb-title textarea")
        wait.until(lambda d: title.get_attribute("value") == TITLE)
        place = browser.find_element(By.CSS_SELECTOR, "#kb-place input, #kb-place textarea")
        place.clear()
        place.send_keys("示例省示例市")
        kind = browser.find_element(By.CSS_SELECTOR, "#kb-type input")
        kind.click()
        kind.send_keys(Keys.CONTROL, "a")
        kind.send_keys("意见")
        kind.send_keys(Keys.ENTER)
        browser.find_element(By.ID, "kb-save").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "kb-status"), "已更正"))
        row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#kb-table tr") if TITLE in r.text)
        assert "示例省示例市" in row.text and "意见" in row.text
        browser.find_element(By.ID, "kb-delete").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "kb-status"), "已删除"))
        assert TITLE not in browser.find_element(By.ID, "kb-table").text

    # the same server, never restarted: the document is gone from its answers
    out = Client(served.url, verbose=False).predict(NEW_Q, [], False, api_name="/ask")
    assert all(TITLE not in c["title"] for c in json.loads(out[4])["citations"])
    served.app.close()


class OwnApp:
    def __init__(self, url: str, app):
        self.url, self.app = url, app


def own_app(tmp_path) -> OwnApp:
    """An app of its own over copies of the shared app's corpus and index (changing the
    knowledge base must not change what the other tests' shared app answers)."""
    import dataclasses
    import shutil

    from app_harness import free_port
    from assistant.ask import AskPipeline
    from assistant.ui import build_app, launch_app

    shared = served_app()
    shutil.copytree(shared.settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(shared.settings.index_dir, tmp_path / "index")
    settings = dataclasses.replace(shared.settings, corpus_dir=str(tmp_path / "corpus"),
                                   index_dir=str(tmp_path / "index"), conversations_db=str(tmp_path / "chats.db"))
    app = build_app(AskPipeline(settings).warm_up(), settings)
    port = free_port()
    launch_app(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True, settings=settings)
    return OwnApp(f"http://127.0.0.1:{port}/", app)
