"""User feedback on answers: one JSON line per rating in ``eval/feedback.jsonl``.

The file is the raw material for improving the gold set, so every write must
survive a crash of the app right after the user clicked: each line is written
in append mode, flushed and fsync'ed before the call returns. Several Gradio
worker threads (and, through ``flock``, several app processes) may write at
once; a line is never interleaved with another.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from .errors import AssistantError

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000  # a comment box is not a document store

# One lock per file, shared by every FeedbackLog writing to it in this process.
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class FeedbackLog:
    """Appends ratings to ``<eval_dir>/feedback.jsonl``."""

    def __init__(self, eval_dir: str | os.PathLike):
        self.path = Path(eval_dir) / FEEDBACK_FILE
        self._lock = _lock_for(self.path)

    def append(
        self,
        *,
        question: str,
        answer: str,
        citations: list[dict[str, Any]] | None,
        rating: str,
        comment: str = "",
        answer_id: str = "",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one rating and return the record as written."""
        if rating not in RATINGS:
            raise AssistantError(f"rating must be one of {RATINGS}, got {rating!r}")
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            comment = comment[:MAX_COMMENT_CHARS]
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "answer_id": answer_id,
            "question": question,
            "answer": answer,
            "citations": citations or [],
            "rating": rating,
            "comment": comment,
        }
        if extra:
            record.update({k: v for k, v in extra.items() if k not in record})
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            # the thread lock orders writers in this process; flock those in other processes
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return record

    def read_all(self) -> list[dict[str, Any]]:
        """Every record so far; a torn last line (from a killed writer) is skipped."""
        if not self.path.is_file():
            return []
        out = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out
