"""The plans and clauses the app shows (``Library``), one per index build.

Kept apart from the UI (``ui.py``) so that a server can load it, and answer through
the API, before Gradio is imported (``server.py`` builds the UI in the background).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .models import Clause, PlanMeta
from .table_layouts import TableLayout, load_table_layouts
from .ui_tables import header_line, row_columns


def is_pipe_row(c: Clause) -> bool:
    return c.text.lstrip().startswith("|")


@dataclass
class Library:
    """Plans and their clauses, shared read-only by every session. The clauses are the
    index's own (``IndexStore.clauses``), read per document when first shown."""

    plans: list[PlanMeta]
    clauses_by_doc: Mapping[str, list[Clause]]
    by_id: Mapping[str, Clause]
    tables_by_doc: Mapping[str, list[TableLayout]] = field(default_factory=dict)  # corpus/tables.toml
    corpus_dir: str = ""
    # each corpus file's sha1 when the index was built, and its [size, mtime_ns, ctime_ns]
    # then (corpus_witness: a file that still shows them need not be read)
    indexed_sha1: Mapping[str, str] = field(default_factory=dict)
    indexed_stat: Mapping[str, list[int]] = field(default_factory=dict)
    _plans_by_id: dict[str, PlanMeta] | None = field(default=None, init=False, repr=False, compare=False)
    _hashed: dict[tuple, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, settings, store=None) -> "Library":
        if store is None:
            from .store import IndexStore

            try:
                store = IndexStore.load(settings, check=False)
            except (IndexMissingError, IndexMismatchError, IndexCorruptError):
                from .corpus import load_plans

                return cls(load_plans(settings.corpus_dir), {}, {}, load_table_layouts(settings.corpus_dir))
        from .corpus_witness import read_witness

        recorded = read_witness(store.path) or {}
        return cls(list(store.plans), store.clauses_by_doc, store.clauses, load_table_layouts(settings.corpus_dir),
                   str(settings.corpus_dir), (store.manifest.get("corpus") or {}).get("files") or {},
                   recorded.get("stat") or {})

    def resolve(self, citation: dict[str, Any]) -> str | None:
        cid = citation.get("clause_id")
        if cid and cid in self.by_id:
            return cid
        doc, path = citation.get("doc_id", ""), citation.get("path", "")
        best = None
        for c in self.clauses_by_doc.get(doc, []):
            # a path names a leaf and, rarely, its parent too: the leaf holds the quoted text
            if c.path == path and (best is None or c.is_leaf):
                best = c.clause_id
        return best

    def citation_state(self, citation: dict[str, Any]) -> str:
        """Whether an answer's citation (of a conversation kept from an earlier index) still
        holds: "removed" when its clause is no longer in the index (its document deleted or
        its numbering changed), "changed" when the clause's text is not the text the answer
        quoted from, else "" (a citation without its clause's text is taken as it is)."""
        cid = self.resolve(citation)
        if cid is None:
            return "removed"
        quoted_from = citation.get("clause_text")
        if quoted_from and self.by_id[cid].text != quoted_from:
            return "changed"
        return self.file_state(citation.get("doc_id", ""))

    def file_state(self, doc_id: str) -> str:
        """"file_changed" when a document's file is no longer the one indexed (written since,
        and the index not yet rebuilt: what is quoted is the text as indexed), "file_gone"
        when it is no longer there, else "". A file showing the size and times recorded at
        the build is not read; another is hashed once per size and times it shows."""
        meta = self._plan_by_id().get(doc_id)
        sha1 = self.indexed_sha1.get(meta.file) if meta is not None else None
        if sha1 is None:
            return ""
        path = os.path.join(self.corpus_dir, meta.file)
        try:
            st = os.stat(path)
        except OSError:
            return "file_gone"
        shown = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        if shown == list(self.indexed_stat.get(meta.file) or ()):
            return ""
        key = (meta.file, *shown)
        if key not in self._hashed:
            from .indexfiles import sha1_file

            try:
                self._hashed[key] = sha1_file(Path(path)) == sha1
            except OSError:
                return "file_gone"
        return "" if self._hashed[key] else "file_changed"

    def _plan_by_id(self) -> dict[str, PlanMeta]:
        if self._plans_by_id is None:
            self._plans_by_id = {p.id: p for p in self.plans}
        return self._plans_by_id

    def columns(self, citation: dict[str, Any]) -> list[str]:
        """The column names over each cell of a cited table row (none for other clauses)."""
        c = self.by_id.get(self.resolve(citation) or "")
        if c is None or c.level not in ("table_row", "attachment_row"):
            return []
        if is_pipe_row(c) and c.parent_paths:
            table = next((t for t in self.clauses_by_doc.get(c.doc_id, []) if t.path == c.parent_paths[-1]), None)
            if table is not None and header_line(table.text):
                return row_columns(header_line(table.text), c.text.strip())
        return list(c.fields)

    def tables(self, citation: dict[str, Any]) -> list[TableLayout]:
        """The laid-out tables (corpus/tables.toml) of a citation's document."""
        return self.tables_by_doc.get(citation.get("doc_id", ""), [])

    @property
    def titles(self) -> dict[str, str]:
        return {p.id: p.title for p in self.plans}

    def meta(self, doc_id: str) -> PlanMeta | None:
        return next((p for p in self.plans if p.id == doc_id), None)

    def clause_choices(self, doc_id: str) -> list[tuple[str, str]]:
        return [(f"{c.path}  {c.heading}".strip()[:60], c.clause_id) for c in self.clauses_by_doc.get(doc_id, [])]


def make_library(settings, store) -> Library:
    """``LiveIndex``'s library of one build."""
    return Library.load(settings, store=store)
