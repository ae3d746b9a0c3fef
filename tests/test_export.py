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


# -- a quote of a table whose separators were lost (corpus/tables.toml) keeps its columns --
GLUED = "表2.主要指标序号二级指标2020年2025年1地理标志有效量(件)1726<b>x</b>预期性2甲112.520100。后文。"
LAYOUT = '''
[[table]]
doc = "d"
header = "| 序号 | 二级指标 | 2020年 | 2025年 |"
[[table.row]]
cells = "| 1 | 地理标志有效量(件) | 17 | 26<b>x</b>预期性 |"
[[table.row]]
cells = "| 2 | 甲1 | 12.520100 ||"
'''
QUOTE = "1地理标志有效量(件)1726<b>x</b>预期性2甲112.520100"
TABLE_TURN = {"question": "地理标志有效量的目标是多少？",
              "answer": f"- 《测试规划》二、表2：「{QUOTE}」[1]。\n- 另见「质押」[2]。",
              "citations": [{"n": 1, "doc_id": "d", "title": "测试规划", "path": "二、表2", "heading": "主要指标",
                             "quote": QUOTE, "clause_text": GLUED},
                            {"n": 2, "doc_id": "e", "title": "其他", "path": "一、", "quote": "质押",
                             "clause_text": "质押"}]}
MD_ROWS = ["| 序号 | 二级指标 | 2020年 | 2025年 |", "|---|---|---|---|",
           "| 1 | 地理标志有效量(件) | 17 | 26<b>x</b>预期性 |", "| 2 | 甲1 | 12.520100 ||"]


def _tables_of():
    import tomllib

    from assistant.table_layouts import parse_layouts

    layouts = parse_layouts(tomllib.loads(LAYOUT))
    return lambda c: layouts if c.get("doc_id") == "d" else []


def test_a_quoted_glued_table_is_copied_as_a_markdown_table():
    """Copying the answer (its Markdown) and a citation give the table's columns, as the
    chat and the cards show them; without the layouts (the API) the quote as received."""
    from assistant.export import citation_text
    from assistant.table_layouts import TableLayout  # noqa: F401 (the layouts' type)
    from assistant.ui_tables import pipe_cells

    tables_of = _tables_of()
    md = answer_markdown(TABLE_TURN, tables_of)
    assert "1726" not in md and "\n".join(MD_ROWS) in md, md
    assert "- 《测试规划》二、表2：\n\n" + "\n".join(MD_ROWS) + "\n\n[1]。" in md
    assert md.endswith("出处：\n[1] 《测试规划》 二、表2\n[2] 《其他》 一、: “质押”")  # the table once, in the text
    assert pipe_cells(MD_ROWS[3]) == [("2", 1), ("甲1", 1), ("12.520100", 2)]  # the spanning cell reads back
    cite = citation_text(TABLE_TURN["citations"][0], tables_of(TABLE_TURN["citations"][0]))
    assert cite == "《测试规划》 二、表2:\n\n" + "\n".join(MD_ROWS)
    # a quote of prose before the table keeps its quote marks, the table follows
    prose = {**TABLE_TURN["citations"][0], "quote": "主要指标序号二级指标2020年2025年1地理标志有效量(件)17"}
    assert citation_text(prose, tables_of(prose)).startswith("《测试规划》 二、表2:\n\n“主要指标”\n\n| 序号 |")
    # no layouts: as received
    assert QUOTE in answer_markdown(TABLE_TURN) and citation_text(TABLE_TURN["citations"][0]).endswith(f"“{QUOTE}”")


def test_a_quoted_glued_table_is_exported_as_a_table():
    import docx

    tables_of = _tables_of()
    md = conversation_markdown([TABLE_TURN], "表格", tables_of)
    assert "\n".join(MD_ROWS) in md and "1726" not in md
    d = docx.Document(io.BytesIO(conversation_docx([TABLE_TURN], "表格", tables_of)))
    assert len(d.tables) == 1
    rows = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows == [["序号", "二级指标", "2020年", "2025年"], ["1", "地理标志有效量(件)", "17", "26<b>x</b>预期性"],
                    ["2", "甲1", "12.520100", "12.520100"]]  # a merged cell is one cell over two columns
    assert d.tables[0].rows[2].cells[2]._tc is d.tables[0].rows[2].cells[3]._tc
    assert all(r.bold for r in d.tables[0].rows[0].cells[0].paragraphs[0].runs)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "1726" not in text and "[1] 《测试规划》 二、表2" in text
    # a source whose table is not in the answer's text brings its table
    alone = {**TABLE_TURN, "answer": "见出处。"}
    d = docx.Document(io.BytesIO(conversation_docx([alone], "表格", tables_of)))
    assert len(d.tables) == 1 and "1726" not in "\n".join(p.text for p in d.paragraphs)
    assert "\n".join(MD_ROWS) in answer_markdown(alone, tables_of).split("出处：")[1]


def test_exports_share_one_folder_and_old_ones_are_removed():
    """Each export click used to leave a folder of its own in the temporary directory for
    good; now the process keeps one, from which exports older than EXPORT_KEEP_S go."""
    import os
    import time
    from pathlib import Path

    from assistant import export
    from assistant.ui import export_file_of

    paths = [Path(export_file_of(TURNS, kind)) for kind in ("md", "docx", "md")]
    roots = {p.parent.parent for p in paths}
    assert len(roots) == 1 and len({p.parent for p in paths}) == 3 and all(p.is_file() for p in paths)
    old = time.time() - 2 * export.EXPORT_KEEP_S
    os.utime(paths[0].parent, (old, old))
    fresh = Path(export_file_of(TURNS, "md"))
    assert fresh.parent.parent in roots and not paths[0].exists() and paths[1].exists()
