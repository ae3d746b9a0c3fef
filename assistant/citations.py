"""Citation checking: make every quote shown to the user an exact substring of its clause.

Pure functions, shared by the LLM answerer, the extractive answerer and the UI.

An answer cites the numbered clauses it was given with markers ``[n]`` (also
``[n][m]``, ``[n, m]``, ``[n-m]``, ``【n】``, full-width ``［n］``) and quotes clause
text in ``「」`` / ``『』`` / ``“”`` / ``""``. :func:`check_llm_answer`

* drops markers that refer to no given clause,
* checks each quote standing before a marker against that clause's text after
  :func:`textnorm.for_compare` normalisation (exact substring), repairs a quote that
  is only near-exact (rapidfuzz ``partial_ratio`` >= 95) to the clause's own words,
  and un-quotes a quote the clause does not contain (its words stay, as paraphrase),
* keeps a citation without a verified quote only when its statement is supported
  by one of the clause's sentences (that sentence becomes the citation's quote),
* renumbers the surviving citations 1..k in order of first use.

Every returned citation's ``quote`` is an exact substring of its ``clause_text``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from rapidfuzz import fuzz

from . import textnorm

# The line an LLM answers with when the clauses do not answer the question;
# prompts/answer_system.txt asks for exactly this token.
NOT_FOUND_MARKER = "NOT_FOUND"

# A near-exact quote (typo, a changed character) is repaired to the clause's words;
# below this partial_ratio the quote is treated as not in the clause.
REPAIR_MIN_RATIO = 95.0
# Quoted spans shorter than this (after normalisation) are term mentions such as
# “十四五”, not quotations backing a statement: they are neither checked nor shown.
MIN_QUOTE_CHARS = 4
# Share of a statement's character bigrams a clause sentence must contain for the
# citation to stand without a verified quote.
SUPPORT_MIN = 0.3
# Statements with fewer CJK characters than this (e.g. English answers) cannot be
# compared with the Chinese clause by characters; their citation is kept unjudged.
MIN_CJK_TO_JUDGE = 4
# A repaired quote is widened to whole sentences only while that stays readable.
_SENTENCE_REPAIR_MAX_FACTOR = 2.0

_SENTENCE_END = "。；;！!？?"
_SENT_RE = re.compile(rf"[^{_SENTENCE_END}\n]*(?:[{_SENTENCE_END}]+|\n|$)")

_NUMS = r"\d{1,3}(?:\s*[,，、;；\-–~]\s*\d{1,3})*"
_MARKER_RE = re.compile(rf"[\[［]\s*({_NUMS})\s*[\]］]|【\s*({_NUMS})\s*】")
_QUOTE_RE = re.compile(
    r"「([^「」]+)」"
    r"|『([^『』]+)』"
    r"|“((?:[^“”]|“[^“”]*”)+)”"  # one level of nested “” (the plans quote slogans)
    r'|"([^"\n]+)"'
)
_QUOTE_AFTER_MARKER_RE = re.compile(r"[ \t:：]*(?P<q>[「『“\"])")
_NOT_FOUND_RE = re.compile(rf"[*_`#>\s]*\b{NOT_FOUND_MARKER}\b[*_`]*[:：]?[ \t]*")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# ---------------------------------------------------------------------------
# data


@dataclass
class NumberedClause:
    """A clause as the answerer was shown it, under its number ``n`` (1-based)."""

    n: int
    clause_id: str
    doc_id: str
    title: str
    place: str
    path: str
    heading: str
    text: str  # the full clause text (quotes are checked against this)
    shown: str = ""  # what the prompt contained, when shorter than ``text``

    @classmethod
    def from_clause(cls, n: int, clause: Any, shown: str = "") -> "NumberedClause":
        return cls(
            n=n,
            clause_id=clause.clause_id,
            doc_id=clause.doc_id,
            title=clause.title,
            place=clause.place,
            path=clause.path,
            heading=clause.heading,
            text=clause.text,
            shown=shown,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    n: int  # number in the checked answer (1..k)
    source_n: int  # number the answerer used
    clause_id: str
    doc_id: str
    title: str
    place: str
    path: str
    heading: str
    quote: str  # exact substring of clause_text
    clause_text: str
    quote_status: str  # "exact" | "repaired" | "best_sentence"

    def to_contract(self) -> dict[str, Any]:
        """The citation as the ``ask`` JSON contract lists it (title inside 《》)."""
        title = self.title.strip()
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": title if not title or title.startswith("《") else f"《{title}》",
            "place": self.place,
            "path": self.path,
            "heading": self.heading,
            "quote": self.quote,
            "clause_text": self.clause_text,
        }


@dataclass
class QuoteFix:
    n: int  # the answerer's marker number
    original: str
    repaired: str = ""  # "" when the quote was dropped
    score: float = 0.0
    found_in: int = 0  # for a re-attributed quote: the number of the clause that says it


@dataclass
class CheckedAnswer:
    text: str  # the answer with markers renumbered, false quotes un-quoted, NOT_FOUND removed
    citations: list[Citation]
    not_found: bool = False
    dropped_markers: list[int] = field(default_factory=list)  # numbers naming no given clause
    dropped_citations: list[int] = field(default_factory=list)  # valid numbers with no support
    repaired_quotes: list[QuoteFix] = field(default_factory=list)
    dropped_quotes: list[QuoteFix] = field(default_factory=list)
    # quotes found in another given clause than the one the marker named
    reattributed_quotes: list[QuoteFix] = field(default_factory=list)
    uncited: list[str] = field(default_factory=list)  # statements carrying no marker

    @property
    def usable(self) -> bool:
        """At least one valid citation survived (otherwise fall back to extractive)."""
        return bool(self.citations)

    def contract_citations(self) -> list[dict[str, Any]]:
        return [c.to_contract() for c in self.citations]

    def report(self) -> dict[str, Any]:
        """What the check changed, for logs and the answer's diagnostics."""
        return {
            "not_found": self.not_found,
            "citations": len(self.citations),
            "dropped_markers": self.dropped_markers,
            "dropped_citations": self.dropped_citations,
            "repaired_quotes": [asdict(q) for q in self.repaired_quotes],
            "dropped_quotes": [asdict(q) for q in self.dropped_quotes],
            "reattributed_quotes": [asdict(q) for q in self.reattributed_quotes],
            "uncited": self.uncited,
        }


# ---------------------------------------------------------------------------
# sentences


def split_sentences(text: str) -> list[str]:
    """Split Chinese text after 。；！？ (and ; ! ?) and at newlines, keeping the
    punctuation. Each piece is stripped of surrounding whitespace and is a substring
    of ``text``; empty pieces are dropped."""
    return [s for s, _ in _sentence_spans(text)]


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of each piece ``split_sentences`` gives."""
    return [(st, st + len(s)) for s, st in _sentence_spans(text)]


def _sentence_spans(text: str) -> list[tuple[str, int]]:
    out = []
    for m in _SENT_RE.finditer(text or ""):
        raw = m.group(0)
        s = raw.strip()
        if s:
            out.append((s, m.start() + raw.index(s)))
    return out


def _bigrams(norm: str) -> set[str]:
    if len(norm) < 2:
        return {norm} if norm else set()
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def support_score(statement: str, sentence: str) -> float:
    """Share of the statement's character bigrams (normalised) found in the sentence."""
    b = _bigrams(textnorm.for_compare(statement))
    if not b:
        return 0.0
    return len(b & _bigrams(textnorm.for_compare(sentence))) / len(b)


def best_sentence_scored(clause_text: str, query: str) -> tuple[str, float]:
    """The clause sentence that best covers ``query``, and its score (0..1).

    Ties go to the shorter sentence, then the earlier one; with nothing to compare,
    the clause's first sentence (score 0)."""
    sents = split_sentences(clause_text)
    if not sents:
        return "", 0.0
    qb = _bigrams(textnorm.for_compare(query))
    if not qb:
        return sents[0], 0.0
    best, best_key = sents[0], (-1.0, 0, 0)
    for i, s in enumerate(sents):
        score = len(qb & _bigrams(textnorm.for_compare(s))) / len(qb)
        key = (score, -len(s), -i)
        if key > best_key:
            best, best_key = s, key
    return best, max(best_key[0], 0.0)


def best_sentence(clause_text: str, query: str) -> str:
    """The sentence of ``clause_text`` (an exact substring) that best matches ``query``."""
    return best_sentence_scored(clause_text, query)[0]


# ---------------------------------------------------------------------------
# normalisation with a map back to the original text


@dataclass
class _Normed:
    text: str  # original
    norm: str  # textnorm.for_compare(text), built char by char
    origin: list[int]  # origin[i] = index in text of norm[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original-text span covering norm[start:end]."""
        return self.origin[start], self.origin[end - 1] + 1


def _normalise_with_map(text: str) -> _Normed:
    """``textnorm.for_compare`` that remembers where each kept character came from,
    so a match found in normalised text can be cut out of the original text."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            chars.append(c)
            origin.append(i)
    s = "".join(chars)
    drop = set()
    for m in textnorm.PINYIN_NOTE_RE.finditer(s):
        drop.update(range(m.start(), m.end()))
    kept = [(c, o) for j, (c, o) in enumerate(zip(chars, origin)) if j not in drop]
    joined = "".join(c for c, _ in kept)
    simp = textnorm.to_simplified(joined)
    if len(simp) == len(joined):
        pieces = list(simp)
    else:  # a phrase conversion changed the length: fall back to character by character
        pieces = [textnorm.to_simplified(c) for c, _ in kept]
    norm: list[str] = []
    nmap: list[int] = []
    for piece, (_, o) in zip(pieces, kept):
        for c in piece:
            if textnorm._is_punct_or_space(c):
                continue
            for lc in c.lower():
                norm.append(lc)
                nmap.append(o)
    return _Normed(text, "".join(norm), nmap)


# ---------------------------------------------------------------------------
# quotes


@dataclass
class _QuoteCheck:
    status: str  # "exact" | "repaired" | "absent" | "short"
    quote: str = ""  # exact clause text when exact/repaired
    score: float = 0.0


def verify_quote(quote: str, clause_text: str, _normed: _Normed | None = None) -> _QuoteCheck:
    """Is ``quote`` in ``clause_text`` (after normalisation)? Returns the clause's own
    words for it when it is, or when it is near-exact (repaired)."""
    qn = textnorm.for_compare(quote)
    if len(qn) < MIN_QUOTE_CHARS:
        return _QuoteCheck("short")
    nd = _normed or _normalise_with_map(clause_text)
    if not nd.norm:
        return _QuoteCheck("absent")
    pos = nd.norm.find(qn)
    if pos >= 0:
        a, b = _extend_over_punct(clause_text, *nd.span(pos, pos + len(qn)), quote)
        return _QuoteCheck("exact", clause_text[a:b], 100.0)
    al = fuzz.partial_ratio_alignment(qn, nd.norm)
    if al is None or al.score < REPAIR_MIN_RATIO or al.dest_end <= al.dest_start:
        return _QuoteCheck("absent", score=al.score if al else 0.0)
    a, b = nd.span(al.dest_start, al.dest_end)
    return _QuoteCheck("repaired", _widen_to_sentences(clause_text, a, b), al.score)


def _edge_puncts(s: str) -> tuple[int, int]:
    """How many punctuation characters ``s`` starts and ends with (spaces ignored)."""
    s = s.strip()
    lead = next((i for i, ch in enumerate(s) if not textnorm._is_punct_or_space(ch)), len(s))
    trail = next((i for i, ch in enumerate(reversed(s)) if not textnorm._is_punct_or_space(ch)), len(s))
    return lead, trail


def _extend_over_punct(text: str, a: int, b: int, quote: str) -> tuple[int, int]:
    """Normalised matching ignores punctuation, so a match of “…(单位):” ends at 位;
    take back as many of the clause's punctuation marks as the quote had at each edge."""
    lead, trail = _edge_puncts(quote)
    while trail and b < len(text) and textnorm._is_punct_or_space(text[b]) and not text[b].isspace():
        b += 1
        trail -= 1
    while lead and a > 0 and textnorm._is_punct_or_space(text[a - 1]) and not text[a - 1].isspace():
        a -= 1
        lead -= 1
    return a, b


def _widen_to_sentences(text: str, a: int, b: int) -> str:
    """The whole sentence(s) around text[a:b] when that stays close in length to the
    quote (a readable, self-contained quote); otherwise text[a:b] itself."""
    covering = [(s, st) for s, st in _sentence_spans(text) if st < b and st + len(s) > a]
    if covering:
        start = covering[0][1]
        end = covering[-1][1] + len(covering[-1][0])
        if end - start <= _SENTENCE_REPAIR_MAX_FACTOR * (b - a) + 10:
            return text[start:end]
    return text[a:b].strip()


# ---------------------------------------------------------------------------
# markers


@dataclass
class _Group:
    start: int
    end: int
    numbers: list[int]  # as written, in order, de-duplicated


def _parse_numbers(s: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,，、;；]\s*", s.strip()):
        rng = re.fullmatch(r"(\d+)\s*[-–~]\s*(\d+)", part)
        if rng:
            lo, hi = int(rng.group(1)), int(rng.group(2))
            # a reversed or huge range is not a citation list
            nums = list(range(lo, hi + 1)) if 0 <= hi - lo <= 20 else [lo, hi]
        elif part.isdigit():
            nums = [int(part)]
        else:
            nums = []
        for n in nums:
            if n not in out:
                out.append(n)
    return out


def _marker_groups(text: str) -> list[_Group]:
    """Markers, merged into groups when only whitespace separates them ([1][2], [1] [3])."""
    groups: list[_Group] = []
    for m in _MARKER_RE.finditer(text):
        nums = _parse_numbers(m.group(1) or m.group(2))
        if groups and not text[groups[-1].end:m.start()].strip():
            g = groups[-1]
            g.end = m.end()
            g.numbers.extend(n for n in nums if n not in g.numbers)
        else:
            groups.append(_Group(m.start(), m.end(), nums))
    return groups


def _quotes_in(text: str, lo: int, hi: int) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of quoted spans inside text[lo:hi]; start/end include the quote marks."""
    out = []
    for m in _QUOTE_RE.finditer(text, lo, hi):
        inner = next(g for g in m.groups() if g is not None)
        out.append((m.start(), m.end(), inner))
    return out


def _strip_markers(s: str) -> str:
    return _MARKER_RE.sub("", s)


# ---------------------------------------------------------------------------
# the check


def check_llm_answer(
    text: str,
    numbered_clauses: Sequence[NumberedClause],
    query: str = "",
) -> CheckedAnswer:
    """Check an answer's citations against the clauses it was given (see module doc).

    ``query`` (the question) picks the sentence to show for a citation whose statement
    cannot be compared with the clause text (e.g. an English answer)."""
    by_n: dict[int, NumberedClause] = {c.n: c for c in numbered_clauses}
    normed: dict[int, _Normed] = {}

    def nd(n: int) -> _Normed:
        if n not in normed:
            normed[n] = _normalise_with_map(by_n[n].text)
        return normed[n]

    raw = text or ""
    not_found = bool(re.search(rf"\b{NOT_FOUND_MARKER}\b", raw))
    groups = _marker_groups(raw)

    dropped_markers: list[int] = []
    # per valid clause number: verified quotes (status, exact text), statements
    verified: dict[int, list[tuple[str, str]]] = {}
    statements: dict[int, list[str]] = {}
    repaired: list[QuoteFix] = []
    dropped_q: list[QuoteFix] = []
    reattributed: list[QuoteFix] = []
    # edits to the answer text: (start, end, replacement)
    edits: list[tuple[int, int, str]] = []

    def check_elsewhere(qs: int, qe: int, inner: str, hint: int) -> tuple[int, _QuoteCheck] | None:
        """A quote its own markers do not back (or that stands after the last marker):
        kept if some given clause says it (returned, so the caller can cite that
        clause), otherwise un-quoted, so the answer never presents words as a
        quotation that no clause contains."""
        checks = {n: verify_quote(inner, by_n[n].text, nd(n)) for n in by_n}
        if not checks or all(c.status == "short" for c in checks.values()):
            return None
        n, c = max(checks.items(), key=lambda kv: (kv[1].status == "exact", kv[1].score))
        if c.status in ("exact", "repaired"):
            if c.status == "repaired":
                repaired.append(QuoteFix(n, inner, c.quote, c.score))
            if c.quote != inner:
                edits.append((qs + 1, qe - 1, c.quote))
            return n, c
        dropped_q.append(QuoteFix(hint, inner, "", c.score))
        edits.append((qs, qe, inner))
        return None

    handled: list[tuple[int, int]] = [(g.start, g.end) for g in groups]
    prev_end = 0
    for g in groups:
        valid = [n for n in g.numbers if n in by_n]
        for n in g.numbers:
            if n not in by_n and n not in dropped_markers:
                dropped_markers.append(n)
        # the statement a marker backs: from the previous marker (or line start) to it
        line_start = raw.rfind("\n", 0, g.start) + 1
        seg_start = max(prev_end, line_start)
        prev_end = g.end
        statement = raw[seg_start:g.start]
        quotes = _quotes_in(raw, seg_start, g.start)
        if not quotes:
            # "[1]「…」" style: the quotation follows its marker
            m = _QUOTE_AFTER_MARKER_RE.match(raw, g.end)
            if m:
                qs = m.start("q")
                quotes = [q for q in _quotes_in(raw, qs, len(raw)) if q[0] == qs][:1]
                if quotes:
                    statement = raw[quotes[0][0]:quotes[0][1]]
                    prev_end = quotes[0][1]
        for n in valid:
            statements.setdefault(n, []).append(statement)
            verified.setdefault(n, [])
        for qs, qe, inner in quotes:
            handled.append((qs, qe))
            checks = {n: verify_quote(inner, by_n[n].text, nd(n)) for n in valid}
            exact = [n for n, c in checks.items() if c.status == "exact"]
            rep = [n for n, c in checks.items() if c.status == "repaired"]
            if exact:
                n = exact[0]
                c = checks[n]
                verified[n].append(("exact", c.quote))
                if c.quote != inner:
                    # same words after normalisation (script, width, punctuation):
                    # show the clause's own characters inside the quote marks
                    edits.append((qs + 1, qe - 1, c.quote))
            elif rep:
                n = max(rep, key=lambda k: checks[k].score)
                c = checks[n]
                verified[n].append(("repaired", c.quote))
                repaired.append(QuoteFix(n, inner, c.quote, c.score))
                edits.append((qs + 1, qe - 1, c.quote))
            else:
                found = check_elsewhere(qs, qe, inner, valid[0] if valid else 0)
                if found is not None and valid:
                    # the model quoted a given clause under the wrong number: cite the
                    # clause that says it too; the named one must stand on its own
                    m, c = found
                    verified.setdefault(m, []).append((c.status, c.quote))
                    statements.setdefault(m, []).append(statement)
                    if m not in g.numbers:
                        g.numbers.append(m)
                    reattributed.append(QuoteFix(valid[0], inner, c.quote, c.score, found_in=m))
    for qs, qe, inner in _quotes_in(raw, 0, len(raw)):
        if not any(qs < b and a < qe for a, b in handled):
            check_elsewhere(qs, qe, inner, 0)

    # decide which cited clauses stand
    kept: dict[int, tuple[str, str]] = {}  # n -> (status, quote)
    dropped_citations: list[int] = []
    for n in verified:
        if verified[n]:
            kept[n] = verified[n][0]
            continue
        clause_text = by_n[n].text
        best, best_score, judgeable = "", -1.0, False
        for st in statements[n]:
            st_plain = _strip_markers(st)
            if len(_CJK_RE.findall(st_plain)) < MIN_CJK_TO_JUDGE:
                continue
            judgeable = True
            s, score = best_sentence_scored(clause_text, st_plain)
            if score > best_score:
                best, best_score = s, score
        if judgeable:
            if best_score >= SUPPORT_MIN and best:
                kept[n] = ("best_sentence", best)
            else:
                dropped_citations.append(n)
        else:
            s = best_sentence(clause_text, query or " ".join(statements[n]))
            if s:
                kept[n] = ("best_sentence", s)
            else:
                dropped_citations.append(n)

    # renumber in order of first use
    renum: dict[int, int] = {}
    for g in groups:
        for n in g.numbers:
            if n in kept and n not in renum:
                renum[n] = len(renum) + 1
    for g in groups:
        new = [renum[n] for n in g.numbers if n in renum]
        edits.append((g.start, g.end, "".join(f"[{k}]" for k in new)))

    out = _apply_edits(raw, edits)
    out = _NOT_FOUND_RE.sub(lambda m: "\n" if "\n" in m.group(0) else "", out)
    out = re.sub(r"\n{3,}", "\n\n", out).strip()

    citations = []
    for n, k in sorted(renum.items(), key=lambda kv: kv[1]):
        c = by_n[n]
        status, quote = kept[n]
        citations.append(Citation(
            n=k, source_n=n, clause_id=c.clause_id, doc_id=c.doc_id, title=c.title,
            place=c.place, path=c.path, heading=c.heading, quote=quote,
            clause_text=c.text, quote_status=status,
        ))
    return CheckedAnswer(
        text=out,
        citations=citations,
        not_found=not_found,
        dropped_markers=dropped_markers,
        dropped_citations=dropped_citations,
        repaired_quotes=repaired,
        dropped_quotes=dropped_q,
        reattributed_quotes=reattributed,
        uncited=_uncited_statements(out),
    )


def _apply_edits(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    # edits never overlap: quotes lie strictly between marker groups
    out = text
    for start, end, rep in sorted(edits, key=lambda e: e[0], reverse=True):
        out = out[:start] + rep + out[end:]
    return out


def _uncited_statements(text: str) -> list[str]:
    """Sentences with some substance (>= MIN_CJK_TO_JUDGE CJK chars) and no marker,
    ignoring text inside quotes (a quoted 。 does not end the statement)."""
    masked = _QUOTE_RE.sub(lambda m: "Q" * len(m.group(0)), text)
    out = []
    for s, st in _sentence_spans(masked):
        # a marker right after the sentence end (“…。[1]”) belongs to it
        tail = masked[st + len(s):st + len(s) + 8]
        if _MARKER_RE.search(s) or _MARKER_RE.match(tail.lstrip()):
            continue
        original = text[st:st + len(s)]
        if len(_CJK_RE.findall(original)) >= MIN_CJK_TO_JUDGE:
            out.append(original)
    return out


# ---------------------------------------------------------------------------
# numbering the clauses an answerer is given


def number_clauses(
    hits: Sequence[Any],
    clauses_by_id: Mapping[str, Any],
    max_clauses: int | None = None,
) -> list[NumberedClause]:
    """Number retrieved hits 1..k (one entry per clause, best first).

    A hit whose clause is missing from ``clauses_by_id`` is numbered from the hit
    itself (its text is then the retrieved piece and title/place are unknown)."""
    out: list[NumberedClause] = []
    seen: set[str] = set()
    for h in hits:
        if h.clause_id in seen:
            continue
        seen.add(h.clause_id)
        n = len(out) + 1
        c = clauses_by_id.get(h.clause_id)
        if c is not None:
            out.append(NumberedClause.from_clause(n, c))
        else:
            out.append(NumberedClause(n, h.clause_id, h.doc_id, "", "", h.path, "", h.text))
        if max_clauses and len(out) >= max_clauses:
            break
    return out
