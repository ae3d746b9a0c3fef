"""Table rows shown as columns (answers, citation cards, the document reader).

Tables reach the clauses in two shapes that keep their cell boundaries:

* rows of a table the clause parser recovered (``序号`` header, one cell per line in
  the source, docx or HTML): the row clause's text is its cells joined by ``｜``
  (``clauses.py``) and its ``fields`` map each header to its cell;
* Markdown pipe tables (``| 序号 | 指标 | 2025年 |`` lines, with a ``|---|`` line
  under the header), kept as written by the Markdown loader.

A text whose table lost its separators in the source (``地理标志有效量(件)1726``) is
shown as it is: its columns cannot be told apart without guessing (a repair in corpus/repairs.toml
can give such rows back as pipe rows where the document's own text makes the split
certain, and leaves figures it cannot split in one cell spanning their columns:
``| 名称 | 11.520100 ||| 完成 |``, MultiMarkdown's ``||``).

Everything is escaped here; the quote's highlight is cut at cell boundaries, so a
quote that spans several cells is marked in each of them.
"""
from __future__ import annotations

import html
import re
from typing import Sequence

from .clauses import SPANNED_COLUMNS_JOIN

ROW_SEPARATOR = "｜"  # what clauses.py joins a recovered row's cells with
_PIPE_ROW_RE = re.compile(r"^\s*\|(.*)\|\s*$")
_PIPE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# a quoted table row inside an answer: 「cell｜cell…」 or a Markdown row as written,
# 「| cell | cell |」 (the quote marks stay outside the table)
_QUOTED_ROW_RE = re.compile(r"「(?:([^「」<>|]*?｜[^「」<>|]*?)|\s*\|([^「」<>]*\|[^「」<>]*)\|\s*)」")

Span = tuple[int, int]
Cell = tuple[int, str, int]  # offset in its line, text, number of columns it fills


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def marked(text: str, start: int, span: Span | None) -> str:
    """``text`` (which sits at ``start`` in its clause) escaped, the part inside ``span`` in <mark>."""
    if span is None:
        return _esc(text)
    a, b = max(span[0] - start, 0), min(span[1] - start, len(text))
    if a >= b:
        return _esc(text)
    return f"{_esc(text[:a])}<mark>{_esc(text[a:b])}</mark>{_esc(text[b:])}"


def _cells(line: str) -> list[Cell] | None:
    """(offset in line, cell text, columns) of a table row line, or None when it is not
    one. In a pipe row, ``||`` (nothing between the bars) widens the cell before it."""
    if _PIPE_RULE_RE.match(line) and "-" in line:
        return None
    m = _PIPE_ROW_RE.match(line)
    if m:
        sep, pos, body = "|", m.start(1), m.group(1)
    elif line.count(ROW_SEPARATOR) >= 1:
        sep, pos, body = ROW_SEPARATOR, 0, line
    else:
        return None
    out: list[Cell] = []
    for part in body.split(sep):
        if part == "" and sep == "|" and out:
            off, text, cols = out[-1]
            out[-1] = (off, text, cols + 1)
        else:
            lead = len(part) - len(part.lstrip())
            out.append((pos + lead, part.strip(), 1))
        pos += len(part) + 1
    return out if len(out) >= 2 else None


def _row_html(cells: list[Cell], start: int, span: Span | None, tag: str = "td") -> str:
    def attrs(cols: int) -> str:
        return f' colspan="{cols}"' if cols > 1 else ""

    return "<tr>" + "".join(f"<{tag}{attrs(cols)}>{marked(text, start + off, span)}</{tag}>"
                            for off, text, cols in cells) + "</tr>"


def table_row_html(line: str, tag: str = "td") -> str:
    """One pipe-table line as an escaped <tr> (spanning cells with their colspan)."""
    return _row_html(_cells(line) or [], 0, None, tag)


def is_rule(line: str) -> bool:
    """A Markdown table's rule line (``|---|:--:|``)."""
    return bool(_PIPE_RULE_RE.match(line)) and "-" in line


def header_line(table_text: str) -> str:
    """The Markdown header row of a table clause's text (the line above its rule), or ""."""
    lines = table_text.split("\n")
    return next((lines[i - 1] for i in range(1, len(lines)) if is_rule(lines[i])), "")


def row_columns(header: str, row: str) -> list[str]:
    """The column names over each cell of a pipe-table ``row`` (a spanning cell's names
    joined), from the table's ``header`` row."""
    head, cells = _cells(header) or [], _cells(row) or []
    names = [text for _, text, cols in head for _ in range(cols)]
    out, col = [], 0
    for _, _, cols in cells:
        out.append(SPANNED_COLUMNS_JOIN.join(n for n in names[col:col + cols] if n))
        col += cols
    return out


def render_clause_text(text: str, span: Span | None = None, columns: Sequence[str] = ()) -> str:
    """A clause's text as safe HTML: its table rows as a <table> (a Markdown header row,
    or ``columns`` for a lone recovered row, as its head), the rest as escaped text;
    the part of the text inside ``span`` in <mark>."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    parts: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        start, line = lines[i]
        cells = _cells(line)
        if cells is None:
            if not is_rule(line):
                prose.append(marked(line, start, span))
            i += 1
            continue
        if prose:
            parts.append("\n".join(prose))
            prose = []
        head, body = "", []
        if i + 1 < len(lines) and is_rule(lines[i + 1][1]):
            head = _row_html(cells, start, span, "th")
            i += 2
        else:
            if len(columns) == len(cells):
                head = "<tr>" + "".join(f"<th>{_esc(c)}</th>" for c in columns) + "</tr>"
            body.append(_row_html(cells, start, span))
            i += 1
        while i < len(lines) and (row := _cells(lines[i][1])) is not None:
            body.append(_row_html(row, lines[i][0], span))
            i += 1
        parts.append(f'<div class="table-wrap"><table class="clause-table"><thead>{head}</thead>'
                     f'<tbody>{"".join(body)}</tbody></table></div>')
    if prose:
        parts.append("\n".join(prose))
    return "".join(parts)


def has_table(text: str) -> bool:
    return any(_cells(line) is not None for line in (text or "").split("\n"))


def quoted_rows_as_columns(answer_html: str, columns_of=lambda n: ()) -> str:
    """In an answer already rendered to HTML (so escaped), each quoted table row
    「a｜b｜c」[n] shown as a row of cells, with citation ``n``'s column names above
    it when known (``columns_of(n)``)."""
    def row(m: re.Match) -> str:
        cells = m.group(1).split(ROW_SEPARATOR) if m.group(1) is not None else m.group(2).split("|")
        cells = [c for i, c in enumerate(cells) if c or i == 0]  # ``||``: one cell over two columns
        n = re.match(r"\[(\d{1,3})\]", answer_html[m.end():m.end() + 6])
        columns = list(columns_of(int(n.group(1)))) if n else []
        head = ""
        if len(columns) == len(cells):
            head = ('<span class="rt-row rt-head">'
                    + "".join(f'<span class="rt-cell">{_esc(c)}</span>' for c in columns) + "</span>")
        body = '<span class="rt-row">' + "".join(f'<span class="rt-cell">{c.strip()}</span>' for c in cells) + "</span>"
        return f'「<span class="row-table">{head}{body}</span>」'

    return _QUOTED_ROW_RE.sub(row, answer_html)
