"""The extractive answerer on the real five plans and a real index.

Every check reads the expected figure, unit or body from the clauses themselves
(found independently of the answerer), never from a hard-coded answer.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import asks
from assistant.answering import ExtractiveAnswerer, sentence_spans
from assistant.ask import AskPipeline
from assistant.textnorm import for_compare, for_search






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


# ---------------------------------------------------------------------------
# stated versus not stated: one question per ask kind, on a subject the documents do
# mention without stating what is asked (checked against the corpus first)

NOT_STATED = [
    ("money", "宁波企业购买商标保险，政府补贴多少钱？", "ningbo", "商标保险"),
    ("ratio", "宁波对企业购买知识产权保险给多少比例的保费补贴？", "ningbo", "保险"),
    ("count", "运城要建设几家商标品牌指导站？", "yuncheng", "指导站"),
    ("figure", "嘉兴知识产权运营基金的规模有多大？", "jiaxing", "运营基金"),
    ("year", "海门计划哪一年建成知识产权保护中心？", "haimen", "保护中心"),
    ("when", "海门什么时候建成知识产权维权援助中心？", "haimen", "维权援助"),
    ("duration", "在绍兴申请专利快速预审，几个工作日能出结果？", "shaoxing", "预审"),
    ("contact", "宁波知识产权维权援助中心的电话是多少？", "ningbo", "维权援助"),
    ("procedure", "在运城怎么申请知识产权质押融资贷款贴息？", "yuncheng", "贴息"),
    ("materials", "嘉兴企业申请知识产权质押融资需要提交哪些材料？", "jiaxing", "质押融资"),
]


# asked in wordings the first list does not use: the asking words in their own part
# ("……，申请流程是怎样的？"), a procedure by its steps, a place and how to get in touch,
# a sentence that names a hotline without its number, a total of a named fund
NOT_STATED_WORDINGS = [
    ("procedure", "嘉兴的小微企业想办理知识产权托管，申请流程是怎样的？", "jiaxing", "托管"),
    ("procedure", "运城的企业申请质押融资贷款贴息，要走哪些步骤？", "yuncheng", "贴息"),
    ("contact", "中国（宁波）知识产权保护中心在什么地方，怎么联系？", "ningbo", "保护中心"),
    ("contact", "运城的知识产权维权援助机构电话是多少？", "yuncheng", "维权援助"),
    ("money", "嘉兴市知识产权运营基金的总规模是多少亿元？", "jiaxing", "运营基金"),
]


@pytest.mark.parametrize("kind,question,doc,subject", NOT_STATED + NOT_STATED_WORDINGS,
                         ids=[k for k, *_ in NOT_STATED] + [q for _, q, *_ in NOT_STATED_WORDINGS])
def test_a_kind_the_documents_do_not_state_is_said_not_to_be_stated(pipeline, corpus_norm, kind, question, doc,
                                                                      subject):
    # the premise, read from the corpus: the document mentions the subject, and none of
    # the sentences that mention it states this kind of thing
    sentences = [c.text[a:b] for c in clauses_of(pipeline, doc) for a, b in sentence_spans(c.text)]
    about = [s for s in sentences if subject in for_search(s)]
    assert about and not any(asks.states(kind, s) for s in about)
    assert kind in asks.detect(question)

    reply = pipeline.ask(question)
    assert reply["not_found"] is True
    assert f"没有规定{asks.kinds()[kind].missing}" in reply["answer"] or \
        asks.kinds()[kind].missing in reply["answer"].rsplit("没有规定", 1)[-1]
    assert reply["citations"], "what the documents do say about the subject is cited"
    assert all(c["doc_id"] == doc for c in reply["citations"])
    assert_citations_exact(reply, corpus_norm)





def test_a_figure_for_a_year_after_the_documents_last_is_not_stated(pipeline):
    # 绍兴's target (20件以上) is for the end of its building period (2025年底); the
    # document names no year after 2026
    stated = pipeline.ask("绍兴到2025年每万人高价值发明专利拥有量的目标是多少？")
    assert not stated["not_found"] and "20件以上" in stated["answer"]
    later = pipeline.ask("绍兴2028年每万人高价值发明专利拥有量的目标是多少？")
    assert later["not_found"] is True
    # 嘉兴's figures are for 2025 and for “十三五” (to 2020): neither is one for 2030
    assert pipeline.ask("嘉兴2030年每万人高价值发明专利拥有量要达到多少件？")["not_found"] is True


def test_a_five_year_plan_period_stands_for_its_last_year():
    from assistant.answering import _years_in

    assert _years_in("“十三五”期间，到2025年") == ["2020", "2025"]
    assert _years_in("十四五时期 十五五") == ["2025", "2030"]


# answered, though the words next to the asking words are not the sentence's: a verb
# of change (增加到), the end of a period (到建设期满), a school as the body, an English
# term of the trade (technical investigator, 技术调查官)
STATED_WORDINGS = [
    ("绍兴专门办知识产权案子的警察要增加到多少人？", "20人以上"),
    ("绍兴的知识产权调解组织到建设期满要有多少家？", "200家"),
    ("嘉兴的知识产权培训依托哪所高校来组织？", "嘉兴学院"),
    ("How many technical investigators will Shaoxing's IP technical investigator team have?", "20名"),
]


@pytest.mark.parametrize("question,expected", STATED_WORDINGS, ids=[q for q, _ in STATED_WORDINGS])
def test_a_kind_stated_is_answered_in_other_wordings(pipeline, corpus_norm, question, expected):
    reply = pipeline.ask(question)
    assert not reply["not_found"]
    assert expected in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


STATED = [
    ("money", "嘉兴规划对知识产权质押融资金额定的目标是多少亿元？", "jiaxing", r"质押融资金额达(\d+亿元)"),
    ("ratio", "嘉兴知识产权密集型产业增加值占GDP比重的目标是多少？", "jiaxing", r"占GDP比重达到(\d+%)"),
    ("count", "宁波到2022年有效发明专利拥有量要达到多少件？", "ningbo", r"有效发明专利拥有量达到(\d+件)"),
    ("year", "宁波打算在哪一年基本建成知识产权强市？", "ningbo", r"到(20\d\d)年，基本建成"),
    ("when", "绍兴争创世界知识产权技术与创新支持中心什么时候完成？", "shaoxing", r"TISC\)。｜[^｜]+｜(.+)$"),
]


@pytest.mark.parametrize("kind,question,doc,pattern", STATED, ids=[k for k, *_ in STATED])
def test_a_kind_the_documents_state_is_answered_with_it(pipeline, corpus_norm, kind, question, doc, pattern):
    expected = next(m.group(1) for c in clauses_of(pipeline, doc) if (m := re.search(pattern, c.text)))
    assert kind in asks.detect(question)
    reply = pipeline.ask(question)
    assert not reply["not_found"]
    assert expected in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


def test_a_yearly_figure_is_not_stated_by_a_total_over_the_period(pipeline, corpus_norm):
    # the premise, read from the corpus: 绍兴 gives its protection fund as one total over
    # the building period, in no sentence per year
    sentences = [c.text[a:b] for c in clauses_of(pipeline, "shaoxing") for a, b in sentence_spans(c.text)]
    fund = [s for s in sentences if "专项经费" in s]
    assert fund and any(asks.states("figure", s) for s in fund)
    assert not any(asks.states_rate("year", s) for s in fund)
    question = "绍兴示范区建设期间，知识产权保护专项经费年均投入多少？"
    assert asks.rates_asked(question) == ["year"]
    reply = pipeline.ask(question)
    assert reply["not_found"] is True
    assert "没有规定每年的" in reply["answer"], reply["answer"]
    assert reply["citations"] and all(c["doc_id"] == "shaoxing" for c in reply["citations"])
    assert_citations_exact(reply, corpus_norm)
    # the total, asked as a total, is answered
    total = pipeline.ask("绍兴示范区建设期间累计投入多少知识产权保护专项经费？")
    assert not total["not_found"] and re.search(r"\d+万元", total["answer"]), total["answer"]
    # a figure the document gives per year is answered when asked per year
    src = next(c for c in clauses_of(pipeline, "ningbo") if "年新增有效注册商标" in c.text)
    figure = re.search(r"年新增有效注册商标(\d+万件)", src.text).group(1)
    yearly = pipeline.ask("宁波每年新增的有效注册商标要有多少件？")
    assert not yearly["not_found"] and figure in yearly["answer"], yearly["answer"]


def test_a_period_is_read_as_asked_and_as_stated():
    assert asks.rates_asked("每年召开几次专题会议？") == ["year"]
    assert asks.rates_asked("How much does the city spend on IP each year?") == ["year"]
    assert asks.rates_asked("每年召开的会议由谁负责？") == []  # no figure asked
    assert asks.rates_asked("三年内能拿多少补贴？") == []  # a span, not a rate
    for yearly in ("年新增有效注册商标5万件以上", "行政裁决案件受理量50件/年以上", "每年召开2次以上专题会议",
                   "服务业年营业收入达2000万元", "地理标志产品年度销售额超过100亿元"):
        assert asks.states_rate("year", yearly), yearly
    for total in ("累计投入专项经费2000万元左右", "三年累计达到10亿元", "到2025年，质押融资金额达200亿元",
                  "2023年底前基值15.93"):
        assert not asks.states_rate("year", total), total


def test_english_when_asks_a_date_only_as_an_interrogative():
    assert "when" in asks.detect("When will Ningbo set up its IP court?")
    assert "when" in asks.detect("On what date must the fund be in place?")
    assert "when" in asks.detect("Who is responsible for it, and when?")
    assert "when" not in asks.detect("What must a court consider when it recognises a well-known trademark?")
    assert "when" not in asks.detect("What happens when a patent agency loses its licence?")


def test_what_a_sentence_states_is_read_by_kind():
    assert asks.states("money", "给予每件5000元资助") and not asks.states("money", "打造一批知名品牌")
    assert asks.states("ratio", "同比增长210%") and not asks.states("ratio", "比例明显提高")
    assert asks.states("count", "建成调解组织20家") and not asks.states("count", "培育一批骨干企业")
    assert asks.states("duration", "在15个工作日内办结") and not asks.states("duration", "持续推进")
    assert asks.states("body", "(市市场监管局、市财政局按职责分工负责)")
    assert asks.states("body", "充分发挥市知识产权工作领导小组协调作用")
    assert not asks.states("body", "构建知识产权大保护工作格局")
    assert asks.states("contact", "咨询电话：0574-87654321") and not asks.states("contact", "2021年版权登记量20233件")


def test_figures_in_chinese_numerals_and_terms_in_years_are_stated():
    # laws write amounts and multiples in Chinese numerals
    assert asks.states("money", "判决给予五百元以上五百万元以下的赔偿")
    assert asks.states("figure", "可以处二万元以上二十万元以下的罚款")
    assert asks.states("count", "处违法所得一倍以上四倍以下的罚款")
    assert asks.states("money", "处违法所得一倍以上四倍以下的罚款")  # a fine as a multiple of a sum
    assert not asks.states("money", "产值增长一倍以上")
    assert not asks.states("money", "推进知识产权数据统一元数据管理")
    assert not asks.states("count", "培育一批骨干企业")
    # a term in years is a duration; a year is not
    assert asks.states("duration", "注册商标的有效期为十年") and asks.states("duration", "3年内完成")
    assert not asks.states("duration", "到2025年，建成知识产权强市") and not asks.states("duration", "二〇二五年")


def test_each_part_of_a_question_is_read_for_what_it_asks():
    # a duration asked in one part does not hide the figure asked in the next
    assert set(asks.detect("被授予专利权后多长时间内要发奖金？发明专利和实用新型专利各最少多少？")) == {"duration", "figure"}
    # in one part, the specific kind wins over the bare figure
    assert asks.detect("补贴最多是多少元？") == ["money"]
    assert "money" in asks.detect("what is the minimum bonus for an invention patent?")


def test_a_question_asks_only_in_its_asking_parts():
    assert asks.detect("海门企业办理知识产权质押贷款，政府给多少比例的贴息？") == ["ratio"] or \
        "ratio" in asks.detect("海门企业办理知识产权质押贷款，政府给多少比例的贴息？")
    # 几家 here sets the scene; the question asks whether, not how many
    assert "count" not in asks.detect("同一行业的几家企业，能不能一起建立专利池？")
    assert asks.detect("商标注册申请需要几个工作日？") == ["duration"]
    assert "body" in asks.detect("这项任务由哪些单位负责？")
    assert "body" not in asks.detect("要新建哪些机构？")  # which institutions, not who is responsible


def test_a_figure_of_something_else_does_not_answer(pipeline):
    """A ratio is asked of 贴息: a nearby sentence stating a ratio of something else is
    not an answer (the words next to the asking words must be in the stating sentence)."""
    reply = pipeline.ask("嘉兴企业办理专利质押贷款，政府贴息的比例是多少？")
    assert reply["not_found"] is True
    assert "没有规定具体比例" in reply["answer"]


# ---------------------------------------------------------------------------
# complete answers


def test_a_named_clause_is_answered_with_all_its_requirements_in_order(pipeline, corpus_norm):
    """（四） of the 绍兴 scheme is a section whose requirements are its items 10., 11.:
    with every sentence of a named clause kept (named_share 0), the answer quotes each
    item, in the document's order."""
    from dataclasses import replace

    q = "绍兴方案三、（四）提出了哪些要求？"
    r = pipeline.retrieve(q, [])
    section = next(h for h in r.answer_hits if h.contributions.get("lookup"))
    children = sorted((c for c in clauses_of(pipeline, "shaoxing") if c.parent_paths and
                       c.parent_paths[-1] == section.path), key=lambda c: c.ordinal)
    assert len(children) >= 2
    answerer = ExtractiveAnswerer(pipeline.clauses_by_id.values(), pipeline.retriever.plans,
                                  similarity=pipeline.retriever.store.similarities,
                                  params=replace(pipeline.extractive.params, named_share=0.0))
    result = answerer.answer(q, r.answer_hits, info=r.info, places=r.places)
    child_paths = [c.path for c in children]
    cited = [c["path"] for c in result.citations if c["path"] in child_paths]
    assert len(cited) >= 2 and cited == child_paths[:len(cited)]  # every item from the first, in order
    first = next(c for c in result.citations if c["path"] == children[0].path)
    assert first["quote"].startswith(children[0].text[:10])


def test_a_measures_question_lists_distinct_measures_each_cited(pipeline, corpus_norm):
    from dataclasses import replace

    q = "宁波在知识产权保护方面有哪些措施？"
    r = pipeline.retrieve(q, [])
    answerer = ExtractiveAnswerer(pipeline.clauses_by_id.values(), pipeline.retriever.plans,
                                  similarity=pipeline.retriever.store.similarities,
                                  params=replace(pipeline.extractive.params, list_share=0.0, list_max=4))
    result = answerer.answer(q, r.answer_hits, info=r.info, places=r.places)
    assert not result.not_found
    quotes = [c["quote"] for c in result.citations]
    assert len(quotes) >= 2 and len(set(quotes)) == len(quotes)
    for c in result.citations:
        assert f"[{c['n']}]" in result.answer and c["quote"] in c["clause_text"]


# ---------------------------------------------------------------------------
# English


def test_english_question_gets_an_english_lead_then_the_chinese_quote(pipeline, corpus_norm):
    src = next(c for c in clauses_of(pipeline, "jiaxing") if "质押融资金额达" in c.text)
    amount = re.search(r"质押融资金额达(\d+)亿元", src.text).group(1)
    reply = pipeline.ask("What is Jiaxing's target for IP pledge financing by 2025?")
    lead, _, rest = reply["answer"].partition("\n\n")
    assert lead.startswith("According to") and "Jiaxing" in lead
    assert f"{int(amount) / 10:g} billion yuan" in lead  # 200亿元 read in English
    assert f"{amount}亿元" in rest
    assert_citations_exact(reply, corpus_norm)


def test_english_question_not_stated_says_so_in_english(pipeline):
    reply = pipeline.ask("How many working days does Ningbo take to accept a patent infringement complaint?")
    assert reply["not_found"] is True
    assert reply["answer"].startswith("The documents do not state")


def test_place_outside_the_corpus_is_not_found(pipeline):
    reply = pipeline.ask("杭州市知识产权质押融资的目标是多少？")
    assert reply["not_found"] is True
    assert "杭州" in reply["answer"]


def test_a_foreign_market_is_not_a_place_outside_the_corpus(pipeline):
    reply = pipeline.ask("我们的产品出口到越南，在当地遇到商标纠纷，绍兴能提供什么海外维权服务？")
    assert "越南" not in reply["answer"].split("。", 1)[0]  # not "no document about 越南"


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


# ---------------------------------------------------------------------------
# word-vector bridging, sentence labels and the learned scorer


def test_the_bridge_maps_an_everyday_word_to_nearby_corpus_terms_only():
    from assistant.bridging import TermBridge

    bridge = TermBridge(["东南亚", "海外", "知识产权", "泰国菜馆", "专利"], min_similarity=0.6)
    terms = dict(bridge.neighbours("泰国"))
    assert "东南亚" in terms and terms["东南亚"] >= 0.6
    assert "泰国菜馆" not in terms  # never the word itself or a term containing it
    assert bridge.neighbours("泰国", 0.999) == []
    assert bridge.neighbours("不在词表里的词语xyz") == []


def test_bridge_expansions_bridge_only_words_the_corpus_lacks():
    from assistant.bridging import TermBridge
    from assistant.query import bridge_expansions

    bridge = TermBridge(["东南亚", "海外", "服务", "机构"], min_similarity=0.6)
    out = bridge_expansions("产品卖到泰国，有没有服务机构？", bridge, 0.6)
    assert "东南亚" in out
    assert "服务" not in out and "机构" not in out  # words the corpus has stay as they are


def test_bridge_expansions_within_the_documents_searched():
    """A question restricted to some documents bridges the words those documents lack
    (even when other documents use them) to terms those documents use."""
    from assistant.bridging import TermBridge
    from assistant.query import bridge_expansions

    bridge = TermBridge(["东南亚", "海外", "泰国", "服务", "机构"], min_similarity=0.6)
    everywhere = bridge_expansions("产品卖到泰国，有没有服务机构？", bridge, 0.6)
    assert "东南亚" not in everywhere  # the corpus uses 泰国
    searched = {"东南亚", "服务", "机构"}  # the documents searched do not use 泰国 or 海外
    out = bridge_expansions("产品卖到泰国，有没有服务机构？", bridge, 0.6, used=searched.__contains__)
    assert "东南亚" in out and "海外" not in out


def test_sentence_labels_come_from_the_evidence():
    from assistant.sentence_scoring import label_sentence

    evidence = ["建立主导产业专利池,推进专利技术产业化、标准化运用"]
    assert label_sentence("引导企业面向产业需求，建立主导产业专利池，推进专利技术产业化、标准化运用。", evidence)
    assert label_sentence("建立主導產業專利池", evidence)  # a substantial piece, in either script
    assert not label_sentence("加强知识产权宣传。", evidence)


def test_the_learned_scorer_round_trips_as_plain_data():
    import json

    from assistant.sentence_scoring import FEATURES, LinearScorer, fit_ranker

    # per question, the answering sentence is the one that shares the most words
    groups = [[({"cov": (x + q) / 20, "dense": 0.5}, x == 9) for x in range(10)] for q in range(6)]
    model = fit_ranker(groups)
    assert model.logistic and dict(model.weights)["cov"] > 0
    assert fit_ranker(groups) == model  # the same data, the same coefficients
    assert [f for f, _ in model.weights] == list(FEATURES)
    again = LinearScorer.from_json(json.loads(json.dumps(model.to_json())))
    assert again == model
    assert model.score({"cov": 0.9, "dense": 0.5}) > model.score({"cov": 0.1, "dense": 0.5})


def test_two_places_named_are_answered_place_by_place(pipeline, corpus_norm):
    reply = pipeline.ask("嘉兴和宁波在知识产权质押融资方面分别定了什么目标？")
    assert {c["doc_id"] for c in reply["citations"]} >= {"jiaxing", "ningbo"}
    assert "嘉兴市" in reply["answer"] and "宁波市" in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


def test_english_figures_are_read_in_english():
    from assistant.english import english_figure, english_figures

    assert english_figure("200", "亿", "元") == "20 billion yuan"
    assert english_figure("4.2", "亿", "元") == "420 million yuan"
    assert english_figure("22", None, "%") == "22%"
    assert english_figures("到2025年，质押融资金额达200亿元") == ["200亿元 (20 billion yuan)"]


def test_a_clause_named_by_number_and_asked_what_it_lists_is_quoted_whole(pipeline, corpus_norm):
    # "which conditions/materials" is a checked ask; asked of a clause named by its number,
    # the clause itself answers: not refused, and every sentence of it quoted
    reply = pipeline.ask("宁波的实施意见第（十）条规定了哪些条件和材料？")
    clause = next(c for c in pipeline.clauses_by_id.values() if c.doc_id == "ningbo" and c.path == "三、（十）")
    assert not reply["not_found"]
    assert [c["path"] for c in reply["citations"]] == ["三、（十）"]
    last = [s for s in clause.text.replace("\n", "").split("。") if s.strip()][-1]
    assert last in reply["answer"]
    assert_citations_exact(reply, corpus_norm)


def _with_params(pipeline: AskPipeline, **fields):
    """The pipeline's answerer with some constants changed, restored by the caller."""
    from dataclasses import replace

    saved = pipeline.extractive.params
    pipeline.extractive.params = replace(saved, **fields)
    return saved


def test_a_weak_match_quotes_the_best_sentence_of_several_clauses(pipeline, corpus_norm):
    question = "厂里的老师傅跳槽时把做产品的诀窍带走了，宁波有没有办法管？"
    # enough clauses compete, and no coverage floor refuses it (whatever train shipped)
    saved = _with_params(pipeline, weak_coverage=0.0, weak_clauses=1, min_coverage=0.0, top_clauses=6)
    try:
        one = pipeline.ask(question)
        _with_params(pipeline, weak_coverage=1.01, weak_clauses=3)
        several = pipeline.ask(question)
    finally:
        pipeline.extractive.params = saved
    assert not one["not_found"] and not several["not_found"]
    paths = [(c["doc_id"], c["path"]) for c in several["citations"]]
    assert len(set(paths)) == 3
    # the best sentence still comes first; the others follow, and the user is told why
    assert several["citations"][0]["quote"] == one["citations"][0]["quote"]
    assert any("最接近的3处条款" in n for n in several["notes"])
    assert_citations_exact(several, corpus_norm)


def test_each_asking_part_of_a_question_gets_a_sentence_that_answers_it(pipeline, corpus_norm):
    # two targets of the 海门 plan, stated in two clauses: each part asks one of them
    haimen = clauses_of(pipeline, "haimen")
    patents = next(m.group(1) for c in haimen if (m := re.search(r"每万人高价值发明专利拥有量达到(\d+件)", c.text)))
    pledges = next(m.group(1) for c in haimen if (m := re.search(r"知识产权质押金额累计(\d+亿元)", c.text)))
    question = "海门到2025年每万人高价值发明专利拥有量要达到多少件？知识产权质押金额累计要达到多少？"
    saved = _with_params(pipeline, part_coverage=0.5)
    try:
        reply = pipeline.ask(question)
    finally:
        pipeline.extractive.params = saved
    assert not reply["not_found"]
    assert patents in reply["answer"] and pledges in reply["answer"]
    assert_citations_exact(reply, corpus_norm)



# ---------------------------------------------------------------------------
# English questions and time limits on real laws


def test_an_english_question_is_one_asking_part_however_many_commas():
    # a comma joins the clauses of an English sentence: the first clause asks too
    assert asks.detect("Within how many working days must an application be examined, "
                       "and which department examines it?") == ["duration", "body"]
    assert asks.detect("Under the rules, what is the minimum bonus, and by when must it be paid?") == \
        ["money", "when"]


def test_english_asking_words_are_whole_words():
    # "ratio" inside demonstration or registration, "list" inside specialists, "address"
    # as a verb and "which documents" naming documents ask for none of these kinds
    assert asks.detect("Which bureau leads the overall coordination of Shaoxing's demonstration zone?") == ["body"]
    assert "ratio" not in asks.detect("What does the registration of trademarks require?")
    assert "measures" not in asks.detect("Which specialists will Jiaxing train?")
    assert "contact" not in asks.detect("How does Ningbo address counterfeiting?")
    assert "materials" not in asks.detect("Which documents mention IP insurance?")
    # … and still ask them as nouns and whole words
    assert "contact" in asks.detect("What is the address of the Ningbo IP protection centre?")
    assert "materials" in asks.detect("What documents are needed to apply for a pledge loan?")
    assert "ratio" in asks.detect("What is the ratio of the subsidy?")


def test_a_time_limit_answers_by_when():
    assert asks.states("when", "应当自公告授予专利权之日起3个月内发给奖金")
    assert asks.states("when", "人民法院应当在收到复议申请后十日内作出裁定")
    assert not asks.states("when", "建成调解组织20家")


def test_focus_words_leave_out_asking_words_and_words_the_documents_never_use(pipeline):
    a = pipeline.extractive
    kws = a.view("专利侵权纠纷最晚要在多长时间内办结？").keywords
    focus = a._focus_words("最晚要在多长时间内办结？", kws)
    assert "最晚" not in focus and "多长时间" not in focus
    assert all(a.weights_of("haimen").used(t) for t in focus)


def test_chosen_sentences_of_a_clause_close_together_are_quoted_as_one_span(pipeline, corpus_norm):
    from assistant.answering import MAX_QUOTE_CHARS, Picked

    a = pipeline.extractive
    clause, sents = next((c, s) for c in pipeline.clauses_by_id.values()
                         if len(s := [x for x in a._sentences[c.clause_id] if not x.is_heading]) >= 3
                         and s[2].end - s[0].start <= MAX_QUOTE_CHARS)
    quotes, _ = a._quotes_for(Picked(clause, 0, [sents[0], sents[2]], 1.0))
    assert quotes == [clause.text[sents[0].start:sents[2].end]]  # the sentence between comes with them
    assert sents[1].text in quotes[0]


LAWS_DIR = Path(__file__).resolve().parents[1] / "eval" / "corpora" / "laws-ip"


@pytest.fixture(scope="module")
def two_laws(tmp_path_factory):
    """Two real laws of laws-ip (no plans), built into a real index."""
    from conftest import pipeline_over

    names = ("专利代理条例(2018-11-06)", "浙江省促进科技成果转化条例(2021-09-30)")
    return pipeline_over([LAWS_DIR / f"{n}.md" for n in names], tmp_path_factory.mktemp("two_laws"))


@pytest.mark.slow
def test_an_english_question_on_a_law_is_answered_by_the_article_stating_the_time_limit(two_laws):
    # the article, found independently: a first-time practitioner's record, and its time limit
    article = next(c for c in two_laws.clauses_by_id.values() if "首次执业" in c.text and "备案" in c.text)
    limit = re.search(r"(\d+)日内", article.text).group(1)
    reply = two_laws.ask("Within how many days of starting to practise for the first time must a patent "
                         "attorney file for the record under the Patent Agency Regulations?")
    lead, _, rest = reply["answer"].partition("\n\n")
    assert not reply["not_found"]
    assert reply["citations"][0]["path"] == article.path
    assert f"{limit}日" in lead and f"{limit} days" in lead  # the lead carries the article's time limit
    assert f"{limit}日内" in rest


@pytest.mark.slow
def test_a_time_limit_stated_by_the_article_is_not_called_unstated(two_laws):
    article = next(c for c in two_laws.clauses_by_id.values() if "奖励支付期限" in c.text and "个月内" in c.text)
    months = re.search(r"([一二三四五六七八九十\d]+)个月内", article.text).group(1)
    reply = two_laws.ask("浙江的科技成果完成单位没有规定也没有约定奖励支付期限的，最晚要在多长时间内发奖励？")
    assert not reply["not_found"], reply["answer"]
    assert f"{months}个月内" in reply["answer"]
    assert any(c["path"] == article.path for c in reply["citations"])


@pytest.mark.slow
def test_a_sentence_announcing_a_list_is_quoted_with_its_items_in_order(two_laws):
    # the article, found independently: its first paragraph ends announcing the conditions
    # (应当具备下列条件：), its numbered items follow as its sub-clauses
    head = next(c for c in two_laws.clauses_by_id.values()
                if c.level == "article" and c.text.rstrip().endswith("下列条件：") and "合伙" in c.text)
    items = [c for c in two_laws.clauses_by_id.values() if head.path in c.parent_paths and c.level != "paragraph"]
    assert len(items) >= 3
    for question in ("What conditions must a patent agency in the form of a partnership or a limited liability "
                     "company meet when it carries out patent agency business?",
                     "合伙企业形式的专利代理机构做专利代理，要具备什么条件？"):
        reply = two_laws.ask(question)
        assert not reply["not_found"], reply["answer"]
        paths = [c["path"] for c in reply["citations"]]
        assert head.path in paths, reply["answer"]
        start = paths.index(head.path)
        assert paths[start + 1:start + 1 + len(items)] == [c.path for c in items], reply["answer"]


@pytest.mark.slow
def test_a_qualification_a_law_states_counts_as_stating_conditions(two_laws):
    # the article, found independently: a practitioner must hold a certificate and have
    # served a term (实习满1年); it names no 条件 or 材料 word
    article = next(c for c in two_laws.clauses_by_id.values() if "实习满" in c.text and "资格证" in c.text)
    assert asks.states("materials", article.text)
    assert not re.search("条件|材料", article.text)
    reply = two_laws.ask("专利代理师执业需要什么资格？")
    assert not reply["not_found"], reply["answer"]
    assert any(c["path"] == article.path for c in reply["citations"]), reply["answer"]


@pytest.mark.slow
def test_a_fine_stated_in_branches_is_quoted_with_every_branch(two_laws):
    # the item, found independently: a false-testing offence fined in two branches (a sum, and a
    # multiple of the illegal gains); the sentence split cuts the provision at its semicolons
    item = next(c for c in two_laws.clauses_by_id.values() if "虚假检测结果" in c.text and "倍以上" in c.text)
    fixed, multiple = re.findall(r"[一二三四五六七八九十]+万元以上[一二三四五六七八九十]+万元以下|"
                                 r"[一二三四五六七八九十]+倍以上[一二三四五六七八九十]+倍以下", item.text)[:2]
    reply = two_laws.ask("在浙江，科技成果评估机构出具虚假评估证明的，要罚多少钱？")
    assert not reply["not_found"], reply["answer"]
    quoted = [c for c in reply["citations"] if c["path"] == item.path]
    assert quoted, reply["answer"]
    assert fixed in quoted[0]["quote"] and multiple in quoted[0]["quote"], reply["answer"]


def test_words_of_a_named_title_ask_nothing(tmp_path):
    """最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复: its title's 几个 is no count
    asked, so a question naming the document by title is answered, not said to leave a
    count unstated (it was, for every question naming it)."""
    from conftest import pipeline_over

    title = "最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复"
    pipeline = pipeline_over([Path(__file__).resolve().parent.parent / "eval" / "corpora" / "laws-ip" / f"{title}.md"],
                             tmp_path)
    reply = pipeline.ask(f"{title}对恶意提交声明有什么规定？")
    assert not reply["not_found"] and "没有规定" not in reply["answer"]
    assert "恶意提交声明" in reply["citations"][0]["quote"]
    # what is asked outside the title is still asked
    from assistant.query import analyse

    metas = pipeline.retriever.plans
    assert analyse(f"{title}规定了什么？", metas).asks == []
    assert analyse(f"按照{title}，起诉要交多少钱？", metas).asks == ["money"]
