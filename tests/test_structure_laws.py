"""Clause structure of real documents nobody tuned for (tests/data/laws, verbatim from
laws-all): the causes the structure audit (tools/structure_audit.py) found, each on a
document that has it. Parsed as ingest parses (load → clean → parse)."""
from __future__ import annotations

from pathlib import Path

from assistant.cleaning import Cleaner
from assistant.ingest import parse_document
from assistant.loaders import load_file
from assistant.models import PlanMeta

DATA = Path(__file__).resolve().parent / "data" / "laws"


def parse(name: str):
    return parse_document(load_file(DATA / name), PlanMeta(id="doc", file=name))


def paths(doc) -> list[str]:
    return [c.path for c in doc.clauses]


def clause(doc, path: str):
    found = [c for c in doc.clauses if c.path == path]
    assert len(found) == 1, (path, len(found))
    return found[0]


def test_sections_stay_in_their_chapter_whatever_the_markdown_depth():
    # the chapters are ### headings and their sections ## (one # fewer): the ranks'
    # order (章 above 节) holds, so 第一节 is the third chapter's
    doc = parse("上海市人民代表大会常务委员会规范性文件备案审查条例(2021-05-21).md")
    assert clause(doc, "第三章 第一节 第十三条").parent_paths == ["第三章", "第三章 第一节"]
    assert not [p for p in paths(doc) if p.startswith("第一节")]
    assert len(paths(doc)) == len(set(paths(doc)))


def test_a_table_of_contents_is_one_part_not_a_second_set_of_chapters():
    # the six chapter headings listed before the text, then the text's own chapters
    doc = parse("北京市献血条例(2021-11-26).md")
    ps = paths(doc)
    assert len(ps) == len(set(ps)), [p for p in ps if ps.count(p) > 1]
    toc = clause(doc, "目录")
    assert toc.text.split("\n") == ["第一章 总则", "第二章 献血服务与激励", "第三章 献血宣传与动员",
                                    "第四章 采供血与用血管理", "第五章 法律责任", "第六章 附则"]
    assert clause(doc, "第一章 第一条").parent_paths == ["第一章"]
    assert clause(doc, "第一章").text == "第一章 总则"


def test_items_whose_first_markers_the_source_lost_stay_in_their_article():
    # 第二十一条: the lead-in “…建立湿地自然保护区：”, one item line without its （一）,
    # then （二）…（五）, then a paragraph of the article
    doc = parse("广东省湿地保护条例(2022-11-30).md")
    art = "第三章 第二十一条"
    under = [c.path for c in doc.clauses if c.parent_paths[-1:] == [art]]
    assert under == [f"{art}（{n}）" for n in "一二三四五"] + [f"{art}第二款"]
    assert clause(doc, f"{art}（一）").text == "有代表性的自然生态系统湿地；"
    assert clause(doc, art).text.endswith("建立湿地自然保护区：")
    assert clause(doc, f"{art}第二款").text.startswith("湿地自然保护区的建立和管理")


def test_an_item_that_lost_its_marker_in_the_middle_of_a_list():
    # 第十六条 （一）…（四）, an item line without （五）, （六）
    doc = parse("洛阳市公园和广场管理条例(2021-08-30).md")
    under = [c.path for c in doc.clauses if c.parent_paths[-1:] == ["第十六条"]]
    assert under == [f"第十六条（{n}）" for n in "一二三四五六"]
    assert clause(doc, "第十六条（五）").text.startswith("物品摆放整齐")
    assert clause(doc, "第十六条（六）").text == "（六）符合安全规范。"


def test_an_articles_items_are_its_own_under_a_list_of_sections():
    # a judicial interpretation in parts 三、 and sections （一）（二）… holding articles:
    # 第四十五条's （一）…（三） are its items, not the part's next sections
    doc = parse("最高人民法院关于适用《民法典》有关担保制度的解释(2020-12-31).md")
    art = "三、（一） 第四十五条"
    assert [c.path for c in doc.clauses if c.parent_paths[-1:] == [art]] == [
        f"{art}（一）", f"{art}（二）", f"{art}（三）", f"{art}第三款"]
    assert clause(doc, "三、（二）").text == "（二）不动产抵押"
    assert clause(doc, "三、（二） 第五十一条").parent_paths == ["三、", "三、（二）"]
    assert clause(doc, "三、（三）").text == "（三）动产与权利担保"


def test_articles_run_on_after_a_sentence_end_start_their_own_lines():
    # line breaks lost: “…制定本规则。 第二条 凡辖有…。 第八条 与飞行有关…”
    raw = (DATA / "飞行基本规则-excerpt.md").read_text(encoding="utf-8")
    assert "制定本规则。 第二条 凡辖有" in raw
    clean = Cleaner().run(raw, "x").text
    assert "制定本规则。\n第二条 凡辖有" in clean
    doc = parse("飞行基本规则-excerpt.md")
    assert [p for p in paths(doc) if p.startswith("第一章 ")] == [
        f"第一章 第{n}条" for n in "一二三四五六七八九"] + ["第一章 第十条"]
    assert clause(doc, "第一章 第八条").text.startswith("第八条 与飞行有关的所有单位")


def test_attachments_the_text_numbers_keep_their_numbers():
    doc = parse("最高人民法院关于办理行政申请再审案件若干问题的规定(2021-03-25).md")
    attachments = [c for c in doc.clauses if c.level == "attachment"]
    assert [c.path for c in attachments] == ["附件1", "附件2", "附件3"]
    assert attachments[1].text.startswith("附件2\n中华人民共和国最高人民法院")


def test_an_attachment_line_with_a_colon_starts_the_attachment():
    # “附：” then a list 一、二、三、 of its own (## 一、 a Markdown heading): the list is the
    # attachment's, not a second 一、二、三、 beside the text's own
    doc = parse("最高人民法院关于内地与香港特别行政区相互执行仲裁裁决的安排(2000-01-24).md")
    ps = paths(doc)
    assert len(ps) == len(set(ps)), [p for p in ps if ps.count(p) > 1]
    assert clause(doc, "附件").text.startswith("附：\n内地仲裁委员会名单")
    assert [p for p in ps if p.startswith("附件") and p.endswith("、")] == ["附件一、", "附件二、", "附件三、"]
    assert clause(doc, "十一、").text.startswith("十一、本安排在执行过程中")
    # an amending 解释's 一、二、三、 then “附：” and the text as amended, 第一条…: its articles
    doc = parse("关于审理非法行医刑事案件具体应用法律若干问题的解释(2016-12-16).md")
    ps = paths(doc)
    assert ps[:5] == ["题注", "一、", "二、", "三、", "附件"]
    assert clause(doc, "附件 第一条").parent_paths == ["附件"]
    assert not [p for p in ps if p.startswith("第")]


def test_items_run_on_after_a_half_width_semicolon_and_spaces():
    # “(一)未造成古树名木损伤的,给予警告或五十元以下罚款;  (二)已造成…”: the source lost
    # the line break, the spaces after “;” stand for it
    doc = parse("青岛市古树名木保护管理办法(2020-03-26).md")
    items = [p for p in paths(doc) if p.startswith("第十五条（")]
    assert items == ["第十五条（一）", "第十五条（二）", "第十五条（三）"]
    assert clause(doc, "第十五条（二）").text.startswith("(二)已造成古树名木损伤的")
