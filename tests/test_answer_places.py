"""How many places a question is about, for the answerer, when a place has several
documents: a city's plan and its regulations are one place, even when the metadata puts
one of them in a district of that city (嘉兴市南湖保护条例: its title names 南湖).

Real documents in a real index (USE vectors, FAISS, BM25): the five plans and two of
嘉兴's local regulations copied verbatim from the laws collection (tests/data/laws).
The question is not a gold question."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "laws"
LAWS = ("嘉兴市南湖保护条例.md", "嘉兴市文明行为促进条例(2019-10-09).md")


@pytest.fixture(scope="module")
def jiaxing_and_nanhu(tmp_path_factory):
    from conftest import pipeline_over_plans_and

    return pipeline_over_plans_and([DATA / name for name in LAWS], tmp_path_factory.mktemp("nanhu"))


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
