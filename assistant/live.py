"""The index in use by a running server, swapped whole when the knowledge base changes.

``LiveIndex(pipeline, settings)`` holds the warmed-up ``AskPipeline`` and the app's
``Library`` (plans and clauses) of one index build. ``reload()`` (after a document
was added or removed and the incremental build made a new build current) warms up
a new pipeline beside the old one and then replaces both in one assignment: a
question already being answered finishes on the pipeline it started with (the
builder keeps the previous build one generation for exactly this), the next one
uses the new index. Nothing is restarted. When an LLM is configured, its answerer is
built here, at start-up (``AskPipeline.warm_up_llm``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class _Snapshot:
    pipeline: Any
    library: Any


class LiveIndex:
    def __init__(self, pipeline, settings, make_library: Callable[[Any, Any], Any]):
        self.settings = settings
        self._make_library = make_library
        self._reload_lock = threading.Lock()
        # a server's users may ask with the LLM: its answerer is built now, not by the
        # first LLM questions (one per process, shared by the pipelines a reload swaps in)
        pipeline.warm_up_llm()
        self._now = _Snapshot(pipeline, make_library(settings, _store_of(pipeline)))

    @property
    def pipeline(self):
        return self._now.pipeline

    @property
    def lib(self):
        return self._now.library

    def snapshot(self) -> _Snapshot:
        """Pipeline and library of one build, for work that must not see a swap half-way."""
        return self._now

    def reload(self) -> None:
        from .ask import AskPipeline

        with self._reload_lock:
            pipeline = AskPipeline(self.settings).warm_up()
            self._now = _Snapshot(pipeline, self._make_library(self.settings, _store_of(pipeline)))


def _store_of(pipeline) -> Any:
    return getattr(getattr(pipeline, "retriever", None), "store", None)
