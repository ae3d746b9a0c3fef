"""How many places a question is about, for the answerer, when a place has several
documents: a city's plan and its regulations are one place, and a district's document
counts as its city's when the city's own are in scope. (嘉兴市南湖保护条例, about a lake
whose name is also a district's, 南湖区, is placed in the city by its issuer.)

A place named only as a destination (…迁到上海) is a word of what is asked, not a place
word, though a document of the index is of that place.

Real documents in a real index (USE vectors, FAISS, BM25): the five plans and two of
嘉兴's local regulations copied verbatim from the laws collection (tests/data/laws), or
上海市专利保护条例 (eval/corpora/laws-ip). The questions are not gold questions."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "laws"
LAWS = ("嘉兴市南湖保护条例.md", "嘉兴市文明行为促进条例(2019-10-09).md", "彭水苗族土家族自治县旅游条例(2019-04-19).md")
CHONGQING = Path(__file__).resolve().parent.parent / "eval" / "corpora" / "laws-ip" / "重庆市专利促进与保护条例(2011-11-29).md"


@pytest.fixture(scope="module")
def jiaxing_and_nanhu(tmp_path_factory):
    """The plans, two 嘉兴 regulations, and a county of 重庆 beside a 重庆市 regulation."""
    from conftest import pipeline_over_plans_and

    return pipeline_over_plans_and([*(DATA / name for name in LAWS), CHONGQING], tmp_path_factory.mktemp("nanhu"))


@pytest.mark.slow
def test_a_county_of_a_municipality_and_the_municipality_are_one_place(jiaxing_and_nanhu):
    """A county lies directly in its municipality (彭水 500243 in 重庆市 500000): its document
    counts as 重庆's beside 重庆市's regulation (the city taken from the code's digits,
    500200, is no division, so they counted as two places)."""
    a = jiaxing_and_nanhu.extractive
    meta = {m.id: m for m in jiaxing_and_nanhu.retriever.plans}
    county = next(d for d in meta if meta[d].title.startswith("彭水"))
    city = next(d for d in meta if meta[d].title.startswith("重庆市"))
    assert (meta[county].place_code, meta[city].place_code) == ("500243", "500000")
    assert a._place_names([county, city]) == {meta[city].place}
    assert len(a._place_names([county, "jiaxing"])) == 2
    assert a._place_names([county]) == {meta[county].place}  # alone, it is its own place


@pytest.mark.slow
def test_a_city_and_a_district_document_of_it_are_one_place(jiaxing_and_nanhu):
    p = jiaxing_and_nanhu
    a = p.extractive
    meta = {m.id: m for m in p.retriever.plans}
    docs = sorted(meta)
    city = [d for d in docs if meta[d].place_code == meta["jiaxing"].place_code]
    inside = [d for d in docs if meta[d].place_code[:4] == meta["jiaxing"].place_code[:4] and d not in city]
    assert len(city) >= 2
    assert a._place_names(city + inside) == {meta["jiaxing"].place}
    assert len(a._place_names(["jiaxing", "haimen"])) == 2  # two cities stay two places
    q = "嘉兴怎样建设知识产权公共服务平台？"
    r = p.retrieve(q, [])
    assert "jiaxing" in r.places and len(r.places) == 3
    assert not a.view(r.query, r.info, r.places).cross
    assert "份文件涉及" not in p.ask(q)["answer"]


@pytest.fixture(scope="module")
def plans_and_shanghai(tmp_path_factory):
    """The five plans and a regulation of 上海 (eval/corpora/laws-ip, verbatim)."""
    from conftest import PROJECT_ROOT, pipeline_over_plans_and

    law = PROJECT_ROOT / "eval" / "corpora" / "laws-ip" / "上海市专利保护条例.md"
    return pipeline_over_plans_and([law], tmp_path_factory.mktemp("shanghai"))


@pytest.mark.slow
def test_a_destination_place_is_a_word_of_the_question_though_a_document_is_of_it(plans_and_shanghai, pipeline):
    """嘉兴's firm moving its lab to 上海 asks 嘉兴's plan about 上海: with a 上海 regulation in
    the index 上海 is a document's place, but here it is what the question is about, not
    its scope, and the answerer keeps it among the question's words (it dropped it as a
    place word, as it does 嘉兴); the plans alone keep it too."""
    q = "嘉兴的企业想把研发中心迁到上海，规划有什么支持？"
    for p in (plans_and_shanghai, pipeline):
        info = p.retriever.analyse(q)
        assert info.places == ["jiaxing"] and info.aside_places == ["上海"]
        keywords = p.extractive.view(q, info, info.places).keywords
        assert "上海" in keywords and "嘉兴" not in keywords
    # a place that is the scope stays a place word
    info = plans_and_shanghai.retriever.analyse("上海对专利侵权有什么规定？")
    assert info.aside_places == [] and "上海" not in plans_and_shanghai.extractive.view(
        "上海对专利侵权有什么规定？", info, info.places).keywords


def test_a_document_whose_place_is_not_known_is_cited_without_an_empty_place(tmp_path):
    """保障中小企业款项支付条例 as first issued has an empty header: no issuer, no place. Its
    citation reads 《…》第六条：, not 《…》第六条（）：, and the English lead 《…》, clause …"""
    from conftest import pipeline_over

    pipeline = pipeline_over([DATA / "保障中小企业款项支付条例(2020-07-05).md"], tmp_path)
    answer = pipeline.ask("保障中小企业款项支付条例第六条规定了什么？")["answer"]
    assert "第六条" in answer and "（）" not in answer and "****" not in answer
    # nor an empty () in the English lead
    english = pipeline.ask("May large enterprises delay paying small and medium-sized enterprises?")["answer"]
    assert english.startswith("According to 《保障中小企业款项支付条例》") and "()" not in english
