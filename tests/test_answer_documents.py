"""Which documents an answer draws on when laws and regulations sit beside the plans.

- A question about one place that has several documents (嘉兴's plan and its local
  regulations) is answered from the document of its best clause, that document's clauses
  ranked as if it were the place's only one (``AskPipeline._home_document_hits``,
  ``ExtractiveAnswerer._home_document``).
- A question asking what support exists, or what targets are set, is answered from the
  policy documents among its best clauses, and a question about several documents' targets
  gives them its document slots first (``lexicons/doc_families.toml``, ``intents``).

Over the plans alone none of this changes anything: each place has one document, and the
index is one family. Real documents in a real index (USE vectors, FAISS, BM25): the five
plans, four of 嘉兴's local regulations and 宁波市专利管理条例 copied verbatim from the laws
collection (tests/data/laws), and five IP regulations of eval/corpora/laws-ip. None of the
questions is a gold question."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "laws"
LAWS_IP = ROOT / "eval" / "corpora" / "laws-ip"
BESIDE = [DATA / n for n in ("嘉兴市住宅物业管理条例(2021-12-07).md", "嘉兴市南湖保护条例.md",
                             "嘉兴市文明行为促进条例(2019-10-09).md", "嘉兴市生活垃圾分类管理条例(2021-10-13).md",
                             "宁波市专利管理条例(2012-04-09).md")] + \
         [LAWS_IP / n for n in ("山东省专利条例(2013-08-01).md", "浙江省促进科技成果转化条例(2021-09-30).md",
                                "郑州市专利促进和保护条例(2009-09-01).md", "上海市专利保护条例.md",
                                "北京市专利保护和促进条例.md")]
PLANS = {"jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing"}


@pytest.fixture(scope="module")
def with_laws(tmp_path_factory):
    from conftest import pipeline_over_plans_and

    return pipeline_over_plans_and(BESIDE, tmp_path_factory.mktemp("plans-laws-documents"))


def _docs(reply) -> list[str]:
    return [c["doc_id"] for c in reply["citations"]]


@pytest.mark.slow
@pytest.mark.parametrize("question", ["嘉兴怎样鼓励单位和个人参与知识产权保护？", "嘉兴对专利转化运用有什么安排？",
                                      "嘉兴如何建立知识产权快速维权机制？"])
def test_a_question_about_a_city_is_answered_from_its_best_document_as_if_alone(pipeline, with_laws, question):
    """嘉兴's plan has the best clause; the city's regulations share everyday words with the
    question (单位和个人, 建立, 机制). The answer quotes the plan as it does over the plans
    alone (before: the regulations' clauses reordered the plan's own, and other clauses
    of the plan were quoted)."""
    r = with_laws.retrieve(question, [])
    assert len(r.places) >= 5 and len(with_laws.extractive.places_of(r.places)) == 1  # the city's documents
    beside, alone = with_laws.ask(question), pipeline.ask(question)
    assert set(_docs(beside)) == {"jiaxing"}
    assert beside["answer"] == alone["answer"]


@pytest.mark.slow
@pytest.mark.parametrize("question", ["企业专利维权有没有援助？", "有没有帮企业应对海外专利诉讼的措施？"])
def test_a_support_question_is_answered_from_the_policy_documents_among_its_best(pipeline, with_laws, question):
    """What support exists is what the plans set out: a regulation's article among the best
    clauses (上海's 维权援助, 山东's 展会 disputes) no longer takes the answer when a plan's
    measure is among them too (before: the regulations were quoted first)."""
    a = with_laws.extractive
    info = with_laws.retrieve(question, []).info
    assert "support" in info.intent and a.preferred_family(info) == "policy"
    beside, alone = with_laws.ask(question), pipeline.ask(question)
    assert set(_docs(beside)) <= PLANS
    assert beside["answer"] == alone["answer"]


@pytest.mark.slow
def test_a_question_about_every_plans_targets_gives_the_plans_the_document_slots(pipeline, with_laws):
    """Five documents are named in an answer about several; the laws that share the
    question's words (专利) came before two of the plans (before: three plans answered)."""
    q = "各地的发明专利拥有量目标分别是多少？"
    beside, alone = with_laws.ask(q), pipeline.ask(q)
    assert set(_docs(beside)) == PLANS
    assert beside["answer"] == alone["answer"]


@pytest.mark.slow
def test_a_question_of_no_such_intent_or_over_one_family_prefers_nothing(pipeline, with_laws):
    """A question about a regulation's subject has no preferred family; over the plans
    alone (one family) nothing is ever preferred."""
    info = with_laws.retrieve("上海对假冒专利行为怎样处罚？", []).info
    assert with_laws.extractive.preferred_family(info) == ""
    info = pipeline.retrieve("企业专利维权有没有援助？", []).info
    assert "support" in info.intent and pipeline.extractive.preferred_family(info) == ""
