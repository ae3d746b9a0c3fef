"""Query understanding on the real plans' metadata: places, clause numbers, language, intent."""
from __future__ import annotations

import pytest

from assistant.corpus import load_plans
from assistant.query import ClauseRef, analyse, cn_to_int, parse_clause_refs, path_steps
from assistant.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def plans():
    return load_plans(PROJECT_ROOT / "corpus")


@pytest.mark.parametrize("text,value", [("一", 1), ("十", 10), ("十七", 17), ("二十四", 24), ("一百零三", 103), ("13", 13)])
def test_chinese_numerals(text, value):
    assert cn_to_int(text) == value


@pytest.mark.parametrize("text", ["十四五", "五五", ""])
def test_malformed_numerals_are_not_numbers(text):
    assert cn_to_int(text) is None


@pytest.mark.parametrize("path,steps", [
    ("三、（三）6.", [("chapter", 3), ("paren", 3), ("item", 6)]),
    ("三、(三)6.", [("chapter", 3), ("paren", 3), ("item", 6)]),
    ("五、（三）专栏6", [("chapter", 5), ("paren", 3), ("box", 6)]),
    ("附件 第13项", [("attachment", 0), ("row", 13)]),
    ("2、（七）", [("chapter", 2), ("paren", 7)]),  # 宁波 types chapter 二 as "2、"
])
def test_path_steps(path, steps):
    assert list(path_steps(path)) == steps


@pytest.mark.parametrize("question,clause_path,other_path", [
    ("第（十七）条讲了什么", "四、（十七）", "四、（七）"),
    ("（十七）讲了什么", "四、（十七）", "四、（十六）"),
    ("第十七条", "四、（十七）", "一、（一）"),
    ("专栏9提出了什么", "六、（三）专栏9", "六、（三）"),
    ("表2里有哪些指标", "二、（三）表2", "二、（三）表1"),
    ("附件第13项由谁负责", "附件 第13项", "附件 第3项"),
    ("附件13", "附件 第13项", "附件 第1项"),
    ("三、（三）6.说了什么", "三、（三）6.", "三、（三）7."),
    ("三（三）6讲什么", "三、(三)6.", "二、(三)6."),
    ("第三部分写了什么", "三、", "三、（一）"),
])
def test_clause_refs_match_only_their_clause(question, clause_path, other_path):
    refs = parse_clause_refs(question)
    assert refs, question
    assert any(r.matches(clause_path) for r in refs)
    assert not any(r.matches(other_path) for r in refs)


@pytest.mark.parametrize("question", [
    "“十四五”期间海门专利权质押融资一共做了多少？",
    "2020年当年的质押融资额和增幅是多少？",
    "通过专利合作条约（PCT）申请国际专利",
    "到2025年达到6.5%",
])
def test_no_false_clause_refs(question):
    assert parse_clause_refs(question) == []


def test_places_in_either_script_and_english(plans):
    assert analyse("運城知識產權質押融資", plans).places == ["yuncheng"]
    assert analyse("运城知识产权质押融资", plans).places == ["yuncheng"]
    assert analyse("How much does Jiaxing plan for IP pledge financing?", plans).places == ["jiaxing"]
    assert analyse("南通市海门区的规划", plans).places == ["haimen"]
    assert analyse("诸暨的企业", plans).places == ["shaoxing"]  # a county alias
    assert analyse("哪些地方提到质押融资", plans).places == []


def test_plan_named_by_title(plans):
    assert analyse("《关于全面加强知识产权工作的实施意见》哪一条讲律师调查令？", plans).places == ["ningbo"]


def test_places_first_named_first(plans):
    assert analyse("绍兴方案与宁波知识产权法庭的合作", plans).places == ["shaoxing", "ningbo"]


def test_followup_inherits_place_from_history(plans):
    history = [{"q": "海门区有没有知识产权保险方面的支持?", "a": "有。"}]
    info = analyse("那质押融资方面有什么举措?", plans, history)
    assert info.places == ["haimen"] and info.places_from_history
    # a follow-up that names its own place keeps it
    assert analyse("宁波呢?", plans, history).places == ["ningbo"]


def test_text_is_simplified_and_expanded(plans):
    info = analyse("運城知產質押貸款", plans)
    assert "运城" in info.text and "知识产权" in info.text and "质押融资" in info.text
    assert info.text.startswith("运城知产质押贷款")  # the user's own words come first, kept


def test_english_is_detected_and_glossed(plans):
    info = analyse("How much does Jiaxing plan for IP pledge financing by 2025?", plans)
    assert info.lang == "en"
    assert "质押融资" in info.text and "知识产权" in info.text
    assert analyse("嘉兴的PCT专利", plans).lang == "zh"


@pytest.mark.parametrize("question,intent", [
    ("宁波到2022年有效发明专利拥有量要达到多少件？", "numeric"),
    ("这项任务由哪些单位负责？", "duty"),
    ("哪一条提到试行律师调查令制度？", "clause"),
    ("哪些城市要建设分中心？", "cross"),
])
def test_intent_hints(plans, question, intent):
    assert intent in analyse(question, plans).intent


@pytest.mark.parametrize("question,intends", [
    ("海门准备怎么鼓励企业申请商标？", True),  # a place named, an intention modal right after it
    ("市里下一步打算怎么推进专利导航？", True),  # a word for a government, adverbs between
    ("遇到商标被人仿冒，政府管不管？", True),  # whether the government acts at all
    ("嘉兴有没有打算建知识产权保护中心？", True),
    ("方案里有这方面的安排吗？", True),  # whether such an arrangement exists
    ("在绍兴申请专利资助要准备哪些材料？", False),  # 准备 of the applicant: a procedure
    ("运城企业准备上市，要注意哪些知识产权问题？", False),  # an enterprise's plan, not the government's
    ("在宁波开一家专利代理机构要办什么手续？", False),  # a bare 要: what is required
    ("宁波对假冒专利行为怎么处罚？", False),  # what the penalty is: a rule in force
])
def test_a_question_asking_what_a_government_intends(plans, question, intends):
    """``intends``: the question's subject is a government (a place it names, 政府, 市里) and
    its asking part an intention or whether it acts (lexicons/intends.toml)."""
    assert ("intends" in analyse(question, plans).intent) is intends


def test_clause_ref_is_serialisable():
    ref = parse_clause_refs("附件第13项")[0]
    assert isinstance(ref, ClauseRef)
    assert ref.to_dict() == {"steps": [["attachment", 0], ["row", 13]], "raw": "附件第13项", "anchored": True}


def test_which_document_is_not_a_per_plan_question(plans):
    info = analyse("“能调不裁、能裁不诉”出自哪份文件?", plans)
    assert "which_doc" in info.intent and "cross" not in info.intent
    assert info.quoted == ["能调不裁、能裁不诉"]
