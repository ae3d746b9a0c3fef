"""Answers and conversations as documents people keep: Markdown and Word (.docx).

``citation_text`` is the one way a citation is written as text (《title》 path:
“quote”): the card's "copy citation", the answer's "copy", the API's sources
block and both exports use it. ``answer_markdown`` is one answer with its sources;
``conversation_markdown`` and ``conversation_docx`` a whole conversation (the
failed turns are left out).

Given the laid-out tables of a citation's document (``tables_of(citation)``, the app's
``Library.tables``: corpus/tables.toml), a quote that covers cells of such a table is
written with the table's columns, as the cards show it: a Markdown pipe table (its
header, then the rows the quote reaches), a Word table in .docx. Without them (the
API) a quote is written as received.
"""
from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

from .ui_tables import TableRows, cut_heading, place_tables, quote_parts, table_markdown

Block = str | TableRows  # a paragraph of Markdown text, or a table's rows
TablesOf = Callable[[dict[str, Any]], Sequence[Any]]  # a citation -> its document's laid-out tables

# An export is served (copied into Gradio's cache) as soon as it is written: the process's
# export folder keeps each file this long, and is removed with the process.
EXPORT_KEEP_S = 600
_export_root: Path | None = None


def export_path(name: str) -> Path:
    """Where an export named ``name`` is written: a fresh folder (two users exporting in
    the same second do not collide) inside the process's one export folder, from which
    exports older than ``EXPORT_KEEP_S`` are removed first. (Each export used to leave a
    folder of its own in the temporary directory for good.)"""
    global _export_root
    if _export_root is None or not _export_root.is_dir():
        _export_root = Path(tempfile.mkdtemp(prefix="assistant-export-"))
        atexit.register(shutil.rmtree, _export_root, True)
    cutoff = time.time() - EXPORT_KEEP_S
    for old in _export_root.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # removed meanwhile by another request
    return Path(tempfile.mkdtemp(dir=_export_root)) / name


def with_brackets(title: str) -> str:
    title = (title or "").strip()
    if title and not title.startswith("《"):
        title = f"《{title}》"
    return title


def _head(c: dict[str, Any]) -> str:
    return f"{with_brackets(c.get('title', ''))} {c.get('path', '')}".strip()


def _quoted(parts: Sequence[Block], marks: str) -> list[Block]:
    """A quote's parts with its prose in quote ``marks`` (the tables as they are)."""
    return [f"{marks[0]}{p}{marks[1]}" if isinstance(p, str) else p for p in parts]


def blocks_markdown(blocks: Sequence[Block]) -> str:
    return "\n\n".join(b if isinstance(b, str) else table_markdown(b) for b in blocks)


def _table_quote(c: dict[str, Any], tables: Sequence[Any]) -> list[Block] | None:
    quote = c.get("quote") or ""
    return quote_parts(c.get("clause_text") or "", quote, tables) if tables and quote.strip() else None


def citation_blocks(c: dict[str, Any], tables: Sequence[Any] = ()) -> list[Block]:
    """《title》 path: and the quote, a quote of a laid-out table with its columns."""
    parts = _table_quote(c, tables)
    if parts is None:
        return [citation_text(c)]
    return [f"{_head(c)}:", *_quoted(parts, "“”")]


def citation_text(c: dict[str, Any], tables: Sequence[Any] = ()) -> str:
    """《title》 path: “quote” (a quote of one of ``tables``, corpus/tables.toml, with the
    table's rows as a Markdown table under the head)."""
    quote = (c.get("quote") or "").strip()
    if tables and _table_quote(c, tables) is not None:
        return blocks_markdown(citation_blocks(c, tables))
    return f"{_head(c)}: “{quote}”" if quote else _head(c)


def answer_blocks(answer: dict[str, Any], tables_of: TablesOf | None = None) -> tuple[list[Block], set[str]]:
    """The answer's text as blocks, each 「quote」[n] of a laid-out table written as its
    prose and table (the clause heading it names cut where the table begins, as in the
    chat), and the numbers of the citations so written."""
    blocks: list[Block] = [(answer.get("answer") or "").strip()]
    placed: set[str] = set()
    for c in (answer.get("citations") or []) if tables_of else []:
        tables, clause, quote = tables_of(c), c.get("clause_text") or "", c.get("quote") or ""
        if not (tables and quote and quote in clause and place_tables(clause, tables)):
            continue
        heading = c.get("heading") or ""
        blocks = [cut_heading(b, heading, clause, tables) if isinstance(b, str) else b for b in blocks]
        parts, needle = quote_parts(clause, quote, tables), f"「{quote}」[{c.get('n')}]"
        at = next((i for i, b in enumerate(blocks) if isinstance(b, str) and needle in b), None)
        if parts is None or at is None:
            continue
        before, after = blocks[at].split(needle, 1)
        blocks[at:at + 1] = [before.rstrip(), *_quoted(parts, "「」"), f"[{c.get('n')}]{after}"]
        placed.add(str(c.get("n")))
    return [b for b in blocks if not isinstance(b, str) or b.strip()], placed


def answer_markdown(answer: dict[str, Any], tables_of: TablesOf | None = None) -> str:
    """One answer as clean Markdown with its sources (no HTML; the [n] markers kept);
    with ``tables_of``, quotes of laid-out tables with their columns."""
    blocks, placed = answer_blocks(answer, tables_of)
    text = blocks_markdown(blocks)
    cites = answer.get("citations") or []
    if not cites:
        return text
    refs = "\n".join(f"[{c.get('n')}] " + (_head(c) if str(c.get("n")) in placed
                                          else citation_text(c, tables_of(c) if tables_of else ()))
                     for c in cites)
    return f"{text}\n\n出处：\n{refs}"


def _answered(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in turns if not t.get("error")]


def conversation_markdown(turns: Sequence[dict[str, Any]], title: str = "对话记录",
                          tables_of: TablesOf | None = None) -> str:
    parts = [f"# {title}", f"导出时间：{datetime.now():%Y-%m-%d %H:%M}"]
    for t in _answered(turns):
        parts.append(f"## 问：{t.get('question', '')}")
        parts.append(answer_markdown(t, tables_of))
    return "\n\n".join(parts) + "\n"


def conversation_docx(turns: Sequence[dict[str, Any]], title: str = "对话记录",
                      tables_of: TablesOf | None = None) -> bytes:
    """The conversation as a Word document: each question a heading, the answer, then
    its sources as a numbered list with the quoted sentence (a quote of a laid-out table
    as a Word table)."""
    import docx

    doc = docx.Document()
    doc.add_heading(title, level=1)
    doc.add_paragraph(f"导出时间：{datetime.now():%Y-%m-%d %H:%M}")
    for t in _answered(turns):
        doc.add_heading(f"问：{t.get('question', '')}", level=2)
        blocks, placed = answer_blocks(t, tables_of)
        _docx_blocks(doc, blocks)
        cites = t.get("citations") or []
        if cites:
            doc.add_paragraph("出处：")
        for c in cites:
            p = doc.add_paragraph(style="List Number")
            p.add_run(f"[{c.get('n')}] {_head(c)}")
            parts = None if str(c.get("n")) in placed else _table_quote(c, tables_of(c) if tables_of else ())
            if parts is not None:
                p.add_run("：")
                _docx_blocks(doc, _quoted(parts, "“”"), italic=True)
            elif c.get("quote") and str(c.get("n")) not in placed:
                p.add_run(f"：“{c['quote'].strip()}”").italic = True
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _docx_blocks(doc, blocks: Sequence[Block], italic: bool = False) -> None:
    """Paragraphs (one per line) and tables (header row bold; a cell over several columns merged)."""
    for b in blocks:
        if isinstance(b, str):
            for para in b.split("\n"):
                if para.strip():
                    doc.add_paragraph().add_run(para.strip()).italic = italic
            continue
        width = sum(cols for _, cols in b[0][1])
        table = doc.add_table(rows=len(b), cols=width)
        table.style = "Table Grid"
        for r, (header, cells) in enumerate(b):
            col = 0
            for text, cols in cells:
                cell = table.cell(r, col)
                if cols > 1:
                    cell = cell.merge(table.cell(r, col + cols - 1))
                cell.paragraphs[0].add_run(text).bold = header
                col += cols
