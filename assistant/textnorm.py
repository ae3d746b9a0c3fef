"""Text normalisation shared by search and scoring.

The text shown to users keeps the document's own characters; these functions
make the *search* and *comparison* copies.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# pinyin notes left by a traditional-script converter: 發(fā), 區(qū)
PINYIN_NOTE_RE = re.compile(r"[(（][a-züāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]{1,7}[)）]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if text else text


def to_traditional(text: str) -> str:
    return _s2t().convert(text) if text else text


def nfkc(text: str) -> str:
    """Full/half-width folding (ＡＢＣ１２３ → ABC123, （ → ()."""
    return unicodedata.normalize("NFKC", text)


def strip_pinyin_notes(text: str) -> str:
    return PINYIN_NOTE_RE.sub("", text)


def for_search(text: str) -> str:
    """The search copy: NFKC, simplified script, pinyin notes removed, whitespace collapsed."""
    t = strip_pinyin_notes(text)
    t = to_simplified(nfkc(t))
    return re.sub(r"\s+", " ", t).strip()


def _is_punct_or_space(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "Z", "S") or ch.isspace()


def for_compare(text: str) -> str:
    """Scoring normalisation from eval/gold README: NFKC, t2s, pinyin notes removed,
    whitespace and punctuation removed, lower-cased."""
    t = strip_pinyin_notes(nfkc(text or ""))
    t = to_simplified(t)
    return "".join(ch for ch in t if not _is_punct_or_space(ch)).lower()
