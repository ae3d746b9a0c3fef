"""A suite's gold questions answered on a given index, question by question.

    .venv/bin/python tools/gold_on_index.py [--config CFG] [--suite plans] [--json OUT] [--compare OLD.json]

For measuring the five plans' gold on a bigger index (the plans beside thousands of laws,
built elsewhere): the configured ``corpus_dir`` / ``index_dir`` are used as they are (a
suite with a corpus of its own, ``laws``, its folders under them as ``eval`` has them), and
a missing or stale index is refused rather than rebuilt (``eval`` would rebuild it in
place). Each question is asked through the ask pipeline and searched (``hybrid+qu``, as
``eval``'s retrieval rows), scored with ``assistant.evaluation``; prints hit@1 / hit@5 /
fact recall / citation support per gold file, and with ``--json`` writes every question's
answer, citations and scores. ``--compare`` lists the questions whose answer (text or
citations) or scores differ from an earlier ``--json`` file, and how many do.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.errors import IndexMismatchError, IndexMissingError  # noqa: E402
from assistant.evaluation import (RETRIEVAL_K, STANDARD_METRICS, load_corpus_norm, load_gold,  # noqa: E402
                                  retrieval_row, score_answer, summarise_answers, summarise_retrieval)
from assistant.settings import Settings  # noqa: E402
from assistant.suites import get_suite  # noqa: E402

SCORES = ("rank", "fact_recall", "citation_support", "not_found")


def answer_rows(settings: Settings, questions: list[dict], metrics: tuple[str, ...] = STANDARD_METRICS) -> list[dict]:
    """Each question's answer, citations, retrieval rank and answer scores."""
    from assistant.ask import AskPipeline

    pipeline = AskPipeline(settings).warm_up()
    corpus_norm = load_corpus_norm(settings, pipeline.retriever.store)
    rows = []
    for q in tqdm(questions, desc="ask", leave=False):
        reply = pipeline.ask(q["question"], history=q.get("history") or None, qid=q["id"])
        row = score_answer(q, reply, corpus_norm, metrics)
        hits = pipeline.retriever.search(q["question"], k=RETRIEVAL_K, mode="hybrid+qu",
                                         history=q.get("history") or None)
        r = retrieval_row(q, hits)
        row.update(question=q["question"], answer=reply.get("answer") or "",
                   citations=[f"{c['doc_id']} {c.get('path', '')}" for c in reply.get("citations") or []],
                   rank=r.rank, retrieval=r.__dict__ if q["evidence"] and row["type"] != "unanswerable" else None)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per gold file: hit@1, hit@5 (answerable questions with evidence), fact recall and
    citation support (answerable questions), as ``eval`` computes them."""
    from assistant.evaluation import RetrievalRow

    out = {}
    for split in dict.fromkeys(r["split"] for r in rows):
        mine = [r for r in rows if r["split"] == split]
        ret = summarise_retrieval([RetrievalRow(**r["retrieval"]) for r in mine if r["retrieval"]])["overall"]
        ans = summarise_answers(mine, [m for m in ("citation_path", *STANDARD_METRICS) if m in mine[0]])["overall"]
        out[split] = {"n": len(mine), "hit@1": ret["hit@1"], "hit@5": ret["hit@5"],
                      "fact_recall": ans["fact_recall"], "citation_support": ans["citation_support"],
                      "abstention": ans["abstention"], "false_abstention": ans["false_abstention"],
                      **({"citation_path": ans["citation_path"]} if "citation_path" in ans else {})}
    return out


def changed(old: list[dict], new: list[dict]) -> list[tuple[dict, dict]]:
    """(old, new) rows of the questions whose answer, citations or scores differ."""
    before = {r["id"]: r for r in old}
    keys = ("answer", "citations", *SCORES)
    return [(before[r["id"]], r) for r in new if r["id"] in before
            and any(before[r["id"]].get(k) != r.get(k) for k in keys)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="assistant.toml of that index (default: the usual lookup)")
    ap.add_argument("--suite", default="plans", help="suite whose gold files are asked (default plans)")
    ap.add_argument("--json", help="write every question's answer and scores here")
    ap.add_argument("--compare", help="an earlier --json file: list the questions that changed")
    args = ap.parse_args(argv)
    suite = get_suite(args.suite)
    settings = suite.settings(Settings.load(args.config))  # a suite of its own corpus: its own index folder
    from assistant.index import IndexStore

    try:
        IndexStore.load(settings)
    except (IndexMissingError, IndexMismatchError) as e:
        print(f"refused: the index is missing or stale ({e}); build it first", file=sys.stderr)
        return 2
    questions = [q for p in suite.gold_paths(settings) for q in load_gold(p)]
    rows = answer_rows(settings, questions, tuple(dict.fromkeys([*STANDARD_METRICS, *suite.metrics])))
    print(f"corpus {settings.corpus_dir} · index {settings.index_dir}")
    for split, m in summary(rows).items():
        print(f"{split:10s} n={m['n']:3d}  hit@1 {m['hit@1']:.3f}  hit@5 {m['hit@5']:.3f}  "
              f"fact recall {m['fact_recall']:.3f}  citation support {m['citation_support']:.3f}  "
              f"abstention {m['abstention']:.3f}  false abstention {m['false_abstention']:.3f}"
              + (f"  citation path {m['citation_path']:.3f}" if "citation_path" in m else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary(rows), "rows": rows}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    if args.compare:
        diff = changed(json.loads(Path(args.compare).read_text(encoding="utf-8"))["rows"], rows)
        for a, b in diff:
            print(f"{b['id']}: fact recall {a['fact_recall']} -> {b['fact_recall']}, rank {a['rank']} -> {b['rank']}; "
                  f"{a['citations'][:3]} -> {b['citations'][:3]}")
        print(f"{len(diff)} of {len(rows)} answers changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
