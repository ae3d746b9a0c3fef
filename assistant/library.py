"""The plans and clauses the app shows (``Library``), one per index build.

Kept apart from the UI (``ui.py``) so that a server can load it, and answer through
the API, before Gradio is imported (``server.py`` builds the UI in the background).
"""
from __future__ import annotations

from dataclasses import dataclass, field
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

    @classmethod
    def load(cls, settings, store=None) -> "Library":
        if store is None:
            from .store import IndexStore

            try:
                store = IndexStore.load(settings, check=False)
            except (IndexMissingError, IndexMismatchError, IndexCorruptError):
                from .corpus import load_plans

                return cls(load_plans(settings.corpus_dir), {}, {}, load_table_layouts(settings.corpus_dir))
        return cls(list(store.plans), store.clauses_by_doc, store.clauses, load_table_layouts(settings.corpus_dir))

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
