"""How well a sentence answers a question: named features and linear scorers over them.

Each candidate sentence (a sentence of a retrieved clause) is described by the
features in ``FEATURES`` (``answering.ExtractiveAnswerer.candidates`` computes them).
A scorer maps them to a score:

* ``hand``: the weights in ``HAND_WEIGHTS``, set by hand;
* ``learned``: a logistic regression (scikit-learn) fitted on sentence labels derived
  from the gold evidence strings (``label_sentence``): a sentence is a positive when
  it and an evidence string contain each other (fuzzily, the scoring rules' match).
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


def fit_logistic(rows: Sequence[Mapping[str, float]], labels: Sequence[bool], c: float = 1.0,
                 name: str = "learned") -> LinearScorer:
    """A logistic regression over ``FEATURES`` (class-balanced, L2, fixed solver: the
    same data gives the same coefficients)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if not rows or len(set(labels)) < 2:
        return HAND_SCORER
    x = np.array([[r.get(f, 0.0) for f in FEATURES] for r in rows], dtype=float)
    y = np.array(labels, dtype=int)
    model = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=2000)
    model.fit(x, y)
    weights = tuple((f, round(float(w), 6)) for f, w in zip(FEATURES, model.coef_[0]))
    return LinearScorer(name, weights, round(float(model.intercept_[0]), 6), logistic=True)
