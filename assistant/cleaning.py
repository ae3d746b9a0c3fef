"""Cleaning: from a loaded text to the clean text that clauses are parsed from.

Each noise type is one rule (a function ``text -> (text, times_fired)``), applied
in the order of ``Cleaner.RULES``. Rules are general; the only per-document data
is ``corpus/repairs.toml`` (spam strings and words to restore, each with a reason).

The clean text keeps the document's own characters (traditional stays
traditional, full-width punctuation stays); folding for search is
``textnorm.for_search``'s job.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import lexicons, numerals
from .numerals import int_to_cn
from .textnorm import PINYIN_NOTE_RE, to_simplified, to_traditional

CN_DIGITS = "一二三四五六七八九十"


def cn_to_int(s: str) -> int:
    """一 → 1, 十七 → 17, 一百零三 → 103 (0 when ``s`` is not a number)."""
    return numerals.cn_to_int(s) or 0


@dataclass
class Repair:
    doc: str
    find: str
    replace: str
    why: str = ""


@dataclass
class Repairs:
    spam: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path | None) -> "Repairs":
        if not path or not Path(path).is_file():
            return cls()
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        spam = sorted(data.get("spam", {}).get("strings", []), key=len, reverse=True)
        reps = [Repair(**r) for r in data.get("repair", [])]
        reps.sort(key=lambda r: len(r.find), reverse=True)
        return cls(spam=spam, repairs=reps)


@dataclass
class CleanResult:
    text: str
    counts: dict[str, int]
    warnings: list[str]


# --- site chrome: whole lines that belong to the hosting page, not the plan ---------
# (the patterns are data: lexicons/page_furniture.toml [site_chrome])
CHROME_LINE_RES = [re.compile(p) for p in lexicons.table("page_furniture.toml")["site_chrome"]["lines"]]
HTML_RESIDUE_RE = re.compile(r"</?(p|br|span|div)\s*/?>|/p>$", re.I)


def rule_site_chrome(text: str) -> tuple[str, int]:
    out, n = [], 0
    for line in text.split("\n"):
        s = line.strip()
        if s and any(r.match(s) for r in CHROME_LINE_RES):
            n += 1
            continue
        out.append(line)
    return "\n".join(out), n


def rule_html_residue(text: str) -> tuple[str, int]:
    return HTML_RESIDUE_RE.subn("", text)


# --- page-break markers "N、" from a document-sharing site -------------------------
PAGE_MARK_RE = re.compile(r"\n(\d{1,3})、")


def rule_page_break_markers(text: str) -> tuple[str, int]:
    """The sharing site starts each page's line with ``N、`` (1、 2、 3、 …), cutting
    words in half. They are page markers, not chapter numbers, when they run 1..n
    (n ≥ 5) in order with each number once; then the marker and its line break go."""
    text2 = "\n" + text
    marks = [(m.start(), m.end(), int(m.group(1))) for m in PAGE_MARK_RE.finditer(text2)]
    nums = [n for _, _, n in marks]
    if len(nums) < 5 or nums != list(range(1, len(nums) + 1)):
        return text, 0
    out, pos = [], 0
    for start, end, _ in marks:
        out.append(text2[pos:start])
        pos = end
    out.append(text2[pos:])
    return "".join(out).lstrip("\n"), len(marks)


# --- GBK read one byte off ----------------------------------------------------------
def _mojibake_of(s: str) -> str:
    """What ``s`` looks like when its GBK bytes are read one byte late."""
    return s.encode("gbk", errors="replace")[1:].decode("gbk", errors="replace")


_MARKERS = [f"（{int_to_cn(i)}）" for i in range(1, 31)] + [f"{int_to_cn(i)}、" for i in range(1, 21)]
_MOJIBAKE_LINE_RE = re.compile(r"^\?。(.*)$")


def _expected_prefixes() -> list[tuple[str, str]]:
    out = []
    for marker in _MARKERS:
        moj = _mojibake_of("\u3000" + marker)
        # the last character straddles into the unknown next byte: compare before it
        reliable = moj.split("\ufffd")[0] if "\ufffd" in moj else moj[:-1]
        if len(reliable) >= 2:
            out.append((reliable, marker))
    out.sort(key=lambda p: len(p[0]), reverse=True)
    return out


def _plausible_tail(s: str, vocab: set[str]) -> str:
    """The longest suffix of ``s`` made of characters the clean text also uses."""
    i = len(s)
    while i > 0 and (s[i - 1] in vocab or s[i - 1] in "（）()“”、，,"):
        i -= 1
    return s[i:].lstrip("）)，,、")


def rule_mojibake_headings(text: str, warnings: list[str], script: str = "simplified") -> tuple[str, int]:
    """Lines whose GBK bytes were read one byte late (they start ``?。``, the
    full-width space's lost first byte): the clause marker is identified by
    re-creating the damage for each candidate marker; the heading is re-decoded
    and kept only where every character is one the clean text uses elsewhere; what
    cannot be recovered is left out (with a warning) rather than indexed as garbage."""
    lines = text.split("\n")
    bad = [i for i, ln in enumerate(lines) if _MOJIBAKE_LINE_RE.match(ln.strip())]
    if not bad:
        return text, 0
    vocab = {ch for i, ln in enumerate(lines) if i not in bad for ch in ln if "\u4e00" <= ch <= "\u9fff"}
    prefixes = _expected_prefixes()
    fired = 0
    for i in bad:
        raw = lines[i].strip()
        body = raw[1:]  # drop the '?' that stands for the lost byte
        observed = [body, to_simplified(body)]  # the script converter may have touched mojibake chars
        marker = next((m for p, m in prefixes if any(o.startswith(p) for o in observed)), None)
        best = ""
        for variant in observed:
            rec = (b"\xa1" + variant.encode("gbk", errors="replace")).decode("gbk", errors="replace")
            rec = rec.lstrip("\u3000")
            if marker and rec.startswith(marker):
                rest = rec[len(marker):]
                if rest and all(ch in vocab or not ("\u4e00" <= ch <= "\u9fff") and ch in "()（）“”" for ch in rest):
                    best = rest
                    break
        if not best:
            # the part after the damage re-synchronises: keep the longest clean tail,
            # from the observed line or from a re-decoded variant
            tails = [_plausible_tail(body, vocab)]
            for variant in observed:
                rec = (b"\xa1" + variant.encode("gbk", errors="replace")).decode("gbk", errors="replace")
                tails.append(_plausible_tail(rec, vocab))
            best = max(tails, key=len)
            if marker:
                warnings.append(f"mojibake heading {marker} only partly recovered: kept “{best}”")
            else:
                warnings.append(f"mojibake line dropped (no clause marker recoverable): {raw[:20]}…")
        if script == "traditional":
            best = to_traditional(best) if best else best
        lines[i] = (marker or "") + best
        fired += 1
    return "\n".join(ln for ln in lines if ln.strip() or True), fired


# --- pinyin notes after characters: 發(fā) (textnorm.PINYIN_NOTE_RE) ----------------------


def rule_pinyin_notes(text: str) -> tuple[str, int]:
    """A tone-marked pinyin syllable in brackets right after a Chinese character."""
    return PINYIN_NOTE_RE.subn("", text)


# --- OCR confusions inside numbers -------------------------------------------------
UNIT = r"(?=[家件万亿个名项%人户元年])"
OCR_DIGITS_RE = re.compile(r"(?<![A-Za-z])(?=[IlO0-9]*[IlO])(?=[IlO0-9]*[0-9IlO]{2})([IlO0-9]{2,})" + UNIT)
OCR_L_DECIMAL_RE = re.compile(r"(?<![A-Za-z0-9])L(\d)(?=[万亿])")
OCR_PERMILLE_RE = re.compile(r"(\d)%o(?![a-z])")
OCR_YEAR_ZERO_RE = re.compile(r"(?<=[一二三四五六七八九〇零])[。oO](?=[一二三四五六七八九〇零]{1,2}年)")


def rule_ocr_numbers(text: str) -> tuple[str, int]:
    """Letters read for digits where a unit follows (IOO家 → 100家, L5万 → 1.5万),
    ``%o`` for ``%``, and ``。`` for ``〇`` inside a year written in Chinese digits."""
    n_total = 0
    text, n = OCR_DIGITS_RE.subn(lambda m: m.group(1).translate(str.maketrans("IlO", "110")), text)
    n_total += n
    text, n = OCR_L_DECIMAL_RE.subn(r"1.\1", text)
    n_total += n
    text, n = OCR_PERMILLE_RE.subn(r"\1%", text)
    n_total += n
    text, n = OCR_YEAR_ZERO_RE.subn("〇", text)
    return text, n_total + n


# --- OCR confusions in clause markers: (S) → (三), (-) → (一) ----------------------
OCR_MARKER_LOOKALIKES = {"S": "三", "-": "一", "—": "一", "_": "一", "=": "二", "二": "二"}
SECTION_CAND_RE = re.compile(r"[(（]([一二三四五六七八九十]{1,3}|[S\-—_=])[)）]")
CHAPTER_RE = re.compile(r"(?:^|(?<=[。；;\n]))\s*([一二三四五六七八九十]{1,3})、", re.M)


def rule_ocr_markers(text: str) -> tuple[str, int]:
    """A section marker with a look-alike character is fixed only when the
    numbering sequence around it expects exactly the character it resembles."""
    chapters = [m.start() for m in CHAPTER_RE.finditer(text)]
    out, pos, prev, prev_pos, fired = [], 0, 0, -1, 0
    for m in SECTION_CAND_RE.finditer(text):
        tok = m.group(1)
        new_chapter = any(prev_pos < c < m.start() for c in chapters)
        expected = 1 if new_chapter else prev + 1
        if tok in OCR_MARKER_LOOKALIKES and tok not in CN_DIGITS:
            if cn_to_int(OCR_MARKER_LOOKALIKES[tok]) == expected:
                out.append(text[pos:m.start()])
                out.append(m.group(0)[0] + OCR_MARKER_LOOKALIKES[tok] + m.group(0)[-1])
                pos = m.end()
                prev, prev_pos = expected, m.start()
                fired += 1
            continue
        val = cn_to_int(tok)
        if val in (expected, 1) or (val == prev + 1):
            prev, prev_pos = val, m.start()
    out.append(text[pos:])
    return "".join(out), fired


# --- a printed page's furniture: page numbers and the running header --------------
def rule_page_furniture(text: str) -> tuple[str, int]:
    """A text copied out of a printed document keeps each page's number (“— 3 —”,
    第 3 页 共 10 页) and running header as lines inside its sentences. Page-number
    lines go; so does a line printed next to two or more of them (the header at the top
    of the next page), at those places only: its first printing (page 1's 文件头) stays."""
    from .loaders import is_page_number

    lines = text.split("\n")
    numbers = [i for i, ln in enumerate(lines) if is_page_number(ln)]
    if not numbers:
        return text, 0
    beside = {}
    for i in numbers:
        for j in (i - 1, i + 1):
            if 0 <= j < len(lines) and j not in numbers and lines[j].strip():
                beside.setdefault(lines[j].strip(), set()).add(j)
    drop = set(numbers)
    for places in beside.values():
        if len(places) >= 2:
            drop |= places
    return "\n".join(ln for i, ln in enumerate(lines) if i not in drop), len(drop)


# --- lines hard-wrapped at the page width (a PDF's text pasted into a .txt) --------
def _hard_wrapped(lines: list[str]) -> float:
    """The text block's width when the text's line breaks are a page's wrapping, else 0:
    most of its long lines end at one width and almost none goes past it (a text of one
    paragraph per line has lines of every length)."""
    from .loaders import _display_width, _full_line_width

    widths = [_display_width(ln) for ln in lines if ln.strip()]
    block = _full_line_width(lines)
    if block == float("inf") or len(widths) < 8:
        return 0.0
    long_ = [w for w in widths if w >= block / 2]
    near = [w for w in long_ if abs(w - block) <= 1.5]
    over = [w for w in widths if w > block + 2]
    if len(near) >= 5 and len(near) >= 0.5 * len(long_) and len(over) <= 0.02 * len(widths):
        return block
    return 0.0


def rule_hard_wraps(text: str) -> tuple[str, int]:
    """A text wrapped at a page's width (a PDF copied as text) has its paragraphs back:
    a line reaching the margin is joined to the next one unless that one opens a clause,
    exactly as the PDF loader joins a PDF's lines (``loaders.join_pdf_lines``)."""
    from .loaders import PdfLine, join_pdf_lines

    lines = [ln.strip(" \t\u3000\xa0") for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if not _hard_wrapped(lines):
        return text, 0
    joined, _ = join_pdf_lines([[PdfLine(ln) for ln in lines]])
    return joined, len(lines) - joined.count("\n") - 1


# --- whitespace -----------------------------------------------------------------------
CJK = r"[\u4e00-\u9fff，。、；：“”（）《》]"
INNER_SPACE_RE = re.compile(rf"(?<={CJK})[ \t\u3000\xa0]+(?={CJK})")
# the space after a line-initial 第X条 / 第X章 (“第十四条　驰名商标…”) separates the
# number from the text: kept, as one ordinary space, so citations read as printed
MARKER_SPACE_RE = re.compile(r"^((?:#{1,6} )?第[一二三四五六七八九十百千零〇\d]{1,8}(?:编|分编|章|节|条(?:之[一二三四五六七八九十]{1,3})?))[ \t\u3000\xa0]+")


# an article printed after the sentence before it, spaced on both sides as a heading
# is (“…制定本规则。 第二条 凡辖有…”): a text whose line breaks were lost. The space
# before it was the line break; restored, the marker starts its line as printed.
RUN_ON_MARKER_RE = re.compile(
    r"(?<=[。；！？])[ \t\u3000\xa0]+(?=第[一二三四五六七八九十百千零〇]{1,8}条(?:之[一二三四五六七八九十]{1,3})?[ \t\u3000\xa0])")


def rule_whitespace(text: str) -> tuple[str, int]:
    """Trim lines, drop empty ones, remove stray spaces between Chinese characters
    (a run-on article's space before it becomes the line break it was)."""
    text, n = RUN_ON_MARKER_RE.subn("\n", text)
    lines = []
    for line in text.split("\n"):
        s = line.strip(" \t\u3000\xa0\ufeff")
        if s != line:
            n += 1
        head = ""
        m = MARKER_SPACE_RE.match(s)
        if m:
            head, s = m.group(1) + " ", s[m.end():]
            n += m.group(0) != head
        s, k = INNER_SPACE_RE.subn("", s)
        s = head + s
        n += k
        if s:
            lines.append(s)
    return "\n".join(lines), n


class Cleaner:
    """Applies the cleaning rules in order and counts how often each fired."""

    RULES = [
        "site_chrome",
        "repairs",
        "spam",
        "html_residue",
        "page_break_markers",
        "page_furniture",
        "hard_wraps",
        "pinyin_notes",
        "mojibake_headings",
        "ocr_numbers",
        "ocr_markers",
        "whitespace",
    ]

    def __init__(self, repairs: Repairs | None = None):
        self.repairs = repairs or Repairs()

    def run(self, text: str, doc_id: str, script: str = "simplified") -> CleanResult:
        counts: dict[str, int] = {}
        warnings: list[str] = []
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        for rule in self.RULES:
            if rule == "repairs":
                n = 0
                for r in self.repairs.repairs:
                    if r.doc == doc_id and r.find in text:
                        n += text.count(r.find)
                        text = text.replace(r.find, r.replace)
            elif rule == "spam":
                n = 0
                for s in self.repairs.spam:
                    n += text.count(s)
                    text = text.replace(s, "")
            elif rule == "mojibake_headings":
                text, n = rule_mojibake_headings(text, warnings, script)
            else:
                text, n = globals()[f"rule_{rule}"](text)
            counts[rule] = n
        return CleanResult(text=text, counts=counts, warnings=warnings)
