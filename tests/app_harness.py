"""The real app, served once per test run for test_app.py and test_browser.py.

A private copy of the corpus plus a sixth plan with an HTML-injection line, a real
index built with the default (USE) embedder, a warmed-up AskPipeline and the
Gradio app listening on a free port of 127.0.0.1. Built lazily by the first test
that needs it and shared (a session fixture would be built once per test module,
i.e. twice, since the two modules cannot share a conftest fixture we own).
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
# A sixth plan, not listed in plans.toml (its metadata is inferred), one of whose
# clauses carries markup that must reach the page as text.
XSS_PLAN = f"""测试市知识产权安全试点工作方案

一、总体要求
（一）页面安全。{XSS_LINE} 测试市要求知识产权服务平台对外展示的内容必须经过转义处理，防止脚本注入。
（二）数据备份。测试市知识产权数据每日备份一次，备份保存不少于三十天。
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

    root = Path(tempfile.mkdtemp(prefix="assistant-ui-test-"))
    atexit.register(shutil.rmtree, root, True)
    corpus = root / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    (corpus / XSS_FILE).write_text(XSS_PLAN, encoding="utf-8")
    settings = Settings.load(config_file=root / "no-config.toml", env={})
    settings.corpus_dir = str(corpus)
    settings.index_dir = str(root / "index")
    settings.eval_dir = str(root / "eval")
    IndexBuilder(settings).build(progress=False)
    pipeline = AskPipeline(settings).warm_up()
    app = build_app(pipeline, settings)
    port = free_port()
    launch_app(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    atexit.register(app.close)
    xss_id = next(p.id for p in load_plans(corpus) if p.file == XSS_FILE)
    return ServedApp(f"http://127.0.0.1:{port}/", settings, pipeline, app, xss_id, root)
