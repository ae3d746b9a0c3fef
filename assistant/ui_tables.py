"""Table rows shown as columns (answers, citation cards, the document reader).

Tables reach the clauses in two shapes that keep their cell boundaries:

* rows of a table the clause parser recovered (``序号`` header, one cell per line in
  the source, docx or HTML): the row clause's text is its cells joined by ``｜``
  (``clauses.py``) and its ``fields`` map each header to its cell;
* Markdown pipe tables (``| 序号 | 指标 | 2025年 |`` lines, with a ``|---|`` line
  under the header), kept as written by the Markdown loader.

A text whose table lost its separators in the source (``地理标志有效量(件)1726``) is
shown as it is, unless ``corpus/tables.toml`` says where its cells begin and end
(``table_layouts.py``): then the same characters are shown as a table (``tables=``),
figures the document's own text does not split in one cell spanning their columns
(``| 名称 | 11.520100 ||| 完成 |``, MultiMarkdown's ``||``).

Everything is escaped here; the quote's highlight is cut at cell boundaries, so a
quote that spans several cells is marked in each of them.
"""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Sequence

from .clauses import SPANNED_COLUMNS_JOIN

if TYPE_CHECKING:
    from .table_layouts import PlacedTable, TableLayout

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


def pipe_cells(line: str) -> list[tuple[str, int]] | None:
    """(cell text, columns) of a Markdown pipe row (``||`` widens the cell before), or None."""
    if not _PIPE_ROW_RE.match(line):
        return None
    cells = _cells(line)
    return None if cells is None else [(text, cols) for _, text, cols in cells]


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


def render_clause_text(text: str, span: Span | None = None, columns: Sequence[str] = (),
                       tables: Sequence["TableLayout"] = ()) -> str:
    """A clause's text as safe HTML: its table rows as a <table> (a Markdown header row,
    or ``columns`` for a lone recovered row, as its head), a table of ``tables``
    (corpus/tables.toml) found in it as a <table> of its characters, the rest as escaped
    text; the part of the text inside ``span`` in <mark>."""
    parts, pos = [], 0
    for placed in place_tables(text, tables):
        parts.append(_render_lines(text[pos:placed.start], pos, span, columns))
        parts.append(placed_table_html(text, placed, span))
        pos = placed.end
    parts.append(_render_lines(text[pos:], pos, span, columns))
    return "".join(parts)


def placed_table_html(text: str, table: "PlacedTable", span: Span | None = None, clip: Span | None = None) -> str:
    """A table of ``text`` laid out by corpus/tables.toml as a <table>: its header row as
    head, a header printed again as a header row where it stands, each cell its own
    characters of ``text`` (escaped; inside ``span`` in <mark>). With ``clip``, only the
    characters inside it: rows it does not reach are left out, the header always shown."""
    def cell_html(c, tag: str) -> str:
        a, b = (max(c.start, clip[0]), min(c.end, clip[1])) if clip and tag == "td" else (c.start, c.end)
        inner = marked(text[a:b], a, span) if a < b else ""
        return f"<{tag}{f' colspan={chr(34)}{c.columns}{chr(34)}' if c.columns > 1 else ''}>{inner}</{tag}>"

    def reached(row) -> bool:
        return clip is None or any(c.start < clip[1] and clip[0] < c.end for c in row.cells)

    head, *rows = table.rows
    thead = "<tr>" + "".join(cell_html(c, "th") for c in head.cells) + "</tr>"
    body = "".join(
        ('<tr class="head-again">' + "".join(cell_html(c, "th") for c in row.cells) if row.header else
         "<tr>" + "".join(cell_html(c, "td") for c in row.cells)) + "</tr>"
        for row in rows if reached(row))
    return (f'<div class="table-wrap"><table class="clause-table"><thead>{thead}</thead>'
            f'<tbody>{body}</tbody></table></div>')


def _render_lines(text: str, base: int, span: Span | None, columns: Sequence[str]) -> str:
    """``text`` (at ``base`` in its clause) line by line: pipe tables and recovered rows
    as <table>s, the rest escaped."""
    lines, pos = [], base
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


def place_tables(text: str, tables: Sequence["TableLayout"]) -> list["PlacedTable"]:
    """The tables of ``tables`` found in ``text``, in text order, none overlapping."""
    found = sorted((p for p in (t.locate(text) for t in tables) if p is not None), key=lambda p: p.start)
    out: list = []
    for p in found:
        if not out or p.start >= out[-1].end:
            out.append(p)
    return out


def heading_before_table(heading: str, text: str, tables: Sequence["TableLayout"]) -> str:
    """A heading the parser took from the start of a clause, cut where a laid-out table
    begins (a caption run on into the glued header row: 「…主要指标一级指标序号二级指标」)."""
    at = text.find(heading) if heading and tables else -1
    if at < 0:
        return heading
    for p in place_tables(text, tables):
        if at < p.start < at + len(heading):
            return heading[:p.start - at].rstrip()
    return heading


def has_table(text: str) -> bool:
    return any(_cells(line) is not None for line in (text or "").split("\n"))


_SLOT = "\ue000{}\ue001"  # private-use marks: markdown leaves them as they are


def quoted_tables(text: str, quote: str, layouts: Sequence["TableLayout"]) -> tuple[int, int, list["PlacedTable"]] | None:
    """Where ``quote`` sits in ``text`` and the laid-out tables (corpus/tables.toml) it
    reaches, when it covers at least two of their cells; None for any other quote (one
    inside a single cell reads as it is)."""
    placed = place_tables(text, layouts) if layouts and quote else []
    qs = text.find(quote) if placed else -1
    if qs < 0:
        return None
    qe = qs + len(quote)
    reached = [p for p in placed if p.start < qe and qs < p.end]
    cells = sum(1 for p in reached for row in p.rows[1:] for cell in row.cells if cell.start < qe and qs < cell.end)
    return (qs, qe, reached) if cells >= 2 else None


# A quoted table as plain data (Markdown, Word): its rows, the header first, each a flag
# (a header row) and its cells as (text, number of columns it fills).
TableRows = list[tuple[bool, list[tuple[str, int]]]]


def quote_parts(text: str, quote: str, layouts: Sequence["TableLayout"]) -> list[str | TableRows] | None:
    """``quote`` (of a clause's ``text``) as its prose and the rows of each laid-out table
    it reaches (the header, then the rows the quote reaches, each clipped to the quote), in
    order; None when it covers fewer than two cells of a laid-out table."""
    found = quoted_tables(text, quote, layouts)
    if found is None:
        return None
    qs, qe, reached = found
    parts: list[str | TableRows] = []
    pos = qs
    for p in reached:
        if text[pos:max(p.start, pos)].strip():
            parts.append(text[pos:max(p.start, pos)].strip())
        head, *rows = p.rows
        table: TableRows = [(True, [(text[c.start:c.end], c.columns) for c in head.cells])]
        for row in rows:
            if any(c.start < qe and qs < c.end for c in row.cells):
                table.append((row.header, [(text[max(c.start, qs):min(c.end, qe)] if c.start < qe and qs < c.end
                                            else "", c.columns) for c in row.cells]))
        parts.append(table)
        pos = p.end
    if text[pos:qe].strip():
        parts.append(text[pos:qe].strip())
    return parts


def table_markdown(rows: TableRows) -> str:
    """Rows as a Markdown pipe table (the first row its header, a cell over several
    columns followed by ``||`` as MultiMarkdown writes it, which ``pipe_cells`` reads)."""
    def line(cells: list[tuple[str, int]]) -> str:
        return "|" + "|".join(f" {text.replace('|', chr(92) + '|')} " + "|" * (cols - 1) for text, cols in cells) + "|"

    width = sum(cols for _, cols in rows[0][1])
    return "\n".join([line(rows[0][1]), "|" + "---|" * width, *(line(cells) for _, cells in rows[1:])])


def cut_heading(answer_md: str, heading: str, text: str, layouts: Sequence["TableLayout"]) -> str:
    """The answer with the clause heading it names cut where a laid-out table begins."""
    cut = heading_before_table(heading, text, layouts)
    return answer_md.replace(f"「{heading}」", f"「{cut}」", 1) if cut != heading else answer_md


def quoted_tables_in_answer(answer_md: str, citations: Sequence[dict], tables_of,
                            script=lambda s: s) -> tuple[str, dict[str, str]]:
    """An answer's markdown with each quote of a laid-out table (``tables_of(citation)``,
    corpus/tables.toml) replaced by a slot, and each slot's HTML: the quoted characters
    with the table's cells as columns (its header above them). The clause heading the
    answer names, when it ran on into the table's glued header, is cut where the table
    begins. A quote inside one cell stays as it is."""
    slots: dict[str, str] = {}
    for c in citations:
        layouts = tables_of(c)
        text, quote = script(c.get("clause_text") or ""), script(c.get("quote") or "")
        if not (quote and quote in text and place_tables(text, layouts)):
            continue
        answer_md = cut_heading(answer_md, script(c.get("heading") or ""), text, layouts)
        found = quoted_tables(text, quote, layouts)
        needle = f"「{quote}」[{c.get('n')}]"
        if found is None or needle not in answer_md:
            continue
        qs, qe, reached = found
        parts, pos = [], qs
        for p in reached:
            parts.append(_esc(text[pos:max(p.start, pos)]))
            parts.append(placed_table_html(text, p, clip=(qs, qe)))
            pos = p.end
        parts.append(_esc(text[pos:qe]))
        slot = _SLOT.format(len(slots))
        slots[slot] = f'<div class="quoted-table">{"".join(parts)}</div>'
        answer_md = answer_md.replace(needle, f"「{slot}」[{c.get('n')}]", 1)
    return answer_md, slots


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
