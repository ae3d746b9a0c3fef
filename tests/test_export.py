"""Exports of a conversation: Markdown and Word (.docx read back with python-docx)."""
from __future__ import annotations

import io

from assistant.export import answer_markdown, conversation_docx, conversation_markdown

TURNS = [
    {"question": "嘉兴规划中知识产权质押融资的目标是多少？", "answer": "到2025年质押融资金额达200亿元。[1]",
     "citations": [{"n": 1, "title": "嘉兴市知识产权发展“十四五”规划", "path": "二、（三）",
                    "quote": "知识产权质押融资金额达200亿元。"}]},
    {"question": "坏问题", "error": "出错了"},
    {"question": "杭州呢？", "answer": "现有规划文件中没有关于「杭州」的规划。", "citations": [], "not_found": True},
]


def test_answer_markdown_has_its_sources_and_no_html():
    md = answer_markdown(TURNS[0])
    assert md.startswith("到2025年") and "<" not in md
    assert md.endswith("[1] 《嘉兴市知识产权发展“十四五”规划》 二、（三）: “知识产权质押融资金额达200亿元。”")
    assert answer_markdown(TURNS[2]) == TURNS[2]["answer"]


def test_conversation_markdown_and_docx():
    md = conversation_markdown(TURNS, "质押融资")
    assert md.startswith("# 质押融资") and md.count("## 问：") == 2 and "坏问题" not in md
    import docx

    d = docx.Document(io.BytesIO(conversation_docx(TURNS, "质押融资")))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "问：嘉兴规划中知识产权质押融资的目标是多少？" in text and "坏问题" not in text
    assert "[1] 《嘉兴市知识产权发展“十四五”规划》 二、（三）：“知识产权质押融资金额达200亿元。”" in text
    assert any(r.italic for p in d.paragraphs for r in p.runs)
