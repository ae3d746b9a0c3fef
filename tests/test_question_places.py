"""A place named in the question decides where the answer comes from (issue 11, defects
1 and 2): neither the place filter nor an earlier turn's place may answer a question
about another place from the wrong plan. Real plans, real index, the real CLI."""
from __future__ import annotations

import json
import subprocess
import sys

from assistant.settings import PROJECT_ROOT

JIAXING_Q = "嘉兴规划中知识产权质押融资的目标是多少？"
HANGZHOU_Q = "杭州的专利资助标准是多少？"


def plan_id(pipeline, place: str) -> str:
    return next(p.id for p in pipeline.retriever.plans if place in (p.place or ""))


def cited_places(reply: dict) -> set[str]:
    return {c["place"] for c in reply["citations"]}


def test_filter_on_another_place_follows_the_question_and_says_so(pipeline):
    ningbo = plan_id(pipeline, "宁波")
    reply = pipeline.ask(JIAXING_Q, places=[ningbo])
    assert "200亿" in reply["answer"] and "40亿" not in reply["answer"]
    assert cited_places(reply) == {"嘉兴市"}
    assert any("不在所选的规划范围内" in n and "嘉兴" in n for n in reply["notes"])
    # a filter the question agrees with is used silently
    reply = pipeline.ask(JIAXING_Q, places=[plan_id(pipeline, "嘉兴"), ningbo])
    assert "200亿" in reply["answer"] and not reply["notes"]


def test_filter_and_a_place_no_plan_covers(pipeline):
    reply = pipeline.ask(HANGZHOU_Q, places=[plan_id(pipeline, "宁波")])
    assert reply["not_found"] and "杭州" in reply["answer"]
    assert not reply["citations"] or "宁波市" not in reply["answer"].split("\n")[0]


def history(pipeline) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for q in ("海门的专利资助标准是多少？", "那宁波呢？"):
        turns.append({"q": q, "a": pipeline.ask(q, history=turns)["answer"]})
    return turns


def test_earlier_place_does_not_leak_into_a_question_about_another(pipeline):
    turns = history(pipeline)
    fresh = pipeline.ask(HANGZHOU_Q)
    for q in (HANGZHOU_Q, "那杭州呢？"):
        reply = pipeline.ask(q, history=turns)
        assert reply["not_found"] and "杭州" in reply["answer"].split("\n")[0], (q, reply["answer"])
    # answered as if asked fresh (the related clauses it lists included)
    assert pipeline.ask(HANGZHOU_Q, history=turns)["answer"] == fresh["answer"]
    # an elliptic follow-up about a plan's place still follows the conversation
    reply = pipeline.ask("那绍兴呢？", history=turns)
    assert cited_places(reply) == {"绍兴市"}


def test_cli_history_does_not_leak_a_place(pipeline, index_settings, tmp_path):
    hist = tmp_path / "history.json"
    hist.write_text(json.dumps(history(pipeline), ensure_ascii=False), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "ASSISTANT_INDEX_DIR": index_settings.index_dir,
           "ASSISTANT_CORPUS_DIR": index_settings.corpus_dir, "ASSISTANT_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.run([sys.executable, "-m", "assistant", "ask", "--history", str(hist), HANGZHOU_Q, "--json"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reply = json.loads(proc.stdout)
    assert reply["not_found"] and "杭州" in reply["answer"].split("\n")[0]
    assert reply["answer"] == pipeline.ask(HANGZHOU_Q)["answer"]


def test_top_k_is_how_many_clauses_the_answer_draws_on(pipeline):
    """The app's top-k setting: with 1, one clause is retrieved and every citation is it."""
    wide = pipeline.ask(JIAXING_Q)
    narrow = pipeline.ask(JIAXING_Q, top_k=1)
    assert len(wide["retrieved"]) > 1 and len(narrow["retrieved"]) == 1
    only = narrow["retrieved"][0]
    assert narrow["citations"] and all(c["doc_id"] == only["doc_id"] and (
        c["path"].startswith(only["path"]) or only["path"].startswith(c["path"])) for c in narrow["citations"])
