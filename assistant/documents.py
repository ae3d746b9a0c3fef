"""The documents of one build: their table, and their clauses, chunks and text
read from the per-document artefacts on first use.

Nothing here loads the corpus at start: opening a build reads its document table
(metadata and where each document's artefacts are); a document's clauses are read
(and checked against the sha1 the build recorded) when a question first needs
them, and the most recently used documents stay in memory.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Iterator

from .artefacts import CHUNKS, INGEST, ArtefactStore
from .errors import IndexCorruptError
from .indexfiles import BUILDS_DIR, read_current, read_json
from .models import Chunk, Clause, PlanMeta

DOCS_TABLE = "docs.json"
CLAUSE_TABLE = "clause_table.json"
CACHED_DOCS = 128  # documents whose clauses and chunks stay in memory


class IndexedDocuments:
    """The documents of a build (see the module docstring)."""

    def __init__(self, index_dir: Path, build_dir: Path, table: list[dict[str, Any]]):
        self.index_dir = Path(index_dir)
        self.build_dir = Path(build_dir)
        self.table = table
        self.doc_ids: list[str] = [d["id"] for d in table]
        self.index_of: dict[str, int] = {d: i for i, d in enumerate(self.doc_ids)}
        self.metas: list[PlanMeta] = [PlanMeta(**d["meta"]) for d in table]
        self.artefacts = ArtefactStore(index_dir)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._clause_table: list[dict[str, list]] | None = None

    @classmethod
    def open(cls, index_dir: Path | str, build_dir: Path) -> "IndexedDocuments":
        table = read_json(build_dir / DOCS_TABLE, index_dir, expect=list)
        for d in table:
            if not isinstance(d, dict) or not {"id", "meta", "ingest", "chunks"} <= set(d):
                raise IndexCorruptError(str(index_dir), f"{DOCS_TABLE} has an entry that is not a document")
        return cls(Path(index_dir), build_dir, table)

    @classmethod
    def open_current(cls, index_dir: Path | str) -> "IndexedDocuments | None":
        """The current build's documents, or None when there is no build."""
        build = read_current(index_dir)
        if build is None:
            return None
        return cls.open(index_dir, Path(index_dir) / BUILDS_DIR / build)

    def check_artefacts(self) -> None:
        """Every artefact the build uses is there with the size it recorded (a stat per
        file; contents are checked against their sha1 when read)."""
        for d in self.table:
            for stage, suffix in (("ingest", INGEST), ("chunks", CHUNKS)):
                rec = d[stage]
                p = self.artefacts.path(rec["key"], suffix)
                try:
                    size = p.stat().st_size
                except OSError:
                    raise IndexCorruptError(str(self.index_dir), f"the {stage} artefact of {d['id']} is missing "
                                                                 f"({p.name})") from None
                if size != rec.get("size"):
                    raise IndexCorruptError(str(self.index_dir), f"the {stage} artefact of {d['id']} has {size} "
                                                                 f"bytes, the index recorded {rec.get('size')}")

    # -- per document, on demand ------------------------------------------------------
    def _cached(self, i: int, kind: str, load):
        key = (i, kind)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = load()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 2 * CACHED_DOCS:
                self._cache.popitem(last=False)
        return value

    def _ingest_artefact(self, i: int) -> dict[str, Any]:
        entry = self.table[i]
        return self._cached(i, "ingest", lambda: self.artefacts.read(entry["ingest"]["key"], INGEST, entry["ingest"]))

    def _chunk_artefact(self, i: int) -> dict[str, Any]:
        entry = self.table[i]
        return self._cached(i, "chunks", lambda: self.artefacts.read(entry["chunks"]["key"], CHUNKS, entry["chunks"]))

    def clauses_of(self, doc_id: str) -> list[Clause]:
        """The document's clauses in reading order."""
        i = self.index_of[doc_id]

        def load() -> list[Clause]:
            try:
                cl = [Clause.from_dict(c) for c in self._ingest_artefact(i)["clauses"]]
            except (KeyError, TypeError, ValueError) as e:
                raise IndexCorruptError(str(self.index_dir), f"the clauses of {doc_id} cannot be read ({e})") from None
            return sorted(cl, key=lambda c: c.ordinal)

        return self._cached(i, "clauses", load)

    def clause_by_ordinal(self, doc_id: str, ordinal: int) -> Clause | None:
        i = self.index_of.get(doc_id)
        if i is None:
            return None
        by_ord = self._cached(i, "by_ord", lambda: {c.ordinal: c for c in self.clauses_of(doc_id)})
        return by_ord.get(ordinal)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        i = self.index_of[doc_id]

        def load() -> list[Chunk]:
            try:
                return [Chunk(**c) for c in self._chunk_artefact(i)["chunks"]]
            except (KeyError, TypeError) as e:
                raise IndexCorruptError(str(self.index_dir), f"the chunks of {doc_id} cannot be read ({e})") from None

        return self._cached(i, "chunk_objs", load)

    def document(self, doc_id: str) -> dict[str, Any]:
        """{"meta", "text", "counts", "warnings"}: the cleaned document as ingested."""
        a = self._ingest_artefact(self.index_of[doc_id])
        return {"meta": a["meta"], "text": a["text"], "counts": a.get("counts", {}), "warnings": a.get("warnings", [])}

    def clause_table(self) -> list[dict[str, list]]:
        """Per document (in table order): clause ordinals, paths and heading lines
        (parents and own heading), without reading any artefact."""
        if self._clause_table is None:
            table = read_json(self.build_dir / CLAUSE_TABLE, self.index_dir, expect=list)
            if len(table) != len(self.doc_ids):
                raise IndexCorruptError(str(self.index_dir), f"{CLAUSE_TABLE} does not match the document table")
            self._clause_table = table
        return self._clause_table


class LazyClauses(Mapping):
    """``clause_id → Clause`` over every document of a build, read on first use."""

    def __init__(self, docs: IndexedDocuments):
        self._docs = docs

    def __getitem__(self, clause_id: str) -> Clause:
        doc_id, _, ordinal = str(clause_id).rpartition("#")
        try:
            c = self._docs.clause_by_ordinal(doc_id, int(ordinal))
        except ValueError:
            c = None
        if c is None:
            raise KeyError(clause_id)
        return c

    def __iter__(self) -> Iterator[str]:
        for d in self._docs.doc_ids:
            for c in self._docs.clauses_of(d):
                yield c.clause_id

    def __len__(self) -> int:
        return sum(int(d.get("n_clauses", 0)) for d in self._docs.table)

    def __contains__(self, clause_id: object) -> bool:
        try:
            self[clause_id]  # type: ignore[index]
        except KeyError:
            return False
        return True


class LazyClausesByDoc(Mapping):
    """``doc_id → [Clause]`` in reading order, read on first use."""

    def __init__(self, docs: IndexedDocuments):
        self._docs = docs

    def __getitem__(self, doc_id: str) -> list[Clause]:
        if doc_id not in self._docs.index_of:
            raise KeyError(doc_id)
        return self._docs.clauses_of(doc_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs.doc_ids)

    def __len__(self) -> int:
        return len(self._docs.doc_ids)


class LazyChunks(Sequence):
    """The build's chunks in chunk-number order, read per document on first use."""

    def __init__(self, docs: IndexedDocuments, chunk_doc, doc_chunk_start):
        self._docs = docs
        self._chunk_doc = chunk_doc
        self._start = doc_chunk_start

    def __len__(self) -> int:
        return int(len(self._chunk_doc))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        d = int(self._chunk_doc[i])
        return self._docs.chunks_of(self._docs.doc_ids[d])[i - int(self._start[d])]


__all__ = ["IndexedDocuments", "LazyClauses", "LazyClausesByDoc", "LazyChunks", "DOCS_TABLE", "CLAUSE_TABLE"]
