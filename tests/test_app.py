"""The Gradio app over HTTP: answers and citations equal the pipeline's, sessions are
isolated under concurrent use, feedback is persisted, document text is escaped."""
from __future__ import annotations

import html
import json
import threading
from pathlib import Path

import pytest

from app_harness import XSS_LINE, served_app
from assistant.feedback import FeedbackLog
from assistant.settings import PROJECT_ROOT
from assistant.ui import citation_text, find_quote, highlight_quote, render_answer_text

pytestmark = pytest.mark.slow

GOLD = PROJECT_ROOT / "eval" / "gold" / "dev.jsonl"
ESCAPED_XSS = "&lt;img src=x onerror=alert(1)&gt;"


def gold_questions(n: int) -> list[str]:
    """Distinct single-turn questions from the dev set: realistic inputs, any of them."""
    out = []
    with open(GOLD, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not row.get("history") and row["question"] not in out:
                out.append(row["question"])
    assert len(out) >= n, f"{GOLD} has only {len(out)} single-turn questions"
    return out[:n]


@pytest.fixture(scope="module")
def served():
    return served_app()


def client(served):
    from gradio_client import Client

    # the client's defaults, as a user of the API has them
    return Client(served.url, verbose=False)


def ask(c, question: str, places: list[str] | None = None):
    """(answer JSON, chat messages, cards HTML, retrieved HTML) from the /ask endpoint."""
    out = c.predict(question, places or [], False, api_name="/ask")
    _question_box, chat, cards, retrieved, answer, _cited, _status = out
    return json.loads(answer), chat, cards, retrieved


def message_text(msg: dict) -> str:
    content = msg["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def same_answer(got: dict, want: dict) -> None:
    assert got["question"] == want["question"]
    assert got["answer"] == want["answer"]
    assert got["not_found"] == want["not_found"]
    assert got["citations"] == want["citations"]
    assert [(r["doc_id"], r["path"]) for r in got["retrieved"]] == [(r["doc_id"], r["path"]) for r in want["retrieved"]]


def test_answer_and_citations_match_the_pipeline(served):
    c = client(served)
    for q in gold_questions(3):
        answer, chat, cards, _ = ask(c, q)
        same_answer(answer, served.pipeline.ask(q))
        bubble = message_text(chat[-1])
        assert chat[-2]["role"] == "user" and chat[-1]["role"] == "assistant"
        turn = len(chat) // 2 - 1
        for cit in answer["citations"]:
            # every [n] marker links to its card, and the card shows the quote highlighted
            anchor = f'href="#cite-{turn}-{cit["n"]}"'
            assert anchor in bubble
            assert f'id="cite-{turn}-{cit["n"]}"' in cards
            assert highlight_quote(cit["clause_text"], cit["quote"]) in cards
            assert "<mark>" in highlight_quote(cit["clause_text"], cit["quote"])
            # the copy button carries 《title》 path: “quote”
            assert f'data-cite="{html.escape(citation_text(cit))}"' in cards
            assert citation_text(cit).startswith(cit["title"] if cit["title"].startswith("《") else "《")


def test_conversation_history_is_passed_back(served):
    c = client(served)
    first = gold_questions(1)[0]
    a1, _, _, _ = ask(c, first)
    follow = "那宁波呢？"
    a2, chat, _, _ = ask(c, follow)
    assert len(chat) == 4  # both turns are kept on the page
    want = served.pipeline.ask(follow, history=[{"q": first, "a": a1["answer"]}])
    same_answer(a2, want)


def test_ten_concurrent_users_each_get_their_own_answer(served):
    questions = gold_questions(10)
    expected = {q: served.pipeline.ask(q) for q in questions}
    results: dict[int, dict] = {}
    errors: list[BaseException] = []
    feedback_before = len(FeedbackLog(served.settings.eval_dir).read_all())
    start = threading.Barrier(len(questions))

    def user(i: int, q: str) -> None:
        try:
            c = client(served)
            start.wait(timeout=60)
            results[i] = ask(c, q)[0]
            # feedback goes to this session's own last answer
            c.predict(f"user-{i}", api_name="/feedback_up")
        except BaseException as e:  # reported below with the others
            errors.append(e)

    threads = [threading.Thread(target=user, args=(i, q)) for i, q in enumerate(questions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert len(results) == len(questions)
    for i, q in enumerate(questions):
        same_answer(results[i], expected[q])
    records = FeedbackLog(served.settings.eval_dir).read_all()[feedback_before:]
    by_user = {r["comment"]: r for r in records}
    assert len(by_user) == len(questions)
    for i, q in enumerate(questions):
        assert by_user[f"user-{i}"]["question"] == q
        assert by_user[f"user-{i}"]["answer"] == expected[q]["answer"]


def test_the_app_runs_on_the_lean_gradio_import(served):
    """The served app's gradio was imported through gradio_import (this process imported
    assistant first), and answering never touched the pandas it defers (unless a pytest
    plugin had imported pandas before gradio: then there was nothing to defer)."""
    import sys

    from assistant.gradio_import import status

    ask(client(served), gold_questions(1)[0])
    done = status()
    assert {k: done[k] for k in ("gradio.component_meta", "gradio.events", "gradio.utils")} == {
        "gradio.component_meta": "changed", "gradio.events": "changed", "gradio.utils": "changed"}
    if "pandas" in done:
        assert done["pandas"] == "deferred" and type(sys.modules["pandas"]).__name__ == "_LazyModule"


def test_feedback_is_appended_and_survives(served):
    log_path = Path(served.settings.eval_dir) / "feedback.jsonl"
    before = log_path.read_text(encoding="utf-8").splitlines() if log_path.exists() else []
    c = client(served)
    q = gold_questions(2)[1]
    answer, _, _, _ = ask(c, q)
    status, cleared = c.predict("引用的条款不够具体", api_name="/feedback_down")
    assert cleared == "" and status
    after = log_path.read_text(encoding="utf-8").splitlines()
    assert after[: len(before)] == before  # earlier lines untouched
    assert len(after) == len(before) + 1
    rec = json.loads(after[-1])
    assert rec["rating"] == "down"
    assert rec["comment"] == "引用的条款不够具体"
    assert rec["question"] == q
    assert rec["answer"] == answer["answer"]
    assert rec["citations"] == answer["citations"]
    assert rec["time"]


def test_feedback_log_is_thread_safe(tmp_path):
    log = FeedbackLog(tmp_path)
    n_threads, per_thread = 8, 25

    def write(t: int) -> None:
        for i in range(per_thread):
            log.append(question=f"q{t}", answer="a" * 500, citations=[{"n": 1}], rating="up", comment=f"{t}-{i}")

    threads = [threading.Thread(target=write, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n_threads * per_thread
    assert {json.loads(x)["comment"] for x in lines} == {f"{t}-{i}" for t in range(n_threads) for i in range(per_thread)}
    with pytest.raises(Exception, match="rating"):
        log.append(question="q", answer="a", citations=[], rating="meh")


def test_markup_in_a_document_is_shown_as_text(served):
    c = client(served)
    answer, chat, cards, retrieved = ask(c, "页面安全有什么要求？", places=[served.xss_doc_id])
    # the precondition: the injected line really reached the answer data
    texts = [r["text"] for r in answer["retrieved"]] + [x["clause_text"] for x in answer["citations"]]
    assert any(XSS_LINE in t for t in texts), "the injection plan was not retrieved; the test would prove nothing"
    assert all(r["doc_id"] == served.xss_doc_id for r in answer["retrieved"])  # the plan filter applied
    pages = {"chat": message_text(chat[-1]), "cards": cards, "retrieved": retrieved}
    assert ESCAPED_XSS in pages["retrieved"]
    for name, page in pages.items():
        assert "<img" not in page, f"raw markup from a document reached the {name} HTML"
    # the document view of that plan
    _choices, outline, body = c.predict(served.xss_doc_id, api_name="/show_plan")
    assert ESCAPED_XSS in body and "<img" not in body and "<img" not in outline


def test_answer_markdown_is_escaped_before_our_markup():
    html = render_answer_text("**重点** <script>alert(1)</script> 见[2]", turn=3)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>重点</strong>" in html
    assert '<a class="cite-link" href="#cite-3-2">[2]</a>' in html
    # a quote found despite full-width/half-width differences is marked where it sits
    assert find_quote("支持企业（试点）开展托管。", "企业(试点)开展") == (2, 10)


def test_cited_clause_opens_in_the_document_view(served):
    c = client(served)
    answer, _, _, _ = ask(c, gold_questions(1)[0])
    assert answer["citations"], "this question is expected to be answered with citations"
    cit = answer["citations"][0]
    from assistant.ingest import read_clauses

    clause = next(x for x in read_clauses(served.settings.index_dir)
                  if x.doc_id == cit["doc_id"] and x.path == cit["path"] and x.is_leaf)
    cid = clause.clause_id
    plan, clause_dd, outline, body = c.predict(cid, api_name="/open_clause")
    assert plan == cit["doc_id"]
    assert (clause_dd["value"] if isinstance(clause_dd, dict) else clause_dd) == cid
    anchor = "clause-" + cid.replace("#", "-")
    assert f'class="clause focus" id="{anchor}"' in body
    assert f'href="#{anchor}"' in outline


def test_answer_matches_the_ask_cli(served):
    """What the app shows is what `python -m assistant ask --json` gives, over the same index."""
    import os
    import subprocess
    import sys

    q = gold_questions(4)[3]
    env = dict(os.environ, ASSISTANT_CORPUS_DIR=served.settings.corpus_dir,
               ASSISTANT_INDEX_DIR=served.settings.index_dir, ASSISTANT_EVAL_DIR=served.settings.eval_dir)
    env.pop("ASSISTANT_CONFIG", None)
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", q, "--json"], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    answer, _chat, _cards, _ = ask(client(served), q)
    same_answer(answer, json.loads(out.stdout))
