"""The index in use by a running server, swapped whole when the knowledge base changes.

``LiveIndex(pipeline, settings)`` holds the warmed-up ``AskPipeline`` and the app's
``Library`` (plans and clauses) of one index build. ``reload()`` (after a document
was added or removed and the incremental build made a new build current) warms up
a new pipeline beside the old one and then replaces both in one assignment: a
question already being answered finishes on the pipeline it started with (the
builder keeps the previous build one generation for exactly this), the next one
uses the new index. Nothing is restarted. When an LLM is configured, its answerer is
built here, at start-up (``AskPipeline.warm_up_llm``).

A serving process calls ``start_answer_processes(n)``: the extractive answers are then
computed in ``n`` worker processes (``answerprocs``) over the same build, started again
over each new build by ``reload()`` and swapped in with its pipeline (until they are
ready, and if they die, answers are computed on the server's threads).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class _Snapshot:
    pipeline: Any
    library: Any
    processes: Any = None  # AnswerProcesses over the same build, or None


class LiveIndex:
    def __init__(self, pipeline, settings, make_library: Callable[[Any, Any], Any]):
        self.settings = settings
        self._make_library = make_library
        self._reload_lock = threading.Lock()
        # a server's users may ask with the LLM: its answerer is built now, not by the
        # first LLM questions (one per process, shared by the pipelines a reload swaps in)
        pipeline.warm_up_llm()
        self._now = _Snapshot(pipeline, make_library(settings, _store_of(pipeline)))
        self._processes = 0

    @property
    def pipeline(self):
        return self._now.pipeline

    @property
    def lib(self):
        return self._now.library

    def snapshot(self) -> _Snapshot:
        """Pipeline and library of one build, for work that must not see a swap half-way."""
        return self._now

    def answer_processes(self):
        """The ready worker processes of the build in use, or None (answer on this process's threads)."""
        procs = self._now.processes
        return procs if procs is not None and procs.ready else None

    def start_answer_processes(self, n: int) -> None:
        """Compute extractive answers in ``n`` worker processes from now on (0: none)."""
        with self._reload_lock:
            self._processes = max(0, int(n))
            old, self._now = self._now, self._with_processes(self._now.pipeline, self._now.library)
        _close(old.processes)

    def processes_failed(self, procs) -> None:
        """``procs`` broke (a worker died): start new ones unless a reload already has."""
        with self._reload_lock:
            if self._now.processes is not procs:
                return
            self._now = self._with_processes(self._now.pipeline, self._now.library)
        _close(procs)

    def close(self) -> None:
        with self._reload_lock:
            old, self._now = self._now, _Snapshot(self._now.pipeline, self._now.library)
            self._processes = 0
        _close(old.processes)

    def _with_processes(self, pipeline, library) -> _Snapshot:
        from .answerprocs import AnswerProcesses, build_of

        procs = AnswerProcesses(self.settings, self._processes, build_of(pipeline)) if self._processes else None
        return _Snapshot(pipeline, library, procs)

    def reload(self) -> None:
        from .ask import AskPipeline

        with self._reload_lock:
            pipeline = AskPipeline(self.settings).warm_up()
            old = self._now
            self._now = self._with_processes(pipeline, self._make_library(self.settings, _store_of(pipeline)))
        _close(old.processes)  # they finish the questions they have (on the old build, as they began)


def _close(procs) -> None:
    if procs is not None:
        procs.close()


def _store_of(pipeline) -> Any:
    return getattr(getattr(pipeline, "retriever", None), "store", None)
