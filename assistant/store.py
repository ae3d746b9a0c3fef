"""A loaded index: ``IndexStore.load(settings)``.

What loading reads is small and independent of the corpus's text: the manifest,
the document table, a few integer arrays (memory-mapped) and the lexical and
vector indexes (memory-mapped, or opened by their backend). Clauses and chunks
are read per document when a question first needs them (documents.py); nothing
is embedded at start.

Search API (what ``HybridRetriever`` uses; ``docs`` is a collection of document
ids, and a search given ``docs`` costs what those documents cost):

* ``bm25_search(text, k, docs=None)``  → [(chunk, BM25 score)] best first;
* ``dense_search(text, k, docs=None)`` → [(chunk, cosine of its best row)];
* ``bm25_scores(text, chunks)``, ``dense_scores(text, chunks)``: exact scores of
  given chunks (to score a candidate found by one side on the other side);
* ``bm25_document_scores(text, docs)`` → {doc: BM25 of the document taken whole}
  (how much each of several documents is about the question's words);
* ``similarities(question, texts)``: cosines for the answerer. A text that is a
  vector row of the index reuses its stored vector (found by digest); another is
  embedded once and kept in ``index/simcache/`` for later processes.

Chunk numbers are the build's: documents in table order, each document's chunks
contiguous (``chunk_doc``), and each chunk's rows contiguous (``chunk_row_ptr``).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .builder import ARRAYS, INDEX_FORMAT, chunking_settings, row_policy
from .chunking import search_text
from .documents import IndexedDocuments, LazyChunks, LazyClauses, LazyClausesByDoc
from .embcache import EmbeddingCache, model_folder, text_digest
from .embeddings import Embedder, embed_texts, make_embedder, normalise_spec
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .indexfiles import BUILDS_DIR, MANIFEST, check_file, hold_reader_lock, read_current, read_json
from .lexical import BM25Index
from .models import PlanMeta
from .settings import Settings
from .textnorm import for_search
from .tokens import tokenize, tokenizer_fingerprint
from .tokens import warm_up as warm_up_tokenizer
from .vector_backends import backend_for_manifest, vector_backend

SIMCACHE_DIR = "simcache"
DEEP_CHECK_MAX_BYTES = 16 << 20  # files up to this size are checksummed at load; larger ones by size


class IndexStore:
    """A loaded index (see the module docstring). Use ``IndexStore.load(settings)``."""

    def __init__(self, path: Path, manifest: dict, docs: IndexedDocuments, arrays: dict[str, np.ndarray],
                 lexical: BM25Index, vectors, settings: Settings):
        self.path = path
        self.manifest = manifest
        self.settings = settings
        self.docs = docs
        self.lexical = lexical
        self.vectors = vectors
        self.chunk_doc = arrays["chunk_doc"]
        self.chunk_ord = arrays["chunk_ord"]
        self.chunk_row_ptr = arrays["chunk_row_ptr"]
        self.dense_owner = arrays["row_chunk"]  # vector row → chunk
        self._row_keys = arrays["row_keys"]
        self._row_keys_row = arrays["row_keys_row"]
        self.doc_chunk_ptr = np.asarray([d["chunk_start"] for d in docs.table] + [len(self.chunk_doc)], dtype=np.int64)
        self.doc_row_ptr = np.asarray([d["row_start"] for d in docs.table] + [int(self.chunk_row_ptr[-1])],
                                      dtype=np.int64)
        self.clauses = LazyClauses(docs)
        self.clauses_by_doc = LazyClausesByDoc(docs)
        self.chunks = LazyChunks(docs, self.chunk_doc, self.doc_chunk_ptr)
        self.tokenize = tokenize
        self._embedder: Embedder | None = None
        self._emb_lock = threading.Lock()
        self._query_cache: dict[str, np.ndarray] = {}
        self._text_vecs: dict[str, np.ndarray] = {}
        self._simcache: EmbeddingCache | None = None
        self._reader_lock = None  # see load()

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings, check: bool = True) -> "IndexStore":
        index_dir = Path(settings.index_dir)
        build = read_current(index_dir)
        if build is None:
            raise IndexMissingError(str(index_dir))
        path = index_dir / BUILDS_DIR / build
        # held for this store's life: a later build keeps this build's files (documents are
        # read from them lazily) until the store is gone
        reader_lock = hold_reader_lock(path)
        manifest = read_json(path / MANIFEST, index_dir)
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatchError(str(index_dir), f"index format {manifest.get('format')} (this code reads "
                                                     f"{INDEX_FORMAT})")
        if check:
            cls.check_manifest(manifest, settings, path)
        try:
            files = manifest["files"]
            for name, rec in files.items():
                check_file(path / name, rec, index_dir, deep=int(rec.get("size", 0)) <= DEEP_CHECK_MAX_BYTES)
        except (KeyError, AttributeError, TypeError):
            raise IndexCorruptError(str(index_dir), f"{MANIFEST} does not list the index's files") from None
        docs = IndexedDocuments.open(index_dir, path)
        docs.check_artefacts()
        arrays = {}
        for name in ARRAYS:
            try:
                arrays[name] = np.load(path / f"{name}.npy", mmap_mode="r")
            except (OSError, ValueError) as e:
                raise IndexCorruptError(str(index_dir), f"{name}.npy cannot be read ({e})") from None
        n_chunks = len(arrays["chunk_doc"])
        if (len(arrays["chunk_ord"]) != n_chunks or len(arrays["chunk_row_ptr"]) != n_chunks + 1
                or (docs.table and docs.table[-1]["chunk_end"] != n_chunks)
                or len(arrays["row_chunk"]) != int(arrays["chunk_row_ptr"][-1])):
            raise IndexCorruptError(str(index_dir), "the chunk and row arrays do not fit the document table")
        lexical = BM25Index.load(path, index_dir)
        if lexical.n_chunks != n_chunks:
            raise IndexCorruptError(str(index_dir), f"the BM25 index has {lexical.n_chunks} chunks, not {n_chunks}")
        doc_row_ptr = np.asarray([d["row_start"] for d in docs.table] + [len(arrays["row_chunk"])], dtype=np.int64)
        vectors = backend_for_manifest(manifest, settings).open(path, manifest, doc_row_ptr,
                                                                [d["chunks"]["key"] for d in docs.table], index_dir)
        store = cls(path, manifest, docs, arrays, lexical, vectors, settings)
        store._reader_lock = reader_lock
        return store

    @staticmethod
    def check_manifest(manifest: dict, settings: Settings, build_dir: Path | None = None) -> None:
        """Raise IndexMismatchError saying what differs between the index and the settings/corpus.
        The corpus files are hashed only when they do not show the sizes and times the build
        recorded (``corpus_witness``)."""
        from .corpus_witness import corpus_unchanged
        from .ingest import PIPELINE_VERSION, scan_corpus

        where = settings.index_dir
        try:
            want = normalise_spec(settings.embedding_model)
            have = manifest["embedding"]["model"]
            if have != want:
                raise IndexMismatchError(where, f"it was built with embedding model {have!r} but embedding_model is "
                                                f"{want!r}")
            if manifest["chunking"] != chunking_settings(settings):
                raise IndexMismatchError(where, f"chunking settings {manifest['chunking']} differ from the current "
                                                f"{chunking_settings(settings)}")
            if manifest.get("rows") != row_policy(settings):
                raise IndexMismatchError(where, f"vector rows {manifest.get('rows')} differ from the current "
                                                f"{row_policy(settings)}")
            if manifest.get("tokenizer") != tokenizer_fingerprint():
                raise IndexMismatchError(where, "the BM25 tokeniser or corpus/userdict.txt changed")
            configured = vector_backend(settings).config()
            if manifest["vectors"].get("config") != configured:
                raise IndexMismatchError(where, f"its vectors were stored with {manifest['vectors'].get('config')}, "
                                                f"the settings now say {configured}")
            if build_dir is not None and corpus_unchanged(build_dir, settings.corpus_dir, PIPELINE_VERSION):
                return  # the very files indexed: no need to hash them
            current = scan_corpus(settings).fingerprint()
            if manifest["corpus"]["sha1"] != current["sha1"]:
                raise IndexMismatchError(where, describe_corpus_change(manifest["corpus"], current))
        except (KeyError, TypeError, AttributeError):
            raise IndexCorruptError(where, f"{MANIFEST} lacks what this code needs") from None

    def warm_up(self) -> None:
        """Load the embedding model and the BM25 tokeniser now rather than on the first query."""
        _ = self.embedder
        warm_up_tokenizer()

    # -- documents -----------------------------------------------------------------------
    @property
    def doc_ids(self) -> list[str]:
        return self.docs.doc_ids

    @property
    def plans(self) -> list[PlanMeta]:
        """Every document's metadata as ingestion left it (inferred fields included)."""
        return self.docs.metas

    @property
    def n_chunks(self) -> int:
        return int(len(self.chunk_doc))

    def chunk_clause_id(self, i: int) -> str:
        return f"{self.docs.doc_ids[int(self.chunk_doc[i])]}#{int(self.chunk_ord[i])}"

    def chunk_clause_ids(self, chunks: Sequence[int]) -> list[str]:
        """``chunk_clause_id`` of many chunks with one read of each memory-mapped array
        (element by element, 15,000 chunks cost ~30 ms in numpy's memmap indexing)."""
        idx = np.asarray(chunks, dtype=np.int64)
        ids = self.docs.doc_ids
        return [f"{ids[d]}#{o}" for d, o in zip(np.asarray(self.chunk_doc[idx]).tolist(),
                                                np.asarray(self.chunk_ord[idx]).tolist())]

    def chunk_text(self, i: int) -> str:
        return search_text(self.chunks[i])

    def doc_numbers(self, docs: Iterable[str] | None) -> list[int] | None:
        """Document numbers of the build for ids (unknown ids are ignored)."""
        if docs is None:
            return None
        idx = self.docs.index_of
        return sorted({idx[d] for d in docs if d in idx})

    def chunk_ranges(self, docs: Iterable[str] | None) -> list[tuple[int, int]] | None:
        nums = self.doc_numbers(docs)
        if nums is None:
            return None
        return [(int(self.doc_chunk_ptr[d]), int(self.doc_chunk_ptr[d + 1])) for d in nums]

    def count_chunks(self, docs: Iterable[str] | None = None) -> int:
        ranges = self.chunk_ranges(docs)
        return self.n_chunks if ranges is None else sum(b - a for a, b in ranges)

    def clause_table(self, doc_id: str) -> dict[str, list]:
        """{"ord", "path", "head"} of a document's clauses, without reading its artefact."""
        return self.docs.clause_table()[self.docs.index_of[doc_id]]

    def term_stats(self, docs: Iterable[str] | None = None) -> tuple[int, Callable[[str], int]]:
        """(chunks, in how many chunks a token occurs): the statistics the answerer
        weighs keywords by, read from the BM25 index; within the documents ``docs``
        when given (a family of documents, ``term_weights``), else over the whole index."""
        ranges = self.chunk_ranges(docs)
        if ranges is None:
            return self.n_chunks, self.lexical.document_frequency
        return sum(b - a for a, b in ranges), lambda token: self.lexical.document_frequency(token, ranges)

    # -- BM25 --------------------------------------------------------------------------
    def bm25_search(self, query_text: str, k: int, docs: Iterable[str] | None = None) -> list[tuple[int, float]]:
        """(chunk, BM25 score) best first; only chunks sharing a token with the query.
        Restricted to ``docs``, the scores use those documents' own statistics (``lexical``)."""
        return self.lexical.search(query_text, k, self.chunk_ranges(docs))

    def bm25_scores(self, query_text: str, chunks: Sequence[int], docs: Iterable[str] | None = None) -> np.ndarray:
        """BM25 scores of ``chunks``, with the statistics ``bm25_search`` over ``docs`` uses."""
        return self.lexical.score(query_text, np.asarray(chunks, dtype=np.int64), self.chunk_ranges(docs))

    def bm25_document_scores(self, query_text: str, docs: Iterable[str]) -> dict[str, float]:
        """Each document's BM25 taken whole, among ``docs`` (``lexical.document_scores``)."""
        nums = self.doc_numbers(docs) or []
        ranges = [(int(self.doc_chunk_ptr[d]), int(self.doc_chunk_ptr[d + 1])) for d in nums]
        scores = self.lexical.document_scores(query_text, ranges)
        ids = self.doc_ids
        return {ids[d]: float(s) for d, s in zip(nums, scores)}

    def term_used(self, docs: Iterable[str] | None = None) -> Callable[[str], bool]:
        """Whether a token occurs in the documents ``docs`` (all when None)."""
        ranges = self.chunk_ranges(docs)
        return lambda token: self.lexical.used_in(token, ranges)

    # -- dense -------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The manifest's embedding model, loaded on first use."""
        with self._emb_lock:
            if self._embedder is None:
                # one thread: questions and a few sentences at a time (see USEEmbedder)
                emb = make_embedder(self.manifest["embedding"]["model"], self.settings.embedding_batch_size, threads=1)
                emb.warm_up()
                self._embedder = emb
            return self._embedder

    def embed_query(self, text: str) -> np.ndarray:
        key = for_search(text)
        with self._emb_lock:
            vec = self._query_cache.get(key)
        if vec is None:
            vec = self.embedder.embed([key])[0]
            with self._emb_lock:
                if len(self._query_cache) >= 256:
                    self._query_cache.pop(next(iter(self._query_cache)))
                self._query_cache[key] = vec
        return vec

    def dense_search(self, query_text: str, k: int, docs: Iterable[str] | None = None) -> list[tuple[int, float]]:
        """(chunk, cosine of the chunk's best row) best first."""
        return self.dense_search_vec(self.embed_query(query_text), k, docs)

    def dense_search_vec(self, vec: np.ndarray, k: int, docs: Iterable[str] | None = None) -> list[tuple[int, float]]:
        nums = self.doc_numbers(docs)
        n_chunks = self.n_chunks if nums is None else sum(
            int(self.doc_chunk_ptr[d + 1] - self.doc_chunk_ptr[d]) for d in nums)
        n_rows = self.vectors.n_rows if nums is None else sum(
            int(self.doc_row_ptr[d + 1] - self.doc_row_ptr[d]) for d in nums)
        k = min(int(k), n_chunks)
        if k <= 0:
            return []
        q = np.asarray(vec, dtype=np.float32).reshape(-1)
        # a chunk has one row plus one per sentence: fetch rows until k distinct chunks
        rows_wanted = min(n_rows, max(2 * k, k * max(1, -(-n_rows // max(1, n_chunks)))))
        while True:
            rows, scores = self.vectors.search(q, rows_wanted, nums)
            best: dict[int, float] = {}
            for r, sc in zip(rows.tolist(), scores.tolist()):
                c = int(self.dense_owner[r])
                if c not in best:  # rows come best first
                    best[c] = float(sc)
            if len(best) >= k or rows_wanted >= n_rows:
                return sorted(best.items(), key=lambda kv: -kv[1])[:k]
            rows_wanted = min(n_rows, rows_wanted * 4)

    def dense_scores(self, query_text: str, chunks: Sequence[int]) -> np.ndarray:
        """Cosine of the query with each chunk's best row."""
        return self.dense_scores_vec(self.embed_query(query_text), chunks)

    def dense_scores_vec(self, vec: np.ndarray, chunks: Sequence[int]) -> np.ndarray:
        chunks = np.asarray(chunks, dtype=np.int64)
        if not len(chunks):
            return np.zeros(0, dtype=np.float32)
        starts = self.chunk_row_ptr[chunks]
        ends = self.chunk_row_ptr[chunks + 1]
        counts = (ends - starts).astype(np.int64)
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), ends.tolist())])
        sc = self.vectors.score(np.asarray(vec, dtype=np.float32), rows)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return np.maximum.reduceat(sc, offsets).astype(np.float32)

    # -- the answerer's sentence vectors ----------------------------------------------------
    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine of the query with each text (see the module docstring)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        q = self.embed_query(query)
        keys = self.prepare_texts(texts)
        with self._emb_lock:
            vecs = np.vstack([self._text_vecs[k] for k in keys])
        return (vecs @ q).astype(np.float32)

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        """Make sure every text has a vector (a stored row, the sentence cache, or
        embedded now in one batch and cached); returns their lookup keys."""
        keys = [for_search(t) for t in texts]
        with self._emb_lock:
            todo = list(dict.fromkeys(k for k in keys if k not in self._text_vecs))
        if not todo:
            return keys
        found = self._from_rows(todo)
        rest = [k for k in todo if k not in found]
        if rest:
            cache = self._sentence_cache()
            digests = [text_digest(k) for k in rest]
            have = [d for d in digests if d in cache]
            if have:
                found.update(zip((k for k, d in zip(rest, digests) if d in cache), cache.gather(have)))
            new = [(k, d) for k, d in zip(rest, digests) if d not in cache]
            if new:
                vecs = embed_texts(self.embedder, [k for k, _ in new])
                found.update(zip((k for k, _ in new), vecs))
                try:
                    with cache.writer(dim=vecs.shape[1]) as w:
                        w.add([d for _, d in new], vecs)
                except OSError:
                    pass  # a read-only index folder: the vectors stay in memory only
        with self._emb_lock:
            if len(self._text_vecs) > 200_000:
                self._text_vecs.clear()
            self._text_vecs.update(found)
        return keys

    def _from_rows(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not len(self._row_keys):
            return {}
        prefix = np.asarray([int.from_bytes(text_digest(k)[:8], "big") for k in keys], dtype=np.uint64)
        pos = np.searchsorted(self._row_keys, prefix)
        ok = pos < len(self._row_keys)
        ok[ok] = self._row_keys[pos[ok]] == prefix[ok]
        if not ok.any():
            return {}
        rows = np.asarray(self._row_keys_row)[pos[ok]]
        vecs = self.vectors.fetch(rows)
        return dict(zip((k for k, good in zip(keys, ok) if good), vecs))

    def _sentence_cache(self) -> EmbeddingCache:
        with self._emb_lock:
            if self._simcache is None:
                model = self.manifest["embedding"]["model"]
                folder = model_folder(Path(self.settings.index_dir) / SIMCACHE_DIR, model)
                self._simcache = EmbeddingCache(folder, model).load_index()
            return self._simcache


def describe_corpus_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    of, nf = old.get("files", {}), new.get("files", {})
    parts = []
    changed = sorted(k for k in of.keys() & nf.keys() if of[k] != nf[k])
    added = sorted(nf.keys() - of.keys())
    removed = sorted(of.keys() - nf.keys())
    for label, names in (("changed", changed), ("added", added), ("removed", removed)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{label}: {shown}")
    if old.get("ingest_version") != new.get("ingest_version"):
        parts.append(f"ingest code version {old.get('ingest_version')} → {new.get('ingest_version')}")
    return "the corpus differs from the one indexed (" + ("; ".join(parts) or "fingerprint differs") + ")"


__all__ = ["IndexStore", "describe_corpus_change"]
