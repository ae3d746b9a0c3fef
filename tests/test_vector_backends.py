"""One test suite for every vector store backend (Haystack's habit: the store is a
Protocol, every implementation passes the same tests).

Backends: FAISS (files in the index folder), Milvus Lite embedded in this process
(``milvus_uri`` empty), and a real Milvus server on loopback: ``milvus-lite
server`` started as a separate process, reached by URI as a cluster would be.
Each builds a real index of the five plans with the real USE embedder (the
embedding cache is shared, so only the first build embeds).
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.builder import IndexBuilder
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import IndexStore

BACKENDS = ["faiss", "milvus-lite", "milvus-server"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """An index folder whose embedding cache every backend's build starts from."""
    root = tmp_path_factory.mktemp("cache")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    s = _settings(root, "faiss", "")
    IndexBuilder(s).build(progress=False)
    return root / "index" / "embcache"


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A Milvus server process on 127.0.0.1 (milvus-lite's gRPC server)."""
    pytest.importorskip("pymilvus")
    data = tmp_path_factory.mktemp("milvus-server")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited: {proc.stderr.read().decode()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _settings(root: Path, store: str, uri: str) -> Settings:
    s = Settings.load(config_file=root / "no-config.toml", env={})
    s.corpus_dir = str(root / "corpus")
    s.index_dir = str(root / "index")
    s.vector_store = "milvus" if store.startswith("milvus") else "faiss"
    s.milvus_uri = uri
    return s


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory, shared_cache):
    """(settings, store) of a real five-plan index on one backend."""
    name = request.param
    uri = request.getfixturevalue("milvus_server") if name == "milvus-server" else ""
    if name.startswith("milvus"):
        pytest.importorskip("pymilvus")
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    shutil.copytree(shared_cache, root / "index" / "embcache")
    settings = _settings(root, name, uri)
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.embedded == 0  # the shared cache had every vector
    return name, settings, IndexStore.load(settings)


def test_rows_and_kind(backend):
    name, _, store = backend
    assert store.vectors.n_rows == len(store.dense_owner) > store.n_chunks
    assert store.vectors.dim == 512
    assert store.manifest["vectors"]["backend"] == ("faiss" if name == "faiss" else "milvus")


def test_fetch_returns_the_embedded_vectors(backend):
    _, _, store = backend
    rows = np.array([0, 5, store.vectors.n_rows - 1])
    vecs = store.vectors.fetch(rows)
    assert vecs.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    # a chunk's own row is the embedding of its search text
    fresh = store.embedder.embed([store.chunk_text(int(store.dense_owner[0]))])[0]
    assert float(fresh @ vecs[0]) > 0.999


def test_search_over_everything_is_exact_here(backend):
    """Below ann_threshold every backend searches exactly: the top rows are the exact top rows."""
    _, _, store = backend
    q = store.embed_query("知识产权质押融资")
    rows, scores = store.vectors.search(q, 20)
    all_rows = np.arange(store.vectors.n_rows)
    exact = store.vectors.score(q, all_rows)
    want = np.argsort(-exact, kind="stable")[:20]
    assert scores == pytest.approx(exact[want], abs=1e-4)
    assert [s for s in scores] == sorted(scores, reverse=True)


def test_restricted_search_is_exact_within_the_documents(backend):
    _, _, store = backend
    q = store.embed_query("专利导航服务")
    nums = store.doc_numbers(["ningbo", "haimen"])
    rows, scores = store.vectors.search(q, 10, nums)
    ranges = [(int(store.doc_row_ptr[d]), int(store.doc_row_ptr[d + 1])) for d in nums]
    inside = np.concatenate([np.arange(a, b) for a, b in ranges])
    assert set(rows.tolist()) <= set(inside.tolist())
    exact = store.vectors.score(q, inside)
    assert scores == pytest.approx(np.sort(exact)[::-1][:10], abs=1e-4)


def test_dense_search_gives_the_same_chunks_on_every_backend(backend):
    _, _, store = backend
    got = store.dense_search("知识产权保护中心建设", 10)
    ref = _reference_store(backend).dense_search("知识产权保护中心建设", 10)
    assert [c for c, _ in got] == [c for c, _ in ref]
    assert [s for _, s in got] == pytest.approx([s for _, s in ref], abs=1e-4)


def test_a_changed_document_replaces_only_its_rows(backend, tmp_path):
    """Incremental: after one plan changes, the new build holds its new rows and
    none of its old ones, and searches see the change."""
    name, settings, _ = backend
    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[3]
    original = plan.read_text(encoding="utf-8")
    marker = "新设立的蓝鲸湾知识产权星火基金专门扶持海洋生物医药企业的专利布局。"
    try:
        plan.write_text(original + "\n" + marker + "\n", encoding="utf-8")
        summary = IndexBuilder(settings).build(progress=False)
        assert summary.parsed == 1 and 1 <= summary.embedded <= 3
        store = IndexStore.load(settings)
        top = store.dense_search(marker, 1)[0]
        assert marker[:10] in store.chunks[top[0]].text and top[1] > 0.99
    finally:
        plan.write_text(original, encoding="utf-8")
        IndexBuilder(settings).build(progress=False)
    store = IndexStore.load(settings)
    assert not any(marker[:10] in store.chunks[c].text for c, _ in store.dense_search(marker, 5))


def test_dev_gold_retrieval_agrees_with_faiss(backend):
    """The dev gold retrieval figures on this backend are within 0.01 of FAISS's."""
    from assistant.evaluation import load_gold, retrieval_row, summarise_retrieval
    from assistant.retrieval import HybridRetriever

    name, settings, store = backend
    gold = [q for q in load_gold(PROJECT_ROOT / "eval" / "gold" / "dev.jsonl") if q["evidence"]]

    def figures(st: IndexStore) -> dict:
        r = HybridRetriever(st.settings, store=st)
        rows = [retrieval_row(q, r.search(q["question"], k=10, history=q.get("history") or None)) for q in gold]
        return summarise_retrieval(rows)["overall"]

    got, ref = figures(store), figures(_reference_store(backend))
    for metric in ("hit@1", "hit@5"):
        assert abs(got[metric] - ref[metric]) <= 0.01, (name, metric)


_REF: dict[str, IndexStore] = {}


def _reference_store(backend) -> IndexStore:
    """The FAISS store of the same corpus (built from the same cache)."""
    _, settings, _ = backend
    root = Path(settings.index_dir).parent
    if "ref" not in _REF:
        ref_root = root.parent / "faiss-reference"
        if not ref_root.exists():
            shutil.copytree(PROJECT_ROOT / "corpus", ref_root / "corpus")
            shutil.copytree(Path(settings.index_dir) / "embcache", ref_root / "index" / "embcache")
        s = _settings(ref_root, "faiss", "")
        IndexBuilder(s).build(progress=False)
        _REF["ref"] = IndexStore.load(s)
    return _REF["ref"]
