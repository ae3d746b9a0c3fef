"""The app's extractive answers in worker processes, off the server's GIL.

In one process, the server's event loop (Gradio's queue, the event streams, each
event's pre- and post-processing on anyio's threads) and the pipeline's threads share
one GIL: at 20 users a pipeline call of 188 ms wall was 13.5 ms on a CPU, 94 ms
waiting for a CPU and 81 ms waiting for the GIL, and the event loop waited on the
pipeline's threads in turn (CPython hands the GIL to a waiting thread every 5 ms).
``AnswerProcesses(settings, n, build)`` answers extractive questions in ``n`` spawned
worker processes instead, each with its own warmed-up ``AskPipeline`` over the index
build the server serves (the index's arrays are memory-mapped, so their pages are
shared; the rest, about 280 MB a worker, is not).

The workers start in the background: ``ready`` is False until every one has loaded
its pipeline, and the caller answers on its own threads meanwhile. A worker that
loaded another build than ``build`` (the index changed on disk) refuses to start, so
an answer never comes from another build than the page shows. A worker that dies
(killed, out of memory) breaks the pool: ``ask`` raises ``BrokenProcessPool`` and the
caller answers on its threads (``LiveIndex`` starts a new pool). When the server
process dies, however it dies (SIGKILL included), its workers exit within a second:
each watches that its parent is still the server.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

_pipeline = None  # in a worker: its AskPipeline
PARENT_CHECK_S = 0.5  # how often a worker checks that the server is still there


def build_of(pipeline) -> str | None:
    """The index build a pipeline answers from (its folder's name)."""
    path = getattr(getattr(getattr(pipeline, "retriever", None), "store", None), "path", None)
    return getattr(path, "name", None)


def _exit_with(parent: int) -> None:
    """End this worker when the server process is gone (killed, even by SIGKILL): a
    worker whose parent died is adopted by another process and would live on, holding
    its memory. Checked twice a second on a thread of its own."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _start_worker(settings, build: str | None, parent: int) -> None:
    global _pipeline
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="parent-watch").start()
    from threadpoolctl import threadpool_limits

    from .ask import AskPipeline
    from .index import IndexStore
    from .retrieval import HybridRetriever

    threadpool_limits(1)  # one compute thread each: the processes use the cores
    # never builds, nor compares the corpus again: the build is the one the server checked and
    # serves (a missing index, or another build made current since, fails here)
    store = IndexStore.load(settings, check=build is None)
    if build is not None and store.path.name != build:
        raise RuntimeError(f"the index on disk is build {store.path.name}, the server serves {build}")
    _pipeline = AskPipeline(settings, retriever=HybridRetriever(settings, store=store)).warm_up()


def _ready() -> int:
    return os.getpid()


def _ask(kwargs: dict[str, Any]) -> dict[str, Any]:
    assert _pipeline is not None
    return _pipeline.ask(**kwargs)


class AnswerProcesses:
    """``processes`` workers answering extractive questions (see the module docstring)."""

    def __init__(self, settings, processes: int, build: str | None = None):
        self.processes = processes
        self.build = build
        self.pool = ProcessPoolExecutor(processes, mp_context=mp.get_context("spawn"),
                                        initializer=_start_worker, initargs=(settings, build, os.getpid()))
        self.ready = False
        self.error: BaseException | None = None
        self._settled = threading.Event()
        self._left = processes
        self._lock = threading.Lock()
        # one call per worker makes the pool start them all now, not at the first questions
        for f in [self.pool.submit(_ready) for _ in range(processes)]:
            f.add_done_callback(self._started)

    def _started(self, f: Future) -> None:
        with self._lock:
            self.error = self.error or f.exception()
            self._left -= 1
            if self._left == 0:
                self.ready = self.error is None
                self._settled.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Whether the workers are ready (after waiting at most ``timeout`` s for them to start)."""
        self._settled.wait(timeout)
        return self.ready

    def pids(self) -> list[int]:
        return [p.pid for p in list(self.pool._processes.values())]  # noqa: SLF001 - for /healthz and tests

    async def ask(self, **kwargs) -> dict[str, Any]:
        """``AskPipeline.ask(**kwargs)`` in a worker."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, _ask, kwargs)

    def close(self) -> None:
        """No new questions; the workers finish the ones they have, then exit."""
        self.ready = False
        self.pool.shutdown(wait=False, cancel_futures=False)


__all__ = ["AnswerProcesses", "BrokenProcessPool", "build_of"]
