"""A real plan printed to a multi-page PDF reads back as the same text and the same clauses.

The PDF is made with reportlab and an embedded CJK TrueType font (Debian package
fonts-wqy-zenhei in CI), laid out the way Chinese official documents are: wrapped
paragraphs with a two-character first-line indent, split across pages. Wrapping
puts line breaks inside paragraphs; those are layout, and the loader has to take
them out again or clause parsing sees different lines.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from assistant.corpus import load_plans
from assistant.loaders import load_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts"]
# TrueType-outline CJK fonts, best first (reportlab cannot embed CFF-based .otf such as Noto CJK)
FONT_NAMES = ["wqy-zenhei.ttc", "wqy-microhei.ttc", "DroidSansFallbackFull.ttf", "uming.ttc", "ukai.ttc"]
FONT_SIZE = 10.5


@lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Register the first installed CJK TrueType font with reportlab; return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for wanted in FONT_NAMES:
        for d in FONT_DIRS:
            for path in sorted(Path(d).expanduser().rglob(wanted)) if Path(d).expanduser().is_dir() else []:
                try:
                    font = TTFont("PlanCJK", str(path), subfontIndex=0)
                except Exception:
                    continue
                if ord("权") in font.face.charToGlyph:
                    pdfmetrics.registerFont(font)
                    return "PlanCJK"
    return None


def build_plan_pdf(text: str) -> bytes:
    """Print ``text`` to A4 pages, one paragraph per non-empty line, wrapped and indented."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    font = find_cjk_font()
    if font is None:
        pytest.skip(f"no CJK TrueType font ({', '.join(FONT_NAMES)}) in {FONT_DIRS}; install fonts-wqy-zenhei")
    style = ParagraphStyle(
        "body", fontName=font, fontSize=FONT_SIZE, leading=FONT_SIZE * 1.5,
        wordWrap="CJK", firstLineIndent=2 * FONT_SIZE,
    )
    story = [Paragraph(escape(ln.strip()), style) for ln in text.split("\n") if ln.strip()]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title="plan").build(story)
    return buf.getvalue()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


PLANS = {m.id: m for m in load_plans(CORPUS)}


@pytest.mark.parametrize("plan_id", ["ningbo", "shaoxing"])
def test_plan_pdf_roundtrip(tmp_path, plan_id):
    from assistant.ingest import parse_document

    meta = PLANS[plan_id]
    source = load_file(CORPUS / meta.file)
    pdf_path = tmp_path / f"{plan_id}.pdf"
    pdf_path.write_bytes(build_plan_pdf(source.text))

    loaded = load_file(pdf_path)
    assert loaded.fmt == "pdf"
    # several pages, page offsets increasing and pointing at the page's first text
    assert len(loaded.pages) >= 3
    assert [n for _, n in loaded.pages] == list(range(1, len(loaded.pages) + 1))
    offsets = [o for o, _ in loaded.pages]
    assert offsets == sorted(offsets) and offsets[0] == 0 and offsets[-1] < len(loaded.text)

    # same characters …
    assert _squash(loaded.text) == _squash(source.text)
    # … and the same lines: wrap breaks (within and across pages) are gone, paragraph breaks kept
    want = [_squash(ln) for ln in source.text.split("\n") if ln.strip()]
    got = [_squash(ln) for ln in loaded.text.split("\n") if ln.strip()]
    assert got == want

    # the key property: clause parsing cannot tell the PDF from the .txt
    from_txt = parse_document(source, meta).clauses
    from_pdf = parse_document(loaded, meta).clauses
    assert len(from_txt) > 10
    assert [(c.path, c.heading) for c in from_pdf] == [(c.path, c.heading) for c in from_txt]
    assert [_squash(c.text) for c in from_pdf] == [_squash(c.text) for c in from_txt]
