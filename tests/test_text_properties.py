"""Properties of the text path on arbitrary Unicode (hypothesis): cleaning, clause
parsing and question normalisation never raise and never lose text, whatever the
input holds: lone surrogates, control characters, mixed scripts, full-width forms,
combining marks, characters outside the BMP, clause markers in any order.

"Never lose text" is made precise per stage:

* cleaning: when no rule but whitespace tidying fired, every non-space character
  of the input is in the output, in order (a rule that removes text says so in its
  count);
* clause parsing: every non-space character of the clean text is in exactly one
  clause, in order (tests/test_parse_properties.py holds the same for real laws);
* question normalisation (``textnorm.for_search``): every letter and digit of the
  question, folded (NFKC, simplified script), is in the search copy, in order,
  unless it is inside a pinyin note (``發(fā)``), which is removed on purpose.
"""
from __future__ import annotations

import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.cleaning import Cleaner
from assistant.clauses import ClauseParser
from assistant.models import PlanMeta
from assistant.textnorm import PINYIN_NOTE_RE, for_compare, for_search, to_simplified

# every code point, surrogates and control characters included
ANY_CHAR = st.characters(exclude_categories=())
PIECES = st.sampled_from([
    "知识产权", "專利權質押", "第十四条 ", "第三章 总则", "（一）", "（十七）", "一、", "1.", "（1）", "①", "专栏3",
    "附件", "## ", "IP ", "PCT", "ｐｃｔ", "２０２５年", "发(fā)展", "(ip)", "e\u0301", "\u1100\u1161", "😀",
    "\ud800", "\udcff", "\x00", "\x1b[31m", "\u200b", "\ufeff", "\u3000", "\r\n", "\n", "\t", "。", "；",
    "<img src=x>", "![t](http://h/x.png)", "'; DROP TABLE plans; --",
])
# mixed text: known pieces (markers, scripts, troublemakers) between arbitrary characters
MIXED = st.lists(st.one_of(PIECES, st.text(ANY_CHAR, max_size=6)), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(ANY_CHAR, max_size=200), MIXED)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# what counts as space: the characters every stage may drop or collapse
_SPACE_RE = re.compile(r"[\s\ufeff]+")
_MD_MARKS_RE = re.compile(r"^#{1,6}[ \t\u3000]+(?=\S)", re.M)


def visible(text: str) -> str:
    return _SPACE_RE.sub("", text)


def clean(text: str):
    return Cleaner().run(text, "doc")


@given(ANY_TEXT)
@SETTINGS
def test_cleaning_never_raises_and_drops_only_what_it_reports(text):
    result = clean(text)
    assert isinstance(result.text, str)
    fired = {k: v for k, v in result.counts.items() if v and k != "whitespace"}
    if not fired:
        assert visible(result.text) == visible(text.replace("\r", ""))


@given(ANY_TEXT)
@SETTINGS
def test_clause_parsing_of_any_clean_text_loses_nothing(text):
    clean_text = clean(text).text
    clauses = ClauseParser().parse(clean_text, PlanMeta(id="doc", file="doc.txt", title="doc"))
    assert "".join(visible(c.text) for c in clauses) == visible(_MD_MARKS_RE.sub("", clean_text))
    assert [c.ordinal for c in clauses] == list(range(len(clauses)))


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


@given(ANY_TEXT)
@SETTINGS
def test_question_normalisation_never_raises_and_keeps_every_letter_and_digit(text):
    searched = for_search(text)
    compared = for_compare(text)
    assert isinstance(searched, str) and isinstance(compared, str)
    nfkc = unicodedata.normalize
    assert _letters(searched) == _letters(to_simplified(nfkc("NFKC", PINYIN_NOTE_RE.sub("", text))))
    assert _letters(compared) == _letters(to_simplified(PINYIN_NOTE_RE.sub("", nfkc("NFKC", text))).lower())


def test_a_latin_word_in_brackets_is_not_a_pinyin_note():
    assert "pct" in for_search("专利合作条约(pct)申请") and "ip" in for_compare("知识产权（ip）")
    assert for_search("發(fā)展") == "发展"


@given(ANY_TEXT)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_question_analysis_never_raises(text):
    from assistant.corpus import load_plans
    from assistant.query import analyse
    from assistant.settings import PROJECT_ROOT

    info = analyse(text, _plans(PROJECT_ROOT / "corpus"), history=[{"q": text, "a": text}])
    assert info.question == text and isinstance(info.text, str)


_PLANS: dict = {}


def _plans(corpus):
    from assistant.corpus import load_plans

    if corpus not in _PLANS:
        _PLANS[corpus] = load_plans(corpus)
    return _PLANS[corpus]
