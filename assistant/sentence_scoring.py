"""How well a sentence answers a question: named features and linear scorers over them.

Each candidate sentence (a sentence of a retrieved clause) is described by the
features in ``FEATURES`` (``answering.ExtractiveAnswerer.candidates`` computes them).
A scorer maps them to a score:

* ``hand``: the weights in ``HAND_WEIGHTS``, set by hand;
* ``learned``: a pairwise ranker (``fit_ranker``: a logistic regression, scikit-learn,
  on feature differences within a question, then Platt-scaled) fitted on sentence
  labels derived from the gold evidence strings (``label_sentence``): a sentence is a
  positive when it and an evidence string contain each other (fuzzily, the scoring
  rules' match).
  ``python -m assistant train`` fits it on every answerable tuning question and
  stores its coefficients as plain JSON in ``assistant/tuned.json``; cross-validation
  fits it on the training folds only. Which scorer answers is itself a tunable
  (``answer.scorer``), so the learned one is used only where it wins out of fold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .evaluation import passage_matches
from .textnorm import for_compare

FEATURES: tuple[str, ...] = (
    "cov",  # IDF-weighted share of the question's keywords in the sentence
    "cov_bridge",  # the same, a keyword also counting through its bridged corpus terms
    "cov_clause",  # share in the clause as a whole (its heading and parents included)
    "dense",  # cosine of question and sentence (embedding model)
    "dense_gap",  # dense minus the best dense among the candidates (≤ 0)
    "rank_inv",  # 1 / (1 + the clause's rank among the retrieved clauses)
    "fused_rel",  # the clause's retrieval score / the best clause's
    "named",  # the clause (or its parent) is named by the question: number or quoted heading
    "named_list",  # named × the question asks for measures or requirements
    "states_ask",  # the sentence states a kind the question asks for (amount, date, body …)
    "q_number",  # a number the question gives appears in the sentence
    "heading",  # the sentence is the clause's heading line
    "first",  # the first body sentence of its clause
    "duty_piece",  # a closing list of responsible units, the question asking who
    "background",  # the clause sits in a background section (past results), the question not about the past
    "target",  # the clause sits in a target section and the question asks a figure
    "phrase",  # a phrase the question quotes is in the sentence
    "row",  # a table or attachment row
    "log_len",  # log(1 + characters) / 6
    # the question's words weakly matched everywhere (everyday words): meaning must decide
    "dense_weak",  # dense × (1 − the best cov_bridge among the candidates)
    "gap_weak",  # dense_gap × (1 − the best cov_bridge among the candidates)
)

# Hand-set weights (the answerer's rule of thumb before any learning).
HAND_WEIGHTS: dict[str, float] = {
    "cov_bridge": 0.65, "cov_clause": 0.25, "rank_inv": 0.15, "named": 1.0, "states_ask": 0.30, "q_number": 0.45,
    "dense": 0.3, "duty_piece": 0.3, "phrase": 0.3, "heading": -0.3, "background": -0.1,
}


@dataclass(frozen=True)
class LinearScorer:
    """score = bias + Σ weight·feature (``logistic``: passed through the sigmoid)."""

    name: str
    weights: tuple[tuple[str, float], ...]
    bias: float = 0.0
    logistic: bool = False

    def score(self, feats: Mapping[str, float]) -> float:
        z = self.bias + sum(w * feats.get(f, 0.0) for f, w in self.weights)
        if self.logistic:
            return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        return z

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "weights": dict(self.weights), "bias": self.bias, "logistic": self.logistic}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "LinearScorer":
        return cls(d.get("name", "learned"), tuple((f, float(w)) for f, w in d["weights"].items()),
                   float(d.get("bias", 0.0)), bool(d.get("logistic", True)))


HAND_SCORER = LinearScorer("hand", tuple(HAND_WEIGHTS.items()))


def label_sentence(sentence: str, evidence: Sequence[str]) -> bool:
    """A sentence answers a question when it contains an evidence string, or is a
    substantial piece of one (both fuzzily, as the gold scoring matches passages)."""
    s = for_compare(sentence)
    if len(s) < 6:
        return False
    for e in evidence:
        en = for_compare(e)
        if not en:
            continue
        if passage_matches(en, s, normalised=True) or (len(s) >= 8 and passage_matches(s, en, normalised=True)):
            return True
    return False


def fit_ranker(groups: Sequence[Sequence[tuple[Mapping[str, float], bool]]], c: float = 1.0,
               negatives: int = 30, name: str = "learned") -> LinearScorer:
    """A pairwise ranker over ``FEATURES``: a logistic regression on the feature
    differences of a question's answering sentences and its best-scoring (by the hand
    scorer) other sentences, so that it learns to put an answering sentence first
    *within* a question; then Platt scaling (a one-feature logistic regression over all
    sentences) maps its scores to probabilities, so that shares of the best score mean
    what they mean for the hand scorer. Deterministic: the same data gives the same
    coefficients."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    diffs, ys = [], []
    for group in groups:
        pos = [f for f, y in group if y]
        neg = sorted((f for f, y in group if not y), key=lambda f: -HAND_SCORER.score(f))[:negatives]
        for p in pos:
            for n in neg:
                d = [p.get(k, 0.0) - n.get(k, 0.0) for k in FEATURES]
                sign = 1 if (len(diffs) % 2 == 0) else -1  # balanced classes, no randomness
                diffs.append([sign * v for v in d])
                ys.append(int(sign > 0))
    if len(set(ys)) < 2:
        return HAND_SCORER
    pair = LogisticRegression(C=c, fit_intercept=False, solver="lbfgs", max_iter=3000).fit(np.array(diffs), ys)
    w = pair.coef_[0]
    rows = [f for group in groups for f, _ in group]
    labels = [int(y) for group in groups for _, y in group]
    z = np.array([[sum(wi * f.get(k, 0.0) for wi, k in zip(w, FEATURES))] for f in rows])
    platt = LogisticRegression(C=1e4, class_weight="balanced", solver="lbfgs", max_iter=2000).fit(z, labels)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    weights = tuple((k, round(float(a * wi), 6)) for k, wi in zip(FEATURES, w))
    return LinearScorer(name, weights, round(b, 6), logistic=True)
