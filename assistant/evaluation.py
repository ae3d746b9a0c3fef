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
  normalised cleaned text of its plan (``index/documents.jsonl``; the clauses'
  text when that file is missing). Exact after normalisation: a quote we show
  must be in the source.
* **Abstention**: on ``unanswerable`` questions ``not_found`` must be true; on the
  others a true ``not_found`` is a false abstention.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rapidfuzz import fuzz

from .settings import PROJECT_ROOT, Settings
from .textnorm import for_compare

MATCH_THRESHOLD = 90.0
MIN_PASSAGE_SHARE = 0.5
RETRIEVAL_K = 10
MODES = ("bm25", "dense", "hybrid", "hybrid+qu")
RETRIEVAL_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "evidence_recall@10")
ANSWER_METRICS = ("fact_recall", "citation_support", "faithfulness", "abstention", "false_abstention")
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


def load_gold(path: str | os.PathLike) -> list[dict[str, Any]]:
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


def score_retrieval(gold: Sequence[dict[str, Any]], search: Callable[[dict[str, Any]], list[Any]]) -> list[RetrievalRow]:
    """Run ``search(question) -> hits`` over the gold questions that have evidence."""
    rows = []
    for q in gold:
        if not q["evidence"]:
            continue
        t0 = time.perf_counter()
        hits = search(q)
        ms = (time.perf_counter() - t0) * 1000
        passages = [h.text for h in hits[:RETRIEVAL_K]]
        rows.append(RetrievalRow(
            id=q["id"], type=q["type"], rank=first_match_rank(q["evidence"], passages),
            recall10=evidence_recall(q["evidence"], passages), n_evidence=len(q["evidence"]), ms=ms,
            top=[f"{h.doc_id} {h.path}" for h in hits[:3]]))
    return rows


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


def retrieval_search_fn(retriever: Any, mode: str) -> Callable[[dict[str, Any]], list[Any]]:
    return lambda q: retriever.search(q["question"], k=RETRIEVAL_K, mode=mode, history=q.get("history") or None)


def evaluate_retrieval(retriever: Any, gold: Sequence[dict[str, Any]], modes: Sequence[str] = MODES,
                       show_progress: bool = True) -> dict[str, Any]:
    from tqdm.auto import tqdm

    results: dict[str, Any] = {}
    for mode in tqdm(modes, desc="retrieval modes", disable=not show_progress, leave=False):
        rows = score_retrieval(gold, retrieval_search_fn(retriever, mode))
        ms = [r.ms for r in rows]
        results[mode] = {
            "metrics": summarise_retrieval(rows),
            "latency_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95)},
            "rows": [r.__dict__ for r in rows],
        }
    return results


# ---------------------------------------------------------------------------
# fusion sweep
# ---------------------------------------------------------------------------
class _MemoStore:
    """Wraps an IndexStore, remembering retriever results per query text so a sweep
    over fusion settings embeds and scores each question once."""

    def __init__(self, store: Any):
        self._store = store
        self._memo: dict[tuple[str, str, int], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def bm25_search(self, text: str, k: int):
        key = ("bm25", text, k)
        if key not in self._memo:
            self._memo[key] = self._store.bm25_search(text, k)
        return self._memo[key]

    def dense_search(self, text: str, k: int):
        key = ("dense", text, k)
        if key not in self._memo:
            self._memo[key] = self._store.dense_search(text, k)
        return self._memo[key]


SWEEP_GRID: list[dict[str, Any]] = (
    [{"fusion": "rrf", "rrf_k": rk, "weight_bm25": wb, "weight_dense": 1.0}
     for rk in (10, 60) for wb in (0.5, 1.0, 1.5, 2.0, 3.0)]
    + [{"fusion": "convex", "weight_bm25": wb, "weight_dense": round(1 - wb, 2)}
       for wb in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)]
    + [{"weight_bm25_en": we} for we in (0.0, 0.3, 0.6, 1.0)]
    + [{"phrase_bonus": pb} for pb in (0.0, 0.25, 1.0)]
    + [{"target_bonus": tb} for tb in (0.0, 0.3, 1.0)]
    + [{"background_penalty": bp} for bp in (0.0, 0.5, 0.7)]
    + [{"cross_min_share": cs} for cs in (0.4, 0.6, 0.8)]
    + [{"strip_doc_refs": False}]
    + [{"restrict_places": False, "place_boost": pb} for pb in (1.0, 1.5, 3.0)]
)


def sweep_fusion(retriever: Any, gold: Sequence[dict[str, Any]], grid: Sequence[dict[str, Any]] = SWEEP_GRID,
                 mode: str = "hybrid+qu", show_progress: bool = True) -> list[dict[str, Any]]:
    """hybrid+qu metrics (answerable questions) for each fusion setting in ``grid``.

    Each grid entry overrides fields of the retriever's ``RetrievalConfig``; the
    retriever's own config is restored afterwards."""
    from dataclasses import replace

    from tqdm.auto import tqdm

    base_cfg = retriever.config
    real_store = retriever.store
    retriever.store = _MemoStore(real_store)
    out = []
    try:
        for params in tqdm(grid, desc="fusion sweep", disable=not show_progress, leave=False):
            retriever.config = replace(base_cfg, **params)
            m = summarise_retrieval(score_retrieval(gold, retrieval_search_fn(retriever, mode)))
            en = m.get("english", {})
            out.append({"params": params, **{k: m["overall"][k] for k in ("hit@1", "hit@5", "mrr")},
                        "english_hit@5": en.get("hit@5", float("nan"))})
    finally:
        retriever.config = base_cfg
        retriever.store = real_store
    return out


# ---------------------------------------------------------------------------
# answer evaluation
# ---------------------------------------------------------------------------
def load_corpus_norm(settings: Settings, store: Any = None) -> dict[str, str]:
    """Normalised cleaned text per plan, for the faithfulness check."""
    docs_file = Path(settings.index_dir) / "documents.jsonl"
    out: dict[str, str] = {}
    if docs_file.is_file():
        for line in docs_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                # ingest writes {"meta": PlanMeta, "text": ...}; flat {"doc_id"/"id", "text"} is accepted too
                doc_id = d.get("doc_id") or d.get("id") or (d.get("meta") or {}).get("id")
                out[doc_id] = for_compare(d.get("text", ""))
    if not out and store is not None:
        parts: dict[str, list[str]] = defaultdict(list)
        for c in sorted(store.clauses.values(), key=lambda c: (c.doc_id, c.ordinal)):
            parts[c.doc_id].append(c.text)
        out = {doc: for_compare("".join(ts)) for doc, ts in parts.items()}
    return out


def score_answer(q: dict[str, Any], reply: dict[str, Any], corpus_norm: dict[str, str]) -> dict[str, Any]:
    citations = reply.get("citations") or []
    not_found = bool(reply.get("not_found"))
    row: dict[str, Any] = {"id": q["id"], "type": q["type"], "not_found": not_found,
                           "faithfulness": quotes_faithful(citations, corpus_norm)}
    if is_answerable(q):
        row["fact_recall"] = fact_recall(q["facts"], reply.get("answer", "")) if q["facts"] else None
        row["citation_support"] = citation_supported(q["evidence"], citations) if q["evidence"] else None
        row["false_abstention"] = not_found
    else:
        row["abstention"] = not_found
    return row


def summarise_answers(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["type"]].append(r)
        groups["overall"].append(r)
    out = {}
    for name, rs in groups.items():
        m: dict[str, float] = {"n": len(rs)}
        for key in ANSWER_METRICS:
            vals = [r[key] for r in rs if r.get(key) is not None]
            m[key] = _mean(vals) if vals else float("nan")
        out[name] = m
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "overall", kv[0])))


def evaluate_answers(pipeline: Any, gold: Sequence[dict[str, Any]], corpus_norm: dict[str, str],
                     show_progress: bool = True) -> dict[str, Any]:
    from tqdm.auto import tqdm

    rows, ms = [], []
    for q in tqdm(gold, desc="ask", disable=not show_progress, leave=False):
        t0 = time.perf_counter()
        reply = pipeline.ask(q["question"], history=q.get("history") or None)
        ms.append((time.perf_counter() - t0) * 1000)
        row = score_answer(q, reply, corpus_norm)
        row["ms"] = ms[-1]
        rows.append(row)
    return {"metrics": summarise_answers(rows), "latency_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95)},
            "rows": rows}


# ---------------------------------------------------------------------------
# floors
# ---------------------------------------------------------------------------
def flat_metrics(report: dict[str, Any]) -> dict[str, float]:
    """``{"retrieval.hybrid+qu.overall.hit@5": 0.97, "answers.overall.fact_recall": …, …}``"""
    flat: dict[str, float] = {}
    for mode, res in (report.get("retrieval") or {}).items():
        for group, metrics in res["metrics"].items():
            for k, v in metrics.items():
                if k != "n":
                    flat[f"retrieval.{mode}.{group}.{k}"] = v
        for k, v in res["latency_ms"].items():
            flat[f"retrieval.{mode}.latency_ms.{k}"] = v
    ans = report.get("answers")
    if ans:
        for group, metrics in ans["metrics"].items():
            for k, v in metrics.items():
                if k != "n":
                    flat[f"answers.{group}.{k}"] = v
        for k, v in ans["latency_ms"].items():
            flat[f"answers.latency_ms.{k}"] = v
    return flat


# metrics where a bound in floors.json is a ceiling
LOWER_IS_BETTER = (".latency_ms.", "false_abstention")


def check_floors(report: dict[str, Any], floors: dict[str, float]) -> list[str]:
    """Metrics below their floor (for ``LOWER_IS_BETTER`` metrics: above their ceiling)."""
    flat = flat_metrics(report)
    failures = []
    for key, bound in floors.items():
        if key.startswith("_"):
            continue  # comments
        if key not in flat:
            if key.startswith("answers.") and not report.get("answers"):
                continue  # answers not evaluated in this run (--retrieval-only)
            failures.append(f"{key}: not measured")
            continue
        v = flat[key]
        is_ceiling = any(part in key for part in LOWER_IS_BETTER)
        if v is None or v != v or (v > bound if is_ceiling else v < bound):
            failures.append(f"{key} = {v:.3f} ({'above ceiling' if is_ceiling else 'below floor'} {bound})")
    return failures


# ---------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------
def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{v:.3f}"
    return str(v)


def retrieval_table(retrieval: dict[str, Any]) -> list[list[str]]:
    """Rows: mode × group, columns: n, metrics, latency."""
    rows = [["mode", "group", "n", *RETRIEVAL_METRICS, "p50 ms", "p95 ms"]]
    for mode, res in retrieval.items():
        for group, m in res["metrics"].items():
            lat = res["latency_ms"] if group == "overall" else {"p50": "", "p95": ""}
            rows.append([mode, group, str(m["n"]), *(_fmt(m[k]) for k in RETRIEVAL_METRICS),
                         _fmt(lat["p50"]), _fmt(lat["p95"])])
    return rows


def comparison_table(retrieval: dict[str, Any]) -> list[list[str]]:
    rows = [["mode", *RETRIEVAL_METRICS, "p50 ms", "p95 ms"]]
    for mode, res in retrieval.items():
        m = res["metrics"]["overall"]
        rows.append([mode, *(_fmt(m[k]) for k in RETRIEVAL_METRICS), _fmt(res["latency_ms"]["p50"]),
                     _fmt(res["latency_ms"]["p95"])])
    return rows


def answers_table(answers: dict[str, Any]) -> list[list[str]]:
    rows = [["group", "n", *ANSWER_METRICS]]
    for group, m in answers["metrics"].items():
        rows.append([group, str(m["n"]), *(_fmt(m[k]) for k in ANSWER_METRICS)])
    return rows


def sweep_table(sweep: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = [["setting", "hit@1", "hit@5", "mrr", "english hit@5"]]
    for s in sweep:
        label = " ".join(f"{k}={v}" for k, v in s["params"].items())
        rows.append([label, _fmt(s["hit@1"]), _fmt(s["hit@5"]), _fmt(s["mrr"]), _fmt(s["english_hit@5"])])
    return rows


def text_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    parts = [f"# Evaluation report\n\ngold: `{report['gold']}` ({report['n_questions']} questions) · "
             f"commit `{report['git_commit'][:12]}` · {report['timestamp']}\n"]
    parts.append("Scoring: see the docstring of `assistant/evaluation.py` "
                 f"(partial_ratio ≥ {MATCH_THRESHOLD:g}, passage ≥ {MIN_PASSAGE_SHARE:g}× evidence length). "
                 "Retrieval metrics are over answerable questions; latency per query after warm-up.\n")
    r = report.get("retrieval")
    if r:
        parts.append("## Retrieval: modes compared (answerable questions)\n\n" + md_table(comparison_table(r)))
        parts.append("## Retrieval by question type\n\n" + md_table(retrieval_table(r)))
        misses = [row for row in r.get("hybrid+qu", {}).get("rows", []) if row["type"] != "unanswerable"
                  and (row["rank"] is None or row["rank"] > 1)]
        if misses:
            lines = [f"- `{m['id']}` ({m['type']}): rank {m['rank'] or '>10'}; top: {'; '.join(m['top'])}" for m in misses]
            parts.append("### hybrid+qu: answerable questions not at rank 1\n\n" + "\n".join(lines))
    if report.get("sweep"):
        parts.append("## Fusion sweep (hybrid+qu, answerable questions)\n\nEach row changes the listed settings "
                     "from the configured ones.\n\n" + md_table(sweep_table(report["sweep"])))
    a = report.get("answers")
    if a:
        parts.append("## Answers\n\n" + md_table(answers_table(a)) +
                     f"\n\nask latency: p50 {_fmt(a['latency_ms']['p50'])} ms, p95 {_fmt(a['latency_ms']['p95'])} ms")
    elif report.get("answers_note"):
        parts.append("## Answers\n\n" + report["answers_note"])
    if report.get("floors"):
        fl = report["floors"]
        parts.append("## Floors\n\n" + ("all metrics at or above their floors" if not fl["failures"]
                                        else "\n".join(f"- {f}" for f in fl["failures"])))
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def write_png(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = report.get("retrieval") or {}
    a = report.get("answers")
    ncols = 2 if a else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
    ax = axes[0][0]
    metrics = ("hit@1", "hit@5", "mrr")
    modes = list(r)
    width = 0.8 / max(1, len(modes))
    for i, mode in enumerate(modes):
        vals = [r[mode]["metrics"]["overall"][m] for m in metrics]
        xs = [j + i * width for j in range(len(metrics))]
        bars = ax.bar(xs, vals, width, label=mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([j + width * (len(modes) - 1) / 2 for j in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.1)
    ax.set_title("Retrieval (answerable dev questions)")
    ax.legend(fontsize=8, loc="lower right")
    if a:
        ax2 = axes[0][1]
        ov = a["metrics"]["overall"]
        names = [m for m in ANSWER_METRICS if ov.get(m) == ov.get(m)]
        bars = ax2.bar(names, [ov[m] for m in names], color="tab:green")
        ax2.bar_label(bars, fmt="%.2f", fontsize=7)
        ax2.set_ylim(0, 1.1)
        ax2.set_title("Answers (all dev questions)")
        ax2.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _json_safe(o: Any) -> Any:
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    return o


# ---------------------------------------------------------------------------
# CLI: python -m assistant eval [--gold] [--retrieval-only] [--check-floors] [--out]
# ---------------------------------------------------------------------------
def ensure_index(settings: Settings) -> None:
    """Build the index when there is none or it is stale (eval must measure the current corpus)."""
    from .errors import IndexMismatchError, IndexMissingError
    from .index import IndexBuilder, IndexStore

    try:
        IndexStore.load(settings)
    except (IndexMissingError, IndexMismatchError) as e:
        print(f"{e}\nbuilding the index first", file=sys.stderr)
        IndexBuilder(settings).build()


def run_eval(settings: Settings, gold_path: str | os.PathLike | None = None, retrieval_only: bool = False,
             with_sweep: bool = True, show_progress: bool = True) -> dict[str, Any]:
    from .retrieval import HybridRetriever

    ensure_index(settings)
    gold_path = Path(gold_path or default_gold_path(settings))
    gold = load_gold(gold_path)
    retriever = HybridRetriever(settings).warm_up()
    report: dict[str, Any] = {
        "gold": str(gold_path), "n_questions": len(gold), "git_commit": _git_commit(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {k: v for k, v, _ in settings.items()},
        "retrieval_config": retriever.config.__dict__,
    }
    report["retrieval"] = evaluate_retrieval(retriever, gold, show_progress=show_progress)
    if with_sweep:
        report["sweep"] = sweep_fusion(retriever, gold, show_progress=show_progress)
    if retrieval_only:
        report["answers_note"] = "answers not evaluated (--retrieval-only)"
        return report
    try:
        from .ask import AskPipeline
    except ImportError as e:
        report["answers_note"] = f"answers not evaluated: assistant.ask is not importable ({e})"
        return report
    pipeline = AskPipeline(settings)
    pipeline.warm_up()
    report["answers"] = evaluate_answers(pipeline, gold, load_corpus_norm(settings, retriever.store),
                                         show_progress=show_progress)
    return report


def run_cli(args, settings: Settings) -> int:
    out_dir = Path(args.out or settings.eval_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = run_eval(settings, args.gold, retrieval_only=args.retrieval_only)
    floors_file = Path(settings.eval_dir) / "floors.json"
    failures: list[str] = []
    if args.check_floors:
        if not floors_file.is_file():
            print(f"error: --check-floors needs {floors_file}", file=sys.stderr)
            return 2
        failures = check_floors(report, json.loads(floors_file.read_text(encoding="utf-8")))
        report["floors"] = {"file": str(floors_file), "failures": failures}

    print(text_table(comparison_table(report["retrieval"])))
    print()
    print(text_table(retrieval_table({"hybrid+qu": report["retrieval"]["hybrid+qu"]})))
    if report.get("answers"):
        print()
        print(text_table(answers_table(report["answers"])))
        lat = report["answers"]["latency_ms"]
        print(f"ask latency p50 {_fmt(lat['p50'])} ms, p95 {_fmt(lat['p95'])} ms")
    elif report.get("answers_note"):
        print("\n" + report["answers_note"])

    (out_dir / "report.json").write_text(json.dumps(_json_safe(report), ensure_ascii=False, indent=1), encoding="utf-8")
    write_markdown(report, out_dir / "report.md")
    write_png(report, out_dir / "report.png")
    print(f"\nwrote {out_dir / 'report.md'}, report.json, report.png")
    if args.check_floors:
        if failures:
            print("floors not met:\n  " + "\n  ".join(failures), file=sys.stderr)
            return 1
        print("all floors met")
    return 0
