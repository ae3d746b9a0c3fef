"""Documents in the forms users add them, unlike the laws and the five plans: a city's
实施意见 copied out of its PDF as text (hard-wrapped lines, page numbers, a running
header, a title broken over two lines), the same document as a printed PDF, and a
方案 saved from a government website (navigation, info table, tool bars, footer; an
issuing 通知 without 《》; 第一部分 … with 一、 restarting in each part; 专栏 boxes).

The documents are constructed (tests/data/constructed/README.md): real forms, invented
content. Each is loaded, cleaned and parsed as ingest does, and checked against its
own paragraphs (``…-paragraphs.txt``: the same text one paragraph per line).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from assistant.ingest import parse_document
from assistant.loaders import load_file
from assistant.models import PlanMeta

DATA = Path(__file__).resolve().parent / "data" / "constructed"
WENZHOU_TXT = DATA / "温政办〔2023〕45号.txt"
WENZHOU_PARAGRAPHS = DATA / "温政办〔2023〕45号-paragraphs.txt"
HANGZHOU_HTML = DATA / "杭州方案.html"
PAGE_NUMBER_RE = re.compile(r"[—－-]\s*\d+\s*[—－-]")

WENZHOU_PATHS = [
    "前言", "一、", "一、（一）", "一、（二）", "二、", "二、（一）", "二、（一）1.", "二、（一）2.",
    "二、（二）", "二、（二）1.", "二、（二）2.", "二、（二）2.（1）", "二、（二）2.（2）",
    "二、（三）", "二、（三）1.", "二、（三）1.①", "二、（三）1.②", "二、（三）1.③", "二、（三）2.",
    "三、", "三、（一）", "三、（二）", "附件", "附件 表", "附件 第1项", "附件 第2项", "附件 第3项", "附件（续）",
]


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _parse(path: Path):
    meta = PlanMeta(id="doc", file=path.name, title="")
    return parse_document(load_file(path), meta)


def _paragraphs() -> list[str]:
    return [ln for ln in WENZHOU_PARAGRAPHS.read_text(encoding="utf-8").split("\n") if ln.strip()]


def _assert_reads_as_its_paragraphs(result, header: str = "", last_joined: bool = False) -> None:
    """Every paragraph of the document is one line of the clean text, whole; no page number
    and no running header (beyond the page-1 line ``header``) is left in any clause."""
    lines = [_squash(ln) for ln in result.clean_text.split("\n") if ln.strip()]
    if header:
        assert lines.count(_squash(header)) <= 1
        lines = [ln for ln in lines if ln != _squash(header)]
    want = [_squash(p) for p in _paragraphs()]
    title = "温州市人民政府办公室关于加快建设知识产权强市的实施意见"
    # the title may stay on the two lines it is printed on
    got = "\n".join(lines).replace("关于加快建设知识产权\n强市", "关于加快建设知识产权强市").split("\n")
    if last_joined:
        # the 版记's 抄送 line ends in 。 exactly at the right margin: the PDF loader cannot
        # tell it from a wrapped line and joins the 印发 line to it
        want[-2:] = ["".join(want[-2:])]
    assert got == want
    assert not any(PAGE_NUMBER_RE.search(c.text) for c in result.clauses)
    assert result.meta.title == title


def test_pdf_copied_as_text_reads_as_its_paragraphs():
    result = _parse(WENZHOU_TXT)
    _assert_reads_as_its_paragraphs(result)
    # the running header is the 文件头 once, at the top, never inside a clause's sentences
    assert sum(c.text.count("温州市人民政府办公室文件") for c in result.clauses) == 1
    assert [c.path for c in result.clauses] == WENZHOU_PATHS
    by_path = {c.path: c for c in result.clauses}
    # a sentence cut by a page break is whole again, in its own item
    assert "对新获得马德里国际注册的商标，每件给予1万元资助" in by_path["二、（一）2."].text
    assert "深入实施知识产权强国战略" in by_path["一、（一）"].text
    meta = result.meta
    assert (meta.place, meta.issuer, meta.doc_type) == ("温州市", "温州市人民政府办公室", "opinion")
    assert meta.date == "2023-06-12"  # the 落款 date, not a page-broken line's
    # the same text one paragraph per line: the hard-wrap rule leaves it as it is
    result = _parse(WENZHOU_PARAGRAPHS)
    _assert_reads_as_its_paragraphs(result)
    assert [c.path for c in result.clauses] == WENZHOU_PATHS




def _cjk_font() -> str:
    from tests.test_pdf_roundtrip import FONT_NAMES, find_cjk_font

    font = find_cjk_font()
    if font is None:
        pytest.skip(f"no CJK TrueType font ({', '.join(FONT_NAMES)}); install fonts-wqy-zenhei")
    return font


def _official_pdf(paragraphs: list[str], header: str) -> bytes:
    """Printed as GB/T 9704 lays out an official document (三号 type, 16 pt, first-line
    indent of two characters), with a running header and “— N —” at the foot of each page."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    font, size = _cjk_font(), 16
    style = ParagraphStyle("body", fontName=font, fontSize=size, leading=size * 1.6, wordWrap="CJK",
                           firstLineIndent=2 * size)

    def furniture(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 10.5)
        canvas.drawCentredString(A4[0] / 2, A4[1] - 40, header)
        canvas.setFont(font, 14)
        canvas.drawCentredString(A4[0] / 2, 40, f"— {doc.page} —")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title="doc")
    doc.build([Paragraph(escape(p), style) for p in paragraphs], onFirstPage=furniture, onLaterPages=furniture)
    return buf.getvalue()


def test_printed_pdf_with_page_numbers_and_running_header(tmp_path):
    header = "温州市人民政府公报 2023年第7期"
    pdf = tmp_path / "wenzhou.pdf"
    pdf.write_bytes(_official_pdf(_paragraphs(), header))
    loaded = load_file(pdf)
    assert len(loaded.pages) >= 3
    result = parse_document(loaded, PlanMeta(id="doc", file=pdf.name, title=""))
    _assert_reads_as_its_paragraphs(result, header=header, last_joined=True)
    assert [c.path for c in result.clauses] == WENZHOU_PATHS


SITE_CHROME = ["首页", "无障碍", "当前位置", "索引号", "发文字号", "主题分类", "字体", "打印本页", "关闭窗口",
               "相关链接", "扫一扫", "主办单位", "网站标识码", "ICP备", "网站地图"]


def test_government_web_page_is_its_document():
    result = _parse(HANGZHOU_HTML)
    text = result.clean_text
    assert [w for w in SITE_CHROME if w in text] == []
    assert text.startswith("杭州市人民政府办公厅关于印发杭州市知识产权强市建设三年行动方案（2024—2026年）的通知")
    meta = result.meta
    # the issuing 通知 names the document it issues without 《》, as web pages print it
    assert meta.title == "杭州市知识产权强市建设三年行动方案（2024—2026年）"
    assert (meta.place, meta.issuer, meta.doc_type, meta.date) == ("杭州市", "杭州市人民政府办公厅", "scheme", "2024-03-08")
    paths = [c.path for c in result.clauses]
    assert paths == [
        "前言", "第一部分", "第一部分一、", "第一部分二、", "第二部分", "第二部分一、", "第二部分一、（一）",
        "第二部分一、（二）", "第二部分一、（二）专栏1", "第二部分二、", "第二部分二、（一）", "第二部分二、（二）",
        "第二部分二、（二）专栏2", "第三部分", "第三部分一、", "第三部分二、",
    ]
    last = result.clauses[-1].text
    assert last.endswith("市级财政每年安排知识产权专项资金3亿元。")


def test_article_header_and_title_in_a_web_page_are_kept(tmp_path):
    """A page whose document is an <article> with its own <header> (the title) and a
    <footer> (the 落款) inside it keeps both: only the page's own chrome goes."""
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><nav>首页 政务公开</nav>"
        "<article><header><h1>绍兴市专利导航项目管理办法</h1></header>"
        "<p>第一条 为规范专利导航项目管理，制定本办法。</p><p>第二条 本办法自2024年1月1日起施行。</p>"
        "</article><footer>网站标识码：3306000001</footer></body></html>", encoding="utf-8")
    result = _parse(page)
    assert result.meta.title == "绍兴市专利导航项目管理办法"
    assert [c.path for c in result.clauses] == ["题注", "第一条", "第二条"]
    assert "首页" not in result.clean_text and "网站标识码" not in result.clean_text


def test_rules_published_by_a_decree_in_a_word_file(tmp_path):
    """A province's 办法 as its 政府令 publishes it, saved as .docx (the 令 and the title in
    Word's heading style, chapters as headings): the document is the 办法 the decree
    publishes, issued by the government the decree names; the 令's own lines are its 题注."""
    import docx

    source = DATA / "江苏省专利促进办法-令.txt"
    document = docx.Document()
    for line in [ln for ln in source.read_text(encoding="utf-8").split("\n") if ln.strip()]:
        if re.match(r"第.{1,3}章", line):
            document.add_heading(line, level=2)
        elif line in ("江苏省人民政府令", "江苏省专利促进办法"):
            document.add_heading(line, level=1)
        else:
            document.add_paragraph(line)
    path = tmp_path / "令158.docx"
    document.save(path)
    result = _parse(path)
    meta = result.meta
    assert (meta.title, meta.issuer, meta.place, meta.doc_type) == (
        "江苏省专利促进办法", "江苏省人民政府", "江苏省", "measures")
    assert meta.dates["effective"] == "2024-05-01"
    paths = [c.path for c in result.clauses]
    assert paths[:2] == ["题注", "序言"]
    assert "第二章 第四条（三）" in paths and paths[-1] == "第四章 第八条"
    assert len([p for p in paths if p.endswith("条")]) == 8
