"""The real app, served once per test run for test_app.py, test_browser.py and test_hostile.py.

A private copy of the corpus plus a sixth plan with an HTML-injection line and a
clause whose text carries a Markdown image and links to an "outside" host, a real
index built with the default (USE) embedder, a warmed-up AskPipeline and the
Gradio app listening on a free port of 127.0.0.1, its LLM endpoint a scripted
OpenAI-compatible server (tests/llm_server.py; nothing is scripted unless a test
does it, and the app's default answerer stays extractive).

The "outside" host is a real HTTP server on 127.0.0.2 that records every request
it gets: nothing the page shows may ever make the browser call it.

Built lazily by the first test that needs it and shared (a session fixture would
be built once per test module, since the modules cannot share a conftest fixture we own).
"""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.settings import PROJECT_ROOT, Settings  # noqa: E402

XSS_LINE = "<img src=x onerror=alert(1)>"
XSS_FILE = "zz_injection_plan.txt"
# Markdown that would make a browser fetch from (or link to) the outside host.
OUTSIDE_MARKDOWN = "![统计图]({base}/plan.png) 详见 {base}/plan-link 与 [资料]({base}/plan-md-link)"
# A sixth plan, not listed in plans.toml (its metadata is inferred), whose clauses
# carry markup and Markdown that must reach the page as text.
XSS_PLAN = """测试市知识产权安全试点工作方案

一、总体要求
（一）页面安全。{xss} 测试市要求知识产权服务平台对外展示的内容必须经过转义处理，防止脚本注入。
（二）数据备份。测试市知识产权数据每日备份一次，备份保存不少于三十天。
（三）外部资料。测试市知识产权外部资料每季度更新一次，{outside}。
二、保障措施
（一）组织领导。成立测试市知识产权安全工作专班，统筹推进各项任务。
"""


@dataclass
class ServedApp:
    url: str
    settings: Settings
    pipeline: object
    app: object
    xss_doc_id: str
    root: Path
    llm: object  # the scripted LLM server (llm_server.ScriptedLLMServer)
    outside: "RecordingServer"


class RecordingServer:
    """An HTTP server that records the path of every request; it answers with ``page``
    (HTML) or an empty 200."""

    def __init__(self, host: str = "127.0.0.2", page: str = ""):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        requests = self.requests = []
        body = page.encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _record

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://{host}:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        atexit.register(self._httpd.shutdown)


_lock = threading.Lock()
_served: ServedApp | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_app() -> ServedApp:
    global _served
    with _lock:
        if _served is None:
            _served = _start()
        return _served


def _start() -> ServedApp:
    from assistant.ask import AskPipeline
    from assistant.corpus import load_plans
    from assistant.index import IndexBuilder
    from assistant.ui import build_app, launch_app
    from llm_server import ScriptedLLMServer

    outside = RecordingServer()
    llm = ScriptedLLMServer().start()
    atexit.register(llm.stop)
    root = Path(tempfile.mkdtemp(prefix="assistant-ui-test-"))
    atexit.register(shutil.rmtree, root, True)
    corpus = root / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    plan = XSS_PLAN.format(xss=XSS_LINE, outside=OUTSIDE_MARKDOWN.format(base=outside.base))
    (corpus / XSS_FILE).write_text(plan, encoding="utf-8")
    settings = Settings.load(config_file=root / "no-config.toml", env={})
    settings.corpus_dir = str(corpus)
    settings.index_dir = str(root / "index")
    settings.eval_dir = str(root / "eval")
    settings.llm_base_url = llm.base_url
    settings.llm_model = "scripted-model"
    settings.llm_timeout_s = 10.0
    settings.max_file_mb = 2.0  # the knowledge base's upload limit (the plans are far smaller)
    settings.conversations_db = str(root / "conversations.db")
    IndexBuilder(settings).build(progress=False)
    pipeline = AskPipeline(settings).warm_up()
    app = build_app(pipeline, settings)
    port = free_port()
    launch_app(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True, settings=settings)
    atexit.register(app.close)
    xss_id = next(p.id for p in load_plans(corpus) if p.file == XSS_FILE)
    return ServedApp(f"http://127.0.0.1:{port}/", settings, pipeline, app, xss_id, root, llm, outside)


class UvicornServer:
    """An ASGI app (``assistant.server.create_server``: the API with the Gradio app
    mounted, as ``python -m assistant serve`` runs it) served by uvicorn on a free
    port of 127.0.0.1 in a thread; ``stop()`` ends it."""

    def __init__(self, asgi, start_timeout_s: float = 60):
        import time

        import uvicorn

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout_s
        while not self._server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.1)
        assert self._server.started, "uvicorn did not start"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)
