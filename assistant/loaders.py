"""Read documents (txt, Markdown, PDF, HTML, docx) into plain text.

The format is decided by the file's content first and its extension second:
a PDF saved as ``.txt`` is still read as a PDF (``LoadedText.fmt`` records what
was actually read), while a file whose content contradicts a binary extension
(a ``.docx`` that is not a zip, a ``.pdf`` without a PDF header) is refused,
because it is damaged or mislabelled and guessing would ingest garbage.

Text is returned as decoded, not cleaned (``cleaning.py`` does that); the only
changes are line endings normalised to ``\\n`` and, for formats that have no
plain-text form (PDF, HTML, docx), the line structure rebuilt from the layout.

Every failure a user can cause is a ``LoadError(path, reason)``.
"""
from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import lexicons
from .errors import LoadError
from .models import LoadedText

# How much of the file is looked at to decide its format.
SNIFF_BYTES = 8192

# Magic numbers of binary formats people drop into folders by mistake.
_BINARY_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"RIFF", "RIFF media file"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"),
    (b"MZ", "Windows executable"),
]
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls
_ZIP_MAGIC = b"PK\x03\x04"
_PDF_MAGIC = b"%PDF-"

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}

# A text sniffs as HTML when it opens with a doctype or one of the document-level tags.
_HTML_START_RE = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)

# GB2312 and GBK are subsets of GB18030; decoding with the superset never loses characters.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "gb18030", "x-gbk", "euc-cn"}

# Decompression bombs: what one file may expand to, beyond its size on disk (which
# max_file_mb bounds). A small docx or PDF can inflate to gigabytes and minutes of
# parsing; these limits refuse it, naming the file, before the expensive work.
MAX_EXPANDED_MB = 64.0  # the setting max_expanded_mb: a docx's parts together, a PDF's decoded streams, the text
# A docx part compressed more than this (and over 1 MB unzipped) is a bomb: Word's
# XML compresses 5–20:1, and 100:1 only when it is one thing repeated.
MAX_ZIP_RATIO = 100
ZIP_RATIO_MIN_BYTES = 1 << 20
MAX_PDF_PAGES = 5000
# Elements of an HTML page: the parse tree costs time and memory per element
# (a 500-page law is some 20,000); a page of millions of empty tags is a bomb.
MAX_HTML_ELEMENTS = 200_000
_HTML_ELEMENT_RE = re.compile(rb"<[A-Za-z]")


# ---------------------------------------------------------------- public API


def load_file(path: str | Path, max_mb: float = 20.0, max_expanded_mb: float = MAX_EXPANDED_MB) -> LoadedText:
    """Read one document; raise ``LoadError`` naming the file and the reason.

    ``max_mb`` bounds the file's size, ``max_expanded_mb`` what it may expand to
    (see ``MAX_EXPANDED_MB``)."""
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise LoadError(name, "no such file")
    if p.is_dir():
        raise LoadError(name, "is a directory, not a document file")
    if not p.is_file():
        raise LoadError(name, "is not a regular file")
    size = p.stat().st_size
    # Checked on the size the file system reports, before reading anything.
    if size > max_mb * 1024 * 1024:
        raise LoadError(
            name, f"file is {size / 1024 / 1024:.1f} MB, over the {max_mb:g} MB limit (setting max_file_mb)"
        )
    if size == 0:
        raise LoadError(name, "empty file (0 bytes)")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise LoadError(name, f"cannot be read: {e.strerror or e}") from e
    return load_bytes(name, data, max_expanded_mb)


def load_bytes(name: str, data: bytes, max_expanded_mb: float = MAX_EXPANDED_MB) -> LoadedText:
    """Read one document from its bytes (``name`` gives the extension and is the name
    errors use): the part of ``load_file`` after reading, for documents that come
    from an archive rather than a file."""
    limit = int(max_expanded_mb * 1024 * 1024)
    if not data:
        raise LoadError(name, "empty file (0 bytes)")
    suffix = Path(name).suffix.lower()
    head = data[:SNIFF_BYTES]

    # A PDF header may be preceded by junk bytes; readers accept it within the first KB.
    if _PDF_MAGIC in data[:1024]:
        return _load_pdf(name, data, limit)
    if suffix == ".pdf":
        raise LoadError(name, "named .pdf but has no PDF header: damaged or not a PDF file")
    if head.startswith(_ZIP_MAGIC):
        return _load_docx(name, data, limit)
    if suffix == ".docx":
        raise LoadError(name, "named .docx but is not a zip archive: damaged or not a Word .docx file")
    if head.startswith(_OLE_MAGIC):
        raise LoadError(name, "legacy Word/Excel (OLE) file; save it as .docx or .txt and add it again")
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise LoadError(name, f"binary file ({what}), not a text document")

    text, encoding = _decode_text(name, data)
    if suffix in HTML_SUFFIXES or _HTML_START_RE.match(text[:SNIFF_BYTES]):
        # Decode again if the page declares its own charset and our guess differs.
        declared = _declared_charset(head)
        if declared and codecs.lookup(declared).name != codecs.lookup(encoding).name:
            try:
                text, encoding = _normalise_newlines(data.decode(declared)), declared
            except UnicodeDecodeError:
                pass  # the declaration is wrong; keep the detected encoding
        _check_html_elements(name, data)
        return LoadedText(path=name, text=_html_to_text(name, text), fmt="html", encoding=encoding)
    if suffix in MARKDOWN_SUFFIXES:
        body, title = markdown_to_text(text)
        if not body.strip():
            raise LoadError(name, "Markdown file contains no text (only front matter, comments or markup)")
        return LoadedText(path=name, text=body, fmt="md", encoding=encoding, title=title)
    return LoadedText(path=name, text=text, fmt="txt", encoding=encoding)


def load_many(
    paths: Iterable[str | Path], max_mb: float = 20.0, progress: bool | None = None,
    max_expanded_mb: float = MAX_EXPANDED_MB,
) -> tuple[list[LoadedText], list[LoadError]]:
    """Load every file that can be loaded; report the others instead of stopping.

    ``progress=None`` shows a progress bar only on a terminal.
    """
    from tqdm import tqdm

    paths = list(paths)
    loaded: list[LoadedText] = []
    errors: list[LoadError] = []
    for p in tqdm(paths, desc="Loading documents", unit="file", disable=None if progress is None else not progress):
        try:
            loaded.append(load_file(p, max_mb=max_mb, max_expanded_mb=max_expanded_mb))
        except LoadError as e:
            errors.append(e)
    return loaded, errors


# ---------------------------------------------------------------- plain text


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_text(name: str, data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8, else GB18030, else a confident charset-normalizer guess."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        # NUL bytes do not occur in UTF-8 or GB18030 text; without a UTF-16 BOM they mean binary data.
        if b"\x00" in data[:SNIFF_BYTES]:
            raise LoadError(name, "binary data (contains NUL bytes), not a text document")
        candidates = ["utf-8", "gb18030"]

    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        # GB18030 maps almost every byte sequence to *some* character, so a
        # successful decode of, say, Latin-1 text is not proof; demand that the
        # result looks like text.
        if enc == "gb18030" and _implausible_chars(text) > 0.01:
            continue
        return _checked_text(name, text, enc), enc

    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    # chaos is the share of the decoded text that looks like mojibake; above a
    # few percent the guess is not worth ingesting.
    if best is None or best.chaos > 0.1:
        raise LoadError(
            name,
            "not UTF-8 or GB18030 and no other encoding fits: binary data or an unknown text encoding",
        )
    return _checked_text(name, str(best), best.encoding), best.encoding


def _implausible_chars(text: str) -> float:
    """Share of characters that real Chinese or Western text practically never contains."""
    if not text:
        return 0.0
    bad = 0
    for ch in text:
        cp = ord(ch)
        if ch in "\n\r\t\f":
            continue
        cat = unicodedata.category(ch)
        # controls, unassigned, private use, and the rare-CJK / supplementary
        # ranges that GB18030 four-byte sequences produce from non-GB bytes
        if cat in ("Cc", "Cn", "Co", "Cs") or 0x3400 <= cp <= 0x4DBF or cp > 0xFFFF or 0x0080 <= cp <= 0x009F:
            bad += 1
    return bad / len(text)


def _checked_text(name: str, text: str, encoding: str) -> str:
    text = _normalise_newlines(text)
    if not text.strip():
        raise LoadError(name, "contains no text (only whitespace)")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\t\f\v")
    if controls / len(text) > 0.005:
        raise LoadError(name, f"binary data: decodes as {encoding} but is full of control characters")
    return text


# ---------------------------------------------------------------- Markdown

_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_HEADER_END_RE = re.compile(r"<!--\s*INFO END\s*-->", re.I)
_MD_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_MD_HEADING_LINE_RE = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$", re.M)
_MD_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_MD_EMPHASIS_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def markdown_to_text(md: str) -> tuple[str, str]:
    """Markdown → (text, title).

    Legal and policy texts in Markdown (the LawRefBook layout: a ``# `` title line,
    a header block of dates and bodies closed by ``<!-- INFO END -->``, ``##``/``###``
    headings, then the articles) are mostly plain text, and their clause markers
    (``1.``, ``（一）``) must survive verbatim, so this is a light conversion rather
    than a Markdown renderer: front matter and comments are dropped, links and
    images become their text, emphasis marks go. The header block becomes plain
    lines (its ``#`` title lines are the title, not structure); headings in the body
    keep their ``#`` marks, which the clause parser reads as heading depth.
    """
    text = _FRONT_MATTER_RE.sub("", md, count=1)
    m = _HEADER_END_RE.search(text)
    if m:
        head, body = text[:m.start()], text[m.end():]
    else:
        # no header block: a leading "# " line is the title
        first = re.match(r"\s*(#[ \t]+[^\n]*)(?:\n|\Z)", text)
        head, body = (text[:first.end()], text[first.end():]) if first else ("", text)
    head = _MD_COMMENT_RE.sub("", head)
    titles = [t.strip() for _, t in _MD_HEADING_LINE_RE.findall(head) if t.strip()]
    head = _MD_HEADING_LINE_RE.sub(lambda h: h.group(2), head)
    body = _MD_COMMENT_RE.sub("", body)
    out = head.rstrip("\n") + "\n\n" + body.lstrip("\n") if head.strip() else body
    out = _MD_IMAGE_RE.sub(lambda x: x.group(1), out)
    out = _MD_LINK_RE.sub(lambda x: x.group(1), out)
    out = _MD_EMPHASIS_RE.sub(lambda x: x.group(2), out)
    return out, " ".join(titles)


# ---------------------------------------------------------------- HTML


def _declared_charset(head: bytes) -> str | None:
    m = _META_CHARSET_RE.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii", "ignore").lower()
    if label in _GB_FAMILY:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


# Tags whose content is never document text.
_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "head", "svg", "iframe", "object")
# Tags that start and end a line; table cells included so each cell is its own line.
_BLOCK_TAGS = frozenset(
    """address article aside blockquote body caption center dd details dialog div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main ol p pre section summary
    table tbody td tfoot th thead title tr ul""".split()
)


def _chrome_words() -> tuple[frozenset[str], frozenset[str]]:
    html = lexicons.table("page_furniture.toml")["html"]
    return frozenset(html["tags"]), frozenset(html["class_words"])


def _is_chrome(tag, words: frozenset[str]) -> bool:
    names = " ".join(tag.get("class") or []) + " " + str(tag.get("id") or "")
    return any(w.lower() in words for w in re.split(r"[\s_\-]+", names) if w)


def _is_info_table(tag) -> bool:
    """The 信息公开 block of a government page (索引号： … 发文机关： … 成文日期： …): a table
    whose cells are, one in two at least, short labels ending in a colon."""
    cells = [c.get_text(" ", strip=True) for c in tag.find_all(["td", "th"])]
    labels = [c for c in cells if 2 <= len(c) <= 8 and c[-1] in ":："]
    return len(cells) >= 4 and len(labels) * 2 >= len(cells)


def _drop_page_chrome(soup) -> None:
    """The hosting page around the document goes: its navigation, header, footer, share and
    tool bars (tags and class or id words of ``lexicons/page_furniture.toml`` [html]) and its
    info table. An element holding the page's <h1> or over half its text is kept whatever
    its name (an <article>'s own <header> holds the title)."""
    tags, words = _chrome_words()
    total = len(soup.get_text("", strip=True)) or 1
    for tag in list(soup.find_all(True)):
        if tag.decomposed or tag.parent is None:
            continue
        if not (tag.name in tags or _is_chrome(tag, words) or (tag.name == "table" and _is_info_table(tag))):
            continue
        if tag.find("h1") is not None or len(tag.get_text("", strip=True)) * 2 > total:
            continue
        tag.decompose()


def _html_to_text(name: str, html: str) -> str:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction, CData

    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception as e:  # lxml rejects some malformed input outright
        raise LoadError(name, f"cannot be parsed as HTML: {e}") from e
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    _drop_page_chrome(soup)

    parts: list[str] = []
    skip = (Comment, Declaration, Doctype, ProcessingInstruction, CData)

    # Iterative walk: generated pages can nest deeper than Python's recursion limit.
    stack: list[object] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and node == "\0close":
            parts.append("\n")
            continue
        if isinstance(node, NavigableString):
            if isinstance(node, skip):
                continue
            in_pre = node.find_parent("pre") is not None
            parts.append(str(node) if in_pre else re.sub(r"[ \t\r\n\f]+", " ", str(node)))
            continue
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append("\n")
                continue
            if node.name == "table" and (rows := _html_table_lines(node)):
                parts.append("\n" + "\n".join(rows) + "\n")
                continue
            block = node.name in _BLOCK_TAGS
            if block:
                parts.append("\n")
                stack.append("\0close")
            stack.extend(reversed(node.contents))

    lines = (line.strip() for line in "".join(parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    if not text:
        raise LoadError(name, "HTML page contains no visible text")
    return text


# ---------------------------------------------------------------- docx


def _load_docx(name: str, data: bytes, limit: int) -> LoadedText:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = set(zf.namelist())
    except zipfile.BadZipFile as e:
        raise LoadError(name, f"damaged zip archive, cannot be read as .docx ({e})") from e
    if "word/document.xml" not in members:
        raise LoadError(name, "zip archive but not a Word .docx document (no word/document.xml)")
    _check_zip_expansion(name, zf, limit)

    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises KeyError, lxml errors, PackageNotFoundError …
        raise LoadError(name, f"damaged .docx, cannot be read ({type(e).__name__}: {e})") from e

    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
        else:
            lines.append(block.text)
    text = _normalise_newlines("\n".join(lines))
    if not text.strip():
        raise LoadError(name, ".docx document contains no text")
    return LoadedText(path=name, text=text, fmt="docx", encoding="")


def _check_zip_expansion(name: str, zf: zipfile.ZipFile, limit: int) -> None:
    """Refuse a zip whose members would unzip to more than ``limit`` bytes together, or
    one of which is compressed like a bomb. The sizes are the archive's own records,
    which zipfile holds a member to when it reads it (reading stops at the recorded
    size and a lie fails the CRC check), so checking them bounds what python-docx reads."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise LoadError(name, f"decompression bomb: {info.filename} unzips to {_mb(info.file_size)} from "
                                  f"{_mb(info.compress_size)} ({ratio:.0f}:1; a real document is under "
                                  f"{MAX_ZIP_RATIO}:1)")
    if total > limit:
        raise LoadError(name, f"unzips to {_mb(total)}, over the {_mb(limit)} limit (setting max_expanded_mb): "
                              "a decompression bomb or a document too large to read")


def _check_html_elements(name: str, data: bytes) -> None:
    n = len(_HTML_ELEMENT_RE.findall(data))
    if n > MAX_HTML_ELEMENTS:
        raise LoadError(name, f"HTML page has {n:,} elements, over the limit of {MAX_HTML_ELEMENTS:,}: "
                              "too large to parse (save its text as .txt instead)")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


# --------------------------------------------------------------- tables
# A data table (two rows and two columns at least, every cell short, no table inside)
# becomes a Markdown pipe table, its first row the header: the clause parser then keeps
# its rows and columns (each row a clause, its cells under their column names) and the
# app shows it as a table. A cell over several columns is followed by empty bars
# (``| 合计 ||| 9 |``, MultiMarkdown), which the parser and the renderer read as one
# cell. Other tables (layout tables: one column, long cells) give one line per cell.
MAX_TABLE_CELL_CHARS = 200
MAX_COLSPAN = 50

Row = list[tuple[str, int]]  # (cell text, number of columns it fills)


def table_as_pipe_lines(rows: list[Row]) -> list[str] | None:
    """The table's lines as a Markdown pipe table, or None when it is no data table."""
    rows = [[(" ".join(text.split()).replace("|", "｜"), span) for text, span in row] for row in rows if row]
    ncols = max((sum(span for _, span in row) for row in rows), default=0)
    if len(rows) < 2 or ncols < 2 or any(len(text) > MAX_TABLE_CELL_CHARS for row in rows for text, _ in row):
        return None

    def line(row: Row) -> str:
        missing = ncols - sum(span for _, span in row)
        return "|" + "".join(f" {text} " + "|" * span for text, span in row) + " |" * missing

    return [line(rows[0]), "|" + "---|" * ncols, *(line(row) for row in rows[1:])]


def _table_lines(table) -> list[str]:
    """A docx table: a pipe table when it is a data table, else one line per cell, rows in
    order; a merged cell is reported once."""
    rows: list[Row] = []
    for row in table.rows:
        cells: Row = []
        last = None
        for cell in row.cells:
            # python-docx repeats a horizontally merged cell once per grid column
            if cell._tc is last:
                cells[-1] = (cells[-1][0], cells[-1][1] + 1)
                continue
            last = cell._tc
            # a vertically merged cell is shown once, in its first row (python-docx repeats it below)
            cells.append((cell.text if cell._tc.getparent() is row._tr else "", 1))
        rows.append(cells)
    return table_as_pipe_lines(rows) or [text for row in rows for text, _ in row]


def _html_table_lines(table) -> list[str] | None:
    """An HTML <table> as a pipe table (a ``rowspan`` cell shown in its first row, empty
    below as a merged cell is; ``colspan`` widens it), or None when it is no data table
    (then the page walk reads it cell by cell)."""
    if table.find("table") is not None:
        return None
    rows: list[Row] = []
    carried: dict[int, int] = {}  # column -> rows a cell above still covers
    for tr in table.find_all("tr"):
        row: Row = []
        col = 0

        def carry() -> None:
            nonlocal col
            while col in carried:
                left = carried.pop(col)
                row.append(("", 1))
                if left > 1:
                    carried[col] = left - 1
                col += 1

        for cell in tr.find_all(["td", "th"], recursive=False):
            carry()
            text = cell.get_text(" ")
            span = _span(cell.get("colspan"))
            down = _span(cell.get("rowspan"))
            if down > 1:
                for c in range(col, col + span):
                    carried[c] = down - 1
            row.append((text, span))
            col += span
        carry()
        rows.append(row)
    return table_as_pipe_lines(rows)


def _span(value) -> int:
    try:
        return min(max(int(str(value).strip()), 1), MAX_COLSPAN)
    except (TypeError, ValueError):
        return 1


# ---------------------------------------------------------------- PDF


def _load_pdf(name: str, data: bytes, limit: int) -> LoadedText:
    """A PDF's text. Decompression bombs are refused: every stream decodes to at most
    ``limit`` bytes (pypdf's own limits, lowered to ours), the pages' content
    together and the text extracted may not exceed it either, nor the pages MAX_PDF_PAGES."""
    import pypdf
    from pypdf.errors import LimitReachedError

    # pypdf quietly recovers what it can from a cut-off file; a plan missing its
    # end is worse than no plan, so a file without its end marker is refused.
    if b"%%EOF" not in data[-4096:]:
        raise LoadError(name, "truncated or corrupt PDF (no %%EOF end marker)")
    limits = {k: limit for k in ("zlib_maximum_output_length", "lzw_maximum_output_length",
                                 "run_length_maximum_output_length", "brotli_maximum_output_length",
                                 "jbig2_maximum_output_length", "array_based_stream_maximum_output_length",
                                 "maximum_declared_stream_length", "stream_decoding_work_maximum_length")}
    try:
        with pypdf.apply_configuration(**limits):
            return _read_pdf(name, data, limit)
    except LimitReachedError as e:
        raise LoadError(name, f"decompression bomb: a stream expands beyond the {_mb(limit)} limit "
                              f"(setting max_expanded_mb; {e})") from e


def _read_pdf(name: str, data: bytes, limit: int) -> LoadedText:
    import pypdf
    from pypdf.errors import DependencyError, LimitReachedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Many PDFs are encrypted only to restrict printing/copying, with an empty user password.
            try:
                unlocked = reader.decrypt("")
            except DependencyError as e:
                raise LoadError(
                    name,
                    f"encrypted PDF needs the 'cryptography' package to open ({e}); "
                    "install it or supply an unencrypted copy",
                ) from e
            if unlocked == pypdf.PasswordType.NOT_DECRYPTED:
                raise LoadError(name, "encrypted PDF; supply an unencrypted copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(name, f"PDF has {len(reader.pages):,} pages, over the limit of {MAX_PDF_PAGES:,}")
        page_lines: list[list[PdfLine]] = []
        content = chars = 0
        for i, page in enumerate(reader.pages, start=1):
            try:
                stream = page.get_contents()
                content += len(stream.get_data()) if stream is not None else 0
                if content > limit:
                    raise LoadError(name, f"decompression bomb: the page contents decode to over {_mb(limit)} "
                                          f"by page {i} (setting max_expanded_mb)")
                page_lines.append(_page_lines(page))
            except (LoadError, LimitReachedError):
                raise
            except Exception as e:  # pypdf surfaces damaged content streams as assorted errors
                raise LoadError(name, f"corrupt PDF: page {i} cannot be read ({type(e).__name__}: {e})") from e
            chars += sum(len(ln.text) for ln in page_lines[-1])
            if chars > limit:
                raise LoadError(name, f"the text of its first {i} pages is over {_mb(limit)} of characters "
                                      "(setting max_expanded_mb)")
    except (LoadError, LimitReachedError):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as e:
        raise LoadError(name, f"corrupt PDF ({type(e).__name__}: {e})") from e

    if not page_lines:
        raise LoadError(name, "PDF has no pages")
    if not any(page_lines):
        raise LoadError(
            name,
            f"PDF has no extractable text in its {len(page_lines)} page(s): "
            "it is scanned images and needs OCR first",
        )
    text, pages = join_pdf_lines(without_page_furniture(page_lines))
    return LoadedText(path=name, text=text, fmt="pdf", encoding="", pages=pages)


@dataclass
class PdfLine:
    """One visual line of a PDF page; ``indented`` is None when the layout is unknown."""

    text: str
    indented: bool | None = None


def _page_lines(page) -> list[PdfLine]:
    """The page's non-empty lines, each marked whether it starts right of the left margin.

    The text comes from pypdf's plain extraction. Its layout mode shows where
    each line starts (as leading spaces) but may insert spaces inside lines,
    so it is used only for indentation, and only when both modes agree on the
    lines.
    """
    plain = [ln.rstrip() for ln in _normalise_newlines(page.extract_text() or "").split("\n") if ln.strip()]
    if not plain:
        return []
    try:
        layout = page.extract_text(extraction_mode="layout", layout_mode_space_vertically=False)
    except Exception:  # layout mode is a refinement; plain text is what counts
        layout = ""
    laid = [ln for ln in _normalise_newlines(layout).split("\n") if ln.strip()]
    squash = lambda ln: re.sub(r"\s+", "", ln)  # noqa: E731
    if len(laid) != len(plain) or any(squash(a) != squash(b) for a, b in zip(laid, plain)):
        return [PdfLine(ln) for ln in plain]
    leads = [len(ln) - len(ln.lstrip(" ")) for ln in laid]
    margin = min(leads)
    # Two columns of layout text is about one character: less is jitter.
    return [PdfLine(ln, lead - margin >= 2) for ln, lead in zip(plain, leads)]


PAGE_NUMBER_RES = [re.compile(p) for p in lexicons.table("page_furniture.toml")["page_numbers"]["lines"]]


def is_page_number(line: str) -> bool:
    """A line that is only a page number (“— 3 —”, 第 3 页 共 10 页, 3/10)."""
    s = line.strip(" \t\u3000\xa0")
    return bool(s) and any(r.match(s) for r in PAGE_NUMBER_RES)


def without_page_furniture(page_lines: list[list[PdfLine]]) -> list[list[PdfLine]]:
    """Each page without its page number and running header or footer, so that a sentence
    running over a page break is joined whole: a first or last line that is a page number,
    and a first or last line printed the same on two pages or more (after its first page:
    page 1's 文件头 is the document's own)."""
    pages = [[ln for k, ln in enumerate(lines) if not ((k < 2 or k >= len(lines) - 2) and is_page_number(ln.text))]
             for lines in page_lines]
    for end in (0, -1):
        seen = Counter(lines[end].text.strip() for lines in pages if lines)
        for i, lines in enumerate(pages):
            if i > 0 and lines and seen[lines[end].text.strip()] >= 2:
                pages[i] = lines[1:] if end == 0 else lines[:-1]
    return pages


# A line starting like this opens a new clause or block, so it is never glued to
# the line before even when that line runs to the right margin.
_BLOCK_START_RE = re.compile(
    r"""^\s*(?:
        [一二三四五六七八九十百〇零]+[、.．]                # 一、
      | [(（][一二三四五六七八九十百〇零\d]+[)）]           # （一） (1)
      | \d+(?:[、]|[.．](?!\d))                         # 1、 1.  (not 2.5)
      | 第[一二三四五六七八九十百〇零\d]+[章节條条部分篇项項]  # 第一章
      | (?:专栏|專欄|附表|表|图|圖)\s*\d+                # 专栏3 表1
      | 附件                                           # 附件
      | [•·●○■□◆◇▪\-–—*]\s                            # bullets
    )""",
    re.VERBOSE,
)
# Characters that end a sentence or a heading-with-colon, optionally followed by closing quotes/brackets.
_SENTENCE_END_RE = re.compile(r"[。！？；：!?;:][”’」』）)]*$")

# How far (in ems) the estimated width of a wrapped line may fall short of the margin.
_WIDTH_SLACK = 2.5


def _display_width(line: str) -> float:
    """Line width in ems: CJK and full-width characters 1, others ½ (a fair average for Latin)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.5 for ch in line.strip())


def _full_line_width(lines: list[str]) -> float:
    """The text block's width in ems (``inf`` when it cannot be told).

    Body text wraps at the margin, so the commonest width among the long lines
    is the text block's width.
    """
    widths = [_display_width(ln) for ln in lines]
    if not widths:
        return float("inf")
    long_ = [round(w) for w in widths if w >= max(widths) / 2]
    peak, count = Counter(long_).most_common(1)[0]
    if count < 3 or peak < 10:
        return float("inf")
    return float(peak)


def _continues(prev: str, line: PdfLine, block_width: float, indents_known: bool) -> bool:
    """Is ``line`` the continuation of ``prev`` after a layout wrap?"""
    if _BLOCK_START_RE.match(line.text) or line.indented:
        return False
    width = _display_width(prev)
    if indents_known:
        # Paragraphs start indented, so a line at the margin continues the one
        # before, as long as that one is body text rather than a short label.
        return width >= block_width / 2
    # Without indents only width tells: wrapping leaves up to a character or a
    # Latin word of room and the width estimate is off by about a character.
    full_at = block_width - max(_WIDTH_SLACK, 0.08 * block_width)
    if _SENTENCE_END_RE.search(prev):
        # A paragraph's last line ending in 。 near the margin looks wrapped;
        # only a line clearly at the margin is taken as wrapped.
        return width >= full_at + _WIDTH_SLACK
    return width >= full_at


def _is_latin_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def join_pdf_lines(page_lines: list[list[PdfLine]]) -> tuple[str, list[tuple[int, int]]]:
    """Join PDF lines back into paragraphs; return the text and (offset, page) pairs.

    A PDF stores lines, not paragraphs: a line break where the text reached the
    right margin is layout, one before it is content. A line is joined to the
    one before when that one reaches the margin (``_full_line_width``), unless
    it opens a new clause or starts indented (first-line indents are how
    Chinese documents mark paragraphs). This applies across page breaks too,
    so a paragraph split over two pages comes back whole. Anything ambiguous
    keeps its line break: an extra break is harmless, a missing one merges a
    heading into the text below it.
    """
    all_lines = [ln for lines in page_lines for ln in lines]
    block_width = _full_line_width([ln.text for ln in all_lines])
    # Indentation means something only in a document that indents some lines.
    indents_known = any(ln.indented for ln in all_lines)

    out: list[str] = []
    pages: list[tuple[int, int]] = []
    length = 0
    prev: str | None = None  # last line emitted
    for page_no, lines in enumerate(page_lines, start=1):
        first_on_page = True
        for line in lines:
            text = line.text
            if prev is None:
                sep = ""
            elif _continues(prev, line, block_width, indents_known):
                text = text.lstrip()
                # Latin words were split at a space that the wrap consumed; CJK needs none.
                sep = " " if _is_latin_alnum(prev[-1]) and _is_latin_alnum(text[0]) else ""
            else:
                sep = "\n"
            out.append(sep)
            length += len(sep)
            if first_on_page:
                pages.append((length, page_no))
                first_on_page = False
            out.append(text)
            length += len(text)
            prev = text
        if first_on_page:
            # a page without text still gets an entry so page numbers stay complete
            pages.append((length, page_no))
    return "".join(out), pages
