"""The extractive answerer (the default: no LLM, deterministic, cannot be steered).

It never writes a fact of its own: it picks the sentences of the retrieved clauses
that answer the question and shows them as exact quotes, with the plan, clause
number and heading they come from. Everything it adds around the quotes is
connective text (which plan, which clause, "responsible units:", …).

How a sentence is chosen (``SentenceScorer``):

* **term coverage**: the question's keywords (jieba tokens of the simplified
  question and its synonym/English-gloss expansions, stop-words removed), each
  weighted by its IDF over all clause sentences, share found in the sentence,
  plus a smaller share for the clause as a whole (heading and parents included:
  a box's title often carries the words the question uses);
* **retrieval rank** of the clause;
* **intent bonuses**: numeric questions prefer sentences with a number and unit,
  duty questions the responsible body (the parenthesised departments closing a
  task, an attachment row's 责任单位), time questions a date, and a number the
  question itself gives (``定在20件``) must appear.

"Not found" (``not_found``) is decided by general rules, never by the question:
the question asks for a specific figure (a ratio, a yuan amount, a year) and no
well-matching sentence carries one; or it names a place none of the plans is
about; or the best sentence covers too little of the question.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from .citations import sentence_bounds
from .models import Clause, Hit, PlanMeta
from .textnorm import for_search, to_simplified

# ---------------------------------------------------------------------------
# hand-set constants (not chosen from data)
# ---------------------------------------------------------------------------
TOP_CLAUSES = 6  # clauses whose sentences compete for the answer
CROSS_CLAUSES_PER_DOC = 3
W_SENT, W_CLAUSE, W_RANK = 0.65, 0.25, 0.15
BONUS_INTENT = 0.30
BONUS_QUESTION_NUMBER = 0.45
BONUS_LOOKUP = 1.0  # a clause named by its number in the question (retrieval looked it up)
MAX_SENTENCES = 3
MULTI_PART_SHARE = 0.70
SHORT_SENTENCE = 60  # a best sentence shorter than this is quoted with the next one, for context
CONTEXT_MAX = 150
MAX_QUOTE_CHARS = 260
MAX_NAMED_CLAUSES = 3  # clauses a question names by number that are quoted whole


@dataclass(frozen=True)
class AnswerParams:
    """The answerer's constants chosen from data: declared (grid, start value, meaning)
    in ``tuning.TUNABLES`` as ``answer.<field>``, chosen by cross-validation, shipped in
    ``assistant/tuned.json``. ``AnswerParams.shipped()`` reads the shipped values."""

    w_dense: float = 0.2
    extra_sentence_share: float = 0.8
    min_coverage: float = 0.05
    figure_near_coverage: float = 0.3
    cross_doc_share: float = 0.55

    @classmethod
    def shipped(cls) -> "AnswerParams":
        from .tuning import shipped_fields

        return cls(**shipped_fields("answer"))

# Question words and boilerplate that say nothing about *what* is asked.
QUESTION_STOPWORDS = frozenset(
    """
    规划 文件 方案 意见 实施 实施意见 十四五 十四 四五 十三五 十三 三五 提到 提出 要求 规定 哪 哪一 一条 哪条 哪一条 部分 哪一部分 写 写在 出自
    原文 具体 怎么 怎么样 说 的话 有没有 没有 有无 能 能否 可以 吗 呢 么 啥 哪里 哪儿 里 什么样 目标 定 定了
    达到 达 分别 各地 各 这几份 几份 这些 城市 地方 哪些 哪个 谁 负责 部门 单位 机构 市里 区里 政府 我们 我 一家
    企业 公司 想 打算 计划 如果 要是 会 能够 获得 享受 得到 多少 几 多 大 规模 一年 每年 条款 一 份 项 支持
    what which how much many does plan plans city cities document documents
    """.split()
)

# A number with a unit the plans use for targets.
NUMBER_UNIT_RE = re.compile(
    r"(?:\d[\d,.]*|[一二三四五六七八九十百千两]+)\s*(?:%|％|件|家|亿元|万元|亿|万|元|个|名|人|天|日|项|次|所|倍|分|年|月|家次|件次|个百分点)"
)
PERCENT_RE = re.compile(r"\d[\d.]*\s*[%％]|百分之|[一二三四五六七八九]成")
MONEY_RE = re.compile(r"\d[\d,.]*\s*(?:万|亿|千)?\s*元|[一二三四五六七八九十百千]+(?:万|亿)?元|\d[\d,.]*\s*(?:万|亿)")
DATE_RE = re.compile(r"(?:19|20)\d\d\s*年(?:\s*\d{1,2}\s*月)?(?:底|前|以前|之前|年底)?|\d{1,2}\s*月(?:底|前)")
# The parenthesised units closing a task, e.g. "(市市场监管局、市工信局等职能部门按职责分工负责)".
DUTY_PAREN_RE = re.compile(r"[(（][^()（）]{2,120}?(?:负责|牵头|配合|分工)[^()（）]*[)）]")
BODY_RE = re.compile(r"(?:局|委|办|办公室|部|厅|院|小组|中心|法院|检察院|分行|监管局|协会|学院|政府)")
DUTY_WORD_RE = re.compile(r"负责|牵头|统筹|依托|由|职能|协调")

# What a question asks for, in the plans' terms.
ASK_RATIO_RE = re.compile(r"比例|比率|比重|百分之|百分比|几成|percentage|ratio|share", re.I)
ASK_MONEY_RE = re.compile(
    r"多少钱|几块钱|资助多少|多少资助|补助多少|多少补助|补贴多少|多少补贴|奖励多少|多少奖励|补多少|奖多少|给多少钱|"
    r"多少(?:万|亿)?元|预算|经费多少|单笔|最高.{0,4}(?:补|奖|资助)|资助标准|how much money|funding amount", re.I
)
ASK_YEAR_RE = re.compile(r"哪一年|哪年|何年|哪个年份|什么时候|何时|时限|期限|截止|when|which year", re.I)
# Only an explicit "which year" makes a missing year a reason to say "not specified":
# "什么时候" is also answered by a stage ("2026年2月") or a deadline ("持续推进").
ASK_WHICH_YEAR_RE = re.compile(r"哪一年|哪年|何年|哪个年份|which year", re.I)
ASK_MULTI_RE = re.compile(r"分别|和|及|以及|、|[?？].+[?？]")
QUOTED_PHRASE_RE = re.compile(r"[“\"「『]([^”\"」』]{4,40})[”\"」』]")
ASK_DUTY_RE = re.compile(r"谁负责|由谁|哪个部门|哪些部门|哪个单位|哪些单位|哪个机构|哪些机构|牵头|责任单位|负责单位|由哪|依托哪|who|which (?:department|agency|body)", re.I)
ASK_CLAUSE_RE = re.compile(r"哪一条|哪条|哪一部分|哪部分|哪一项|写在哪|出自|哪一章|哪个专栏|哪份文件|哪个文件|原文|which (?:clause|section|part)|where", re.I)
ASK_NUMERIC_RE = re.compile(r"多少|几[个项家件年名]|多大|目标|比例|比重|金额|数量|规模|水平|how (?:much|many)", re.I)
ASK_CROSS_RE = re.compile(r"哪些地方|哪些城市|哪几个城市|各地|这几份|这些文件|几份文件|分别|哪份文件|哪个文件|哪些文件|各个城市|which (?:cities|places|plans|documents)", re.I)
QUESTION_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")



def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` (``citations.sentence_bounds``: split
    after 。；！？ and at newlines), with a closing parenthesised list of responsible
    units made a piece of its own."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_bounds(text):
        seg = text[a:b]
        # the departments at the end of a task: a piece of their own, so a duty
        # question can quote them and a content question need not
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
    reading: str = ""  # how a table row reads (column: value unit), for intent checks


@dataclass
class Picked:
    clause: Clause
    rank: int
    sentences: list[Sentence]
    score: float
    coverage: float


@dataclass
class QuestionView:
    """What the answerer needs to know about a question."""

    text: str  # as asked (already truncated)
    search: str  # simplified search copy (with expansions)
    keywords: list[str]
    numbers: list[str]
    places: list[str] = field(default_factory=list)  # plan ids named (or carried over)
    wants_ratio: bool = False
    wants_money: bool = False
    wants_year: bool = False
    wants_which_year: bool = False
    multi: bool = False
    phrases: list[str] = field(default_factory=list)
    wants_duty: bool = False
    wants_clause: bool = False
    wants_numeric: bool = False
    cross: bool = False


@dataclass
class ExtractiveAnswer:
    answer: str
    citations: list[dict[str, Any]]
    not_found: bool
    notes: list[str] = field(default_factory=list)


class ExtractiveAnswerer:
    """Answers by quoting the best sentences of the retrieved clauses (module docstring)."""

    def __init__(self, clauses: Iterable[Clause] | Mapping[str, Clause], plans: Sequence[PlanMeta] = (),
                 similarity: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
                 params: AnswerParams | None = None,
                 term_stats: tuple[int, Callable[[str], int]] | None = None):
        """``similarity(question, sentences)`` gives each sentence's cosine with the
        question (``IndexStore.similarities``); without it, sentences are scored on
        shared words only. ``params``: the tuned constants (default: the shipped ones).

        ``clauses`` may be a mapping that reads clauses on demand (``IndexStore.clauses``):
        a clause's sentences are split when a question first needs them, so nothing
        here costs in proportion to the corpus. ``term_stats`` = (units, document
        frequency of a token) gives the keyword weights (``IndexStore.term_stats``);
        without it they are counted over every clause's sentences here."""
        from .tokens import tokenize

        self.params = params or AnswerParams.shipped()
        self._tokenize = tokenize
        self._similarity = similarity
        self.clauses: Mapping[str, Clause] = clauses if isinstance(clauses, Mapping) else \
            {c.clause_id: c for c in clauses}
        self.plans = {p.id: p for p in plans}
        self._sentences = _PerClause(self.clauses, self._split)
        self._clause_search = _PerClause(
            self.clauses, lambda c: for_search(" ".join([*c.parents, c.heading, c.text])).lower())
        if term_stats is not None:
            self._n, self._df_of = max(1, int(term_stats[0])), term_stats[1]
        else:
            df: Counter[str] = Counter()
            n = 0
            for cid in self.clauses:
                for sent in self._sentences[cid]:
                    n += 1
                    df.update(set(self._tokenize(sent.text)))
            self._n, self._df_of = max(n, 1), (lambda tok, _df=df: _df.get(tok, 0))
        self._place_words = self._collect_place_words()

    def _split(self, c: Clause) -> list[Sentence]:
        """A clause's sentences (a table row is one unit)."""
        cid = c.clause_id
        sents = []
        heading_line = c.text.split("\n", 1)[0].strip()
        # the first line is a heading only in a clause that has one (a law's article has
        # none: its first line is its first paragraph), or when it is a bare marker
        has_heading_line = "\n" in c.text.strip() and (bool(c.heading) or len(heading_line) <= 6)
        if c.fields and c.level in ("table_row", "attachment_row"):
            # a row is one unit, matched with its column names and read with its units
            search = for_search(" ".join(f"{k} {v}" for k, v in c.fields.items())).lower()
            sents.append(Sentence(cid, 0, len(c.text), c.text, search, reading=self._row_summary(c)))
        else:
            for a, b in sentence_spans(c.text):
                s = c.text[a:b]
                sents.append(Sentence(cid, a, b, s, for_search(s).lower(),
                                      is_heading=has_heading_line and s == heading_line))
        return sents

    # -- setup helpers -----------------------------------------------------------
    def _collect_place_words(self) -> set[str]:
        """The plans' places (each clause's place is its plan's)."""
        words: set[str] = set()
        for p in self.plans.values():
            for name in [p.place, p.province, *p.aliases]:
                s = to_simplified(name or "").lower()
                if s:
                    words.add(s)
                    words.add(re.sub(r"(市|区|县|省)$", "", s))
        return {w for w in words if w}

    def warm_up(self) -> None:
        self.unknown_place("绍兴")  # loads the gazetteer and the word splitter once

    def idf(self, tok: str) -> float:
        return math.log((self._n + 1) / (self._df_of(tok) + 1)) + 1.0

    # -- question --------------------------------------------------------------------
    def view(self, question: str, search_text: str | None = None, places: Sequence[str] = ()) -> QuestionView:
        from .query import parse_clause_refs

        q_simpl = for_search(question)
        search = (search_text or q_simpl).lower()
        # a clause reference (附件第13项, （十七）, 专栏6) says where, not what: its
        # numbers are not figures the answer should contain
        ref_numbers: set[str] = set()
        q_figures = q_simpl
        for ref in parse_clause_refs(q_simpl):
            ref_numbers.update(QUESTION_NUMBER_RE.findall(ref.raw))
            q_figures = q_figures.replace(ref.raw, " ")
        toks = []
        for t in self._tokenize(search):
            if t in QUESTION_STOPWORDS or t in self._place_words or t.isascii() and not t.isdigit():
                continue
            if t in ref_numbers:
                continue
            if len(t) < 2 and not t.isdigit():
                continue  # one character (区, 来, 钱, 做) matches almost any sentence
            if t not in toks:
                toks.append(t)
        # drop a token contained in a longer kept token: cut_for_search yields both
        # 知识产权 and 知识/产权, which would count one word three times
        kws = [t for t in toks if not any(t != o and t in o for o in toks)]
        return QuestionView(
            text=question,
            search=search,
            keywords=kws,
            numbers=[n for n in QUESTION_NUMBER_RE.findall(q_figures) if not re.fullmatch(r"(19|20)\d\d", n)],
            places=list(places),
            wants_ratio=bool(ASK_RATIO_RE.search(q_simpl)),
            wants_money=bool(ASK_MONEY_RE.search(q_simpl)),
            wants_year=bool(ASK_YEAR_RE.search(q_simpl)),
            wants_which_year=bool(ASK_WHICH_YEAR_RE.search(q_simpl)),
            multi=bool(ASK_MULTI_RE.search(q_simpl)),
            phrases=[for_search(m).lower() for m in QUOTED_PHRASE_RE.findall(q_simpl)],
            wants_duty=bool(ASK_DUTY_RE.search(q_simpl)),
            wants_clause=bool(ASK_CLAUSE_RE.search(q_simpl)),
            wants_numeric=bool(ASK_NUMERIC_RE.search(q_simpl)),
            cross=bool(ASK_CROSS_RE.search(q_simpl)) and not places,
        )

    def unknown_place(self, question: str) -> str | None:
        """A place the question names that no document covers, even up the hierarchy
        of divisions (``routing``: the gazetteer, not a part-of-speech guess); words
        that only look like places (外国, 境外, 海外) never are."""
        from .routing import route

        r = route(for_search(question), list(self.plans.values()))
        return r.unknown_places[0] if r.unknown_places and not r.docs else None

    # -- scoring -----------------------------------------------------------------------
    def _coverage(self, kws: Sequence[str], text: str) -> float:
        total = sum(self.idf(t) for t in kws)
        if not total:
            return 0.0
        return sum(self.idf(t) for t in kws if t in text) / total

    def _intent_bonus(self, qv: QuestionView, s: Sentence, clause: Clause) -> float:
        bonus = 0.0
        t = s.reading or s.text
        if qv.numbers:
            if any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", t) for n in qv.numbers):
                bonus += BONUS_QUESTION_NUMBER
        if qv.wants_ratio and PERCENT_RE.search(t):
            bonus += BONUS_INTENT
        elif qv.wants_money and MONEY_RE.search(t):
            bonus += BONUS_INTENT
        elif qv.wants_numeric and NUMBER_UNIT_RE.search(t):
            bonus += BONUS_INTENT
        if qv.wants_year and DATE_RE.search(t):
            bonus += BONUS_INTENT
        if qv.wants_duty and (DUTY_PAREN_RE.search(t) or (DUTY_WORD_RE.search(t) and BODY_RE.search(t))):
            bonus += BONUS_INTENT
        return bonus

    def score_sentences(self, qv: QuestionView, hits: Sequence[Hit], limit: int = TOP_CLAUSES) -> list[Picked]:
        """Each usable clause among the first ``limit`` hits with its best sentence, best first."""
        out: list[Picked] = []
        sims = self._sentence_similarities(qv, hits[:limit])
        for rank, h in enumerate(hits[:limit]):
            clause = self.clauses.get(h.clause_id)
            if clause is None:
                continue
            sents = [s for s in self._sentences.get(h.clause_id, []) if not s.is_heading] or \
                self._sentences.get(h.clause_id, [])
            if not sents or (not clause.is_leaf and len(clause.text) < 40):
                continue  # a chapter heading alone says nothing
            c_cov = self._coverage(qv.keywords, self._clause_search[h.clause_id])
            rank_part = W_RANK / (1 + rank)
            # the clause the question names by its number is the one to answer from
            if h.contributions.get("lookup"):
                rank_part += BONUS_LOOKUP
            scored = []
            for s in sents:
                cov = self._coverage(qv.keywords, s.search)
                score = (W_SENT * cov + W_CLAUSE * c_cov + rank_part + self._intent_bonus(qv, s, clause)
                         + self.params.w_dense * sims.get(id(s), 0.0))
                scored.append((score, cov, s))
            scored.sort(key=lambda x: (-x[0], x[2].start))
            best_score, best_cov, best = scored[0]
            chosen = [best]
            nxt = self._context_after(best, sents)
            if nxt is not None:
                chosen.append(nxt)
            for score, cov, s in scored[1:]:
                if len(chosen) >= MAX_SENTENCES - 1:
                    break
                if score >= self.params.extra_sentence_share * best_score and cov > 0:
                    chosen.append(s)
            if qv.wants_duty:
                duty = [s for s in sents if DUTY_PAREN_RE.fullmatch(s.text.strip("。； "))]
                if duty and duty[-1] not in chosen:
                    chosen.append(duty[-1])
            chosen.sort(key=lambda s: s.start)
            out.append(Picked(clause, rank, chosen, best_score, best_cov))
        out.sort(key=lambda p: (-p.score, p.rank))
        return out

    def all_sentences(self) -> list[str]:
        return [s.text for cid in self.clauses for s in self._sentences[cid]]

    def _sentence_similarities(self, qv: QuestionView, hits: Sequence[Hit]) -> dict[int, float]:
        """Cosine of the question with every sentence of these clauses, by ``id(sentence)``."""
        if self._similarity is None:
            return {}
        sents = [s for h in hits for s in self._sentences.get(h.clause_id, [])]
        if not sents:
            return {}
        values = self._similarity(qv.text, [s.text for s in sents])
        return {id(s): max(0.0, float(v)) for s, v in zip(sents, values)}

    @staticmethod
    def _context_after(best: Sentence, sents: Sequence[Sentence]) -> Sentence | None:
        """The sentence after a short best sentence, when quoting both stays short: a
        measure is often stated in two short sentences ("唤醒沉睡专利…。举办供需对接活动。")."""
        if best.reading or len(best.text) >= SHORT_SENTENCE:
            return None
        later = [s for s in sents if s.start >= best.end]
        if not later:
            return None
        nxt = min(later, key=lambda s: s.start)
        if nxt.is_heading or DUTY_PAREN_RE.fullmatch(nxt.text.strip("。； ")) or nxt.end - best.start > CONTEXT_MAX:
            return None
        return nxt

    def _phrase_picks(self, qv: QuestionView, hits: Sequence[Hit], have: Sequence[Picked]) -> list[Picked]:
        """Clauses containing a phrase the question quotes verbatim (“能调不裁”), not yet chosen:
        a question about where a wording comes from is answered by every place it occurs."""
        if not qv.phrases:
            return []
        seen = {p.clause.clause_id for p in have}
        out = []
        for rank, h in enumerate(hits):
            if h.clause_id in seen or h.clause_id not in self.clauses:
                continue
            for sent in self._sentences.get(h.clause_id, []):
                if any(ph in sent.search for ph in qv.phrases):
                    out.append(Picked(self.clauses[h.clause_id], rank, [sent], 0.0, 1.0))
                    seen.add(h.clause_id)
                    break
        return out[:2]

    # -- answering ----------------------------------------------------------------------
    def answer(self, question: str, hits: Sequence[Hit], search_text: str | None = None,
               places: Sequence[str] = ()) -> ExtractiveAnswer:
        qv = self.view(question, search_text, places)
        if not places:
            unknown = self.unknown_place(question)
            if unknown:
                return self._not_found(qv, hits, f"现有文件中没有关于「{unknown}」的文件")
            several = self._which_documents(qv, hits)
            if several is not None:
                return several
        if self.shares_nothing(qv, hits):
            return self._not_found(qv, hits, "现有规划文件未涉及这一问题", picked=[])
        named = self._named_clause(qv, hits)
        if named is not None:
            return named
        picked = self.score_sentences(qv, hits)
        if not picked:
            return self._not_found(qv, hits, "现有规划文件未明确规定这一问题")
        if qv.cross:
            return self._answer_cross(qv, hits)
        best = picked[0]
        min_cov = self.params.min_coverage
        if best.coverage < min_cov and best.score < W_SENT * min_cov + BONUS_INTENT:
            return self._not_found(qv, hits, "现有规划文件未明确规定这一问题", picked)
        missing = self._missing_figure(qv, picked)
        if missing:
            return self._not_found(qv, hits, f"现有规划文件未明确规定{missing}", picked)
        chosen = [best]
        # a question asking several things may need several clauses (two table rows)
        most, share = (3, MULTI_PART_SHARE) if qv.multi else (2, self.params.extra_sentence_share)
        for p in picked[1:]:
            if len(chosen) >= most:
                break
            if p.score >= share * best.score and p.coverage >= min_cov:
                chosen.append(p)
        chosen += self._phrase_picks(qv, hits, chosen)
        return self._compose(qv, chosen)

    def shares_nothing(self, qv: QuestionView, hits: Sequence[Hit]) -> bool:
        """Nothing of the question is in the documents: none of its words (numbers
        aside) occurs in any sentence, and it names no place, plan, quoted wording or
        clause. Such a question (an instruction to the assistant, a SQL fragment,
        small talk) has no answer here, however close the nearest vector is."""
        if qv.places or qv.phrases or any(h.contributions.get("lookup") for h in hits):
            return False
        return not any(self._df_of(t) for t in qv.keywords if not t.isdigit())

    # -- clauses named by number (retrieval looked them up) ------------------------------
    def _sub_clauses(self, head: Clause) -> list[Clause]:
        """The clauses under ``head``, in order: they follow it in its document
        (clause ids are ``doc#ordinal``), each with ``head`` among its parents."""
        out = []
        n = head.ordinal + 1
        while (c := self.clauses.get(f"{head.doc_id}#{n}")) is not None and head.path in c.parent_paths:
            out.append(c)
            n += 1
        return out

    def _named_clause(self, qv: QuestionView, hits: Sequence[Hit]) -> ExtractiveAnswer | None:
        """A clause the question names by number (retrieval looked it up) is what the
        question asks about: it is quoted whole, with its sub-clauses (an article's
        items and later paragraphs), each with its own citation; several named clauses
        (第十四条、第十六条) each so, up to ``MAX_NAMED_CLAUSES``."""
        heads: list[Clause] = []
        for h in hits:
            c = self.clauses.get(h.clause_id)
            if c is None or not h.contributions.get("lookup"):
                continue
            if any(c.doc_id == o.doc_id and o.path in c.parent_paths for o in heads):
                continue  # a sub-clause of a clause already named
            heads.append(c)
            if len(heads) == MAX_NAMED_CLAUSES:
                break
        chosen = []
        for head in heads:
            for c in [head, *self._sub_clauses(head)]:
                sents = [s for s in self._sentences.get(c.clause_id, []) if s.text.strip()]
                if sents:
                    chosen.append(Picked(c, len(chosen), sents, 1.0, 1.0))
        return self._compose(qv, chosen) if chosen else None

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
            quoted = self._cite_quotes(Picked(c, rank, sents, 0.0, 0.0), cites) if sents else ""
            lines.append(f"- {self._where(c)}（{c.place}）：{quoted}")
        answer = (f"问题没有指明文件，有{len(docs)}份文件都有这一条款，请指明是哪一份：\n" + "\n".join(lines))
        return ExtractiveAnswer(answer, cites, False)

    def _missing_figure(self, qv: QuestionView, picked: Sequence[Picked]) -> str:
        """The kind of figure asked for when no close sentence states one ('' otherwise)."""
        kinds = []
        if qv.wants_ratio:
            kinds.append(("具体比例", PERCENT_RE))
        if qv.wants_money:
            kinds.append(("具体金额", MONEY_RE))
        if qv.wants_which_year:
            kinds.append(("具体时间", DATE_RE))
        if not kinds:
            return ""
        missing = []
        for name, rx in kinds:
            found = False
            for p in picked:
                for s in self._sentences[p.clause.clause_id]:
                    if rx.search(s.reading or s.text) and self._coverage(qv.keywords, s.search) >= self.params.figure_near_coverage:
                        found = True
                        break
                if found:
                    break
            if not found:
                missing.append(name)
        return "、".join(missing)

    # -- composing ----------------------------------------------------------------------
    def _where(self, c: Clause, with_parents: bool = False) -> str:
        title = f"《{c.title}》"
        loc = c.path
        if c.heading and c.level not in ("table_row", "attachment_row"):
            loc += f"「{c.heading}」"
        if with_parents and c.parents:
            loc += "（属于" + " > ".join(f"「{p}」" for p in c.parents) + "）"
        return f"{title}{loc}"

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
        name_key = next((k for k in c.fields if k not in ("序号",) and c.fields[k]), "")
        unit = ""
        name = c.fields.get(name_key, "")
        m = re.search(r"[(（]([^()（）]{1,4})[)）]\s*$", name)
        if m:
            unit = m.group(1)
        for k, v in c.fields.items():
            if k == "序号" or not v:
                continue
            if k == name_key:
                parts.append(v.rstrip("。；;，,"))  # the parts are joined with ；
                continue
            val = v
            if unit and re.search(r"\d$", v):
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

    def _citation(self, n: int, c: Clause, quote: str) -> dict[str, Any]:
        if quote not in c.text:  # a quote we show must be the clause's own words
            raise ValueError(f"quote is not in clause {c.clause_id}: {quote[:40]!r}")
        return {"n": n, "doc_id": c.doc_id, "title": f"《{c.title}》", "place": c.place, "path": c.path,
                "heading": c.heading, "quote": quote, "clause_text": c.text}

    def _compose(self, qv: QuestionView, chosen: Sequence[Picked]) -> ExtractiveAnswer:
        lines, cites = [], []
        for p in chosen:
            quoted = self._cite_quotes(p, cites)
            where = self._where(p.clause, with_parents=qv.wants_clause)
            summary = self._quotes_for(p)[1]
            if summary:
                lines.append(f"{where}（{p.clause.place}）列明：{summary}。原文：{quoted}")
            else:
                lines.append(f"{where}（{p.clause.place}）：{quoted}")
        if len(lines) == 1:
            answer = "据" + lines[0]
        else:
            answer = "\n".join(f"- {ln}" for ln in lines)
        return ExtractiveAnswer(answer, cites, False)

    def _answer_cross(self, qv: QuestionView, hits: Sequence[Hit]) -> ExtractiveAnswer:
        """One entry per plan whose best sentence answers nearly as well as the best plan's."""
        by_doc: dict[str, list[Hit]] = {}
        for h in hits:
            by_doc.setdefault(h.doc_id, []).append(h)
        per_doc: list[Picked] = []
        for doc, doc_hits in by_doc.items():
            ps = self.score_sentences(qv, doc_hits, limit=CROSS_CLAUSES_PER_DOC + 2)
            if ps:
                per_doc.append(ps[0])
        if not per_doc:
            return self._not_found(qv, hits, "现有规划文件未明确规定这一问题")
        per_doc.sort(key=lambda p: -p.score)
        top = per_doc[0].score
        if per_doc[0].coverage < self.params.min_coverage:
            return self._not_found(qv, hits, "现有规划文件未明确规定这一问题", per_doc)
        if qv.numbers:
            # the question gives the figure ("定在20件"): only plans stating it answer
            with_num = [p for p in per_doc if any(n in s.text for s in p.sentences for n in qv.numbers)]
            if with_num:
                per_doc = with_num
        chosen = [p for p in per_doc if p.score >= self.params.cross_doc_share * top]
        chosen += self._phrase_picks(qv, hits, chosen)
        missing = self._missing_figure(qv, chosen)
        if missing:
            return self._not_found(qv, hits, f"现有规划文件未明确规定{missing}", chosen)
        lines, cites = [], []
        for p in chosen:
            quoted = self._cite_quotes(p, cites)
            summary = self._quotes_for(p)[1]
            body = f"{summary}。原文：{quoted}" if summary else quoted
            lines.append(f"- **{p.clause.place}**（{self._where(p.clause)}）：{body}")
        places = "、".join(p.clause.place for p in chosen)
        head = f"共有{len(chosen)}份规划涉及（{places}）：" if len(chosen) > 1 else f"见{places}的规划："
        return ExtractiveAnswer(head + "\n" + "\n".join(lines), cites, False)

    def _not_found(self, qv: QuestionView, hits: Sequence[Hit], message: str,
                   picked: Sequence[Picked] | None = None) -> ExtractiveAnswer:
        """Say plainly that the plans do not specify it, and show what the closest clauses do say."""
        if picked is None:
            picked = self.score_sentences(qv, hits) if hits else []
        related = [p for p in picked if p.coverage > 0][:2]
        lines, cites = [], []
        for p in related:
            quoted = self._cite_quotes(p, cites)
            lines.append(f"- {self._where(p.clause)}（{p.clause.place}）：{quoted}")
        answer = message + "。"
        if lines:
            answer += "\n\n相关条款（它们提到了相近内容，但没有给出所问的内容）：\n" + "\n".join(lines)
        return ExtractiveAnswer(answer, cites, True)


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

