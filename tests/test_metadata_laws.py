"""Metadata of real laws nobody tuned for (tests/data/laws, header excerpts verbatim from
laws-all): the causes the metadata audit (tools/metadata_audit.py) left last session,
each on a document that has it. Inferred as ingest infers (load → clean → infer_meta),
with no file name to read a date from."""
from __future__ import annotations

from pathlib import Path

from assistant.cleaning import Cleaner
from assistant.corpus import doc_type_of, infer_meta
from assistant.loaders import load_file
from assistant.models import PlanMeta

DATA = Path(__file__).resolve().parent / "data" / "laws"


def meta_of(name: str) -> PlanMeta:
    loaded = load_file(DATA / name)
    text = Cleaner().run(loaded.text, name).text
    return infer_meta(PlanMeta(id="doc", file="doc.md"), text, loaded.title)


def test_a_header_line_broken_across_lines_still_dates_the_version():
    # “2020年7月31日 …《关于修改〈…〉〈浙江省实施〈中华人民共和国村民委” / “的决定》修正”: the
    # 2020 amendment is the version, not the 2012 revision before it
    m = meta_of("浙江省村民委员会选举办法-excerpt.md")
    assert m.date == "2020-07-31"
    assert m.dates["amended"] == ["2004-09-17", "2012-03-31", "2020-07-31"]
    assert m.issuer == "浙江省人民代表大会常务委员会"


def test_two_bodies_on_two_lines_are_both_the_issuer():
    # “1984年4月4日 国务院” / “中央军委发布”
    m = meta_of("武器装备研制设计师系统和行政指挥系统工作条例-excerpt.md")
    assert m.issuer == "国务院、中央军委"
    assert m.place == "全国" and m.place_level == "national"


def test_a_joint_interpretation_is_adopted_when_the_last_body_adopts_it():
    # “2023年1月3日 最高人民法院审判委员会第1878次会议、2023年3月2日最高人民检察院…通过”
    m = meta_of("强奸猥亵未成年人刑事案件解释-excerpt.md")
    assert m.date == "2023-03-02" and m.dates["adopted"] == "2023-03-02"
    assert m.doc_type == "interpretation"


def test_a_document_only_approved_by_the_state_council_is_national():
    # “1993年8月31日 国务院批准” and no line naming who adopted or issued it
    m = meta_of("对外使用国徽图案的办法-excerpt.md")
    assert m.issuer == "国务院"
    assert m.place == "全国" and m.place_level == "national"


def test_a_national_regulation_named_after_an_event_is_not_the_countys():
    # 汶川地震灾后恢复重建条例, by 国务院: 汶川 names the earthquake, not 汶川县
    m = meta_of("汶川地震灾后恢复重建条例-excerpt.md")
    assert m.issuer == "国务院"
    assert m.place == "全国" and m.place_code == ""


def test_a_part_of_a_code_has_the_codes_kind():
    m = meta_of("民法典物权编-excerpt.md")
    assert m.title == "中华人民共和国民法典 物权编"
    assert m.doc_type == "law"
    # the forms the audit found untyped
    assert doc_type_of("交通警察道路执勤执法工作规范") == "rules"
    assert doc_type_of("最高人民法院关于审理名誉权案件若干问题的解答") == "interpretation"
    assert doc_type_of("关于某某问题的解答") == "reply"


def test_a_decree_number_publishes_the_text_and_names_its_issuer():
    # “2017年11月22日 中华人民共和国国务院令第692号”: no event word, the decree published it
    m = meta_of("反间谍法实施细则-excerpt.md")
    assert m.issuer == "国务院"
    assert m.dates == {"promulgated": "2017-11-22"} and m.date == "2017-11-22"
    assert m.place == "全国"
