"""Loading real plan files in every supported format, and refusing bad ones clearly."""
from __future__ import annotations

import io
import os
import re
import tracemalloc
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from assistant.corpus import load_plans
from assistant.errors import LoadError
from assistant.loaders import load_file, load_many

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PLANS = load_plans(CORPUS)


def _plan_text(plan_id: str) -> str:
    meta = next(m for m in PLANS if m.id == plan_id)
    return (CORPUS / meta.file).read_text(encoding="utf-8")


def _lines(text: str) -> list[str]:
    """Non-empty lines with whitespace removed: what survives any re-layout."""
    return [re.sub(r"\s+", "", ln) for ln in text.split("\n") if ln.strip()]


def _assert_load_error(path: Path, *reason_words: str) -> LoadError:
    return _assert_load_error_kw(path, {}, *reason_words)


def _assert_load_error_kw(path: Path, kwargs: dict, *reason_words: str) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_file(path, **kwargs)
    msg = str(info.value)
    assert path.name in msg, msg
    for word in reason_words:
        assert word.lower() in msg.lower(), msg
    return info.value


# ---------------------------------------------------------------- good files


@pytest.mark.parametrize("meta", PLANS, ids=[m.id for m in PLANS])
def test_corpus_plans_load_as_utf8_text(meta):
    raw = (CORPUS / meta.file).read_bytes()
    loaded = load_file(CORPUS / meta.file)
    assert loaded.fmt == "txt"
    assert loaded.encoding == "utf-8"
    assert loaded.text == raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    assert loaded.pages == []


def test_gb18030_copy_loads_to_same_text(tmp_path):
    text = _plan_text("shaoxing")
    p = tmp_path / "shaoxing-gb.txt"
    p.write_bytes(text.encode("gb18030"))
    loaded = load_file(p)
    assert loaded.encoding == "gb18030"
    assert loaded.text == text


def test_utf8_bom_and_crlf(tmp_path):
    text = _plan_text("ningbo")
    p = tmp_path / "ningbo-bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    loaded = load_file(p)
    assert loaded.encoding == "utf-8-sig"
    assert loaded.text == text


def test_traditional_big5_copy_is_detected(tmp_path):
    # Neither UTF-8 nor GB18030: falls to charset detection, which must get it right.
    text = _plan_text("yuncheng")
    # the pinyin notes and mojibake headings are not all in Big5; keep the lines that are
    lines = []
    for ln in text.split("\n"):
        try:
            ln.encode("big5")
            lines.append(ln)
        except UnicodeEncodeError:
            pass
    big5_text = "\n".join(lines)
    p = tmp_path / "yuncheng-big5.txt"
    p.write_bytes(big5_text.encode("big5"))
    loaded = load_file(p)
    assert loaded.encoding.replace("_", "").replace("-", "").lower() in {"big5", "big5hkscs", "cp950"}
    assert loaded.text == big5_text


def _html_page(text: str, charset: str = "utf-8") -> str:
    body = []
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    # the first few lines as a table, the rest as paragraphs, as scraped pages have them
    body.append("<table><tr>" + "".join(f"<td>{escape(c)}</td>" for c in lines[:2]) + "</tr></table>")
    body.extend(f"<p>{escape(ln)}</p>" for ln in lines[2:])
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="{charset}"><title>t</title>'
        "<style>p { color: red }</style><script>var x = '不应出现';</script></head>"
        "<body><nav>首页 &gt; 政策文件</nav>\n" + "\n".join(body) + "</body></html>"
    )


def test_html_page_built_from_plan(tmp_path):
    text = _plan_text("shaoxing")
    p = tmp_path / "shaoxing.html"
    p.write_text(_html_page(text), encoding="utf-8")
    loaded = load_file(p)
    assert loaded.fmt == "html"
    assert _lines(loaded.text) == _lines(text)
    assert "不应出现" not in loaded.text and "政策文件" not in loaded.text.split("\n")[0]


def test_html_gbk_meta_charset_and_sniffed_without_extension(tmp_path):
    text = _plan_text("ningbo")
    p = tmp_path / "ningbo-page.txt"  # HTML saved with the wrong extension
    p.write_bytes(_html_page(text, charset="gbk").encode("gb18030"))
    loaded = load_file(p)
    assert loaded.fmt == "html"
    assert loaded.encoding == "gb18030"
    assert _lines(loaded.text) == _lines(text)


def test_docx_with_paragraphs_and_table(tmp_path):
    import docx

    text = _plan_text("shaoxing")
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    cut = len(lines) // 2
    rows = [lines[cut + i : cut + i + 3] for i in range(0, 30, 3)]
    document = docx.Document()
    for ln in lines[:cut]:
        document.add_paragraph(ln)
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, cell_text in enumerate(row):
            table.cell(r, c).text = cell_text
    for ln in lines[cut + 30 :]:
        document.add_paragraph(ln)
    p = tmp_path / "shaoxing.docx"
    document.save(p)

    loaded = load_file(p)
    assert loaded.fmt == "docx"
    # body order; the table a Markdown pipe table (its first row the header), so its rows keep their cells
    table = ["| " + " | ".join(row) + " |" for row in rows]
    assert _lines(loaded.text) == _lines("\n".join([*lines[:cut], table[0], "|---|---|---|", *table[1:], *lines[cut + 30:]]))


def test_tables_without_a_serial_column_keep_their_rows_and_columns(tmp_path):
    """docx and HTML tables reached the parser one cell per line, so a table without a
    序号 column lost its rows: now each row is a clause with its cells under the column
    names, a cell over two columns stays one cell, and a layout table stays text."""
    import docx

    from assistant.ingest import parse_document
    from assistant.models import PlanMeta

    head = ["指标", "2020年实际值", "2025年目标值"]
    body = [["地理标志有效量(件)", "17", "26"], ["PCT国际专利申请量(件)", "255", "400"]]
    document = docx.Document()
    document.add_paragraph("一、发展目标")
    document.add_paragraph("表1 主要指标")
    t = document.add_table(rows=4, cols=3)
    for r, row in enumerate([head, *body, ["合计", "", "未分列"]]):
        for c, text in enumerate(row):
            t.cell(r, c).text = text
    t.cell(3, 1).merge(t.cell(3, 2))
    document.add_paragraph("二、保障措施")
    document.add_paragraph("（一）加强组织领导。")
    p = tmp_path / "plan.docx"
    document.save(p)
    html = tmp_path / "plan.html"
    html.write_text("<html><body><p>一、发展目标</p><p>表1 主要指标</p><table>"
                    + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in [head, *body])
                    + '<tr><td>合计</td><td colspan="2">未分列</td></tr></table>'
                    "<table><tr><td>页面导航</td></tr><tr><td>" + "长" * 300 + "</td></tr></table>"
                    "<p>二、保障措施</p><p>（一）加强组织领导。</p></body></html>", encoding="utf-8")
    for path in (p, html):
        doc = parse_document(load_file(path), PlanMeta(id="plan", file=path.name))
        rows = [c for c in doc.clauses if c.level == "table_row"]
        assert [c.path for c in rows] == ["一、表1 第1项", "一、表1 第2项", "一、表1 第3项"], path.suffix
        assert rows[0].fields == dict(zip(head, body[0])) and rows[1].fields["2025年目标值"] == "400"
        assert rows[2].fields == {"指标": "合计", "2020年实际值／2025年目标值": "未分列"}
        assert "（一）加强组织领导。" in [c.text for c in doc.clauses]
    # a one-column layout table with a long cell is read as text, one line per cell
    assert "\n页面导航\n" + "长" * 300 + "\n" in load_file(html).text


def test_pdf_named_txt_is_sniffed(tmp_path, ningbo_pdf_bytes):
    p = tmp_path / "really-a-pdf.txt"
    p.write_bytes(ningbo_pdf_bytes)
    loaded = load_file(p)
    assert loaded.fmt == "pdf"
    assert re.sub(r"\s+", "", loaded.text) == re.sub(r"\s+", "", _plan_text("ningbo"))


def test_pdf_with_owner_password_only_opens(tmp_path, ningbo_pdf_bytes):
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(ningbo_pdf_bytes)))
    writer.encrypt(user_password="", owner_password="owner-secret")
    p = tmp_path / "restricted.pdf"
    with open(p, "wb") as fh:
        writer.write(fh)
    assert pypdf.PdfReader(p).is_encrypted
    loaded = load_file(p)
    assert re.sub(r"\s+", "", loaded.text) == re.sub(r"\s+", "", _plan_text("ningbo"))


# ---------------------------------------------------------------- bad files


def test_empty_file(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    _assert_load_error(p, "empty")


def test_whitespace_only_file(tmp_path):
    p = tmp_path / "blank.txt"
    p.write_text(" \n\t\n\u3000\n", encoding="utf-8")
    _assert_load_error(p, "no text")


def test_random_bytes(tmp_path):
    p = tmp_path / "garbage.txt"
    p.write_bytes(os.urandom(64 * 1024))
    _assert_load_error(p, "binary")


def test_png_renamed_txt(tmp_path):
    import zlib
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" + b"\xff" * 6 + b"\x00" + b"\x00" * 6))
        + chunk(b"IEND", b"")
    )
    p = tmp_path / "scan.txt"
    p.write_bytes(png)
    _assert_load_error(p, "PNG")


def test_docx_that_is_not_a_zip(tmp_path):
    p = tmp_path / "plan.docx"
    p.write_text(_plan_text("ningbo"), encoding="utf-8")
    _assert_load_error(p, "not a zip")


def test_zip_that_is_not_a_docx(tmp_path):
    import zipfile

    p = tmp_path / "plan.docx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "hello")
    _assert_load_error(p, "word/document.xml")


def test_encrypted_pdf(tmp_path, ningbo_pdf_bytes):
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(ningbo_pdf_bytes)))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    p = tmp_path / "locked.pdf"
    with open(p, "wb") as fh:
        writer.write(fh)
    _assert_load_error(p, "encrypted PDF; supply an unencrypted copy")


def test_truncated_pdf(tmp_path, ningbo_pdf_bytes):
    p = tmp_path / "cut.pdf"
    p.write_bytes(ningbo_pdf_bytes[: len(ningbo_pdf_bytes) // 2])
    _assert_load_error(p, "corrupt")


def test_pdf_with_damaged_body(tmp_path, ningbo_pdf_bytes):
    # Header and end marker intact, the middle overwritten: still refused, not half-read.
    data = bytearray(ningbo_pdf_bytes)
    mid = len(data) // 3
    data[mid : mid + len(data) // 3] = os.urandom(len(data) // 3)
    p = tmp_path / "damaged.pdf"
    p.write_bytes(bytes(data))
    try:
        loaded = load_file(p)
    except LoadError as e:
        assert p.name in str(e)
    else:
        # pypdf may recover pages whose objects survived; what it returns must be real text
        assert loaded.text.strip() and loaded.fmt == "pdf"


def test_pdf_without_text_needs_ocr(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    p = tmp_path / "scanned.pdf"
    c = canvas.Canvas(str(p), pagesize=A4)
    for _ in range(2):
        c.rect(50, 50, 400, 600, fill=1)  # a drawing, as a scanned page has an image, no text
        c.showPage()
    c.save()
    _assert_load_error(p, "OCR")


def test_pdf_extension_without_pdf_content(tmp_path):
    p = tmp_path / "plan.pdf"
    p.write_text(_plan_text("ningbo"), encoding="utf-8")
    _assert_load_error(p, "no PDF header")


def test_file_over_size_limit_is_refused_without_reading_it(tmp_path):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as fh:
        fh.write(_plan_text("ningbo").encode("utf-8"))
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, no time to write
    tracemalloc.start()
    try:
        err = _assert_load_error(p, "MB", "limit")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"peak allocation {peak} bytes: the file was read"
    assert "50.0 MB" in err.reason


def test_size_limit_is_a_parameter(tmp_path):
    p = CORPUS / next(m.file for m in PLANS if m.id == "ningbo")
    size_mb = p.stat().st_size / 1024 / 1024
    assert load_file(p, max_mb=size_mb * 1.01).fmt == "txt"
    _assert_load_error_kw(p, {"max_mb": size_mb * 0.99}, "limit")


def test_directory(tmp_path):
    d = tmp_path / "a-folder.txt"
    d.mkdir()
    _assert_load_error(d, "directory")


def test_missing_file(tmp_path):
    _assert_load_error(tmp_path / "nowhere.txt", "no such file")


def test_load_many_keeps_good_files_and_reports_bad(tmp_path):
    good = [CORPUS / m.file for m in PLANS]
    bad_empty = tmp_path / "empty.txt"
    bad_empty.write_bytes(b"")
    bad_docx = tmp_path / "broken.docx"
    bad_docx.write_bytes(b"not a zip at all")
    missing = tmp_path / "missing.html"
    paths = [good[0], bad_empty, *good[1:3], bad_docx, missing, *good[3:]]

    loaded, errors = load_many(paths)
    assert [lt.path for lt in loaded] == [str(p) for p in good]
    assert [Path(e.path).name for e in errors] == ["empty.txt", "broken.docx", "missing.html"]
    assert all(e.reason for e in errors)


@pytest.fixture(scope="module")
def ningbo_pdf_bytes() -> bytes:
    from test_pdf_roundtrip import build_plan_pdf

    return build_plan_pdf(_plan_text("ningbo"))
