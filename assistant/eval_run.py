"""Running the evaluation: every suite, in-sample and out of fold, and ``train``.

``python -m assistant eval [--suite NAME] [--gold FILE] [--retrieval-only] [--no-cv]
[--check-floors] [--out DIR]`` runs the suites of ``suites.SUITES`` (or one), each on
its own index (built when missing or stale), and reports each gold file as its own
split, plus ``all`` when a suite has several:

* **in sample**: every question answered with the shipped values
  (``assistant/tuned.json``); these runs are timed (``ask`` latency);
* **out of fold**: k-fold cross-validation (``tuning.cross_validate``) over the
  questions of the suites that take part in tuning: each question answered with the
  values chosen on the folds it is not in;
* **held out**: for a suite's ``heldout`` pairs, values chosen on one file only and
  scored on the other (dev.jsonl → dev-extra.jsonl);
* retrieval figures per mode (in sample) and ``hybrid+qu`` out of fold.

``python -m assistant train`` chooses every tunable on all tuning questions and writes
``assistant/tuned.json``, which the code reads.

Answers are memoised per (question, values): cross-validation asks for the same
question under the same values many times, and a retrieval result is reused by every
answer-stage value tried on it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .errors import AssistantError
from .evaluation import (
    MODES, RETRIEVAL_K, STANDARD_METRICS, answer_utility, check_floors, ensure_index, is_answerable,
    load_corpus_norm, load_gold, percentile, retrieval_row, score_answer, summarise_answers, summarise_retrieval,
)
from .settings import PROJECT_ROOT, Settings
from .suites import SUITES, Suite, get_suite, suite_for_gold
from .tuning import (
    DEFAULT_K, DEFAULT_SEED, MIN_GAIN_QUESTIONS, MIN_GAIN_SE, TUNABLES, TUNED_FILE, Config, choose, cross_validate,
    freeze, shipped_config, stage_fields, tuned_digest, write_tuned,
)


# ---------------------------------------------------------------------------
# memoising wrappers (evaluation only)
# ---------------------------------------------------------------------------
class _MemoStore:
    """An IndexStore whose BM25 and dense result lists are remembered per call, so
    trying many fusion settings scores each question against the index once."""

    MEMO = ("bm25_search", "dense_search")

    def __init__(self, store: Any):
        self._store = store
        self._memo: dict[Any, Any] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in self.MEMO:
            return attr

        def memoised(*args, **kwargs):
            key = (name, freeze(args), freeze(kwargs))
            if key not in self._memo:
                self._memo[key] = attr(*args, **kwargs)
            return self._memo[key]

        return memoised


class _MemoRetriever:
    """A HybridRetriever whose searches are remembered per (arguments, config)."""

    def __init__(self, retriever: Any):
        self.__dict__["_r"] = retriever
        self.__dict__["_memo"] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._r, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._r, name, value)

    def search_with_info(self, query, k=10, mode="hybrid+qu", places=None, history=None):
        key = (query, k, mode, freeze(list(places or [])), freeze(history or []), freeze(vars(self._r.config)))
        if key not in self._memo:
            self._memo[key] = self._r.search_with_info(query, k=k, mode=mode, places=places, history=history)
        return self._memo[key]

    def search(self, query, k=10, mode="hybrid+qu", places=None, history=None):
        return self.search_with_info(query, k=k, mode=mode, places=places, history=history)[0]

    def search_with_groups(self, query, k=10, per_doc=3, places=None, history=None):
        key = ("groups", query, k, per_doc, freeze(list(places or [])), freeze(history or []),
               freeze(vars(self._r.config)))
        if key not in self._memo:
            self._memo[key] = self._r.search_with_groups(query, k=k, per_doc=per_doc, places=places, history=history)
        return self._memo[key]


# ---------------------------------------------------------------------------
# one suite
# ---------------------------------------------------------------------------
class SuiteRunner:
    """A suite's pipeline answering its gold questions under tuning configurations."""

    def __init__(self, suite: Suite, base: Settings, progress: bool = True):
        self.suite = suite
        self.settings = suite.settings(base)
        self.progress = progress
        self.questions: list[dict[str, Any]] = [q for p in suite.gold_paths(base) for q in load_gold(p)]
        self.splits = list(dict.fromkeys(q["_split"] for q in self.questions))
        self.metrics = tuple(dict.fromkeys([*STANDARD_METRICS, *suite.metrics]))
        self._answers: dict[Any, dict[str, Any]] = {}
        self._retrievals: dict[Any, Any] = {}
        self._sentences: dict[Any, Any] = {}
        self.latency_ms: dict[str, float] = {}

    def warm_up(self) -> "SuiteRunner":
        from .ask import AskPipeline

        ensure_index(self.settings, progress=self.progress)
        self.pipeline = AskPipeline(self.settings).warm_up()
        self.retriever = self.pipeline.retriever
        self.base_config = self.retriever.config
        self.base_params = self.pipeline.extractive.params
        self.corpus_norm = load_corpus_norm(self.settings, self.retriever.store)
        return self

    def _apply(self, config: Config) -> None:
        self.retriever.config = replace(self.base_config, **stage_fields(config, "retrieval"))
        self.pipeline.extractive.params = replace(self.base_params, **stage_fields(config, "answer"))

    def _ask(self, q: dict[str, Any]) -> dict[str, Any]:
        return self.pipeline.ask(q["question"], history=q.get("history") or None, qid=q["id"])

    def timed_pass(self, config: Config) -> list[dict[str, Any]]:
        """Every question answered with ``config`` on the real (not memoised) store, each
        timed with a cold query-vector cache; then searches are memoised from here on."""
        from tqdm.auto import tqdm

        self._apply(config)
        store = self.retriever.store
        rows, ms = [], []
        for q in tqdm(self.questions, desc=f"{self.suite.name}: ask", disable=not self.progress, leave=False):
            getattr(store, "_query_cache", {}).clear()
            t0 = time.perf_counter()
            reply = self._ask(q)
            ms.append((time.perf_counter() - t0) * 1000)
            row = score_answer(q, reply, self.corpus_norm, self.metrics)
            row["ms"] = round(ms[-1], 2)
            self._answers[self._answer_key(q, config)] = row
            rows.append(row)
        self.latency_ms = {"p50": percentile(ms, 50), "p95": percentile(ms, 95)}
        self.retriever.store = _MemoStore(store)
        self.pipeline.retriever = self.retriever = _MemoRetriever(self.retriever)
        return rows

    @staticmethod
    def _answer_key(q: dict[str, Any], config: Config) -> Any:
        answer = stage_fields(config, "answer")
        if answer.get("scorer") != "learned":  # the model is not used: answers under any model are the same
            answer.pop("sentence_model", None)
        return q["_uid"], freeze(stage_fields(config, "retrieval")), freeze(answer)

    def answer_row(self, q: dict[str, Any], config: Config) -> dict[str, Any]:
        key = self._answer_key(q, config)
        if key not in self._answers:
            self._apply(config)
            self._answers[key] = score_answer(q, self._ask(q), self.corpus_norm, self.metrics)
        return self._answers[key]

    def sentence_rows(self, q: dict[str, Any], config: Config) -> list[tuple[dict[str, float], bool]]:
        """The question's candidate sentences as (features, answers-it label): the label
        from the gold evidence (``sentence_scoring.label_sentence``)."""
        from .ask import parse_history
        from .sentence_scoring import label_sentence

        key = q["_uid"], freeze(stage_fields(config, "retrieval"))
        if key not in self._sentences:
            self._apply(config)
            r = self.pipeline.retrieve(q["question"], parse_history(q.get("history"), "the history"))
            _, cands = self.pipeline.extractive.scored(q["question"], r.answer_hits, info=r.info, places=r.places)
            self._sentences[key] = [(c.features, label_sentence(c.sentence.text, q["evidence"])) for c in cands]
        return self._sentences[key]

    def retrieval_row(self, q: dict[str, Any], config: Config, mode: str = "hybrid+qu") -> Any:
        key = q["_uid"], mode, freeze(stage_fields(config, "retrieval"))
        if key not in self._retrievals:
            self._apply(config)
            hits = self.retriever.search(q["question"], k=RETRIEVAL_K, mode=mode, history=q.get("history") or None)
            self._retrievals[key] = retrieval_row(q, hits)
        return self._retrievals[key]


# ---------------------------------------------------------------------------
# objectives over several suites
# ---------------------------------------------------------------------------
class Harness:
    """Questions of several suites by uid, and the tuning objectives over them."""

    def __init__(self, runners: Sequence[SuiteRunner]):
        self.runners = list(runners)
        self.by_uid: dict[str, tuple[SuiteRunner, dict[str, Any]]] = {
            q["_uid"]: (r, q) for r in self.runners for q in r.questions}

    def answer_rows(self, config: Config, uids: Sequence[str]) -> list[dict[str, Any]]:
        return [self.by_uid[u][0].answer_row(self.by_uid[u][1], config) for u in uids]

    def retrieval_rows(self, config: Config, uids: Sequence[str]) -> list[Any]:
        out = []
        for u in uids:
            runner, q = self.by_uid[u]
            if is_answerable(q) and q["evidence"]:
                out.append(runner.retrieval_row(q, config))
        return out

    def answer_objective(self, config: Config, uids: Sequence[str]) -> float:
        rows = self.answer_rows(config, uids)
        return sum(answer_utility(r) for r in rows) / max(1, len(rows))

    def retrieval_objective(self, config: Config, uids: Sequence[str]) -> float:
        rows = self.retrieval_rows(config, uids)
        return sum(1.0 / r.rank if r.rank else 0.0 for r in rows) / max(1, len(rows))

    def fit_sentence_model(self, config: Config, uids: Sequence[str]) -> dict[str, Any]:
        """The learned sentence scorer, fitted on the candidate sentences of the answerable
        questions among ``uids`` (coefficients as JSON)."""
        from .sentence_scoring import fit_ranker

        groups = []
        for u in uids:
            runner, q = self.by_uid[u]
            if is_answerable(q) and q["evidence"]:
                groups.append(runner.sentence_rows(q, config))
        return fit_ranker(groups).to_json()

    def learners(self, answers: bool = True) -> dict[str, Any]:
        return {"answer.sentence_model": self.fit_sentence_model} if answers else {}

    def objectives(self, answers: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"retrieval": self.retrieval_objective}
        if answers:
            out["answer"] = self.answer_objective
        return out

    def strata(self) -> dict[str, Any]:
        return {u: (q["_split"], q["type"]) for u, (_, q) in self.by_uid.items()}


# ---------------------------------------------------------------------------
# the evaluation
# ---------------------------------------------------------------------------
@dataclass
class EvalOptions:
    suites: list[Suite]
    answers: bool = True  # False: retrieval only
    cv: bool = True
    k: int = DEFAULT_K
    seed: int = DEFAULT_SEED
    progress: bool = True
    tunables: Sequence[Any] = field(default_factory=lambda: TUNABLES)


def _split_rows(rows: Sequence[Any], split: str) -> list[Any]:
    get = (lambda r: r["split"]) if rows and isinstance(rows[0], dict) else (lambda r: r.split)
    return [r for r in rows if split == "all" or get(r) == split]


def _per_split(runner: SuiteRunner) -> list[str]:
    return runner.splits + (["all"] if len(runner.splits) > 1 else [])


def run_eval(base: Settings, opts: EvalOptions) -> dict[str, Any]:
    """Evaluate the suites (module docstring); returns the report as plain data."""
    shipped = shipped_config(declared=opts.tunables)
    report: dict[str, Any] = {
        "git_commit": _git_commit(), "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": _load_average(), "tuned_file": str(TUNED_FILE.relative_to(PROJECT_ROOT)),
        "tuned_sha1": tuned_digest(), "shipped": shipped, "cv": {"k": opts.k, "seed": opts.seed, "enabled": opts.cv},
        "suites": {}, "figures": {}, "errors": {},
    }
    runners: list[SuiteRunner] = []
    for suite in opts.suites:
        runner = SuiteRunner(suite, base, opts.progress)
        try:
            runner.warm_up()
        except AssistantError as e:
            report["errors"][suite.name] = str(e)
            print(f"suite {suite.name}: not evaluated ({e})", file=sys.stderr)
            continue
        runners.append(runner)
        report["suites"][suite.name] = {
            "corpus_dir": runner.settings.corpus_dir, "index_dir": runner.settings.index_dir,
            "gold": {q_split: sum(q["_split"] == q_split for q in runner.questions) for q_split in runner.splits},
            "tuned_on": suite.tune, "metrics": list(runner.metrics)}
        in_sample = runner.timed_pass(shipped) if opts.answers else []
        figs: dict[str, Any] = {}
        for split in _per_split(runner):
            qs = [q for q in runner.questions if split == "all" or q["_split"] == split]
            f: dict[str, Any] = {"retrieval": {"in_sample": {}}}
            for mode in MODES:
                rows = [runner.retrieval_row(q, shipped, mode) for q in qs if q["evidence"]]
                f["retrieval"]["in_sample"][mode] = summarise_retrieval(rows)
            if opts.answers:
                rows = _split_rows(in_sample, split)
                f["answers"] = {"in_sample": summarise_answers(rows, runner.metrics),
                                "latency_ms": _latency([r["ms"] for r in rows])}
            figs[split] = f
        report["figures"][suite.name] = figs
        report["suites"][suite.name]["rows_in_sample"] = in_sample
    if opts.cv and runners:
        _cross_validate(runners, opts, report)
    return report


def _cross_validate(runners: list[SuiteRunner], opts: EvalOptions, report: dict[str, Any]) -> None:
    """Out-of-fold and held-out figures for the suites that take part in tuning."""
    tuned = [r for r in runners if r.suite.tune]
    if not tuned:
        return
    harness = Harness(tuned)
    uids = list(harness.by_uid)
    objectives = harness.objectives(answers=opts.answers)
    t0 = time.perf_counter()
    learners = harness.learners(opts.answers)
    cv = cross_validate(uids, harness.strata(), objectives, k=opts.k, seed=opts.seed, declared=opts.tunables,
                        learners=learners)
    chosen_all = choose(uids, objectives, opts.tunables, learners=learners)
    report["tuning"] = {
        "population": {r.suite.name: len(r.questions) for r in tuned},
        "min_gain_questions": MIN_GAIN_QUESTIONS,
        "chosen_per_fold": cv.chosen,
        "chosen_on_all": chosen_all,
        "shipped_is_current": all(freeze(chosen_all[t.name]) == freeze(report["shipped"][t.name])
                                  for t in opts.tunables),
        "sweep": _sweep(harness, uids, report["shipped"], opts),
    }
    for runner in tuned:
        name = runner.suite.name
        for split in _per_split(runner):
            qs = [q for q in runner.questions if split == "all" or q["_split"] == split]
            f = report["figures"][name][split]
            rrows = [runner.retrieval_row(q, cv.oof_config[q["_uid"]]) for q in qs if is_answerable(q) and q["evidence"]]
            f["retrieval"]["oof"] = {"hybrid+qu": summarise_retrieval(rrows)}
            if opts.answers:
                rows = [runner.answer_row(q, cv.oof_config[q["_uid"]]) for q in qs]
                f["answers"]["oof"] = summarise_answers(rows, runner.metrics)
        for train_split, test_split in runner.suite.heldout:
            train = [q["_uid"] for q in runner.questions if q["_split"] == train_split]
            test = [q for q in runner.questions if q["_split"] == test_split]
            if not train or not test:
                continue
            one = Harness([runner])
            cfg = choose(train, one.objectives(answers=opts.answers), opts.tunables, learners=one.learners(opts.answers))
            f = report["figures"][name][test_split]
            f.setdefault("heldout", {})[f"from_{train_split}"] = {
                "answers": summarise_answers([runner.answer_row(q, cfg) for q in test], runner.metrics)
                if opts.answers else {},
                "retrieval": summarise_retrieval([runner.retrieval_row(q, cfg) for q in test
                                                  if is_answerable(q) and q["evidence"]]),
            }
            report["tuning"].setdefault("heldout_choices", {})[f"{name}:{train_split}->{test_split}"] = cfg
        report["suites"][name]["rows_oof"] = [runner.answer_row(q, cv.oof_config[q["_uid"]]) for q in runner.questions
                                              ] if opts.answers else []
    report["tuning"]["seconds"] = round(time.perf_counter() - t0, 1)


def _sweep(harness: Harness, uids: list[str], shipped: Config, opts: EvalOptions) -> list[dict[str, Any]]:
    """Each tunable's grid, the others at their shipped values: the objective in sample."""
    out = []
    for t in opts.tunables:
        if (t.stage == "answer" and not opts.answers) or not t.grid:
            continue
        objective = harness.answer_objective if t.stage == "answer" else harness.retrieval_objective
        out.append({"name": t.name, "scores": [
            {"value": v, "objective": objective({**shipped, t.name: v}, uids)} for v in t.grid]})
    return out


def _latency(ms: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95)}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _tuning_runners(base: Settings, suites: Sequence[Suite] | None, progress: bool) -> list[SuiteRunner]:
    """The tuning suites (or ``suites``), warmed up and answered once with the shipped values
    (which switches them to memoised searches)."""
    runners = []
    for suite in suites or [s for s in SUITES.values() if s.tune]:
        runner = SuiteRunner(suite, base, progress).warm_up()
        runner.timed_pass(shipped_config())
        runners.append(runner)
    return runners


# ---------------------------------------------------------------------------
# selection rules compared out of fold (eval --strategies)
# ---------------------------------------------------------------------------
# How a fold's search decides that a tunable's best grid value replaces the current one
# (``tuning.choose``): the shipped rule first, then the alternatives measured against it.
STRATEGIES: dict[str, dict[str, float]] = {
    "shipped": {"min_gain_questions": MIN_GAIN_QUESTIONS, "min_gain_se": MIN_GAIN_SE},
    "margin-1q": {"min_gain_questions": 1.0, "min_gain_se": 0.0},  # gain more than one question
    "paired-1se": {"min_gain_questions": 0.0, "min_gain_se": 1.0},  # gain more than 1 s.e. of per-question gains
}


def run_strategies(base: Settings, names: Sequence[str], suites: Sequence[Suite] | None = None,
                   k: int = DEFAULT_K, seed: int = DEFAULT_SEED, progress: bool = True,
                   declared: Sequence[Any] = TUNABLES) -> dict[str, Any]:
    """Out-of-fold figures of the tuning suites under each selection rule of ``names``
    (``STRATEGIES``), on the same folds, in one process: answers are memoised per
    (question, values), so a rule costs only the values its searches try that others did not."""
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGIES)}")
    runners = _tuning_runners(base, suites, progress)
    harness = Harness(runners)
    uids = list(harness.by_uid)
    out: dict[str, Any] = {"git_commit": _git_commit(), "cv": {"k": k, "seed": seed}, "strategies": {}}
    for name in names:
        t0, c0 = time.perf_counter(), time.process_time()
        cv = cross_validate(uids, harness.strata(), harness.objectives(), k=k, seed=seed, declared=declared,
                            learners=harness.learners(), **STRATEGIES[name])
        figures = {}
        for runner in runners:
            for split in _per_split(runner):
                qs = [q for q in runner.questions if split == "all" or q["_split"] == split]
                figures[f"{runner.suite.name}/{split}"] = {
                    "answers": summarise_answers([runner.answer_row(q, cv.oof_config[q["_uid"]]) for q in qs],
                                                 runner.metrics),
                    "retrieval": summarise_retrieval([runner.retrieval_row(q, cv.oof_config[q["_uid"]]) for q in qs
                                                      if is_answerable(q) and q["evidence"]])}
        out["strategies"][name] = {"rule": STRATEGIES[name], "chosen_per_fold": cv.chosen, "figures": figures,
                                   "seconds": round(time.perf_counter() - t0, 1),
                                   "cpu_seconds": round(time.process_time() - c0, 1), "load_average": _load_average()}
    return out


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------
def train(base: Settings, suites: Sequence[Suite] | None = None, progress: bool = True,
          path: Path = TUNED_FILE) -> Config:
    """Choose every tunable on all questions of the tuning suites; write ``path``."""
    runners = _tuning_runners(base, suites, progress)
    harness = Harness(runners)
    uids = list(harness.by_uid)
    config = choose(uids, harness.objectives(), TUNABLES, learners=harness.learners())
    files = {str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p): _sha1(p)
             for r in runners for p in r.suite.gold_paths(base)}
    write_tuned(config, {"chosen_on": {"questions": len(uids), "gold": files},
                         "objective": {"retrieval": "MRR (answerable questions)",
                                       "answer": "mean evaluation.answer_utility"}}, path)
    return config


def _sha1(p: Path) -> str:
    import hashlib

    return hashlib.sha1(p.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------
def _selected_suites(args, base: Settings) -> list[Suite]:
    if getattr(args, "gold", None):
        suite = get_suite(args.suite) if getattr(args, "suite", None) else suite_for_gold(args.gold, base)
        if getattr(args, "suite", None):
            suite = replace(suite, gold=(str(Path(args.gold).resolve()),), heldout=())
        return [suite]
    if getattr(args, "suite", None):
        return [get_suite(args.suite)]
    return list(SUITES.values())


def run_cli(args, settings: Settings) -> int:
    if getattr(args, "command", "eval") == "train":
        config = train(settings)
        print(f"wrote {TUNED_FILE}:")
        for name, value in config.items():
            print(f"  {name} = {value}")
        return 0
    from .eval_report import print_summary, write_reports

    if getattr(args, "strategies", None):
        return _strategies_cli(args, settings)
    opts = EvalOptions(_selected_suites(args, settings), answers=not args.retrieval_only,
                       cv=not getattr(args, "no_cv", False))
    report = run_eval(settings, opts)
    failures: list[str] = []
    floors_file = Path(settings.eval_dir) / "floors.json"
    if args.check_floors:
        if not floors_file.is_file():
            print(f"error: --check-floors needs {floors_file}", file=sys.stderr)
            return 2
        floors = json.loads(floors_file.read_text(encoding="utf-8"))
        run_suites = {s.name for s in opts.suites}
        # floors of suites not run (--suite) are not checked; answer floors not with --retrieval-only
        floors = {k: v for k, v in floors.items() if k.startswith("_") or (
            k.split(".", 1)[0] in run_suites and (opts.answers or ".answers." not in k) and (opts.cv or ".oof." not in k))}
        failures = check_floors(report["figures"], floors)
        report["floors"] = {"file": str(floors_file), "failures": failures}
    out_dir = Path(args.out or settings.eval_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print_summary(report)
    write_reports(report, out_dir)
    print(f"\nwrote {out_dir / 'report.md'}, report.json, report.png")
    if report["errors"]:
        for name, err in report["errors"].items():
            print(f"suite {name} not evaluated: {err}", file=sys.stderr)
    if args.check_floors:
        if failures:
            print("floors not met:\n  " + "\n  ".join(failures), file=sys.stderr)
            return 1
        print("all floors met")
    return 0


def _strategies_cli(args, settings: Settings) -> int:
    from .eval_report import write_strategies

    names = list(STRATEGIES) if args.strategies == "all" else [n.strip() for n in args.strategies.split(",")]
    try:
        result = run_strategies(settings, names, progress=True)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out_dir = Path(args.out or settings.eval_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = write_strategies(result, out_dir)
    print(text)
    print(f"\nwrote {out_dir / 'strategies.md'}, strategies.json")
    return 0
