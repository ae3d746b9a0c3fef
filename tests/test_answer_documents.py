"""Which documents an answer draws on when laws and regulations sit beside the plans.

- A question about one place that has several documents (嘉兴's plan and its local
  regulations) is answered from the document of its best clause, that document's clauses
  ranked as if it were the place's only one (``AskPipeline._home_document_hits``,
  ``ExtractiveAnswerer._home_document``).
- A question asking what support exists, or what targets are set, is answered from the
  policy documents among its best clauses, and a question about several documents' targets
  gives them its document slots first (``lexicons/doc_families.toml``, ``intents``).
- A question asking what a city's government intends to do (宁波准备怎么…, 政府打算…;
  ``lexicons/intends.toml``) is answered from the city's plan when the plan matches it as a
  document of the answer (``AskPipeline._home_document``), not from a regulation sharing its
  everyday words; a regulation about the question's subject still answers it.

Over the plans alone none of this changes anything: each place has one document, and the
index is one family. Real documents in a real index (USE vectors, FAISS, BM25): the five
plans, four of 嘉兴's local regulations and four of 宁波's (专利管理, 大气污染防治, 台湾同胞投资保障,
科学技术普及) copied verbatim from the laws collection (tests/data/laws), and five IP regulations
of eval/corpora/laws-ip. None of the questions is a gold question."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "laws"
LAWS_IP = ROOT / "eval" / "corpora" / "laws-ip"
BESIDE = [DATA / n for n in ("嘉兴市住宅物业管理条例(2021-12-07).md", "嘉兴市南湖保护条例.md",
                             "嘉兴市文明行为促进条例(2019-10-09).md", "嘉兴市生活垃圾分类管理条例(2021-10-13).md",
                             "宁波市专利管理条例(2012-04-09).md", "宁波市大气污染防治条例(2016-06-08).md",
                             "宁波市台湾同胞投资保障条例(2020-06-05).md", "宁波市科学技术普及条例(2018-12-19).md")] + \
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


@pytest.mark.slow
@pytest.mark.parametrize("question", ["有人利用港口走私假货，宁波准备怎么整治？", "宁波今后会不会在港口查侵权货物？",
                                      "有人把假冒名牌通过海运出口，宁波政府打算怎么办？"])
def test_what_a_city_intends_to_do_is_answered_from_its_plan_as_if_alone(pipeline, with_laws, question):
    """What 宁波 means to do about counterfeits shipped through its port is what its plan sets
    out; the city's regulations share the question's everyday words (港口, 假冒: 大气污染防治条例's
    port articles, 科学技术普及条例's 宁波舟山港, 专利管理条例's 假冒专利) and had the best clause
    (before: the answer quoted one of them). The plan is among the documents the search
    matches, so the answer is the plan's, as over the plans alone."""
    info = with_laws.retrieve(question, []).info
    assert "intends" in info.intent and with_laws.extractive.preferred_family(info) == "policy"
    beside, alone = with_laws.ask(question), pipeline.ask(question)
    assert set(_docs(beside)) == {"ningbo"}
    assert beside["answer"] == alone["answer"]


@pytest.mark.slow
@pytest.mark.parametrize("question, title", [("宁波打算怎么治理港口扬尘？", "宁波市大气污染防治条例"),
                                             ("宁波打算怎么减少汽车尾气污染？", "宁波市大气污染防治条例"),
                                             ("宁波对假冒专利行为怎么处罚？", "宁波市专利管理条例")])
def test_a_regulation_about_the_questions_subject_still_answers_it(with_laws, question, title):
    """The plan barely matches a question about dust at the port or exhaust fumes, though it
    asks what the city intends: the regulation about it answers; a question of what a
    penalty is asks no intention at all."""
    reply = with_laws.ask(question)
    assert reply["citations"] and {c["title"] for c in reply["citations"]} == {f"《{title}》"}
