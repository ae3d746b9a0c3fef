"""The evaluation report: console summary, ``report.md``, ``report.json``, ``report.png``.

Reads the plain data ``eval_run.run_eval`` returns; computes nothing but layout.
Answer tables show each metric as ``in-sample / out-of-fold``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .evaluation import MATCH_THRESHOLD, MIN_PASSAGE_SHARE, RETRIEVAL_METRICS, STANDARD_METRICS


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{v:.3f}"
    if v is None:
        return "—"
    return str(v)


def _pair(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str, digits: int = 3) -> str:
    def one(m):
        if m is None or key not in m:
            return "—"
        v = m[key]
        if isinstance(v, float) and key.startswith("chars"):
            return "—" if v != v else f"{v:.0f}"
        return fmt(v)
    return one(a) if b is None else f"{one(a)} / {one(b)}"


def answers_table(fig: dict[str, Any], metrics: Sequence[str]) -> list[list[str]]:
    """Rows: question type and overall; cells: in-sample / out-of-fold."""
    ins = fig["answers"]["in_sample"]
    oof = fig["answers"].get("oof")
    rows = [["group", "n", *metrics, "chars p50", "chars p90"]]
    for group, m in ins.items():
        o = oof.get(group) if oof else None
        rows.append([group, str(m["n"]), *(_pair(m, o, k) if oof else _pair(m, None, k) for k in metrics),
                     _pair(m, o if oof else None, "chars_p50"), _pair(m, o if oof else None, "chars_p90")])
    return rows


def heldout_table(summary: dict[str, Any], metrics: Sequence[str]) -> list[list[str]]:
    rows = [["group", "n", *metrics, "chars p50", "chars p90"]]
    for group, m in summary.items():
        rows.append([group, str(m["n"]), *(_pair(m, None, k) for k in metrics),
                     _pair(m, None, "chars_p50"), _pair(m, None, "chars_p90")])
    return rows


def retrieval_table(fig: dict[str, Any]) -> list[list[str]]:
    rows = [["mode", *RETRIEVAL_METRICS]]
    for mode, m in fig["retrieval"]["in_sample"].items():
        o = m.get("overall", {})
        rows.append([mode, *(fmt(o.get(k)) for k in RETRIEVAL_METRICS)])
    for mode, m in (fig["retrieval"].get("oof") or {}).items():
        o = m.get("overall", {})
        rows.append([f"{mode} (out of fold)", *(fmt(o.get(k)) for k in RETRIEVAL_METRICS)])
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


def _metrics(report: dict[str, Any], suite: str) -> list[str]:
    return report["suites"][suite].get("metrics") or list(STANDARD_METRICS)


def _value(v: Any) -> str:
    if isinstance(v, dict) and "weights" in v:  # a learned model: its digest
        import hashlib

        return "model " + hashlib.sha1(json.dumps(v, sort_keys=True).encode()).hexdigest()[:8]
    if isinstance(v, dict):
        return " ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


# ---------------------------------------------------------------------------
# console
# ---------------------------------------------------------------------------
def print_summary(report: dict[str, Any]) -> None:
    for suite, splits in report["figures"].items():
        metrics = _metrics(report, suite)
        for split, fig in splits.items():
            print(f"\n== {suite} / {split}")
            print(text_table(retrieval_table(fig)))
            if "answers" in fig:
                print()
                print(text_table(answers_table(fig, metrics)))
                lat = fig["answers"].get("latency_ms") or {}
                print(f"ask latency p50 {fmt(lat.get('p50'))} ms, p95 {fmt(lat.get('p95'))} ms")
            for name, h in (fig.get("heldout") or {}).items():
                if h.get("answers"):
                    o = h["answers"]["overall"]
                    print(f"held out ({name.replace('_', ' ')}): " +
                          ", ".join(f"{k} {fmt(o.get(k))}" for k in metrics) + f", chars p50 {fmt(o['chars_p50'])}")
    t = report.get("tuning")
    if t:
        state = "yes" if t["shipped_is_current"] else "NO: run `python -m assistant train`"
        print(f"\nshipped values (assistant/tuned.json) = chosen on all tuning questions now: {state}")


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
def write_reports(report: dict[str, Any], out_dir: Path) -> None:
    (out_dir / "report.json").write_text(json.dumps(_json_safe(report), ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    write_markdown(report, out_dir / "report.md")
    write_png(report, out_dir / "report.png")


def write_markdown(report: dict[str, Any], path: Path) -> None:
    cv = report["cv"]
    parts = [f"# Evaluation report\n\ncommit `{report['git_commit'][:12]}` · {report['timestamp']} · "
             f"load average {report.get('load_average')}\n",
             "Scoring: see the docstring of `assistant/evaluation.py` "
             f"(passages match evidence at partial_ratio ≥ {MATCH_THRESHOLD:g} and ≥ {MIN_PASSAGE_SHARE:g}× its "
             "length). Answer cells read **in-sample / out-of-fold**: in sample, every question is answered with "
             f"the shipped values (`{report['tuned_file']}`); out of fold, with the values chosen by "
             f"{cv['k']}-fold cross-validation (stratified by gold file and type, seed {cv['seed']}) on the folds "
             "the question is not in. Floors guard the out-of-fold figures. `chars`: answer length in characters."]
    for name, err in report.get("errors", {}).items():
        parts.append(f"**Suite `{name}` not evaluated**: {err}")
    for suite, splits in report["figures"].items():
        info = report["suites"][suite]
        metrics = _metrics(report, suite)
        gold = ", ".join(f"`{k}` ({v})" for k, v in info["gold"].items())
        tuned = "its questions take part in tuning" if info["tuned_on"] else \
            "not tuned on: its figures are held-out figures"
        parts.append(f"## Suite `{suite}`\n\ncorpus `{info['corpus_dir']}` · index `{info['index_dir']}` · "
                     f"gold {gold} · {tuned}")
        for split, fig in splits.items():
            sec = [f"### {suite} / {split}"]
            if "answers" in fig:
                lat = fig["answers"].get("latency_ms") or {}
                sec.append("Answers\n\n" + md_table(answers_table(fig, metrics)) +
                           f"\n\nask latency (in sample, cold query vectors): p50 {fmt(lat.get('p50'))} ms, "
                           f"p95 {fmt(lat.get('p95'))} ms")
            for hname, h in (fig.get("heldout") or {}).items():
                if h.get("answers"):
                    sec.append(f"Held out: values chosen on `{hname[5:]}` only, scored here\n\n"
                               + md_table(heldout_table(h["answers"], metrics)))
            sec.append("Retrieval (answerable questions)\n\n" + md_table(retrieval_table(fig)))
            parts.append("\n\n".join(sec))
        misses = _answer_misses(info.get("rows_oof") or info.get("rows_in_sample") or [])
        if misses:
            label = "out of fold" if info.get("rows_oof") else "in sample"
            parts.append(f"### {suite}: answers that lose points ({label})\n\n" + "\n".join(misses))
    t = report.get("tuning")
    if t:
        parts.append(_tuning_section(report, t))
    if report.get("floors"):
        fl = report["floors"]
        parts.append("## Floors\n\n" + ("all metrics at or above their floors" if not fl["failures"]
                                        else "\n".join(f"- {f}" for f in fl["failures"])))
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def _answer_misses(rows: Sequence[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        why = []
        if r["type"] == "unanswerable":
            if not r["not_found"]:
                why.append("answered (not abstained)")
        else:
            if r["not_found"]:
                why.append("abstained")
            if r.get("fact_recall") is not None and r["fact_recall"] < 1:
                why.append(f"fact recall {r['fact_recall']:.2f}")
            if r.get("citation_support") is False:
                why.append("citation unsupported")
        if r.get("faithfulness") is False:
            why.append("UNFAITHFUL QUOTE")
        if why:
            out.append(f"- `{r['split']}:{r['id']}` ({r['type']}): {', '.join(why)}; {r['chars']} chars")
    return out


def _tuning_section(report: dict[str, Any], t: dict[str, Any]) -> str:
    shipped = report["shipped"]
    state = "yes" if t["shipped_is_current"] else "**no** — run `python -m assistant train`"
    pop = ", ".join(f"{k} ({v})" for k, v in t["population"].items())
    rows = [["tunable", "shipped", "chosen on all", *(f"fold {i + 1}" for i in range(len(t["chosen_per_fold"]))),
             "folds off"]]
    spread = 0
    for name in shipped:
        off = _folds_off(name, t["chosen_per_fold"])
        spread += off
        rows.append([f"`{name}`", _value(shipped[name]), _value(t["chosen_on_all"].get(name)),
                     *(_value(c.get(name)) for c in t["chosen_per_fold"]), str(off) if off else ""])
    gain = t.get("min_gain_questions")
    rule = (f"a value replaces the current one only when it gains more than {gain:g} question(s)' worth"
            if gain else "a value replaces the current one when it scores better")
    out = [f"## Tuning\n\nQuestions: {pop}. Search: coordinate ascent over each tunable's grid "
           "(`assistant/tuning.py`), retrieval values on MRR, then answer values on mean answer utility "
           f"(`evaluation.answer_utility`); {rule}; {t.get('seconds', '—')} s. Shipped values = chosen on all "
           f"questions now: {state}. Spread of the folds' choices: {spread} fold choice(s) differ from the folds' "
           "most frequent value (\"folds off\"; learned models not counted).\n\n" + md_table(rows)]
    for held, cfg in (t.get("heldout_choices") or {}).items():
        diff = {k: v for k, v in cfg.items() if shipped.get(k) != v}
        out.append(f"Chosen for `{held}`: " + ("same as shipped" if not diff else
                                                 "; ".join(f"`{k}` = {_value(v)}" for k, v in diff.items())))
    sweep = t.get("sweep") or []
    if sweep:
        lines = ["Sweep (in sample, the other values shipped): objective per grid value"]
        for s in sweep:
            lines.append(f"- `{s['name']}`: " + "; ".join(
                f"{_value(x['value'])} → {x['objective']:.4f}" for x in s["scores"]))
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _folds_off(name: str, chosen: list[dict[str, Any]]) -> int:
    """How many folds chose another value than the folds' most frequent one (0 for a
    learned model, whose coefficients always differ)."""
    values = [c.get(name) for c in chosen]
    if any(isinstance(v, dict) and "weights" in v for v in values):
        return 0
    keys = [json.dumps(v, sort_keys=True, ensure_ascii=False, default=str) for v in values]
    return len(keys) - max((keys.count(k) for k in set(keys)), default=0)


def write_png(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(suite, split, fig) for suite, splits in report["figures"].items()
              for split, fig in splits.items() if "answers" in fig]
    if not panels:
        panels = [(suite, split, fig) for suite, splits in report["figures"].items() for split, fig in splits.items()]
    n = max(1, len(panels))
    fig_, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    names = ("fact_recall", "citation_support", "abstention", "false_abstention")
    for ax, (suite, split, fig) in zip(axes[0], panels):
        ax.set_title(f"{suite} / {split}", fontsize=9)
        ax.set_ylim(0, 1.1)
        if "answers" not in fig:
            continue
        ins = fig["answers"]["in_sample"]["overall"]
        oof = (fig["answers"].get("oof") or {}).get("overall")
        xs = range(len(names))
        bars = ax.bar([x - 0.2 for x in xs], [_nan0(ins.get(k)) for k in names], 0.4, label="in sample")
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
        if oof:
            bars = ax.bar([x + 0.2 for x in xs], [_nan0(oof.get(k)) for k in names], 0.4, label="out of fold")
            ax.bar_label(bars, fmt="%.2f", fontsize=6)
        ax.set_xticks(list(xs), [k.replace("_", "\n") for k in names], fontsize=7)
        ax.legend(fontsize=7, loc="upper center")
    fig_.tight_layout()
    fig_.savefig(path, dpi=100)
    plt.close(fig_)


def _nan0(v: Any) -> float:
    return 0.0 if v is None or v != v else float(v)


def _json_safe(o: Any) -> Any:
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if hasattr(o, "__dict__") and not isinstance(o, type):
        return _json_safe(vars(o))
    return o


# ---------------------------------------------------------------------------
# selection rules compared (eval --strategies)
# ---------------------------------------------------------------------------
def strategies_table(result: dict[str, Any]) -> list[list[str]]:
    """One row per (rule, split): out-of-fold answer and retrieval figures, and how many
    fold choices differ from the folds' most frequent value."""
    rows = [["rule", "split", "fact recall", "citation support", "abstention", "false abst.", "paraphrase FR",
             "clause FR", "chars p50", "MRR", "folds off", "CPU s"]]
    for name, r in result["strategies"].items():
        chosen = r["chosen_per_fold"]
        off = sum(_folds_off(t, chosen) for t in (chosen[0] if chosen else {}))
        for split, f in r["figures"].items():
            a = f["answers"]
            rows.append([name, split, fmt(a["overall"].get("fact_recall")), fmt(a["overall"].get("citation_support")),
                         fmt(a.get("unanswerable", {}).get("abstention")), fmt(a["overall"].get("false_abstention")),
                         fmt(a.get("paraphrase", {}).get("fact_recall")), fmt(a.get("clause", {}).get("fact_recall")),
                         _whole(a["overall"].get("chars_p50")), fmt(f["retrieval"].get("overall", {}).get("mrr")),
                         str(off), _whole(r.get("cpu_seconds"))])
    return rows


def _whole(v: Any) -> str:
    return "—" if v is None or v != v else f"{v:.0f}"


def write_strategies(result: dict[str, Any], out_dir: Path) -> str:
    """``strategies.json`` and ``strategies.md`` in ``out_dir``; returns the table as text."""
    (out_dir / "strategies.json").write_text(json.dumps(_json_safe(result), ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    rows = strategies_table(result)
    cv = result["cv"]
    rules = "\n".join(f"- `{n}`: {', '.join(f'{k} = {v:g}' for k, v in r['rule'].items())}"
                      for n, r in result["strategies"].items())
    (out_dir / "strategies.md").write_text(
        f"# Selection rules out of fold\n\ncommit `{result['git_commit'][:12]}` · {cv['k']} folds, seed {cv['seed']} "
        "(the folds of `eval`) · `python -m assistant eval --strategies`\n\nEach rule decides, inside each fold's "
        "search (`tuning.choose`), when a tunable's best grid value replaces the current one; every figure is out "
        f"of fold.\n\n{rules}\n\n" + md_table(rows) + "\n", encoding="utf-8")
    return text_table(rows)
