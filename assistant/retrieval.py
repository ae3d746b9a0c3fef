"""Hybrid clause retrieval: BM25 + dense vectors, fused, plus query understanding.

``HybridRetriever(settings).search(question, k, mode)`` returns clause-level ``Hit``s.
Chunks are scored by each retriever and folded into their clause (a clause scores
as its best chunk), so a long clause split in pieces is one result with one
citation. Modes, each a strict superset of the one before in what it uses:

* ``bm25``      BM25 over the simplified search copy only;
* ``dense``     vector search only;
* ``hybrid``    both, combined by ``ScoreFusion`` (formula in its docstring);
* ``hybrid+qu`` ``hybrid`` plus query understanding (``query.analyse``): field
  synonyms and English glosses in the query, search restricted to the plans the
  question names (or, for a follow-up naming none, the plan of the earlier turn),
  explicit clause numbers looked up and put first, and for cross-document
  questions each plan's best clause brought into the first results.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence as _Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Sequence

from .errors import BadQuestionError
from .models import Clause, Hit, PlanMeta
from .lookup import find_clauses
from .query import QueryInfo, analyse, bridge_expansions
from .routing import doc_index
from .settings import Settings
from .textnorm import for_compare, for_search

MODES = ("bm25", "dense", "hybrid", "hybrid+qu")
# A looked-up clause goes before every fused result: fused scores are < 1.
LOOKUP_BONUS = 10.0
# headings of the sections where plans state their targets (发展目标, 主要目标, 建设目标,
# 主要定量指标, 主要量化目标表, 發展目標 …)
TARGET_SECTION_RE = re.compile(r"目标|目標|指标|指標")
# headings of background sections: past results and the situation the plan starts from
BACKGROUND_SECTION_RE = re.compile(r"发展成效|發展成效|工作成效|取得成效|发展基础|發展基礎|规划背景|規劃背景|面临形势|面臨形勢|机遇|機遇|挑战|挑戰")
# a question about the past (十三五 results) wants the background sections
PAST_RE = re.compile(r"十三五|过去|以来|已经|已取得|成效|取得了|完成了|实现了")


@dataclass
class ScoreFusion:
    """Fuse several retrievers' clause scores into one.

    ``method="rrf"`` (reciprocal rank fusion)::

        score(c) = Σ_i  w_i / (rrf_k + rank_i(c))          rank_i starts at 1

    ``method="convex"`` (convex combination of min-max normalised scores)::

        score(c) = Σ_i  w_i · (s_i(c) − min_i) / (max_i − min_i)   with Σ w_i = 1

    A clause a retriever did not return contributes 0 on that side. ``fuse``
    returns each clause's fused score and each retriever's share of it (the
    ``contributions`` a ``Hit`` shows).
    """

    method: str = "rrf"
    weights: dict[str, float] = field(default_factory=lambda: {"bm25": 1.0, "dense": 1.0})
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "convex"):
            raise ValueError(f"fusion must be 'rrf' or 'convex', not {self.method!r}")

    def fuse(self, scores: dict[str, dict[str, float]]) -> dict[str, tuple[float, dict[str, float]]]:
        out: dict[str, tuple[float, dict[str, float]]] = {}
        total_w = sum(self.weights.get(name, 0.0) for name in scores) or 1.0
        for name, per_clause in scores.items():
            w = self.weights.get(name, 0.0)
            if not per_clause or w == 0:
                continue
            if self.method == "rrf":
                ranked = sorted(per_clause.items(), key=lambda kv: -kv[1])
                parts = {cid: w / (self.rrf_k + r) for r, (cid, _) in enumerate(ranked, start=1)}
            else:
                lo, hi = min(per_clause.values()), max(per_clause.values())
                span = (hi - lo) or 1.0
                parts = {cid: (w / total_w) * (s - lo) / span for cid, s in per_clause.items()}
            for cid, part in parts.items():
                total, contrib = out.get(cid, (0.0, {}))
                contrib[name] = part
                out[cid] = (total + part, contrib)
        return out


@dataclass
class RetrievalConfig:
    """Knobs of ``hybrid``/``hybrid+qu``. The user-facing ones come from ``Settings``;
    those declared in ``tuning.TUNABLES`` (``retrieval.<field>``) were chosen by
    cross-validation and are read from ``assistant/tuned.json`` by ``from_settings``;
    the values below are the fallbacks when that file has none."""

    fusion: str = "convex"
    rrf_k: int = 60
    weight_bm25: float = 0.6
    weight_dense: float = 0.4
    # English questions: BM25 only sees the glossed field terms, so lean on vectors
    weight_bm25_en: float = 0.3
    # multiplier on fused scores outside the named plans when ``restrict_places`` is off
    place_boost: float = 1.0
    restrict_places: bool = True
    # search with the question's content words only once the plan is known (QueryInfo.content_text)
    strip_doc_refs: bool = True
    # added to a clause's fused score × the share of the question's quoted phrases it contains
    phrase_bonus: float = 0.5
    # clauses in background sections score (1 - background_penalty)× when the question asks
    # what the plans offer (and not about the past)
    background_penalty: float = 0.3
    # clauses in target sections score (1 + target_bonus)× when the question asks for a target
    target_bonus: float = 0.5
    # cross-document questions: a plan's best clause is brought forward when it scores
    # at least this share of the overall best (a plan with nothing relevant is not)
    cross_min_share: float = 0.0
    # Which chunks are scored. Fusion needs each clause's score on both sides, so when
    # the documents searched hold at most ``full_scoring_max_chunks`` chunks (a named
    # plan; the five plans) every chunk is scored by both retrievers. Above that, each
    # retriever proposes its best ``candidates`` chunks and both retrievers score the
    # union exactly; the benchmark measures how often that changes the top 10.
    full_scoring_max_chunks: int = 5_000
    candidates: int = 300
    # clause numbers a question gives are looked up in every document when there are at
    # most this many (else in the documents of the best ``lookup_docs`` fused clauses)
    lookup_all_docs_max: int = 200
    lookup_docs: int = 50
    # a question names a document when it covers this idf-weighted share of the
    # document's title bigrams (routing.TITLE_MIN_COVERAGE; a tunable)
    title_min_coverage: float = 0.6
    # a question word the documents do not use brings its corpus terms at this word-vector
    # similarity into the BM25 query (1.0: none; see bridging.py)
    bridge_min: float = 1.0
    # a place with several documents: each clause's score × (its document's BM25 taken
    # whole / the best of the place's documents) ** this (0: off; ``_weigh_by_document``).
    # Not a TUNABLE: the plans suite has one document per place, where it does nothing.
    # Chosen by 5-fold CV over the 127 plans questions with 3,475 laws beside the plans
    # (grid 0, 0.25, 0.5, 1, 2, 4: 0.5 in 13 of 15 folds over three fold seeds).
    document_weight_power: float = 0.5

    @classmethod
    def from_settings(cls, s: Settings) -> "RetrievalConfig":
        """The user-facing knobs come from ``Settings`` (one place for defaults,
        shown by ``python -m assistant config``); the rest are the tuned values above."""
        from .tuning import shipped_fields

        cfg = cls(**{k: v for k, v in shipped_fields("retrieval").items() if k in cls.__dataclass_fields__})
        for name in ("fusion", "rrf_k", "weight_bm25", "weight_dense", "place_boost", "restrict_places"):
            setattr(cfg, name, getattr(s, name))
        return cfg


class HybridRetriever:
    """Clause-level hybrid search over an ``IndexStore`` (see the module docstring)."""

    def __init__(self, settings: Settings | None = None, store: Any = None, config: RetrievalConfig | None = None):
        self.settings = settings or Settings.load()
        self.store = store
        self.config = config or RetrievalConfig.from_settings(self.settings)
        self._plans: list[PlanMeta] | None = None
        self._norm_text: dict[str, str] = {}
        self._heads: dict[str, dict[int, str]] = {}
        self._bridge: Any = None
        self._ready = False

    # -- setup ---------------------------------------------------------------
    def warm_up(self) -> "HybridRetriever":
        if self._ready:
            return self
        if self.store is None:
            from .index import IndexStore

            self.store = IndexStore.load(self.settings)
        self.store.warm_up()
        self._plans = list(self.store.plans)
        self._ready = True
        # one dummy query so the first real one does not pay for lazy initialisation
        self.search("知识产权质押融资", k=3, mode="hybrid+qu")
        return self

    @property
    def bridge(self) -> Any:
        """The word-vector bridge over the index's BM25 vocabulary (``bridging.TermBridge``),
        made on first use; None when the word vectors are unavailable."""
        if self._bridge is None:
            from .bridging import make_bridge

            self.warm_up()
            lexical = getattr(self.store, "lexical", None)
            self._bridge = make_bridge(getattr(lexical, "vocab", None) or ()) or False
        return self._bridge or None

    @property
    def plans(self) -> list[PlanMeta]:
        self.warm_up()
        assert self._plans is not None
        return self._plans

    # -- search --------------------------------------------------------------
    def analyse(self, question: str, history: Sequence[dict[str, Any]] | None = None) -> QueryInfo:
        return analyse(question, self.plans, history, title_min_coverage=self.config.title_min_coverage)

    def search(self, query: str, k: int = 10, mode: str = "hybrid+qu", places: Sequence[str] | None = None,
               history: Sequence[dict[str, Any]] | None = None) -> list[Hit]:
        """Top-``k`` clauses for ``query``. ``places`` (plan ids) restricts the search in
        every mode, as a user's explicit filter; ``history`` is used by ``hybrid+qu``."""
        hits, _ = self.search_with_info(query, k=k, mode=mode, places=places, history=history)
        return hits

    def search_with_info(self, query: str, k: int = 10, mode: str = "hybrid+qu", places: Sequence[str] | None = None,
                         history: Sequence[dict[str, Any]] | None = None, info: QueryInfo | None = None
                         ) -> tuple[list[Hit], QueryInfo | None]:
        """``search`` and the query analysis (``info``: the question's analysis already made,
        for a second search of it within other ``places``; a copy is searched with)."""
        order, fused, info = self.rank(query, mode=mode, places=places, history=history, k=k, info=info)
        return [self._hit(cid, fused[cid]) for cid in order[:k]], info

    def search_by_document(self, query: str, per_doc: int = 3, places: Sequence[str] | None = None,
                           history: Sequence[dict[str, Any]] | None = None
                           ) -> tuple[list[tuple[str, float, list[Hit]]], QueryInfo | None]:
        """One search, grouped by document: [(doc_id, its best fused score, its best
        ``per_doc`` clauses)], documents best first. Hits are made only on demand:
        the groups hold clause hits for the first documents a caller reads."""
        order, fused, info = self.rank(query, mode="hybrid+qu", places=places, history=history, k=per_doc)
        return self._by_document(order, fused, per_doc), info

    def search_with_groups(self, query: str, k: int = 10, per_doc: int = 3, places: Sequence[str] | None = None,
                           history: Sequence[dict[str, Any]] | None = None
                           ) -> tuple[list[Hit], QueryInfo | None, list[tuple[str, float, list[Hit]]]]:
        """``search_with_info``'s hits and query analysis, and the same ranking grouped by
        document as ``search_by_document`` groups it: one search serves both."""
        order, fused, info = self.rank(query, mode="hybrid+qu", places=places, history=history, k=k)
        return [self._hit(cid, fused[cid]) for cid in order[:k]], info, self._by_document(order, fused, per_doc)

    def _by_document(self, order: list[str], fused: dict[str, tuple[float, dict[str, float]]],
                     per_doc: int) -> list[tuple[str, float, list[Hit]]]:
        groups: dict[str, list[str]] = {}
        for cid in order:
            ids = groups.setdefault(_doc_of(cid), [])
            if len(ids) < per_doc:
                ids.append(cid)
        out = [(doc, fused[ids[0]][0], _LazyHits(self, ids, fused)) for doc, ids in groups.items()]
        out.sort(key=lambda g: -g[1])
        return out

    def rank(self, query: str, mode: str = "hybrid+qu", places: Sequence[str] | None = None,
             history: Sequence[dict[str, Any]] | None = None, k: int = 10, info: QueryInfo | None = None
             ) -> tuple[list[str], dict[str, tuple[float, dict[str, float]]], QueryInfo | None]:
        """Clause ids best first, each clause's fused score and contributions, and the
        query analysis (``hybrid+qu``): the search without making ``Hit``s. ``info``: the
        analysis of ``query`` already made (a copy is used; routing is not run again)."""
        given = info
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        if not query or not query.strip():
            raise BadQuestionError("the question is empty")
        if k < 1:
            raise ValueError("k must be at least 1")
        self.warm_up()
        cfg = self.config
        info = None
        groups: list[list[str]] = []  # the documents of each place named, when they are the scope
        text = for_search(query)
        dense_text = text
        allowed = set(places) if places else None
        w_bm25, w_dense = cfg.weight_bm25, cfg.weight_dense
        if mode == "hybrid+qu":
            info = replace(given) if given is not None else self.analyse(query, history)
            text = dense_text = info.content_text if cfg.strip_doc_refs else info.text
            if info.places and cfg.restrict_places and allowed is None:
                allowed = set(info.places)
                groups = info.place_groups
            if cfg.bridge_min < 1.0:
                # everyday words the documents searched do not use, bridged to their terms (BM25 only)
                info.bridged = self._bridged_terms(text, cfg.bridge_min, allowed)
                text = " ".join([text, *info.bridged])
            if info.lang == "en":
                w_bm25 = cfg.weight_bm25_en

        scores = self._retriever_scores(mode, text, dense_text, allowed)
        if mode in ("bm25", "dense"):
            (name, per_clause), = scores.items()
            fused = {cid: (s, {name: s}) for cid, s in per_clause.items()}
        else:
            fusion = ScoreFusion(cfg.fusion, {"bm25": w_bm25, "dense": w_dense}, cfg.rrf_k)
            fused = fusion.fuse(scores)

        if info is not None and info.places and not cfg.restrict_places and cfg.place_boost != 1.0:
            named = set(info.places)
            for cid, (s, contrib) in list(fused.items()):
                if _doc_of(cid) in named:
                    contrib["place"] = s * (cfg.place_boost - 1.0)
                    fused[cid] = (s * cfg.place_boost, contrib)

        if groups and cfg.document_weight_power:
            self._weigh_by_document(groups, dense_text, fused, cfg.document_weight_power)
        if info is not None and info.quoted and cfg.phrase_bonus:
            self._boost_quoted(info.quoted, fused, cfg.phrase_bonus)
        if info is not None and "target" in info.intent and cfg.target_bonus:
            self._boost_target_sections(fused, cfg.target_bonus)
        if (info is not None and "support" in info.intent and cfg.background_penalty
                and not PAST_RE.search(info.text)):
            self._lower_background_sections(fused, cfg.background_penalty)

        hidden = self._superseded_hidden(info, places) if info is not None else frozenset()
        for cid in [c for c in fused if _doc_of(c) in hidden]:
            del fused[cid]
        order = sorted(fused, key=lambda cid: -fused[cid][0])
        if info is not None:
            order, fused = self._lookup_first(info, order, fused, allowed, hidden)
            if "cross" in info.intent and not info.places:
                order = self._per_doc_bests_first(order, fused, cfg.cross_min_share)
        return order, fused, info

    def _superseded_hidden(self, info: QueryInfo, places: Sequence[str] | None) -> frozenset[str]:
        """The documents this question is not answered from: earlier versions
        (``routing.DocIndex.superseded``: a later version of the same title and place is
        in the index) answer only when asked for, named with their year (2010年的专利法实施细则,
        which routing names alone) or chosen by the user's filter; otherwise their text,
        often word for word the later one's, would be quoted as if in force. Neither the
        ranking nor a clause number's lookup (``_lookup_first``) takes them."""
        old = doc_index(self.plans).superseded
        return old - set(info.documents) - set(places or ()) if old else frozenset()

    def _retriever_scores(self, mode: str, text: str, dense_text: str,
                          allowed: set[str] | None) -> dict[str, dict[str, float]]:
        """Each retriever's clause scores over the allowed documents (all when None):
        every chunk when they are few, else the union of both sides' candidates, each
        candidate scored exactly on both sides (see ``RetrievalConfig``)."""
        cfg, store = self.config, self.store
        use_bm25 = mode in ("bm25", "hybrid", "hybrid+qu")
        use_dense = mode in ("dense", "hybrid", "hybrid+qu")
        docs = sorted(allowed) if allowed is not None else None
        n = store.count_chunks(docs)
        want = n if n <= cfg.full_scoring_max_chunks else cfg.candidates
        bm = store.bm25_search(text, want, docs) if use_bm25 else []
        de = store.dense_search(dense_text, want, docs) if use_dense else []
        if want < n and use_bm25 and use_dense:
            union = sorted({c for c, _ in bm} | {c for c, _ in de})
            bm = [(c, float(x)) for c, x in zip(union, store.bm25_scores(text, union, docs)) if x > 0]
            de = list(zip(union, store.dense_scores(dense_text, union).tolist()))
        out: dict[str, dict[str, float]] = {}
        if use_bm25:
            out["bm25"] = self._by_clause(bm)
        if use_dense:
            out["dense"] = self._by_clause(de)
        return out

    def _bridged_terms(self, text: str, min_similarity: float, docs: set[str] | None) -> list[str]:
        """Terms of the documents searched (``docs``; all when None) near the words of
        ``text`` those documents do not use (``bridging``)."""
        bridge = self.bridge
        if bridge is None:
            return []
        used = self.store.term_used(sorted(docs)) if docs is not None else None
        return bridge_expansions(text, bridge, min_similarity, used)

    def _by_clause(self, chunk_scores: Sequence[tuple[int, float]]) -> dict[str, float]:
        """Chunk scores folded into clause scores (a clause is as good as its best chunk)."""
        out: dict[str, float] = {}
        cids = self.store.chunk_clause_ids([idx for idx, _ in chunk_scores])
        for cid, (_, score) in zip(cids, chunk_scores):
            if score > out.get(cid, float("-inf")):
                out[cid] = float(score)
        return out

    def _head(self, cid: str) -> str:
        """The headings a clause sits under, its own last (from the build's clause table)."""
        doc, _, ordinal = cid.rpartition("#")
        heads = self._heads.get(doc)
        if heads is None:
            t = self.store.clause_table(doc)
            heads = self._heads[doc] = dict(zip(t["ord"], t["head"]))
        return heads.get(int(ordinal), "")

    def _weigh_by_document(self, groups: Sequence[Sequence[str]], text: str,
                           fused: dict[str, tuple[float, dict[str, float]]], power: float) -> None:
        """A place with several documents (a city's plan beside its 60 local regulations):
        how much each document as a whole is about the question's words (BM25 of the
        document taken whole, ``IndexStore.bm25_document_scores``, among the place's
        documents) weighs its clauses: score × (its / the place's best) ** ``power``. So
        one passage of a regulation that happens to share the question's everyday words
        (单位和个人, 办法) does not outrank the document about the question's subject; a
        word every document of the place uses weighs little. ``text`` is the question's
        own words (no bridged terms: they are chosen passage by passage). A document
        in two places' groups keeps its better weight."""
        weight: dict[str, float] = {}
        for group in groups:
            if len(group) < 2:
                continue
            scores = self.store.bm25_document_scores(text, group)
            best = max(scores.values(), default=0.0)
            if best <= 0:
                continue
            for doc, s in scores.items():
                weight[doc] = max(weight.get(doc, 0.0), (s / best) ** power)
        for cid, (s, contrib) in list(fused.items()):
            w = weight.get(_doc_of(cid), 1.0)
            if w != 1.0:
                contrib["document"] = s * (w - 1.0)
                fused[cid] = (s * w, contrib)

    def _boost_quoted(self, phrases: Sequence[str], fused: dict[str, tuple[float, dict[str, float]]],
                      bonus: float) -> None:
        """A phrase the user quotes is the plans' own wording: clauses containing it
        (after normalisation) get ``bonus`` × the share of quoted phrases they contain."""
        norm = [p for p in (for_compare(x) for x in phrases) if p]
        if not norm:
            return
        for cid, (s, contrib) in list(fused.items()):
            text = self._norm_text.get(cid)
            if text is None:
                text = self._norm_text[cid] = for_compare(self.store.clauses[cid].text)
            share = sum(p in text for p in norm) / len(norm)
            if share:
                contrib["phrase"] = bonus * share
                fused[cid] = (s + bonus * share, contrib)

    def _boost_target_sections(self, fused: dict[str, tuple[float, dict[str, float]]], bonus: float) -> None:
        """A question about a plan's targets: clauses in the plan's target sections
        (a heading of the clause or its parents names 目标 or 指标) score ``1 + bonus``
        times as much; multiplied, so a target clause that does not match the
        question stays low."""
        for cid, (s, contrib) in list(fused.items()):
            if TARGET_SECTION_RE.search(self._head(cid)):
                contrib["target"] = s * bonus
                fused[cid] = (s * (1 + bonus), contrib)

    def _lower_background_sections(self, fused: dict[str, tuple[float, dict[str, float]]], penalty: float) -> None:
        """A question about what the plans offer is answered by their measures: clauses
        in a background section (past results, the situation faced) score
        ``1 - penalty`` times as much, unless the question asks about the past."""
        for cid, (s, contrib) in list(fused.items()):
            if BACKGROUND_SECTION_RE.search(self._head(cid)):
                contrib["background"] = -s * penalty
                fused[cid] = (s * (1 - penalty), contrib)

    def _lookup_first(self, info: QueryInfo, order: list[str], fused: dict[str, tuple[float, dict[str, float]]],
                      allowed: set[str] | None, hidden: Collection[str] = ()
                      ) -> tuple[list[str], dict[str, tuple[float, dict[str, float]]]]:
        """Clauses whose number the question gives explicitly go first, each with its
        sub-clauses (an article's items), best fused first; when the question names no
        document and several have such a clause, each document's best comes first.

        Clause numbers are looked up (``lookup.find_clauses``, on the clause tables of
        the documents searched), not embedded: a vector for "（十七）" says nothing
        about which clause carries that number."""
        if not info.clause_refs:
            return order, fused
        cfg = self.config
        if allowed is not None:
            docs = [d for d in self.store.doc_ids if d in allowed]
        elif len(self.store.doc_ids) <= cfg.lookup_all_docs_max:
            docs = list(self.store.doc_ids)
        else:  # many documents and none named: look in those the question's words found
            docs = list(dict.fromkeys(_doc_of(cid) for cid in order))[:cfg.lookup_docs]
        tables = ((d, t["ord"], t["path"]) for d in docs if d not in hidden for t in [self.store.clause_table(d)])
        groups = find_clauses(info.clause_refs, tables)
        if not groups:
            return order, fused
        fused = dict(fused)
        for group in groups:
            for cid in group:
                s, contrib = fused.get(cid, (0.0, {}))
                contrib = dict(contrib)
                contrib["lookup"] = LOOKUP_BONUS
                fused[cid] = (s + LOOKUP_BONUS, contrib)
        groups.sort(key=lambda g: -fused[g[0]][0])
        firsts, rest, seen_docs = [], [], set()
        for g in groups:
            doc = _doc_of(g[0])
            (rest if doc in seen_docs else firsts).append(g)
            seen_docs.add(doc)
        info.clause_docs = [_doc_of(g[0]) for g in firsts]
        matched = [cid for g in firsts + rest for cid in g]
        seen = set(matched)
        return matched + [cid for cid in order if cid not in seen], fused

    def _per_doc_bests_first(self, order: list[str], fused: dict[str, tuple[float, dict[str, float]]],
                             min_share: float) -> list[str]:
        """For a question about several plans: each plan's best clause first (plans in
        order of their best score), then the rest, so no plan is crowded out of the
        first results by another plan's many similar clauses. A plan whose best is
        below ``min_share`` of the top score is left where fusion put it."""
        if not order:
            return order
        floor = fused[order[0]][0] * min_share
        bests: list[str] = []
        seen_docs: set[str] = set()
        for cid in order:
            doc = _doc_of(cid)
            if doc not in seen_docs and fused[cid][0] >= floor:
                seen_docs.add(doc)
                bests.append(cid)
        chosen = set(bests)
        return bests + [cid for cid in order if cid not in chosen]

    def _hit(self, cid: str, scored: tuple[float, dict[str, float]]) -> Hit:
        clause: Clause = self.store.clauses[cid]
        score, contrib = scored
        return Hit(clause_id=cid, doc_id=clause.doc_id, path=clause.path, text=clause.text, score=float(score),
                   contributions={k: float(v) for k, v in contrib.items()})


def _doc_of(clause_id: str) -> str:
    """The document of a clause id (``doc_id#ordinal``)."""
    return clause_id.rpartition("#")[0]


class _LazyHits(_Sequence):
    """A document's best clauses as ``Hit``s, made (clause text read) when first used."""

    def __init__(self, retriever: "HybridRetriever", ids: list[str], fused: dict[str, tuple[float, dict[str, float]]]):
        self._r, self._ids, self._fused = retriever, ids, fused
        self._hits: list[Hit] | None = None

    def _all(self) -> list[Hit]:
        if self._hits is None:
            self._hits = [self._r._hit(cid, self._fused[cid]) for cid in self._ids]
        return self._hits

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i):
        return self._all()[i]


# ---------------------------------------------------------------------------
# CLI: python -m assistant search "问题" [--k 10] [--mode hybrid+qu] [--json]
# ---------------------------------------------------------------------------
def _snippet(text: str, width: int = 48) -> str:
    t = " ".join(text.split())
    return t if len(t) <= width else t[: width - 1] + "…"


def run_cli(args, settings: Settings) -> int:
    retriever = HybridRetriever(settings).warm_up()
    t0 = time.perf_counter()
    hits, info = retriever.search_with_info(args.question, k=args.k, mode=args.mode)
    ms = (time.perf_counter() - t0) * 1000
    if getattr(args, "json", False):
        print(json.dumps({"question": args.question, "mode": args.mode, "ms": round(ms, 1),
                          "query": info.to_dict() if info else None,
                          "hits": [h.to_dict() for h in hits]}, ensure_ascii=False, indent=2))
        return 0
    if info is not None:
        refs = ", ".join(r.raw for r in info.clause_refs) or "-"
        print(f"query: {info.text}\nplaces: {', '.join(info.places) or '-'}  clause refs: {refs}  "
              f"lang: {info.lang}  intent: {', '.join(info.intent) or '-'}")
    print(f"{'#':>2}  {'doc':<10} {'path':<18} {'score':>7}  {'contributions':<34} text")
    for i, h in enumerate(hits, start=1):
        contrib = " ".join(f"{k}={v:.3g}" for k, v in h.contributions.items())
        print(f"{i:>2}  {h.doc_id:<10} {h.path[:18]:<18} {h.score:>7.4f}  {contrib:<34} {_snippet(h.text)}")
    print(f"({len(hits)} clauses, {ms:.1f} ms, mode {args.mode})")
    return 0
