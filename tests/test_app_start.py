"""Start-up: ``python -m assistant serve`` opens its port, and the API answers, before the
Gradio app is built; ``/`` shows a page that reloads itself until the app is mounted, so a
browser that opens the page at once still gets the working app.

The served process is real (a subprocess on the test app's corpus and index); figures of
how long each step takes are the benchmark's (``python -m assistant bench --start``),
never asserted here.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from app_harness import UvicornServer, free_port, served_app
from assistant.settings import PROJECT_ROOT
from browser_harness import chromium, emulate, needs_chromium

pytestmark = pytest.mark.slow

QUESTION = "嘉兴规划中知识产权质押融资的目标是多少？"


def http(url: str, body: dict | None = None, timeout: float = 120) -> tuple[int, dict[str, str], str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode("utf-8")


def test_the_starting_page_stands_in_until_the_app_is_mounted():
    """``LateUI`` on a real server: while its build runs, ``/`` (any path under it) is a
    503 page that reloads itself and a websocket is refused; once built, the app answers."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from assistant.server import LateUI

    release = threading.Event()

    def build():
        release.wait(60)
        inner = FastAPI()
        inner.get("/{path:path}")(lambda path: PlainTextResponse(f"app:{path}"))
        return inner

    late = LateUI(build)
    outer = FastAPI(lifespan=lambda app: _starting(late))
    outer.get("/healthz")(lambda: {"ui": late.state})
    outer.mount("/", late)
    server = UvicornServer(outer)
    try:
        status, headers, page = http(server.url + "/some/page")
        assert status == 503 and headers.get("retry-after") == "1"
        assert '<meta http-equiv="refresh" content="1">' in page and 'lang="zh-CN"' in page and "<script" not in page
        assert http(server.url + "/healthz")[2] == '{"ui":"starting"}'  # the API answers meanwhile
        release.set()
        deadline = time.monotonic() + 60
        while http(server.url + "/healthz")[2] != '{"ui":"ready"}' and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http(server.url + "/some/page")[:3:2] == (200, "app:some/page")
    finally:
        release.set()
        server.stop()


def _starting(late):
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan():
        import asyncio

        task = asyncio.create_task(late.start(True))
        yield
        task.cancel()
        await late.close()

    return lifespan()


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """``python -m assistant serve`` in its own process, on the test app's corpus and index."""
    served = served_app()
    root = tmp_path_factory.mktemp("serve")
    config = root / "assistant.toml"
    config.write_text("\n".join([
        f"corpus_dir = {json.dumps(served.settings.corpus_dir)}",
        f"index_dir = {json.dumps(served.settings.index_dir)}",
        f"conversations_db = {json.dumps(str(root / 'conversations.db'))}",
        "answer_processes = 0",
    ]) + "\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "serve", "--port", str(port)],
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**__import__("os").environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-2000:]
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@needs_chromium
def test_the_api_answers_and_a_browser_opened_at_once_gets_the_app(serving):
    """Right after the port opens: /healthz and an answer through the API; the page opened
    then (the starting page while the app is built) becomes the app, which answers."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    status, _, health = http(serving + "/healthz")
    assert status == 200 and json.loads(health)["ui"] in ("starting", "ready")
    status, _, body = http(serving + "/v1/chat/completions",
                           {"model": "ip-assistant", "messages": [{"role": "user", "content": QUESTION}]})
    assert status == 200 and "200亿" in json.loads(body)["choices"][0]["message"]["content"]

    with chromium() as driver:
        emulate(driver, width=1440)
        driver.get(serving + "/")
        box = WebDriverWait(driver, 180).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
        box.send_keys(QUESTION)
        box.send_keys(Keys.ENTER)
        WebDriverWait(driver, 120).until(
            lambda d: any("200亿" in b.text for b in d.find_elements(By.CSS_SELECTOR, "#chatbot .msg")))
    assert json.loads(http(serving + "/healthz")[2])["ui"] == "ready"
