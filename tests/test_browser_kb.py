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
from browser_harness import chromium, emulate, needs_chromium, patient_wait
from test_knowledge import NEW_PLAN, NEW_Q, docx_bytes

pytestmark = [pytest.mark.slow, needs_chromium]

KB_SCREENSHOT = PROJECT_ROOT / "eval" / "screenshot-kb.png"
TITLE = "示例市知识产权质押融资工作方案"


def test_upload_ask_delete_while_serving(tmp_path):
    from gradio_client import Client
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC

    served = own_app(tmp_path)
    src = tmp_path / "示例市质押融资方案.docx"
    src.write_bytes(docx_bytes(NEW_PLAN))
    with chromium() as browser:
        wait = patient_wait(browser, 240)
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
        wait.until(lambda d: TITLE in d.find_element(By.ID, "kb-table").text)  # the table drawn again
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(KB_SCREENSHOT))

        tab("问答")
        box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
        box.send_keys(NEW_Q)
        box.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chatbot .copy-answer"))
        card = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .cite-card")))
        assert TITLE in card.text and "六十" in card.text

        tab("知识库")
        pick = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#kb-doc input")))
        pick.click()
        pick.send_keys("示例市")
        pick.send_keys(Keys.ENTER)
        # correct its metadata: the fields show what was read, the corrected values are kept
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#kb-title input, #kb-title textarea")
                   .get_attribute("value") == TITLE)
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
        # the table's row of the document once it is drawn again, with the corrected fields
        row = wait.until(lambda d: next((r.text for r in d.find_elements(By.CSS_SELECTOR, "#kb-table tr")
                                         if TITLE in r.text and "示例省示例市" in r.text), None))
        assert "意见" in row, row
        browser.find_element(By.ID, "kb-delete").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "kb-status"), "已删除"))
        wait.until(lambda d: TITLE not in d.find_element(By.ID, "kb-table").text)

    # the same server, never restarted: the document is gone from its answers
    out = Client(served.url, verbose=False).predict(NEW_Q, [], False, api_name="/ask")
    assert all(TITLE not in c["title"] for c in json.loads(out[4])["citations"])
    served.app.close()


class OwnApp:
    def __init__(self, url: str, app, live=None, settings=None):
        self.url, self.app, self.live, self.settings = url, app, live, settings


def own_app(tmp_path) -> OwnApp:
    """An app of its own over copies of the shared app's corpus and index (changing the
    knowledge base must not change what the other tests' shared app answers)."""
    import dataclasses
    import shutil

    from app_harness import free_port
    from assistant.ask import AskPipeline
    from assistant.library import make_library
    from assistant.live import LiveIndex
    from assistant.ui import build_app, launch_app

    shared = served_app()
    shutil.copytree(shared.settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(shared.settings.index_dir, tmp_path / "index")
    settings = dataclasses.replace(shared.settings, corpus_dir=str(tmp_path / "corpus"),
                                   index_dir=str(tmp_path / "index"), conversations_db=str(tmp_path / "chats.db"))
    live = LiveIndex(AskPipeline(settings).warm_up(), settings, make_library)
    app = build_app(live, settings)
    port = free_port()
    launch_app(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True, settings=settings)
    return OwnApp(f"http://127.0.0.1:{port}/", app, live, settings)


BACKUP_Q = "测试市知识产权数据多久备份一次？"


def test_a_kept_answer_says_when_its_clause_changed_or_went(tmp_path):
    """Stale answers: a conversation is kept (SQLite) and shown again on the next visit with
    its citation cards, each quoting its clause as it was answered from. When the file was
    written since the index was built (no rebuild yet), or the knowledge base changed the
    clause since (the document replaced with other words, then deleted), the card
    presented the old quote as the document's text; now it says the file changed, the
    clause changed or is gone. A fresh answer's cards say nothing of the kind."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from app_harness import XSS_FILE
    from assistant.knowledge import KnowledgeBase

    served = own_app(tmp_path)
    kb = KnowledgeBase(served.settings)
    text = (Path(served.settings.corpus_dir) / XSS_FILE).read_text(encoding="utf-8")
    assert "每日备份一次" in text

    def notes(d) -> list[str]:
        return [n.text for n in d.find_elements(By.CSS_SELECTOR, "#cards .stale-note")]

    def restored_notes(d) -> list[str] | None:
        cards = d.find_elements(By.CSS_SELECTOR, "#cards .cite-card")
        return notes(d) if cards else None

    try:
        with chromium() as browser:
            wait = patient_wait(browser, 240)
            browser.get(served.url)
            box = wait.until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#question textarea")), None))
            box.send_keys(BACKUP_Q)
            box.send_keys(Keys.ENTER)
            card = wait.until(lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, "#cards .cite-card")
                                              if "每日备份一次" in c.text), None))
            assert "数据备份" in card.text and notes(browser) == []  # a fresh answer: nothing to say
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chat-list label"))  # the chat is saved

            # the file written in corpus/ behind the app's back: the index still holds the old text
            (Path(served.settings.corpus_dir) / XSS_FILE).write_text(text.replace("每日备份一次", "每月备份一次"),
                                                                     encoding="utf-8")
            browser.refresh()
            edited = wait.until(restored_notes)
            kb.add(text.replace("每日备份一次", "每周备份一次").encode("utf-8"), XSS_FILE, replace=True)
            served.live.reload()
            browser.refresh()
            changed = wait.until(restored_notes)
            doc_id = next(d["doc_id"] for d in kb.documents() if d["file"] == XSS_FILE)
            kb.remove(doc_id)
            served.live.reload()
            browser.refresh()
            removed = wait.until(restored_notes)
    finally:
        served.app.close()
    assert edited and all("已被改动" in n for n in edited), edited
    assert len(changed) == 1 and "已更改" in changed[0], changed
    assert removed and all("已不在当前知识库" in n for n in removed), removed
