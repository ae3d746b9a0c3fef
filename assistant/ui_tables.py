"""Table rows shown as columns (answers, citation cards, the document reader).

Tables reach the clauses in two shapes that keep their cell boundaries:

* rows of a table the clause parser recovered (``序号`` header, one cell per line in
  the source, docx or HTML): the row clause's text is its cells joined by ``｜``
  (``clauses.py``) and its ``fields`` map each header to its cell;
* Markdown pipe tables (``| 序号 | 指标 | 2025年 |`` lines, with a ``|---|`` line
  under the header), kept as written by the Markdown loader.

A text whose table lost its separators in the source (``地理标志有效量(件)1726``) is
shown as it is: its columns cannot be told apart without guessing.

Everything is escaped here; the quote's highlight is cut at cell boundaries, so a
quote that spans several cells is marked in each of them.
"""
from __future__ import annotations

import html
import re
from typing import Sequence

ROW_SEPARATOR = "｜"  # what clauses.py joins a recovered row's cells with
_PIPE_ROW_RE = re.compile(r"^\s*\|(.*)\|\s*$")
_PIPE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# a quoted table row inside an answer: 「cell｜cell…」 or a Markdown row as written,
# 「| cell | cell |」 (the quote marks stay outside the table)
_QUOTED_ROW_RE = re.compile(r"「(?:([^「」<>|]*?｜[^「」<>|]*?)|\s*\|([^「」<>]*\|[^「」<>]*)\|\s*)」")

Span = tuple[int, int]


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


def _cells(line: str) -> list[tuple[int, str]] | None:
    """(offset in line, cell text) of a table row line, or None when it is not one."""
    if _PIPE_RULE_RE.match(line) and "-" in line:
        return None
    m = _PIPE_ROW_RE.match(line)
    if m:
        sep, pos, body = "|", m.start(1), m.group(1)
    elif line.count(ROW_SEPARATOR) >= 1:
        sep, pos, body = ROW_SEPARATOR, 0, line
    else:
        return None
    out = []
    for part in body.split(sep):
        lead = len(part) - len(part.lstrip())
        out.append((pos + lead, part.strip()))
        pos += len(part) + 1
    return out if len(out) >= 2 else None


def _row_html(cells: list[tuple[int, str]], start: int, span: Span | None, tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{marked(text, start + off, span)}</{tag}>" for off, text in cells) + "</tr>"


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
            if not (_PIPE_RULE_RE.match(line) and "-" in line):
                prose.append(marked(line, start, span))
            i += 1
            continue
        if prose:
            parts.append("\n".join(prose))
            prose = []
        head, body = "", []
        if i + 1 < len(lines) and _PIPE_RULE_RE.match(lines[i + 1][1]) and "-" in lines[i + 1][1]:
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
        n = re.match(r"\[(\d{1,3})\]", answer_html[m.end():m.end() + 6])
        columns = list(columns_of(int(n.group(1)))) if n else []
        head = ""
        if len(columns) == len(cells):
            head = ('<span class="rt-row rt-head">'
                    + "".join(f'<span class="rt-cell">{_esc(c)}</span>' for c in columns) + "</span>")
        body = '<span class="rt-row">' + "".join(f'<span class="rt-cell">{c.strip()}</span>' for c in cells) + "</span>"
        return f'「<span class="row-table">{head}{body}</span>」'

    return _QUOTED_ROW_RE.sub(row, answer_html)
