"""A place with several documents: each document weighed as a whole (BM25 of the document
taken whole, ``BM25Index.document_scores``; ``HybridRetriever._weigh_by_document``).

Real documents in a real index: the five plans and four of 嘉兴's local regulations,
copied verbatim from the laws collection (tests/data/laws: 住宅物业管理条例,
文明行为促进条例, 生活垃圾分类管理条例, 餐饮业油烟管理办法). None of the questions is
a gold question."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from assistant.lexical import B, K1
from assistant.tokens import tokenize

DATA = Path(__file__).resolve().parent / "data" / "laws"
JIAXING_LAWS = ("嘉兴市住宅物业管理条例(2021-12-07).md", "嘉兴市文明行为促进条例(2019-10-09).md",
                "嘉兴市生活垃圾分类管理条例(2021-10-13).md", "嘉兴市餐饮业油烟管理办法(2020-04-10).md")


@pytest.fixture(scope="module")
def jiaxing(tmp_path_factory):
    """The five plans and four 嘉兴 regulations in a real index (USE vectors, FAISS, BM25)."""
    from conftest import plans_and

    from assistant.index import IndexStore
    from assistant.retrieval import HybridRetriever

    s = plans_and([DATA / name for name in JIAXING_LAWS], tmp_path_factory.mktemp("jiaxing"))
    store = IndexStore.load(s)
    return s, store, HybridRetriever(s, store=store).warm_up()


def _title(store, doc_id: str) -> str:
    return next(p.title for p in store.plans if p.id == doc_id)


@pytest.mark.slow
def test_document_scores_are_bm25_of_each_document_taken_whole(jiaxing):
    """The index's document scores equal BM25 computed here from the documents' own chunk
    texts: term counts summed over each document's chunks, N, df and the average length
    those of the documents scored."""
    _, store, _ = jiaxing
    docs = [m.id for m in store.plans if m.place.startswith("嘉兴")]
    assert len(docs) == 5
    text = "单位和个人 发明 奖励 物业 垃圾"
    got = store.bm25_document_scores(text, docs)
    counts, lengths = {}, {}
    for d in docs:
        a, b = store.chunk_ranges([d])[0]
        tokens = [t for i in range(a, b) for t in tokenize(store.chunk_text(i))]
        counts[d], lengths[d] = Counter(tokens), len(tokens)
    avg = sum(lengths.values()) / len(docs)
    for d in docs:
        want = 0.0
        for t in tokenize(text):
            df = sum(1 for o in docs if counts[o][t])
            tf = counts[d][t]
            want += math.log(1 + (len(docs) - df + 0.5) / (df + 0.5)) * tf / (tf + K1 * (1 - B + B * lengths[d] / avg))
        assert got[d] == pytest.approx(want, rel=1e-6), _title(store, d)
    # a word every document uses weighs little, and about alike in each; a word of one
    # document is that document's
    common = store.bm25_document_scores("嘉兴市", docs).values()
    assert max(common) < 0.1 * max(got.values()) and max(common) < 1.02 * min(common)
    trash = store.bm25_document_scores("生活垃圾分类", docs)
    assert max(trash, key=trash.get) == next(d for d in docs if "垃圾" in _title(store, d))


@pytest.mark.slow
@pytest.mark.parametrize("question, title, moved", [
    # a question on what the plan is about: a regulation's passage that shares its everyday
    # words (单位和个人, 鼓励) came first
    ("嘉兴怎么鼓励单位和个人参与创新？", "嘉兴市知识产权发展“十四五”规划", True),
    # one on what a regulation is about stays with that regulation (the plan is not favoured)
    ("嘉兴对违法行为的举报人有什么奖励？", "嘉兴市文明行为促进条例", False),
])
def test_a_place_with_several_documents_answers_from_the_one_about_the_question(jiaxing, question, title, moved):
    from dataclasses import replace

    from assistant.retrieval import HybridRetriever

    s, store, weighed = jiaxing
    hits, info = weighed.search_with_info(question, k=5)
    assert len(info.places) == 5 and [len(g) for g in info.place_groups] == [5]
    assert _title(store, hits[0].doc_id) == title
    flat = HybridRetriever(s, store=store, config=replace(weighed.config, document_weight_power=0.0)).warm_up()
    before = flat.search(question, k=5)
    assert (_title(store, before[0].doc_id) != title) is moved  # without the weighing, another came first


@pytest.mark.slow
def test_one_document_per_place_is_not_weighed(jiaxing):
    """The five plans' places each have one document: nothing changes there."""
    from dataclasses import replace

    from assistant.retrieval import HybridRetriever

    s, store, weighed = jiaxing
    flat = HybridRetriever(s, store=store, config=replace(weighed.config, document_weight_power=0.0)).warm_up()
    for question in ("宁波对知识产权质押融资有什么支持？", "绍兴和运城在专利导航方面各有什么安排？"):
        a, b = weighed.search(question, k=10), flat.search(question, k=10)
        assert [(h.clause_id, h.score) for h in a] == [(h.clause_id, h.score) for h in b]
        assert all("document" not in h.contributions for h in a)
