"""Routing: the documents a question is about, from the places and titles it names,
and clause numbers looked up in them. Metadata and clauses come from real documents
(the five plans, laws of eval/corpora/laws-ip, and from the laws collection, in
tests/data/laws/: 宁波市专利管理条例, a second 宁波 document beside its 实施意见, and
嘉兴's 餐饮业油烟管理办法 and 生活垃圾分类管理条例 beside its 规划)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.corpus import load_plans
from assistant.ingest import parse_document
from assistant.loaders import load_file
from assistant.lookup import find_clauses, is_sub_path
from assistant.models import PlanMeta
from assistant.query import analyse, parse_clause_refs, path_steps
from assistant.routing import route

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT / "eval" / "corpora" / "laws-ip"
DATA = Path(__file__).resolve().parent / "data" / "laws"
LAW_FILES = {
    "guangdong": LAWS / "广东省版权条例(2022-09-29).md",
    "shandong": LAWS / "山东省专利条例(2013-08-01).md",
    "zibo": LAWS / "淄博市专利管理若干规定(2014-12-01).md",
    "zhejiang": LAWS / "浙江省促进科技成果转化条例(2021-09-30).md",
    "copyright": LAWS / "著作权法(2020-11-11).md",
    "copyright_rules": LAWS / "著作权法实施条例(2013-01-30).md",
    "patent_rules_2010": LAWS / "专利法实施细则(2010-01-09).md",
    "patent_rules_2023": LAWS / "专利法实施细则(2023-12-11).md",
    "agency": LAWS / "专利代理条例(2018-11-06).md",
    "secrets": LAWS / "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10).md",
    "ningbo_patent": DATA / "宁波市专利管理条例(2012-04-09).md",
    "jiaxing_fumes": DATA / "嘉兴市餐饮业油烟管理办法(2020-04-10).md",
    "jiaxing_waste": DATA / "嘉兴市生活垃圾分类管理条例(2021-10-13).md",
}
JIAXING = {"jiaxing", "jiaxing_fumes", "jiaxing_waste"}
NINGBO = {"ningbo", "ningbo_patent"}


@pytest.fixture(scope="module")
def parsed():
    """Every document parsed by ingestion's own per-document step: metadata and clauses."""
    out = {}
    for meta in load_plans(ROOT / "corpus"):
        out[meta.id] = parse_document(load_file(ROOT / "corpus" / meta.file), meta)
    for doc_id, path in LAW_FILES.items():
        out[doc_id] = parse_document(load_file(path), PlanMeta(id=doc_id, file=path.name))
    return out


@pytest.fixture(scope="module")
def docs(parsed):
    return [d.meta for d in parsed.values()]


# --------------------------------------------------------------------------- places
def test_a_province_question_goes_to_the_province_document(docs):
    info = analyse("广东的文创企业想把版权成果转化、产业化，省政府可以通过哪些方式给予支持？", docs)
    assert info.places == ["guangdong"] and info.place_names == ["广东"]


def test_a_city_question_searches_every_document_of_the_city(docs):
    info = analyse("宁波的企业申请专利能得到哪些资助？", docs)
    assert set(info.places) == {"ningbo", "ningbo_patent"}
    # a county of the city, named by its alias or its gazetteer name, is the city's too
    assert set(analyse("鄞州区的企业申请专利能得到哪些资助？", docs).places) == {"ningbo", "ningbo_patent"}


def test_a_province_question_does_not_take_its_cities_documents(docs):
    assert analyse("在山东，专利纠纷由哪一级专利行政部门负责处理？", docs).places == ["shandong"]
    # a city of the province is its own: 淄博 has its own regulation
    assert analyse("在淄博举办展会要承担哪些专利义务？", docs).places == ["zibo"]


def test_a_city_without_documents_falls_back_to_its_province(docs, parsed):
    info = analyse("杭州的高校可以怎样转化科技成果？", docs)
    assert info.places == ["zhejiang"] and info.unknown_places == []
    plans_only = [d.meta for k, d in parsed.items() if k in ("jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing")]
    info = analyse("杭州市知识产权质押融资的目标是多少？", plans_only)
    assert info.places == [] and info.unknown_places == ["杭州市"]


@pytest.mark.parametrize("question", [
    "外国人、无国籍人的作品在中国受著作权法保护吗？",
    "境外企业在国内申请专利要委托哪类机构？",
    "海外维权有什么支持？",
    "中外合作研发的成果归谁？",
])
def test_words_that_only_look_like_places_are_never_places(docs, question):
    info = analyse(question, docs)
    assert info.unknown_places == [] and not info.place_names


def test_words_containing_a_place_name_are_not_places(docs):
    assert analyse("要长治久安地保护知识产权", docs).place_names == []


def test_the_documents_of_a_place_have_their_kinds(docs):
    """What the scope rules below rely on: the kinds inferred from the real titles."""
    kinds = {d.id: d.doc_type for d in docs}
    assert [kinds[k] for k in ("jiaxing", "jiaxing_fumes", "jiaxing_waste", "ningbo", "ningbo_patent")] == [
        "plan", "measures", "regulation", "opinion", "regulation"]


@pytest.mark.parametrize("question,expected", [
    # no kind of document named: every document of the place
    ("嘉兴对知识产权质押融资有什么支持？", JIAXING),
    # a kind named beside the place: that place's documents of that kind
    ("嘉兴的规划里对知识产权质押融资有什么安排？", {"jiaxing"}),
    ("这份嘉兴规划提出建多少家知识产权服务机构？", {"jiaxing"}),
    ("嘉兴的条例对生活垃圾分类有什么要求？", {"jiaxing_waste"}),
    ("宁波的实施意见对专利导航提了什么要求？", {"ningbo"}),
    ("宁波的条例对专利纠纷的调处怎么规定？", {"ningbo_patent"}),
    # an everyday word that is also a kind (办法 = a way) names one only as a document
    ("嘉兴的企业商标被人抢注了有什么办法？", JIAXING),
    ("嘉兴的办法里对餐饮油烟有什么要求？", {"jiaxing_fumes"}),
    # a noun among those words right after the place: the place's document of that kind
    ("嘉兴办法对餐饮油烟有什么要求？", {"jiaxing_fumes"}),
    ("宁波意见第（六）条对专利导航提了什么要求？", {"ningbo"}),
    # a verb after the place (宁波规定…, 嘉兴计划…) names no kind
    ("宁波规定了哪些专利纠纷的处理程序？", NINGBO),
    # a document still to be made is not the one asked about
    ("嘉兴打算制定专门的条例来保护商业秘密吗？", JIAXING),
    ("嘉兴会出台相关办法吗？", JIAXING),
    # a kind the place has no document of narrows nothing
    ("嘉兴的实施意见对专利导航提了什么要求？", JIAXING),
    # the kind word of a title in 《》 names that document, not a kind of the place's
    ("嘉兴的《知识产权保护和促进条例》草案有什么进展？", JIAXING),
])
def test_a_kind_of_document_named_with_a_place_keeps_to_that_kind(docs, question, expected):
    assert set(analyse(question, docs).places) == expected


@pytest.mark.parametrize("question,expected,aside", [
    # where something goes or what is compared with adds no documents
    ("嘉兴的企业想把研发中心搬到宁波，可以得到哪些支持？", JIAXING, ["宁波"]),
    ("嘉兴规划支持企业去宁波、绍兴乃至海外设立研发中心吗？", {"jiaxing"}, ["宁波", "绍兴"]),
    ("与宁波相比，绍兴在专利快速预审上有什么安排？", {"shaoxing"}, ["宁波"]),
    ("比起宁波，嘉兴在知识产权质押融资上有什么支持？", JIAXING, ["宁波"]),
    # every place named is such a place: they are what is asked about
    ("我们想去宁波发展，当地对专利申请有什么资助？", NINGBO, ["宁波"]),
    # the places compared with each other, side by side, or after a marker that is part
    # of a longer word (提到) are what is asked about
    ("宁波和绍兴相比，知识产权保护有什么不同？", NINGBO | {"shaoxing"}, []),
    ("宁波和绍兴的知识产权保护有什么不同？", NINGBO | {"shaoxing"}, []),
    ("绍兴的方案里提到宁波的哪些合作？", {"shaoxing"} | NINGBO, []),
])
def test_a_place_named_as_a_destination_or_comparison_adds_no_documents(docs, question, expected, aside):
    info = analyse(question, docs)
    assert set(info.places) == expected
    assert route(question, docs).aside_places == aside


@pytest.mark.parametrize("question,expected", [
    # a national law's topic words beside a place: the place's documents are asked about
    ("嘉兴在著作权保护上有哪些举措？", JIAXING),
    ("嘉兴对专利代理机构有什么扶持？", JIAXING),
    ("山东专利代理机构怎么监管？", {"shandong"}),
    # the law named by its kind too (专利代理条例): the law, wherever the asker is
    ("宁波的企业要遵守专利代理条例的哪些规定？", {"agency"}),
])
def test_a_title_named_with_a_place_needs_its_kind(docs, question, expected):
    info = analyse(question, docs)
    assert set(info.places) == expected
    assert info.documents == ([] if expected != {"agency"} else ["agency"])


def test_the_five_plans_alone_route_as_before(parsed):
    """With one document per place (the five plans), a kind or a destination named can
    narrow nothing: each place keeps its plan, and a destination without documents is
    still reported as a place no document covers."""
    plans = [d.meta for k, d in parsed.items() if k in ("jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing")]
    assert analyse("嘉兴的企业如果想把研发团队放到上海，规划支持吗？", plans).places == ["jiaxing"]
    assert analyse("绍兴的方案里提到宁波的哪些合作？", plans).places == ["shaoxing", "ningbo"]
    r = route("我们想去杭州发展，有什么支持？", plans)
    assert r.docs == [] and r.unknown_places == ["杭州"]


# --------------------------------------------------------------------------- titles
@pytest.mark.parametrize("question,expected", [
    ("著作权法第十八条规定，哪些职务作品的作者只享有署名权？", ["copyright"]),
    ("中华人民共和国著作权法实施条例对合理使用有什么规定？", ["copyright_rules"]),
    ("专利代理条例规定，谁来检查专利代理机构？", ["agency"]),
    ("最高法关于审理侵犯商业秘密民事案件的规定第六条列举了哪些保密措施？", ["secrets"]),
    ("山东省专利条例对假冒专利的罚款标准是怎样的？", ["shandong"]),
    # the boilerplate of a judicial interpretation's title (关于, 案件, 适用法律若干问题的) left out
    ("最高法商业秘密民事规定对员工离职有什么规定？", ["secrets"]),
    # versions: the year asked for, else the latest
    ("2023年修订的专利法实施细则规定年费滞纳金怎么算？", ["patent_rules_2023"]),
    ("2010年的专利法实施细则规定年费滞纳金怎么算？", ["patent_rules_2010"]),
    ("专利法实施细则规定年费滞纳金怎么算？", ["patent_rules_2023"]),
    # the version before the one in force, asked for by a word (and a year)
    ("旧版专利法实施细则规定年费滞纳金怎么算？", ["patent_rules_2010"]),
    ("2023年修订前的专利法实施细则规定年费滞纳金怎么算？", ["patent_rules_2010"]),
])
def test_a_document_named_by_its_title_or_an_abbreviation(docs, question, expected):
    info = analyse(question, docs)
    assert info.documents == expected and info.places == expected


@pytest.mark.parametrize("question,expected", [
    # 浙江 has no 专利条例: the words 专利条例 match 山东's title, the place does not
    ("浙江省专利条例第十条规定了什么？", ["zhejiang"]),
    ("浙江省专利条例对专利纠纷怎么处理？", ["zhejiang"]),
    # a province's city named beside its province keeps the city's regulation
    ("淄博市专利管理若干规定对展会有什么要求？", ["zibo"]),
    ("山东淄博的专利管理若干规定对展会有什么要求？", ["zibo"]),
])
def test_a_title_of_another_place_is_not_named_by_its_words(docs, question, expected):
    assert analyse(question, docs).places == expected


ABSENT_TITLE = "绍兴市重大经济科技活动知识产权分析评议管理办法"  # the 绍兴 plan calls for it; no corpus holds it


def test_a_quoted_title_the_corpus_does_not_hold_is_searched_for(docs):
    """A title in 《》 that names no document is no scope, but its words are the key to the
    passages that cite it: kept in the searched content and as a quoted phrase."""
    info = analyse(f"《{ABSENT_TITLE}》什么时候出台？", docs)
    assert info.places == ["shaoxing"] and info.documents == []
    assert info.quoted == [ABSENT_TITLE] and "重大经济科技活动知识产权分析评议管理办法" in info.content_text
    # a title the corpus holds names its document and is left out of the searched words
    held = analyse("《宁波市专利管理条例》对专利纠纷的调解有什么规定？", docs)
    assert held.documents == held.places == ["ningbo_patent"]
    assert held.quoted == [] and "专利管理条例" not in held.content_text


def test_a_follow_up_refers_to_the_document_an_earlier_turn_quoted(docs):
    """这部条例 / 这份实施意见 in a follow-up is the 《…》 of that kind an earlier turn
    quoted: a document of the corpus becomes the scope; one the corpus lacks gives its
    place's documents and its words."""
    held = [{"q": "宁波有专利方面的地方性法规吗？", "a": "有，《宁波市专利管理条例》，2012年施行。"}]
    info = analyse("这部条例对专利纠纷的调解是怎么规定的？", docs, held)
    assert info.places == ["ningbo_patent"] and info.places_from_history and info.quoted == []
    title = "绍兴市加强新时代专利侵权纠纷行政裁决工作的实施意见"
    absent = [{"q": "绍兴要出台哪些配套文件？", "a": f"方案提出制定《{ABSENT_TITLE}》《{title}》。"}]
    info = analyse("这份实施意见由谁负责起草？", docs, absent)
    assert info.places == ["shaoxing"] and info.quoted == [title]
    assert "专利侵权纠纷行政裁决" in info.content_text
    # a document of another kind (这份规划 ≠ 《…条例》) is not what the follow-up refers to
    info = analyse("这份规划里对专利有什么资助？", docs, held)
    assert set(info.places) == NINGBO and info.quoted == []


def test_a_series_number_in_a_title_is_not_a_clause_number(docs):
    info = analyse("最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定第六条（一）说了什么？", docs)
    assert [r.raw for r in info.clause_refs] == ["第六条(一)"]


@pytest.mark.parametrize("question,title", [
    ("Under the Patent Agency Regulations (2018), what must a patent attorney do before practising?",
     "Patent Agency Regulations (2018)"),
    ("What do the Implementing Regulations of the Patent Law say about annual fees paid late?",
     "Implementing Regulations of the Patent Law"),
])
def test_an_english_title_names_its_document_and_is_not_searched_for(docs, question, title):
    """Once an English question's document is known by its English title, the title's
    words (and their glossary terms: 专利代理机构 for "patent agency") would match every
    clause of it alike: the content searched is the rest of the question."""
    info = analyse(question, docs)
    assert len(info.documents) == 1 and info.places == info.documents
    assert title in info.text and title not in info.content_text
    asked = " ".join(question.replace(title, " ").split(",")[-1].split()).strip(" ?")
    assert asked in info.content_text
    if "Agency" in title:
        assert "专利代理机构" in info.text and "专利代理机构" not in info.content_text


def test_identically_titled_documents_of_different_places_stay_apart(docs):
    ningbo = next(d for d in docs if d.id == "ningbo")
    wenzhou = replace(ningbo, id="wenzhou", place="温州市", place_code="", place_level="", aliases=["温州"])
    both = [*docs, wenzhou]
    title = "《关于全面加强知识产权工作的实施意见》"
    assert analyse(f"温州{title}对版权有什么要求？", both).places == ["wenzhou"]
    assert analyse(f"宁波{title}对版权有什么要求？", both).places == ["ningbo"]
    assert set(analyse(f"{title}对版权有什么要求？", both).places) == {"ningbo", "wenzhou"}


# --------------------------------------------------------------------------- clause numbers
@pytest.mark.parametrize("question,steps", [
    ("第十八条", [("article", 18)]),
    ("第二章第十八条", [("zhang", 2), ("article", 18)]),
    ("第十四条第二款", [("article", 14), ("para", 2)]),
    ("第十六条第（一）项", [("article", 16), ("paren", 1)]),
    ("第一百零一条", [("article", 101)]),
    ("第一百二十条之一", [("article", 120), ("sub", 1)]),
    ("第三章", [("zhang", 3)]),
])
def test_clause_references_of_laws(question, steps):
    refs = parse_clause_refs(question)
    assert [list(r.steps) for r in refs] == [steps]


def test_paths_and_references_match_as_a_lawyer_cites():
    ref = parse_clause_refs("第十八条")[0]
    assert ref.matches("第二章 第二节 第十八条", loose=False)
    assert not ref.matches("第二章 第二节 第十八条（一）", loose=False)
    assert not ref.matches("第一条（十八）", loose=False)
    assert ref.matches("四、（十八）")  # a plan's （十八） is what 第十八条 means there
    item = parse_clause_refs("第十四条第一款第（二）项")[0]
    assert item.matches("第三章 第十四条（二）", loose=False)  # items sit in the first paragraph
    assert path_steps("第三章 第十四条（二）") == (("zhang", 3), ("article", 14), ("paren", 2))
    assert path_steps("第十四条第二款") == (("article", 14), ("para", 2))


def _lookup(parsed, question: str, doc: str) -> list[list[str]]:
    clauses = parsed[doc].clauses
    groups = find_clauses(parse_clause_refs(question), [(doc, [c.ordinal for c in clauses], [c.path for c in clauses])])
    by_id = {c.clause_id: c.path for c in clauses}
    return [[by_id[cid] for cid in g] for g in groups]


def test_an_article_is_looked_up_with_its_items_and_only_in_its_document(parsed):
    assert _lookup(parsed, "第十八条", "shandong") == [[
        "第三章 第十八条", "第三章 第十八条（一）", "第三章 第十八条（二）", "第三章 第十八条（三）",
        "第三章 第十八条（四）", "第三章 第十八条（五）", "第三章 第十八条第二款", "第三章 第十八条第三款"]]
    # its paragraphs are one clause (no list in it): the paragraph is found in the article
    assert _lookup(parsed, "第十四条第二款", "shandong") == [["第二章 第十四条"]]
    assert _lookup(parsed, "第十八条第二款", "shandong") == [["第三章 第十八条第二款"]]
    # a plan has no 第X条: its （十七） is what 第十七条 means there, and only that clause
    assert _lookup(parsed, "第十七条", "ningbo") == [["五、（十七）"]]
    # the regulation's 第十七条 is matched exactly, not its items' （十七）
    assert _lookup(parsed, "第十七条", "shandong") == [["第三章 第十七条"]]


@pytest.mark.parametrize("path,parent,under", [
    ("第三章 第十八条（一）", "第三章 第十八条", True), ("第十八条第二款", "第十八条", True),
    ("第十八条之一", "第十八条", False), ("三、（一）10.", "三、（一）1.", False), ("第三章 第一条", "第三章", True),
])
def test_sub_paths(path, parent, under):
    assert is_sub_path(path, parent) is under


# --------------------------------------------------------------------------- end to end, on a real index
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The five plans plus four real laws, built into a real index (USE vectors, FAISS, BM25)."""
    from conftest import pipeline_over_plans_and

    keys = ("guangdong", "agency", "shandong", "ningbo_patent")
    return pipeline_over_plans_and([LAW_FILES[k] for k in keys], tmp_path_factory.mktemp("mixed"))


def _doc_title(pipe, doc_id: str) -> str:
    return next(p.title for p in pipe.retriever.plans if p.id == doc_id)


@pytest.mark.slow
def test_guangdong_question_is_answered_from_the_guangdong_document(mixed):
    reply = mixed.ask("广东的文创企业想把版权成果转化、产业化，省政府可以通过哪些方式给予支持？")
    assert not reply["not_found"]
    assert {_doc_title(mixed, c["doc_id"]) for c in reply["citations"]} == {"广东省版权条例"}


@pytest.mark.slow
def test_ningbo_questions_search_every_ningbo_document(mixed):
    hits, info = mixed.retriever.search_with_info("宁波对专利申请有什么资助？", k=10)
    titles = {_doc_title(mixed, d) for d in info.places}
    assert titles == {"关于全面加强知识产权工作的实施意见", "宁波市专利管理条例"}
    assert hits and {_doc_title(mixed, h.doc_id) for h in hits} <= titles


@pytest.mark.slow
def test_article_of_a_named_regulation_is_not_answered_from_a_plan(mixed):
    reply = mixed.ask("专利代理条例第十四条规定了什么？")
    first = reply["citations"][0]
    assert _doc_title(mixed, first["doc_id"]) == "专利代理条例" and first["path"].endswith("第十四条")


@pytest.mark.slow
def test_a_clause_number_several_documents_have_is_asked_back(mixed):
    reply = mixed.ask("第十四条规定了什么？")
    assert "份文件都有这一条款" in reply["answer"]
    assert len({c["doc_id"] for c in reply["citations"]}) >= 2
    # the documents that have one are counted by the lookup, not by the hits returned
    hits, info = mixed.retriever.search_with_info("第十四条规定了什么？", k=2)
    assert len({h.doc_id for h in hits}) <= 2 < len(info.clause_docs) == len(set(info.clause_docs))
    assert f"有{len(info.clause_docs)}份文件都有这一条款" in reply["answer"]


@pytest.mark.slow
def test_a_quoted_title_the_corpus_lacks_finds_the_clause_that_cites_it(mixed):
    hits, info = mixed.retriever.search_with_info(f"《{ABSENT_TITLE}》由哪个部门负责制定？", k=5)
    assert info.places == ["shaoxing"] and ABSENT_TITLE in hits[0].text


@pytest.mark.slow
@pytest.mark.parametrize("question", ["外国企业在宁波申请专利有什么规定？", "外国人的作品在广东怎样进行版权登记？"])
def test_foreign_is_never_refused_as_a_place(mixed, question):
    reply = mixed.ask(question)
    assert "外国" not in reply["answer"].split("。")[0] or not reply["not_found"]
    assert "没有关于「外国" not in reply["answer"]


# --------------------------------------------------------------------------- a bare article number, laws only
# twelve short laws of laws-ip that have a 第十四条 (checked by hand) and four that have none
LAWS_WITH_14 = [
    "最高人民法院关于技术调查官参与知识产权案件诉讼活动的若干规定(2019-03-18)", "实施国际著作权条约的规定(2020-11-29)",
    "最高人民法院关于审理申请注册的药品相关的专利权纠纷民事案件适用法律若干问题的规定(2021-07-04)",
    "最高人民法院关于知识产权法庭若干问题的规定(2018-12-28)",
    "最高人民法院关于审理涉及驰名商标保护的民事纠纷案件应用法律若干问题的解释(2020-12-29)",
    "最高人民法院关于对诉前停止侵犯专利权行为适用法律问题的若干规定(2001-06-07)",
    "最高人民法院关于诉前停止侵犯注册商标专用权行为和保全证据适用法律问题的解释(2002-01-09)",
    "郑州市专利促进和保护条例(2009-09-01)", "重庆市专利促进与保护条例(2011-11-29)",
    "最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释(2009-12-28)",
    "最高人民法院关于审查知识产权纠纷行为保全案件适用法律若干问题的规定(2018-12-12)", "青岛市专利保护规定(2011-11-25)",
]
LAWS_WITHOUT_14 = [
    "最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复",
    "最高人民法院关于知识产权侵权诉讼中被告以原告滥用权利为由请求赔偿合理开支问题的批复",
    "最高人民法院关于人民法院对注册商标权进行财产保全的解释(2020-12-29)",
    "最高人民法院关于北京、上海、广州知识产权法院案件管辖的规定(2020-12-29)",
]


@pytest.fixture(scope="module")
def laws16(tmp_path_factory):
    """Sixteen real laws of laws-ip (no plans), built into a real index."""
    from conftest import pipeline_over

    return pipeline_over([LAWS / f"{name}.md" for name in LAWS_WITH_14 + LAWS_WITHOUT_14],
                         tmp_path_factory.mktemp("laws16"))


@pytest.mark.slow
def test_a_bare_article_number_counts_every_law_that_has_it(laws16):
    reply = laws16.ask("第十四条规定了什么？")
    cited = {c["doc_id"] for c in reply["citations"]}
    # more laws have a 第十四条 than the reply can list: it counts them all, says how many it lists
    assert 2 <= len(cited) < len(LAWS_WITH_14)
    assert f"有{len(LAWS_WITH_14)}份文件都有这一条款，以下是与问题最相关的{len(cited)}份" in reply["answer"]
    files = {p.id: Path(p.file).stem for p in laws16.retriever.plans}
    assert {files[d] for d in cited} <= set(LAWS_WITH_14)
    assert all(c["path"].endswith("第十四条") for c in reply["citations"])


# --------------------------------------------------------------------------- titles by key words
@pytest.fixture(scope="module")
def all_titles():
    """Every title of the laws collection (tests/data/laws/laws-all-titles.txt), as documents
    with the type their title tells."""
    from assistant.corpus import doc_type_of
    from assistant.routing import DocIndex

    titles = (DATA / "laws-all-titles.txt").read_text(encoding="utf-8").split("\n")
    metas = [PlanMeta(id=f"t{i:04d}", file=f"t{i:04d}.md", title=t, doc_type=doc_type_of(t))
             for i, t in enumerate(titles) if t.strip()]
    return DocIndex(metas)


def _named_titles(index, question: str) -> list[str]:
    by_id = {m.id: m.title for m in index.metas}
    return [by_id[d] for d in index.titles_named(question)]


@pytest.mark.parametrize("question, title", [
    ("专利纠纷司法解释里关于等同特征是怎么说的？", "最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释"),
    ("专利侵权的司法解释对权利要求的解释有什么规定？", "最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释"),
    ("人脸识别司法解释对物业强制刷脸是怎么规定的？",
     "最高人民法院关于审理使用人脸识别技术处理个人信息相关民事案件适用法律若干问题的规定"),
    ("洗钱刑事案件的司法解释怎么认定明知？", "最高人民法院、最高人民检察院关于办理洗钱刑事案件适用法律若干问题的解释"),
    ("商业秘密司法解释对保密措施怎么认定？", "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"),
    ("计算机网络域名纠纷的司法解释怎么认定恶意？", "最高人民法院关于审理涉及计算机网络域名民事纠纷案件适用法律若干问题的解释"),
    # a preposition of basis before the key words is not a word of the title (按照 is in other 规定 titles)
    ("按照商业秘密规定，员工离职后还要保密吗？", "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"),
    ("依据植物新品种的司法解释，侵权赔偿怎么算？", "最高人民法院关于审理侵害植物新品种权纠纷案件具体应用法律问题的若干规定"),
])
def test_a_long_title_is_named_by_its_key_words_and_kind(all_titles, question, title):
    """Key words said right before a word of the document's kind name it, with the few other
    titles of that kind that have them all (its sequel, an amending decision): at most 5."""
    named = _named_titles(all_titles, question)
    assert title in named and len(named) <= 5


def test_key_words_inside_a_longer_title_name_that_title_not_the_law(all_titles):
    # 著作权 of 著作权民事纠纷的司法解释 does not name 著作权法 (which title matching alone did)
    assert _named_titles(all_titles, "著作权民事纠纷的司法解释规定的赔偿数额怎么确定？") == [
        "最高人民法院关于审理著作权民事纠纷案件适用法律若干问题的解释"]
    # a whole title with its series number stays that one document
    assert _named_titles(all_titles, "最高法关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）第二十一条怎么规定？") == [
        "最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）"]


@pytest.mark.parametrize("question", [
    "关于专利的司法解释有哪些？",  # 专利 fits seven interpretations: it identifies none
    "根据刑事案件的司法解释，这种情况怎么处理？",  # 刑事 fits dozens
    "绍兴市知识产权保护和促进条例规定了什么？",  # a title none is (北京市专利保护和促进条例 shares its end)
    "《绍兴市知识产权保护和促进条例》规定了什么？",  # quoted: matched whole or not at all
    "专利侵权有什么规定？",  # 规定 after a question word names no document
])
def test_key_words_that_do_not_identify_a_title_name_none(all_titles, question):
    assert _named_titles(all_titles, question) == []


def _count_rankings(pipe, monkeypatch) -> list[str]:
    """Records each ranking the retriever runs (the real one runs)."""
    calls: list[str] = []
    real = pipe.retriever.rank
    monkeypatch.setattr(pipe.retriever, "rank", lambda query, *a, **kw: calls.append(query) or real(query, *a, **kw))
    return calls


@pytest.mark.slow
def test_one_place_with_several_documents_is_answered_from_its_best_document(mixed, monkeypatch):
    """宁波 has two documents here: the question is about one place, so its answer is not
    spread over the place's documents by a search of each: it is drawn from the document of
    the one weighed ranking's best clause, that document's clauses ranked by a search
    within it (``AskPipeline._home_document_hits``), the other document's hits after."""
    calls = _count_rankings(mixed, monkeypatch)
    r = mixed.retrieve("宁波对专利申请有什么资助？", [])
    assert len(r.info.places) == 2 and len(r.info.place_groups) == 1
    assert len(calls) == 2  # the place's ranking, then its best document's own
    home = r.hits[0].doc_id
    n = sum(1 for h in r.answer_hits if h.doc_id == home)
    assert n and all(h.doc_id == home for h in r.answer_hits[:n])
    assert [h.clause_id for h in r.answer_hits[n:]] == [h.clause_id for h in r.hits if h.doc_id != home]


@pytest.mark.slow
def test_two_places_named_are_each_answered_from_one_search(mixed, monkeypatch):
    calls = _count_rankings(mixed, monkeypatch)
    r = mixed.retrieve("嘉兴和绍兴分别怎样支持知识产权质押融资？", [])
    assert len(r.info.place_groups) == 2
    assert len(calls) == 1
    titles = {_doc_title(mixed, h.doc_id) for h in r.answer_hits}
    assert any("嘉兴" in t for t in titles) and any("绍兴" in t for t in titles), titles


@pytest.mark.parametrize("question, titles", [
    # a title said whole names neither its numbered sequel nor a title sharing its middle words
    ("最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释第十一条规定了什么？",
     ["最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释"]),
    ("《最高人民法院关于诉前停止侵犯注册商标专用权行为和保全证据适用法律问题的解释》第十二条规定了什么？",
     ["最高人民法院关于诉前停止侵犯注册商标专用权行为和保全证据适用法律问题的解释"]),
    ("《最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件具体应用法律若干问题的解释》第五条规定了什么？",
     ["最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件具体应用法律若干问题的解释"]),
    # two titles said whole are both named, a third sharing their words is not
    ("著作权法和专利法有什么不同？", ["中华人民共和国专利法", "中华人民共和国著作权法"]),
    # a short title said on its own beside a longer one that holds it
    ("专利法实施细则和专利法对于强制许可的规定有什么不同？",
     ["中华人民共和国专利法", "中华人民共和国专利法实施细则"]),
    ("专利法实施细则第十条", ["中华人民共和国专利法实施细则"]),
])
def test_a_title_said_whole_names_that_document_alone(all_titles, question, titles):
    assert sorted(_named_titles(all_titles, question)) == sorted(titles)


def test_a_version_whose_header_states_no_issuer_is_still_a_version():
    """保障中小企业款项支付条例 as first issued (2020) has an empty header, so no place; its
    2025 revision is 国务院's (national). Asked by title, the two are one document's
    versions: the one of the year asked for, else the latest, not both answered apart."""
    metas = [parse_document(load_file(DATA / name), PlanMeta(id=name[-14:-4], file=name)).meta for name in (
        "保障中小企业款项支付条例(2020-07-05).md", "保障中小企业款项支付条例(2025-03-17).md")]
    assert [bool(m.place_code or m.place == "全国") for m in metas] == [False, True]
    from assistant.routing import DocIndex
    index = DocIndex(metas)
    assert index.titles_named("保障中小企业款项支付条例第六条规定了什么？") == ["2025-03-17"]
    assert index.titles_named("2020年的保障中小企业款项支付条例第六条规定了什么？") == ["2020-07-05"]
