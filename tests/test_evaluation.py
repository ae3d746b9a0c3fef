"""Gold scoring on hand-made cases; suites, tuning and the eval command end to end on a real index."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import pytest

from assistant.evaluation import (
    AnswerMetric,
    RetrievalRow,
    answer_utility,
    check_floors,
    citation_supported,
    evidence_recall,
    fact_recall,
    first_match_rank,
    passage_matches,
    percentile,
    quotes_faithful,
    register_metric,
    score_answer,
    summarise_answers,
    summarise_retrieval,
)
from assistant.textnorm import for_compare



def test_normalisation_folds_script_width_punctuation_and_pinyin_notes():
    raw = "指導企業(yè)開展目標市場國家或地區(qū)知識產權風險調查，"
    assert for_compare(raw) == "指导企业开展目标市场国家或地区知识产权风险调查"
    assert for_compare("ＰＣＴ 国际专利（2025年）") == "pct国际专利2025年"


def test_traditional_evidence_matches_simplified_passage():
    evidence = "知識產權質押融資登記金額三年累計達到10億元"
    passage = "（二）主要目标。到2026年，全市知识产权质押融资登记金额三年累计达到10亿元，转化专利500件。"
    assert passage_matches(evidence, passage)


def test_fuzzy_match_tolerates_ocr_noise():
    evidence = "知识产权密集型产业增加值占GDP比重达到22%o形成至少5个支撑产业发展和国际竞争的高价值专利组合"
    cleaned = "到2025年，知识产权密集型产业增加值占GDP比重达到22%，形成至少5个支撑产业发展和国际竞争的高价值专利组合。"
    assert passage_matches(evidence, cleaned)


def test_unrelated_passage_does_not_match():
    evidence = "知识产权质押融资金额达200亿元"
    assert not passage_matches(evidence, "加强知识产权行政执法，开展专项整治行动，严厉打击侵权假冒行为。")


def test_tiny_fragment_of_evidence_does_not_count():
    evidence = "(五)完善支持知识产权高质量发展政策体系完善政策绩效评估机制,避免重复资助、撒网资助"
    assert not passage_matches(evidence, "完善政策绩效评估机制")  # in the evidence, but a fragment
    assert passage_matches(evidence, "（五）完善支持知识产权高质量发展政策体系。完善政策绩效评估机制，避免重复资助、撒网资助。加强统筹。")


def test_rank_and_recall():
    evidence = ["每万人高价值发明专利拥有量达到20件", "建设国家海外知识产权纠纷应对指导中心宁波分中心"]
    passages = ["无关的条款内容，讲的是人才培养和培训。", "到2025年，每万人高价值发明专利拥有量达到20件。"]
    assert first_match_rank(evidence, passages) == 2
    assert evidence_recall(evidence, passages) == 0.5
    assert first_match_rank(evidence, passages[:1]) is None


def test_fact_recall_reads_answer_text_without_citation_markers():
    assert fact_recall(["10億元", "4.2亿元"], "累计达到10亿元[1]，另有4.2亿元[2]。") == 1.0
    assert fact_recall(["210%"], "同比增长210[1]") == 1.0  # % is punctuation under normalisation
    assert fact_recall(["15亿元"], "累计1[5]亿元") == 0.0  # a marker must not glue digits together
    assert fact_recall(["9家"], "惠及企业多家") == 0.0


def test_citation_support_and_faithfulness():
    evidence = ["建立以外向型企业、上市企业为重点的风险预警和维权援助咨询服务顾问制度"]
    corpus = {"haimen": for_compare("……建立以外向型企业、上市企业为重点的风险预警和维权援助咨询服务顾问制度，指导企业……")}
    good = [{"doc_id": "haimen", "quote": "建立以外向型企业、上市企业为重点的风险预警和维权援助咨询服务顾问制度", "clause_text": ""}]
    invented = [{"doc_id": "haimen", "quote": "对外向型企业给予50万元奖励", "clause_text": ""}]
    assert citation_supported(evidence, good)
    assert not citation_supported(evidence, invented)
    assert quotes_faithful(good, corpus)
    assert not quotes_faithful(good + invented, corpus)


def test_score_answer_abstention():
    corpus = {"ningbo": "x"}
    unanswerable = {"id": "u", "type": "unanswerable", "facts": [], "evidence": ["e"]}
    answerable = {"id": "a", "type": "numeric", "facts": ["40亿"], "evidence": ["知识产权年质押金额达到40亿"]}
    assert score_answer(unanswerable, {"not_found": True, "answer": "文件未规定", "citations": []}, corpus)["abstention"]
    row = score_answer(answerable, {"not_found": True, "answer": "未找到", "citations": []}, corpus)
    assert row["false_abstention"] and row["fact_recall"] == 0.0


def test_summary_and_floors():
    rows = [RetrievalRow("a", "numeric", 1, 1.0, 1, 5.0), RetrievalRow("b", "numeric", 3, 1.0, 1, 7.0),
            RetrievalRow("c", "unanswerable", None, 0.0, 1, 6.0)]
    m = summarise_retrieval(rows)
    assert m["overall"]["n"] == 2  # unanswerable questions are not in the overall figures
    assert m["overall"]["hit@1"] == 0.5 and m["overall"]["hit@5"] == 1.0
    assert m["overall"]["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    figures = {"plans": {"all": {"retrieval": {"oof": {"hybrid+qu": m}},
                                 "answers": {"oof": {"overall": {"false_abstention": 0.1, "chars_p50": 300.0}},
                                             "latency_ms": {"p95": 7.0}}}}}
    assert check_floors(figures, {"_comment": "x", "plans.all.retrieval.oof.hybrid+qu.overall.hit@5": 0.9}) == []
    assert check_floors(figures, {"plans.all.retrieval.oof.hybrid+qu.overall.hit@1": 0.9})
    assert check_floors(figures, {"plans.all.answers.latency_ms.p95": 5.0})  # latency is a ceiling
    assert check_floors(figures, {"plans.all.answers.oof.overall.false_abstention": 0.05})  # a ceiling too
    assert check_floors(figures, {"plans.all.answers.oof.overall.false_abstention": 0.2}) == []
    assert check_floors(figures, {"plans.all.answers.oof.overall.chars_p50": 260})  # length is a ceiling
    assert check_floors(figures, {"laws.all.answers.oof.overall.fact_recall": 0.5}) == [
        "laws.all.answers.oof.overall.fact_recall: not measured"]


def test_answer_rows_summaries_and_utility():
    corpus = {"ningbo": for_compare("到2025年，知识产权年质押金额达到40亿元。")}
    q = {"id": "a", "_split": "dev", "type": "numeric", "facts": ["40亿元"], "evidence": ["知识产权年质押金额达到40亿元"]}
    cite = [{"doc_id": "ningbo", "quote": "知识产权年质押金额达到40亿元", "clause_text": ""}]
    good = score_answer(q, {"not_found": False, "answer": "据…「知识产权年质押金额达到40亿元」[1]", "citations": cite}, corpus)
    assert good["fact_recall"] == 1.0 and good["citation_support"] is True and good["split"] == "dev"
    assert good["abstention"] is None and good["chars"] > 0
    assert answer_utility(good) == 1.0
    abstained = score_answer(q, {"not_found": True, "answer": "未规定 40亿元", "citations": []}, corpus)
    assert answer_utility(abstained) == 0.0  # a false abstention is worth nothing, whatever it quotes
    u = {"id": "u", "type": "unanswerable", "facts": [], "evidence": []}
    assert answer_utility(score_answer(u, {"not_found": True, "answer": "未规定", "citations": []}, corpus)) == 1.0
    long = score_answer(q, {"not_found": False, "answer": "40亿元" + "。" * 780, "citations": cite}, corpus)
    assert answer_utility(long) < answer_utility(good)  # pasting costs
    s = summarise_answers([good, abstained])
    assert s["numeric"]["n"] == 2 and s["overall"]["fact_recall"] == 1.0
    assert s["overall"]["false_abstention"] == 0.5
    assert s["overall"]["chars_p90"] >= s["overall"]["chars_p50"] > 0


# ---------------------------------------------------------------------------
# tuning: folds, choosing, cross-validation (synthetic objectives)


def test_folds_are_stratified_deterministic_and_balanced():
    from assistant.tuning import assign_folds

    items = [(f"q{i}", ("dev" if i < 40 else "extra", "numeric" if i % 3 else "paraphrase")) for i in range(70)]
    folds = assign_folds(items, k=5, seed=7)
    assert folds == assign_folds(list(reversed(items)), k=5, seed=7)  # order of input does not matter
    assert folds != assign_folds(items, k=5, seed=8)
    sizes = [sum(1 for f in folds.values() if f == i) for i in range(5)]
    assert max(sizes) - min(sizes) <= 1
    for stratum in {s for _, s in items}:
        per_fold = [sum(1 for u, s in items if s == stratum and folds[u] == i) for i in range(5)]
        assert max(per_fold) - min(per_fold) <= 1, stratum


def test_choose_finds_the_best_values_and_keeps_the_start_on_ties():
    from assistant.tuning import Tunable, choose

    declared = (Tunable("retrieval.a", (0.0, 0.5, 1.0), 0.0), Tunable("answer.b", (1, 2, 3), 2),
                Tunable("answer.c", ("x", "y"), "x"))
    seen_stages = []

    def retrieval(cfg, ids):
        seen_stages.append("retrieval")
        return -abs(cfg["retrieval.a"] - 0.5)

    def answer(cfg, ids):
        seen_stages.append("answer")
        assert cfg["retrieval.a"] == 0.5  # answer values are chosen with the retrieval values fixed
        return -abs(cfg["answer.b"] - 3)  # answer.c does not matter: it keeps its start value

    chosen = choose(["q1"], {"retrieval": retrieval, "answer": answer}, declared, min_gain_questions=0.0)
    assert chosen == {"retrieval.a": 0.5, "answer.b": 3, "answer.c": "x"}
    assert seen_stages.index("answer") > max(i for i, s in enumerate(seen_stages) if s == "retrieval")


def test_choose_moves_off_the_start_only_for_a_gain_above_the_margin():
    """Among 10 questions a tunable that gains half a question keeps its start value; one
    that gains three questions moves, to its best grid value, not the first that gains."""
    from assistant.tuning import Tunable, choose

    ids = [f"q{i}" for i in range(10)]
    declared = (Tunable("answer.small", (0, 1), 0), Tunable("answer.big", (0, 1, 2, 3), 0))

    def answer(cfg, qs):
        gain_small = 0.5 * cfg["answer.small"]  # half a question
        gain_big = {0: 0, 1: 1.5, 2: 3, 3: 2.5}[cfg["answer.big"]]  # questions gained
        return (gain_small + gain_big) / len(qs)

    chosen = choose(ids, {"answer": answer}, declared, min_gain_questions=1.0)
    assert chosen == {"answer.small": 0, "answer.big": 2}
    assert choose(ids, {"answer": answer}, declared, min_gain_questions=0.0)["answer.small"] == 1
    assert choose(ids, {"answer": answer}, declared, min_gain_questions=4.0) == {"answer.small": 0, "answer.big": 0}


def test_a_gain_must_be_clear_of_its_per_question_spread_when_asked():
    """Over 10 questions, "churn" gains 5 and loses 3 (mean +0.2, but no clearer than its
    spread), "clean" gains 2 and loses none (mean +0.2, clear at one standard error)."""
    from assistant.tuning import Tunable, choose, clear_gain

    ids = [f"q{i}" for i in range(10)]
    declared = (Tunable("answer.churn", (0, 1), 0), Tunable("answer.clean", (0, 1), 0))
    churn = {u: (1.0 if i < 5 else -1.0 if i < 8 else 0.0) for i, u in enumerate(ids)}
    clean = {u: (1.0 if i < 2 else 0.0) for i, u in enumerate(ids)}

    def answer(cfg, qs):
        return sum(churn[u] * cfg["answer.churn"] + clean[u] * cfg["answer.clean"] for u in qs) / len(qs)

    start = {"answer.churn": 0, "answer.clean": 0}
    assert not clear_gain(answer, start, {**start, "answer.churn": 1}, ids, 1.0)
    assert clear_gain(answer, start, {**start, "answer.clean": 1}, ids, 1.0)
    assert choose(ids, {"answer": answer}, declared, min_gain_se=1.0) == {"answer.churn": 0, "answer.clean": 1}
    assert choose(ids, {"answer": answer}, declared, min_gain_se=0.0) == {"answer.churn": 1, "answer.clean": 1}
    assert not clear_gain(answer, start, start, ids, 0.0)  # no gain is never a clear one


def test_cross_validation_scores_each_question_with_values_chosen_without_it():
    """A tunable that can only memorise: every question prefers its own value. In
    sample it looks useful; out of fold it is worth nothing, and no fold's choice is
    made with the question it is then scored on."""
    from assistant.tuning import Tunable, choose, cross_validate

    uids = [f"q{i}" for i in range(20)]
    declared = (Tunable("answer.memo", tuple(uids), "none"),)
    calls = []

    def objective(cfg, ids):
        calls.append(set(ids))
        return sum(1.0 for u in ids if cfg["answer.memo"] == u) / len(ids)

    cv = cross_validate(uids, {u: "one" for u in uids}, {"answer": objective}, k=5, seed=1, declared=declared,
                        min_gain_questions=0.0)
    oof = sum(1.0 for u in uids if cv.oof_config[u]["answer.memo"] == u) / len(uids)
    assert oof == 0.0
    for u in uids:
        fold = cv.folds[u]
        assert cv.oof_config[u] is cv.chosen[fold]
        assert u not in {v for v in uids if cv.folds[v] != fold}  # chosen on the other folds only
    in_sample = choose(uids, {"answer": objective}, declared, min_gain_questions=0.0)
    assert objective(in_sample, uids) > 0.0
    # with a margin of one question, one question's gain keeps the start value
    assert choose(uids, {"answer": objective}, declared, min_gain_questions=1.0)["answer.memo"] == "none"


def test_tuned_file_round_trip_and_the_code_reads_the_shipped_values(tmp_path, index_settings):
    from assistant.answering import AnswerParams
    from assistant.retrieval import RetrievalConfig
    from assistant.settings import Settings
    from assistant.tuning import TUNABLES, load_tuned, shipped_config, shipped_fields, write_tuned

    shipped = shipped_config()
    assert set(shipped) == {t.name for t in TUNABLES}
    assert load_tuned()["values"] == shipped  # every declared tunable has a shipped value
    params = AnswerParams.shipped()
    for name, value in shipped_fields("answer").items():
        assert getattr(params, name) == value
    settings = Settings.load(config_file=tmp_path / "none.toml", env={})
    cfg = RetrievalConfig.from_settings(settings)
    for name, value in shipped_fields("retrieval").items():
        assert getattr(cfg, name) == value, name

    from assistant.index import read_manifest
    from assistant.tuning import tuned_digest

    # the index records which tuned constants and learned scorer it was built beside
    assert read_manifest(index_settings.index_dir)["tuned"]["sha1"] == tuned_digest()

    path = tmp_path / "tuned.json"
    changed = {**shipped, "answer.extra_share": 0.123}
    write_tuned(changed, {"chosen_on": {"questions": 3}}, path)
    assert shipped_config(path)["answer.extra_share"] == 0.123
    assert load_tuned(path)["chosen_on"] == {"questions": 3}


# ---------------------------------------------------------------------------
# suites and the eval command on the real index


def test_suites_have_their_own_corpus_and_index_folders(index_settings, project_root):
    from assistant.suites import SUITES, suite_for_gold

    plans = SUITES["plans"].settings(index_settings)
    assert plans.index_dir == index_settings.index_dir and plans.corpus_dir == index_settings.corpus_dir
    assert [p.name for p in SUITES["plans"].gold_paths(index_settings)] == ["dev.jsonl", "dev-extra.jsonl"]
    laws = SUITES["laws"].settings(index_settings)
    assert laws.index_dir.endswith("suites/laws")
    assert len(list((project_root / "eval" / "corpora" / "laws-ip").glob("*.md"))) == 63
    gold = project_root / "eval" / "gold" / "dev-extra.jsonl"
    assert suite_for_gold(gold, index_settings).gold == ("dev-extra.jsonl",)
    assert suite_for_gold(gold, index_settings).name == "plans"


def test_the_probes_are_scored_apart_on_their_corpus_and_their_evidence_is_raw_text(index_settings, project_root):
    """The project's own probes (eval/gold/README.md): never tuned on; the laws probe is
    asked of the laws suite's corpus and index; every evidence string is a substring of
    the raw file it names (so evidence recall and citation support can match it)."""
    from assistant.evaluation import load_gold
    from assistant.suites import SUITES

    laws, probe = SUITES["laws"].settings(index_settings), SUITES["probe-laws"].settings(index_settings)
    assert probe.index_dir == laws.index_dir and probe.corpus_dir == laws.corpus_dir
    assert not SUITES["probe"].tune and not SUITES["probe-laws"].tune
    for name, folder, ext in (("probe", project_root / "corpus", ".txt"),
                              ("probe-laws", project_root / "eval" / "corpora" / "laws-ip", ".md")):
        (gold,) = SUITES[name].gold_paths(index_settings)
        questions = load_gold(gold)
        assert len({q["id"] for q in questions}) == len(questions)
        for q in questions:
            assert len(q["evidence"]) == len(q["evidence_docs"]), q["id"]
            for e, d in zip(q["evidence"], q["evidence_docs"]):
                assert e in (folder / f"{d}{ext}").read_text(encoding="utf-8"), (q["id"], e)
            assert bool(q["facts"]) == (q["type"] != "unanswerable"), q["id"]


def _write_gold(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pick(project_root, name, types, n):
    lines = (project_root / "eval" / "gold" / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if json.loads(line)["type"] in types][:n]


def test_run_eval_reports_in_sample_out_of_fold_and_held_out(index_settings, tmp_path, project_root):
    """Two gold files on the real index: each reported as a split, answers in sample and
    out of fold, the held-out pair, a suite's extra metric, and a suite that cannot be
    built reported as not evaluated."""
    from assistant.eval_run import EvalOptions, run_eval
    from assistant.suites import Suite
    from assistant.tuning import Tunable

    a = _write_gold(tmp_path / "a.jsonl", _pick(project_root, "dev.jsonl", ("numeric", "unanswerable"), 6))
    b = _write_gold(tmp_path / "b.jsonl", _pick(project_root, "dev-extra.jsonl", ("numeric", "unanswerable"), 6))
    register_metric(AnswerMetric("cites_something", lambda q, reply, ctx: bool(reply.get("citations"))))
    suite = Suite("t", (str(a), str(b)), own_index=False, metrics=("cites_something",),
                  heldout=(("a", "b"), ("b", "a")))
    (tmp_path / "empty").mkdir()
    broken = Suite("broken", (str(a),), corpus=str(tmp_path / "empty"))
    declared = (Tunable("answer.min_coverage", (0.0, 0.05, 0.5), 0.05),
                Tunable("retrieval.strip_doc_refs", (True, False), True))
    report = run_eval(index_settings, EvalOptions([suite, broken], k=2, progress=False, tunables=declared))

    assert "broken" in report["errors"] and "broken" not in report["figures"]
    figs = report["figures"]["t"]
    assert set(figs) == {"a", "b", "all"}
    for split, n in (("a", 6), ("b", 6), ("all", 12)):
        ans = figs[split]["answers"]
        assert ans["in_sample"]["overall"]["n"] == ans["oof"]["overall"]["n"] == n
        assert "cites_something" in ans["oof"]["overall"]
        assert ans["latency_ms"]["p95"] >= ans["latency_ms"]["p50"] > 0
        assert set(figs[split]["retrieval"]["in_sample"]) == {"bm25", "dense", "hybrid", "hybrid+qu"}
        assert "hybrid+qu" in figs[split]["retrieval"]["oof"]
    assert figs["b"]["heldout"]["from_a"]["answers"]["overall"]["n"] == 6
    assert figs["a"]["heldout"]["from_b"]["answers"]["overall"]["n"] == 6  # and the reverse
    assert set(report["tuning"]["heldout_choices"]) == {"t:a->b", "t:b->a"}
    t = report["tuning"]
    assert len(t["chosen_per_fold"]) == 2 and set(t["chosen_on_all"]) == {d.name for d in declared}
    assert [s["name"] for s in t["sweep"]] == [d.name for d in declared]


def test_the_plans_suite_holds_out_each_gold_file_in_turn():
    """Values chosen on dev.jsonl alone are scored on dev-extra.jsonl, and the reverse:
    a constant that fits one file's wording shows in the other's figures."""
    from assistant.suites import SUITES

    assert set(SUITES["plans"].heldout) == {("dev", "dev-extra"), ("dev-extra", "dev")}


def test_strategies_compare_selection_rules_on_the_folds_of_eval(index_settings, tmp_path, project_root):
    """eval --strategies: the shipped rule's out-of-fold rows are exactly those of eval's own
    cross-validation on the same folds; each rule gets a row per split in strategies.md."""
    from assistant.eval_report import _json_safe, write_strategies
    from assistant.eval_run import EvalOptions, run_eval, run_strategies
    from assistant.suites import Suite
    from assistant.tuning import Tunable

    a = _write_gold(tmp_path / "a.jsonl", _pick(project_root, "dev.jsonl", ("numeric", "unanswerable"), 5))
    b = _write_gold(tmp_path / "b.jsonl", _pick(project_root, "dev-extra.jsonl", ("numeric", "unanswerable"), 5))
    suite = Suite("t", (str(a), str(b)), own_index=False)
    declared = (Tunable("answer.min_coverage", (0.0, 0.05, 0.5), 0.05), Tunable("answer.fact_max", (1, 2, 3), 2))
    result = run_strategies(index_settings, ["shipped", "paired-1se"], [suite], k=2, progress=False,
                            declared=declared)
    report = run_eval(index_settings, EvalOptions([suite], k=2, progress=False, tunables=declared))
    shipped = result["strategies"]["shipped"]
    assert shipped["chosen_per_fold"] == report["tuning"]["chosen_per_fold"]
    for split in ("a", "b", "all"):
        assert _json_safe(shipped["figures"][f"t/{split}"]["answers"]) == _json_safe(
            report["figures"]["t"][split]["answers"]["oof"])
    with pytest.raises(ValueError, match="unknown strategy"):
        run_strategies(index_settings, ["no-such-rule"], [suite], k=2, progress=False, declared=declared)
    text = write_strategies(result, tmp_path)
    md = (tmp_path / "strategies.md").read_text(encoding="utf-8")
    assert "paired-1se" in text and md.count("| paired-1se | t/") == 3
    assert json.loads((tmp_path / "strategies.json").read_text(encoding="utf-8"))["strategies"]["shipped"]


def test_eval_cli_writes_reports_and_checks_floors(index_settings, tmp_path, project_root):
    from assistant.eval_run import run_cli

    gold = _write_gold(tmp_path / "gold.jsonl", _pick(project_root, "dev.jsonl", ("numeric", "english", "traditional"), 6))
    settings = replace(index_settings, eval_dir=str(tmp_path))
    out = tmp_path / "out"
    args = argparse.Namespace(command="eval", suite=None, gold=str(gold), retrieval_only=False, no_cv=True,
                              check_floors=True, out=str(out))
    key = "plans.gold.answers.in_sample.overall.fact_recall"
    (tmp_path / "floors.json").write_text(json.dumps({key: 0.0, "laws.all.answers.oof.overall.fact_recall": 1.0}))
    assert run_cli(args, settings) == 0  # floors of a suite not run are not checked
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["git_commit"] and report["timestamp"] and report["shipped"]
    assert report["figures"]["plans"]["gold"]["answers"]["in_sample"]["overall"]["n"] == 6
    assert (out / "report.png").stat().st_size > 1000
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "plans / gold" in md and "chars p50" in md

    # an unreachable floor fails the check
    (tmp_path / "floors.json").write_text(json.dumps({key: 1.01}))
    assert run_cli(args, settings) == 1


def test_corpus_for_faithfulness_is_read_per_plan(index_settings):
    from assistant.evaluation import load_corpus_norm

    corpus = load_corpus_norm(index_settings)
    assert set(corpus) == {"jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing"}
    # the traditional plan is compared in simplified script
    assert for_compare("知識產權質押融資登記金額三年累計達到10億元") in corpus["yuncheng"]


def test_percentile():
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 50) != percentile([], 50)  # NaN
