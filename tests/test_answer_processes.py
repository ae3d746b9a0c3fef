"""The app's extractive answers in worker processes (``assistant/answerprocs.py``), on
the server as ``python -m assistant serve`` runs it (FastAPI + uvicorn, the Gradio app
mounted), over a private copy of the real corpus and index: the worker computes the
answers, follows the index when a document is added, is replaced when it dies (the
question in hand is answered all the same), and ends with the server."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from app_harness import UvicornServer
from test_knowledge import NEW_PLAN, NEW_Q

pytestmark = pytest.mark.slow

QUESTIONS = ["嘉兴规划中知识产权质押融资的目标是多少？", "宁波有哪些知识产权保护举措？",
             "运城推进知识产权金融创新由哪些单位负责？"]
START_S = 300  # a worker loads the index and the models: seconds, minutes on a busy machine


def _ask(url: str, question: str) -> dict:
    from assistant.loadbench import ask_blocking

    msg = ask_blocking(url, f"s-{time.monotonic_ns()}", question)
    assert msg["success"], msg
    return json.loads(msg["output"]["data"][5])  # the raw-JSON panel: the answer as the page got it


API_Q = "海门规划中知识产权质押融资的目标是多少？"


def _api_answer(url: str, question: str, stream: bool = False) -> str | list[str]:
    """The API's answer (plain), or the pieces of its text as streamed."""
    import httpx

    r = httpx.post(url + "/v1/chat/completions", timeout=120, json={
        "model": "ip-assistant", "stream": stream, "messages": [{"role": "user", "content": question}]})
    assert r.status_code == 200, r.text
    if not stream:
        return r.json()["choices"][0]["message"]["content"]
    chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    return [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"][0]["delta"].get("content")]


def _ready_processes(live, other_than=None):
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        procs = live.answer_processes()
        if procs is not None and procs is not other_than:
            return procs
        time.sleep(0.2)
    raise AssertionError("the answer worker processes did not start")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, not yet reaped by the pool
            return True
        time.sleep(0.2)
    return False


def test_worker_answers_follows_the_index_is_replaced_when_killed_and_ends_with_the_server(index_settings, tmp_path):
    from assistant.ask import AskPipeline
    from assistant.export import answer_markdown
    from assistant.index import IndexBuilder
    from assistant.live import LiveIndex
    from assistant.server import create_server
    from assistant.ui import _library

    shutil.copytree(index_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(index_settings.index_dir, tmp_path / "index")
    settings = dataclasses.replace(index_settings, corpus_dir=str(tmp_path / "corpus"),
                                   index_dir=str(tmp_path / "index"),
                                   conversations_db=str(tmp_path / "chats.db"), answer_processes=1)
    pipeline = AskPipeline(settings).warm_up()
    live = LiveIndex(pipeline, settings, _library)
    server = UvicornServer(create_server(live, settings))
    pids: list[int] = []
    try:
        first = _ready_processes(live)
        [pid] = first.pids()
        pids.append(pid)
        ticks = _cpu_ticks(pid)
        for q in QUESTIONS:  # the worker's answers are the pipeline's own
            assert _ask(server.url, q)["answer"] == pipeline.ask(q)["answer"]
        assert _cpu_ticks(pid) > ticks, "the worker computed nothing"
        ticks = _cpu_ticks(pid)  # the API's extractive answers too (a question the worker has not seen)
        assert _api_answer(server.url, API_Q) == answer_markdown(pipeline.ask(API_Q))
        assert _cpu_ticks(pid) > ticks, "the API's answer was not computed by the worker"
        pieces = _api_answer(server.url, API_Q, stream=True)  # streamed in pieces all the same
        assert len(pieces) > 1 and "".join(pieces) == answer_markdown(pipeline.ask(API_Q))

        # a document added: the server's pipeline and its workers move to the new build together
        (tmp_path / "corpus" / "示例市知识产权质押融资工作方案.txt").write_text(NEW_PLAN, encoding="utf-8")
        IndexBuilder(settings).build()
        live.reload()
        second = _ready_processes(live, other_than=first)
        assert _gone(pid), "the old build's worker did not exit"
        [pid] = second.pids()
        pids.append(pid)
        reply = _ask(server.url, NEW_Q)
        assert any("示例市" in c["title"] for c in reply["citations"]), reply
        assert "60" in reply["answer"] or "六十" in reply["answer"], reply["answer"]

        # the worker killed: the next question is answered (on the server's threads), a new worker starts
        os.kill(pid, signal.SIGKILL)
        assert _gone(pid)
        assert _ask(server.url, QUESTIONS[0])["answer"] == live.pipeline.ask(QUESTIONS[0])["answer"]
        third = _ready_processes(live, other_than=second)
        [pid] = third.pids()
        pids.append(pid)
        assert _ask(server.url, QUESTIONS[1])["citations"]
    finally:
        server.stop()
    assert live.answer_processes() is None
    assert all(_gone(p) for p in pids), "a worker outlived the server"


def test_a_killed_server_leaves_no_worker_behind(index_settings, tmp_path):
    """``python -m assistant serve`` killed with SIGKILL (no shutdown runs): its answer worker
    and multiprocessing's resource tracker exit too, instead of living on, adopted."""
    from assistant.loadbench import ServerProcess, process_tree

    env = {"ASSISTANT_INDEX_DIR": index_settings.index_dir, "ASSISTANT_CORPUS_DIR": index_settings.corpus_dir,
           "ASSISTANT_EVAL_DIR": str(tmp_path / "eval"), "ASSISTANT_CONVERSATIONS_DB": str(tmp_path / "chats.db"),
           "ASSISTANT_ANSWER_PROCESSES": "1"}
    server = ServerProcess(env)
    try:
        server.wait_ready(answer_processes=1)
        children = process_tree(server.pid)[1:]
        assert len(children) == 2, children  # the worker and the resource tracker
        server.proc.kill()
        server.proc.wait()
        assert all(_gone(p) for p in children), [p for p in children if not _gone(p)]
    finally:
        server.stop()


def test_a_question_at_start_waits_for_the_workers_not_for_the_servers_warm_up(tmp_path, monkeypatch):
    """The port opens before anything is warm (``prepare_pipeline(warm=False)``); with worker
    processes, a question asked then is answered by a worker once it has started, on its own
    core, not by the server warming up beside its page's build: here the server's warm-up is
    held by its lock the whole time, and the answer comes all the same."""
    import httpx

    from app_harness import served_app
    from assistant import workers
    from assistant.live import LiveIndex
    from assistant.server import create_server, prepare_pipeline
    from assistant.ui import _library

    monkeypatch.setattr(workers, "WORKERS_START_WAIT_S", START_S)  # a busy machine starts them slowly
    served = served_app()
    settings = dataclasses.replace(served.settings, answer_processes=1,
                                   conversations_db=str(tmp_path / "conversations.db"))
    pipeline = prepare_pipeline(settings, warm=False)
    live = LiveIndex(pipeline, settings, _library)
    held = pipeline._warming  # noqa: SLF001 - the server's warm-up waits on this lock
    held.acquire()
    server = UvicornServer(create_server(live, settings, ui_in_background=True))
    try:
        r = httpx.post(server.url + "/v1/chat/completions", timeout=START_S + 60, json={
            "model": "ip-assistant", "messages": [{"role": "user", "content": QUESTIONS[0]}]})
        assert r.status_code == 200 and "200亿" in r.json()["choices"][0]["message"]["content"]
        assert not pipeline.ready and live.answer_processes() is not None
    finally:
        held.release()
        server.stop()
