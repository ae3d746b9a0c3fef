"""The structure parser on real legal texts of every structure style, with hand-checked paths.

Documents come from eval/corpora/laws-ip (verbatim copies of real laws): a chaptered
provincial 条例, a 司法解释 without chapters, a Markdown-headed law with 节, a State
Council regulation as plain text, a provincial 条例 printed to PDF and a city 条例 as
an HTML page. The paths were checked by hand against the source files.
"""
from __future__ import annotations

import re
from pathlib import Path

from assistant.clauses import MAX_CLAUSE_CHARS, ClauseParser
from assistant.cleaning import Cleaner
from assistant.ingest import parse_document
from assistant.loaders import load_file, markdown_to_text
from assistant.models import PlanMeta

LAWS = Path(__file__).resolve().parent.parent / "eval" / "corpora" / "laws-ip"
SHANDONG = "山东省专利条例(2013-08-01).md"
SECRETS = "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10).md"
COPYRIGHT = "著作权法(2020-11-11).md"
AGENCY = "专利代理条例(2018-11-06).md"
GUANGDONG = "广东省版权条例(2022-09-29).md"
LUOYANG = "洛阳市专利促进与保护条例(2013-01-15).md"
TRADEMARK = "商标法(2019-04-23).md"


def parse_path(path: Path):
    loaded = load_file(path)
    return parse_document(loaded, PlanMeta(id="doc", file=path.name))


def by_path(doc) -> dict:
    out = {}
    for c in doc.clauses:
        assert c.path not in out, f"two clauses with path {c.path}"
        out[c.path] = c
    return out


def children(doc, parent_path: str) -> list[str]:
    return [c.path for c in doc.clauses if c.parent_paths and c.parent_paths[-1] == parent_path]


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


# --------------------------------------------------------------------------- the real documents
def test_chaptered_provincial_regulation():
    doc = parse_path(LAWS / SHANDONG)
    paths = by_path(doc)
    assert [c.path for c in doc.clauses[:4]] == ["题注", "第一章", "第一章 第一条", "第一章 第二条"]
    assert paths["第一章"].heading == "总则" and paths["第三章"].heading == "专利保护"
    art = paths["第三章 第十八条"]
    assert art.text == "第十八条 请求专利行政部门处理专利侵权纠纷的，应当符合下列条件："
    assert art.parent_paths == ["第三章"] and art.level == "article"
    # the items, then the article's two paragraphs after them: 款 by count (the items
    # belong to the first paragraph, which introduces them)
    assert children(doc, "第三章 第十八条") == [
        "第三章 第十八条（一）", "第三章 第十八条（二）", "第三章 第十八条（三）", "第三章 第十八条（四）",
        "第三章 第十八条（五）", "第三章 第十八条第二款", "第三章 第十八条第三款",
    ]
    assert paths["第三章 第十八条（五）"].text == "（五）专利侵权纠纷未进入诉讼程序。"
    assert paths["第三章 第十八条第二款"].text.startswith("经审查认为不符合受理条件的，不予受理")
    assert paths["第三章 第十八条第三款"].text.startswith("对已驳回请求或者作出处理决定的")
    # an item never swallows the next article
    assert paths["第三章 第十九条"].parent_paths == ["第三章"]
    # every article, numbered through the chapters without a gap
    articles = [c for c in doc.clauses if c.level == "article"]
    assert [c.number for c in articles][:3] == ["第一条", "第二条", "第三条"]
    assert len(articles) == len(re.findall(r"^第\S+?条 ", (LAWS / SHANDONG).read_text(encoding="utf-8"), re.M)) == 56
    assert doc.quality.gaps == [] and doc.quality.repeats == []
    assert doc.quality.numbered_share == 1.0


def test_judicial_interpretation_without_chapters():
    doc = parse_path(LAWS / SECRETS)
    paths = by_path(doc)
    assert [c.path for c in doc.clauses[:3]] == ["题注", "序言", "第一条"]
    assert paths["序言"].text.startswith("为正确审理侵犯商业秘密民事案件")
    assert paths["第一条"].parent_paths == []
    assert children(doc, "第六条") == [f"第六条（{n}）" for n in "一二三四五六七"]
    assert paths["第六条（四）"].text.startswith("（四）以标记、分类、隔离、加密、封存")
    # 第四条's paragraph after its items is 第四条第二款, not part of item （五）
    assert children(doc, "第四条")[-1] == "第四条第二款"
    assert paths["第四条第二款"].text.startswith("将为公众所知悉的信息进行整理")
    assert paths["第四条（五）"].text.endswith("获得该信息的。")


def test_markdown_law_with_sections():
    doc = parse_path(LAWS / COPYRIGHT)
    paths = by_path(doc)
    assert paths["第二章 第一节"].heading == "著作权人及其权利"
    assert paths["第二章 第二节 第十八条"].parent_paths == ["第二章", "第二章 第二节"]
    assert children(doc, "第二章 第二节 第十八条") == [f"第二章 第二节 第十八条（{n}）" for n in "一二三"]
    assert paths["第二章 第二节 第十八条（二）"].text == "（二）报社、期刊社、通讯社、广播电台、电视台的工作人员创作的职务作品；"
    # the article's own text holds both paragraphs before its list
    assert "有下列情形之一的职务作品" in paths["第二章 第二节 第十八条"].text
    # seventeen rights, then the two paragraphs after them: the text itself calls the
    # last one's subject “本条第一款第五项至第十七项”, so the list is in 第一款
    assert children(doc, "第二章 第一节 第十条")[-3:] == [
        "第二章 第一节 第十条（十七）", "第二章 第一节 第十条第二款", "第二章 第一节 第十条第三款"]
    assert "第四章 第一节 第三十五条" in paths
    # Markdown marks are not text: no clause starts with #
    assert not any(c.text.startswith("#") for c in doc.clauses)


def test_state_council_regulation_as_plain_text(tmp_path):
    """The same regulation as a .txt with plain heading lines parses to the same paths."""
    md = (LAWS / AGENCY).read_text(encoding="utf-8")
    text, title = markdown_to_text(md)
    plain = re.sub(r"^#+\s*", "", text, flags=re.M)
    (tmp_path / "agency.txt").write_text(plain, encoding="utf-8")
    from_txt = parse_path(tmp_path / "agency.txt")
    from_md = parse_path(LAWS / AGENCY)
    assert [c.path for c in from_txt.clauses] == [c.path for c in from_md.clauses]
    paths = by_path(from_txt)
    assert paths["第二章 第十二条"].text.startswith("第十二条 专利代理师首次执业")
    assert paths["第三章 第二十二条"].parent_paths == ["第三章"]


def _excerpt(name: str, first: str, last: str) -> str:
    """The lines of a law from the chapter heading ``first`` to the line before ``last``."""
    text, title = markdown_to_text((LAWS / name).read_text(encoding="utf-8"))
    start = text.index(first)
    return title + "\n" + text[start:text.index(last, start)]


def test_provincial_regulation_as_pdf(tmp_path):
    from tests.test_pdf_roundtrip import build_plan_pdf

    excerpt = _excerpt(GUANGDONG, "## 第三章", "## 第五章")
    plain = re.sub(r"^#+\s*", "", excerpt, flags=re.M)
    (tmp_path / "gd.pdf").write_bytes(build_plan_pdf(plain))
    doc = parse_path(tmp_path / "gd.pdf")
    assert doc.source.fmt == "pdf"
    paths = by_path(doc)
    assert paths["第三章"].heading == "版权保护" and paths["第四章"].heading == "版权管理与服务"
    assert squash(paths["第三章 第二十二条"].text).startswith("第二十二条网络服务提供者应当依法履行版权保护主体责任")
    assert squash(paths["第三章 第二十二条"].text).endswith("快速处理版权纠纷。")
    assert paths["第三章 第二十三条"].parent_paths == ["第三章"]
    assert [c.path for c in doc.clauses if c.level == "chapter"] == ["第三章", "第四章"]
    assert doc.quality.gaps == []


def test_city_regulation_as_html(tmp_path):
    excerpt = _excerpt(LUOYANG, "## 第三章", "## 第四章")
    lines = [ln for ln in excerpt.split("\n") if ln.strip()]
    body = [f"<h1>{lines[0]}</h1>"] + [
        f"<h2>{ln.lstrip('# ')}</h2>" if ln.startswith("#") else f"<p>{ln}</p>" for ln in lines[1:]
    ]
    html = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>洛阳</title></head><body>"
            "<div class='nav'>首页 &gt; 法规</div>" + "".join(body) + "</body></html>")
    (tmp_path / "luoyang.html").write_text(html, encoding="utf-8")
    doc = parse_path(tmp_path / "luoyang.html")
    assert doc.source.fmt == "html"
    paths = by_path(doc)
    assert children(doc, "第三章 第二十条") == [f"第三章 第二十条（{n}）" for n in "一二三四五六"] + ["第三章 第二十条第二款"]
    assert paths["第三章 第二十条（五）"].text == "（五）对有证据证明是假冒专利的产品，可以查封或者扣押；"
    assert paths["第三章 第二十一条"].parent_paths == ["第三章"]


# --------------------------------------------------------------------------- the mechanism, on small real pieces
def parse_text(text: str):
    return ClauseParser().parse_result(text, PlanMeta(id="t", file="t.txt", title="t"))


def test_item_list_written_inline_in_one_line():
    # 著作权法 第三条 as one line (how HTML pages without paragraph tags deliver it)
    text = ("第三条 本法所称的作品，是指文学、艺术和科学领域内具有独创性并能以一定形式表现的智力成果，包括：（一）文字作品；"
            "（二）口述作品；（三）音乐、戏剧、曲艺、舞蹈、杂技艺术作品；（四）美术、建筑作品。\n"
            "第四条 著作权人和与著作权有关的权利人行使权利，不得违反宪法和法律，不得损害公共利益。")
    r = parse_text(text)
    assert [c.path for c in r.clauses] == ["第三条", "第三条（一）", "第三条（二）", "第三条（三）", "第三条（四）", "第四条"]
    assert r.clauses[2].text == "（二）口述作品；"
    assert r.clauses[-1].parent_paths == []


def test_references_open_no_clause():
    text = ("第十四条 驰名商标应当根据当事人的请求，作为处理涉及商标案件需要认定的事实进行认定。\n"
            "在商标注册审查过程中，当事人依照本法第十三条规定主张权利的，商标局可以对商标驰名情况作出认定。\n"
            "第十三条规定的情形，依照前款处理。\n"
            "第十五条 未经授权，代理人以自己的名义将被代理人的商标进行注册的，不予注册并禁止使用。")
    r = parse_text(text)
    assert [c.path for c in r.clauses] == ["第十四条", "第十五条"]
    assert "第十三条规定的情形" in r.clauses[0].text
    assert r.gaps == [] and r.repeats == []


def test_chapters_start_again_in_each_part_while_articles_run_on():
    # 刑法 (laws-all.tar.xz), verbatim: 第二编 分则 numbers its chapters from 第一章
    # again while its articles go on from the 总则's; neither is a repeat nor a gap
    md = ("## 第一编 总则\n\n### 第五章 其他规定\n\n"
          "第一百零一条 本法总则适用于其他有刑罚规定的法律，但是其他法律有特别规定的除外。\n\n"
          "## 第二编 分则\n\n### 第一章 危害国家安全罪\n\n"
          "第一百零二条 勾结外国，危害中华人民共和国的主权、领土完整和安全的，处无期徒刑或者十年以上有期徒刑。\n\n"
          "与境外机构、组织、个人相勾结，犯前款罪的，依照前款的规定处罚。\n\n"
          "### 第二章 危害公共安全罪\n\n"
          "第一百一十四条 放火、决水、爆炸以及投放毒害性、放射性、传染病病原体等物质或者以其他危险方法"
          "危害公共安全，尚未造成严重后果的，处三年以上十年以下有期徒刑。\n")
    r = parse_text(markdown_to_text(md)[0])
    assert [c.path for c in r.clauses] == [
        "第一编", "第一编 第五章", "第一编 第五章 第一百零一条",
        "第二编", "第二编 第一章", "第二编 第一章 第一百零二条",
        "第二编 第二章", "第二编 第二章 第一百一十四条"]
    assert r.repeats == []
    assert r.gaps == ["第一百一十四条 after 第一百零二条 (11 missing)"]  # the excerpt leaves them out


def test_inserted_articles_gaps_and_repeats_are_reported():
    # 刑法 numbers articles added by amendments 第X条之一
    text = ("第一百二十条 组织、领导恐怖活动组织的，处十年以上有期徒刑或者无期徒刑。\n"
            "第一百二十条之一 资助恐怖活动组织的，处五年以下有期徒刑。\n"
            "第一百二十二条 以暴力、胁迫或者其他方法劫持船只、汽车的，处五年以上十年以下有期徒刑。\n"
            "第一百二十二条 重复的条号。\n")
    r = parse_text(text)
    assert [c.path for c in r.clauses] == ["第一百二十条", "第一百二十条之一", "第一百二十二条", "第一百二十二条"]
    assert r.gaps == ["第一百二十二条 after 第一百二十条之一"]
    assert r.repeats == ["第一百二十二条 again"]


def test_plan_styles_nest_by_what_is_open():
    text = ("某市知识产权工作方案\n一、总体要求\n（一）指导思想\n坚持创新引领。\n二、重点任务\n（一）强化保护\n"
            "1.完善机制。健全快速维权机制。\n2.加强执法。开展专项行动。\n（二）促进运用\n3.推进质押融资。\n"
            "专栏1 知识产权质押融资工程\n建设服务平台。\n三、保障措施\n加强组织领导。")
    r = parse_text(text)
    assert [c.path for c in r.clauses] == [
        "前言", "一、", "一、（一）", "二、", "二、（一）", "二、（一）1.", "二、（一）2.", "二、（二）",
        "二、（二）3.", "二、（二）3.专栏1", "三、"]


def test_markdown_headings_without_numbers_are_nodes():
    text = "## 基本案情\n原告诉称被告侵权。\n## 裁判结果\n一、被告停止侵权。\n二、被告赔偿损失。"
    r = parse_text(text)
    assert [c.path for c in r.clauses] == ["基本案情", "裁判结果", "裁判结果 一、", "裁判结果 二、"]
    assert r.clauses[0].text == "基本案情\n原告诉称被告侵权。"


def test_long_article_is_split_at_paragraphs_and_said_so():
    para = "当事人应当按照约定履行义务。" * 70  # 980 characters
    text = "第一条 " + "\n".join([para] * 5) + "\n第二条 本条例自公布之日起施行。"
    r = parse_text(text)
    # paragraphs packed up to the limit: the article keeps 款 1-3, one piece holds 款 4-5
    assert [c.path for c in r.clauses] == ["第一条", "第一条第四款至第五款", "第二条"]
    assert all(len(c.text) <= MAX_CLAUSE_CHARS for c in r.clauses)
    assert r.split == ["第一条"] and any("split into 2 pieces" in w for w in r.warnings)


def test_long_article_pieces_are_packed_paragraphs_a_lookup_finds():
    """A real article of seven paragraphs kept as one clause (商标法实施条例 第十三条, 488
    characters) parsed with a limit of 200: each piece holds as many whole paragraphs as
    fit and says which (第三款至第四款), nothing is lost, and a paragraph asked for by
    number is found in the piece that holds it."""
    from assistant.lookup import find_clauses
    from assistant.query import parse_clause_refs

    path = LAWS / "商标法实施条例(2014-04-29).md"
    meta = PlanMeta(id="tm", file=path.name)
    whole = by_path(parse_document(load_file(path), meta))["第二章 第十三条"].text
    text = Cleaner().run(load_file(path).text, "tm").text
    pieces = [c for c in ClauseParser(max_clause_chars=200).parse(text, meta) if c.path.startswith("第二章 第十三条")]
    assert [c.path for c in pieces] == ["第二章 第十三条", "第二章 第十三条第三款至第四款",
                                        "第二章 第十三条第五款至第六款", "第二章 第十三条第七款"]
    assert pieces[1].text.startswith("以三维标志申请商标注册的") and pieces[3].text == "商标为外文或者包含外文的，应当说明含义。"
    assert all(len(c.text) <= 200 for c in pieces) and "\n".join(c.text for c in pieces) == whole
    table = [("tm", [c.ordinal for c in pieces], [c.path for c in pieces])]
    assert find_clauses(parse_clause_refs("第十三条第四款"), table) == [[f"tm#{pieces[1].ordinal}"]]
    assert find_clauses(parse_clause_refs("第十三条第七款"), table) == [[f"tm#{pieces[3].ordinal}"]]
    # the article itself: with every piece under it
    assert find_clauses(parse_clause_refs("第十三条"), table) == [[f"tm#{c.ordinal}" for c in pieces]]


def test_one_huge_line_is_cut_into_bounded_pieces_without_losing_text():
    sentence = "本规定所称知识产权包括专利权、商标专用权和著作权。"
    text = sentence * 80_000 + "无标点的尾巴" * 1_000  # 2.2 million characters on one line
    r = parse_text(text)
    assert all(len(c.text) <= MAX_CLAUSE_CHARS for c in r.clauses)
    assert "".join(c.text for c in r.clauses) == text
    assert r.clauses[0].path == "前言" and r.clauses[1].path == "前言（续2）"


def test_parse_quality_flags_a_document_it_does_not_understand():
    from assistant.parse_quality import measure

    text = "关于某事的说明\n" + "这是一段没有任何条款编号的正文，讲述了事情的经过。" * 40
    q = measure(parse_text(text), text)
    assert q.numbered_share == 0.0 and "looks unparsed" in q.warning
    law = (LAWS / TRADEMARK).read_text(encoding="utf-8")
    doc = parse_path(LAWS / TRADEMARK)
    assert doc.quality.numbered_share == 1.0 and not doc.quality.warning
    assert doc.quality.longest_clause == max(len(c.text) for c in doc.clauses)
    assert "第七十三条" in law


def test_every_law_in_the_development_corpus_parses_well():
    """The Done-when figures of issue 8 on the 63 documents of laws-ip."""
    body = numbered = 0
    for path in sorted(LAWS.glob("*.md")):
        doc = parse_path(path)
        assert doc.quality.longest_clause <= MAX_CLAUSE_CHARS, path.name
        assert not doc.quality.gaps, (path.name, doc.quality.gaps)
        body += doc.quality.body_chars
        numbered += doc.quality.numbered_chars
    assert numbered / body >= 0.99


def test_quality_scan_reads_a_tar_archive_and_reports_every_document(tmp_path):
    """``ingest --quality-scan`` over an archive of real laws plus a front-matter-only page
    (as the laws collection has): every document parsed or reported, none crashes."""
    import json
    import subprocess
    import sys
    import tarfile

    archive = tmp_path / "laws.tar.xz"
    index = tmp_path / "_index.md"
    index.write_text("---\nbookCollapseSection: true\n---\n", encoding="utf-8")
    with tarfile.open(archive, "w:xz") as tf:
        for name in (SHANDONG, SECRETS, COPYRIGHT):
            tf.add(LAWS / name, arcname=f"laws/{name}")
        tf.add(index, arcname="laws/_index.md")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest", "--quality-scan", str(archive), "--json"],
                         cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["documents"] == 4 and summary["parsed"] == 3 and summary["crashed"] == []
    assert summary["not_loaded"][0]["name"] == "laws/_index.md"
    assert summary["numbered_share"]["aggregate"] >= 0.99 and summary["longest_clause"]["max"] <= MAX_CLAUSE_CHARS


DATA = Path(__file__).resolve().parent / "data" / "laws"


def test_markdown_pipe_table_rows_are_clauses():
    """罪名补充规定（六）: the body is a pipe table (刑法条文 | 罪名); each row is a clause
    quoted as written, with its columns as fields; the 第X条 in its cells open nothing;
    the closing sentence after the table is kept."""
    doc = parse_path(DATA / "罪名补充规定（六）-excerpt.md")
    assert [c.path for c in doc.clauses] == ["前言", "表", "表 第1项", "表 第2项", "表 第3项", "表 第4项", "（续）"]
    paths = by_path(doc)
    row = paths["表 第2项"]
    assert row.text == "| 第一百二十条之二（《刑法修正案（九）》第七条） |准备实施恐怖活动罪 |"  # cleaned: no space before （
    assert row.fields == {"刑法条文": "第一百二十条之二（《刑法修正案（九）》第七条）", "罪名": "准备实施恐怖活动罪"}
    assert row.parent_paths == ["表"] and row.level == "table_row"
    assert paths["表 第4项"].fields["罪名"].startswith("非法批准征收、征用、占用土地罪")
    assert paths["（续）"].text == "本规定自2015年11月1日起施行。"
    assert paths["前言"].text.endswith("作如下补充、修改：")
    assert doc.quality.numbered_share > 0.5  # it was 0 (one 前言); the whole document: 0.91


def test_a_decision_followed_by_the_text_it_republishes_keeps_the_articles_apart():
    """最高人民法院关于审理专利纠纷案件适用法律问题的若干规定(2015): ten amending items 一、…十、,
    “根据本决定…重新公布。”, the re-published title, its preamble, then 第一条…: the articles
    are the document's own, not items of 十、."""
    doc = parse_path(LAWS / "最高人民法院关于审理专利纠纷案件适用法律问题的若干规定(2015-01-29).md")
    paths = by_path(doc)
    assert [c.path for c in doc.clauses[:2]] == ["题注", "序言"]
    assert [c.path for c in doc.clauses[11:15]] == ["九、", "十、", "序言（二）", "第一条"]
    assert not any(c.path.startswith("十、 ") or "十、" in c.parent_paths for c in doc.clauses)
    assert squash(paths["十、"].text).endswith("根据本决定，将《最高人民法院关于审理专利纠纷案件适用法律问题的若干规定》作相应修改，重新公布。")
    republished = paths["序言（二）"]
    assert squash(republished.text).startswith("最高人民法院关于审理专利纠纷案件适用法律问题的若干规定为了正确审理专利纠纷案件")
    art = paths["第二十四条"]
    assert art.parent_paths == [] and art.text.startswith("第二十四条 专利法第十一条、第六十九条所称的许诺销售")
    assert children(doc, "第一条")[:2] == ["第一条1.", "第一条2."]


def test_articles_under_the_first_item_of_a_list_stay_under_it():
    """军队企业纠纷规定: 一、 is a section heading whose articles follow it: 一、 第一条."""
    doc = parse_path(DATA / "军队企业纠纷规定-excerpt.md")
    assert [c.path for c in doc.clauses] == ["题注", "序言", "一、", "一、 第一条", "一、 第二条", "一、 第三条"]


def test_a_case_write_up_is_read_by_its_named_parts():
    """A court case write-up has no numbering: its parts are named headings (关键词, 裁判要点,
    基本案情 …), which a reader cites by name; the parse report does not call it unparsed."""
    doc = parse_path(DATA / "张莉诉合力华通案-excerpt.md")
    assert [c.path for c in doc.clauses] == ["前言", "张莉诉北京合力华通汽车服务有限公司买卖合同纠纷案", "关键词", "裁判要点",
                                            "裁判要点 一、", "裁判要点 二、", "基本案情"]
    assert by_path(doc)["关键词"].text == "关键词\n民事、买卖合同、欺诈、家用汽车。"
    assert doc.quality.numbered_share > 0.9 and not doc.quality.warning


def test_a_pipe_cell_followed_by_empty_bars_spans_those_columns():
    """``||`` (MultiMarkdown): the cell before extends over the next column; its field is
    named by all the columns it fills, so no figure is filed under one column by guess."""
    from assistant.cleaning import Cleaner
    from assistant.clauses import ClauseParser

    text = ("一、主要指标\n表1 指标\n| 指标 | 2015年 | 2020年目标 | 2020年 | |\n|---|---|---|---|---|\n"
            "| 技术市场成交额(亿元) | 11.520100 ||| 完成 |\n| 结案率(%) | 95% | 95% | 95% | 完成 |\n二、任务\n（一）其他。\n")
    clauses = ClauseParser().parse(Cleaner().run(text, "doc").text, PlanMeta(id="doc", file="doc.md"))
    rows = [c for c in clauses if c.level == "table_row"]
    assert [c.fields for c in rows] == [
        {"指标": "技术市场成交额(亿元)", "2015年／2020年目标／2020年": "11.520100"},
        {"指标": "结案率(%)", "2015年": "95%", "2020年目标": "95%", "2020年": "95%"}]
    assert rows[0].text == "| 技术市场成交额(亿元) | 11.520100 ||| 完成 |"
