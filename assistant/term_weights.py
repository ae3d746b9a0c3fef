"""Keyword weights for the extractive answerer, counted over the right documents.

The answerer weighs the words a question shares with a sentence by their rarity (idf),
keeps only focus words the documents use, and bridges everyday words to the documents'
terms. Counted over the whole index, those statistics change with whatever sits beside
the documents a question is about: 3,475 laws make 知识产权, 融资 or 单位 common and put
legal terms among a word's nearest neighbours, and a plan question's answer moves.

So a sentence is weighed with the statistics of its own document's **family**: the
documents of the index whose kinds are written alike (``lexicons/doc_families.toml``:
policy documents — plans, schemes, opinions — and legal ones). A plan's sentence
is judged as among the plans, a law's as among the laws. Kinds in no family, and every
document when the whole index is of one family, use the whole index's statistics: on an
index of the five plans nothing changes.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Mapping, Sequence

from . import lexicons
from .models import PlanMeta

TermStats = tuple[int, Callable[[str], int]]  # (units, in how many units a token occurs)


class TermWeights:
    """Keyword weights (idf) over a set of units (``IndexStore.term_stats``)."""

    def __init__(self, n: int, df: Callable[[str], int]):
        self.n = max(1, int(n))
        self._df = df
        self._memo: dict[str, int] = {}

    def df(self, tok: str) -> int:
        if tok not in self._memo:
            self._memo[tok] = int(self._df(tok))
        return self._memo[tok]

    def idf(self, tok: str) -> float:
        return math.log((self.n + 1) / (self.df(tok) + 1)) + 1.0

    def used(self, tok: str) -> bool:
        return self.df(tok) > 0


@lru_cache(maxsize=1)
def family_of_intent() -> dict[str, str]:
    """question intent (``query.detect_intent``) → the family whose documents state what it
    asks (``lexicons/doc_families.toml``, ``intents``)."""
    return {i: f["name"] for f in lexicons.table("doc_families.toml").get("family", []) for i in f.get("intents", [])}


@lru_cache(maxsize=1)
def family_of_kind() -> dict[str, str]:
    """doc_type → family name (``lexicons/doc_families.toml``)."""
    return {t: f["name"] for f in lexicons.table("doc_families.toml").get("family", []) for t in f["types"]}


class FamilyWeights:
    """The ``TermWeights`` each document's sentences are weighed with: those of its
    family's documents, or ``whole`` (module docstring)."""

    def __init__(self, docs: Mapping[str, PlanMeta], whole: TermWeights,
                 stats_of: Callable[[Sequence[str]], TermStats] | None):
        """``docs``: every document of the index by id; ``stats_of(doc_ids)``: the term
        statistics within those documents (``IndexStore.term_stats``); without it, every
        document is weighed with ``whole``."""
        self.whole = whole
        kinds = family_of_kind()
        self._family = {d: kinds.get(m.doc_type or "", "") for d, m in docs.items()}
        members: dict[str, list[str]] = {}
        for d, fam in self._family.items():
            if fam:
                members.setdefault(fam, []).append(d)
        # a family that is the whole index is weighed with the whole index's statistics
        self._members = {f: ds for f, ds in members.items() if stats_of is not None and len(ds) < len(docs)}
        self._stats_of = stats_of
        self._weights: dict[str, TermWeights] = {}

    def of(self, doc_id: str) -> TermWeights:
        fam = self._family.get(doc_id, "")
        if fam not in self._members:
            return self.whole
        w = self._weights.get(fam)
        if w is None:
            w = self._weights[fam] = TermWeights(*self._stats_of(sorted(self._members[fam])))
        return w

    def family(self, doc_id: str) -> str:
        """The family of a document's kind ("" for a kind in none)."""
        return self._family.get(doc_id, "")

    def preferred(self, intents: Sequence[str]) -> str:
        """The family whose documents state what a question of these intents asks for
        (support, targets: the policy documents), when the index holds that family beside
        others; "" otherwise (an index of one family: nothing to prefer)."""
        table = family_of_intent()
        fams = {table[i] for i in intents if i in table}
        if len(fams) != 1:
            return ""
        fam = fams.pop()
        return fam if fam in self._members else ""

    @property
    def split(self) -> bool:
        """Whether some document is weighed otherwise than by the whole index."""
        return bool(self._members)
