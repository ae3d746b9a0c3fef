"""The lexical side of search: BM25 over the chunks, searchable per document.

``LexicalIndex`` is the interface the store uses; ``BM25Index`` is the embedded
implementation. Its scores are bm25s's ``method="lucene"`` scores (k1 = 1.5,
b = 0.75; a test checks them against bm25s on the real corpus)::

    idf(t)     = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
    w(t, c)    = idf(t) · tf(t, c) / (tf(t, c) + k1 · (1 − b + b · |c| / avg|c|))
    score(q,c) = Σ_{t in q} w(t, c)          (a token repeated in q counts again)

bm25s itself cannot do what this index is for: the weights are stored term by term
(compressed sparse columns), each term's postings sorted by chunk number, and a
document's chunks are numbered contiguously, so a search restricted to some
documents reads only the slice of each query term's postings that falls in their
chunk ranges (``np.searchsorted``): the cost of a question about one document is
that document's share of the postings, not the corpus's. The index is assembled
from per-document term counts (``DocTerms``), so a rebuild after one document
changed re-counts nothing.

A restricted search is weighted with the statistics of the documents searched
(``N``, ``df`` and ``avg|c|`` of their chunks), as if they were indexed alone: a
question about one plan is ranked the same whether or not 3,000 laws sit beside it
(with the whole corpus's statistics, a term common in that plan but rare in the laws,
知识产权, weighed as a discriminating one). The term counts this needs are read back
from the stored weights, which they determine: ``tf = w · norm / (idf − w)``
(rounded; exact for any count a chunk holds), so no other file is kept.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np

from .errors import IndexCorruptError
from .tokens import tokenize

K1 = 1.5
B = 0.75
FILES = ("bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy", "bm25_chunk_len.npy", "bm25_terms.json")

Ranges = Sequence[tuple[int, int]]  # [start, end) chunk ranges


class LexicalIndex(Protocol):
    """Lexical scoring of chunks (numbered 0..n_chunks-1 by the build)."""

    n_chunks: int

    def search(self, text: str, k: int, ranges: Ranges | None = None) -> list[tuple[int, float]]:
        """Up to ``k`` (chunk, score) best first, only chunks that share a token with
        ``text``; within ``ranges`` when given, scored with their own statistics."""

    def score(self, text: str, chunks: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
        """The score of each of ``chunks`` (0 where no token is shared), with the
        statistics of ``ranges`` when given (as ``search`` over those ranges scores)."""

    def used_in(self, token: str, ranges: Ranges | None = None) -> bool:
        """Whether ``token`` occurs in some chunk (within ``ranges`` when given)."""

    def document_scores(self, text: str, docs: Ranges) -> np.ndarray:
        """BM25 of each document taken whole (each ``[start, end)`` of ``docs`` one
        document), weighted with the statistics of the documents given."""

    def document_frequency(self, token: str, ranges: Ranges | None = None) -> int:
        """In how many chunks ``token`` occurs (of ``ranges`` when given)."""


@dataclass
class DocTerms:
    """One document's BM25 input: its chunks' term counts, from ``count_terms``."""

    terms: list[str]  # the document's distinct terms
    chunk: np.ndarray  # int32, chunk number within the document
    term: np.ndarray  # int32, index into ``terms``
    tf: np.ndarray  # int32, count of the term in the chunk
    length: np.ndarray  # int32, tokens per chunk

    def to_dict(self) -> dict:
        return {"terms": self.terms, "chunk": self.chunk.tolist(), "term": self.term.tolist(),
                "tf": self.tf.tolist(), "length": self.length.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "DocTerms":
        return cls(list(d["terms"]), np.asarray(d["chunk"], dtype=np.int32), np.asarray(d["term"], dtype=np.int32),
                   np.asarray(d["tf"], dtype=np.int32), np.asarray(d["length"], dtype=np.int32))


def count_terms(chunk_tokens: Sequence[Sequence[str]]) -> DocTerms:
    """Term counts of one document's chunks (each a token list from ``tokenize``)."""
    local: dict[str, int] = {}
    chunk, term, tf = [], [], []
    for ci, toks in enumerate(chunk_tokens):
        counts: dict[int, int] = {}
        for t in toks:
            tid = local.setdefault(t, len(local))
            counts[tid] = counts.get(tid, 0) + 1
        for tid, n in counts.items():
            chunk.append(ci)
            term.append(tid)
            tf.append(n)
    return DocTerms(list(local), np.asarray(chunk, dtype=np.int32), np.asarray(term, dtype=np.int32),
                    np.asarray(tf, dtype=np.int32), np.asarray([len(t) for t in chunk_tokens], dtype=np.int32))


class BM25Builder:
    """Documents' term counts added one at a time (in chunk order) into one vocabulary
    and compact arrays, so a build need not hold every document's counts (as JSON
    lists, with each document's own copy of its terms) until it assembles the index."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self._chunks: list[np.ndarray] = []
        self._terms: list[np.ndarray] = []
        self._tfs: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._offset = 0

    def add(self, d: DocTerms) -> None:
        vocab = self.vocab
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in d.terms), dtype=np.int32, count=len(d.terms))
        self._chunks.append(d.chunk.astype(np.int32) + self._offset)
        self._terms.append(ids[d.term] if len(d.term) else np.zeros(0, dtype=np.int32))
        self._tfs.append(d.tf)
        self._lengths.append(d.length)
        self._offset += len(d.length)

    def build(self) -> "BM25Index":
        def cat(parts: list[np.ndarray], dtype) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        return BM25Index._from_postings(self.vocab, cat(self._chunks, np.int64), cat(self._terms, np.int64),
                                        cat(self._tfs, np.float32), cat(self._lengths, np.int32))


class BM25Index:
    """BM25 over chunks with per-document restriction (see the module docstring)."""

    def __init__(self, terms: list[str], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 chunk_len: np.ndarray):
        self.terms = terms
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.chunk_len = chunk_len
        self.n_chunks = int(len(chunk_len))
        self._avg_len: float | None = None

    # -- building ------------------------------------------------------------------
    @classmethod
    def build(cls, docs: Iterable[DocTerms]) -> "BM25Index":
        """Assemble the index from each document's term counts, documents in chunk order."""
        builder = BM25Builder()
        for d in docs:
            builder.add(d)
        return builder.build()

    @classmethod
    def _from_postings(cls, vocab: dict[str, int], chunk: np.ndarray, term: np.ndarray, tf: np.ndarray,
                       chunk_len: np.ndarray) -> "BM25Index":
        n = len(chunk_len)
        # postings sorted by term, then chunk: the weights of one term are one slice
        order = np.lexsort((chunk, term))
        chunk, term, tf = chunk[order], term[order], tf[order]
        df = np.bincount(term, minlength=len(vocab)).astype(np.float64)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avg_len = float(chunk_len.mean()) if n else 1.0
        norm = K1 * (1.0 - B + B * chunk_len[chunk] / avg_len)
        data = (idf[term] * tf / (tf + norm)).astype(np.float32)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(list(vocab), data, chunk.astype(np.int32), indptr, chunk_len)

    def save(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / FILES[0], self.data)
        np.save(folder / FILES[1], self.indices)
        np.save(folder / FILES[2], self.indptr)
        np.save(folder / FILES[3], self.chunk_len)
        (folder / FILES[4]).write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        return [folder / f for f in FILES]

    @classmethod
    def load(cls, folder: Path, index_dir: Path | str) -> "BM25Index":
        """Memory-maps the arrays (nothing is read until a question needs it)."""
        try:
            data = np.load(folder / FILES[0], mmap_mode="r")
            indices = np.load(folder / FILES[1], mmap_mode="r")
            indptr = np.load(folder / FILES[2], mmap_mode="r")
            chunk_len = np.load(folder / FILES[3], mmap_mode="r")
            terms = json.loads((folder / FILES[4]).read_bytes().decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise IndexCorruptError(str(index_dir), f"the BM25 index cannot be read ({type(e).__name__}: {e})") from None
        if (not isinstance(terms, list) or len(indptr) != len(terms) + 1 or len(data) != len(indices)
                or (len(indptr) and int(indptr[-1]) != len(data))):
            raise IndexCorruptError(str(index_dir), "the BM25 index files do not fit together")
        return cls(terms, data, indices, indptr, chunk_len)

    # -- searching -----------------------------------------------------------------
    def token_ids(self, text: str) -> list[int]:
        return [self.vocab[t] for t in tokenize(text) if t in self.vocab]

    @property
    def avg_len(self) -> float:
        if self._avg_len is None:
            self._avg_len = float(np.asarray(self.chunk_len).mean()) if self.n_chunks else 1.0
        return self._avg_len

    def _slices(self, tid: int, ranges: Ranges | None) -> list[tuple[int, int]]:
        """[a, b) positions of one term's postings, within ``ranges`` when given."""
        a, b = int(self.indptr[tid]), int(self.indptr[tid + 1])
        if ranges is None:
            return [(a, b)] if b > a else []
        bounds = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
        lo, hi = np.searchsorted(self.indices[a:b], bounds.T)  # one pass for every range
        keep = hi > lo
        return [(a + int(x), a + int(y)) for x, y in zip(lo[keep], hi[keep])]

    def _postings(self, ids: Sequence[int], ranges: Ranges | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(chunks, weights) of each query term (a repeated term again), within ``ranges``
        when given, weighted with those chunks' own statistics (module docstring)."""
        if ranges is None:
            return [(self.indices[a:b], self.data[a:b]) for tid in ids for a, b in self._slices(tid, None)]
        lens = [np.asarray(self.chunk_len[a:b]) for a, b in ranges]
        n = sum(len(x) for x in lens)
        if n == 0:
            return []
        avg = float(np.concatenate(lens).mean()) or 1.0
        memo: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        out = []
        for tid in ids:
            if tid not in memo:
                memo[tid] = self._restricted_weights(tid, self._slices(tid, ranges), n, avg)
            if memo[tid] is not None:
                out.append(memo[tid])
        return out

    def _restricted_weights(self, tid: int, slices: list[tuple[int, int]], n: int, avg: float
                            ) -> tuple[np.ndarray, np.ndarray] | None:
        if not slices:
            return None
        chunks = np.concatenate([self.indices[a:b] for a, b in slices])
        w = np.concatenate([self.data[a:b] for a, b in slices]).astype(np.float64)
        lens = np.asarray(self.chunk_len)[chunks]
        tf = self._term_counts(tid, w, lens)
        norm = K1 * (1.0 - B + B * lens / avg)
        return chunks, (idf(len(chunks), n) * tf / (tf + norm)).astype(np.float32)

    def _term_counts(self, tid: int, w: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """A term's counts in chunks of lengths ``lens``, from its stored weights ``w``."""
        global_idf = idf(int(self.indptr[tid + 1] - self.indptr[tid]), self.n_chunks)
        norm = K1 * (1.0 - B + B * lens / self.avg_len)
        return np.maximum(np.rint(w * norm / np.maximum(global_idf - w, 1e-12)), 1.0)

    def search(self, text: str, k: int, ranges: Ranges | None = None) -> list[tuple[int, float]]:
        ids = self.token_ids(text)
        if not ids or k <= 0:
            return []
        parts = self._postings(ids, ranges)
        if not parts:
            return []
        chunks = np.concatenate([c for c, _ in parts])
        weights = np.concatenate([w for _, w in parts]).astype(np.float32)
        uniq, inv = np.unique(chunks, return_inverse=True)
        scores = np.bincount(inv, weights=weights).astype(np.float32)
        k = min(int(k), len(uniq))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(uniq) else np.arange(len(uniq))
        top = top[np.lexsort((uniq[top], -scores[top]))]
        return [(int(uniq[i]), float(scores[i])) for i in top if scores[i] > 0]

    def score(self, text: str, chunks: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
        chunks = np.asarray(chunks, dtype=np.int64)
        out = np.zeros(len(chunks), dtype=np.float32)
        if not len(chunks):
            return out
        order = np.argsort(chunks, kind="stable")
        sorted_chunks = chunks[order]
        for idx, weights in self._postings(self.token_ids(text), ranges):
            pos = np.searchsorted(idx, sorted_chunks)
            pos_ok = pos < len(idx)
            hit = np.zeros(len(chunks), dtype=bool)
            hit[pos_ok] = idx[pos[pos_ok]] == sorted_chunks[pos_ok]
            out[order[hit]] += weights[pos[hit]]
        return out

    def document_scores(self, text: str, docs: Ranges) -> np.ndarray:
        """BM25 of each document taken whole: each ``[start, end)`` chunk range of
        ``docs`` is one document, its term counts its chunks' summed and its length
        theirs; ``N``, ``df`` and the average length are those of the documents given.
        How much each document as a whole is about the words of ``text`` (a term every
        one of them uses weighs little, and alike), as opposed to its best passage."""
        n = len(docs)
        out = np.zeros(n, dtype=np.float64)
        ids = self.token_ids(text)
        if not n or not ids:
            return out
        starts = np.asarray([a for a, _ in docs], dtype=np.int64)
        order = np.argsort(starts, kind="stable")  # ranges may come in any order
        lens = np.asarray(self.chunk_len)
        doc_len = np.asarray([float(lens[a:b].sum()) for a, b in docs])
        norm = K1 * (1.0 - B + B * doc_len / (doc_len.mean() or 1.0))
        for tid in ids:
            slices = self._slices(tid, docs)
            if not slices:
                continue
            chunks = np.concatenate([self.indices[a:b] for a, b in slices])
            w = np.concatenate([self.data[a:b] for a, b in slices]).astype(np.float64)
            tf_chunk = self._term_counts(tid, w, lens[chunks])
            which = order[np.searchsorted(starts[order], chunks, side="right") - 1]
            tf = np.bincount(which, weights=tf_chunk, minlength=n)
            out += idf(int(np.count_nonzero(tf)), n) * tf / (tf + norm)
        return out

    def used_in(self, token: str, ranges: Ranges | None = None) -> bool:
        """Whether ``token`` occurs in some chunk (of ``ranges`` when given)."""
        tid = self.vocab.get(token)
        return tid is not None and bool(self._slices(tid, ranges))

    def document_frequency(self, token: str, ranges: Ranges | None = None) -> int:
        tid = self.vocab.get(token)
        if tid is None:
            return 0
        if ranges is None:
            return int(self.indptr[tid + 1] - self.indptr[tid])
        return sum(b - a for a, b in self._slices(tid, ranges))


def idf(df: int, n: int) -> float:
    """The idf above, for a term in ``df`` of ``n`` chunks."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


__all__ = ["LexicalIndex", "BM25Index", "BM25Builder", "DocTerms", "count_terms", "K1", "B", "FILES"]
