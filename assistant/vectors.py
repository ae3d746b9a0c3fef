"""The dense side of search: vector rows behind one small interface.

A build numbers its vector rows document by document (a document's rows are
contiguous) and, inside a document, chunk by chunk: a chunk's own row, then one
row per sentence of a multi-sentence chunk (``store.py`` keeps row → chunk).
``VectorIndex`` is what the store searches; ``FaissVectors`` (the embedded
default, this module) keeps the rows as a memory-mapped float32 matrix
``vectors.npy`` in the build folder, plus, above ``ann_threshold`` rows, an
approximate index (``ann.faiss``: IVF with half-precision lists by default, HNSW on
request) for
searches over the whole corpus.

How a search is done, whichever the backend:

* restricted to some documents (``docs``): exact inner products over those
  documents' rows only, so a question about one document costs that document;
* over everything: exact on the matrix when it is small; otherwise the approximate
  index, with ``nprobe`` (IVF) or ``efSearch`` (HNSW) chosen at build time as the
  smallest value that reaches recall ≥ ``ANN_TARGET_RECALL`` against exact search
  at the depth the retriever reads (``ANN_TUNE_DEPTH``) on sample rows. Questions lie
  farther from the rows than rows from each other (median best cosine 0.51 for the
  plans' questions, 0.79 for a row's nearest other row), so a probe tuned on rows at
  depth 10 fell short on them (recall@10 0.937-0.976 where rows gave 0.99); tuned
  at depth 300 it reaches 0.997-1.000 on the questions (the benchmark measures it
  on real questions at every size). When the
  approximate index returns fewer rows than asked (FAISS pads with −1), the search
  is repeated with a wider probe and, at the limit, exactly: candidates are never
  cut silently.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .errors import IndexCorruptError, SettingsError

log = logging.getLogger(__name__)

VECTORS_FILE = "vectors.npy"
ANN_FILE = "ann.faiss"
FAISS_KINDS = ("auto", "flat", "ivf", "hnsw")
ANN_TARGET_RECALL = 0.99  # chosen with a margin over the 0.98 the benchmark checks on real questions
ANN_TUNE_QUERIES = 200
# The probe is tuned on the recall of the best ANN_TUNE_DEPTH rows: the retriever's
# candidate depth (RetrievalConfig.candidates), the rows a search over everything must find.
ANN_TUNE_DEPTH = 300
RETUNE_CHANGE = 0.05  # re-tune the probe when the rows changed by more than this share since it was tuned
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# The IVF lists hold each row in half precision: the same recall on the real questions as
# float32 lists (0.9994 at 3,475 laws, nprobe 512; identical at 128 and 256), half the
# mapped memory a serving process touches (1,005 -> 505 MB), and faster scans.
IVF_CODES = "fp16"
PROBE_STEPS = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
BLOCK = 65536  # rows per block when streaming the matrix


class VectorIndex(Protocol):
    """Unit-length vector rows, searchable whole or per document."""

    kind: str
    n_rows: int
    dim: int

    def search(self, query: np.ndarray, k: int, docs: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, inner products) of the ``k`` best rows, best first; exact over the
        rows of ``docs`` (document numbers of the build) when given."""

    def score(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner product of ``query`` with each of ``rows``."""

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of ``rows``."""


def choose_faiss_kind(setting: str, n: int, ann_threshold: int) -> str:
    s = (setting or "auto").strip().lower()
    if s not in FAISS_KINDS:
        raise SettingsError(f"faiss_index must be one of {', '.join(FAISS_KINDS)}, not {setting!r}")
    if s == "auto":
        return "ivf" if n >= ann_threshold else "flat"
    return s


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest scores, best first (ties by position)."""
    k = min(int(k), len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.lexsort((top, -scores[top]))]


def _ranges(doc_row_ptr: np.ndarray, docs: Sequence[int]) -> list[tuple[int, int]]:
    out = []
    for d in sorted(set(int(x) for x in docs)):
        a, b = int(doc_row_ptr[d]), int(doc_row_ptr[d + 1])
        if b > a:
            out.append((a, b))
    return out


class FaissVectors:
    """Serving side of the FAISS backend (see the module docstring)."""

    def __init__(self, vectors: np.ndarray, doc_row_ptr: np.ndarray, ann=None, kind: str = "flat",
                 probe: int = 0):
        self.vectors = vectors
        self.doc_row_ptr = doc_row_ptr
        self.ann = ann
        self.kind = kind
        self.probe = int(probe)
        self.n_rows, self.dim = int(vectors.shape[0]), int(vectors.shape[1])
        self.widened = 0  # searches that had to widen the probe or go exact (see search)

    @classmethod
    def load(cls, folder: Path, manifest: dict, doc_row_ptr: np.ndarray, index_dir: Path | str) -> "FaissVectors":
        info = manifest.get("vectors", {})
        try:
            vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise IndexCorruptError(str(index_dir), f"{VECTORS_FILE} cannot be read ({e})") from None
        if vectors.ndim != 2 or vectors.dtype != np.float32 or vectors.shape[0] != int(doc_row_ptr[-1]):
            raise IndexCorruptError(str(index_dir), f"{VECTORS_FILE} has shape {vectors.shape}, "
                                                    f"the index has {int(doc_row_ptr[-1])} rows")
        kind = info.get("kind", "flat")
        ann = None
        if kind in ("ivf", "hnsw"):
            try:
                ann = read_ann(folder / ANN_FILE, kind)
            except (RuntimeError, OSError) as e:
                raise IndexCorruptError(str(index_dir), f"{ANN_FILE} cannot be read ({str(e).splitlines()[0]})") from None
            if ann.ntotal != vectors.shape[0] or ann.d != vectors.shape[1]:
                raise IndexCorruptError(str(index_dir), f"{ANN_FILE} holds {ann.ntotal} rows, the index has {vectors.shape[0]}")
        return cls(vectors, doc_row_ptr, ann, kind, info.get("probe", 0))

    # -- the interface ---------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, docs: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(-1))
        k = min(int(k), self.n_rows)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if docs is not None:
            return self._exact_ranges(q, k, _ranges(self.doc_row_ptr, docs))
        if self.ann is None:
            return self._exact_ranges(q, k, [(0, self.n_rows)])
        return self._approximate(q, k)

    def score(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        order = np.argsort(rows, kind="stable")  # ascending rows read the memory map in order
        out = np.empty(len(rows), dtype=np.float32)
        out[order] = self.vectors[rows[order]] @ np.asarray(query, dtype=np.float32).reshape(-1)
        return out

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    # -- how -----------------------------------------------------------------------
    def _exact_ranges(self, q: np.ndarray, k: int, ranges: list[tuple[int, int]]):
        if not ranges:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows_parts, score_parts = [], []
        for a, b in ranges:
            for s in range(a, b, BLOCK):
                e = min(b, s + BLOCK)
                sc = self.vectors[s:e] @ q
                keep = top_k(sc, k)
                rows_parts.append(keep + s)
                score_parts.append(sc[keep])
        rows = np.concatenate(rows_parts)
        scores = np.concatenate(score_parts)
        best = top_k(scores, k)
        return rows[best].astype(np.int64), scores[best].astype(np.float32)

    def _approximate(self, q: np.ndarray, k: int):
        probe = max(1, self.probe)
        limit = _probe_limit(self.ann, self.kind)
        while True:
            scores, ids = _ann_search(self.ann, self.kind, q.reshape(1, -1), k, probe)
            valid = ids[0] >= 0
            if valid.sum() >= k:
                return ids[0][valid].astype(np.int64), scores[0][valid].astype(np.float32)
            self.widened += 1
            if probe >= limit:
                log.info("approximate search returned %d of %d rows: searching exactly", int(valid.sum()), k)
                return self._exact_ranges(q, k, [(0, self.n_rows)])
            probe = min(limit, probe * 4)


def read_ann(path: Path, kind: str):
    """The approximate index in ``path``. An IVF index's inverted lists (the rows
    themselves, 1 GB at 512,000 rows) are memory-mapped read-only instead of read into
    the process: they are page cache, shared by every process serving the index and
    given back under memory pressure, and nothing is read at start-up. HNSW is read
    whole (FAISS cannot map it)."""
    import faiss

    if kind == "ivf":
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    return faiss.read_index(str(path))


def _probe_limit(ann, kind: str) -> int:
    if kind == "ivf":
        return int(ann.nlist)
    return max(4096, int(ann.ntotal))


def _ann_search(ann, kind: str, q: np.ndarray, k: int, probe: int):
    import faiss

    if kind == "ivf":
        params = faiss.SearchParametersIVF(nprobe=int(probe))
    else:
        params = faiss.SearchParametersHNSW(efSearch=int(max(probe, k)))
    return ann.search(q, k, params=params)


# ---------------------------------------------------------------------------
# writing (build side)
# ---------------------------------------------------------------------------
def ivf_nlist(n: int) -> int:
    """About √n lists: a list holds ~√n rows, and nprobe lists are scanned per query."""
    return int(min(65536, max(16, round(math.sqrt(n)))))


class RowFile:
    """A ``.npy`` float32 matrix on disk, read by plain file reads and never mapped:
    the build reads its vectors twice (IVF lists, probe tuning), and through a memory
    map every page read stayed in the build's RSS (1 GB at 512,000 rows). Slices and
    row lists give arrays, as a matrix would."""

    def __init__(self, path: Path):
        m = np.load(path, mmap_mode="r")
        self.path, self.shape, self.offset = path, m.shape, int(m.offset)
        del m

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, key) -> np.ndarray:
        dim = int(self.shape[1])
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return np.fromfile(self.path, dtype=np.float32, count=max(0, stop - start) * dim,
                                   offset=self.offset + start * dim * 4).reshape(-1, dim)
        rows = np.arange(len(self))[key] if isinstance(key, slice) else np.asarray(key, dtype=np.int64)
        out = np.empty((len(rows), dim), dtype=np.float32)
        with open(self.path, "rb") as fh:
            for i, r in enumerate(rows.tolist()):
                fh.seek(self.offset + r * dim * 4)
                out[i] = np.frombuffer(fh.read(dim * 4), dtype=np.float32)
        return out


def write_rows(path: Path, n_rows: int, dim: int, rows: Callable[[int, int], np.ndarray]) -> None:
    """Write the ``n_rows`` × ``dim`` float32 matrix ``path`` (.npy) block by block:
    ``rows(start, stop)`` gives each block, so no more than one block is in memory."""
    header = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, dim))
    offset = int(header.offset)
    del header
    with open(path, "r+b") as fh:
        fh.seek(offset)
        for s in range(0, n_rows, BLOCK):
            e = min(n_rows, s + BLOCK)
            block = np.ascontiguousarray(rows(s, e), dtype=np.float32)
            if block.shape != (e - s, dim):
                raise ValueError(f"rows {s}-{e}: got an array of shape {block.shape}")
            fh.write(block.tobytes())
        fh.flush()
        os.fsync(fh.fileno())


def write_faiss(folder: Path, n_rows: int, dim: int, rows: Callable[[int, int], np.ndarray], kind_setting: str,
                ann_threshold: int, previous: Path | None = None, previous_info: dict | None = None,
                progress: bool = False) -> dict:
    """Write ``vectors.npy`` (``rows(start, stop)`` gives each block of rows) and, for
    an approximate kind, ``ann.faiss`` into ``folder``; return the manifest's
    ``vectors`` entry. ``previous``/``previous_info``: the previous build's folder and
    ``vectors`` entry, whose IVF centroids and tuned probe are reused while the corpus
    stays close."""
    path = folder / VECTORS_FILE
    write_rows(path, n_rows, dim, rows)
    kind = choose_faiss_kind(kind_setting, n_rows, ann_threshold)
    info: dict = {"backend": "faiss", "kind": kind, "rows": n_rows, "dim": dim}
    if kind == "flat" or n_rows == 0:
        info["kind"] = "flat"
        return info
    matrix = RowFile(path)
    import faiss

    prev = previous_info or {}
    reused = False
    if kind == "ivf":
        ann, reused = _build_ivf(matrix, previous / ANN_FILE if previous else None, progress)
        info.update({"nlist": int(ann.nlist), "codes": IVF_CODES})
    else:
        ann = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        _add_blocks(ann, matrix, progress, "hnsw")
        info.update({"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION})
    tuned_rows = int(prev.get("tuned_rows", prev.get("rows", 0)) or 0)
    if (reused and prev.get("probe") and prev.get("tuned_depth") == ANN_TUNE_DEPTH
            and abs(n_rows - tuned_rows) <= RETUNE_CHANGE * n_rows):
        # the same centroids over nearly the same rows: the probe tuned then still holds
        info.update({k: prev[k] for k in ("probe", "tuned_recall", "tuned_depth") if k in prev})
        info["tuned_rows"] = tuned_rows
    else:
        probe, recall = tune_probe(ann, kind, matrix)
        info.update({"probe": probe, "tuned_recall": round(recall, 4), "tuned_depth": ANN_TUNE_DEPTH,
                     "tuned_rows": n_rows})
    faiss.write_index(ann, str(folder / ANN_FILE))
    return info


def _add_blocks(index, matrix: np.ndarray, progress: bool, what: str) -> None:
    from tqdm.auto import tqdm

    with tqdm(total=len(matrix), desc=f"vector index ({what})", unit="row", disable=not progress, leave=False) as bar:
        for s in range(0, len(matrix), BLOCK):
            block = np.ascontiguousarray(matrix[s:s + BLOCK])
            index.add(block)
            bar.update(len(block))


def _build_ivf(matrix: np.ndarray, previous_ann: Path | None, progress: bool):
    """IVF over the rows, stored in half precision (IVF_CODES), and whether the previous
    build's coarse centroids were reused (they are while the corpus is within a factor 2 of the size they were
    trained for, so a rebuild after a small change only assigns rows to lists)."""
    import faiss

    n, dim = matrix.shape
    nlist = ivf_nlist(n)
    centroids = None
    centroids_reused = False
    if previous_ann is not None and previous_ann.is_file():
        try:
            old = read_ann(previous_ann, "ivf")  # only its centroids are read
            old_ivf = faiss.extract_index_ivf(old)
            if old_ivf.d == dim and 0.5 <= old_ivf.nlist / nlist <= 2.0:
                centroids = faiss.downcast_index(old_ivf.quantizer).reconstruct_n(0, old_ivf.nlist)
                centroids_reused = True
        except (RuntimeError, OSError, ValueError) as e:
            log.warning("not reusing the previous IVF centroids: %s", e)
    if centroids is None:
        rng = np.random.default_rng(0)
        sample_n = min(n, 64 * nlist)
        idx = np.sort(rng.choice(n, size=sample_n, replace=False))
        sample = np.ascontiguousarray(matrix[idx])
        kmeans = faiss.Kmeans(dim, nlist, niter=12, spherical=True, seed=1, min_points_per_centroid=1,
                              max_points_per_centroid=256)
        kmeans.train(sample)
        centroids = kmeans.centroids
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, len(centroids), faiss.ScalarQuantizer.QT_fp16,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.is_trained = True  # half precision needs no training; the coarse centroids are set above
    _add_blocks(ivf, matrix, progress, "ivf")
    return ivf, centroids_reused


def tune_probe(ann, kind: str, matrix: np.ndarray, k: int = ANN_TUNE_DEPTH, target: float = ANN_TARGET_RECALL,
               queries: np.ndarray | None = None) -> tuple[int, float]:
    """The smallest nprobe (IVF) or efSearch (HNSW) whose recall@k against exact
    search reaches ``target`` on ``queries`` (default: rows of the matrix, each
    query's own row left out of both result lists)."""
    n = len(matrix)
    self_rows = None
    if queries is None:
        self_rows = tuning_rows(n)
        queries = np.ascontiguousarray(matrix[self_rows])
    kk = min(n, k + (1 if self_rows is not None else 0))
    truth = exact_top(matrix, queries, kk)
    best = (PROBE_STEPS[-1], 0.0)
    limit = _probe_limit(ann, kind)
    for probe in PROBE_STEPS:
        probe = min(probe, limit)
        if kind == "hnsw" and probe < kk and probe < limit:
            continue  # efSearch below the depth asked for is the depth itself
        _, got = _ann_search(ann, kind, queries, kk, probe)
        recall = _recall(truth, got, k, self_rows)
        best = (probe, recall)
        if recall >= target or probe >= limit:
            break
    return best


def tuning_rows(n: int) -> np.ndarray:
    """The sample rows whose neighbours tune the probe (fixed seed: rebuilds agree)."""
    rng = np.random.default_rng(7)
    return np.sort(rng.choice(n, size=min(ANN_TUNE_QUERIES, n), replace=False))


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` rows of ``matrix`` for each query (blocked matrix product)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for s in range(0, len(matrix), BLOCK):
        sc = queries @ np.asarray(matrix[s:s + BLOCK]).T
        cat_s = np.concatenate([best_s, sc], axis=1)
        cat_i = np.concatenate([best_i, np.broadcast_to(np.arange(s, s + sc.shape[1]), sc.shape)], axis=1)
        kk = min(k, cat_s.shape[1])
        part = np.argpartition(-cat_s, kk - 1, axis=1)[:, :kk]
        best_s = np.take_along_axis(cat_s, part, axis=1)
        best_i = np.take_along_axis(cat_i, part, axis=1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, axis=1)


def _recall(truth: np.ndarray, got: np.ndarray, k: int, self_rows: np.ndarray | None) -> float:
    hits = total = 0
    for i in range(len(truth)):
        t = [x for x in truth[i].tolist() if self_rows is None or x != self_rows[i]][:k]
        g = {x for x in got[i].tolist() if x >= 0 and (self_rows is None or x != self_rows[i])}
        hits += len(set(t) & g)
        total += len(t)
    return hits / max(1, total)


def recall_at_k(index: VectorIndex, matrix: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Recall@k of ``index.search`` over everything against exact search (benchmark)."""
    truth = exact_top(matrix, np.asarray(queries, dtype=np.float32), k)
    got = np.full((len(queries), k), -1, dtype=np.int64)
    for i, q in enumerate(queries):
        rows, _ = index.search(q, k)
        got[i, :len(rows)] = rows[:k]
    return _recall(truth, got, k, None)


__all__ = [
    "VectorIndex", "FaissVectors", "choose_faiss_kind", "write_faiss", "tune_probe", "recall_at_k", "exact_top",
    "top_k", "ivf_nlist", "tuning_rows", "VECTORS_FILE", "ANN_FILE", "ANN_TARGET_RECALL", "ANN_TUNE_DEPTH",
]
