"""Every probe of issue 12, as a hostile user or a careless operator would run it.

Each test here failed before its fix. Probes run against the real thing: the CLI
in a subprocess, the app over HTTP with the real gradio_client, a real browser,
real files (a real docx bomb), a real scripted LLM server on loopback. Add new
probes here as they are found.
"""
from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest

from app_harness import RecordingServer, served_app
from browser_harness import chromium, needs_chromium, requested_urls
from llm_server import Reply


# ---------------------------------------------------------------------------
# item 2: nothing from a document, a question or an LLM makes the browser fetch
# ---------------------------------------------------------------------------
def _first_sentence(text: str) -> str:
    from assistant.citations import split_sentences

    return next(s for s in split_sentences(text) if len(s) >= 8)


@pytest.mark.slow
@needs_chromium
def test_no_request_leaves_loopback_from_plan_question_or_llm_markdown():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    served = served_app()
    outside = served.outside
    # the LLM's draft quotes clause [1] (so the citation check passes) beside Markdown
    # that would fetch an image and a bare link
    llm_md = f"![图]({outside.base}/llm.png) 参见 {outside.base}/llm-link"
    served.llm.reset()
    served.llm.script(Reply(compose=lambda req: f"{llm_md}「{_first_sentence(req.clause_text(1))}」[1]"))
    question = f"测试市知识产权外部资料多久更新一次？![问]({outside.base}/question.png) {outside.base}/question-link"

    with chromium(network_log=True) as browser:
        wait = WebDriverWait(browser, 120)
        # the monitors see a page on 127.0.0.1 that does fetch from the outside host
        control = RecordingServer("127.0.0.1", page=f"<img src='{outside.base}/control.png'>")
        browser.get(control.base + "/")
        wait.until(lambda d: "/control.png" in outside.requests)
        assert any(u.endswith("/control.png") for u in requested_urls(browser))
        outside.requests.clear()

        browser.get(served.url)
        box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
        _open_accordion(browser, "设置")
        llm_box = browser.find_element(By.XPATH, "//label[contains(., '使用大模型')]//input")
        if not llm_box.is_selected():
            llm_box.click()
        box.send_keys(question)
        box.send_keys(Keys.ENTER)
        wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .cite-card")))
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#chatbot a.cite-link")))
        for label in ("本次检索到的条款", "原始 JSON"):
            _open_accordion(browser, label)
        # the cited clause in the reader: the whole plan, its Markdown clause included
        browser.find_element(By.CSS_SELECTOR, "#cards .open-clause").click()
        wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#doc-body-box .clause.focus")))
        time.sleep(2)  # time for anything lazy to fetch
        urls = requested_urls(browser)
        page = {sel: browser.find_element(By.CSS_SELECTOR, sel) for sel in
                ("#chatbot", "#cards", "#retrieved", "#raw-json", "#doc-body-box")}
        texts = {sel: el.get_attribute("textContent") for sel, el in page.items()}
        media = browser.execute_script(
            "return Array.from(document.querySelectorAll('img[src], a[href], source[src], iframe[src]'))"
            ".map(e => e.getAttribute('src') || e.getAttribute('href'))")

    assert served.llm.requests, "the LLM was not asked; the draft's Markdown was never on the page"
    # nothing left 127.0.0.1, and nothing on the page points outside
    outside_urls = [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                    and urlsplit(u).hostname != "127.0.0.1"]
    assert outside_urls == [], outside_urls
    assert outside.requests == [], outside.requests
    assert not [m for m in media if outside.base.split("//")[1] in m], media
    # every payload did reach the page, as text
    assert "/question.png" in texts["#chatbot"] and "/llm.png" in texts["#chatbot"]
    assert "/plan.png" in texts["#doc-body-box"] and "/plan.png" in texts["#retrieved"]
    assert "/llm.png" in texts["#raw-json"]


def _open_accordion(browser, label: str) -> None:
    from selenium.webdriver.common.by import By

    button = browser.find_element(By.XPATH, f"//button[contains(@class, 'label-wrap')][.//*[normalize-space(text())='{label}']]")
    if "open" not in (button.get_attribute("class") or ""):
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)


@pytest.mark.slow
def test_every_page_response_carries_the_content_security_policy():
    import httpx

    served = served_app()
    for path in ("", "config", "gradio_api/info"):
        r = httpx.get(served.url + path, timeout=30)
        assert r.status_code == 200, path
        csp = r.headers.get("content-security-policy", "")
        assert "img-src 'self' data: blob:" in csp and "connect-src 'self'" in csp, (path, csp)
        assert r.headers.get("referrer-policy") == "no-referrer"


# ---------------------------------------------------------------------------
# item 9: Gradio's anonymous upload route
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_anonymous_upload_is_refused():
    import httpx

    served = served_app()
    r = httpx.post(served.url + "gradio_api/upload", files={"files": ("x.txt", b"a" * 30_000, "text/plain")},
                   timeout=30)
    assert r.status_code == 403, r.text
    assert "disabled" in r.text
    # nothing was stored where Gradio serves uploads from
    assert "x.txt" not in r.text


def test_upload_hook_limits_size_when_an_upload_is_configured():
    """The hook the knowledge-base upload will use: open, but only up to its size."""
    import gradio as gr
    import httpx

    from app_harness import free_port
    from assistant.webguard import launch_kwargs

    with gr.Blocks() as demo:
        f = gr.File(file_types=[".txt"])
        f.upload(lambda x: None, f, None)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_kwargs(upload_max_bytes=10_000))
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/upload"
        small = httpx.post(url, files={"files": ("ok.txt", b"a" * 1000, "text/plain")}, timeout=30)
        big = httpx.post(url, files={"files": ("big.txt", b"a" * 50_000, "text/plain")}, timeout=30)
    finally:
        demo.close()
    assert small.status_code == 200 and small.json()[0].endswith("ok.txt")
    assert big.status_code == 413


# ---------------------------------------------------------------------------
# item 11: the API with gradio_client's defaults
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_gradio_client_defaults_work_on_answers_with_citations_and_empty_questions():
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    served = served_app()
    client = Client(served.url, verbose=False)  # downloads "files" by default
    out = client.predict("嘉兴规划中知识产权质押融资的目标是多少？", [], False, api_name="/ask")
    answer = json.loads(out[4])
    assert answer["citations"] and all(c["path"] for c in answer["citations"])
    for empty in ("", "   "):
        with pytest.raises(AppError, match="请输入问题"):
            client.predict(empty, [], False, api_name="/ask")


# ---------------------------------------------------------------------------
# item 8: memory does not grow with sessions
# ---------------------------------------------------------------------------
def _queue_ask(url: str, session: str, question: str) -> dict:
    """One question in a session over Gradio's queue protocol (as the page does)."""
    import httpx

    from assistant.loadbench import Endpoint

    cfg = httpx.get(url + "config", timeout=30).json()
    dep = next(d for d in cfg["dependencies"] if d.get("api_name") == "ask")
    ep = Endpoint(dep["id"], len(dep["inputs"]))
    r = httpx.post(url + "gradio_api/queue/join", timeout=30, json={
        "data": [question, None, [], False], "event_data": None, "fn_index": ep.fn_index, "trigger_id": None,
        "session_hash": session})
    event_id = r.json()["event_id"]
    with httpx.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=120) as resp:
        for line in resp.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no answer")


@pytest.mark.slow
def test_sessions_and_their_conversations_are_bounded():
    import copy

    from app_harness import free_port
    from assistant.ui import MAX_TURNS, build_app, launch_app

    served = served_app()
    settings = copy.copy(served.settings)
    settings.max_sessions = 5
    app = build_app(served.pipeline, settings)
    port = free_port()
    launch_app(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True, settings=settings)
    url = f"http://127.0.0.1:{port}/"
    try:
        for i in range(12):
            assert _queue_ask(url, f"session-{i}", "嘉兴规划中知识产权质押融资的目标是多少？")["success"]
        holder = app.server_app.state_holder if getattr(app, "server_app", None) else app.state_holder
        assert len(holder.session_data) <= 5
        # one long conversation keeps its last MAX_TURNS turns, not all of them
        for i in range(MAX_TURNS + 3):
            msg = _queue_ask(url, "long", f"第{i}个问题：宁波的知识产权保护有哪些举措？")
            assert msg["success"]
        turns_id = next(b._id for b in app.blocks.values() if type(b).__name__ == "State")
        turns = holder.session_data["long"].state_data[turns_id]
        assert len(turns) == MAX_TURNS
        assert turns[-1]["question"].startswith(f"第{MAX_TURNS + 2}个问题")
    finally:
        app.close()
