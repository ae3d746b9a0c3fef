"""Property: parsing never loses, duplicates or reorders text.

Every character of a document's clean text (whitespace and Markdown heading marks
aside) is in exactly one clause's own text, in document order, and no clause is
longer than the limit. Checked on every document of eval/corpora/laws-ip and, with
hypothesis, on random mutations of them: lines deleted, repeated, swapped, joined or
split; clause markers, Markdown headings and arbitrary Unicode inserted.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.cleaning import Cleaner
from assistant.clauses import MAX_CLAUSE_CHARS, ClauseParser
from assistant.loaders import load_file
from assistant.models import PlanMeta

LAWS = Path(__file__).resolve().parent.parent / "eval" / "corpora" / "laws-ip"
DOCS = sorted(LAWS.glob("*.md"))
MD_MARKS_RE = re.compile(r"^#{1,6}[ \t\u3000]+(?=\S)", re.M)
# what a mutation may insert: markers of every style, in and out of sequence
MARKERS = ["第一条 ", "第十条 ", "第三百条之二 ", "第一章 总则", "第二节 ", "第一编 ", "（一）", "（二）", "（十）",
           "一、", "二、", "1.", "2．", "（1）", "①", "专栏1", "表1 ", "附件", "## ", "### 第二章 ", "# 标题",
           "：", "。", "；", "\n", "\u3000", "【立法目的】"]


@lru_cache(maxsize=None)
def clean(path: Path) -> str:
    return Cleaner().run(load_file(path).text, "doc").text


def parse(text: str):
    return ClauseParser().parse(text, PlanMeta(id="doc", file="doc.md", title="doc"))


def visible(text: str) -> str:
    return re.sub(r"\s+", "", MD_MARKS_RE.sub("", text))


def check(text: str) -> None:
    clauses = parse(text)
    assert "".join(re.sub(r"\s+", "", c.text) for c in clauses) == visible(text)
    assert [c.ordinal for c in clauses] == list(range(len(clauses)))
    assert all(len(c.text) <= MAX_CLAUSE_CHARS for c in clauses)
    starts = [c.span[0] for c in clauses]
    assert starts == sorted(starts)


@pytest.mark.parametrize("path", DOCS, ids=[p.stem[:30] for p in DOCS])
def test_every_development_law_parses_without_losing_text(path):
    check(clean(path))


@st.composite
def mutated_law(draw):
    lines = clean(draw(st.sampled_from(DOCS))).split("\n")
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["delete", "repeat", "swap", "join", "split", "marker", "unicode"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "join" and i + 1 < len(lines):
            lines[i:i + 2] = [lines[i] + lines[i + 1]]
        elif op == "split" and lines[i]:
            k = draw(st.integers(0, len(lines[i])))
            lines[i:i + 1] = [lines[i][:k], lines[i][k:]]
        elif op in ("marker", "unicode"):
            piece = draw(st.sampled_from(MARKERS)) if op == "marker" else draw(st.text(max_size=12))
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + piece + lines[i][k:]
    return "\n".join(lines)


# Counterexamples hypothesis found, cut down to what each needs; checked on every run:
# a caption 「表1 」 before a 第二条 it hides (an inset 表N was closed like a table whose
# rows were read: 第一条's text came out twice, as 第一条 and as 序言);
CAPTION_BEFORE_ARTICLE = ("第一条\n 原告以他人注册商标提起诉讼的，人民法院应当受理。\n"
                          "原告以他人使用的注册商标为由起诉的，人民法院应当受理。\n"
                          "表1 第二条 原告以他人企业名称为由提起诉讼的，人民法院应当受理。")
# a stray 「#0」 before 「（二）」 (its 「#」, not followed by a space, was skipped as a
# Markdown heading mark and lost);
HASH_BEFORE_ITEM = ("第二十三条 可以采用下列方式制止侵权行为：\n（一）对制造专利产品的，责令其停止制造；\n"
                    "#0（二）对使用专利方法的，责令其停止使用；\n（三）对销售专利产品的，责令其停止销售。")
# an amending decision shuffled so that an article and a title line sit inside its last
# item before the re-published text's 第一条 (the 序言 took a line already inside 第十四条:
# 「最高人民法院」 came out twice).
TITLE_LINE_INSIDE_AN_ARTICLE = (
    "根据审判委员会决定，对《关于审理专利纠纷案件的若干规定》作如下修改：\n"
    "一、将第五条修改为：“侵权行为地包括实施地。”\n二、将第八条修改为：“原告可以出具检索报告。”\n"
    "最高人民法院\n第十四条 利用本单位的物质技术条件所完成的发明创造，从其约定。\n"
    "关于审理专利纠纷案件的若干规定\n为了正确审理专利纠纷案件，制定本规定。\n"
    "第一条 人民法院受理下列专利纠纷案件。\n第二条 专利纠纷第一审案件，由中级人民法院管辖。")


@given(mutated_law())
@example(CAPTION_BEFORE_ARTICLE)
@example(HASH_BEFORE_ITEM)
@example(TITLE_LINE_INSIDE_AN_ARTICLE)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_mutated_laws_parse_without_losing_text(text):
    check(text)


@given(st.text(alphabet=st.sampled_from(list("第一二十条章节（）()1.、：。；\n# 甲乙丙①专栏表附件")), max_size=400))
@settings(max_examples=300, deadline=None)
def test_marker_soup_parses_without_losing_text(text):
    check(text)
