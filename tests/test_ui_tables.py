"""Table rows rendered as columns, escaped: cards, answers and the reader (the HTML;
tests/test_browser_chat.py checks the columns in a real browser)."""
from __future__ import annotations

from assistant.models import Clause
from assistant.ui import highlight_quote, render_answer_message, render_document
from assistant.ui_tables import render_clause_text

HOSTILE = "<img src=x onerror=alert(1)>"
ROW = f"3｜地理标志专用标志使用企业年产值(亿元)｜50.5｜60{HOSTILE}"
COLUMNS = ["序号", "指标名称", "2023年底前基值", "2025年底前目标值"]


def test_recovered_row_is_a_table_headed_by_its_columns_and_escaped():
    out = highlight_quote(ROW, ROW, COLUMNS)
    assert "<table" in out and out.count("<td>") == 4 and out.count("<th>") == 4
    assert "<th>2025年底前目标值</th>" in out
    assert HOSTILE not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    # the quote is marked in every cell it covers, not across the cell boundaries
    assert out.count("<mark>") == 4 and "<td><mark>50.5</mark></td>" in out


def test_markdown_pipe_table_keeps_its_header_and_marks_only_the_quoted_cells():
    text = "表1 主要指标\n| 序号 | 指标名称 | 2020年 | 2025年 |\n|---|---|---|---|\n| 1 | 地理标志有效量(件) | 17 | 26 |\n| 2 | <b>x</b> | 1 | 2 |"
    out = render_clause_text(text, span=(text.index("17"), text.index("17") + 2))
    assert out.startswith("表1 主要指标") and "|---" not in out
    assert "<th>2020年</th>" in out and "<td>地理标志有效量(件)</td>" in out and "<td><mark>17</mark></td>" in out
    assert "<td>26</td>" in out and "&lt;b&gt;x&lt;/b&gt;" in out and "<b>" not in out


def test_text_without_separators_is_left_as_it_is():
    text = "地理标志有效量(件)1726预期性"
    assert render_clause_text(text, (0, 4)) == "<mark>地理标志</mark>有效量(件)1726预期性"


def test_a_quoted_row_in_an_answer_shows_its_cells_under_their_column_names():
    answer = {"answer": f"绍兴的目标：「{ROW}」[1]", "citations": [
        {"n": 1, "title": "《绍兴》", "path": "二、表 第3项", "quote": ROW, "clause_text": ROW}]}
    out = render_answer_message(answer, 0, lambda c: COLUMNS)
    assert out.count('class="rt-cell"') == 8 and '<span class="rt-cell">2025年底前目标值</span>' in out
    assert '<span class="rt-cell">50.5</span>' in out and HOSTILE not in out
    assert 'href="#cite-0-1"' in out  # the citation marker after the row still links to its card


def _clause(ordinal, path, level, text, fields=None, number="", parents=("二、",)):
    return Clause(doc_id="d", title="t", place="p", path=path, level=level, number=number, heading="",
                  parents=list(parents), parent_paths=list(parents), text=text, text_simplified=text,
                  span=(0, len(text)), ordinal=ordinal, fields=fields or {})


def test_reader_shows_a_recovered_table_as_one_table_and_each_number_once():
    rows = [_clause(i + 2, f"二、表 第{i}项", "table_row", f"{i}｜指标{i}｜{i * 10}",
                    {"序号": str(i), "指标名称": f"指标{i}" + (HOSTILE if i == 2 else ""), "目标": str(i * 10)},
                    number=f"第{i}项", parents=("二、", "二、表")) for i in (1, 2)]
    clauses = [_clause(0, "二、", "chapter", "二、主要指标", number="二、", parents=()),
               _clause(1, "二、表", "table", "主要指标表\n序号\n指标名称\n目标", number="表"), *rows]
    out = render_document(None, clauses, focus=rows[1].clause_id)
    assert out.count("<table") == 1 and "<th>指标名称</th>" in out and out.count("<tr class=\"clause") == 2
    assert '<tr class="clause focus" id="clause-d-4">' in out and HOSTILE not in out
    assert "二、主要指标" not in out and "主要指标" in out  # 二、 shown once, as the path


def test_traditional_quotes_shown_simplified_and_copied_as_written():
    from assistant.ui import _to_simplified, render_card

    c = {"n": 1, "title": "《運城市知識產權強市建設試點工作方案》", "place": "運城市", "path": "一、", "heading": "",
         "quote": "推動知識產權", "clause_text": "為了推動知識產權工作"}
    out = render_card(c, 0, None, (), _to_simplified)
    assert "为了<mark>推动知识产权</mark>工作" in out and "《运城市知识产权强市建设试点工作方案》" in out
    assert 'data-cite="《運城市知識產權強市建設試點工作方案》 一、: “推動知識產權”"' in out  # the copy is the original
    assert "按简体显示" in out and "按简体显示" not in render_card(c, 0, None)


def test_a_quoted_markdown_row_in_an_answer_shows_its_cells():
    row = "| 1 | 地理标志有效量(件) | 17 | 26 |"
    answer = {"answer": f"目标：「{row}」[1]", "citations": [
        {"n": 1, "title": "《测试》", "path": "一、表1 第1项", "quote": row, "clause_text": row}]}
    out = render_answer_message(answer, 0, lambda c: ["序号", "指标名称", "2020年", "2025年"])
    assert '<span class="rt-cell">17</span><span class="rt-cell">26</span>' in out
    assert '<span class="rt-cell">2025年</span>' in out and "| 17 |" not in out.split('class="answer-md"')[0]
    card = highlight_quote(row, row, ["序号", "指标名称", "2020年", "2025年"])
    assert "<th>2020年</th>" in card and "<td><mark>17</mark></td>" in card


# a repaired row whose figures no evidence splits: one cell over three columns (``||``)
HEADER = "| 指标 | 2015年实际值 | 2020年目标值 | 2020年实际值 | |"
SPANNING = "| 技术市场成交额(亿元) | 11.520100 ||| 完成 |"


def test_a_cell_spanning_columns_stays_one_cell_in_card_answer_and_reader():
    from assistant.ui_tables import row_columns

    columns = row_columns(HEADER, SPANNING)
    assert columns == ["指标", "2015年实际值／2020年目标值／2020年实际值", ""]
    card = highlight_quote(SPANNING, SPANNING, columns)
    assert '<td colspan="3"><mark>11.520100</mark></td>' in card and card.count("<td") == 3
    assert "<th>2015年实际值／2020年目标值／2020年实际值</th>" in card
    answer = {"answer": f"表1：「{SPANNING}」[1]", "citations": [
        {"n": 1, "title": "《测试》", "path": "一、表1 第1项", "quote": SPANNING, "clause_text": SPANNING}]}
    out = render_answer_message(answer, 0, lambda c: columns)
    assert out.count('<span class="rt-cell">') == 6 and '<span class="rt-cell">11.520100</span>' in out

    split = "| 每万人发明专利拥有量(件) | 7.38 | 20 | 41.7 | 完成 |"
    rows = [_clause(i + 2, f"一、表1 第{i}项", "table_row", text, fields, number=f"第{i}项", parents=("一、", "一、表1"))
            for i, (text, fields) in enumerate([
                (SPANNING, {"指标": "技术市场成交额(亿元)", "2015年实际值／2020年目标值／2020年实际值": "11.520100"}),
                (split, {"指标": "每万人发明专利拥有量(件)", "2015年实际值": "7.38", "2020年目标值": "20",
                         "2020年实际值": "41.7"})], start=1)]
    table = _clause(1, "一、表1", "table", f"表1.主要指标\n{HEADER}\n|---|---|---|---|---|", number="表1", parents=("一、",))
    out = render_document(None, [_clause(0, "一、", "chapter", "一、基础", number="一、", parents=()), table, *rows])
    assert out.count("<table") == 1 and out.count('<tr class="clause') == 2  # one table although the fields differ
    assert "<th>2015年实际值</th>" in out and '<td colspan="3">11.520100</td>' in out and "<td>41.7</td>" in out


# -- corpus/tables.toml: tables whose separators were lost, laid out where they are shown --
def _laid_out(text: str) -> list:
    """A layout (corpus/tables.toml's format) of the glued ``text`` below."""
    import tomllib

    from assistant.table_layouts import parse_layouts

    return parse_layouts(tomllib.loads(text))


GLUED = "表2.主要指标序号二级指标2020年2025年1地理标志有效量(件)1726<b>x</b>预期性。后文。"
GLUED_LAYOUT = '''
[[table]]
doc = "d"
header = "| 序号 | 二级指标 | 2020年 | 2025年 |"
[[table.row]]
cells = "| 1 | 地理标志有效量(件) | 17 | 26<b>x</b>预期性 |"
'''


def test_a_glued_table_is_shown_as_its_own_characters_in_columns():
    tables = _laid_out(GLUED_LAYOUT)
    span = (GLUED.index("1726"), GLUED.index("1726") + 4)
    out = render_clause_text(GLUED, span, tables=tables)
    assert out.startswith("表2.主要指标<div") and out.endswith("</table></div>。后文。")
    assert "<th>2020年</th>" in out and "<td><mark>17</mark></td><td><mark>26</mark>&lt;b&gt;x&lt;/b&gt;预期性</td>" in out
    assert "<b>" not in out
    # not the same characters (a text that differs by one): shown as received
    other = GLUED.replace("1726", "1727")
    assert render_clause_text(other, tables=tables) == render_clause_text(other)


def test_a_quoted_glued_table_in_an_answer_shows_only_the_quoted_rows_under_the_header():
    tables = _laid_out(GLUED_LAYOUT.replace('"\n[[table.row]]', '"\n[[table.row]]\ncells = "| 2 | 甲 | 1 | 2 |"\n[[table.row]]', 1))
    text = GLUED.replace("序号二级指标2020年2025年", "序号二级指标2020年2025年2甲12")
    quote = "1地理标志有效量(件)1726"
    cite = {"n": 1, "doc_id": "d", "title": "《测试》", "path": "二、表2", "heading": "主要指标序号二级指标",
            "quote": quote, "clause_text": text}
    answer = {"answer": f"- 《测试》二、表2「主要指标序号二级指标」：「{quote}」[1]", "citations": [cite]}
    out = render_answer_message(answer, 0, tables=lambda c: tables if c.get("doc_id") == "d" else ())
    shown = out.split('class="answer-md"')[0]
    assert '<div class="quoted-table">' in shown and "<th>2025年</th>" in shown
    assert "<td>17</td><td>26</td>" in shown  # the quote ends inside the last cell: only its part is shown
    assert "<td>甲</td>" not in shown  # a row the quote does not reach
    assert "「主要指标」" in shown and 'href="#cite-0-1"' in shown
    # the copied Markdown has the same rows as a Markdown table (tests/test_export.py)
    copied = out.split('class="answer-md"')[1]
    assert "| 1 | 地理标志有效量(件) | 17 | 26 |" in copied and "1726" not in copied and "「主要指标」" in copied
    # a quote inside one cell is left as it is
    answer = {"answer": "- 「地理标志有效量」[1]", "citations": [{**cite, "quote": "地理标志有效量"}]}
    assert "quoted-table" not in render_answer_message(answer, 0, tables=lambda c: tables)


def test_a_row_that_does_not_fill_the_header_is_an_error_in_the_data():
    import pytest

    with pytest.raises(ValueError, match="row 1 fills 3 columns, the header 4"):
        _laid_out(GLUED_LAYOUT.replace("| 17 | 26<b>x</b>预期性 |", "| 1726<b>x</b>预期性 |"))


def test_every_laid_out_table_is_found_in_its_document():
    """Each table of corpus/tables.toml is, cell for cell, a run of its document's
    cleaned text (the real corpus): a table that drifted from its text would silently
    be shown glued again."""
    import tempfile
    from pathlib import Path

    from assistant.corpus import discover
    from assistant.ingest import ingest_corpus
    from assistant.settings import PROJECT_ROOT, Settings
    from assistant.table_layouts import load_table_layouts

    corpus = PROJECT_ROOT / "corpus"
    layouts = load_table_layouts(corpus)
    assert sum(map(len, layouts.values())) >= 2
    assert not [r for r in discover(corpus).refused if r.file == "tables.toml"]  # the corpus's data, not a document
    with tempfile.TemporaryDirectory() as d:
        s = Settings.load(env={"ASSISTANT_INDEX_DIR": str(Path(d) / "index"), "ASSISTANT_CORPUS_DIR": str(corpus)})
        report = ingest_corpus(s)
    texts = {doc.meta.id: [c.text for c in doc.clauses] for doc in report.documents}
    for doc, tables in layouts.items():
        for t in tables:
            assert any(t.locate(text) for text in texts[doc]), (doc, t.name)
    jx = {c.path: c for doc in report.documents if doc.meta.id == "jiaxing" for c in doc.clauses}
    shown = render_clause_text(jx["二、（三）表2"].text, tables=layouts["jiaxing"])
    assert "<td></td><td>2</td><td>地理标志有效量(件)</td><td>17</td><td>26</td><td>预期性</td>" in shown
    assert shown.count("<tr") == 20 and '<tr class="head-again">' in shown  # header, 18 rows, the header again
