"""Scoring against the gold set: retrieval and answers, with reports.

Scoring rules (eval/gold README, made precise here):

* **Normalisation** is ``textnorm.for_compare``: NFKC, traditional→simplified,
  pinyin notes removed, whitespace and punctuation removed, lower-cased.
* **A passage matches an evidence string** when, both normalised,
  ``rapidfuzz.fuzz.partial_ratio(evidence, passage) >= 90`` *and* the passage is
  at least half as long as the evidence (``MIN_PASSAGE_SHARE``). Without the
  length rule a heading or a few words that happen to occur inside the evidence
  would count as retrieving it. A passage longer than the evidence is fine: the
  evidence is aligned inside it.
* **hit@k**: some top-k passage matches some evidence string; **MRR**: 1/rank of the
  first matching passage (0 if none in the top 10); **evidence recall@10**: share
  of a question's evidence strings matched in the top 10 (reported for questions
  with several evidence strings). Retrieval metrics are over *answerable*
  questions (every type except ``unanswerable``); unanswerable questions carry the
  evidence of what the plans do say and are shown as their own row.
* **Fact recall**: share of a question's facts found (normalised substring) in
  the normalised answer text, citation markers ``[n]`` removed; citation quotes are
  not part of the answer text.
* **Citation support**: at least one citation's ``quote`` or ``clause_text``
  matches an evidence string (rule above).
* **Faithfulness**: every citation quote, normalised, is a substring of the
  normalised cleaned text of its plan (``ingest.read_documents``: the index in use; the clauses'
  text when that file is missing). Exact after normalisation: a quote we show
  must be in the source.
* **Abstention**: on ``unanswerable`` questions ``not_found`` must be true; on the
  others a true ``not_found`` is a false abstention.
* **Answer length**: characters of the answer text (``chars``; median and 90th
  percentile per group), so recall is not bought by pasting whole clauses.

Answer metrics are a registry (``ANSWER_METRICS``, ``register_metric``): a suite names
the extra ones that apply to it (``suites.Suite.metrics``). Running suites, in sample
and out of fold, is ``eval_run``; reports are ``eval_report``.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rapidfuzz import fuzz

from .settings import Settings
from .textnorm import for_compare

MATCH_THRESHOLD = 90.0
MIN_PASSAGE_SHARE = 0.5
RETRIEVAL_K = 10
MODES = ("bm25", "dense", "hybrid", "hybrid+qu")
RETRIEVAL_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "evidence_recall@10")
CITATION_MARK_RE = re.compile(r"\[\d+(?:\s*[,，]\s*\d+)*\]")


# ---------------------------------------------------------------------------
# matching
# ---------------------------------------------------------------------------
def passage_matches(evidence: str, passage: str, *, normalised: bool = False) -> bool:
    """True when ``passage`` contains (fuzzily) the evidence and is not a tiny fragment of it."""
    e = evidence if normalised else for_compare(evidence)
    p = passage if normalised else for_compare(passage)
    if not e or not p:
        return False
    if len(p) < MIN_PASSAGE_SHARE * len(e):
        return False
    return fuzz.partial_ratio(e, p) >= MATCH_THRESHOLD


def first_match_rank(evidence: Sequence[str], passages: Sequence[str]) -> int | None:
    """1-based rank of the first passage matching any evidence string, or None."""
    ev = [for_compare(e) for e in evidence]
    for rank, p in enumerate(passages, start=1):
        pn = for_compare(p)
        if any(passage_matches(e, pn, normalised=True) for e in ev):
            return rank
    return None


def evidence_recall(evidence: Sequence[str], passages: Sequence[str]) -> float:
    ev = [for_compare(e) for e in evidence if e]
    if not ev:
        return 0.0
    ps = [for_compare(p) for p in passages]
    return sum(any(passage_matches(e, p, normalised=True) for p in ps) for e in ev) / len(ev)


def fact_recall(facts: Sequence[str], answer: str) -> float:
    if not facts:
        return 1.0
    a = for_compare(CITATION_MARK_RE.sub(" ", answer or ""))
    return sum(1 for f in facts if for_compare(f) and for_compare(f) in a) / len(facts)


def citation_supported(evidence: Sequence[str], citations: Sequence[dict[str, Any]]) -> bool:
    for c in citations:
        for text in (c.get("quote") or "", c.get("clause_text") or ""):
            if text and any(passage_matches(e, text) for e in evidence):
                return True
    return False


def quotes_faithful(citations: Sequence[dict[str, Any]], corpus_norm: dict[str, str]) -> bool:
    """Every quote is in the (normalised) cleaned text of its plan, or of any plan
    when the citation names none we know."""
    for c in citations:
        q = for_compare(c.get("quote") or "")
        if not q:
            continue
        doc = corpus_norm.get(c.get("doc_id") or "")
        texts = [doc] if doc is not None else list(corpus_norm.values())
        if not any(q in t for t in texts):
            return False
    return True


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    v = sorted(values)
    idx = max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))
    return v[idx]


# ---------------------------------------------------------------------------
# gold
# ---------------------------------------------------------------------------
def default_gold_path(settings: Settings) -> Path:
    return Path(settings.eval_dir) / "gold" / "dev.jsonl"


def load_gold(path: str | os.PathLike, split: str = "") -> list[dict[str, Any]]:
    """The questions of a gold file; each carries ``_split`` (``split`` or the file's
    stem) and ``_uid`` (``split:id``, unique across files)."""
    p = Path(path)
    if not p.is_file():
        from .errors import AssistantError

        raise AssistantError(f"gold file {p} not found; pass --gold <file.jsonl>")
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            from .errors import AssistantError

            raise AssistantError(f"{p}:{n}: not valid JSON ({e})") from e
        for key in ("id", "question", "type"):
            if key not in q:
                from .errors import AssistantError

                raise AssistantError(f"{p}:{n}: gold question lacks '{key}'")
        q.setdefault("history", [])
        q.setdefault("evidence", [])
        q.setdefault("facts", [])
        q["_split"] = split or p.stem
        q["_uid"] = f"{q['_split']}:{q['id']}"
        out.append(q)
    return out


def is_answerable(q: dict[str, Any]) -> bool:
    return q.get("type") != "unanswerable"


# ---------------------------------------------------------------------------
# retrieval evaluation
# ---------------------------------------------------------------------------
@dataclass
class RetrievalRow:
    id: str
    type: str
    rank: int | None
    recall10: float
    n_evidence: int
    ms: float
    top: list[str] = field(default_factory=list)  # "doc path" of the first hits, for the report
    split: str = ""  # the gold file's split name


def retrieval_row(q: dict[str, Any], hits: Sequence[Any], ms: float = 0.0) -> RetrievalRow:
    passages = [h.text for h in hits[:RETRIEVAL_K]]
    return RetrievalRow(
        id=q["id"], type=q["type"], rank=first_match_rank(q["evidence"], passages),
        recall10=evidence_recall(q["evidence"], passages), n_evidence=len(q["evidence"]), ms=ms,
        top=[f"{h.doc_id} {h.path}" for h in hits[:3]], split=q.get("_split", ""))


def summarise_retrieval(rows: Sequence[RetrievalRow]) -> dict[str, dict[str, float]]:
    """Metrics per question type and ``overall`` (answerable questions only)."""
    groups: dict[str, list[RetrievalRow]] = defaultdict(list)
    for r in rows:
        groups[r.type].append(r)
        if r.type != "unanswerable":
            groups["overall"].append(r)
    out = {}
    for name, rs in groups.items():
        multi = [r for r in rs if r.n_evidence > 1]
        out[name] = {
            "n": len(rs),
            "hit@1": _mean(r.rank is not None and r.rank <= 1 for r in rs),
            "hit@5": _mean(r.rank is not None and r.rank <= 5 for r in rs),
            "hit@10": _mean(r.rank is not None and r.rank <= 10 for r in rs),
            "mrr": _mean((1.0 / r.rank) if r.rank else 0.0 for r in rs),
            "evidence_recall@10": _mean(r.recall10 for r in multi) if multi else float("nan"),
        }
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "overall", kv[0])))


def _mean(values: Iterable[float | bool]) -> float:
    v = [float(x) for x in values]
    return sum(v) / len(v) if v else float("nan")


# ---------------------------------------------------------------------------
# answer evaluation
# ---------------------------------------------------------------------------
def load_corpus_norm(settings: Settings, store: Any = None) -> dict[str, str]:
    """Normalised cleaned text per plan, for the faithfulness check (the documents of
    the index in use: ``ingest.read_documents``)."""
    from .ingest import read_documents

    out: dict[str, str] = {}
    try:
        docs = read_documents(settings.index_dir)
    except OSError:
        docs = []
    for d in docs:
        # {"meta": PlanMeta, "text": ...}; flat {"doc_id"/"id", "text"} is accepted too
        doc_id = d.get("doc_id") or d.get("id") or (d.get("meta") or {}).get("id")
        out[doc_id] = for_compare(d.get("text", ""))
    if not out and store is not None:
        parts: dict[str, list[str]] = defaultdict(list)
        for c in sorted(store.clauses.values(), key=lambda c: (c.doc_id, c.ordinal)):
            parts[c.doc_id].append(c.text)
        out = {doc: for_compare("".join(ts)) for doc, ts in parts.items()}
    return out


@dataclass(frozen=True)
class AnswerMetric:
    """A per-question answer metric: ``score(question, reply, context)`` gives a number
    or a bool, or None when the metric does not apply to the question; a group's figure
    is the mean over the questions it applies to. ``context`` holds ``corpus_norm``
    (each document's normalised text). ``lower_is_better`` makes a floor a ceiling."""

    name: str
    score: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], float | bool | None]
    lower_is_better: bool = False


def _fact_recall(q, reply, ctx):
    return fact_recall(q["facts"], reply.get("answer", "")) if is_answerable(q) and q["facts"] else None


def _citation_support(q, reply, ctx):
    return citation_supported(q["evidence"], reply.get("citations") or []) if is_answerable(q) and q["evidence"] else None


def _faithfulness(q, reply, ctx):
    return quotes_faithful(reply.get("citations") or [], ctx["corpus_norm"])


def _abstention(q, reply, ctx):
    return None if is_answerable(q) else bool(reply.get("not_found"))


def _false_abstention(q, reply, ctx):
    return bool(reply.get("not_found")) if is_answerable(q) else None


def _citation_path(q, reply, ctx):
    """Citation path right (laws suite): of the answer's citations that quote the
    evidence, every one's path names an article the gold ``section`` gives for it
    (第二章 第二节 第十八条（一） names 第十八条). None where it cannot be told: an
    unanswerable or abstained question, a gold section naming no article, or no
    citation quoting the evidence (citation support already counts that)."""
    from .query import parse_clause_refs, path_steps

    if not is_answerable(q) or reply.get("not_found"):
        return None
    gold = {n for r in parse_clause_refs(q.get("section") or "") for s, n in r.steps if s == "article"}
    if not gold:
        return None
    quoting = [c for c in reply.get("citations") or []
               if any(passage_matches(e, c.get("quote") or "") or passage_matches(e, c.get("clause_text") or "")
                      for e in q.get("evidence") or [])]
    if not quoting:
        return None
    return all(any(s == "article" and n in gold for s, n in path_steps(c.get("path") or "")) for c in quoting)


# Every answer metric by name. The standard ones apply to every suite; a suite lists
# its extra ones (``suites.Suite.metrics``). Register a new one with ``register_metric``.
ANSWER_METRICS: dict[str, AnswerMetric] = {}
STANDARD_METRICS = ("fact_recall", "citation_support", "faithfulness", "abstention", "false_abstention")


def register_metric(metric: AnswerMetric) -> AnswerMetric:
    ANSWER_METRICS[metric.name] = metric
    return metric


for _m in (AnswerMetric("fact_recall", _fact_recall), AnswerMetric("citation_support", _citation_support),
           AnswerMetric("faithfulness", _faithfulness), AnswerMetric("abstention", _abstention),
           AnswerMetric("false_abstention", _false_abstention, lower_is_better=True),
           AnswerMetric("citation_path", _citation_path)):
    register_metric(_m)


def score_answer(q: dict[str, Any], reply: dict[str, Any], corpus_norm: dict[str, str],
                 metrics: Sequence[str] = STANDARD_METRICS) -> dict[str, Any]:
    """One question's answer row: its id, split, type, ``not_found``, answer length in
    characters (``chars``) and each metric's value (None where it does not apply)."""
    ctx = {"corpus_norm": corpus_norm}
    row: dict[str, Any] = {"id": q["id"], "split": q.get("_split", ""), "type": q["type"],
                           "not_found": bool(reply.get("not_found")), "chars": len(reply.get("answer") or "")}
    for name in metrics:
        value = ANSWER_METRICS[name].score(q, reply, ctx)
        row[name] = None if value is None else float(value) if not isinstance(value, bool) else value
    return row


# What an answer is worth to a user, for choosing tuned constants (tuning.choose):
# an unanswerable question is worth 1 when the answer says the documents do not
# specify it; an answerable one the mean of its fact recall and citation support,
# and nothing when the answer wrongly says "not specified". Characters beyond
# LENGTH_BUDGET cost LENGTH_COST per budget's worth, so recall is not bought by
# pasting whole clauses.
LENGTH_BUDGET = 260
LENGTH_COST = 0.1


def answer_utility(row: dict[str, Any]) -> float:
    if row["type"] == "unanswerable":
        value = 1.0 if row["not_found"] else 0.0
    elif row["not_found"]:
        value = 0.0
    else:
        parts = [float(row[k]) for k in ("fact_recall", "citation_support") if row.get(k) is not None]
        value = sum(parts) / len(parts) if parts else 1.0
    return value - LENGTH_COST * max(0, row["chars"] - LENGTH_BUDGET) / LENGTH_BUDGET


def summarise_answers(rows: Sequence[dict[str, Any]], metrics: Sequence[str] = STANDARD_METRICS,
                      ) -> dict[str, dict[str, float]]:
    """Per question type and ``overall``: n, each metric's mean, answer length (median, p90)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["type"]].append(r)
        groups["overall"].append(r)
    out = {}
    for name, rs in groups.items():
        m: dict[str, float] = {"n": len(rs)}
        for key in metrics:
            vals = [r[key] for r in rs if r.get(key) is not None]
            m[key] = _mean(vals) if vals else float("nan")
        chars = [r["chars"] for r in rs]
        m["chars_p50"] = percentile(chars, 50)
        m["chars_p90"] = percentile(chars, 90)
        out[name] = m
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "overall", kv[0])))


# ---------------------------------------------------------------------------
# floors
# ---------------------------------------------------------------------------
def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested figures as dotted keys: ``{"plans": {"all": {"answers": {"oof": {"overall":
    {"fact_recall": 0.9}}}}}}`` → ``{"plans.all.answers.oof.overall.fact_recall": 0.9}``.
    Lists and non-numbers are left out."""
    flat: dict[str, float] = {}
    for k, v in tree.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            flat.update(flatten(v, key))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            flat[key] = float(v)
    return flat


def is_ceiling(key: str) -> bool:
    """A bound on this metric is a ceiling (lower is better)."""
    name = key.rsplit(".", 1)[-1]
    metric = ANSWER_METRICS.get(name)
    return (metric is not None and metric.lower_is_better) or ".latency_ms." in key or name.startswith("chars_")


def check_floors(figures: dict[str, Any], floors: dict[str, float]) -> list[str]:
    """Metrics below their floor (ceilings: above), or not measured. ``figures`` is the
    nested tree ``flatten`` reads; keys of ``floors`` starting with ``_`` are comments."""
    flat = flatten(figures)
    failures = []
    for key, bound in floors.items():
        if key.startswith("_"):
            continue
        if key not in flat:
            failures.append(f"{key}: not measured")
            continue
        v = flat[key]
        ceiling = is_ceiling(key)
        if v != v or (v > bound if ceiling else v < bound):
            failures.append(f"{key} = {v:.3f} ({'above ceiling' if ceiling else 'below floor'} {bound})")
    return failures


def ensure_index(settings: Settings, progress: bool = True) -> None:
    """Build the index when there is none or it is stale (eval must measure the current corpus)."""
    from .errors import IndexMismatchError, IndexMissingError
    from .index import IndexBuilder, IndexStore

    try:
        IndexStore.load(settings)
    except (IndexMissingError, IndexMismatchError) as e:
        print(f"{e}\nbuilding the index in {settings.index_dir} first", file=sys.stderr)
        IndexBuilder(settings).build(progress=progress)
