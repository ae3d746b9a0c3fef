"""The scale benchmark: ``python -m assistant.bench --scale --laws PATH/laws-all.tar.xz
[--sizes 500,1000,3504] [--workdir DIR] [--out DIR] [--reuse-embeddings]``;
``… --scale --report`` rewrites the table and plot from ``<out>/scale.json``.

For each size N it builds, from scratch, an index of the five plans plus N law
documents sampled from the archive (the same order at every size, so a smaller
sample is part of a larger one), and prints in one run, beside a BM25-only
baseline:

* cold build: wall and CPU seconds per stage, texts embedded per second, peak RSS,
  index size on disk, the load average while it ran;
* rebuilds: nothing changed; one law document changed;
* start-up: ``python -m assistant ask`` (process start to answer printed) and the
  app (process start to port open);
* questions (the five plans' dev and dev-extra gold questions, grouped by what
  query understanding finds: a place named, a clause number, several documents):
  p50/p95 latency of a whole ``ask`` and of retrieval, BM25-only retrieval beside;
  serving RSS once the timed asks are done (anonymous and mapped-file pages apart),
  and again after the benchmark's own exact searches over every row;
* the approximate vector index's recall@10 against exact search on the real
  questions, and how often the candidate pools change a question's top 10 against
  scoring every chunk;
* the five plans' dev gold figures (hit@1, hit@5, fact recall) with the laws as
  distractors, BM25-only beside.

Every build and measurement runs in a child process (``nice`` is the caller's
business: ``nice -n 10 python -m assistant.bench --scale …``). Not a test: it
prints figures and asserts nothing. The results go to ``<out>/scale.json`` (after
each size, so a run stopped part-way keeps what finished), ``scale.md`` and
``scale.png``.

``--reuse-embeddings`` seeds each size's embedding cache with the previous size's
(the samples nest, so only the new laws are embedded): the machine's time then goes
to the larger sizes. Its cold builds are then not cold for embedding: the report
says how many vectors were reused and gives the cold figures as a projection from
the measured CPU cost per embedded text, labelled as such.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from .settings import PROJECT_ROOT

SKIP_NAMES = {"_index.md", "README.md", "法律法规模版.md"}
CHANGE_LINE = "\n\n第九百九十九条 本条为基准测试追加的条文，用于测量只改动一份文件时的重建时间。\n"
STARTUP_QUESTION = "嘉兴对知识产权质押融资定了什么目标？"
PLANS_VECTORS = 1049  # vector rows of the five plans alone (python -m assistant build on corpus/)


# ---------------------------------------------------------------------------
# the corpus of one size
# ---------------------------------------------------------------------------
def law_members(archive: Path, dest: Path) -> list[Path]:
    """The archive's law documents (Markdown, one law per file), extracted once into
    ``dest``, in a fixed order."""
    done = dest / ".extracted"
    if not done.exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and m.name.endswith(".md") and Path(m.name).name not in SKIP_NAMES]
            tar.extractall(dest, members=members, filter="data")
        done.write_text("ok\n")
    files = sorted(p for p in dest.rglob("*.md") if p.name not in SKIP_NAMES)
    random.Random(20261122).shuffle(files)
    return files


def make_corpus(root: Path, laws: list[Path], n: int, suffix: str) -> list[Path]:
    """``root/corpus``: the project's corpus (five plans, their metadata) plus the
    first ``n`` laws, under names that cannot collide."""
    import hashlib

    corpus = root / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    out = []
    for p in laws[:n]:
        name = "law-" + hashlib.sha1(str(p).encode()).hexdigest()[:12] + suffix
        shutil.copyfile(p, corpus / name)
        out.append(corpus / name)
    return out


def law_suffix() -> str:
    """``.md`` once the loaders read Markdown; until then the laws go in as ``.txt``."""
    from .corpus import DOC_SUFFIXES

    return ".md" if ".md" in DOC_SUFFIXES else ".txt"


# ---------------------------------------------------------------------------
# running and measuring a child
# ---------------------------------------------------------------------------
class LoadSampler:
    """The 1-minute load average, sampled every few seconds while a step runs."""

    def __init__(self, every: float = 5.0):
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(sum(s) / len(s), 2), "max": round(max(s), 2)}


def run_child(args: list[str], env: dict[str, str], log: Path, timeout: float = 6 * 3600) -> dict[str, Any]:
    """Run a child to its end: wall seconds, CPU seconds (user + system), its stdout.
    Its stderr (progress bars with ETA, warnings) goes to ``log`` as it comes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with LoadSampler() as load, open(log, "a", encoding="utf-8") as err:
        err.write(f"\n$ {' '.join(args[2:])}\n")
        err.flush()
        proc = subprocess.run(args, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                              timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(args[2:5])} failed ({proc.returncode}): {tail}")
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stdout": proc.stdout, "load": load.summary()}


def cli(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", "--config", str(cfg), *args]


def du_mb(path: Path) -> float:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return round(total / 1e6, 1)


def app_startup(cfg: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from starting ``python -m assistant serve`` to its port accepting,
    and the CPU seconds it used until then."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cli(cfg, "serve", "--host", "127.0.0.1", "--port", str(port)), env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and time.perf_counter() - t0 < 600:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    wall = round(time.perf_counter() - t0, 2)
                    return wall, _cpu_seconds(proc.pid)
            time.sleep(0.1)
        raise RuntimeError("the app did not open its port")
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:
    """Ask a started server to stop; kill it after 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


# ---------------------------------------------------------------------------
# one size
# ---------------------------------------------------------------------------
def bench_size(n: int, laws: list[Path], work: Path, reps: int, seed_cache: Path | None = None) -> dict[str, Any]:
    root = work / f"n{n}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if seed_cache is not None and seed_cache.is_dir():
        shutil.copytree(seed_cache, root / "index" / "embcache")
    law_files = make_corpus(root, laws, n, law_suffix())
    cfg = root / "assistant.toml"
    log = root / "children.log"  # the children's stderr: progress bars with ETA, warnings
    cfg.write_text(f'corpus_dir = "{root / "corpus"}"\nindex_dir = "{root / "index"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    out: dict[str, Any] = {"laws": len(law_files), "documents": len(law_files) + 5}
    print(f"\n== five plans + {len(law_files)} laws: cold build …", flush=True)

    r = run_child(cli(cfg, "build", "--json"), env, log)
    summary = json.loads(r["stdout"])
    embed_s, embed_cpu = summary["seconds"].get("embed", 0.0), summary["cpu_seconds"].get("embed", 0.0)
    out["cold"] = {
        "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "load": r["load"], "stages_wall": summary["seconds"],
        "stages_cpu": summary["cpu_seconds"], "peak_rss_mb": summary["peak_rss_mb"],
        "embedded": summary["embedded"], "texts_per_s": round(summary["embedded"] / embed_s, 1) if embed_s else None,
        "texts_per_cpu_s": round(summary["embedded"] / embed_cpu, 1) if embed_cpu else None,
        "bm25_only_wall_s": round(sum(v for k, v in summary["seconds"].items() if k in ("scan", "ingest", "chunk",
                                                                                        "assemble")), 2),
        "counts": {k: summary[k] for k in ("documents", "clauses", "chunks", "vectors")},
        "vector_index": summary["faiss_index"],
        "reused_vectors": summary.get("reused", 0),
    }
    if seed_cache is not None and out["cold"]["reused_vectors"] and out["cold"]["texts_per_cpu_s"]:
        # projection, not a measurement: the reused vectors at the measured CPU cost per text
        extra_cpu = out["cold"]["reused_vectors"] / out["cold"]["texts_per_cpu_s"]
        out["cold"]["projected_cold_cpu_s"] = round(r["cpu_s"] + extra_cpu, 1)
        out["cold"]["projected_cold_wall_s"] = round(r["wall_s"] + out["cold"]["reused_vectors"]
                                                     / out["cold"]["texts_per_s"], 1)
    index = root / "index"
    out["disk_mb"] = {"total": du_mb(index), "builds": du_mb(index / "builds"), "docs": du_mb(index / "docs"),
                      "embcache": du_mb(index / "embcache")}
    print(f"   {summary['documents']} documents, {summary['chunks']} chunks, {summary['vectors']} vectors; "
          f"{r['wall_s']} s wall, {r['cpu_s']} s CPU", flush=True)

    r = run_child(cli(cfg, "build", "--json"), env, log)
    assert json.loads(r["stdout"])["up_to_date"]
    out["no_change"] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"]}

    with open(law_files[len(law_files) // 2], "a", encoding="utf-8") as fh:
        fh.write(CHANGE_LINE)
    r = run_child(cli(cfg, "build", "--json"), env, log)
    s1 = json.loads(r["stdout"])
    out["one_change"] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "parsed": s1["parsed"],
                         "embedded": s1["embedded"], "stages_wall": s1["seconds"]}

    asks = sorted((run_child(cli(cfg, "ask", STARTUP_QUESTION), env, log) for _ in range(reps)),
                  key=lambda r: r["wall_s"])
    out["ask_startup_s"], out["ask_startup_cpu_s"] = asks[reps // 2]["wall_s"], asks[reps // 2]["cpu_s"]
    apps = sorted(app_startup(cfg, env) for _ in range(reps))
    out["app_startup_s"], out["app_startup_cpu_s"] = apps[reps // 2]
    print(f"   no-change {out['no_change']['wall_s']} s, one change {out['one_change']['wall_s']} s, "
          f"ask start {out['ask_startup_s']} s, app start {out['app_startup_s']} s", flush=True)

    r = run_child([sys.executable, "-m", "assistant.scalebench", "queries", "--config", str(cfg)], env, log)
    out["queries"] = json.loads(r["stdout"])
    return out


# ---------------------------------------------------------------------------
# the questions (run in a child, against one index)
# ---------------------------------------------------------------------------
def _rss() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out


def _pct(values: list[float], p: float) -> float | None:
    from .evaluation import percentile

    return round(percentile(values, p), 1) if values else None


def question_kind(info) -> str:
    if info is None:
        return "other"
    if info.clause_refs:
        return "clause-number"
    if info.places:
        return "place-naming"
    if "cross" in info.intent:
        return "cross-document"
    return "other"


def measure_ann(vectors, queries, candidates: int) -> dict[str, Any]:
    """Recall of the approximate index over everything against exact search, on the
    real questions, at 10 and at the retriever's candidate depth. Below
    ``ann_threshold`` the build searches exactly; the IVF index a larger corpus gets
    is then built here over the same rows (same nlist rule, probe tuned the same way)
    so its recall is still measured on real questions."""
    import numpy as np

    from .vectors import FaissVectors, _build_ivf, recall_at_k, tune_probe

    out: dict[str, Any] = {"kind": vectors.kind, "rows": vectors.n_rows}
    if getattr(vectors, "ann", None) is None:
        if vectors.n_rows < 1000 or not hasattr(vectors, "vectors"):
            return {**out, "recall_at_10": 1.0, "note": "exact search"}
        matrix = np.ascontiguousarray(vectors.vectors, dtype=np.float32)
        ivf, _ = _build_ivf(matrix, None, False)
        probe, _ = tune_probe(ivf, "ivf", matrix)
        vectors = FaissVectors(matrix, vectors.doc_row_ptr, ivf, "ivf", probe)
        out["note"] = "IVF built by the benchmark (the index itself is exact at this size)"
    out["probe"] = vectors.probe
    out["recall_at_10"] = round(recall_at_k(vectors, vectors.vectors, queries, k=10), 4)
    out["candidates"] = candidates
    out["recall_at_candidates"] = round(recall_at_k(vectors, vectors.vectors, queries, k=candidates), 4)
    out["widened"] = vectors.widened
    return out


def measure_queries(config: str | None) -> dict[str, Any]:
    import numpy as np

    from .ask import AskPipeline
    from .evaluation import (load_corpus_norm, load_gold, retrieval_row, score_answer, summarise_answers,
                             summarise_retrieval)
    from .settings import Settings

    settings = Settings.load(config)
    gold_dir = Path(settings.eval_dir) / "gold"
    dev = load_gold(gold_dir / "dev.jsonl", split="dev")
    extra = load_gold(gold_dir / "dev-extra.jsonl", split="dev-extra") if (gold_dir / "dev-extra.jsonl").is_file() else []
    pipeline = AskPipeline(settings).warm_up()
    retriever, store = pipeline.retriever, pipeline.retriever.store
    rss_ready = _rss()

    lat: dict[str, dict[str, list[float]]] = {}
    for q in dev + extra:
        hist = q.get("history") or None
        _, _, info = retriever.rank(q["question"], history=hist)
        kind = question_kind(info)
        store._query_cache.clear()
        t0 = time.perf_counter()
        pipeline.ask(q["question"], history=hist)
        t_ask = (time.perf_counter() - t0) * 1000
        store._query_cache.clear()
        t0 = time.perf_counter()
        retriever.search(q["question"], k=10, history=hist)
        t_ret = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        retriever.search(q["question"], k=10, mode="bm25", history=hist)
        t_bm = (time.perf_counter() - t0) * 1000
        for key in (kind, "all"):
            d = lat.setdefault(key, {"ask": [], "retrieve": [], "bm25": []})
            d["ask"].append(t_ask)
            d["retrieve"].append(t_ret)
            d["bm25"].append(t_bm)
    # serving ends here: what follows (exact search over every row for the ANN recall,
    # every chunk scored for the candidate overlap) touches every vector row, which no
    # question does; mapped-file pages (the IVF lists, vectors.npy) are page cache
    rss_serving = _rss()
    latency = {k: {"n": len(v["ask"]), **{f"{m}_p{p}": _pct(v[m], p) for m in ("ask", "retrieve", "bm25")
                                          for p in (50, 95)}} for k, v in lat.items()}

    qs = np.vstack([store.embed_query(q["question"]) for q in dev + extra])
    ann = measure_ann(store.vectors, qs, retriever.config.candidates)

    # how often the candidate pools change a question's top 10 (against scoring every chunk)
    from dataclasses import replace

    base = retriever.config
    same = total = 0
    for q in dev + extra:
        a = [h.clause_id for h in retriever.search(q["question"], k=10, history=q.get("history") or None)]
        retriever.config = replace(base, full_scoring_max_chunks=10 ** 9)
        b = [h.clause_id for h in retriever.search(q["question"], k=10, history=q.get("history") or None)]
        retriever.config = base
        same += len(set(a) & set(b))
        total += len(b)
    candidate_recall = round(same / max(1, total), 4)

    # the five plans' dev gold figures, with the laws as distractors
    corpus_norm = load_corpus_norm(settings, store)
    figures = {}
    for name, gold in (("dev", dev), ("dev-extra", extra)):
        if not gold:
            continue
        ret = {}
        for mode in ("hybrid+qu", "bm25"):
            rows = [retrieval_row(q, retriever.search(q["question"], k=10, mode=mode, history=q.get("history") or None))
                    for q in gold if q["evidence"]]
            m = summarise_retrieval(rows)["overall"]
            ret[mode] = {"hit@1": round(m["hit@1"], 3), "hit@5": round(m["hit@5"], 3)}
        answers = summarise_answers([score_answer(q, pipeline.ask(q["question"], history=q.get("history") or None),
                                                  corpus_norm) for q in gold])["overall"]
        figures[name] = {"retrieval": ret, "fact_recall": round(answers["fact_recall"], 3),
                         "citation_support": round(answers["citation_support"], 3)}
    return {"latency_ms": latency, "ann": ann, "candidate_recall_at_10": candidate_recall, "gold": figures,
            "rss_ready_mb": rss_ready, "rss_serving_mb": rss_serving, "rss_after_mb": _rss(), "widened": getattr(store.vectors, "widened", 0)}


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------
def projection(results: dict[str, Any], sizes: list[int]) -> dict[str, dict[str, float]]:
    """Cold-build costs at sizes not measured: a PROJECTION, linear in the number of
    laws, from the largest measured size (vectors per law, CPU per embedded text, the
    other stages' CPU per law, disk per law), against the five plans' share measured
    at the same time. Wall time is given at the measured embedding rate only; the
    machine's load decides the rest."""
    if not results:
        return {}
    big = max(results.values(), key=lambda r: r["laws"])
    cold, n = big["cold"], big["laws"]
    plans_vectors = PLANS_VECTORS
    per_law_vectors = (cold["counts"]["vectors"] - plans_vectors) / n
    embed_cpu = cold["stages_cpu"].get("embed", 0.0)
    cpu_per_text = embed_cpu / max(1, cold["embedded"])
    other_cpu_per_law = (cold["cpu_s"] - embed_cpu) / n
    disk_per_law = big["disk_mb"]["total"] / (n + 5)
    out = {}
    for m in sizes:
        if str(m) in results:
            continue
        vectors = plans_vectors + per_law_vectors * m
        cpu = vectors * cpu_per_text + other_cpu_per_law * m
        out[str(m)] = {"laws": m, "vectors": round(vectors), "cold_cpu_s": round(cpu),
                       "embed_cpu_s": round(vectors * cpu_per_text),
                       "cold_wall_s_at_measured_rate": round(vectors / cold["texts_per_s"]) if cold["texts_per_s"] else None,
                       "disk_mb": round(disk_per_law * (m + 5))}
    return out


def projection_table(proj: dict[str, dict[str, float]]) -> str:
    if not proj:
        return ""
    lines = ["PROJECTED, not measured (linear in the number of laws, from the largest measured size):", "",
             "| laws | vectors | cold build CPU, min (of which embedding) | wall at the measured texts/s, min | index on disk, MB |",
             "|---|---|---|---|---|"]
    for p in proj.values():
        wall = p["cold_wall_s_at_measured_rate"]
        lines.append(f"| {p['laws']:,} | {p['vectors']:,} | {p['cold_cpu_s'] / 60:.0f} ({p['embed_cpu_s'] / 60:.0f}) | "
                     f"{wall / 60 if wall else float('nan'):.0f} | {p['disk_mb']:,} |")
    return "\n".join(lines)


def table(results: dict[str, Any]) -> str:
    sizes = list(results)
    rows: list[tuple[str, ...]] = [("", *[f"5 plans + {results[n]['laws']} laws" for n in sizes])]

    def row(label: str, fn) -> None:
        vals = []
        for n in sizes:
            try:
                vals.append(str(fn(results[n])))
            except (KeyError, TypeError, IndexError):
                vals.append("—")
        rows.append((label, *vals))

    row("chunks / vectors", lambda r: f"{r['cold']['counts']['chunks']:,} / {r['cold']['counts']['vectors']:,} ({r['cold']['vector_index']})")
    row("cold build, wall s (CPU s)", lambda r: f"{r['cold']['wall_s']:.0f} ({r['cold']['cpu_s']:.0f})"
        + (f"; {r['cold']['reused_vectors']:,} vectors reused, projected cold {r['cold']['projected_cold_wall_s']:.0f} "
           f"({r['cold']['projected_cold_cpu_s']:.0f})" if r['cold'].get('projected_cold_wall_s') else ""))
    row("… of which embedding, wall s", lambda r: f"{r['cold']['stages_wall']['embed']:.0f}")
    row("… BM25-only build (no vectors), wall s", lambda r: f"{r['cold']['bm25_only_wall_s']:.0f}")
    row("texts embedded / s (per CPU s)", lambda r: f"{r['cold']['texts_per_s']} ({r['cold']['texts_per_cpu_s']})")
    row("load average during cold build (mean / max)", lambda r: f"{r['cold']['load']['mean']} / {r['cold']['load']['max']}")
    row("build peak RSS, MB", lambda r: f"{r['cold']['peak_rss_mb']:.0f}")
    row("index on disk, MB (build / per-doc / cache)", lambda r: f"{r['disk_mb']['total']:.0f} ({r['disk_mb']['builds']:.0f} / {r['disk_mb']['docs']:.0f} / {r['disk_mb']['embcache']:.0f})")
    row("no-change build, s (CPU s)", lambda r: f"{r['no_change']['wall_s']} ({r['no_change']['cpu_s']})")
    row("one document changed, s (CPU s)", lambda r: f"{r['one_change']['wall_s']} ({r['one_change']['cpu_s']})")
    row("`ask` start to answer, s (CPU s)", lambda r: f"{r['ask_startup_s']} ({r.get('ask_startup_cpu_s', '—')})")
    row("app start to port open, s (CPU s)", lambda r: f"{r['app_startup_s']} ({r.get('app_startup_cpu_s', '—')})")
    row("serving RSS after the 127 timed asks, MB (anonymous / mapped files)",
        lambda r: f"{r['queries']['rss_serving_mb']['VmRSS']:.0f} ({r['queries']['rss_serving_mb']['RssAnon']:.0f} / "
                  f"{r['queries']['rss_serving_mb']['RssFile']:.0f})")
    row("RSS after the benchmark's exact searches over every row too, MB",
        lambda r: f"{r['queries']['rss_after_mb']['VmRSS']:.0f}")
    for kind in ("place-naming", "clause-number", "cross-document", "other"):
        row(f"{kind}: ask p50 / p95 ms (BM25-only retrieval p95)",
            lambda r, k=kind: f"{r['queries']['latency_ms'][k]['ask_p50']} / {r['queries']['latency_ms'][k]['ask_p95']} "
                              f"({r['queries']['latency_ms'][k]['bm25_p95']})")
    row("ANN recall@10 (@candidates) on the questions, nprobe",
        lambda r: f"{r['queries']['ann']['recall_at_10']} ({r['queries']['ann'].get('recall_at_candidates', '—')}), "
                  f"{r['queries']['ann'].get('probe', '—')}")
    row("top-10 overlap, candidates vs every chunk", lambda r: f"{r['queries']['candidate_recall_at_10']}")
    for split in ("dev", "dev-extra"):
        row(f"{split}: hit@1 / hit@5 / fact recall (BM25-only hit@1)",
            lambda r, s=split: f"{r['queries']['gold'][s]['retrieval']['hybrid+qu']['hit@1']} / "
                               f"{r['queries']['gold'][s]['retrieval']['hybrid+qu']['hit@5']} / "
                               f"{r['queries']['gold'][s]['fact_recall']} "
                               f"({r['queries']['gold'][s]['retrieval']['bm25']['hit@1']})")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path, proj: dict[str, dict[str, float]] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [results[n]["documents"] for n in results]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    ax.plot(sizes, [results[n]["cold"]["wall_s"] / 60 for n in results], "o-", label="cold build, wall")
    ax.plot(sizes, [results[n]["cold"]["cpu_s"] / 60 for n in results], "o--", label="cold build, CPU")
    ax.plot(sizes, [results[n]["cold"]["bm25_only_wall_s"] / 60 for n in results], "o:", label="BM25-only part")
    if proj:
        px = sizes[-1:] + [p["laws"] + 5 for p in proj.values()]
        py = [results[list(results)[-1]]["cold"]["cpu_s"] / 60] + [p["cold_cpu_s"] / 60 for p in proj.values()]
        ax.plot(px, py, "x--", color="grey", label="cold build CPU, PROJECTED")
        ax.axhline(75, color="red", lw=0.8, ls=":", label="target: 75 min wall")
    ax.set_xlabel("documents")
    ax.set_ylabel("minutes")
    ax.set_title("cold build")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(sizes, [results[n]["one_change"]["wall_s"] for n in results], "o-", label="one document changed")
    ax.plot(sizes, [results[n]["no_change"]["wall_s"] for n in results], "o-", label="nothing changed")
    ax.plot(sizes, [results[n]["ask_startup_s"] for n in results], "o--", label="`ask` start to answer")
    ax.plot(sizes, [results[n]["app_startup_s"] for n in results], "o--", label="app start to port open")
    ax.set_xlabel("documents")
    ax.set_ylabel("seconds")
    ax.set_title("rebuilds and start-up")
    ax.legend(fontsize=8)
    ax = axes[2]
    for kind in ("place-naming", "clause-number", "cross-document"):
        ax.plot(sizes, [results[n]["queries"]["latency_ms"].get(kind, {}).get("ask_p95") for n in results], "o-",
                label=f"{kind} p95")
    ax.plot(sizes, [results[n]["queries"]["latency_ms"]["all"]["bm25_p95"] for n in results], "o:",
            label="BM25-only retrieval p95")
    ax.set_xlabel("documents")
    ax.set_ylabel("ms")
    ax.set_title("question latency (whole ask)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_sizes(a: argparse.Namespace, out: Path) -> dict[str, Any]:
    work = Path(a.workdir or Path("/tmp") / "assistant-scalebench")
    work.mkdir(parents=True, exist_ok=True)
    laws = law_members(Path(a.laws), work / "laws")
    print(f"{len(laws)} law documents in {a.laws}; load average now {os.getloadavg()}", flush=True)
    results: dict[str, Any] = {}
    previous: Path | None = None
    for n in sorted({min(int(x), len(laws)) for x in a.sizes.split(",") if x.strip()}):
        results[str(n)] = bench_size(n, laws, work, a.reps, seed_cache=previous if a.reuse_embeddings else None)
        previous = work / f"n{n}" / "index" / "embcache"
        (out / "scale.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "queries":
        p = argparse.ArgumentParser(prog="python -m assistant.scalebench queries")
        p.add_argument("queries")
        p.add_argument("--config")
        a = p.parse_args(argv)
        print(json.dumps(measure_queries(a.config), ensure_ascii=False))
        return 0
    p = argparse.ArgumentParser(prog="python -m assistant.bench --scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", action="store_true")
    p.add_argument("--sizes", default="500,1000,3504", help="numbers of law documents (default 500,1000,3504)")
    p.add_argument("--workdir", help="where corpora and indexes are made (default: a folder in /tmp)")
    p.add_argument("--out", default=str(PROJECT_ROOT / "eval" / "scale"), help="report folder")
    p.add_argument("--reps", type=int, default=3, help="start-up measurements per size (median)")
    p.add_argument("--reuse-embeddings", action="store_true",
                   help="seed each size's embedding cache with the previous size's (cold figures then projected)")
    p.add_argument("--project", default="500,1000,3475",
                   help="law counts to project the cold build to when not measured (default 500,1000,3475)")
    p.add_argument("--report", action="store_true", help="only rewrite scale.md and scale.png from scale.json")
    p.add_argument("--laws", help="path of laws-all.tar.xz (required unless --report)")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.report:
        results = json.loads((out / "scale.json").read_text(encoding="utf-8"))
    else:
        if not a.laws:
            p.error("--laws PATH is required")
        results = run_sizes(a, out)
    text = table(results)
    proj = projection(results, [int(x) for x in a.project.split(",") if x.strip()])
    if proj:
        text += "\n\n" + projection_table(proj)
    print("\n" + text)
    (out / "scale.md").write_text(text + "\n", encoding="utf-8")
    plot(results, out / "scale.png", proj)
    print(f"\nwrote {out / 'scale.json'}, scale.md, scale.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
