"""What a question asks for (an amount, a ratio, a date, a responsible body …) and
whether a sentence states it.

The kinds, their question wording and the ways official texts state them are data:
``assistant/lexicons/ask_kinds.toml`` (its header says where entries come from).
``detect(question)`` gives the kinds a question asks, in the lexicon's order;
``states(kind, text)`` says whether a sentence states that kind of thing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .lexicons import alternation, table
from .textnorm import for_search

# a figure asked without a unit is dropped when a more specific figure is asked
SPECIFIC_FIGURES = ("money", "ratio", "count", "duration", "year")


@dataclass(frozen=True)
class AskKind:
    name: str
    question: re.Pattern[str] | None
    states_re: re.Pattern[str] | None
    checked: bool
    focus: bool  # a sentence stating it must be about what the asking words name
    missing: str  # "具体金额"
    en: str  # "a specific amount"
    shape: str  # fact | list | where

    def states(self, text: str) -> bool:
        return bool(self.states_re and self.states_re.search(text))


@lru_cache(maxsize=1)
def kinds() -> dict[str, AskKind]:
    out = {}
    for name, k in table("ask_kinds.toml")["kinds"].items():
        out[name] = AskKind(name, alternation(k.get("question", [])), alternation(k.get("states", [])),
                            bool(k.get("checked")), bool(k.get("focus", True)), k.get("missing", ""), k.get("en", ""),
                            k.get("shape", "fact"))
    return out


# a question's parts: what lies between commas, semicolons and full stops; in English
# a comma joins the clauses of one sentence ("within how many days must …, and with
# which authority?"), so there a part is a sentence
_PART_END_RE = re.compile(r"[，,；;。！!？?]")
_EN_PART_END_RE = re.compile(r"[；;。！!？?]|\.(?=\s|$)")


def interrogative_parts(question: str) -> list[str]:
    """The parts of a question that ask something: those ending in a question mark,
    and the last part. "同一个行业的几家企业，能不能……？" asks no count: its 几家 sits in
    a part that only sets the scene."""
    from .query import detect_lang  # query imports this module

    q = for_search(question or "").lower()
    ends = _EN_PART_END_RE if detect_lang(q) == "en" else _PART_END_RE
    parts, start = [], 0
    for m in ends.finditer(q):
        parts.append(q[start:m.end()])
        start = m.end()
    parts.append(q[start:])
    parts = [p for p in parts if p.strip()]
    out = [p for p in parts if re.search(r"[?？]", p)]
    if parts and parts[-1] not in out:
        out.append(parts[-1])
    return out


FIGURE_KINDS = ("money", "ratio", "count", "figure")
FOCUS_WINDOW = 6  # characters either side of the asking words


def ask_windows(question: str) -> list[str]:
    """Per part of the question asking for a checked kind, the text around its asking
    words ("政府给多少比例的贴息？"): the words there (less asking words, ``lexicons/
    ask_words.txt``) say what the figure, date or
    procedure asked for is *of* (a kind with ``focus = false``, such as a responsible
    body, has none)."""
    table_ = kinds()
    out = []
    for part in interrogative_parts(question):
        pieces = []
        for k in table_.values():
            if not (k.checked and k.focus and k.question is not None):
                continue
            for m in k.question.finditer(part):
                pieces.append(part[max(0, m.start() - FOCUS_WINDOW):m.end() + FOCUS_WINDOW])
        if pieces:
            out.append(" ".join(pieces))
    return out


def detect(question: str) -> list[str]:
    """The kinds ``question`` asks for (lexicon order), each part of the question read
    on its own: "多长时间内要发奖金？各最少多少？" asks a duration and a figure."""
    found: set[str] = set()
    for part in interrogative_parts(question):
        found.update(_part_kinds(part))
    return [name for name in kinds() if name in found]


def _part_kinds(part: str) -> list[str]:
    found = [name for name, k in kinds().items() if k.question is not None and k.question.search(part)]
    if "figure" in found and any(k in found for k in (*SPECIFIC_FIGURES, "contact")):
        found.remove("figure")
    if "count" in found and "duration" in found:
        found.remove("count")  # "how many days" asks a duration
    if "year" in found and "when" in found:
        found.remove("when")
    return found


def states(kind: str, text: str) -> bool:
    return kinds()[kind].states(for_search(text or ""))


@dataclass(frozen=True)
class Rate:
    """A period a figure is asked per ("每年安排多少"): ``rates`` in the lexicon."""

    name: str
    question: re.Pattern[str] | None
    states_re: re.Pattern[str] | None
    missing: str  # "每年的"


@lru_cache(maxsize=1)
def rates() -> dict[str, Rate]:
    return {name: Rate(name, alternation(r.get("question", [])), alternation(r.get("states", [])), r.get("missing", ""))
            for name, r in table("ask_kinds.toml").get("rates", {}).items()}


def rates_asked(question: str) -> list[str]:
    """The periods a figure is asked per, read in the parts of the question that ask a
    figure: "每年安排多少经费？" asks a yearly amount; "每年召开的会议由谁负责？" no figure."""
    out: list[str] = []
    for part in interrogative_parts(question):
        if not any(k in FIGURE_KINDS for k in _part_kinds(part)):
            continue
        out += [name for name, r in rates().items() if r.question is not None and r.question.search(part)]
    return list(dict.fromkeys(out))


def states_rate(name: str, text: str) -> bool:
    """Does a sentence give its figure per the period ``name`` (年新增…3件, 50件/年)?"""
    r = rates()[name]
    return bool(r.states_re and r.states_re.search(for_search(text or "").lower()))


def checked(asks: list[str]) -> list[str]:
    """The asked kinds an answer must state (``checked`` in the lexicon)."""
    table_ = kinds()
    return [a for a in asks if table_[a].checked]
