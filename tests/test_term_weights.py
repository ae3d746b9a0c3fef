"""The answerer's keyword statistics follow each sentence's family of documents
(``assistant/term_weights.py``): laws put beside the plans do not move a plan
question's answer.

Real documents in a real index (USE vectors, FAISS, BM25): the five plans and six laws
copied verbatim from eval/corpora/laws-ip. None of the questions is a gold question."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT / "eval" / "corpora" / "laws-ip"
SIX_LAWS = ("重庆市专利促进与保护条例(2011-11-29).md", "郑州市专利促进和保护条例(2009-09-01).md",
            "专利代理条例(2018-11-06).md", "最高人民法院关于知识产权法庭若干问题的规定(2018-12-28).md",
            "实施国际著作权条约的规定(2020-11-29).md",
            "最高人民法院关于技术调查官参与知识产权案件诉讼活动的若干规定(2019-03-18).md")
# plan questions whose answers the laws' word statistics moved (before the family statistics)
PLAN_QUESTIONS = ("嘉兴对知识产权严重失信主体采取什么惩戒？", "宁波用哪些技术手段帮助固定网络侵权证据？",
                  "嘉兴怎样建设知识产权公共服务平台？", "海门怎样在中小学开展知识产权教育？")


@pytest.fixture(scope="module")
def with_laws(tmp_path_factory):
    """The ask pipeline over the five plans and six IP laws."""
    from conftest import pipeline_over_plans_and

    return pipeline_over_plans_and([LAWS / name for name in SIX_LAWS], tmp_path_factory.mktemp("plans-and-laws"))


def test_on_the_plans_alone_every_sentence_is_weighed_by_the_whole_index(pipeline):
    """The five plans are one family (plans, schemes, an opinion): nothing changes there."""
    a = pipeline.extractive
    for doc in ("jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing"):
        assert a.weights_of(doc) is a._weights


@pytest.mark.slow
def test_a_sentence_is_weighed_by_its_own_family_of_documents(with_laws):
    """A plan's sentence by the plans' statistics, a law's by the laws' (counted here from
    the chunks' own documents), never the mixture."""
    a, store = with_laws.extractive, with_laws.retriever.store
    kinds = {p.id: p.doc_type for p in store.plans}
    plans = sorted(d for d, k in kinds.items() if k in ("plan", "scheme", "opinion"))
    laws = sorted(d for d in kinds if d not in plans)
    assert len(plans) == 5 and len(laws) == 6
    policy, legal = a.weights_of("jiaxing"), a.weights_of(laws[0])
    assert policy is a.weights_of("ningbo") and legal is a.weights_of(laws[-1])
    assert policy.n == store.count_chunks(plans) and legal.n == store.count_chunks(laws)
    assert policy.n + legal.n == store.n_chunks
    # 专利 is common in these laws, rarer in the plans: weightier for a plan's sentence
    whole = a._weights
    assert whole.df("专利") == policy.df("专利") + legal.df("专利")
    assert policy.idf("专利") > whole.idf("专利") > legal.idf("专利")


@pytest.mark.slow
def test_a_plan_question_is_answered_alike_with_laws_beside_the_plans(pipeline, with_laws):
    """The laws make other words common and bring other neighbours for the word bridge;
    a question about a plan still gets the answer it gets over the plans alone."""
    for q in PLAN_QUESTIONS:
        alone, beside = pipeline.ask(q), with_laws.ask(q)
        assert [c["path"] for c in beside["citations"]] == [c["path"] for c in alone["citations"]], q
        assert beside["answer"] == alone["answer"], q
