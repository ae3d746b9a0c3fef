"""English lead sentences for English questions.

The documents are Chinese and the answerer quotes them; an English question first
gets one English sentence saying which document and which clause answer it and, in
short, what the quoted text is about: the field terms it uses, named in English
through ``lexicons/glossary.toml``, and its figures with their English readings
(``200亿元`` → 20 billion yuan). When the documents do not state what was asked, the
lead says so. No machine translation: every English word comes from the glossary or
from the citation's own metadata.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping, Sequence

from .asks import kinds
from .lexicons import table
from .numerals import cn_to_int
from .textnorm import for_search

MAX_TERMS = 5
MAX_FIGURES = 4
# a figure: Arabic digits or Chinese numerals (laws write 五百元, 三十日), a magnitude, a unit
_FIGURE_RE = re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十百千零〇]+)\s*(亿|万)?\s*"
                        r"(元|件|家|个工作日|工作日|个月|个|项|名|人次|人|倍|日|天|年|%|％)?")
_UNITS = {"元": "yuan", "件": "items", "家": "", "个": "", "项": "items", "名": "people", "人": "people",
          "人次": "person-times", "%": "%", "％": "%", "倍": "times", "日": "days", "天": "days",
          "工作日": "working days", "个工作日": "working days", "个月": "months", "年": "years"}
# units a bare Chinese numeral needs before it is read as a figure (一项, 一个 are words)
_CN_UNITS = {"元", "倍", "日", "天", "工作日", "个工作日", "个月", "年"}


@lru_cache(maxsize=1)
def _zh_terms() -> list[tuple[str, str]]:
    """(Chinese term, English), longest Chinese first; the first English name given wins."""
    seen: dict[str, str] = {}
    for t in table("glossary.toml")["terms"]:
        for zh in t["zh"]:
            if len(zh) >= 2 and not re.search(r"\d", zh):
                seen.setdefault(zh, t["en"])
    return sorted(seen.items(), key=lambda kv: -len(kv[0]))


def english_terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """English names of the glossary terms in ``text``, in order of appearance, each once."""
    s = for_search(text)
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for zh, en in _zh_terms():
        for m in re.finditer(re.escape(zh), s):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            found.append((m.start(), en))
    out: list[str] = []
    for _, en in sorted(found):
        if en not in out:
            out.append(en)
    return out[:limit]


def english_figure(number: str, magnitude: str | None, unit: str | None) -> str:
    """``("200", "亿", "元")`` → ``"20 billion yuan"``; ``("4.2", "亿", "元")`` → ``"420 million yuan"``;
    ``("五百", "万", "元")`` → ``"5 million yuan"``."""
    value = _number(number) * {"亿": 1e8, "万": 1e4}.get(magnitude or "", 1)
    unit_en = _UNITS.get(unit or "", "")
    if unit_en == "%":
        return f"{number}%"
    if value >= 1e9:
        amount = f"{value / 1e9:g} billion"
    elif value >= 1e6:
        amount = f"{value / 1e6:g} million"
    else:
        amount = f"{value:,.0f}" if value == int(value) else f"{value:g}"
    return f"{amount} {unit_en}".strip()


def _number(number: str) -> float:
    return float(number) if number[0].isdigit() else float(cn_to_int(number) or 0)


def english_figures(text: str, limit: int = MAX_FIGURES) -> list[str]:
    """Figures with units in ``text`` as "原文 (English)" (years are not figures)."""
    out = []
    for m in _FIGURE_RE.finditer(for_search(text)):
        number, magnitude, unit = m.groups()
        if not (magnitude or unit) or re.fullmatch(r"(?:19|20)\d\d", number):
            continue
        if not number[0].isdigit() and (cn_to_int(number) is None or unit not in _CN_UNITS):
            continue
        original = m.group(0).strip()
        english = english_figure(number, magnitude, unit)
        out.append(original if english == original else f"{original} ({english})")
        if len(out) >= limit:
            break
    return out


def _place_en(place: str, plans: Mapping[str, Any], doc_id: str) -> str:
    plan = plans.get(doc_id)
    for alias in getattr(plan, "aliases", []) or []:
        if alias.isascii():
            return alias
    return place


def _in_place_en(c: Mapping[str, Any], plans: Mapping[str, Any]) -> str:
    """" (Ningbo)" after a citation's title; nothing when its document's place is not known."""
    place = _place_en(c["place"], plans, c["doc_id"])
    return f" ({place})" if place else ""


def _row_reading(cite: dict[str, Any], clauses: Any) -> str:
    """A cited table row read out with its column names and units (its cells alone carry no
    units: 「| 11 | 知识产权质押融资金额(亿元) | 110 | 200 |」), or "" for other quotes."""
    quote = cite.get("quote", "")
    if not (quote.lstrip().startswith("|") or "｜" in quote) or not hasattr(clauses, "values"):
        return ""
    from .answering import ExtractiveAnswerer

    row = next((c for c in clauses.values() if c.doc_id == cite["doc_id"] and c.path == cite["path"]
                and c.fields and c.text == cite.get("clause_text")), None)
    return ExtractiveAnswerer._row_summary(row) if row is not None else ""


def english_lead(qv: Any, result: Any, clauses: Any, plans: Mapping[str, Any]) -> str:
    """One English sentence before the Chinese answer (module docstring)."""
    cites: Sequence[dict[str, Any]] = result.citations
    if result.not_found:
        missing = [kinds()[k].en for k in getattr(result, "missing", []) if kinds()[k].en]
        if not cites:
            return "The documents do not answer this question."
        c = cites[0]
        what = " or ".join(missing) if missing else "what was asked"
        return (f"The documents do not state {what}; the closest clause is {c['title']}{_in_place_en(c, plans)} "
                f"clause {c['path']}, quoted below in Chinese.")
    if not cites:
        return ""
    c = cites[0]
    quotes = " ".join(x["quote"] for x in cites if x["doc_id"] == c["doc_id"])
    terms = english_terms(quotes)
    figures = english_figures(" ".join(_row_reading(x, clauses) or x["quote"] for x in cites if x["doc_id"] == c["doc_id"]))
    where = f"{c['title']}{_in_place_en(c, plans)}, clause {c['path']}"
    if c.get("heading"):
        where += f" “{c['heading']}”"
    parts = [f"According to {where}"]
    if terms:
        parts.append("it concerns " + ", ".join(terms))
    if figures:
        parts.append("figures: " + "; ".join(figures))
    others = dict.fromkeys(_place_en(x["place"], plans, x["doc_id"]) or x["title"] for x in cites
                           if x["doc_id"] != c["doc_id"])
    lead = "; ".join(parts) + "."
    if others:
        lead += " Other documents cited: " + ", ".join(others) + "."
    return lead + " The Chinese quotation follows."
