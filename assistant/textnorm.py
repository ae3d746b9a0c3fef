"""Text normalisation shared by search and scoring.

The text shown to users keeps the document's own characters; these functions
make the *search* and *comparison* copies.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# pinyin notes left by a traditional-script converter: 發(fā), 區(qū) — a tone-marked
# syllable in brackets right after a Chinese character, so that a Latin word in
# brackets (“合作条约(pct)”) is text, not a note
TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
PINYIN_NOTE_RE = re.compile(
    r"(?<=[\u4e00-\u9fff])[(（](?=[a-zü" + TONE_VOWELS + r"]*[" + TONE_VOWELS + r"ü])[a-zü" + TONE_VOWELS + r"]{1,7}[)）]"
)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


# OpenCC converts through UTF-8, which cannot hold a lone surrogate: text around one
# is converted piece by piece and the surrogate kept as it is.
_SURROGATES_RE = re.compile("([\ud800-\udfff]+)")


def _convert(converter, text: str) -> str:
    if not text:
        return text
    if not _SURROGATES_RE.search(text):
        return converter.convert(text)
    parts = _SURROGATES_RE.split(text)
    return "".join(p if i % 2 else (converter.convert(p) if p else p) for i, p in enumerate(parts))


def to_simplified(text: str) -> str:
    return _convert(_t2s(), text)


def to_traditional(text: str) -> str:
    return _convert(_s2t(), text)


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
