"""The knowledge-base page says a document's parse report in Chinese (issue 11, defect 8:
one language). The ingest report and the CLI write their warnings in English; the page
reads each through lexicons/parse_report_zh.toml. The warnings here are the real ones:
运城's text as received (mojibake headings) and documents that raise the parser's others."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.corpus import load_plans
from assistant.ingest import parse_document
from assistant.loaders import load_file
from assistant.models import LoadedText, PlanMeta
from assistant.settings import PROJECT_ROOT
from assistant.ui_kb import quality_zh, render_kb_report, render_kb_table, warning_zh

CORPUS = PROJECT_ROOT / "corpus"
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def parsed(text: str, name: str = "doc.txt"):
    return parse_document(LoadedText(path=name, text=text, fmt="txt"), PlanMeta(id="doc", file=name))


def yuncheng():
    plan = next(p for p in load_plans(CORPUS) if p.id == "yuncheng")
    return parse_document(load_file(Path(CORPUS) / plan.file), PlanMeta(**plan.to_dict()))


WARNING_SOURCES = {
    "mojibake (运城 as received)": yuncheng,
    "no numbering": lambda: parsed("某市知识产权工作要点\n" + "加强知识产权保护。" * 60),
    "looks unparsed": lambda: parsed("某市知识产权工作要点\n" + "加强知识产权保护，推进运用。" * 40
                                     + "\n一、总体要求\n做好工作。\n二、主要任务\n推进。\n"),
    "clause split": lambda: parsed("某市知识产权工作方案\n一、总体要求\n"
                                   + "加强知识产权保护，推进知识产权运用和服务。\n" * 250 + "二、主要任务\n推进。\n"),
}


@pytest.mark.parametrize("source", list(WARNING_SOURCES))
def test_every_parse_warning_is_said_in_chinese(source):
    result = WARNING_SOURCES[source]()
    assert result.warnings, "the document raised no warning: the test no longer covers it"
    for w in result.warnings:
        said = warning_zh(w)
        assert said != w and not ENGLISH.search(said), (w, said)


def test_the_report_and_the_table_have_no_english_field_names():
    result = yuncheng()
    quality = {k: v for k, v in result.quality.__dict__.items() if k != "warning"}
    doc = {"title": result.meta.title, "place": "", "doc_type": "plan", "clauses": len(result.clauses),
           "quality": quality, "warnings": result.warnings, "missing": ["place", "issuer"],
           "file": "a.txt", "doc_id": "yuncheng"}
    said = quality_zh(quality)
    assert "编号条款覆盖正文的" in said and not ENGLISH.search(said), said
    report = render_kb_report(doc, "已加入")
    assert "地区、发文机关" in report and "乱码" in report
    for html in (report, render_kb_table([doc])):
        text = re.sub(r"<[^>]+>", "", html).replace("a.txt", "").replace("yuncheng", "")
        assert not ENGLISH.search(text), ENGLISH.findall(text)


def test_a_warning_no_pattern_reads_is_shown_as_written():
    assert warning_zh("a new kind of warning") == "a new kind of warning"
