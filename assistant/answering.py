"""The extractive answerer (the default: no LLM, deterministic, cannot be steered).

It never writes a fact of its own: it picks the sentences of the retrieved clauses
that answer the question and shows them as exact quotes, with the document, clause
number and heading they come from. Everything around the quotes is connective text.

How an answer is made:

1. **What is asked** (``asks``): the question's ask kinds (an amount, a ratio, a
   count, a date, a duration, a contact, a procedure, conditions or materials, a
   responsible body, measures, a clause's place), from ``lexicons/ask_kinds.toml``.
2. **Candidates** (``candidates``): every sentence of the top retrieved clauses (and
   of the children of a clause the question names), each described by the features
   of ``sentence_scoring.FEATURES`` (shared keywords weighted by rarity, bridged
   everyday words, question–sentence cosine, the clause's rank, whether it states
   what is asked …), scored by the hand-weighted or the learned scorer
   (``AnswerParams.scorer``, chosen by cross-validation).
3. **Stated or not**: when the question asks for something specific (an amount, a
   duration …), some sentence about the question's subject — scoring near the best
   — must state it; when none does, the answer says what the documents do say about
   the subject and plainly which part is not stated, with ``not_found`` true.
4. **Shape**: a clause the question names is answered with its requirements in
   order (its child clauses included); "what measures / what support" with each
   distinct measure across the top clauses as a list; anything else with the
   sentences that state it; a question about several documents per document.
5. **English questions** get an English lead sentence first (``english``).

Every threshold and weight chosen from data is an ``AnswerParams`` field, declared in
``tuning.TUNABLES`` and shipped in ``assistant/tuned.json``.
"""
from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import asks as ask_kinds
from .asks import FIGURE_KINDS
from .citations import sentence_bounds
from .clauses import SPANNED_COLUMNS_JOIN
from .lexicons import words
from .models import Clause, Hit, PlanMeta
from .places import Gazetteer
from .retrieval import BACKGROUND_SECTION_RE, PAST_RE, TARGET_SECTION_RE
from .sentence_scoring import HAND_SCORER, LinearScorer
from .term_weights import FamilyWeights, TermStats, TermWeights
from .query import detect_lang
from .textnorm import for_search, to_simplified

# ---------------------------------------------------------------------------
# hand-set constants (not chosen from data)
# ---------------------------------------------------------------------------
CROSS_CLAUSES_PER_DOC = 3  # about several documents: each document's best clauses compete
SHORT_SENTENCE = 60  # a best sentence shorter than this is quoted with the next one, for context
CONTEXT_MAX = 150
MAX_QUOTE_CHARS = 260  # chosen sentences of a clause within this span are quoted as one (with those between)
NAMED_MAX_CHARS = 900  # a named clause's requirements are quoted up to this many characters
LIST_OPENERS = ("：", ":")  # a sentence ending so announces the items that follow it
CANDIDATE_MEMO = 512  # questions whose candidates are remembered (evaluation asks one many times)

# The parenthesised units closing a task, e.g. "(市市场监管局、市工信局等职能部门按职责分工负责)".
DUTY_PAREN_RE = re.compile(r"[(（][^()（）]{2,120}?(?:负责|牵头|配合|分工)[^()（）]*[)）]")
ROW_UNIT_RE = re.compile(r"[(（]([^()（）]{1,4})[)）]\s*$")  # 「地理标志有效量(件)」: a table row's unit
QUOTED_PHRASE_RE = re.compile(r"[“\"「『]([^”\"」』]{4,40})[”\"」』]")
ASK_CROSS_RE = re.compile(r"哪些地方|哪些城市|哪几个城市|各地|这几份|这些文件|几份文件|分别|哪份文件|哪个文件|哪些文件|各个城市|which (?:cities|places|plans|documents)", re.I)
QUESTION_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
YEAR_RE = re.compile(r"(?:19|20)\d\d")
# A sentence is about the question's subject (for an asking part that names nothing: "……的
# 目标金额分别是多少？") when it holds this share of what the whole question names, by IDF
# weight: a word every document uses (知识产权, 0.15-0.25 of a two-word subject) is not
# enough. Fixed, not tuned: the tuned focus_coverage is a share of the one or two words
# next to the asking words, and choosing it for windows that name something must not
# move what counts as the subject (measured: tuned together, the folds' focus_coverage
# split between 0.2 and 0.4 and out-of-fold fact recall fell 0.906 -> 0.901).
SUBJECT_COVERAGE = 0.4
NAMED_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d\d(?=\s*年)")  # a year written as one (2025年, 2024-2026年)
# a year, or a five-year plan's period by its number (“十三五”: the 13th, 2016–2020)
YEAR_OR_PERIOD_RE = re.compile(r"(?:19|20)\d\d|十([一二三四五六七八九])五")
_DIGITS = "一二三四五六七八九"


def _period_ends(text: str) -> list[str]:
    """The last years of the five-year plans' periods ``text`` names (十四五 → 2025)."""
    return [y for m, y in zip(YEAR_OR_PERIOD_RE.finditer(text), _years_in(text)) if m.group(1)]


def _years_in(text: str) -> list[str]:
    """The years ``text`` names, in order; a five-year plan's period (十三五, 十四五)
    stands for its last year (the n-th plan, from the 3rd on, ends in 1960 + 5(n - 1):
    十三五 → 2020)."""
    return [str(1960 + 5 * (9 + _DIGITS.index(m.group(1)) + 1)) if m.group(1) else m.group(0)
            for m in YEAR_OR_PERIOD_RE.finditer(text)]


NO_PLACE = "地区未注明"  # a cross-document answer's label for a document whose place is not known


def _in_place(c: Clause) -> str:
    """「（宁波市）」 after a citation's title and path; nothing when its place is not known."""
    return f"（{c.place}）" if c.place else ""


@dataclass(frozen=True)
class AnswerParams:
    """The answerer's constants chosen from data: declared (grid, start value, meaning)
    in ``tuning.TUNABLES`` as ``answer.<field>``, chosen by cross-validation, shipped in
    ``assistant/tuned.json``. ``AnswerParams.shipped()`` reads the shipped values."""

    scorer: str = "hand"  # "hand" | "learned" (sentence_model)
    sentence_model: Any = None  # the learned scorer's coefficients (JSON), when trained
    top_clauses: int = 6  # retrieved clauses whose sentences compete for the answer
    bridge_min: float = 0.7  # word-vector similarity at which a corpus term stands in for a question word
    min_coverage: float = 0.05
    subject_share: float = 0.7
    focus_coverage: float = 0.2
    extra_share: float = 0.8
    fact_max: int = 3
    list_share: float = 0.6
    list_max: int = 5
    named_share: float = 0.0
    named_list_share: float = 0.0
    cross_doc_share: float = 0.55
    weak_coverage: float = 0.0  # below this best keyword coverage (bridged) the match is weak (0: never)
    weak_clauses: int = 1  # a weak match quotes the best sentence of this many clauses
    part_coverage: float = 0.0  # a sentence answers an asking part holding this share of its keywords (0: off)

    @classmethod
    def shipped(cls) -> "AnswerParams":
        from .tuning import shipped_fields

        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in shipped_fields("answer").items() if k in known})


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` (``citations.sentence_bounds``: split
    after 。；！？ and at newlines), with a closing parenthesised list of responsible
    units made a piece of its own."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_bounds(text):
        seg = text[a:b]
        pm = None
        for pm in DUTY_PAREN_RE.finditer(seg):
            pass
        if pm is not None and pm.start() > 0 and seg[pm.end():].strip(" 。；") == "":
            cut = a + pm.start()
            head = text[a:cut].rstrip()
            if head.strip():
                out.append((a, a + len(head)))
            out.append((cut, b))
            continue
        out.append((a, b))
    return out


@dataclass
class Sentence:
    clause_id: str
    start: int
    end: int
    text: str
    search: str  # simplified, lower-cased copy for matching
    is_heading: bool = False
    reading: str = ""  # how a table row reads (column: value unit)
    index: int = 0  # position among its clause's body sentences

    @property
    def is_duty(self) -> bool:
        return bool(DUTY_PAREN_RE.fullmatch(self.text.strip("。； ")))


@dataclass
class Candidate:
    sentence: Sentence
    clause: Clause
    rank: int
    features: dict[str, float]
    score: float = 0.0
    relevance: float = 0.0  # the score without the "states what is asked" feature


@dataclass
class Picked:
    """A clause of the answer and the sentences quoted from it."""

    clause: Clause
    rank: int
    sentences: list[Sentence]
    score: float


@dataclass
class QuestionView:
    """What the answerer needs to know about a question."""

    text: str  # as asked (already truncated)
    search: str  # simplified search copy (with expansions)
    keywords: list[str]
    parts: dict[str, list[str]]  # a compound keyword's parts (知识产权维权援助中心 → 维权, 援助 …)
    focus: list[list[str]]  # per asking part, what is asked about ("多少比例的贴息" → [贴息])
    # what the whole question names, for an asking part that names nothing ("……，申请流程是怎样的？")
    subject: list[str]
    numbers: list[str]  # figures the question gives (not years, not clause numbers)
    years: list[str]
    places: list[str] = field(default_factory=list)  # doc ids named (or carried over)
    asks: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    cross: bool = False  # about several documents: answered per document
    past: bool = False
    lang: str = "zh"
    # every document that has the clause the question names by number, best first (the
    # retriever's lookup counts them all; the hits carry only the best few)
    clause_docs: list[str] = field(default_factory=list)
    # per asking part, when a question has several: (its keywords, the kinds it asks)
    asking_parts: list[tuple[list[str], list[str]]] = field(default_factory=list)
    # the family of documents that states what the question asks (support, targets: the
    # policy documents), when the index holds others beside it ("": none preferred)
    family: str = ""
    # periods a figure is asked per ("每年安排多少": year); a sentence must give its figure so
    per: list[str] = field(default_factory=list)


@dataclass
class ExtractiveAnswer:
    answer: str
    citations: list[dict[str, Any]]
    not_found: bool
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # asked kinds the documents do not state


def _enclosing_code(code: str) -> str:
    """The division code a district or county lies in, from the gazetteer (a municipality's
    counties lie in it directly: 500243 彭水 → 500000 重庆市); for a code the gazetteer does
    not know, its city by the code's digits (330402 → 330400); "" for a city or province."""
    if len(code) != 6 or code.endswith("00"):
        return ""
    place = Gazetteer.default().by_code.get(code)
    return place.parent if place is not None else code[:4] + "00"


class ExtractiveAnswerer:
    """Answers by quoting the best sentences of the retrieved clauses (module docstring)."""

    def __init__(self, clauses: Iterable[Clause] | Mapping[str, Clause], plans: Sequence[PlanMeta] = (),
                 similarity: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
                 params: AnswerParams | None = None,
                 term_stats: TermStats | None = None,
                 bridge: Any = None,
                 doc_term_stats: Callable[[Sequence[str]], TermStats] | None = None):
        """``similarity(question, sentences)`` gives each sentence's cosine with the
        question (``IndexStore.similarities``); without it, sentences are scored on
        shared words only. ``params``: the tuned constants (default: the shipped ones).

        ``clauses`` may be a mapping that reads clauses on demand (``IndexStore.clauses``):
        a clause's sentences are split when a question first needs them, so nothing
        here costs in proportion to the corpus. ``term_stats`` = (units, document
        frequency of a token) gives the keyword weights (``IndexStore.term_stats``);
        without it they are counted over every clause's sentences here.
        ``doc_term_stats(doc_ids)``: the same statistics within those documents
        (``IndexStore.term_stats(docs)``): a sentence is weighed, and a question's words
        bridged for it, by the documents of its own document's family
        (``term_weights.FamilyWeights``); without it, by the whole index.
        ``bridge``: a ``bridging.TermBridge`` mapping everyday words to corpus terms
        (without it, one is made over the counted terms when ``term_stats`` is not given)."""
        from .tokens import tokenize

        self.params = params or AnswerParams.shipped()
        self._bridge = bridge
        self._bridge_tried = bridge is not None
        self._tokenize = tokenize
        self._similarity = similarity
        self.clauses: Mapping[str, Clause] = clauses if isinstance(clauses, Mapping) else \
            {c.clause_id: c for c in clauses}
        self.plans = {p.id: p for p in plans}
        self._sentences = _PerClause(self.clauses, self._split)
        self._clause_search = _PerClause(
            self.clauses, lambda c: for_search(" ".join([*c.parents, c.heading, c.text])).lower())
        self._stopwords = words("question_stopwords.txt")
        self._ask_words = words("ask_words.txt")
        self._memo: OrderedDict[Any, tuple[QuestionView, list[Candidate]]] = OrderedDict()
        self._scorers: dict[Any, LinearScorer] = {}
        self._last_years: dict[str, str] = {}
        self._local_terms: Counter[str] | None = None
        if term_stats is not None:
            whole = TermWeights(*term_stats)
        else:
            df: Counter[str] = Counter()
            n = 0
            for cid in self.clauses:
                for sent in self._sentences[cid]:
                    n += 1
                    df.update(set(self._tokenize(sent.text)))
            whole = TermWeights(n, lambda tok, _df=df: _df.get(tok, 0))
            self._local_terms = df
        self._weights = whole
        self._family_weights = FamilyWeights(self.plans, whole, doc_term_stats)
        self._place_words = self._collect_place_words()

    # -- setup helpers -----------------------------------------------------------
    def _split(self, c: Clause) -> list[Sentence]:
        if c.fields and c.level in ("table_row", "attachment_row"):
            # a row is one unit, matched with its column names and read with its units
            search = for_search(" ".join(f"{k} {v}" for k, v in c.fields.items())).lower()
            return [Sentence(c.clause_id, 0, len(c.text), c.text, search, reading=self._row_summary(c))]
        heading_line = c.text.split("\n", 1)[0].strip()
        # the first line is a heading only in a clause that has one (a law's article has
        # none: its first line is its first paragraph), or when it is a bare marker
        has_heading_line = "\n" in c.text.strip() and (bool(c.heading) or len(heading_line) <= 6)
        out, i = [], 0
        for a, b in sentence_spans(c.text):
            s = c.text[a:b]
            heading = has_heading_line and s == heading_line
            out.append(Sentence(c.clause_id, a, b, s, for_search(s).lower(), is_heading=heading, index=i))
            i += 0 if heading else 1
        return out

    def _collect_place_words(self) -> set[str]:
        """The plans' places (each clause's place is its plan's)."""
        found: set[str] = set()
        for p in self.plans.values():
            for name in [p.place, p.province, *p.aliases]:
                s = to_simplified(name or "").lower()
                if s:
                    found.add(s)
                    found.add(re.sub(r"(市|区|县|省)$", "", s))
        return {w for w in found if w}

    def warm_up(self) -> None:
        self.unknown_place("绍兴")  # loads the gazetteer and the word splitter once
        _ = self.bridge

    @property
    def bridge(self) -> Any:
        """The word-vector bridge over this corpus's terms (``bridging``), made on first use;
        None when the word vectors are unavailable."""
        if not self._bridge_tried:
            from .bridging import make_bridge

            self._bridge_tried = True
            if self._local_terms is not None:
                self._bridge = make_bridge(t for t, n in self._local_terms.items() if n >= 1)
        return self._bridge

    def _bridged(self, words: Sequence[str], weights: TermWeights | None = None
                 ) -> Mapping[str, Sequence[tuple[str, float]]]:
        """The question's words bridged to corpus terms (to terms the documents of
        ``weights`` use, when those are not the whole index's)."""
        bridge = self.bridge
        if bridge is None:
            return {}
        keep = None if weights is None or weights is self._weights else weights.used
        return bridge.bridged(words, self.params.bridge_min, keep)

    def all_sentences(self) -> list[str]:
        return [s.text for cid in self.clauses for s in self._sentences[cid]]

    def weights_of(self, doc_id: str) -> TermWeights:
        """The keyword weights a sentence of ``doc_id`` is weighed with (its family's)."""
        return self._family_weights.of(doc_id)

    # -- the question ------------------------------------------------------------------
    def view(self, question: str, info: Any = None, places: Sequence[str] = ()) -> QuestionView:
        from .query import parse_clause_refs

        q_simpl = for_search(question)
        search = (getattr(info, "text", None) or q_simpl).lower()
        # a clause reference (附件第13项, （十七）, 专栏6) says where, not what: its
        # numbers are not figures the answer should contain
        ref_numbers: set[str] = set()
        q_figures = q_simpl
        for ref in parse_clause_refs(q_simpl):
            ref_numbers.update(QUESTION_NUMBER_RE.findall(ref.raw))
            q_figures = q_figures.replace(ref.raw, " ")
        toks: list[str] = []
        all_toks = self._tokenize(search)
        # cut_for_search gives a word and its pieces (大规模, 大规, 规模): a dropped word's pieces go too
        dropped = [t for t in all_toks if t in self._stopwords and len(t) > 2]
        # a place named only as a destination (放到上海) is a word of what is asked, even
        # when a document of the index is of that place
        aside = {for_search(n).lower() for n in getattr(info, "aside_places", None) or ()}
        for t in all_toks:
            if t in self._stopwords or (t in self._place_words and t not in aside) or t.isascii() and not t.isdigit():
                continue
            if any(t in d for d in dropped):
                continue
            if t in ref_numbers or (len(t) < 2 and not t.isdigit()):
                continue  # one character (区, 来, 钱, 做) matches almost any sentence
            if t not in toks:
                toks.append(t)
        # a token inside a longer kept token is one of its parts: cut_for_search yields
        # 知识产权维权援助中心 and 维权/援助/中心; the word counts once, its parts stand in
        # for it where the whole is absent (``_coverage``)
        kws = [t for t in toks if not any(t != o and t in o for o in toks)]
        parts = {k: [t for t in toks if t != k and t in k and len(t) >= 2] for k in kws}
        focus = [self._focus_words(w, kws) for w in ask_kinds.ask_windows(question)]
        asking_parts = [([k for k in kws if k in part], ask_kinds.detect(part))
                        for part in ask_kinds.interrogative_parts(q_simpl)]
        numbers = QUESTION_NUMBER_RE.findall(q_figures)
        asks = getattr(info, "asks", None)
        asked = list(asks if asks is not None else ask_kinds.detect(question))
        cross = ("cross" in getattr(info, "intent", []) if info is not None else bool(ASK_CROSS_RE.search(q_simpl)))
        return QuestionView(
            text=question, search=search, keywords=kws, parts={k: v for k, v in parts.items() if v}, focus=focus,
            subject=self._focus_words(question, kws) if any(not g for g in focus) else [],
            asking_parts=[(k, a) for k, a in asking_parts if k] if len(asking_parts) > 1 else [],
            numbers=[n for n in numbers if not YEAR_RE.fullmatch(n)],
            years=[n for n in numbers if YEAR_RE.fullmatch(n)],
            places=list(places), asks=asked,
            phrases=[for_search(m).lower() for m in QUOTED_PHRASE_RE.findall(q_simpl)],
            cross=(cross and not places) or len(self._place_names(places)) >= 2, past=bool(PAST_RE.search(q_simpl)),
            lang=getattr(info, "lang", "zh"),
            clause_docs=list(getattr(info, "clause_docs", None) or []),
            family=self.preferred_family(info),
            per=ask_kinds.rates_asked(question),
        )

    def preferred_family(self, info: Any) -> str:
        """The family of documents whose clauses answer a question of ``info``'s intents
        (``term_weights.FamilyWeights.preferred``; "" when none is preferred)."""
        return self._family_weights.preferred(getattr(info, "intent", None) or [])

    def family_of(self, doc_id: str) -> str:
        return self._family_weights.family(doc_id)

    def places_of(self, doc_ids: Sequence[str]) -> set[str]:
        """The distinct places of these documents (``_place_names``)."""
        return self._place_names(doc_ids)

    def _place_names(self, doc_ids: Sequence[str]) -> set[str]:
        """The distinct places of these documents (two laws of one province are one place).
        A district's or county's document counts as the place it lies in when a document of
        that place is among them: its city (a 嘉兴 district beside 嘉兴's plan), or the
        municipality a county lies in directly (彭水 beside 重庆市's regulations)."""
        metas = [self.plans.get(d) for d in doc_ids]
        by_code = {m.place_code: m.place for m in metas if m is not None and m.place_code and m.place}
        return {by_code.get(_enclosing_code(getattr(m, "place_code", "") or "")) or getattr(m, "place", "") or d
                for d, m in zip(doc_ids, metas)}

    def _focus_words(self, window: str, keywords: Sequence[str]) -> list[str]:
        """What an asking window names: the question's keywords inside it (for English,
        the Chinese glossary terms of its words), less asking words (and words made of
        them: 多长时间), years, and words the documents never use (a word cut across
        the asking words, 内发 in "多长时间内发", names nothing a sentence could hold)."""
        from .query import gloss_english

        w = for_search(window).lower()
        found = gloss_english(w) if detect_lang(w) == "en" else [t for t in keywords if t in w]
        return [t for t in found if not self._is_ask_word(t) and not YEAR_RE.fullmatch(t)
                and not re.match(r"(?:几|多少)", t) and self._weights.used(t)]

    def _is_ask_word(self, word: str) -> bool:
        """An asking word, or a word made only of asking words (多长时间 = 多长 + 时间)."""
        if word in self._ask_words:
            return True
        return any(word[:i] in self._ask_words and self._is_ask_word(word[i:]) for i in range(1, len(word)))

    def unknown_place(self, question: str) -> str | None:
        """A place the question names that no document covers, even up the hierarchy
        of divisions (``routing``: the gazetteer, not a part-of-speech guess); words
        that only look like places (外国, 境外, 海外) never are."""
        from .routing import route

        r = route(for_search(question), list(self.plans.values()))
        return r.unknown_places[0] if r.unknown_places and not r.docs else None

    # -- candidates ----------------------------------------------------------------------
    def _coverage(self, kws: Sequence[str], text: str, bridged: Mapping[str, Sequence[tuple[str, float]]] = {},
                  parts: Mapping[str, Sequence[str]] = {}, weights: TermWeights | None = None) -> float:
        """IDF-weighted share of ``kws`` in ``text`` (idf of ``weights``: the text's
        document's family, ``weights_of``; default the whole index). A keyword absent from
        the text counts with the share of its parts present (a compound's pieces), or with
        the similarity of its best bridged term that is present, whichever is more."""
        idf = (weights or self._weights).idf
        total = sum(idf(t) for t in kws)
        if not total:
            return 0.0
        got = 0.0
        for t in kws:
            if t in text:
                got += idf(t)
                continue
            share = 0.0
            if parts.get(t):
                ps = parts[t]
                share = sum(idf(p) for p in ps if p in text) / sum(idf(p) for p in ps)
            if bridged.get(t):
                share = max(share, max((sim for term, sim in bridged[t] if term in text), default=0.0))
            got += idf(t) * share
        return got / total

    def candidates(self, qv: QuestionView, hits: Sequence[Hit]) -> list[Candidate]:
        """The sentences that compete for the answer, with their features (module doc)."""
        key = (qv.text, qv.search, tuple(qv.places), self.params.bridge_min, self.params.top_clauses, tuple(
            (h.clause_id, round(h.score, 6), bool(h.contributions.get("lookup"))) for h in hits))
        if key in self._memo:
            self._memo.move_to_end(key)
            return [Candidate(c.sentence, c.clause, c.rank, c.features) for c in self._memo[key][1]]
        out = self._make_candidates(qv, hits)
        self._memo[key] = (qv, out)
        if len(self._memo) > CANDIDATE_MEMO:
            self._memo.popitem(last=False)
        return [Candidate(c.sentence, c.clause, c.rank, c.features) for c in out]

    def _named(self, qv: QuestionView, hits: Sequence[Hit]) -> set[str]:
        """Clauses the question names: looked up by number, or whose heading it quotes."""
        named = {h.clause_id for h in hits if h.contributions.get("lookup")}
        for h in hits[:self.params.top_clauses]:
            c = self.clauses.get(h.clause_id)
            if c is not None and c.heading and any(
                    len(ph) >= 6 and (ph in for_search(c.heading).lower() or for_search(c.heading).lower() in ph)
                    for ph in qv.phrases):
                named.add(h.clause_id)
        return named

    def _make_candidates(self, qv: QuestionView, hits: Sequence[Hit]) -> list[Candidate]:
        named = self._named(qv, hits)
        clauses: list[tuple[int, Hit, Clause, bool]] = []
        seen: set[str] = set()
        per_doc: Counter[str] = Counter()
        for rank, h in enumerate(hits):
            c = self.clauses.get(h.clause_id)
            if c is None or h.clause_id in seen:
                continue
            per_doc[c.doc_id] += 1
            # about several documents: each document's best clauses compete, wherever they rank
            within = per_doc[c.doc_id] <= CROSS_CLAUSES_PER_DOC if qv.cross else rank < self.params.top_clauses
            if not within and h.clause_id not in named:
                continue
            seen.add(h.clause_id)
            clauses.append((rank, h, c, h.clause_id in named))
            if h.clause_id in named:  # a named clause brings its children
                for child in self._sub_clauses(c):
                    if child.clause_id not in seen:
                        seen.add(child.clause_id)
                        clauses.append((rank, h, child, True))
        bridged: dict[TermWeights, Mapping[str, Sequence[tuple[str, float]]]] = {}  # by family
        sents = [(rank, h, c, is_named, s) for rank, h, c, is_named in clauses
                 for s in self._sentences.get(c.clause_id, [])
                 if not (not c.is_leaf and len(c.text) < 40 and not is_named)]
        sims = self._sims(qv, [s for *_, s in sents])
        best_dense = max(sims, default=0.0)
        top_score = max((h.score for h in hits[:1]), default=0.0) or 1.0
        checked_asks = [a for a in qv.asks if a not in ("measures", "location")]
        list_ask = "measures" in qv.asks or not any(a in qv.asks for a in checked_asks)
        figure_ask = any(a in FIGURE_KINDS for a in qv.asks)
        out = []
        clause_cov: dict[str, float] = {}
        for (rank, h, c, is_named, s), dense in zip(sents, sims):
            weights = self.weights_of(c.doc_id)
            if weights not in bridged:
                bridged[weights] = self._bridged(qv.keywords, weights)
            if c.clause_id not in clause_cov:
                clause_cov[c.clause_id] = self._coverage(qv.keywords, self._clause_search[c.clause_id],
                                                         parts=qv.parts, weights=weights)
            section = " ".join([*c.parents, c.heading])
            text = s.reading or s.text
            f = {
                "cov": self._coverage(qv.keywords, s.search, parts=qv.parts, weights=weights),
                "cov_bridge": self._coverage(qv.keywords, s.search, bridged[weights], qv.parts, weights),
                "cov_clause": clause_cov[c.clause_id],
                "dense": dense,
                "dense_gap": dense - best_dense,
                "rank_inv": 1.0 / (1 + rank),
                "fused_rel": max(0.0, h.score) / top_score if h.clause_id == c.clause_id else 0.0,
                "named": float(is_named),
                "named_list": float(is_named and list_ask),
                "states_ask": float(any(self._states(a, s, c, qv) for a in checked_asks)),
                "q_number": float(any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", text) for n in qv.numbers)),
                "heading": float(s.is_heading),
                "first": float(s.index == 0 and not s.is_heading),
                "duty_piece": float(s.is_duty and "body" in qv.asks),
                "background": float(bool(BACKGROUND_SECTION_RE.search(section)) and not qv.past),
                "target": float(bool(TARGET_SECTION_RE.search(section)) and figure_ask),
                "phrase": float(any(ph in s.search for ph in qv.phrases)),
                "row": float(bool(s.reading)),
                "log_len": math.log1p(len(s.text)) / 6,
            }
            out.append(Candidate(s, c, rank, f))
        weak = 1.0 - max((c.features["cov_bridge"] for c in out), default=0.0)
        for c in out:
            c.features["dense_weak"] = c.features["dense"] * weak
            c.features["gap_weak"] = c.features["dense_gap"] * weak
        return out

    def _sub_clauses(self, head: Clause) -> list[Clause]:
        """The clauses under ``head``, in order: they follow it in its document
        (clause ids are ``doc#ordinal``), each with ``head`` among its parents."""
        out = []
        n = head.ordinal + 1
        while (c := self.clauses.get(f"{head.doc_id}#{n}")) is not None and head.path in c.parent_paths:
            out.append(c)
            n += 1
        return out

    def _sims(self, qv: QuestionView, sents: Sequence[Sentence]) -> list[float]:
        if self._similarity is None or not sents:
            return [0.0] * len(sents)
        values = self._similarity(qv.text, [s.text for s in sents])
        return [max(0.0, float(v)) for v in values]

    def _states(self, kind: str, s: Sentence, c: Clause, qv: QuestionView) -> bool:
        """Does sentence ``s`` of clause ``c`` state what ``kind`` asks for? A figure asked
        for a year the question gives (“到2025年”) must be stated for that year: the year
        is in the sentence, the clause before it, or the clause's headings. A figure
        asked per year (“每年安排多少”) must be given per year (年新增, 50件/年), not as a
        total over the plan's period (``asks.rates``)."""
        text = s.reading or s.text
        if kind == "body" and (self._clause_duty(c) or c.fields.get("责任单位")):
            return True
        if not ask_kinds.states(kind, text):
            return False
        if kind in FIGURE_KINDS and not all(ask_kinds.states_rate(r, text) for r in qv.per):
            return False  # a yearly figure asked, a total over the period stated
        if qv.years and kind in FIGURE_KINDS:
            years = self._years_of(s, c)
            if not years:  # a figure of no year of its own holds up to the document's last year
                return max(qv.years) <= self._last_year(c.doc_id)
            return any(y in qv.years for y in years)
        return True

    def _last_year(self, doc_id: str) -> str:
        """The latest year a document names anywhere, a five-year plan's period by its
        last year ("9999" when it names none): a question about a later year asks for
        what the document does not reach."""
        if doc_id not in self._last_years:
            years, i = [], 0
            while (c := self.clauses.get(f"{doc_id}#{i}")) is not None:
                text = " ".join([c.heading, c.text])
                years += NAMED_YEAR_RE.findall(text) + _period_ends(text)
                i += 1
            self._last_years[doc_id] = max(years, default="9999")
        return self._last_years[doc_id]

    @staticmethod
    def _years_of(s: Sentence, c: Clause) -> list[str]:
        """The years a sentence's figures are for: the last year named before them in the
        sentence or its clause ("到2022年，……达到40亿。……到2025年，……"); for a table
        row, every year its columns name (基值 2023年底, 目标值 2025年底: a figure for
        each); else the last year its clause's headings name; none when no year is named."""
        if s.reading:
            years = _years_in(s.reading)
            if years:
                return list(dict.fromkeys(years))
        else:
            years = _years_in(c.text[:s.end])
            if years:
                return years[-1:]
        return _years_in(" ".join([*c.parents, c.heading]))[-1:]

    def _on_focus(self, qv: QuestionView, c: Candidate, kind: str, beside_quoted: bool = False) -> bool:
        """Is the sentence about what the asked figure (date, procedure …) is of? ("多少比例
        的贴息": a sentence stating a ratio of something else does not answer it.) An
        asking part that names nothing asks of the question's subject (``subject``); for
        a sentence beside one already quoted from its clause (``beside_quoted``), the
        clause being about the subject is enough (a provision's other branch)."""
        if not qv.focus or not ask_kinds.kinds()[kind].focus:
            return True
        text = c.sentence.search + " " + for_search(c.clause.heading).lower()
        weights = self.weights_of(c.clause.doc_id)
        for group in qv.focus:  # strict: bridged terms do not count here
            where, share = text, self.params.focus_coverage
            if not group:  # the part names nothing: about the question's subject
                group, share = qv.subject, SUBJECT_COVERAGE
                if beside_quoted:
                    where = self._clause_search[c.clause.clause_id]
            if weights is not self._weights:  # only words its family uses
                group = [t for t in group if weights.used(t)]
            if not group or self._coverage(group, where, parts=qv.parts, weights=weights) >= share:
                return True
        return False

    def _clause_duty(self, c: Clause) -> Sentence | None:
        duty = [s for s in self._sentences.get(c.clause_id, []) if s.is_duty]
        return duty[-1] if duty else None

    # -- scoring -------------------------------------------------------------------------
    def _scorer(self) -> LinearScorer:
        p = self.params
        if p.scorer != "learned" or not p.sentence_model:
            return HAND_SCORER
        from .tuning import freeze

        key = freeze(p.sentence_model)
        if key not in self._scorers:
            self._scorers[key] = LinearScorer.from_json(p.sentence_model)
        return self._scorers[key]

    def scored(self, question: str, hits: Sequence[Hit], info: Any = None, places: Sequence[str] = ()
               ) -> tuple[QuestionView, list[Candidate]]:
        """The question's view and its candidates, scored, best first."""
        qv = self.view(question, info, places)
        cands = self.candidates(qv, hits)
        scorer = self._scorer()
        for c in cands:
            c.score = scorer.score(c.features)
            c.relevance = scorer.score({**c.features, "states_ask": 0.0}) if c.features["states_ask"] else c.score
        cands.sort(key=lambda c: (-c.score, c.rank, c.sentence.start))
        return qv, cands

    # -- answering -----------------------------------------------------------------------
    def answer(self, question: str, hits: Sequence[Hit], info: Any = None, places: Sequence[str] = ()
               ) -> ExtractiveAnswer:
        from .english import english_lead

        qv, cands = self.scored(question, hits, info, places)
        result = self._answer(qv, cands, hits)
        if qv.lang == "en":
            lead = english_lead(qv, result, self.clauses, self.plans)
            if lead:
                result.answer = lead + "\n\n" + result.answer
        return result

    def _answer(self, qv: QuestionView, cands: list[Candidate], hits: Sequence[Hit]) -> ExtractiveAnswer:
        p = self.params
        if not qv.places:
            unknown = self.unknown_place(qv.text)
            if unknown:
                return self._not_found(qv, cands, f"现有文件中没有关于「{unknown}」的内容")
            several = self._which_documents(qv, hits)
            if several is not None:
                return several
        if self.shares_nothing(qv, hits):
            return self._not_found(qv, [], "现有文件未涉及这一问题")
        body = [c for c in cands if not c.sentence.is_heading] or cands
        if not body:
            return self._not_found(qv, [], "现有文件未明确规定这一问题")
        body = self._preferred_documents(qv, body)
        if qv.cross:
            return self._answer_cross(qv, body)
        body = self._home_document(qv, body)
        best = body[0]
        if not best.features["named"] and max(c.features["cov_bridge"] for c in body) < p.min_coverage:
            return self._not_found(qv, body, "现有文件未明确规定这一问题")
        checked = ask_kinds.checked(qv.asks)
        # about the question's subject: close to the best on relevance alone, so that a
        # sentence does not qualify by merely stating some figure
        top_rel = max(c.relevance for c in body)
        subject = [c for c in body if c.relevance >= p.subject_share * top_rel] if top_rel > 0 else body[:1]
        stating = [(c, [k for k in checked if self._states(k, c.sentence, c.clause, qv) and self._on_focus(qv, c, k)])
                   for c in subject] if checked else []
        stated = [k for k in checked if any(k in kinds for _, kinds in stating)]
        missing = [k for k in checked if k not in stated]
        # the answer leads with the best sentence about the subject that states what is asked
        lead = next((c for c, kinds in stating if kinds), None)
        # a clause named by its number and asked what it says or lists (conditions,
        # powers, cases): the clause itself is the answer, quoted whole
        whole = any(h.contributions.get("lookup") for h in hits) and not any(
            a in (*FIGURE_KINDS, "year", "when", "duration") for a in qv.asks)
        if checked and not stated and not whole:
            return self._not_stated(qv, subject, missing)
        if whole:
            missing = []
        weak = self._weak(body)
        picked = self._pick(qv, body, lead, whole, weak)
        picked += self._phrase_picks(qv, hits, picked)
        result = self._compose(qv, picked)
        if weak and len(picked) > 1:
            result.notes.append(f"问题的说法与文件用语差别较大，以下是最接近的{len(picked)}处条款，请核对。")
        if missing:
            result.answer += f"\n（文件没有规定{self._missing_label(missing)}。）"
            result.missing = list(missing)
        return result

    def _preferred_documents(self, qv: QuestionView, body: list[Candidate]) -> list[Candidate]:
        """A question whose intent a family of documents states (what support exists, what
        targets are set: the policy documents, ``lexicons/doc_families.toml``) is answered
        from that family's clauses when any is among the best retrieved: a regulation's
        article that shares the question's words (产品, 专利) does not answer what support
        an enterprise can get while a plan's measure is at hand. A clause the question
        names is always kept."""
        if not qv.family or any(c.features["named"] for c in body):
            return body
        keep = [c for c in body if self.family_of(c.clause.doc_id) == qv.family]
        return keep if keep else body

    def _home_document(self, qv: QuestionView, body: list[Candidate]) -> list[Candidate]:
        """A question about one place that has several documents (a city's plan beside its
        local regulations) is answered from the document its best sentence comes from: a
        regulation's sentence that shares a word or two with the question (商标, 专利) does
        not take the place of the plan's next clause, nor the reverse. Other documents'
        sentences stay when the question names a clause, or asks for something specific
        (an amount, a body …) that only they state."""
        if len(qv.places) < 2 or len(self._place_names(qv.places)) != 1 or any(c.features["named"] for c in body):
            return body
        home_doc = body[0].clause.doc_id
        home = [c for c in body if c.clause.doc_id == home_doc]
        if len(home) == len(body):
            return body
        checked = ask_kinds.checked(qv.asks)
        if checked and not any(self._states(k, c.sentence, c.clause, qv) for c in home for k in checked):
            return body
        return home

    def shares_nothing(self, qv: QuestionView, hits: Sequence[Hit]) -> bool:
        """Nothing of the question is in the documents: none of its words (numbers
        aside) occurs in any sentence, and it names no place, plan, quoted wording or
        clause. Such a question (an instruction to the assistant, a SQL fragment,
        small talk) has no answer here, however close the nearest vector is."""
        if qv.places or qv.phrases or any(h.contributions.get("lookup") for h in hits):
            return False
        return not any(self._weights.used(t) for t in qv.keywords if not t.isdigit())

    def _which_documents(self, qv: QuestionView, hits: Sequence[Hit]) -> ExtractiveAnswer | None:
        """A clause number asked with no document named, that several documents have:
        the answer says which documents have such a clause, citing each, and asks which
        one is meant."""
        docs: list[str] = []
        firsts: list[Clause] = []
        for h in hits:
            c = self.clauses.get(h.clause_id)
            if c is not None and h.contributions.get("lookup") and c.doc_id not in docs:
                docs.append(c.doc_id)
                firsts.append(c)
        if len(docs) < 2:
            return None
        lines, cites = [], []
        for rank, c in enumerate(firsts):
            sents = [s for s in self._sentences.get(c.clause_id, []) if s.text.strip()][:1]
            quoted = self._cite_quotes(Picked(c, rank, sents, 0.0), cites) if sents else ""
            lines.append(f"- {self._where(c)}{_in_place(c)}：{quoted}")
        total = len(set(docs) | set(qv.clause_docs))
        shown = f"，以下是与问题最相关的{len(docs)}份" if total > len(docs) else ""
        answer = (f"问题没有指明文件，有{total}份文件都有这一条款{shown}，请指明是哪一份：\n" + "\n".join(lines))
        return ExtractiveAnswer(answer, cites, False)

    def _weak(self, body: Sequence[Candidate]) -> bool:
        """A weak match: no clause the question names, and no sentence holds more than
        ``weak_coverage`` of its keywords even through bridged words (a question in
        everyday words). The best-scoring sentence is then a guess among near equals, so
        the answer quotes the best sentence of several clauses (``weak_clauses``)."""
        p = self.params
        return p.weak_clauses > 1 and not any(c.features["named"] for c in body) and \
            max(c.features["cov_bridge"] for c in body) < p.weak_coverage

    def _pick(self, qv: QuestionView, cands: list[Candidate], lead: Candidate | None = None,
              whole: bool = False, weak: bool = False) -> list[Picked]:
        """The sentences to quote, grouped by clause (module docstring, step 4); a fact
        answer starts from ``lead`` (the best sentence stating what is asked), when given."""
        p = self.params
        named = [c for c in cands if c.features["named"]]
        fact_asks = [a for a in qv.asks if a not in ("measures", "location")]
        if named and (whole or "measures" in qv.asks or not fact_asks):
            best = named[0].score
            share = 0.0 if whole else p.named_list_share if "measures" in qv.asks else p.named_share
            chosen = [c for c in named if c.score >= share * best and not c.sentence.is_duty
                      and (c.clause.is_leaf or len(c.clause.text) >= 40)]
            chosen = self._within_chars(sorted(chosen, key=lambda c: (c.clause.ordinal, c.sentence.start)),
                                        NAMED_MAX_CHARS)
            return self._group(chosen)
        if "measures" in qv.asks:
            share, cap = p.list_share, p.list_max
        else:
            share, cap = p.extra_share, p.fact_max
        top = lead or cands[0]
        chosen = [top]
        # a fact is stated by a sentence that states it; others join only when close
        for c in cands:
            if len(chosen) >= cap:
                break
            if c is top:
                continue
            if c.score >= share * top.score and not self._repeats(c, chosen):
                chosen.append(c)
        if weak:
            chosen = self._clause_bests(cands, chosen, self.params.weak_clauses)
        chosen = self._stated_alongside(qv, cands, chosen)
        chosen = self._cover_parts(qv, cands, chosen)
        context = self._context_after(top)
        if context is not None and not any(c.sentence is context for c in chosen):
            chosen.append(Candidate(context, top.clause, top.rank, top.features, top.score))
        if "body" in qv.asks:
            duty = self._clause_duty(top.clause)
            if duty is not None and not any(c.sentence is duty for c in chosen):
                chosen.append(Candidate(duty, top.clause, top.rank, top.features, top.score))
        return self._group(self._announced_items(chosen))

    def _announced_items(self, chosen: list[Candidate]) -> list[Candidate]:
        """A quoted sentence that announces a list and ends its clause (“认定驰名商标应当考虑
        下列因素：”) says nothing without the list: the items under its clause ((一)…(五),
        1.…) follow it, in order, right after it, each quoted with its own marker, up to
        ``NAMED_MAX_CHARS``; the article's next paragraph (第二款) is no item of the list
        and ends it."""
        out: list[Candidate] = []
        for c in chosen:
            out.append(c)
            rest = c.clause.text[c.sentence.end:].strip()
            if rest or not c.sentence.text.rstrip().endswith(LIST_OPENERS):
                continue
            size = 0
            for sub in self._sub_clauses(c.clause):
                if sub.level == "paragraph":
                    break
                sents = self._sentences.get(sub.clause_id, [])
                size += sum(len(s.text) for s in sents)
                if size > NAMED_MAX_CHARS:
                    break
                out += [Candidate(s, sub, c.rank, c.features, c.score) for s in sents
                        if not any(o.sentence is s for o in chosen)]
        return out

    def _stated_alongside(self, qv: QuestionView, cands: Sequence[Candidate], chosen: list[Candidate]
                          ) -> list[Candidate]:
        """A quoted clause's other sentences that state what is asked, on the question's
        focus, join the quote when they fall within one span of it (``MAX_QUOTE_CHARS``):
        a provision often states its figure in branches (「…处违法所得一倍以上四倍以下的
        罚款；违法所得难以确定的，处二万元以上二十万元以下的罚款」), and quoting the
        clause for one branch only answers part of the question. Not for a responsible
        body (a clause's duty line states it for every sentence)."""
        kinds = [k for k in ask_kinds.checked(qv.asks) if k != "body"]
        if not kinds or "measures" in qv.asks:
            return chosen
        out = list(chosen)
        for c in cands:
            first = min((o.sentence.start for o in out if o.clause.clause_id == c.clause.clause_id), default=None)
            last = max((o.sentence.end for o in out if o.clause.clause_id == c.clause.clause_id), default=None)
            if first is None or any(o.sentence is c.sentence for o in out) or self._repeats(c, out):
                continue
            if max(last, c.sentence.end) - min(first, c.sentence.start) > MAX_QUOTE_CHARS:
                continue
            if any(self._states(k, c.sentence, c.clause, qv) and self._on_focus(qv, c, k, beside_quoted=True)
                   for k in kinds):
                out.append(c)
        return out

    def _cover_parts(self, qv: QuestionView, cands: Sequence[Candidate], chosen: list[Candidate]
                     ) -> list[Candidate]:
        """A question of several asking parts ("有效期是多长？……宽展期多长？", "由谁检查？
        检查能否收费？") is answered part by part: a part that no chosen sentence answers
        (holding ``part_coverage`` of the part's keywords, and stating what the part asks
        for, if it asks for something specific) gets the best sentence about the question's
        subject that does, from whichever clause (0: off)."""
        share = self.params.part_coverage
        if not share or not qv.asking_parts:
            return chosen
        top_rel = max(c.relevance for c in cands)
        subject = [c for c in cands if c.relevance >= self.params.subject_share * top_rel]

        def answers(c: Candidate, words: Sequence[str], kinds: Sequence[str]) -> bool:
            text = c.sentence.search + " " + for_search(c.clause.heading).lower()
            return self._coverage(words, text, parts=qv.parts, weights=self.weights_of(c.clause.doc_id)) >= share and all(
                self._states(k, c.sentence, c.clause, qv) for k in ask_kinds.checked(kinds))

        out = list(chosen)
        for words, kinds in qv.asking_parts:
            if any(answers(c, words, kinds) for c in out):
                continue
            extra = next((c for c in subject if answers(c, words, kinds) and not self._repeats(c, out)), None)
            if extra is not None:
                out.append(extra)
        return out

    def _clause_bests(self, cands: Sequence[Candidate], chosen: list[Candidate], n: int) -> list[Candidate]:
        """``chosen`` and the best sentence of further clauses, until ``n`` clauses are quoted."""
        out = list(chosen)
        clauses = {c.clause.clause_id for c in out}
        for c in cands:
            if len(clauses) >= n:
                break
            if c.clause.clause_id not in clauses and not c.sentence.is_duty and not self._repeats(c, out):
                out.append(c)
                clauses.add(c.clause.clause_id)
        return out

    @staticmethod
    def _within_chars(cands: list[Candidate], limit: int) -> list[Candidate]:
        out, n = [], 0
        for c in cands:
            if out and n + len(c.sentence.text) > limit:
                break
            out.append(c)
            n += len(c.sentence.text)
        return out

    @staticmethod
    def _repeats(c: Candidate, chosen: Sequence[Candidate]) -> bool:
        """The same sentence text already chosen (boilerplate repeated in several clauses)."""
        return any(c.sentence.search == o.sentence.search for o in chosen)

    @staticmethod
    def _group(chosen: Sequence[Candidate]) -> list[Picked]:
        """Chosen sentences by clause: clauses in order of their best sentence, sentences in text order."""
        by: dict[str, Picked] = {}
        for c in chosen:
            p = by.get(c.clause.clause_id)
            if p is None:
                by[c.clause.clause_id] = Picked(c.clause, c.rank, [c.sentence], c.score)
            elif c.sentence not in p.sentences:
                p.sentences.append(c.sentence)
                p.score = max(p.score, c.score)
        for p in by.values():
            p.sentences.sort(key=lambda s: s.start)
        return list(by.values())

    def _context_after(self, best: Candidate) -> Sentence | None:
        """The sentence after a short best sentence, when quoting both stays short: a
        measure is often stated in two short sentences ("唤醒沉睡专利…。举办供需对接活动。")."""
        s = best.sentence
        if s.reading or len(s.text) >= SHORT_SENTENCE:
            return None
        later = [x for x in self._sentences.get(best.clause.clause_id, []) if x.start >= s.end]
        if not later:
            return None
        nxt = min(later, key=lambda x: x.start)
        if nxt.is_heading or nxt.is_duty or nxt.end - s.start > CONTEXT_MAX:
            return None
        return nxt

    def _phrase_picks(self, qv: QuestionView, hits: Sequence[Hit], have: Sequence[Picked]) -> list[Picked]:
        """Clauses containing a phrase the question quotes verbatim (“能调不裁”), not yet chosen:
        a question about where a wording comes from is answered by every place it occurs."""
        if not qv.phrases or "location" not in qv.asks:
            return []
        seen = {p.clause.clause_id for p in have}
        out = []
        for rank, h in enumerate(hits):
            if h.clause_id in seen or h.clause_id not in self.clauses:
                continue
            for sent in self._sentences.get(h.clause_id, []):
                if any(ph in sent.search for ph in qv.phrases):
                    out.append(Picked(self.clauses[h.clause_id], rank, [sent], 0.0))
                    seen.add(h.clause_id)
                    break
        return out[:2]

    def _answer_cross(self, qv: QuestionView, cands: list[Candidate]) -> ExtractiveAnswer:
        """One entry per document whose best sentence answers nearly as well as the best
        document's (and states what is asked, when something specific is asked)."""
        p = self.params
        checked = ask_kinds.checked(qv.asks)
        per_doc: dict[str, list[Candidate]] = {}
        for c in cands:
            per_doc.setdefault(c.clause.doc_id, []).append(c)
        bests: list[Candidate] = []
        for doc_cands in per_doc.values():
            top = doc_cands[0]
            if checked:
                top_rel = max(c.relevance for c in doc_cands)
                subject = [c for c in doc_cands if c.relevance >= p.subject_share * top_rel]
                stating = [c for c in subject if any(
                    self._states(k, c.sentence, c.clause, qv) and self._on_focus(qv, c, k) for k in checked)]
                if not stating:
                    continue
                top = stating[0]
            if qv.numbers and not any(n in (top.sentence.reading or top.sentence.text) for n in qv.numbers):
                with_num = [c for c in doc_cands[:CROSS_CLAUSES_PER_DOC] if any(
                    n in (c.sentence.reading or c.sentence.text) for n in qv.numbers)]
                if not with_num:
                    continue
                top = with_num[0]
            bests.append(top)
        if not bests:
            if checked:
                return self._not_stated(qv, cands[:2], checked)
            return self._not_found(qv, cands, "现有文件未明确规定这一问题")
        bests.sort(key=lambda c: -c.score)
        # each document stating what is asked answers, and each the question names ("嘉兴和宁波
        # 分别…"); otherwise those close to the best
        chosen = bests if checked or len(qv.places) >= 2 else \
            [c for c in bests if c.score >= p.cross_doc_share * bests[0].score]
        picked = self._group(chosen)
        lines, cites = [], []
        for pk in picked:
            quoted = self._cite_quotes(pk, cites)
            summary = self._quotes_for(pk)[1]
            body = f"{summary}。原文：{quoted}" if summary else quoted
            lines.append(f"- **{pk.clause.place or NO_PLACE}**（{self._where(pk.clause)}）：{body}")
        places = "、".join(dict.fromkeys(pk.clause.place or NO_PLACE for pk in picked))
        head = f"共有{len(picked)}份文件涉及（{places}）：" if len(picked) > 1 else f"见{places}的文件："
        return ExtractiveAnswer(head + "\n" + "\n".join(lines), cites, False)

    # -- not found / not stated -------------------------------------------------------------
    @staticmethod
    def _missing_label(kinds: Sequence[str]) -> str:
        table = ask_kinds.kinds()
        return "、".join(dict.fromkeys(table[k].missing for k in kinds if table[k].missing))

    def _not_stated(self, qv: QuestionView, subject: Sequence[Candidate], missing: Sequence[str]) -> ExtractiveAnswer:
        """"《…》X提到「…」[1]，但没有规定具体金额。": what the documents say about the
        subject, with citations, and plainly which part they do not state."""
        label = self._missing_label(missing) or "所问的内容"
        if qv.per and any(k in FIGURE_KINDS for k in missing):
            label = "".join(ask_kinds.rates()[r].missing for r in qv.per) + label
        picked = self._group(subject[:1])
        if not picked:
            return ExtractiveAnswer(f"现有文件没有规定{label}。", [], True, missing=list(missing))
        cites: list[dict[str, Any]] = []
        parts = [f"{self._where(pk.clause)}提到{self._cite_quotes(pk, cites)}" for pk in picked]
        return ExtractiveAnswer("；".join(parts) + f"，但没有规定{label}。", cites, True, missing=list(missing))

    def _not_found(self, qv: QuestionView, cands: Sequence[Candidate], message: str) -> ExtractiveAnswer:
        """Say plainly that the documents do not specify it, and show the closest sentences."""
        related = self._group([c for c in cands if c.features["cov"] > 0][:2])
        lines, cites = [], []
        for pk in related:
            lines.append(f"- {self._where(pk.clause)}{_in_place(pk.clause)}：{self._cite_quotes(pk, cites)}")
        answer = message + "。"
        if lines:
            answer += "\n\n相关条款（它们提到了相近内容，但没有给出所问的内容）：\n" + "\n".join(lines)
        return ExtractiveAnswer(answer, cites, True)

    # -- composing ----------------------------------------------------------------------
    def _where(self, c: Clause, with_parents: bool = False) -> str:
        loc = c.path
        if c.heading and c.level not in ("table_row", "attachment_row"):
            loc += f"「{c.heading}」"
        if with_parents and c.parents:
            loc += "（属于" + " > ".join(f"「{p}」" for p in c.parents) + "）"
        return f"《{c.title}》{loc}"

    def _quotes_for(self, p: Picked) -> tuple[list[str], str]:
        """(quotes, connective summary) for a picked clause.

        Chosen sentences close together are quoted as one span of the clause (what lies
        between them is the clause's own words too); far-apart ones separately. A table
        row is quoted whole and read out column by column."""
        c = p.clause
        if c.fields and c.level in ("table_row", "attachment_row"):
            return [c.text], self._row_summary(c)
        groups: list[list[int]] = []
        for s in sorted(p.sentences, key=lambda s: s.start):
            if groups and s.end - groups[-1][0] <= MAX_QUOTE_CHARS:
                groups[-1][1] = max(groups[-1][1], s.end)
            else:
                groups.append([s.start, s.end])
        return [c.text[a:b] for a, b in groups], ""

    @staticmethod
    def _row_summary(c: Clause) -> str:
        """A table row read out: each column with its value, the unit the header gives appended."""
        parts = []
        named = [k for k in c.fields if k not in ("序号",) and c.fields[k]]
        # the row's name: the cell that gives a unit (「地理标志有效量(件)」), else the first one
        name_key = next((k for k in named if ROW_UNIT_RE.search(c.fields[k])), named[0] if named else "")
        unit = ""
        name = c.fields.get(name_key, "")
        m = ROW_UNIT_RE.search(name)
        if m:
            unit = m.group(1)
        for k, v in c.fields.items():
            if k == "序号" or not v:
                continue
            if k == name_key:
                parts.append(v.rstrip("。；;，,"))  # the parts are joined with ；
                continue
            val = v
            if SPANNED_COLUMNS_JOIN in k:
                # figures the source printed without separators, which the repair could not split
                val = f"{v}（原文数字相连，未能分列）"
            elif unit and re.search(r"\d$", v):
                val = v + unit
            parts.append(f"{k}：{val}")
        return "；".join(parts)

    def _cite_quotes(self, p: Picked, cites: list[dict[str, Any]]) -> str:
        """Append a citation per quote of ``p`` to ``cites``; the quotes with their markers."""
        out = []
        for quote in self._quotes_for(p)[0]:
            n = len(cites) + 1
            cites.append(self._citation(n, p.clause, quote))
            out.append(f"「{quote}」[{n}]")
        return "……".join(out)

    @staticmethod
    def _citation(n: int, c: Clause, quote: str) -> dict[str, Any]:
        if quote not in c.text:  # a quote we show must be the clause's own words
            raise ValueError(f"quote is not in clause {c.clause_id}: {quote[:40]!r}")
        return {"n": n, "doc_id": c.doc_id, "title": f"《{c.title}》", "place": c.place, "path": c.path,
                "heading": c.heading, "quote": quote, "clause_text": c.text}

    def _compose(self, qv: QuestionView, picked: Sequence[Picked]) -> ExtractiveAnswer:
        lines, cites = [], []
        with_parents = "location" in qv.asks
        for p in picked:
            quoted = self._cite_quotes(p, cites)
            where = self._where(p.clause, with_parents=with_parents)
            summary = self._quotes_for(p)[1]
            if summary:
                lines.append(f"{where}{_in_place(p.clause)}列明：{summary}。原文：{quoted}")
            else:
                lines.append(f"{where}{_in_place(p.clause)}：{quoted}")
        if len(lines) == 1:
            answer = "据" + lines[0]
        else:
            answer = "\n".join(f"- {ln}" for ln in lines)
        return ExtractiveAnswer(answer, cites, False)


class _PerClause(dict):
    """clause id → ``make(clause)``, computed on first use (``get`` too)."""

    def __init__(self, clauses: Mapping[str, Clause], make: Callable[[Clause], Any]):
        super().__init__()
        self._clauses = clauses
        self._make = make

    LIMIT = 50_000  # clauses kept; a long-running app forgets old ones rather than grow with the corpus

    def __missing__(self, cid: str):
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[cid] = self._make(self._clauses[cid])
        return value

    def get(self, cid, default=None):
        if dict.__contains__(self, cid):
            return dict.__getitem__(self, cid)
        if cid in self._clauses:
            return self[cid]
        return default


def friendly_reply(kind: str) -> str:
    """What to say when there is no question to answer."""
    if kind == "empty":
        return "请输入一个问题，例如：「嘉兴规划对知识产权质押融资定了什么目标？」"
    return "没有看懂这个问题：请用文字提问，例如：「绍兴建立知识产权纠纷快速处理机制由哪些单位负责？」"


def has_words(text: str) -> bool:
    """True when the text has at least one letter, digit or CJK character."""
    return any(ch.isalnum() for ch in text or "")
