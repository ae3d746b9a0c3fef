"""Routing: which documents a question is about, from the places and titles it names.

``route(text, docs)`` gives a ``Route``:

* **documents named by title** (``named``): a question names a document when it
  covers most of the information in the document's title: the share of the title's
  character bigrams found in the question, each weighted by its rarity among the
  titles (idf), on titles and question folded alike (``lexicons/title_norm.toml``:
  中华人民共和国 dropped, 最高人民法院 → 最高法 …), at least ``TITLE_MIN_COVERAGE``.
  So 著作权法, 专利法实施细则 and 最高法关于审理侵犯商业秘密民事案件的规定 name their
  documents, while a title that only shares words (著作权法实施条例 for 著作权法) does
  not. A title whose matched bigrams are a strict subset of another named title's is
  dropped (专利法 inside 专利法实施细则). Of several versions of one title, the one of
  the year the question gives (“2023年修订的”, “(2018)”) wins, else the latest.
  A long title is also named by its **key words** said right before a word of its kind
  (专利侵权的司法解释, 人脸识别规定: ``KEY_MIN_CHARS``): each word in the title in order
  (侵权 in 侵犯专利权), all the question says before the kind word (a word other titles
  use before them, 知识产权保护和促进条例 of a title none is, names nothing), and fitting
  so few documents of that kind that they identify them (at most ``KEY_MAX_DOCS``, and at
  most a third of that kind: 专利的司法解释 fits seven, 知识产权规划 every plan). A title
  in 《》 is matched whole only.
* **places** (``place_docs``): places named in the question, from the gazetteer
  (``places.Gazetteer``; a short name must stand as a word: 长治久安 and 中山大学
  name no place) and from the documents' own aliases (plans.toml). A place's
  documents are:

  - a province: the documents issued for the province; only when there are none,
    those of its cities and counties;
  - a city: its own documents and those of its districts and counties; when there
    are none, its province's documents (they apply in the city);
  - a district or county (or a new area): its own; else its city's; else its province's.

  Identically titled documents of different places stay apart: a place named with a
  title keeps the documents of that place.
* **unknown places**: places named that have no document, even up the hierarchy;
  words that only look like places (外国, 境外, 海外 …) are never places.
* **scope words** (``lexicons/question_scope.toml``), read from the sentence's
  grammar, never from a question's wording:

  - a place named as where something goes or as what is compared with (放到上海、杭州,
    去杭州发展, 与上海相比; ``aside_places``) adds no documents to those of the
    question's other places; when the other places have none, every place counts;
  - a kind of document named (这份规划, 条例里, 宁波的实施意见; ``doc_types``) keeps each
    place to its documents of that kind, when it has any (嘉兴这份规划: 嘉兴's plan, not
    its 餐饮业油烟管理办法); a kind to be made (出台相关办法) names none, nor does the
    kind word of a title in 《》 (it names that document).

The scope a search is restricted to (``Route.docs``) is the documents named, narrowed
to the places named when both are given (and kept whole when that leaves nothing and
the question says the named document's kind: 嘉兴…著作权法 asks the national law; a
title matched by its topic words alone, 嘉兴在著作权保护上…, leaves the question with
its place); else the places' documents.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Collection, Iterable, Sequence

from . import lexicons
from .models import PlanMeta
from .places import Gazetteer, Place
from .textnorm import nfkc, to_simplified

# A question names a document when it covers at least this idf-weighted share of the
# title's bigrams: the default, hand-set (more than half of what identifies a title);
# the retriever uses the tunable retrieval.title_min_coverage (assistant/tuning.py).
TITLE_MIN_COVERAGE = 0.6
# A question also names a document by key words of its title said right before a word
# of its kind (专利侵权的司法解释, 人脸识别规定): each word in the title with its
# characters in the title's order (侵权 in 侵犯专利权), at least KEY_MIN_CHARS
# characters of them, and so few documents of that kind fit that the words identify
# them: at most KEY_MAX_DOCS (a title, its versions and a numbered sequel: 解释, 解释（二）),
# and at most KEY_MAX_SHARE of the documents of that kind (words every plan's title has,
# 知识产权规划, identify none). Hand-set from the judicial interpretations' titles.
KEY_MIN_CHARS = 4
KEY_MAX_DOCS = 5
KEY_MAX_SHARE = 1 / 3
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


# --------------------------------------------------------------------------- titles
@lru_cache(maxsize=1)
def _title_rules() -> tuple[tuple[tuple[str | re.Pattern[str], str], ...], re.Pattern[str]]:
    data = lexicons.table("title_norm.toml")
    # an ASCII key matches whole words (law, not lawyer)
    rules = tuple((re.compile(rf"\b{re.escape(r['from'].lower())}\b") if r["from"].isascii() else r["from"], r["to"])
                  for r in data.get("replace", []))
    drop = re.compile("[" + re.escape(data.get("drop", {}).get("chars", "")) + "\\s]")
    return rules, drop


def fold_title(text: str) -> str:
    """A title or question folded for title matching: NFKC, simplified, lower case,
    official names shortened, quotes and list punctuation dropped."""
    rules, drop = _title_rules()
    t = to_simplified(nfkc(text or "")).lower()
    for a, b in rules:
        t = a.sub(b, t) if isinstance(a, re.Pattern) else t.replace(a, b)
    return drop.sub("", t)


_QUOTED_TITLE_RE = re.compile(r"《[^《》]*》")
_CLAUSE_BREAK_RE = re.compile(r"[，,。.；;：:？?！!、\n]+")


def fold_question_keeping_breaks(text: str) -> str:
    """A question folded as titles are (``fold_title``), with what must not be read as
    key words of a title marked ``|``: a title quoted in 《》 (matched whole, by
    coverage) and the punctuation between the question's clauses."""
    t = _CLAUSE_BREAK_RE.sub("|", _QUOTED_TITLE_RE.sub("|", to_simplified(nfkc(text or ""))))
    return "|".join(fold_title(part) for part in t.split("|"))


def _bigrams(t: str) -> set[str]:
    return {t[i:i + 2] for i in range(len(t) - 1)}


@dataclass(frozen=True)
class _Doc:
    id: str
    title: str  # folded
    grams: frozenset[str]
    date: str
    place: Place | None
    national: bool
    doc_type: str = ""
    kind: str = ""  # the word its title ends with that tells its kind (条例, 规定, 方案 …)


class DocIndex:
    """What routing needs to know about the indexed documents, built once per set."""

    def __init__(self, docs: Sequence[PlanMeta], gaz: Gazetteer | None = None):
        self.gaz = gaz or Gazetteer.default()
        self.metas = list(docs)
        self.docs: list[_Doc] = []
        for m in self.metas:
            title = fold_title(m.title)
            self.docs.append(_Doc(m.id, title, frozenset(_bigrams(title)), m.date or "",
                                  self._place_of(m), m.place_level == "national", m.doc_type or "",
                                  _kind_word(m.title)))
        self.doc_type = {d.id: d.doc_type for d in self.docs}
        self.kind = {d.id: d.kind for d in self.docs}
        self.by_type: dict[str, list[_Doc]] = {}
        self.by_kind: dict[str, list[_Doc]] = {}
        for d in self.docs:
            self.by_type.setdefault(d.doc_type, []).append(d)
            if len(d.kind) >= 2:
                self.by_kind.setdefault(d.kind, []).append(d)
        df = Counter(g for d in self.docs for g in d.grams)
        n = max(len(self.docs), 1)
        self.idf = {g: math.log(1 + n / c) for g, c in df.items()}
        self.mass = {d.id: sum(self.idf[g] for g in d.grams) for d in self.docs}
        self.superseded = self._superseded_versions()
        self.aliases = [(m.id, _alias_names(m)) for m in self.metas]
        # each distinct alias (as matched: ASCII names case-folded) → its documents, in
        # document order: a question is matched against each name once, not once per document
        self.alias_docs: dict[tuple[str, bool], list[str]] = {}
        for doc_id, names in self.aliases:
            for name in names:
                ascii_name = name.isascii()
                docs = self.alias_docs.setdefault((name.lower() if ascii_name else name, ascii_name), [])
                if doc_id not in docs:
                    docs.append(doc_id)

    def _place_of(self, m: PlanMeta) -> Place | None:
        if m.place_code and m.place_code in self.gaz.by_code:
            return self.gaz.by_code[m.place_code]
        chain = self.gaz.place_chain(to_simplified(m.place or ""))
        return chain[-1] if chain else None

    # -- titles ------------------------------------------------------------------------
    def titles_named(self, question: str, min_coverage: float = TITLE_MIN_COVERAGE) -> list[str]:
        q = fold_title(question)
        qgrams = _bigrams(q)
        hits: list[tuple[_Doc, frozenset[str], float]] = []
        for d in self.docs:
            if not d.grams or not self.mass[d.id]:
                continue
            common = d.grams & qgrams
            cov = sum(self.idf[g] for g in common) / self.mass[d.id]
            if cov >= min_coverage:
                hits.append((d, frozenset(common), cov))
        hits, whole = self._not_inside_whole_titles(hits, q, min_coverage)
        # a title whose matched bigrams another named title's strictly contain is not named,
        # unless the question says it whole on its own (专利法实施细则和专利法)
        kept = [h[0] for h in hits if h[0].title in whole or not any(h[1] < o[1] for o in hits)]
        by_key, key_grams = self.keyword_named(question)
        if by_key and not any(d in by_key for d in kept):
            # key words name documents the whole title did not (a title that does, 解释（二）,
            # is more exact); a title matched only inside those key words is not named
            # (著作权 of 著作权民事纠纷的司法解释 is not 著作权法)
            matched = {h[0].id: h[1] for h in hits}
            kept = [d for d in kept if not matched[d.id] <= key_grams] + by_key
        return self._versions(kept, question)

    def _not_inside_whole_titles(self, hits: list[tuple[_Doc, frozenset[str], float]], q: str, min_coverage: float
                                 ) -> tuple[list[tuple[_Doc, frozenset[str], float]], set[str]]:
        """When the (folded) question holds a named title whole, a title it names only by
        that title's words is not named: …的解释 said whole names neither its sequel
        …的解释（二） nor …的若干规定 that shares its middle, and 著作权法和专利法 does not
        name 著作权法实施条例. Whole titles are taken longest first; one inside a longer
        one's words (专利法 of 专利法实施细则) is not whole on its own. A title not said
        whole stays named by what the question says outside the whole ones. Also gives
        the titles said whole."""
        whole: set[str] = set()
        masked = q
        for title in sorted({d.title for d, _, _ in hits}, key=len, reverse=True):
            if len(title) >= 2 and title in masked:
                whole.add(title)
                masked = masked.replace(title, "|")
        if not whole:
            return hits, whole
        rest = _bigrams(masked)
        return [h for h in hits if h[0].title in whole
                or sum(self.idf[g] for g in h[0].grams & rest) / self.mass[h[0].id] >= min_coverage], whole

    def keyword_named(self, question: str) -> tuple[list[_Doc], set[str]]:
        """The documents a question names by key words of their title right before a
        word of their kind (``KEY_MIN_CHARS`` and the module docstring): a word naming a
        kind of document (司法解释, 条例, 实施细则: ``lexicons/question_scope.toml``), its
        key words possibly joined by 的; or a title's own kind word (规定, 解释) with the
        key words right before it. Also the bigrams of the key words as the question
        writes them."""
        q = fold_question_keeping_breaks(question)
        mentions = self._kind_mentions(q)
        kind_words = {q[a:b] for a, b, _ in mentions}
        out: list[_Doc] = []
        key_grams: set[str] = set()
        for start, _, docs in mentions:
            words = [w for w, _, _ in _word_tokenizer().tokenize(q[:start])]
            runs = [(d, _key_words(words, d.title, kind_words)) for d in docs]
            best = max(run for _, run in runs)
            taken, chars = best
            if chars < KEY_MIN_CHARS:
                continue
            found = [d for d, run in runs if run == best]
            # the key words must be all the question says of the title: a word before them
            # that other titles of the kind use (知识产权 before 保护和促进条例) means the
            # question names a title that none of these is
            before = [w for w in words[:len(words) - taken] if w != "的"]
            if before and before[-1] not in _scope_rules().title_prepositions and any(
                    before[-1] in d.title for d in docs):
                continue
            if len(found) <= min(KEY_MAX_DOCS, len(docs) * KEY_MAX_SHARE):
                out += [d for d in found if d not in out]
                key_grams |= _bigrams("".join(words[len(words) - taken:]))
        return out, key_grams

    def _kind_mentions(self, q: str) -> list[tuple[int, int, list[_Doc]]]:
        """Where a folded question says a kind of document, standing as a word: (start,
        end, the documents of that kind), left to right."""
        bounds = _Bounds(q)
        nouns = [(w, self.by_type.get(t, [])) for w, t, ambiguous in _scope_rules().type_words if not ambiguous]
        taken: list[tuple[int, int, list[_Doc]]] = []
        for word, docs in sorted(nouns + list(self.by_kind.items()), key=lambda x: -len(x[0])):
            if not docs or word not in q:
                continue
            for m in re.finditer(re.escape(word), q):
                a, b = m.span()
                if not any(a < e and b > s for s, e, _ in taken) and a in bounds and b in bounds:
                    taken.append((a, b, docs))
        return sorted(taken, key=lambda x: x[0])

    def _versions(self, docs: list[_Doc], question: str) -> list[str]:
        """Of several versions of one document (same title, same place or a place not
        known), the one in force in the year the question names (“2023年修订的”, “2010年的”):
        the latest whose version date is not after that year; with no year, the latest."""
        years = sorted(set(_YEAR_RE.findall(nfkc(question))))
        earlier = _asks_earlier_version(question)
        out: list[str] = []
        for group, versions in self._title_groups(docs):
            if versions:
                group = sorted(group, key=lambda d: d.date)
                year = years[-1] if years else "9999"
                in_force = [d for d in group if (d.date[:4] < year if earlier else d.date[:4] <= year)]
                if earlier and not years:
                    in_force = group[:-1]
                group = [in_force[-1] if in_force else group[0]]
            out.extend(d.id for d in group)
        return out

    def _superseded_versions(self) -> frozenset[str]:
        """The documents a later version of the same document replaces: same title, same
        place (or a place not known, ``_same_place``), an earlier version date. A version
        without a date, or of the latest date, replaces none and is replaced by none
        other than a later dated one."""
        out: set[str] = set()
        for group, versions in self._title_groups(self.docs):
            if versions:
                latest = max(d.date for d in group)
                out.update(d.id for d in group if d.date < latest)
        return frozenset(out)

    def _title_groups(self, docs: Iterable[_Doc]) -> list[tuple[list[_Doc], bool]]:
        """``docs`` grouped by title, each group with whether it is one document's versions
        (several documents of the same place, ``_same_place``)."""
        by_title: dict[str, list[_Doc]] = {}
        for d in docs:
            by_title.setdefault(d.title, []).append(d)
        return [(g, len(g) > 1 and self._same_place(g)) for g in by_title.values()]

    @staticmethod
    def _same_place(group: list[_Doc]) -> bool:
        """Are these one document's versions by place? A version whose place is unknown
        (neither a place nor national: a header that states no issuer) differs from none."""
        return len({(d.place.code if d.place else "", d.national) for d in group
                    if d.place is not None or d.national}) <= 1

    # -- places ------------------------------------------------------------------------
    def docs_of_place(self, p: Place) -> list[str]:
        """The documents that answer for place ``p`` (policy in the module docstring)."""
        gaz = self.gaz
        own = [d.id for d in self.docs if d.place is not None and d.place.code == p.code]
        inside = [d.id for d in self.docs if d.place is not None and d.place.code != p.code
                  and gaz.contains(p, d.place)]
        if p.level == "province":
            return own or inside
        if own or inside:
            return own + inside
        for up in gaz.ancestors(p):
            docs = [d.id for d in self.docs if d.place is not None and d.place.code == up.code]
            if docs:
                return docs
        return []


_INDEXES: dict[tuple, DocIndex] = {}


def doc_index(docs: Iterable[PlanMeta]) -> DocIndex:
    """The routing index of these documents, built once per set of metadata objects
    (a store's documents: the key is their identity, which the index's own reference
    to them keeps valid; a key of their field values cost 38 ms per call at 3,480
    documents, and every question routes several times)."""
    docs = list(docs)
    key = tuple(map(id, docs))
    if key not in _INDEXES:
        if len(_INDEXES) >= 8:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = DocIndex(docs)
    return _INDEXES[key]


def _in_order(word: str, title: str) -> bool:
    """Are ``word``'s characters all in ``title``, in that order (侵权 in 侵犯专利权)?"""
    rest = iter(title)
    return all(ch in rest for ch in word)


def _key_words(words: Sequence[str], title: str, stop: set[str]) -> tuple[int, int]:
    """Of the words right before a kind word, read backwards (的 skipped), those that
    stand in ``title`` (``_in_order``), up to the first that does not or that names a
    kind itself (``stop``): (how many words that run takes, 的 included; its characters)."""
    taken = chars = 0
    for w in reversed(words):
        if w != "的":
            if w in stop or not _in_order(w, title):
                break
            chars += len(w)
        taken += 1
    return taken, chars


def _kind_word(title: str) -> str:
    """The shortest word naming a title's kind (条例 of 实施条例, 方案 of 工作方案): what a
    question that names the document by its title says at least."""
    from .corpus import doc_types, title_ending

    ending = title_ending(to_simplified(nfkc(title or "")))
    shorter = [e for e, _ in doc_types().endings if ending.endswith(e)]
    return min(shorter, key=len) if shorter else ""


def _alias_names(m: PlanMeta) -> tuple[str, ...]:
    """Names a document's metadata gives its place (plans.toml aliases, the place
    itself and without its 市/区/县), simplified, two characters or more."""
    names: set[str] = set()
    for n in [m.place, *m.aliases]:
        s = to_simplified(nfkc(n or "")).strip()
        if not s or s == "全国":
            continue
        names.add(s)
        stem = re.sub(r"(市|区|县|省)$", "", s)
        if len(stem) >= 2:
            names.add(stem)
        tail = re.search(r"[市省]([^市省]{2,4}(?:区|县))$", s)
        if tail:
            names.add(tail.group(1))
            names.add(re.sub(r"(区|县)$", "", tail.group(1)))
    return tuple(sorted((n for n in names if len(n) >= 2), key=lambda n: (-len(n), n)))


# --------------------------------------------------------------------------- routing
@dataclass
class Route:
    docs: list[str] = field(default_factory=list)  # the search scope, first named first
    named: list[str] = field(default_factory=list)  # documents named by title
    place_docs: list[str] = field(default_factory=list)  # documents of the places named
    place_names: list[str] = field(default_factory=list)  # places as the question writes them
    unknown_places: list[str] = field(default_factory=list)  # places named that no document covers
    aside_places: list[str] = field(default_factory=list)  # places named as destinations or compared with
    # those of them left out of the scope (other places give it): words of what is asked (放到上海)
    outside_scope: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)  # kinds of document named (这份规划 → plan)
    # the scope's documents place by place, when the places give the scope (no title named)
    place_groups: list[list[str]] = field(default_factory=list)


def _word_tokenizer():
    from .tokens import plain_jieba

    return plain_jieba()  # jieba's own dictionary, loaded once per process for every user


def _word_bounds(text: str) -> set[int]:
    bounds = {0, len(text)}
    for _, start, end in _word_tokenizer().tokenize(text):
        bounds.add(start)
        bounds.add(end)
    return bounds


@dataclass
class _Named:
    start: int
    end: int
    name: str
    docs: list[str]
    known: bool = True


def places_named(text: str, index: DocIndex) -> list[_Named]:
    """Every place the text names, left to right, with the documents that answer for
    it: the documents' own aliases (plans.toml), then the gazetteer, whose region adds
    its documents to an alias at the same place; ``known`` is False for a place no
    document covers."""
    t = to_simplified(nfkc(text))
    low = t.lower()
    by_span: dict[tuple[int, int], _Named] = {}
    for (name, ascii_name), doc_ids in index.alias_docs.items():
        where = low if ascii_name else t
        if name not in where:
            continue
        rx = rf"\b{re.escape(name)}\b" if ascii_name else re.escape(name)
        for m in re.finditer(rx, where):
            hit = by_span.setdefault(m.span(), _Named(m.start(), m.end(), t[m.start():m.end()], []))
            hit.docs += [d for d in doc_ids if d not in hit.docs]
    out: list[_Named] = []
    for hit in sorted(by_span.values(), key=lambda h: (h.start, h.start - h.end)):
        if all(hit.end <= o.start or hit.start >= o.end for o in out):
            out.append(hit)
    matches = index.gaz.find(t)
    bounds: set[int] | None = None
    for i, m in enumerate(matches):
        places = list(m.places)
        if all(m.text != p.name for p in places) and not m.text.endswith(("省", "市", "区", "县", "州", "盟", "旗")):
            bounds = bounds if bounds is not None else _word_bounds(t)
            if m.start not in bounds or m.end not in bounds:
                continue  # 长治久安, 中山大学: a word, not a place
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        if nxt is not None and nxt.start == m.end and any(
                index.gaz.contains(p, q) for p in places for q in nxt.places):
            continue  # 南京市鼓楼区: the inner place that follows decides
        prev = matches[i - 1] if i else None
        if prev is not None and prev.end == m.start:
            places = [p for p in places if any(index.gaz.contains(o, p) for o in prev.places)] or places
        docs: list[str] = []
        for p in places:
            docs += [d for d in index.docs_of_place(p) if d not in docs]
        same = next((o for o in out if not (m.end <= o.start or m.start >= o.end)), None)
        if same is not None:
            same.docs += [d for d in docs if d not in same.docs]
        else:
            out.append(_Named(m.start, m.end, m.text, docs, bool(docs)))
    out.sort(key=lambda h: h.start)
    return out


# --------------------------------------------------------------------------- scope
@dataclass(frozen=True)
class _ScopeRules:
    """``lexicons/question_scope.toml``, compiled: the words that name a kind of
    document, and the markers of a place that is a destination or compared with."""

    type_words: tuple[tuple[str, str, bool], ...]  # (word, doc type, ambiguous), longest first
    demonstratives: tuple[str, ...]
    locatives: tuple[str, ...]
    after_place: frozenset[str]  # ambiguous type words a place before them makes a document's kind
    making: re.Pattern[str]  # a verb of making and its modifiers, at the end of a text
    title_prepositions: frozenset[str]  # words that introduce a document named after them (按照, 根据)
    before: tuple[str, ...]  # destination and comparison markers before a place
    open: tuple[str, ...]
    close: tuple[str, ...]
    joiner: re.Pattern[str]  # what may stand between the places of one list


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _asks_earlier_version(question: str) -> bool:
    """Does the question ask for the version before the one in force (旧版, 修订前 …,
    ``lexicons/question_scope.toml`` [versions])?"""
    t = to_simplified(nfkc(question or ""))
    return any(w in t for w in lexicons.table("question_scope.toml")["versions"]["earlier"])


def _scope_rules() -> _ScopeRules:
    data = lexicons.table("question_scope.toml")
    types, ctx, aside = data["types"], data["types"]["context"], data["aside"]
    words = [(w, t, False) for t, ws in types["nouns"].items() for w in ws]
    words += [(w, t, True) for t, ws in types["ambiguous"].items() for w in ws]
    making = re.compile(rf"(?:{_alt(ctx['making_verbs'])})(?:{_alt(ctx['making_modifiers'])})*$")
    by_len = lambda ws: tuple(sorted(ws, key=len, reverse=True))  # noqa: E731
    return _ScopeRules(
        type_words=tuple(sorted(words, key=lambda x: -len(x[0]))),
        demonstratives=by_len(ctx["demonstratives"]), locatives=by_len(ctx["locatives"]),
        after_place=frozenset(ctx["after_place"]), making=making,
        title_prepositions=frozenset(ctx["title_prepositions"]),
        before=by_len(aside["destination_before"] + aside["compared_before"]),
        open=by_len(aside["compared_open"]), close=by_len(aside["compared_close"]),
        joiner=re.compile(rf"\s*(?:{_alt(aside['list_joiners'])})?\s*"))


class _Bounds:
    """The word boundaries of a text (jieba), computed the first time they are asked for."""

    def __init__(self, text: str):
        self.text, self._bounds = text, None

    def __contains__(self, i: int) -> bool:
        if self._bounds is None:
            self._bounds = _word_bounds(self.text)
        return i in self._bounds


def types_named(text: str, bounds: _Bounds | None = None, place_ends: Collection[int] = ()) -> list[str]:
    """The kinds of document (``doc_type`` codes) a question names as what it asks
    about: a type word standing as a word of its own (方案 in 解决方案 is not one), an
    ambiguous one only after a demonstrative or before a locative, or, if a noun
    (``after_place``), right after a place named (绍兴方案: the place as a determiner;
    ``place_ends``, where the place names end), and none that is the object of a verb
    of making (出台相关办法: a document still to be made)."""
    rules = _scope_rules()
    bounds = bounds or _Bounds(text)
    taken: list[tuple[int, int]] = []
    out: list[str] = []
    for word, doc_type, ambiguous in rules.type_words:
        for m in re.finditer(re.escape(word), text):
            a, b = m.span()
            if any(a < e and b > s for s, e in taken):
                continue
            taken.append((a, b))
            if a not in bounds or b not in bounds:
                continue
            before, after = text[:a].rstrip(), text[b:].lstrip()
            if ambiguous and not (before.endswith(rules.demonstratives) or after.startswith(rules.locatives)
                                  or (a in place_ends and word in rules.after_place)):
                continue
            made = rules.making.search(before)
            if made and made.start() in bounds:
                continue
            if doc_type not in out:
                out.append(doc_type)
    return out


def _marker_before(text: str, at: int, markers: Sequence[str], bounds: _Bounds) -> bool:
    """Does ``text`` end, just before ``at`` (spaces aside), with one of ``markers``
    standing as a word (提到 does not end with the marker 到)?"""
    before = text[:at].rstrip()
    return any(before.endswith(w) and len(before) - len(w) in bounds for w in markers)


def aside_places(text: str, hits: Sequence[_Named], bounds: _Bounds | None = None) -> list[bool]:
    """For each place named, whether it is named as a destination or as what is
    compared with (放到上海、杭州; 去杭州发展; 与上海相比; 比起杭州): the places of one
    list (joined by 、和及 乃至 …) share the marker before the list's first place."""
    rules = _scope_rules()
    bounds = bounds or _Bounds(text)
    flags = [False] * len(hits)
    i = 0
    while i < len(hits):
        j = i
        while j + 1 < len(hits) and rules.joiner.fullmatch(text[hits[j].end:hits[j + 1].start]):
            j += 1
        start, end = hits[i].start, hits[j].end
        marked = _marker_before(text, start, rules.before, bounds) or (
            _marker_before(text, start, rules.open, bounds) and text[end:].lstrip().startswith(rules.close))
        for k in range(i, j + 1):
            flags[k] = marked
        i = j + 1
    return flags


def route(text: str, docs: Sequence[PlanMeta], min_coverage: float = TITLE_MIN_COVERAGE) -> Route:
    index = doc_index(docs)
    r = Route()
    t = to_simplified(nfkc(text))
    bounds = _Bounds(t)
    hits = places_named(text, index)
    aside = aside_places(t, hits, bounds)
    # a destination or a place compared with adds no documents to those of the places
    # the question is about; when those have none, every place named counts
    scoped = [h for h, a in zip(hits, aside) if not a]
    if not any(h.docs for h in scoped):
        scoped = hits
    # the aside places, when the other places give the scope (else every place does)
    r.outside_scope = [h.name for h, a in zip(hits, aside) if a] if scoped is not hits else []
    for hit, is_aside in zip(hits, aside):
        r.place_names.append(hit.name)
        if is_aside:
            r.aside_places.append(hit.name)
        if not hit.known:
            r.unknown_places.append(hit.name)
    # a kind word inside a title in 《》 names that document, not a kind of the place's
    unquoted = _QUOTED_TITLE_RE.sub(lambda m: " " * len(m.group()), t)
    r.doc_types = (types_named(unquoted, bounds, {h.end for h in hits})
                   if any(len(h.docs) > 1 for h in scoped) else [])
    for hit in scoped:
        # 嘉兴这份规划: 嘉兴's plans, not its other regulations; a place with no
        # document of the kind named keeps all of its own
        docs = [d for d in hit.docs if index.doc_type.get(d) in r.doc_types] or hit.docs
        r.place_docs += [d for d in docs if d not in r.place_docs]
        if docs:
            r.place_groups.append(docs)
    r.named = [d for d in index.titles_named(text, min_coverage) if not _of_another_place(d, hits, index)]
    if r.named and r.place_docs:
        both = [d for d in r.named if d in r.place_docs]
        # a document of another place (a national law) named with a place is what is
        # asked about when the question says its kind (嘉兴…著作权法); its topic words
        # alone (运城方案保障措施里… → 保障措施条例) leave the question with its place
        said = [d for d in r.named if index.kind.get(d) and index.kind[d] in fold_title(t) + t]
        r.docs = both or said or r.place_docs
        r.named = [d for d in r.named if d in r.docs]
    else:
        r.docs = list(r.named or r.place_docs)
    if r.named:
        r.place_groups = []
    return r


def _of_another_place(doc_id: str, hits: list[_Named], index: DocIndex) -> bool:
    """Is a local document named by its title's words while the question names places and
    none of them is the document's (浙江省专利条例 is not 山东省专利条例: the words 专利条例
    match, the place does not)? A place holding the document's, or inside it, is its own."""
    doc = next(d for d in index.docs if d.id == doc_id)
    if doc.national or doc.place is None or not hits:
        return False
    for hit in hits:
        if doc_id in hit.docs:
            return False
        for p in index.gaz.place_chain(hit.name)[-1:]:
            if index.gaz.contains(p, doc.place) or index.gaz.contains(doc.place, p):
                return False
    return True


def quoted_titles(text: str) -> list[str]:
    """The titles ``text`` quotes in 《》, as written (simplified script), in order."""
    t = to_simplified(nfkc(text or ""))
    out: list[str] = []
    for m in _QUOTED_TITLE_RE.finditer(t):
        title = m.group()[1:-1].strip()
        if len(title) >= 2 and title not in out:
            out.append(title)
    return out


def titles_not_in_corpus(text: str, docs: Sequence[PlanMeta], min_coverage: float = TITLE_MIN_COVERAGE) -> list[str]:
    """The titles ``text`` quotes in 《》 that name no document of ``docs`` (read alone,
    by the title matching that routes questions): a document the corpus does not hold
    (《绍兴市知识产权人才评定办法》, which a plan cites). Such a title is no scope, but
    its words are the best key to the passages that cite it."""
    index = doc_index(docs)
    return [t for t in quoted_titles(text) if not index.titles_named(t, min_coverage)]


def refers_to(question: str, title: str) -> bool:
    """Does ``question`` refer to a document of ``title``'s kind by a demonstrative
    (这部条例, 该办法, 这个实施方案 for 《…条例》, 《…办法》, 《…工作方案》)?"""
    kind = _kind_word(title)
    if not kind:
        return False
    t = to_simplified(nfkc(question or ""))
    rules = _scope_rules()
    return re.search(rf"(?:{_alt(rules.demonstratives)})[^\s，,。？?！!；;、]{{0,4}}?{re.escape(kind)}", t) is not None


def title_mentions(text: str, doc_ids: Sequence[str], docs: Sequence[PlanMeta]) -> list[str]:
    """How ``text`` writes the titles of the documents ``doc_ids``: for each, the
    longest run (three characters or more) of ``text`` whose every bigram is in the
    title as written or as folded (著作权法 in “著作权法第十八条规定…”)."""
    out: list[str] = []
    for m in docs:
        if m.id not in doc_ids or not m.title:
            continue
        grams = _bigrams(to_simplified(nfkc(m.title))) | _bigrams(fold_title(m.title))
        best, i = "", 0
        while i < len(text) - 1:
            if text[i:i + 2] not in grams:
                i += 1
                continue
            j = i + 1
            while j < len(text) - 1 and text[j:j + 2] in grams:
                j += 1
            if j + 1 - i > len(best):
                best = text[i:j + 1]
            i = j + 1
        if len(best) >= 3 and best not in out:
            out.append(best)
    return out


# an English title: capitalised words and the small words between them (the Patent Law of
# the People's Republic of China), with the year of its version after it: "(2018)"
_EN_TITLE_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*|\((?:19|20)\d\d\)")
_EN_TITLE_SMALL = frozenset({"of", "the", "for", "on", "and", "in", "to", "concerning", "regarding", "s"})


def english_title_mentions(text: str, doc_ids: Sequence[str], docs: Sequence[PlanMeta]) -> list[str]:
    """How an English ``text`` names the documents ``doc_ids`` by their English titles:
    the longest run of capitalised words (small words between them allowed, a
    ``(2018)`` after them) whose every word folds (``lexicons/title_norm.toml``) to
    words of the title: "Patent Agency Regulations (2018)" names 专利代理条例."""
    words = list(_EN_TITLE_WORD_RE.finditer(text))
    titles = [fold_title(m.title) for m in docs if m.id in doc_ids and m.title]
    out: list[str] = []
    for i, first in enumerate(words):
        if not first.group()[0].isupper():
            continue
        best = None
        for j in range(i, len(words)):
            w = words[j].group()
            if j > i and text[words[j - 1].end():words[j].start()].strip(" ,"):
                break  # a run stops at punctuation other than a comma before a year
            if not (w[0].isupper() or w.lower() in _EN_TITLE_SMALL or w.startswith("(")):
                break
            if w[0].isupper() and _names_title_words(text[first.start():words[j].end()], titles):
                best = j
            elif w.startswith("(") and best == j - 1:
                best = j
        if best is not None:
            span = text[first.start():words[best].end()]
            if span not in out:
                out.append(span)
    return sorted(out, key=len, reverse=True)[:1] if out else []


def _names_title_words(phrase: str, folded_titles: Sequence[str]) -> bool:
    """Does every word of an English ``phrase`` (small words aside), as title matching
    folds it, stand in one of the titles? ("Patent Agency Regulations" → 专利代理 条例)"""
    rules, _ = _title_rules()
    t = phrase.lower()
    for a, b in rules:
        if isinstance(a, re.Pattern):
            t = a.sub(f" {b} ", t)
    pieces = [w for w in re.split(r"[\s()]+", t) if w and w not in _EN_TITLE_SMALL]
    if not pieces or any(re.search(r"[a-z]", w) for w in pieces):
        return False
    return any(all(w in title for w in pieces) for title in folded_titles)
