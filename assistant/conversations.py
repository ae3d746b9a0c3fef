"""Conversations that last: several chats per browser, kept in SQLite across reloads
and restarts, renamable and deletable.

``ConversationStore(path)`` keeps one row per conversation (its owner, title and
times) and one row per turn (the answer dict as the app shows it, JSON). The owner
is a random id the browser keeps in its local storage (``gr.BrowserState``): no
account, and nobody sees another browser's chats. Each call opens its own
connection (SQLite in WAL mode), so Gradio's worker threads never share one.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (conversation, position)
);
"""
TITLE_CHARS = 24
DEFAULT_TITLE = "新对话"


def title_from(question: str) -> str:
    q = " ".join((question or "").split())
    return (q[:TITLE_CHARS] + "…") if len(q) > TITLE_CHARS else (q or DEFAULT_TITLE)


class ConversationStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction
                yield db

    def browser_secret(self) -> str:
        """The key the browser's owner id is stored under (``gr.BrowserState`` encrypts it):
        made once and kept here, so that the browser is recognised after a restart."""
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO settings VALUES ('browser_secret', ?)", (secrets.token_hex(32),))
            return db.execute("SELECT value FROM settings WHERE name = 'browser_secret'").fetchone()[0]

    # -- conversations --------------------------------------------------------------
    def create(self, owner: str, title: str = DEFAULT_TITLE) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (cid, owner, title, now, now))
        return cid

    def list(self, owner: str) -> list[dict[str, Any]]:
        """The owner's conversations, most recently used first."""
        with self._db() as db:
            rows = db.execute("SELECT id, title, updated FROM conversations WHERE owner = ? "
                              "ORDER BY updated DESC", (owner,)).fetchall()
        return [{"id": r[0], "title": r[1], "updated": r[2]} for r in rows]

    def owns(self, owner: str, cid: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone() is not None

    def rename(self, owner: str, cid: str, title: str) -> bool:
        title = " ".join((title or "").split())[:80]
        if not title:
            return False
        with self._db() as db:
            return db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (title, cid, owner)).rowcount == 1

    def delete(self, owner: str, cid: str) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).rowcount == 1

    # -- turns ----------------------------------------------------------------------------
    def turns(self, owner: str, cid: str) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT t.data FROM turns t JOIN conversations c ON c.id = t.conversation "
                              "WHERE c.id = ? AND c.owner = ? ORDER BY t.position", (cid, owner)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_turns(self, owner: str, cid: str, turns: list[dict[str, Any]]) -> bool:
        """Replace the conversation's turns (the app's list is the truth: a regenerated
        answer replaces the last turn, a clear empties it)."""
        with self._db() as db:
            if db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone() is None:
                return False
            db.execute("DELETE FROM turns WHERE conversation = ?", (cid,))
            db.executemany("INSERT INTO turns VALUES (?, ?, ?)",
                           [(cid, i, json.dumps(t, ensure_ascii=False, default=str)) for i, t in enumerate(turns)])
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), cid))
        return True


def store_for(settings) -> ConversationStore:
    """The store the settings name (``conversations_db``; default ``data/conversations.db``
    in the project: not under ``index/``, which is rebuildable and may be wiped)."""
    from .settings import PROJECT_ROOT

    return ConversationStore(settings.conversations_db or PROJECT_ROOT / "data" / "conversations.db")
