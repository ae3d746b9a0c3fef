"""The extractive answerer on the real five plans and a real index.

Every check reads the expected figure, unit or body from the clauses themselves
(found independently of the answerer), never from a hard-coded answer.
"""
from __future__ import annotations

import re

import pytest

from assistant.answering import ExtractiveAnswerer, sentence_spans
from assistant.ask import AskPipeline
from assistant.textnorm import for_compare






def clauses_of(pipeline: AskPipeline, doc_id: str):
    return [c for c in pipeline.clauses_by_id.values() if c.doc_id == doc_id]


def assert_citations_exact(reply: dict, corpus_norm: dict[str, str]) -> None:
    for c in reply["citations"]:
        assert c["quote"], c
        assert c["quote"] in c["clause_text"], c
        assert for_compare(c["quote"]) in corpus_norm[c["doc_id"]], c
        assert f"[{c['n']}]" in reply["answer"]


# ---------------------------------------------------------------------------
# sentence splitting


def test_sentence_spans_are_substrings_and_split_off_duty_parentheses():
    text = "1.推进金融创新\n深入推进质押融资。鼓励银行开展产品创新。(市财政局、人行分行等职能部门按职责分工负责)"
    spans = sentence_spans(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces[0] == "1.推进金融创新"
    assert "深入推进质押融资。" in pieces
    assert pieces[-1].startswith("(市财政局") and pieces[-1].endswith("负责)")


# ---------------------------------------------------------------------------
# answers


def test_numeric_question_gets_the_figure(pipeline, corpus_norm):
    # the figure is whatever the ningbo clause on 有效发明专利拥有量 states for 2022
    src = next(c for c in clauses_of(pipeline, "ningbo") if "有效发明专利拥有量达到" in c.text)
    figure = re.search(r"有效发明专利拥有量达到(\d+件)", src.text).group(1)
    reply = pipeline.ask("宁波市到2022年全市有效发明专利拥有量要达到多少件？")
    assert not reply["not_found"]
    assert figure in reply["answer"]
    assert any(c["doc_id"] == "ningbo" and figure in c["quote"] for c in reply["citations"])
    assert_citations_exact(reply, corpus_norm)


def test_duty_question_on_shaoxing_quotes_the_responsible_units(pipeline, corpus_norm):
    row = next(c for c in clauses_of(pipeline, "shaoxing")
               if c.fields.get("责任单位") and "行政裁决直通车" in c.fields.get("任务内容", ""))
    reply = pipeline.ask("绍兴设立重大专利侵权纠纷行政裁决直通车由哪些单位负责？什么时候完成？")
    assert not reply["not_found"]
    assert row.fields["责任单位"] in reply["answer"]
    assert row.fields["进度安排"] in reply["answer"]
    assert any(c["path"] == row.path for c in reply["citations"])
    assert_citations_exact(reply, corpus_norm)


def test_duty_question_on_yuncheng_quotes_the_departments_in_parentheses(pipeline, corpus_norm):
    clause = next(c for c in clauses_of(pipeline, "yuncheng") if c.heading.endswith("金融創新"))
    depts = re.findall(r"[(（]([^()（）]*負責)[)）]", clause.text)[-1]
    reply = pipeline.ask("运城推进知识产权金融创新由哪些单位负责？")
    assert depts in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


def test_clause_question_states_path_and_heading(pipeline, corpus_norm):
    clause = next(c for c in clauses_of(pipeline, "ningbo") if "律师调查令" in c.text)
    reply = pipeline.ask("宁波的实施意见中哪一条提到试行律师调查令制度？")
    assert clause.path in reply["answer"] and clause.heading in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


def test_cross_document_question_names_several_plans(pipeline, corpus_norm):
    # which plans set 每万人高价值发明专利拥有量 at 20: found from the clauses themselves
    expected = {c.doc_id for c in pipeline.clauses_by_id.values()
                if "高价值发明专利拥有量" in c.text and re.search(r"(?<![\d.])20(?![\d.])", c.text)}
    assert len(expected) >= 2
    reply = pipeline.ask("哪些地方的知识产权规划把每万人高价值发明专利拥有量的目标定在20件？")
    cited = {c["doc_id"] for c in reply["citations"]}
    assert expected <= cited
    places = {c.doc_id: c.place for c in pipeline.clauses_by_id.values()}
    for doc in expected:
        assert places[doc] in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


@pytest.mark.parametrize("question", [
    "海门企业办理知识产权质押贷款，政府给多少比例的贴息？",
    "运城政府每年拿出多少预算购买知识产权服务？",
    "宁波知识产权法院计划哪一年挂牌成立？",
])
def test_unanswerable_question_says_so_and_shows_related_clauses(pipeline, corpus_norm, question):
    reply = pipeline.ask(question)
    assert reply["not_found"] is True
    assert "未明确规定" in reply["answer"]
    assert reply["citations"], "the closest clauses are shown as related"
    assert_citations_exact(reply, corpus_norm)


def test_place_outside_the_corpus_is_not_found(pipeline):
    reply = pipeline.ask("杭州市知识产权质押融资的目标是多少？")
    assert reply["not_found"] is True
    assert "杭州" in reply["answer"]


def test_answerable_support_question_is_not_an_abstention(pipeline, corpus_norm):
    reply = pipeline.ask("运城的企业做知识产权质押融资，能享受哪些补贴政策？")
    assert not reply["not_found"]
    assert any(c["doc_id"] == "yuncheng" for c in reply["citations"])
    assert_citations_exact(reply, corpus_norm)


def test_follow_up_carries_the_place(pipeline):
    history = [{"q": "海门区有没有知识产权保险方面的支持?", "a": ""}]
    reply = pipeline.ask("那质押融资方面有什么举措?", history=history)
    assert not reply["not_found"]
    assert reply["citations"] and all(c["doc_id"] == "haimen" for c in reply["citations"])
    assert any("质押" in c["quote"] for c in reply["citations"])


def test_elliptic_follow_up_carries_the_topic_to_the_new_place(pipeline):
    history = [{"q": "海门规划对知识产权质押金额定了什么累计目标？", "a": ""}]
    reply = pipeline.ask("那运城呢？", history=history)
    assert reply["citations"] and reply["citations"][0]["doc_id"] == "yuncheng"
    assert "質押" in reply["answer"]


def test_answerer_is_deterministic_and_reads_only_its_clauses(pipeline):
    a = ExtractiveAnswerer(pipeline.clauses_by_id.values(), pipeline.retriever.plans)
    hits = pipeline.retriever.search("嘉兴知识产权质押融资金额目标", k=10)
    first = a.answer("嘉兴知识产权质押融资金额目标是多少？", hits)
    second = a.answer("嘉兴知识产权质押融资金额目标是多少？", hits)
    assert first == second


def test_a_clause_named_by_its_number_is_the_one_answered(pipeline):
    """附件第13项: the looked-up row is cited first, and its number (13) is not taken
    for a figure the answer should contain (another row says “由13人扩充”)."""
    reply = pipeline.ask("绍兴附件第13项由谁负责？")
    first = reply["citations"][0]
    assert first["doc_id"] == "shaoxing" and first["path"] == "附件 第13项"
    row = next(c for c in pipeline.clauses_by_id.values() if c.doc_id == "shaoxing" and c.path == "附件 第13项")
    assert row.fields["责任单位"] in reply["answer"]
