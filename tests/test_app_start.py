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


@needs_chromium
def test_a_question_asked_while_the_index_warms_up_is_answered_when_it_is_warm(tmp_path):
    """The port opens before the retriever is warm (``prepare_pipeline(warm=False)``, warmed
    up by the server's lifespan): a question asked in the page meanwhile says the index is
    loading, is answered once the warm-up ends, and is not lost; ``/healthz`` says
    ``"index": "loading"`` until then. The warm-up is held by its own lock, so the test
    asks while it is surely running (no worker process: one could answer first)."""
    import dataclasses

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from assistant.live import LiveIndex
    from assistant.server import create_server, prepare_pipeline
    from assistant.ui import LOADING_INDEX, _library

    served = served_app()
    settings = dataclasses.replace(served.settings, answer_processes=0,
                                   conversations_db=str(tmp_path / "conversations.db"))
    pipeline = prepare_pipeline(settings, warm=False)
    assert not pipeline.ready
    live = LiveIndex(pipeline, settings, _library)
    held = pipeline._warming  # noqa: SLF001 - the lifespan's warm-up waits on this lock until released
    held.acquire()
    server = UvicornServer(create_server(live, settings, ui_in_background=True))
    try:
        assert json.loads(http(server.url + "/healthz")[2])["index"] == "loading"
        with chromium() as driver:
            emulate(driver, width=1440)
            driver.get(server.url + "/")
            box = WebDriverWait(driver, 180).until(
                EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
            box.send_keys(QUESTION)
            box.send_keys(Keys.ENTER)
            chat = lambda d: d.find_element(By.CSS_SELECTOR, "#chatbot").text  # noqa: E731
            WebDriverWait(driver, 180).until(lambda d: LOADING_INDEX in chat(d))
            assert "200亿" not in chat(driver) and not pipeline.ready
            held.release()
            held = None
            WebDriverWait(driver, 180).until(lambda d: "200亿" in chat(d))
            assert LOADING_INDEX not in chat(driver) and QUESTION in chat(driver)
        assert json.loads(http(server.url + "/healthz")[2])["index"] == "ready"
    finally:
        if held is not None:
            held.release()
        server.stop()


ONE_APP_SCRIPT = """
import json

from assistant.library import make_library
from assistant.live import LiveIndex
from assistant.server import _gradio_app, prepare_pipeline
from assistant.settings import Settings
from gradio.routes import App
from starlette.routing import Mount

settings = Settings.load()
live = LiveIndex(prepare_pipeline(settings, warm=False), settings, make_library)
made = []
create_app = App.__dict__["create_app"]


def counted(*args, **kwargs):
    made.append(create_app.__func__(*args, **kwargs))
    return made[-1]


App.create_app = staticmethod(counted)
ui = _gradio_app(live, settings, None, 0)
mounted = [r.app for r in ui.routes if isinstance(r, Mount)]
print(json.dumps({"made": len(made), "mounted": mounted == made,
                  "blocks_app": bool(made) and made[-1].get_blocks().app is made[-1]}))
"""


def test_the_page_becomes_one_asgi_app_the_one_served(tmp_path):
    """Gradio made an ASGI app of the page four times (``gr.Blocks()``, the end of its
    ``with``, ``queue()``, ``mount_gradio_app``), three thrown away; the server's page is
    made into one, and it is the Blocks' app, through which the queue answers events.
    In a fresh interpreter over the test index (it counts calls of gradio's own
    ``App.create_app``, which must not outlive the check in this process)."""
    import os

    served = served_app()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "ASSISTANT_INDEX_DIR": served.settings.index_dir,
           "ASSISTANT_CORPUS_DIR": served.settings.corpus_dir,
           "ASSISTANT_CONVERSATIONS_DB": str(tmp_path / "conversations.db")}
    run = subprocess.run([sys.executable, "-c", ONE_APP_SCRIPT], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"made": 1, "mounted": True, "blocks_app": True}
