"""The Milvus backend of ``vectors.VectorIndex``: vector rows in a Milvus collection.

The same code runs against embedded Milvus Lite (``milvus_uri`` empty: the
database lives in ``<index_dir>/milvus.db``, inside this process) and against a
Milvus server or cluster (``milvus_uri = "http://host:19530"``, ``milvus_token``
when it wants one), through ``pymilvus.MilvusClient``.

Rows are stored per document version: each row carries the key of its document's
chunk artefact (``doc_key``) and its number within that document (``row``), so a
row never has to be renumbered. A build inserts the rows of documents the
collection does not hold yet, one document at a time, and then records the
document in a small second collection (``<name>_docs``): that record is the
commit marker, so a build killed mid-document re-inserts only that document.
Rows of documents that neither this build nor the previous one uses are deleted.

Searches: over everything, Milvus's own vector index (FLAT below
``ann_threshold`` rows, HNSW above, with ``ef`` chosen like FAISS's efSearch:
the smallest that reaches recall ≥ 0.99 of the best 300 rows, the retriever's
candidate depth, against exact search on sample rows);
restricted to some documents, the rows of those documents are fetched (and kept
in a small cache) and scored exactly here, so the cost is those documents'.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .embcache import EmbeddingCache
from .errors import AssistantError, IndexCorruptError, SettingsError
from .settings import Settings
from .vectors import ANN_TARGET_RECALL, ANN_TUNE_DEPTH, PROBE_STEPS, exact_top, top_k, tuning_rows

log = logging.getLogger(__name__)

LITE_FILE = "milvus.db"
INSERT_BATCH = 1000  # rows per insert call
QUERY_BATCH = 4000  # rows per query call (Milvus caps a query at 16,384)
SEARCH_LIMIT = 16384  # Milvus's cap on a search's limit
CACHED_DOCS = 256  # documents whose vectors stay in memory for restricted searches
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200


class MilvusUnavailableError(AssistantError):
    """Milvus cannot be reached or used as configured."""


def _uri(settings: Settings) -> str:
    return settings.milvus_uri.strip() or str(Path(settings.index_dir) / LITE_FILE)


def _collection(settings: Settings, model: str) -> str:
    """One collection per embedding model (vectors of two models never mix)."""
    base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in settings.milvus_collection) or "rows"
    return f"{base}_{hashlib.sha1(model.encode('utf-8')).hexdigest()[:10]}"


def _connect(settings: Settings):
    for name in ("pymilvus", "milvus_lite"):  # their INFO/WARNING chatter is not for our users
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise SettingsError("vector_store = 'milvus' needs the packages pymilvus and milvus-lite "
                            "(pip install pymilvus milvus-lite)") from e
    uri = _uri(settings)
    try:
        return MilvusClient(uri=uri, token=settings.milvus_token or "")
    except Exception as e:  # pymilvus raises its own and gRPC types
        where = "Milvus Lite at " + uri if not settings.milvus_uri.strip() else "the Milvus server at " + uri
        hint = ("; Milvus Lite serves one process at a time: while another process (the app, a build) uses it, "
                "start a server (milvus-lite server --data-dir DIR, or a Milvus cluster) and set milvus_uri"
                if not settings.milvus_uri.strip() else "; check milvus_uri and milvus_token")
        raise MilvusUnavailableError(f"cannot use {where}: {str(e).splitlines()[0][:200]}{hint}") from None


def _quote(keys: Sequence[str]) -> str:
    # keys are hex digests: safe to put between quotes
    return "[" + ", ".join(f'"{k}"' for k in keys) + "]"


class MilvusBackend:
    name = "milvus"

    def __init__(self, settings: Settings):
        self.settings = settings

    def config(self) -> dict[str, Any]:
        return {"backend": "milvus", "uri": self.settings.milvus_uri.strip() or "lite", "collection":
                self.settings.milvus_collection, "ann_threshold": int(self.settings.ann_threshold)}

    # -- writing ---------------------------------------------------------------------
    def write(self, folder: Path, keys: Sequence[bytes], doc_rows: Sequence[tuple[str, int, int]],
              cache: EmbeddingCache, model: str, previous: Path | None, progress: bool) -> dict[str, Any]:
        from pymilvus import DataType, MilvusClient
        from tqdm.auto import tqdm

        if cache.dim is None:
            raise ValueError("no vectors to write")
        dim = int(cache.dim)
        client = _connect(self.settings)
        name = _collection(self.settings, model)
        marks = f"{name}_docs"
        if not client.has_collection(name):
            schema = MilvusClient.create_schema(auto_id=True)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("doc_key", DataType.VARCHAR, max_length=64)
            schema.add_field("row", DataType.INT32)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
            client.create_collection(name, schema=schema)
        if not client.has_collection(marks):
            schema = MilvusClient.create_schema(auto_id=False)
            schema.add_field("doc_key", DataType.VARCHAR, max_length=64, is_primary=True)
            schema.add_field("rows", DataType.INT32)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
            client.create_collection(marks, schema=schema)
            params = client.prepare_index_params()
            params.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
            client.create_index(marks, params)
        client.load_collection(marks)
        done = {r["doc_key"]: int(r["rows"]) for r in self._all(client, marks, ["doc_key", "rows"])}
        todo = [(k, a, b) for k, a, b in doc_rows if done.get(k) != b - a]
        with tqdm(total=sum(b - a for _, a, b in todo), desc="milvus insert", unit="row", disable=not progress,
                  leave=False) as bar:
            for key, a, b in todo:
                client.delete(name, filter=f'doc_key == "{key}"')  # a partial insert of a killed build
                vecs = cache.gather(list(keys[a:b]))
                for s in range(0, b - a, INSERT_BATCH):
                    part = vecs[s:s + INSERT_BATCH]
                    client.insert(name, [{"doc_key": key, "row": s + i, "vec": v.tolist()} for i, v in enumerate(part)])
                client.upsert(marks, [{"doc_key": key, "rows": b - a, "vec": [0.0, 0.0]}])
                bar.update(b - a)
        keep = {k for k, _, _ in doc_rows} | self._previous_keys(previous)
        stale = [k for k in done if k not in keep]
        for s in range(0, len(stale), 200):
            part = stale[s:s + 200]
            client.delete(name, filter=f"doc_key in {_quote(part)}")
            client.delete(marks, filter=f"doc_key in {_quote(part)}")
        client.flush(name)
        n_rows = len(keys)
        kind = "hnsw" if n_rows >= int(self.settings.ann_threshold) else "flat"
        self._ensure_index(client, name, kind)
        client.load_collection(name)
        info: dict[str, Any] = {"backend": "milvus", "kind": f"milvus-{kind}", "rows": n_rows, "dim": dim,
                                "collection": name, "uri": self.config()["uri"]}
        if kind == "hnsw":
            vectors = MilvusVectors(client, name, np.asarray([a for _, a, _ in doc_rows] + [n_rows]),
                                    [k for k, _, _ in doc_rows], dim, info)
            info["probe"], info["tuned_recall"] = vectors.tune(cache, keys)
            info["tuned_depth"] = ANN_TUNE_DEPTH
        return info

    @staticmethod
    def _previous_keys(previous: Path | None) -> set[str]:
        if previous is None:
            return set()
        import json

        try:
            table = json.loads((previous / "docs.json").read_text(encoding="utf-8"))
            return {d["chunks"]["key"] for d in table}
        except (OSError, ValueError, KeyError, TypeError):
            return set()

    @staticmethod
    def _ensure_index(client, name: str, kind: str) -> None:
        want = "HNSW" if kind == "hnsw" else "FLAT"
        have = None
        try:
            if client.list_indexes(name, field_name="vec"):
                have = client.describe_index(name, index_name="vec").get("index_type")
        except Exception:  # no index yet
            have = None
        if have == want:
            return
        if have is not None:
            client.release_collection(name)
            client.drop_index(name, index_name="vec")
        params = client.prepare_index_params()
        extra = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} if want == "HNSW" else {}
        params.add_index(field_name="vec", index_name="vec", index_type=want, metric_type="IP", params=extra)
        client.create_index(name, params)

    @staticmethod
    def _all(client, collection: str, fields: list[str], filter: str = "") -> list[dict]:
        it = client.query_iterator(collection, batch_size=QUERY_BATCH, filter=filter, output_fields=fields)
        out: list[dict] = []
        try:
            while True:
                batch = it.next()
                if not batch:
                    break
                out.extend(batch)
        finally:
            it.close()
        return out

    # -- opening -----------------------------------------------------------------------
    def open(self, folder: Path, manifest: dict[str, Any], doc_row_ptr: np.ndarray, doc_keys: Sequence[str],
             index_dir: Path) -> "MilvusVectors":
        info = manifest.get("vectors", {})
        client = _connect(self.settings)
        name = info.get("collection", "")
        if not client.has_collection(name):
            raise IndexCorruptError(str(index_dir), f"the Milvus collection {name!r} is gone")
        client.load_collection(name)
        return MilvusVectors(client, name, doc_row_ptr, doc_keys, int(info.get("dim", 0)), info)


class MilvusVectors:
    """Serving side of the Milvus backend (see the module docstring)."""

    def __init__(self, client, collection: str, doc_row_ptr: np.ndarray, doc_keys: Sequence[str], dim: int,
                 info: dict[str, Any]):
        self.client = client
        self.collection = collection
        self.doc_row_ptr = np.asarray(doc_row_ptr, dtype=np.int64)
        self.doc_keys = list(doc_keys)
        self.doc_of_key = {k: i for i, k in enumerate(self.doc_keys)}
        self.kind = str(info.get("kind", "milvus-flat"))
        self.probe = int(info.get("probe", 0) or 0)
        self.n_rows = int(self.doc_row_ptr[-1])
        self.dim = dim
        self.widened = 0
        self._lock = threading.Lock()
        self._doc_vecs: OrderedDict[int, np.ndarray] = OrderedDict()

    # -- the interface -----------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, docs: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        k = min(int(k), self.n_rows)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if docs is None and 2 * k >= self.n_rows:
            docs = range(len(self.doc_keys))  # nearly everything: exact is as cheap
        if docs is not None:
            return self._exact(q, k, sorted(set(int(d) for d in docs)))
        limit = k
        while True:
            rows, scores = self._milvus_search(q, min(limit, SEARCH_LIMIT))
            if len(rows) >= k or limit >= min(self.n_rows, SEARCH_LIMIT):
                break
            self.widened += 1  # rows of documents outside this build came back: ask for more
            limit *= 4
        if len(rows) < k:
            log.info("Milvus returned %d of %d rows: searching exactly", len(rows), k)
            return self._exact(q, k, list(range(len(self.doc_keys))))
        return rows[:k], scores[:k]

    def score(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return (self.fetch(rows) @ np.asarray(query, dtype=np.float32).reshape(-1)).astype(np.float32)

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        docs = np.searchsorted(self.doc_row_ptr, rows, side="right") - 1
        for d in np.unique(docs):
            sel = docs == d
            out[sel] = self._doc_vectors(int(d))[rows[sel] - self.doc_row_ptr[d]]
        return out

    # -- how -----------------------------------------------------------------------------
    def _milvus_search(self, q: np.ndarray, limit: int, ef: int | None = None):
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "milvus-hnsw":
            params["params"] = {"ef": int(max(ef or self.probe or limit, limit))}
        res = self.client.search(self.collection, data=[q.tolist()], anns_field="vec", limit=int(limit),
                                 output_fields=["doc_key", "row"], search_params=params)
        rows, scores = [], []
        for hit in res[0]:
            ent = hit.get("entity", hit)
            d = self.doc_of_key.get(ent.get("doc_key"))
            if d is None:
                continue  # a row of a document this build does not use (a newer or older build's)
            rows.append(int(self.doc_row_ptr[d]) + int(ent["row"]))
            scores.append(float(hit["distance"]))
        return np.asarray(rows, dtype=np.int64), np.asarray(scores, dtype=np.float32)

    def _exact(self, q: np.ndarray, k: int, docs: list[int]):
        rows_parts, score_parts = [], []
        for d in docs:
            vecs = self._doc_vectors(d)
            if not len(vecs):
                continue
            sc = vecs @ q
            keep = top_k(sc, k)
            rows_parts.append(keep + int(self.doc_row_ptr[d]))
            score_parts.append(sc[keep])
        if not rows_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows, scores = np.concatenate(rows_parts), np.concatenate(score_parts)
        best = top_k(scores, k)
        return rows[best].astype(np.int64), scores[best].astype(np.float32)

    def _doc_vectors(self, d: int) -> np.ndarray:
        with self._lock:
            if d in self._doc_vecs:
                self._doc_vecs.move_to_end(d)
                return self._doc_vecs[d]
        n = int(self.doc_row_ptr[d + 1] - self.doc_row_ptr[d])
        vecs = np.zeros((n, self.dim), dtype=np.float32)
        got = np.zeros(n, dtype=bool)
        for r in MilvusBackend._all(self.client, self.collection, ["row", "vec"],
                                    filter=f'doc_key == "{self.doc_keys[d]}"'):
            i = int(r["row"])
            if 0 <= i < n:
                vecs[i] = r["vec"]
                got[i] = True
        if not got.all():
            raise IndexCorruptError("milvus", f"the Milvus collection {self.collection!r} lacks {int((~got).sum())} "
                                              f"rows of document {d}")
        with self._lock:
            self._doc_vecs[d] = vecs
            while len(self._doc_vecs) > CACHED_DOCS:
                self._doc_vecs.popitem(last=False)
        return vecs

    def tune(self, cache: EmbeddingCache, keys: Sequence[bytes]) -> tuple[int, float]:
        """The smallest HNSW ``ef`` whose recall at the retriever's depth
        (``ANN_TUNE_DEPTH``) against exact search reaches ``ANN_TARGET_RECALL`` on
        sample rows (each query's own row left out), as ``vectors.tune_probe``."""
        n = len(keys)
        sample = tuning_rows(n)
        matrix = cache.gather(list(keys))
        queries = matrix[sample]
        depth = min(ANN_TUNE_DEPTH, n - 1)
        truth = exact_top(matrix, queries, depth + 1)
        best = (PROBE_STEPS[-1], 0.0)
        for ef in PROBE_STEPS:
            if ef < depth + 1 and ef != PROBE_STEPS[-1]:
                continue  # Milvus searches with ef ≥ the rows asked for
            hits = total = 0
            for i, q in enumerate(queries):
                rows, _ = self._milvus_search(q, depth + 1, ef=ef)
                t = [x for x in truth[i].tolist() if x != sample[i]][:depth]
                g = {x for x in rows.tolist() if x != sample[i]}
                hits += len(set(t) & g)
                total += len(t)
            best = (ef, hits / max(1, total))
            if best[1] >= ANN_TARGET_RECALL:
                break
        return best


__all__ = ["MilvusBackend", "MilvusVectors", "MilvusUnavailableError"]
