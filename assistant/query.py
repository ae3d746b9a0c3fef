"""Query understanding: what the question says besides its words.

``analyse(question, plans, history)`` turns a raw question into a ``QueryInfo``:

* ``text``: the search copy (NFKC, simplified script, field synonyms appended,
  English field terms glossed in Chinese so BM25 has something to match);
* ``places``: the documents the question is about, its search scope (``routing``):
  those it names by title or abbreviation (著作权法, 最高法…的规定, “2023年修订的”
  picks the version), narrowed to the places it names; else the documents of the
  places it names (gazetteer and the documents' aliases, in either script or in
  English), a province's, a city's with its districts', a place without documents
  falling back up the hierarchy; ``documents``, ``place_names`` and
  ``unknown_places`` say what was named. A follow-up question that names no place
  inherits the places of the latest earlier turn that named one;
* ``clause_refs``: explicit clause numbers (``第（十七）条``, ``专栏5``, ``表2``,
  ``附件第13项``, ``三、（三）6.``, ``第三部分``) in a normalised form that can be
  compared with a clause's ``path`` (see ``ClauseRef.matches``);
* ``lang`` and ``intent`` hints.

Every rule here is general (numbering styles, place names from the gazetteer and
the documents' metadata, title matching, a small table of field synonyms, an English
glossary: the tables are data in ``assistant/lexicons/``); nothing refers to a
particular question.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .asks import detect as detect_asks
from .lexicons import table
from .models import PlanMeta
from .numerals import cn_to_int
from .routing import (TITLE_MIN_COVERAGE, english_title_mentions, quoted_titles, refers_to, route, title_mentions,
                      titles_not_in_corpus)
from .textnorm import for_search, nfkc, to_simplified

# Chinese numerals: numerals.cn_to_int (一 … 九千九百九十九; None for 十四五)
_CN_NUM = "[零〇一二两三四五六七八九十百千]+"


# ---------------------------------------------------------------------------
# Clause references
# ---------------------------------------------------------------------------
# A path is a list of (style, number) steps. Styles, by the document's own markers:
#   part 第X编  subpart 第X分编  zhang 第X章  jie 第X节  article 第X条 (sub 之N)
#   para 第X款 (duan 第X段)  chapter 一、  paren （一）  item 1.  subitem （1）
#   circled ①  box 专栏6  table 表2  attachment 附件 (number 0)  row 第13项 of a table
# ``cn_to_int`` is numerals.cn_to_int (None for a non-number such as 十四五).
_STEP_RES: list[tuple[str, re.Pattern[str]]] = [
    ("attachment", re.compile(r"附件")),
    ("subpart", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*分编")),
    ("part", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*编")),
    ("zhang", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*章")),
    ("jie", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*节")),
    ("article", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*条")),
    ("sub", re.compile(rf"(?<=条)之({_CN_NUM})")),
    ("para", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*款")),
    ("duan", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*段")),
    ("chapter_part", re.compile(rf"第\s*({_CN_NUM}|\d+)\s*部分")),
    ("box", re.compile(rf"专栏\s*(\d+|{_CN_NUM})")),
    ("table", re.compile(rf"(?<![代发列图外])表\s*(\d+|{_CN_NUM})(?![\d.]*\s*[%件家亿万元个])")),
    ("row", re.compile(rf"第\s*(\d+|{_CN_NUM})\s*项")),
    ("paren", re.compile(rf"[(（]\s*({_CN_NUM})\s*[)）]")),
    ("subitem", re.compile(r"[(（]\s*(\d{1,3})\s*[)）]")),
    ("circled", re.compile(r"([①-⑳])")),
    ("chapter", re.compile(rf"({_CN_NUM})\s*[、.．]")),
    ("item", re.compile(r"(?<![\d.])(\d{1,2})\s*[.．、](?!\d)")),
]
# styles a question's step may meet in a document numbered otherwise ("loose" match,
# used for documents that have no clause of the question's style: a plan's （十七）
# is what “第十七条” means there, its 三、 what “第三章/第三部分” means)
_LOOSE = {"article": ("paren", "item", "chapter"), "zhang": ("chapter", "chapter_part"),
          "chapter_part": ("chapter", "zhang")}


@lru_cache(maxsize=65536)
def path_steps(path: str) -> tuple[tuple[str, int], ...]:
    """Parse a clause path as ingest writes it (``"五、（三）专栏6"``, ``"附件 第13项"``,
    ``"第三章 第十四条（二）"``, ``"第十四条第二款"``) into steps
    (``[("zhang", 3), ("article", 14), ("paren", 2)]``).

    Accepts either width of brackets and dots, and a chapter typed as ``2、``
    (a leading Arabic number followed by ``、`` is a chapter when no other step
    precedes it)."""
    text = nfkc(to_simplified(path or ""))
    steps: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        best: tuple[int, int, str, int] | None = None
        for style, rx in _STEP_RES:
            m = rx.search(text, pos)
            if not m or (best is not None and m.start() >= best[0]):
                continue
            n = 0 if style == "attachment" else cn_to_int(m.group(1))
            if n is None:
                continue
            best = (m.start(), m.end(), style, n)
        if best is None:
            break
        start, end, style, n = best
        if style == "item" and not steps and text[start:end].rstrip().endswith("、"):
            style = "chapter"
        steps.append((style, n))
        pos = end
    return tuple(steps)


@dataclass(frozen=True)
class ClauseRef:
    """An explicit clause reference from a question, as path steps.

    A reference matches a clause whose path ends with the reference's last step and
    contains its other steps in order (``第十八条`` matches ``第二章 第二节 第十八条``;
    ``第十四条第一款第（二）项`` matches ``第十四条（二）``, the items of an article
    being cited without their paragraph when it is the first). ``anchored``: the
    reference's first step is the path's first (``三、（三）6.``, ``附件第13项``).
    """

    steps: tuple[tuple[str, int], ...]
    raw: str
    anchored: bool = False

    def label(self) -> str:
        return self.raw

    def matches(self, clause_path: str, loose: bool = True) -> bool:
        return match_steps(self.steps, path_steps(clause_path), self.anchored, loose)

    def styles(self) -> set[str]:
        return {s for s, _ in self.steps}

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [list(s) for s in self.steps], "raw": self.raw, "anchored": self.anchored}


def _step_eq(q: tuple[str, int], c: tuple[str, int], loose: bool) -> bool:
    qs, qn = q
    cs, cn = c
    if qn != cn:
        return False
    if qs == cs:
        return True
    return loose and cs in _LOOSE.get(qs, ())


def match_steps(q: Sequence[tuple[str, int]], c: Sequence[tuple[str, int]], anchored: bool,
                loose: bool = True) -> bool:
    """``q`` ends ``c`` and its other steps occur in ``c`` in order; a paragraph 1 step
    of ``q`` may be absent from ``c`` (an article's first paragraph is the article)."""
    if not q or not c or not _step_eq(q[-1], c[-1], loose):
        return False
    if anchored and not _step_eq(q[0], c[0], loose):
        return False
    j = len(c) - 2
    for step in reversed(q[:-1]):
        while j >= 0 and not _step_eq(step, c[j], loose):
            j -= 1
        if j < 0:
            if step == ("para", 1):
                j = len(c) - 2  # not in the path: the first paragraph holds the items
                continue
            return False
        j -= 1
    return True


_NUMTOK = rf"(?:\d+|{_CN_NUM})"
# full paths: 三、（三）6.  三（三）6  （三）6.  五、（三）专栏6
_PATH_RE = re.compile(
    rf"(?:(?P<chap>{_CN_NUM})\s*[、.．]?\s*)?"
    rf"[(（]\s*(?P<paren>{_CN_NUM})\s*[)）]"
    rf"(?:\s*(?P<item>\d{{1,2}})(?:\s*[.．、]|(?=[^\d%.．年月日件家亿万元个项条])|$))?"
)
# 第十四条, 第二章第十八条, 第十四条第二款, 第十六条第（一）项, 第十六条（一）, 第一百二十条之一
_ARTICLE_RE = re.compile(
    rf"(?:第\s*(?P<zhang>{_NUMTOK})\s*章\s*)?(?:第\s*(?P<jie>{_NUMTOK})\s*节\s*)?"
    rf"第\s*[(（]?\s*(?P<n>{_NUMTOK})\s*[)）]?\s*条(?:之(?P<sub>{_CN_NUM}))?"
    rf"(?:\s*第\s*(?P<para>{_NUMTOK})\s*款)?"
    rf"(?:\s*第\s*[(（]?\s*(?P<item>{_NUMTOK})\s*[)）]?\s*项|\s*[(（]\s*(?P<item2>{_CN_NUM})\s*[)）])?"
)
_BOX_RE = re.compile(rf"专栏\s*(?P<n>{_NUMTOK})")
_TABLE_RE = re.compile(rf"(?<![代发列图外])表\s*(?P<n>{_NUMTOK})(?![\d.]*\s*[%件家亿万元个])")
_ATTACH_RE = re.compile(rf"附件\s*(?:[:：]?\s*)?(?:第\s*)?(?P<n>{_NUMTOK})\s*(?:项|条|行|号)?")
_CHAPTER_RE = re.compile(rf"第\s*(?P<n>{_CN_NUM}|\d+)\s*(?P<kind>部分|章|编|节)")
_CHAPTER_KIND = {"部分": "chapter_part", "章": "zhang", "编": "part", "节": "jie"}


def parse_clause_refs(text: str) -> list[ClauseRef]:
    """Explicit clause references in a question (simplified, NFKC-folded or not)."""
    t = nfkc(to_simplified(text))
    refs: list[ClauseRef] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(steps: list[tuple[str, int]], raw: str, span: tuple[int, int], anchored: bool) -> None:
        if steps and free(*span):
            refs.append(ClauseRef(tuple(steps), raw.strip(), anchored))
            taken.append(span)

    def num(m: re.Match[str], name: str) -> int | None:
        return cn_to_int(m.group(name)) if m.group(name) else None

    for m in _ATTACH_RE.finditer(t):
        n = cn_to_int(m.group("n"))
        if n is not None:
            add([("attachment", 0), ("row", n)], m.group(0), m.span(), True)
    for m in _ARTICLE_RE.finditer(t):
        n = cn_to_int(m.group("n"))
        if n is None:
            continue
        steps: list[tuple[str, int]] = []
        for name, style in (("zhang", "zhang"), ("jie", "jie")):
            v = num(m, name)
            if v is not None:
                steps.append((style, v))
        steps.append(("article", n))
        for name, style in (("sub", "sub"), ("para", "para")):
            v = num(m, name)
            if v is not None:
                steps.append((style, v))
        item = num(m, "item") if m.group("item") else num(m, "item2")
        if item is not None:
            steps.append(("paren", item))
        add(steps, m.group(0), m.span(), False)
    for m in _BOX_RE.finditer(t):
        n = cn_to_int(m.group("n"))
        if n is not None:
            add([("box", n)], m.group(0), m.span(), False)
    for m in _TABLE_RE.finditer(t):
        n = cn_to_int(m.group("n"))
        if n is not None:
            add([("table", n)], m.group(0), m.span(), False)
    for m in _PATH_RE.finditer(t):
        steps = []
        chap = cn_to_int(m.group("chap")) if m.group("chap") else None
        paren = cn_to_int(m.group("paren"))
        if paren is None:
            continue
        if chap is not None:
            steps.append(("chapter", chap))
        steps.append(("paren", paren))
        if m.group("item"):
            steps.append(("item", int(m.group("item"))))
        add(steps, m.group(0), m.span(), chap is not None)
    for m in _CHAPTER_RE.finditer(t):
        n = cn_to_int(m.group("n"))
        if n is not None:
            add([(_CHAPTER_KIND[m.group("kind")], n)], m.group(0), m.span(), False)
    return refs


# ---------------------------------------------------------------------------
# Synonyms and the English glossary: data in assistant/lexicons/ (synonyms.toml,
# glossary.toml; their headers say where entries come from)
# ---------------------------------------------------------------------------
def field_synonyms() -> dict[str, list[str]]:
    """Everyday or abbreviated term -> the documents' terms (``lexicons/synonyms.toml``)."""
    return {k: list(v) for k, v in table("synonyms.toml").items()}


@lru_cache(maxsize=1)
def _glossary() -> list[tuple[re.Pattern[str], list[str]]]:
    """(English pattern, Chinese terms), longest pattern first (``lexicons/glossary.toml``)."""
    out = []
    for t in table("glossary.toml")["terms"]:
        pattern = t.get("match") or re.escape(t["en"].lower())
        out.append((len(pattern), re.compile(rf"\b(?:{pattern})[\w-]*"), list(t["zh"])))
    return [(rx, zh) for _, rx, zh in sorted(out, key=lambda x: -x[0])]


# ---------------------------------------------------------------------------
# Intent hints
# ---------------------------------------------------------------------------
_INTENT_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("numeric", re.compile(r"多少|几[个项家件年%]|多大|比例|比重|金额|数量|目标值|百分之|how (?:much|many)|what (?:share|percentage|proportion)", re.I)),
    ("duty", re.compile(r"哪个部门|哪些部门|哪个机构|哪些机构|哪些单位|谁负责|由谁|由哪|负责单位|责任单位|牵头|时限|什么时候完成|who is responsible|which (?:department|agency|body)", re.I)),
    ("clause", re.compile(r"哪一条|哪条|哪一部分|哪部分|哪一项|写在哪|出自|原文|条款|哪一章|哪个专栏|which (?:clause|section|article|part)|where does", re.I)),
    ("cross", re.compile(r"哪些地方|哪些城市|哪几个城市|哪个城市|各地|这几份|这些文件|几份文件|各个?(?:城市|文件|规划)|which (?:cities|places|plans|documents)|each (?:city|plan)", re.I)),
    # a plan's targets ("定了什么目标", "要达到多少"): plans state them in their own
    # sections (发展目标, 主要目标, 建设目标, 主要指标, 量化目标表)
    ("target", re.compile(r"目标|指标|要达到|达到多少|定了什么|targets?\b|goals?\b|aims?\b", re.I)),
    # what an enterprise can get (support, subsidies, services, measures) — asked of
    # the plan's measures, not of its account of past results
    ("support", re.compile(r"支持|扶持|补贴|补助|资助|奖励|政策|措施|举措|服务|帮助|帮忙|能得到|能获得|能享受|有没有|support|subsid|help|measure", re.I)),
    # one document asked for by what it says ("出自哪份文件"): not a per-plan comparison
    ("which_doc", re.compile(r"哪份文件|哪个文件|出自哪|哪一份|which (?:document|plan) ", re.I)),
]


@dataclass
class QueryInfo:
    question: str  # as typed
    text: str  # search copy: simplified, NFKC, synonyms and glosses appended
    # the documents the question is about (its search scope), the first named first:
    # those it names by title, narrowed to the places it names; else its places' documents
    places: list[str] = field(default_factory=list)
    places_from_history: bool = False
    # the scope's documents place by place, when the places named give it (routing.Route)
    place_groups: list[list[str]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # doc ids named by their title
    place_names: list[str] = field(default_factory=list)  # places named, as written
    unknown_places: list[str] = field(default_factory=list)  # places named that no document covers
    # places named only as where something goes or what is compared with, outside the scope
    # (嘉兴的企业…放到上海): part of what is asked, not whose documents answer
    aside_places: list[str] = field(default_factory=list)
    clause_refs: list[ClauseRef] = field(default_factory=list)
    # documents that have a clause the question names by number, best first (set by the
    # retriever's lookup: they may be more than the hits it returns)
    clause_docs: list[str] = field(default_factory=list)
    lang: str = "zh"  # "zh" | "en"
    intent: list[str] = field(default_factory=list)  # numeric | duty | clause | cross | target | support | which_doc | intends
    expansions: list[str] = field(default_factory=list)  # what was appended to text
    # ``text`` without the words that only name the plan (its place, "规划", "方案" …):
    # once the search is restricted to that plan they match its preamble, not the answer
    content_text: str = ""
    # phrases the user put in quotes: the plans' own words, matched literally
    quoted: list[str] = field(default_factory=list)
    # what the question asks for (asks.detect: money, ratio, count, date, body, measures …)
    asks: list[str] = field(default_factory=list)
    # corpus terms bridged from words the documents do not use (retrieval adds them to BM25)
    bridged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["clause_refs"] = [r.to_dict() for r in self.clause_refs]
        return d


def detect_lang(text: str) -> str:
    """"en" when Latin letters outnumber CJK characters, else "zh"."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "en" if latin > 2 * cjk and latin >= 3 else "zh"


def _place_names(plan: PlanMeta) -> list[str]:
    """Every name a user may type for a plan's place, in simplified script (two
    characters or more; the place without its 市/区/县 suffix added)."""
    from .routing import _alias_names

    return list(_alias_names(plan))


def find_places(text: str, plans: Iterable[PlanMeta]) -> list[str]:
    """Ids of the documents ``text`` is about, first-named first: those it names by
    title (narrowed to the places it names), else its places' documents (``routing``)."""
    return route(text, list(plans)).docs


def _history_referent(question: str, history: Sequence[dict[str, Any]] | None) -> str:
    """The title in 《》 of the document a follow-up refers to by a demonstrative and
    its kind (这部条例 → the 《…条例》 an earlier turn quoted): the latest such title,
    an answer's before its question's; "" when the question refers to none."""
    for turn in reversed(list(history or [])):
        for key in ("a", "answer", "q", "question"):
            val = turn.get(key) if isinstance(turn, dict) else None
            if isinstance(val, str) and val:
                for title in reversed(quoted_titles(val)):
                    if refers_to(question, title):
                        return title
    return ""


def _history_route(history: Sequence[dict[str, Any]] | None, plans: Sequence[PlanMeta]) -> Any:
    """The route of the latest earlier turn that named documents or places (its question
    first, then its answer); None when none did."""
    for turn in reversed(list(history or [])):
        for key in ("q", "question", "a", "answer"):
            val = turn.get(key) if isinstance(turn, dict) else None
            if isinstance(val, str) and val:
                r = route(val, list(plans))
                if r.docs:
                    return r
    return None


def expand_synonyms(text: str) -> list[str]:
    """Field terms to append for the colloquial words in ``text`` (already simplified)."""
    out: list[str] = []
    for key, targets in field_synonyms().items():
        if key in text:
            out.extend(t for t in targets if t not in text and t not in out)
    return out


def gloss_english(text: str) -> list[str]:
    """Chinese terms for the English field terms in ``text`` (glossary.toml); a year
    "by 2025" / "in 2025" as the documents write it (到2025年 / 2025年)."""
    low = re.sub(r"[‐-―]", "-", text.lower())
    out: list[str] = []
    for m in re.finditer(r"\b(by|until|before)?\s*((?:19|20)\d\d)\b", low):
        out.append(f"到{m.group(2)}年" if m.group(1) else f"{m.group(2)}年")
    for rx, zh in _glossary():
        if rx.search(low):
            out.extend(t for t in zh if t not in out)
            low = rx.sub(" ", low)
    return out


def bridge_expansions(text: str, bridge: Any, min_similarity: float,
                      used: Callable[[str], bool] | None = None) -> list[str]:
    """Corpus terms for the words of ``text`` that the corpus does not use ("竞标" →
    招标), from the word-vector ``bridge`` (``bridging.TermBridge``): only words absent
    from the bridge's corpus terms are bridged, so the question's own matching words stay
    as they are. ``used(term)``: whether the documents searched use a term, when they are
    not the whole corpus (a plan's question bridges to that plan's words, whatever other
    documents use)."""
    from .tokens import tokenize
    from .lexicons import words

    stop = words("question_stopwords.txt")
    used = used or bridge.vocabulary.__contains__
    out: list[str] = []
    for w in dict.fromkeys(tokenize(text)):
        if len(w) < 2 or w in stop or used(w) or w.isascii():
            continue
        for term, _ in bridge.neighbours(w, min_similarity, keep=used):
            if term not in out and term not in text:
                out.append(term)
    return out


# Words that refer to the document itself rather than to what is asked.
DOC_REFERENCE_RE = re.compile(
    r"《[^》]{2,60}》|[\"“”]?十四五[\"“”]?|知识产权(?:发展)?规划|实施意见|工作方案|建设方案|示范区方案|"
    r"规划|方案|文件|这份|该文件|里面|中的|里的"
)


# what may follow a place name used as a name (not as part of a compound word)
_AFTER_PLACE = r"$|[\s\W的市区县规方实这那知对在有要是计打政企全各]"


def strip_doc_references(text: str, plans: Sequence[PlanMeta], place_ids: Sequence[str],
                         names: Sequence[str] = (), doc_ids: Sequence[str] = (), keep: Sequence[str] = ()) -> str:
    """``text`` without what only names its documents: the places of ``place_ids`` and
    the other place ``names`` given, the titles of ``doc_ids`` as the question writes
    them, and generic words naming a plan. A title in 《》 among ``keep`` (one the
    corpus does not hold) loses only its brackets."""
    out = text
    for title in keep:  # a title the corpus does not hold: its words are content
        out = out.replace(f"《{title}》", f" {title} ")
    for mention in title_mentions(out, doc_ids, plans):
        out = out.replace(mention, " ", 1)
    words = [n for plan in plans if plan.id in place_ids for n in _place_names(plan)]
    words += [to_simplified(n) for n in names]
    for name in sorted(set(words), key=len, reverse=True):
        if name.isascii():
            out = re.sub(rf"\b{re.escape(name)}\b", " ", out, flags=re.I)
        else:
            # only where the name stands alone: "海门山羊" is a product, not the place
            out = re.sub(rf"{re.escape(name)}(?={_AFTER_PLACE})", " ", out)
    out = DOC_REFERENCE_RE.sub(" ", out)
    return re.sub(r"\s+", " ", out).strip() or text


def _english_content(base: str, plans: Sequence[PlanMeta], places: Sequence[str], r: Any) -> str:
    """An English question's content once its document is known: the question without
    the English title it names the document by ("Patent Agency Regulations (2018)"), with
    the glossary's Chinese terms of what is left (not of the title's words, which would
    match every clause of the document alike). "" when no English title is found."""
    mentions = english_title_mentions(base, r.named, plans)
    if not mentions:
        return ""
    body = base
    for m in mentions:
        body = body.replace(m, " ")
    expansions = expand_synonyms(body)
    expansions += [g for g in gloss_english(body) if g not in expansions]
    return strip_doc_references(" ".join([body, *expansions]), plans, places, r.place_names, r.named)


_QUOTED_RE = re.compile(r"[“\"「『‘]([^”\"」』’]{2,40})[”\"」』’]")


def quoted_phrases(text: str) -> list[str]:
    """Phrases in quotation marks (“…”, "…", 「…」), in order, without duplicates."""
    out: list[str] = []
    for m in _QUOTED_RE.finditer(text):
        p = m.group(1).strip()
        if len(p) >= 2 and p not in out:
            out.append(p)
    return out


def detect_intent(text: str, place_names: Sequence[str] = ()) -> list[str]:
    """The intents of a question (``_INTENT_RULES``; ``intends``: ``asks_intention``, with
    ``place_names`` the places it names, as written)."""
    out = [name for name, rx in _INTENT_RULES if rx.search(text)]
    return out + ["intends"] if asks_intention(text, place_names) else out


@lru_cache(maxsize=1)
def _intention_rules() -> tuple[str, str, re.Pattern[str] | None]:
    """(actor words, between, verbs) as regex sources and the ``anywhere`` regex
    (``lexicons/intends.toml``)."""
    t = table("intends.toml")
    actors = "|".join(re.escape(a) for a in sorted(t["actors"], key=len, reverse=True))
    verbs = "|".join(f"(?:{v})" for v in t["verbs"])
    anywhere = re.compile("|".join(f"(?:{v})" for v in t["anywhere"])) if t.get("anywhere") else None
    return actors, f"{t['between']}(?:{verbs})", anywhere


def asks_intention(text: str, place_names: Sequence[str] = ()) -> bool:
    """Whether the question asks what a government intends or undertakes to do (宁波打算…,
    政府管不管, 有这方面的打算吗): its subject a place it names or a word for a government,
    its asking part an intention (``lexicons/intends.toml``): what policy documents set out."""
    actors, after, anywhere = _intention_rules()
    if anywhere is not None and anywhere.search(text):
        return True
    names = "|".join(re.escape(p) for p in sorted(place_names, key=len, reverse=True) if p)
    subject = f"{names}|{actors}" if names else actors
    return re.search(f"(?:{subject}){after}", text) is not None


def analyse(question: str, plans: Sequence[PlanMeta], history: Sequence[dict[str, Any]] | None = None,
            title_min_coverage: float = TITLE_MIN_COVERAGE) -> QueryInfo:
    """Understand a question: see the module docstring."""
    base = for_search(question or "")
    lang = detect_lang(base)
    r = route(base, list(plans), title_min_coverage)
    places, groups = r.docs, r.place_groups
    from_history = False
    # titles quoted that name no document of the corpus: searched for, not routed by
    absent = titles_not_in_corpus(base, plans, title_min_coverage) if "《" in base else []
    referent = ""
    if not places and not r.unknown_places and history:
        # 这部条例: the document an earlier turn quoted; its title gives the scope, or
        # when the corpus does not hold it, the words to search for
        referent = _history_referent(base, history)
        earlier = route(f"《{referent}》", list(plans), title_min_coverage) if referent else None
        if referent and not earlier.named:
            absent.append(referent)
        if earlier is None or not earlier.docs:
            earlier = _history_route(history, plans)
        if earlier is not None:
            places, groups, from_history = earlier.docs, earlier.place_groups, True
    expansions = expand_synonyms(base)
    if lang == "en":
        expansions += [g for g in gloss_english(base) if g not in expansions]
    text = " ".join([base, *expansions]) if expansions else base
    if referent in absent:
        text = f"{text} {referent}"
    # a title's own numbering (…的解释（二）) is not a clause reference, nor its words an ask
    ref_text = base
    for mention in title_mentions(base, r.named, plans):
        ref_text = ref_text.replace(mention, " ")
    content = strip_doc_references(text, plans, places, r.place_names, r.named, absent) if places else text
    if lang == "en" and r.named:
        content = _english_content(base, plans, places, r) or content
    return QueryInfo(
        question=question,
        text=text,
        places=places,
        places_from_history=from_history,
        place_groups=groups,
        documents=r.named,
        place_names=r.place_names,
        unknown_places=r.unknown_places,
        aside_places=r.outside_scope,
        clause_refs=parse_clause_refs(ref_text),
        lang=lang,
        intent=detect_intent(base, r.place_names),
        expansions=expansions,
        content_text=content,
        quoted=quoted_phrases(base) + [t for t in absent if t not in quoted_phrases(base)],
        asks=detect_asks(ref_text),  # a title's words (合营期限暂行规定) ask nothing
    )
