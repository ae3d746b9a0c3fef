"""Answers and conversations as documents people keep: Markdown and Word (.docx).

``citation_text`` is the one way a citation is written as text (《title》 path:
“quote”): the card's "copy citation", the answer's "copy", the API's sources
block and both exports use it. ``answer_markdown`` is one answer with its sources;
``conversation_markdown`` and ``conversation_docx`` a whole conversation (the
failed turns are left out).
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Sequence


def with_brackets(title: str) -> str:
    title = (title or "").strip()
    if title and not title.startswith("《"):
        title = f"《{title}》"
    return title


def citation_text(c: dict[str, Any]) -> str:
    """《title》 path: “quote”."""
    quote = (c.get("quote") or "").strip()
    head = f"{with_brackets(c.get('title', ''))} {c.get('path', '')}".strip()
    return f"{head}: “{quote}”" if quote else head


def answer_markdown(answer: dict[str, Any]) -> str:
    """One answer as clean Markdown with its sources (no HTML; the [n] markers kept)."""
    text = (answer.get("answer") or "").strip()
    cites = answer.get("citations") or []
    if not cites:
        return text
    refs = "\n".join(f"[{c.get('n')}] {citation_text(c)}" for c in cites)
    return f"{text}\n\n出处：\n{refs}"


def _answered(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in turns if not t.get("error")]


def conversation_markdown(turns: Sequence[dict[str, Any]], title: str = "对话记录") -> str:
    parts = [f"# {title}", f"导出时间：{datetime.now():%Y-%m-%d %H:%M}"]
    for t in _answered(turns):
        parts.append(f"## 问：{t.get('question', '')}")
        parts.append(answer_markdown(t))
    return "\n\n".join(parts) + "\n"


def conversation_docx(turns: Sequence[dict[str, Any]], title: str = "对话记录") -> bytes:
    """The conversation as a Word document: each question a heading, the answer, then
    its sources as a numbered list with the quoted sentence."""
    import docx

    doc = docx.Document()
    doc.add_heading(title, level=1)
    doc.add_paragraph(f"导出时间：{datetime.now():%Y-%m-%d %H:%M}")
    for t in _answered(turns):
        doc.add_heading(f"问：{t.get('question', '')}", level=2)
        for para in (t.get("answer") or "").strip().split("\n"):
            if para.strip():
                doc.add_paragraph(para.strip())
        cites = t.get("citations") or []
        if cites:
            doc.add_paragraph("出处：")
            for c in cites:
                p = doc.add_paragraph(style="List Number")
                p.add_run(f"[{c.get('n')}] {with_brackets(c.get('title', ''))} {c.get('path', '')}".strip())
                if c.get("quote"):
                    p.add_run(f"：“{c['quote'].strip()}”").italic = True
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
