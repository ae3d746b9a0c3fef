"""Latency and memory benchmark: ``python -m assistant.bench [--reps 3] [--gold FILE] [--no-ask]``.

``python -m assistant.bench --load [...]`` is the web app's load and soak benchmark
(``assistant/loadbench.py``).
``python -m assistant.bench --scale --laws PATH/laws-all.tar.xz [--sizes 500,1000,3504]``
runs the scale benchmark instead (``assistant/scalebench.py``).
``python -m assistant.bench --start [--reps 3] [--baseline NAME=VALUE]`` times the web app's
start-up (port, API, UI served, UI usable in Chromium) against a baseline start
(``assistant/startbench.py``).

Loads the index once, warms up, then times every retrieval mode over the gold
questions × ``reps`` (the query embedding is inside the timing: the store's cache of
recent query vectors is emptied before each timed call). ``bm25`` is the
naive baseline measured in the same run (one retriever, no embedding); ``hybrid``
is plain fusion without query understanding. Prints numbers only; asserts nothing.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from .evaluation import default_gold_path, ensure_index, load_gold, percentile
from .retrieval import MODES, HybridRetriever
from .settings import Settings


def rss_mb() -> float:
    """Current resident set size (MB), from /proc where there is one."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_calls(fn, items, reps: int, before=None) -> list[float]:
    """Milliseconds per call; ``before`` runs untimed ahead of each call."""
    out = []
    for _ in range(reps):
        for item in items:
            if before is not None:
                before()
            t0 = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--load" in argv:  # the load and soak benchmark of the web app has its own flags
        from .loadbench import main as load_main

        return load_main([a for a in argv if a != "--load"])
    if "--start" in argv:  # the web app's start-up: port, API and UI, against building the UI first
        from .startbench import main as start_main

        return start_main(argv)
    if "--scale" in argv:  # the scale benchmark (corpora of N laws) has its own flags too
        from .scalebench import main as scale_main

        return scale_main(argv)
    p = argparse.ArgumentParser(prog="python -m assistant.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="repetitions over the question set (default 3)")
    p.add_argument("--gold", help="questions JSONL (default eval/gold/dev.jsonl)")
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--no-ask", action="store_true", help="skip the ask pipeline")
    args = p.parse_args(argv)
    if args.reps < 1:
        p.error("--reps must be at least 1")

    settings = Settings.load(args.config)
    ensure_index(settings)
    gold = load_gold(args.gold or default_gold_path(settings))
    rss0 = rss_mb()
    t0 = time.perf_counter()
    retriever = HybridRetriever(settings).warm_up()
    load_s = time.perf_counter() - t0
    print(f"questions: {len(gold)} × {args.reps} reps · chunks: {len(retriever.store.chunks)} · "
          f"clauses: {len(retriever.store.clauses)}")
    print(f"index load + warm-up: {load_s:.2f} s · RSS {rss0:.0f} MB → {rss_mb():.0f} MB")
    print()
    print(f"{'mode':<12} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}  note")
    notes = {"bm25": "naive baseline (BM25 only)", "dense": "vectors only (query embedding included)",
             "hybrid": "fusion, no query understanding", "hybrid+qu": "the product's retrieval"}
    # the store remembers recent query vectors; every timed query embeds afresh
    cold = retriever.store._query_cache.clear
    for mode in MODES:
        ms = time_calls(lambda q: retriever.search(q["question"], k=10, mode=mode, history=q.get("history") or None),
                        gold, args.reps, before=cold)
        print(f"{mode:<12} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} {sum(ms) / len(ms):>8.1f}  {notes[mode]}")
    emb = retriever.store.embedder
    ms = time_calls(lambda q: emb.embed([q["question"]]), gold, args.reps)
    print(f"{'(embed only)':<12} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} {sum(ms) / len(ms):>8.1f}  "
          "query embedding alone")

    if not args.no_ask:
        try:
            from .ask import AskPipeline
        except ImportError as e:
            print(f"\nask: skipped (assistant.ask not importable: {e})")
        else:
            pipeline = AskPipeline(settings)
            pipeline.warm_up()
            ms = time_calls(lambda q: pipeline.ask(q["question"], history=q.get("history") or None), gold, 1,
                            before=pipeline.retriever.store._query_cache.clear)
            print(f"{'ask':<12} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} {sum(ms) / len(ms):>8.1f}  "
                  f"answerer={settings.answerer}, 1 rep")
    print(f"\nRSS now {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
