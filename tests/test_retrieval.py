"""Hybrid retrieval on the real five plans and a real index (USE embeddings, FAISS, BM25).

The index is built once per test session into a temporary folder (see
``built_index_settings``); every test here searches it through ``HybridRetriever``.
"""
from __future__ import annotations

import pytest

from assistant.errors import BadQuestionError
from assistant.query import parse_clause_refs
from assistant.retrieval import HybridRetriever, ScoreFusion
from assistant.textnorm import for_search




@pytest.fixture(scope="session")
def retriever(index_settings) -> HybridRetriever:
    return HybridRetriever(index_settings).warm_up()


def _clause_by_ref(retriever, doc_id: str, ref_text: str):
    """The clauses of ``doc_id`` whose path the reference names, found independently of search."""
    refs = parse_clause_refs(ref_text)
    return [c for c in retriever.store.clauses_by_doc[doc_id] if any(r.matches(c.path) for r in refs)]


@pytest.mark.parametrize("question,doc_id,ref", [
    ("宁波实施意见第（十七）条讲了什么？", "ningbo", "（十七）"),
    ("嘉兴规划专栏9的内容是什么？", "jiaxing", "专栏9"),
    ("绍兴方案附件第13项由哪些单位负责？", "shaoxing", "附件第13项"),
    ("绍兴方案三、（三）6.说了什么？", "shaoxing", "三、（三）6."),
])
def test_clause_number_lookup_is_rank_one(retriever, question, doc_id, ref):
    expected = _clause_by_ref(retriever, doc_id, ref)
    assert len(expected) == 1, f"the corpus should have exactly one {ref} in {doc_id}: {[c.path for c in expected]}"
    hits = retriever.search(question, k=5)
    assert hits[0].clause_id == expected[0].clause_id
    assert hits[0].contributions.get("lookup", 0) > 0


def test_table_lookup(retriever):
    # 表2 of the 嘉兴 plan (its main indicators); the only plan with a 表2
    tables = [c for doc in retriever.store.clauses_by_doc.values() for c in doc
              if any(r.matches(c.path) for r in parse_clause_refs("表2"))]
    assert tables, "ingest should parse 表2 as a clause"
    hits = retriever.search("嘉兴规划表2列了哪些指标？", k=5)
    assert hits[0].clause_id in {c.clause_id for c in tables}


def test_article_number_matches_parenthesised_numbering(retriever):
    expected = _clause_by_ref(retriever, "ningbo", "（十七）")
    hits = retriever.search("宁波实施意见第十七条", k=3)
    assert hits[0].clause_id == expected[0].clause_id


def test_simplified_question_finds_traditional_document(retriever):
    hits = retriever.search("运城知识产权质押融资登记金额三年累计达到多少", k=5)
    assert hits[0].doc_id == "yuncheng"
    assert any("10億元" in h.text or "10亿元" in h.text for h in hits)


def test_traditional_question_works_too(retriever):
    hits = retriever.search("運城知識產權質押融資登記金額三年累計要達到多少?", k=5)
    assert hits[0].doc_id == "yuncheng"


def test_place_restriction(retriever):
    hits = retriever.search("海门知识产权质押融资", k=10)
    assert hits and all(h.doc_id == "haimen" for h in hits)
    # explicit places argument restricts every mode
    for mode in ("bm25", "dense", "hybrid"):
        hits = retriever.search("知识产权质押融资", k=10, mode=mode, places=["ningbo"])
        assert hits and all(h.doc_id == "ningbo" for h in hits)


def test_without_place_all_plans_are_searched(retriever):
    hits = retriever.search("知识产权质押融资目标", k=10, mode="hybrid")
    assert len({h.doc_id for h in hits}) >= 2


def test_english_question_finds_jiaxing_pledge_financing(retriever):
    hits = retriever.search("How much does Jiaxing plan for IP pledge financing by 2025?", k=5)
    assert all(h.doc_id == "jiaxing" for h in hits)
    assert any("质押融资" in h.text for h in hits)


def test_followup_uses_place_from_history(retriever):
    history = [{"q": "海门区有没有知识产权保险方面的支持?", "a": ""}]
    hits = retriever.search("那质押融资方面有什么举措?", k=5, history=history)
    assert all(h.doc_id == "haimen" for h in hits)
    assert any("质押融资" in h.text for h in hits)


def test_cross_document_question_reaches_each_plan(retriever):
    # four of the plans set a pledge-financing target; each must be in the first five
    hits = retriever.search("这几份文件里,各地知识产权质押融资的目标金额分别是多少?", k=5)
    assert {"jiaxing", "haimen", "ningbo", "yuncheng"} <= {h.doc_id for h in hits}


def test_hits_are_clauses_with_contributions(retriever):
    hits = retriever.search("知识产权保护中心", k=10)
    assert len(hits) == 10
    assert len({h.clause_id for h in hits}) == 10  # chunks folded into their clause
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert set(h.contributions) <= {"bm25", "dense", "lookup", "place", "phrase"}
        assert h.text == retriever.store.clauses[h.clause_id].text
    bm = retriever.search("知识产权保护中心", k=3, mode="bm25")
    assert set(bm[0].contributions) == {"bm25"}


def test_bad_input(retriever):
    with pytest.raises(BadQuestionError):
        retriever.search("   ")
    with pytest.raises(ValueError):
        retriever.search("知识产权", mode="magic")


def test_rrf_formula():
    fusion = ScoreFusion("rrf", {"bm25": 1.0, "dense": 2.0}, rrf_k=10)
    fused = fusion.fuse({"bm25": {"a": 5.0, "b": 3.0}, "dense": {"b": 0.9, "a": 0.1}})
    assert fused["a"][0] == pytest.approx(1 / 11 + 2 / 12)
    assert fused["b"][0] == pytest.approx(1 / 12 + 2 / 11)
    assert fused["b"][1] == pytest.approx({"bm25": 1 / 12, "dense": 2 / 11})


def test_convex_formula():
    fusion = ScoreFusion("convex", {"bm25": 0.25, "dense": 0.75})
    fused = fusion.fuse({"bm25": {"a": 10.0, "b": 0.0, "c": 5.0}, "dense": {"a": 0.2, "b": 0.6, "c": 0.4}})
    assert fused["a"][0] == pytest.approx(0.25)
    assert fused["b"][0] == pytest.approx(0.75)
    assert fused["c"][0] == pytest.approx(0.25 * 0.5 + 0.75 * 0.5)
    with pytest.raises(ValueError):
        ScoreFusion("max")


def test_search_cli_prints_a_table(index_settings, capsys):
    import argparse

    from assistant.retrieval import run_cli

    args = argparse.Namespace(question="嘉兴专栏9", k=3, mode="hybrid+qu", json=False)
    assert run_cli(args, index_settings) == 0
    out = capsys.readouterr().out
    assert "jiaxing" in out and "专栏9" in out


def test_similarities_reuse_the_stored_sentence_vectors(retriever):
    """The answerer's question–sentence cosines come from the index's sentence rows
    (found by digest, nothing embedded) and equal a fresh embedding of the same text;
    a text that is not a row is embedded once and cached on disk."""
    import numpy as np

    from assistant.chunking import sentence_texts

    store = retriever.store
    chunk = next(c for c in store.chunks if len(sentence_texts(c)) >= 3)
    sent = sentence_texts(chunk)[1]
    from_rows = store._from_rows([sent])
    assert sent in from_rows  # a stored row, not embedded again
    fresh = store.embedder.embed([sent])[0]
    assert float(np.dot(fresh, from_rows[sent])) > 0.999
    sims = store.similarities(sent, [sent, "今天天气晴朗，适合出门散步。"])
    assert sims[0] > 0.99 and sims[1] < sims[0] - 0.2
    from assistant.embcache import EmbeddingCache, text_digest

    other = "今天天气晴朗，适合出门散步。"
    cache = EmbeddingCache(store._sentence_cache().folder, "use").load_index()  # as a later process sees it
    assert text_digest(for_search(other)) in cache


def test_a_target_question_prefers_the_plans_target_section(retriever):
    """“…有什么目标” is answered where the plan states its targets (三、发展目标 /
    （二）主要定量指标 in 海门), not by a measure that merely mentions the topic."""
    from assistant.retrieval import TARGET_SECTION_RE

    hits = retriever.search("海门对高价值专利有什么目标？", k=3)
    top = retriever.store.clauses[hits[0].clause_id]
    assert top.doc_id == "haimen"
    assert TARGET_SECTION_RE.search(" ".join(top.parents)), (top.path, top.parents)
    assert "target" in hits[0].contributions
    # the boost multiplies: a target-section clause that does not match stays low
    hits = retriever.search("海门对知识产权保险有什么目标？", k=1)
    assert "保险" in hits[0].text


def test_support_questions_lower_background_sections_unless_they_ask_about_the_past(retriever):
    from assistant.retrieval import BACKGROUND_SECTION_RE

    def background_hits(question):
        # deep enough that lowered background clauses are still among the hits
        hits = retriever.search(question, k=60)
        return [h for h in hits
                if BACKGROUND_SECTION_RE.search(" ".join(retriever.store.clauses[h.clause_id].parents
                                                         + [retriever.store.clauses[h.clause_id].heading]))]

    lowered = background_hits("嘉兴对企业购买专利保险有什么支持？")
    assert lowered and all(h.contributions.get("background", 0) < 0 for h in lowered)
    past = background_hits("“十三五”期间嘉兴企业购买专利保险的保障金额是多少？")
    assert past and all("background" not in h.contributions for h in past)
