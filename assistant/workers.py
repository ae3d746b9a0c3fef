"""Where answers are computed: the answer threads (one pool per answerer) and the
answer worker processes (``answerprocs``), shared by the app and the API.

Kept apart from the UI (``ui.py``) so that the API answers before Gradio is imported.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Iterable

# Answers computed at once, per kind. The pipeline is read-only after warm-up; two
# cores gain little beyond a handful of parallel extractive answers. LLM answers
# mostly wait on their endpoint, and have workers of their own (AnswerWorkers).
EXTRACTIVE_WORKERS = 4
LLM_WORKERS = 4


class AnswerWorkers:
    """Separate worker threads for the two answerers, so that a slow or hung LLM
    endpoint never delays a plain answer: extractive answers run on at most
    EXTRACTIVE_WORKERS threads, LLM answers on at most LLM_WORKERS, and a question
    waits only for a worker of its own kind (never for one of Gradio's threads)."""

    def __init__(self, extractive: int = EXTRACTIVE_WORKERS, llm: int = LLM_WORKERS):
        self.pools = {
            "extractive": ThreadPoolExecutor(extractive, thread_name_prefix="answer-extractive"),
            "llm": ThreadPoolExecutor(llm, thread_name_prefix="answer-llm"),
        }

    async def stream(self, kind: str, make_items: Callable[[], Iterable[Any]]) -> AsyncIterator[Any]:
        """The items of ``make_items()``, produced on a worker of ``kind``, as they come.
        When the consumer stops (the user pressed stop: Gradio cancels its task), the
        producing generator is closed at its next item, which ends an LLM call."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stopped = threading.Event()

        def hand_over(done: bool, item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (done, item))
            except RuntimeError:  # the event loop is gone (server shutting down)
                pass

        def work() -> None:
            items = iter(make_items())
            try:
                for item in items:
                    if stopped.is_set():
                        break
                    hand_over(False, item)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's task
                hand_over(True, e)
            else:
                hand_over(True, None)
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

        self.pools[kind].submit(work)
        try:
            while True:
                done, item = await queue.get()
                if done:
                    if item is not None:
                        raise item
                    return
                yield item
        finally:
            stopped.set()


# how long a question (and the server's own warm-up) waits for the worker processes to start
WORKERS_START_WAIT_S = 120.0


async def answer_in_process(live, question: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The extractive answer from one of ``live``'s worker processes, or None when it has
    none ready (or one died: new ones are started) and the caller must answer itself.
    While they start and this process is not warmed up either (a server's first seconds:
    ``server``), the question waits for them: they warm up on their own cores, where
    this process would warm up beside the building of its page."""
    from .answerprocs import BrokenProcessPool

    procs = live.answer_processes()
    if procs is None:
        procs = live.snapshot().processes
        if procs is None or live.pipeline.ready:
            return None
        if not await asyncio.to_thread(procs.wait_ready, WORKERS_START_WAIT_S):
            return None  # they failed to start (or are slow beyond reason): answer here
    try:
        return await procs.ask(question=question, **args)
    except BrokenProcessPool:
        live.processes_failed(procs)
        return None
    except RuntimeError:
        if procs.ready:
            raise
        return None  # closed by a reload since: "cannot schedule new futures after shutdown"


_shared_workers: AnswerWorkers | None = None


def answer_workers() -> AnswerWorkers:
    """The process's answer workers: the app and the API (``server``) answer on the same
    threads, so the bound on LLM answers holds for both, and neither answers on the
    thread pool that Gradio and FastAPI share for everything else (a hung endpoint
    holding those threads would stall every page and route)."""
    global _shared_workers
    if _shared_workers is None:
        _shared_workers = AnswerWorkers()
    return _shared_workers


def llm_status(settings) -> tuple[bool, str]:
    """Whether an LLM answerer can be used (langchain-openai installed, an endpoint set), and why not."""
    try:
        from .llm import LLMAnswerer
    except ImportError as e:  # langchain-openai is an optional dependency at run time
        return False, f"LLM support not installed ({e})"
    return LLMAnswerer.available(settings)
