"""The Gradio app: chat with clause citations, a document reader, feedback.

``build_app(pipeline, settings)`` returns the Blocks; ``launch_app`` starts it with
the page assets (CSS, the small click-handling script, theme) that Gradio 6 takes
at launch time; ``run_cli`` is ``python -m assistant serve`` and ``app.py``.

Security: everything that comes from a document, a question or an LLM is escaped
before it is placed into HTML built here, and nothing of it may make the browser
fetch anything: answers are rendered from Markdown here, with raw HTML escaped and
no images, links or autolinks (``ANSWER_MARKDOWN``), and the chat shows that HTML as
it is (``render_markdown=False``), so ``![t](http://host/x.png)`` or a bare URL stays
text. The only links are our own ``[n]`` anchors to citation cards. ``webguard``
adds a Content-Security-Policy that keeps every fetch on the page's own origin.

State: each browser session keeps its conversation in a ``gr.State`` (a list of
answer dicts); the pipeline and the clause tables are shared and only read.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from typing import Any, AsyncIterator, Callable, Mapping, Sequence

import gradio as gr

from . import lexicons
from .ask import printable
from .errors import AssistantError
from .export import answer_markdown, citation_text
from .export import with_brackets as _with_brackets
from .feedback import FeedbackLog
from .conversations import store_for
from .library import Library, is_pipe_row, make_library  # noqa: F401 (Library: the app's, re-exported)
from .live import LiveIndex
from .ui_chats import ChatList
from .ui_kb import knowledge_tab
from .models import Clause, PlanMeta
from .redact import Redactor
from .ui_tables import (header_line, heading_before_table, quoted_rows_as_columns, quoted_tables_in_answer,
                        render_clause_text, table_row_html)
from .workers import (EXTRACTIVE_WORKERS, LLM_WORKERS, AnswerWorkers, answer_in_process,  # noqa: F401
                      answer_workers, llm_status as _llm_status)

APP_TITLE = "知识产权规划问答助手"
NOT_FOUND_NOTICE = "现有规划文件未明确规定该问题的内容。以下是检索到的相关条款，供参考："
RELATED_NOTICE = "文件没有直接回答这个问题；以下是检索到的相关条款，供参考："
# How many turns of the conversation are passed back to the pipeline: enough for
# follow-ups ("那宁波呢？"), few enough that an old topic does not steer retrieval.
HISTORY_TURNS = 4
# Concurrent handlers of each other event (feedback, the document view).
EVENT_CONCURRENCY = 4
# Turns one session keeps (and shows): its memory is bounded, whatever the user does.
MAX_TURNS = 20
# Retrieved clauses shown as "related" under an answer that found nothing.
RELATED_SHOWN = 5
# a citation of an answer made from an earlier index (a conversation restored after the
# knowledge base changed), or of a file written since the index was built: what the card
# says instead of presenting the quote as the file's current text (Library.citation_state)
STALE_NOTES = {
    "changed": "注意：此条款在回答之后已更改，引文与当前文件不符；请重新提问。",
    "removed": "注意：此条款已不在当前知识库中（文件已删除或已更改）；请重新提问。",
    "file_changed": "注意：此文件在建立索引后已被改动（索引尚未重建），引文可能与文件不符。",
    "file_gone": "注意：此文件在建立索引后已被移走（索引尚未重建）。",
}
EMPTY_QUESTION = "请输入问题。"
# in the answer's place while it is computed; the second while the server's start-up
# warm-up (index, encoder, tokenizer) is still running and the question waits for it
SEARCHING = "正在检索相关条款…"
LOADING_INDEX = "正在加载检索索引（服务刚启动），加载完成后即回答…"

# Example questions, one group per kind of user.
EXAMPLES: dict[str, list[str]] = {
    "企业咨询": [
        "我们是海门的中小企业，想申请专利托管服务，区里有什么支持？",
        "绍兴企业遇到海外知识产权纠纷，可以得到哪些帮助？",
    ],
    "条款查询": [
        "嘉兴规划中知识产权质押融资的目标是多少？",
        "运城市强市建设试点的主要目标有哪些？",
    ],
    "跨城比较": [
        "宁波和绍兴在知识产权保护方面分别有哪些举措？",
        "各地规划对高价值专利拥有量提出了什么目标？",
    ],
}

_CITE_RE = re.compile(r"\[(\d{1,3})\]")


# ---------------------------------------------------------------------------
# rendering: pure functions from answer dicts / clauses to safe HTML
# ---------------------------------------------------------------------------
def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def cite_anchor(turn: int, n: int | str) -> str:
    return f"cite-{turn}-{n}"


def clause_anchor(clause_id: str) -> str:
    # clause ids look like "jiaxing#12"; '#' is not usable in an element id we link to
    return "clause-" + re.sub(r"[^A-Za-z0-9_-]", "-", clause_id)


def _answer_markdown():
    """CommonMark (plus tables and strikethrough) that cannot fetch or link: raw HTML
    is escaped, and images, links, autolinks and link reference definitions are off
    (their text stays as written); linkify is off, so bare URLs are text."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.disable(["image", "link", "autolink", "reference", "html_inline", "html_block"])
    md.enable(["table", "strikethrough"])
    return md


ANSWER_MARKDOWN = _answer_markdown()


def render_answer_text(answer_md: str, turn: int, columns_of: Callable[[int], Sequence[str]] = lambda n: (),
                       slots: Mapping[str, str] | None = None) -> str:
    """The answer's markdown as safe HTML, quoted table rows as columns (headed by
    ``columns_of(n)`` for citation n), each slot (``ui_tables.quoted_tables_in_answer``)
    replaced by its HTML, each [n] linked to its citation card."""
    out = quoted_rows_as_columns(ANSWER_MARKDOWN.render(answer_md or ""), columns_of)
    for slot, html in (slots or {}).items():
        out = out.replace(slot, html)
    return _CITE_RE.sub(
        lambda m: f'<a class="cite-link" href="#{cite_anchor(turn, m.group(1))}">[{m.group(1)}]</a>', out
    )


def _same(text: str) -> str:
    return text


def _to_simplified(text: str) -> str:
    from .textnorm import to_simplified

    return to_simplified(text)


def render_answer_message(answer: dict[str, Any], turn: int, columns: Callable[[dict], Sequence[str]] = lambda c: (),
                          script: Callable[[str], str] = _same, tables: Callable[[dict], Sequence] = lambda c: ()) -> str:
    """The chat bubble for one finished answer (``columns(citation)``: the column
    names of a cited table row; ``script``: the display script, e.g. ``to_simplified``;
    ``tables(citation)``: the laid-out tables of its document, corpus/tables.toml;
    the copied Markdown keeps the original words)."""
    parts = []
    # the notice is added only where the answer does not already say so itself (the
    # answerers' not-found replies always do: one not-found message, never two)
    if answer.get("not_found") and not (answer.get("answer") or "").strip():
        parts.append(f'<div class="notfound">{esc(NOT_FOUND_NOTICE)}</div>')
    cites = answer.get("citations") or []
    by_n = {str(c.get("n")): c for c in cites}
    shown, slots = quoted_tables_in_answer(script(answer.get("answer", "")), cites, tables, script)
    parts.append(render_answer_text(shown, turn, lambda n: columns(by_n[str(n)]) if str(n) in by_n else (), slots))
    if cites:
        refs = " ".join(
            f'<a class="cite-link" href="#{cite_anchor(turn, c.get("n"))}">[{esc(c.get("n"))}] '
            f'{esc(script(_short_title(c)))} {esc(c.get("path", ""))}</a>'
            for c in cites
        )
        parts.append(f'<div class="refs">出处：{refs}</div>')
    # Gradio's own copy button would copy this HTML: ours copies the Markdown, kept
    # in the bubble as hidden text (the chat's sanitizer drops data- attributes)
    # the download links name their turn and format in the href (data- attributes are dropped)
    parts.append(f'<div class="msg-actions"><button type="button" class="copy-answer">复制回答</button>'
                 f'<a href="#download-{turn}-md" class="download-answer">下载 Markdown</a>'
                 f'<a href="#download-{turn}-docx" class="download-answer">下载 Word</a>'
                 f'<pre class="answer-md">{esc(answer_markdown(answer, tables))}</pre></div>')
    return f'<div class="msg">{"".join(parts)}</div>'


def _short_title(c: dict[str, Any]) -> str:
    place = c.get("place") or ""
    return place or _with_brackets(c.get("title", ""))


def _norm_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower()


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` sits in ``text``: exactly, or ignoring width/case/whitespace
    differences (quotes are often normalised copies of the clause)."""
    quote = (quote or "").strip()
    if not quote or not text:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    norm, index = [], []
    for pos, ch in enumerate(text):
        for nc in _norm_char(ch):
            if not nc.isspace():
                norm.append(nc)
                index.append(pos)
    q = "".join(nc for ch in quote for nc in _norm_char(ch) if not nc.isspace())
    j = "".join(norm).find(q)
    if j < 0 or not q:
        return None
    return index[j], index[j + len(q) - 1] + 1


def highlight_quote(text: str, quote: str, columns: Sequence[str] = (), tables: Sequence = ()) -> str:
    """The clause text escaped (its table rows as columns, the tables of ``tables`` laid
    out), with the quoted sentence inside <mark>."""
    span = find_quote(text, quote)
    body = render_clause_text(text, span, columns, tables)
    if span is None and quote:
        body += f'<div class="quote-alone">引文：<mark>{esc(quote)}</mark></div>'
    return body


def render_card(c: dict[str, Any], turn: int, clause_id: str | None, columns: Sequence[str] = (),
                script: Callable[[str], str] = _same, tables: Sequence = (), state: str = "") -> str:
    """One citation card; shown in ``script`` (the copied citation keeps the original words);
    ``tables``: the laid-out tables of its document (corpus/tables.toml); ``state``: the
    clause changed or removed since the answer (``Library.citation_state``)."""
    path = c.get("path") or ""
    original = c.get("clause_text") or c.get("quote") or ""
    clause_text = script(original)
    heading = heading_before_table(script(c.get("heading") or ""), clause_text, tables)
    cite = citation_text(c, tables)
    converted = ('<div class="muted script-note">繁体原文按简体显示；复制引用为原文。</div>'
                 if clause_text != original else "")
    open_link = (
        f'<a href="#" class="open-clause" data-clause="{esc(clause_id)}">在原文中查看 ↗</a>' if clause_id else ""
    )
    return (
        f'<div class="cite-card" id="{cite_anchor(turn, c.get("n"))}">'
        f'<div class="cite-head"><span class="cite-n">[{esc(c.get("n"))}]</span>'
        f'<span class="cite-title">{esc(script(_with_brackets(c.get("title", ""))))}</span>'
        f'<span class="cite-place">{esc(script(c.get("place", "")))}</span></div>'
        f'<div class="cite-path">{esc(path)}{" · " + esc(heading) if heading else ""}</div>'
        + (f'<div class="notfound stale-note">{esc(STALE_NOTES[state])}</div>' if state in STALE_NOTES else "")
        + f'<div class="cite-clause">{highlight_quote(clause_text, script(c.get("quote", "")), columns, tables)}</div>{converted}'
        f'<div class="cite-actions"><button type="button" class="copy-cite" data-cite="{esc(cite)}">复制引用</button>'
        f"{open_link}</div>"
        f'<div class="cite-copytext" title="可选中复制">{esc(cite)}</div>'
        f"</div>"
    )


def render_related(answer: dict[str, Any], titles: dict[str, str], limit: int = RELATED_SHOWN) -> str:
    rows = []
    for r in (answer.get("retrieved") or [])[:limit]:
        rows.append(
            f'<li><span class="cite-title">{esc(_with_brackets(titles.get(r.get("doc_id", ""), r.get("doc_id", ""))))}</span> '
            f'<span class="cite-path">{esc(r.get("path", ""))}</span><div class="related-text">{esc(r.get("text", ""))}</div></li>'
        )
    return f'<ul class="related">{"".join(rows)}</ul>' if rows else ""


def render_cards(turns: Sequence[dict[str, Any]], resolve, titles: dict[str, str],
                 columns: Callable[[dict], Sequence[str]] = lambda c: (), script: Callable[[str], str] = _same,
                 tables: Callable[[dict], Sequence] = lambda c: (), state: Callable[[dict], str] = lambda c: "") -> str:
    """Citation cards for every answer, newest first; older answers collapsed; ``state``
    says of a citation whether its clause changed or went since (``Library.citation_state``)."""
    blocks = []
    answered = [(i, t) for i, t in enumerate(turns) if not t.get("error")]
    for rank, (i, t) in enumerate(reversed(answered)):
        cards = "".join(render_card(c, i, resolve(c), columns(c), script, tables(c), state(c))
                        for c in t.get("citations") or [])
        body = ""
        if t.get("not_found"):
            # the related clauses: the answer's own citations when it gives some, else the retrieved ones
            body += f'<div class="muted">{esc(RELATED_NOTICE)}</div>'
            if not cards:
                body += render_related(t, titles)
        body += cards or ('<div class="muted">本回答没有引用条款。</div>' if not t.get("not_found") else "")
        notes = t.get("notes")
        if notes:
            notes = notes if isinstance(notes, str) else "；".join(map(str, notes))
            body += f'<div class="muted">说明：{esc(notes)}</div>'
        q = esc(t.get("question", ""))
        if rank == 0:
            blocks.append(f'<div class="turn-cards"><div class="turn-q">问：{q}</div>{body}</div>')
        else:
            blocks.append(f'<details class="turn-cards"><summary>问：{q}</summary>{body}</details>')
    if not blocks:
        return '<div class="muted placeholder">提问后，回答所引用的条款会显示在这里：规划名称、条款编号、原文，以及被引用的句子。</div>'
    return "".join(blocks)


def render_retrieved(answer: dict[str, Any] | None, titles: dict[str, str]) -> str:
    if not answer or not answer.get("retrieved"):
        return '<div class="muted">暂无。</div>'
    rows = []
    for i, r in enumerate(answer["retrieved"], 1):
        score = r.get("score")
        score_s = f"{score:.3f}" if isinstance(score, (int, float)) else ""
        rows.append(
            f'<div class="retrieved"><div class="cite-head"><span class="cite-n">{i}</span>'
            f'<span class="cite-title">{esc(_with_brackets(titles.get(r.get("doc_id", ""), r.get("doc_id", ""))))}</span>'
            f'<span class="cite-path">{esc(r.get("path", ""))}</span><span class="score">{score_s}</span></div>'
            f'<div class="related-text">{esc(r.get("text", ""))}</div></div>'
        )
    return "".join(rows)


def render_user_message(question: str) -> str:
    return f'<div class="msg">{esc(question).replace(chr(10), "<br>")}</div>'


# -- document view ---------------------------------------------------------
def _depth(c: Clause) -> int:
    return len(c.parent_paths)


def render_outline(clauses: Sequence[Clause], tables: Sequence = ()) -> str:
    """The plan's outline as a nested tree (by parent path), each entry linking to its clause
    (a heading run on into a laid-out table's header, ``tables``, cut where the table begins)."""
    children: dict[str | None, list[Clause]] = {}
    paths = {c.path for c in clauses}
    for c in clauses:
        parent = c.parent_paths[-1] if c.parent_paths and c.parent_paths[-1] in paths else None
        children.setdefault(parent, []).append(c)

    seen: set[str] = set()

    def node(c: Clause) -> str:
        label = f'<a class="outline-link" href="#{clause_anchor(c.clause_id)}">{esc(_outline_label(c, tables))}</a>'
        kids = [k for k in children.get(c.path, []) if k.clause_id not in seen]
        seen.update(k.clause_id for k in kids)
        if not kids:
            return f"<li>{label}</li>"
        inner = "".join(node(k) for k in kids)
        return f"<li><details open><summary>{label}</summary><ul>{inner}</ul></details></li>"

    roots = children.get(None, [])
    seen.update(c.clause_id for c in roots)
    return f'<ul class="outline">{"".join(node(c) for c in roots)}</ul>'


def _outline_label(c: Clause, tables: Sequence = ()) -> str:
    head = heading_before_table(c.heading, c.text, tables) or c.text[:24] + ("…" if len(c.text) > 24 else "")
    number = c.number if c.number and c.number not in head else ""
    return f"{number} {head}".strip()


def render_document(meta: PlanMeta | None, clauses: Sequence[Clause], focus: str | None = None,
                    tables: Sequence = ()) -> str:
    """The plan clause by clause; the focused clause is highlighted (and scrolled to by
    the page script). The rows of a recovered table are one table, headed by its columns;
    a table of ``tables`` (corpus/tables.toml) is shown with its columns."""
    if not clauses:
        return '<div class="muted">请选择一份规划。</div>'
    head = ""
    if meta is not None:
        facts = " · ".join(esc(x) for x in (meta.place, meta.issuer, meta.date, meta.doc_number) if x)
        head = f'<div class="doc-title">{esc(_with_brackets(meta.title))}</div><div class="muted">{facts}</div>'
    rows = []
    header = ""  # the Markdown header row of the table whose rows follow
    i = 0
    while i < len(clauses):
        c = clauses[i]
        if _is_row(c):
            group = [c]
            while i + 1 < len(clauses) and _same_table(c, clauses[i + 1]):
                i += 1
                group.append(clauses[i])
            rows.append(_table_rows(group, focus, header))
        elif c.level == "table" and i + 1 < len(clauses) and _is_row(clauses[i + 1]):
            # a recovered table's own clause holds its caption and header cells: the header is the table's head
            rows.append(_clause_div(c, focus, esc(c.heading or c.text.split("\n", 1)[0])))
            header = header_line(c.text)
        else:
            rows.append(_clause_div(c, focus, render_clause_text(_without_number(c), tables=tables)))
        i += 1
    return head + '<div class="doc-body">' + "".join(rows) + "</div>"


def _is_row(c: Clause) -> bool:
    return c.level in ("table_row", "attachment_row") and len(c.fields) >= 2


def _same_table(a: Clause, b: Clause) -> bool:
    """Whether row ``b`` continues ``a``'s table (a pipe row's fields differ when a cell
    spans columns; a recovered row's fields are its table's columns)."""
    return _is_row(b) and b.parent_paths == a.parent_paths and (
        is_pipe_row(a) and is_pipe_row(b) or list(b.fields) == list(a.fields))


def _without_number(c: Clause) -> str:
    """The clause's text without its own number when the path shown beside it ends with it
    (``一、`` ``一、主要指标`` would show the number twice)."""
    number = (c.number or "").strip()
    if number and c.text.startswith(number) and c.path.endswith(number):
        return c.text[len(number):].lstrip()
    return c.text


def _clause_div(c: Clause, focus: str | None, body: str) -> str:
    cls = "clause" + (" focus" if c.clause_id == focus else "") + ("" if c.is_leaf else " branch")
    return (f'<div class="{cls}" id="{clause_anchor(c.clause_id)}" style="margin-left:{min(_depth(c), 4) * 1.2}em">'
            f'<span class="clause-path">{esc(c.path)}</span>{body}</div>')


def _table_rows(group: Sequence[Clause], focus: str | None, header: str = "") -> str:
    """Rows of one table as a <table>: its columns as head, each row a clause (anchor, focus).
    Pipe rows are shown as written (a spanning cell over its columns) under ``header``."""
    pipe = is_pipe_row(group[0]) and bool(header)
    head = table_row_html(header, "th") if pipe else \
        "<tr>" + "".join(f"<th>{esc(k)}</th>" for k in group[0].fields) + "</tr>"
    body = "".join(
        (table_row_html(c.text.strip()) if pipe else
         "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in c.fields.values()) + "</tr>")
        .replace("<tr>", f'<tr class="clause{" focus" if c.clause_id == focus else ""}" '
                         f'id="{clause_anchor(c.clause_id)}">', 1)
        for c in group)
    return (f'<div class="table-wrap" style="margin-left:{min(_depth(group[0]), 4) * 1.2}em">'
            f'<table class="clause-table"><thead>{head}</thead><tbody>{body}</tbody></table></div>')


# ---------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------
def export_file_of(turns: list, kind: str, title: str = "对话记录", tables_of=None) -> str:
    """The conversation (or the one turn given) written to a fresh temporary file, as
    Markdown (``kind`` "md") or Word ("docx"); Gradio serves it for download.
    ``tables_of``: a citation's laid-out tables (``Library.tables``)."""
    from datetime import datetime

    from .export import conversation_docx, conversation_markdown, export_path

    if not any(not t.get("error") for t in turns or []):
        raise gr.Error("还没有可以导出的回答。", print_exception=False)
    path = export_path(f"{title}-{datetime.now():%Y%m%d-%H%M%S}.{'md' if kind == 'md' else 'docx'}")
    if kind == "md":
        path.write_text(conversation_markdown(turns, title, tables_of), encoding="utf-8")
    else:
        path.write_bytes(conversation_docx(turns, title, tables_of))
    return str(path)


def answer_file_of(turns: list, evt: gr.EventData, tables_of=None) -> str:
    """One answer of the conversation (the bubble's 下载 link: ``{turn, kind}``) as a file."""
    data = getattr(evt, "_data", None) or {}
    try:
        turn = int(data.get("turn"))
    except (AttributeError, TypeError, ValueError):
        turn = -1
    if not 0 <= turn < len(turns or []):
        raise gr.Error("找不到这条回答（对话可能已清空），请重新提问。", print_exception=False)
    return export_file_of([turns[turn]], "docx" if data.get("kind") == "docx" else "md", f"回答{turn + 1}", tables_of)


def _index_model(pipeline, settings) -> str:
    """The embedding model of the index actually loaded (falls back to the setting)."""
    from .index import read_manifest

    store = getattr(getattr(pipeline, "retriever", None), "store", None) or getattr(pipeline, "store", None)
    manifest = getattr(store, "manifest", None)
    if not isinstance(manifest, dict):
        manifest = read_manifest(settings.index_dir) or {}
    return str(manifest.get("embedding", {}).get("model") or settings.embedding_model)


def _history(turns: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    done = [t for t in turns if not t.get("error")]
    return [{"q": t.get("question", ""), "a": t.get("answer", "")} for t in done[-HISTORY_TURNS:]]


def lean_turns(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turns as a session keeps them: the last answer whole (its retrieved clauses
    and raw JSON are shown), an earlier one without the retrieved clauses it does not
    show (all of them, or all but the related ones of an answer that found nothing).
    A kept turn is otherwise what the chat, its cards, feedback and export use."""
    last = next((i for i in range(len(turns) - 1, -1, -1) if not turns[i].get("error")), None)
    kept = []
    for i, t in enumerate(turns):
        shown = RELATED_SHOWN if t.get("not_found") else 0
        if i != last and len(t.get("retrieved") or []) > shown:
            t = {**t, "retrieved": t["retrieved"][:shown]}
        kept.append(t)
    return kept


def _chat_messages(turns: Sequence[dict[str, Any]], columns: Callable[[dict], Sequence[str]] = lambda c: (),
                   script: Callable[[str], str] = _same,
                   tables: Callable[[dict], Sequence] = lambda c: ()) -> list[dict[str, str]]:
    msgs = []
    for i, t in enumerate(turns):
        msgs.append({"role": "user", "content": render_user_message(t.get("question", ""))})
        if t.get("error"):
            msgs.append({"role": "assistant", "content": f'<div class="notfound">{esc(t["error"])}</div>'})
        else:
            msgs.append({"role": "assistant", "content": render_answer_message(t, i, columns, script, tables)})
    return msgs


def _accumulate(so_far: str, piece: str) -> str:
    # ask_stream may yield the whole answer so far or only the new text; accept both
    return piece if piece.startswith(so_far) else so_far + piece


def _raw_json(answer: dict[str, Any]) -> str:
    """The raw-JSON panel's text."""
    return json.dumps(answer, ensure_ascii=False, indent=2)


# the LLM's configuration problems (llm.LLMAnswerer.available, English for the log and the
# command line) as the page says them; anything else is shown as it is, as a detail
LLM_REASONS_ZH = (
    ("no LLM endpoint configured", "未配置大模型服务地址（设置 llm_base_url，例如 Ollama 的 http://localhost:11434/v1）"),
    ("no LLM model configured", "未配置模型名称（设置 llm_model）"),
    ("LLM support not installed", "未安装大模型支持（langchain-openai）"),
)


def render_settings_panel(model: str, answerer: str, llm_ok: bool, llm_reason: str) -> str:
    if llm_ok:
        llm = f"可用（<code>{esc(llm_reason)}</code>）"
    else:
        zh = next((text for prefix, text in LLM_REASONS_ZH if llm_reason.startswith(prefix)), "")
        llm = f"未启用：{esc(zh)}" if zh else f"未启用（配置有误：<code>{esc(llm_reason)}</code>）"
    return (f'<ul class="settings"><li>嵌入模型：<code>{esc(model)}</code></li>'
            f"<li>默认回答方式：<code>{esc(answerer)}</code></li><li>大模型：{llm}</li></ul>")


def _public_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer as JSON-safe data (what the API returns and the raw-JSON panel shows)."""
    return json.loads(json.dumps(answer, ensure_ascii=False, default=str))


CSS = """
.gradio-container { max-width: 1400px !important; font-family: system-ui, "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; }
#app-header h1 { margin-bottom: 0; }
#app-header p { color: var(--body-text-color-subdued); margin-top: 4px; }
/* messages are finished HTML: the chat's plain-text pre-wrap would show its newlines */
#chatbot .msg { white-space: normal; }
#chatbot .msg pre { white-space: pre-wrap; }
#chatbot .msg p { margin: 0.3em 0; }
.cite-link { text-decoration: none; font-weight: 600; color: var(--color-accent) !important; cursor: pointer; }
.refs { font-size: 0.85em; color: var(--body-text-color-subdued); border-top: 1px dashed var(--border-color-primary); padding-top: 4px; }
.refs .cite-link { margin-right: 0.6em; font-weight: 500; }
.notfound::before { content: "!"; display: inline-block; width: 1.2em; height: 1.2em; line-height: 1.2em; text-align: center; border-radius: 50%; background: #fa8c16; color: #fff; font-weight: 700; margin-right: 6px; }
.notfound { background: #fff7e6; border: 1px solid #ffd591; color: #874d00; border-radius: 6px; padding: 6px 10px; margin-bottom: 6px; }
.turn-q { font-weight: 600; margin: 4px 0 8px; }
details.turn-cards > summary { cursor: pointer; color: var(--body-text-color-subdued); margin: 6px 0; }
.cite-card { border: 1px solid var(--border-color-primary); border-left: 4px solid var(--color-accent); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px; background: var(--background-fill-primary); }
.cite-card.flash, .clause.flash { animation: flash 1.6s ease-out; }
@keyframes flash { 0% { box-shadow: 0 0 0 4px #ffd666; } 100% { box-shadow: 0 0 0 0 transparent; } }
.cite-head { display: flex; gap: 0.5em; align-items: baseline; flex-wrap: wrap; }
.cite-n { font-weight: 700; color: var(--color-accent); }
.cite-title { font-weight: 600; }
.cite-place { font-size: 0.8em; background: var(--background-fill-secondary); border-radius: 4px; padding: 0 6px; }
.cite-path { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.cite-clause { font-size: 0.92em; line-height: 1.65; max-height: 14em; overflow-y: auto; }
/* the highlight carries its own text colour: dark text on pale yellow in both themes */
.cite-clause mark, .quote-alone mark { background: #ffe58f; color: #1f1f1f; padding: 0 1px; border-radius: 2px; }
.cite-clause { position: relative; }
.msg-actions { margin-top: 4px; }
.answer-md { display: none !important; }
.copy-answer { font-size: 0.8em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 8px; background: var(--background-fill-secondary); color: var(--body-text-color); cursor: pointer; }
.download-answer { font-size: 0.8em; margin-left: 0.8em; }
.cite-actions { display: flex; gap: 1em; align-items: center; margin-top: 6px; font-size: 0.85em; }
.copy-cite { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 1px 8px; background: var(--background-fill-secondary); cursor: pointer; }
.cite-copytext { font-size: 0.78em; color: var(--body-text-color-subdued); user-select: all; margin-top: 4px; word-break: break-all; white-space: pre-wrap; max-height: 8em; overflow-y: auto; }
.related { padding-left: 1.2em; font-size: 0.9em; }
.related-text { font-size: 0.88em; color: var(--body-text-color); margin: 2px 0 8px; }
.retrieved { border-bottom: 1px solid var(--border-color-primary); padding: 6px 0; }
.retrieved .score { margin-left: auto; font-family: monospace; font-size: 0.8em; color: var(--body-text-color-subdued); }
.muted { color: var(--body-text-color-subdued); font-size: 0.88em; }
.placeholder { padding: 1em; border: 1px dashed var(--border-color-primary); border-radius: 8px; }
.outline { list-style: none; padding-left: 0.2em; font-size: 0.9em; }
.outline ul { list-style: none; padding-left: 1em; }
.outline summary { cursor: pointer; }
.outline-link { text-decoration: none; }
.doc-title { font-size: 1.15em; font-weight: 700; }
.clause { padding: 4px 8px; margin: 2px 0; border-radius: 6px; line-height: 1.7; }
.clause.branch { font-weight: 600; margin-top: 10px; }
.clause.focus { background: #fffbe6; color: #1f1f1f; outline: 2px solid #ffd666; }
.clause.focus .clause-path { color: #2f3aa3; }
/* phone: the answer's citations right under the chat and its question box (they came after
   the chat list, the examples, feedback and export: 1,300 px down); the rest follows */
@media (max-width: 640px) {
  #chat-col { display: contents; }
  #chat-row { flex-wrap: wrap; }
  #chat-row > *, #chat-col > * { flex: 1 1 100% !important; min-width: 0 !important; max-width: 100%; }
  #chat-col > * { order: 5; }
  /* the chat leaves room on the first screen for the answer's first citation (it was 480 px
     high at every width: on a 375×667 phone the cards started below the screen) */
  #chatbot { order: 1; height: clamp(240px, 45vh, 480px) !important; }
  #app-header h1 { font-size: 1.4em; margin-bottom: 0; }
  #app-header p { display: none; }  /* the placeholder in the chat says how to ask */
  #ask-row { order: 2; }
  #cards-col { order: 3; }
  #chats-col { order: 4; }
}
.example-q { justify-content: flex-start !important; text-align: left !important; white-space: normal !important; }
#fb-status { min-width: 180px; align-self: center; }
.kb-table { border-collapse: collapse; font-size: 0.88em; width: 100%; }
.kb-table th, .kb-table td { border: 1px solid var(--border-color-primary); padding: 4px 6px; text-align: left; vertical-align: top; }
.kb-report ul { margin: 4px 0 0 1.2em; }
/* table rows as columns: cards and the reader (a <table>), answers (cells in the sentence) */
.table-wrap { overflow-x: auto; max-width: 100%; }
.clause-table { border-collapse: collapse; font-size: 0.92em; margin: 4px 0; }
.clause-table th, .clause-table td { border: 1px solid var(--border-color-primary); padding: 2px 8px; text-align: left; vertical-align: top; }
.clause-table th { background: var(--background-fill-secondary); font-weight: 600; }
.clause-table tr.clause { display: table-row; }
.clause-table tr.head-again th { font-weight: 500; font-size: 0.9em; }
.quoted-table { margin: 4px 0; }
.row-table { display: inline-table; border-collapse: collapse; vertical-align: middle; margin: 2px 0; }
.rt-row { display: table-row; }
.rt-cell { display: table-cell; border: 1px solid var(--border-color-primary); padding: 1px 6px; }
.rt-head .rt-cell { background: var(--background-fill-secondary); font-weight: 600; font-size: 0.9em; }
.clause-path { display: inline-block; min-width: 3em; margin-right: 0.6em; font-size: 0.8em; color: var(--color-accent); font-weight: 600; }
"""

# Page-level script: citation links and outline entries scroll to their target
# inside the page (the chat's markdown renderer would otherwise open them in a new tab).
HEAD = """
<script>
(function () {
  function flash(el) { el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash'); }
  function copyText(text, done) {
    var fallback = function () {
      var box = document.createElement('textarea');
      box.value = text; box.setAttribute('readonly', ''); box.style.position = 'fixed'; box.style.opacity = '0';
      document.body.appendChild(box); box.select();
      try { document.execCommand('copy'); done(); } catch (err) {}
      document.body.removeChild(box);
    };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); } else { fallback(); }
  }
  document.addEventListener('click', function (e) {
    var download = e.target.closest && e.target.closest('a.download-answer');
    if (download) {
      e.preventDefault();
      e.stopPropagation();
      var m = (download.getAttribute('href') || '').match(/^#download-([0-9]+)-(md|docx)$/);
      if (m && window.assistantDownload) window.assistantDownload(+m[1], m[2]);
      return;
    }
    var copy = e.target.closest && e.target.closest('.copy-answer');
    if (copy) {
      e.preventDefault();
      e.stopPropagation();
      var source = copy.parentElement && copy.parentElement.querySelector('.answer-md');
      copyText(source ? source.textContent : '', function () {
        copy.textContent = '已复制'; setTimeout(function () { copy.textContent = '复制回答'; }, 1500);
      });
      return;
    }
    var a = e.target.closest && e.target.closest('a.cite-link, a.outline-link');
    if (!a) return;
    var id = (a.getAttribute('href') || '').replace(/^#/, '');
    e.preventDefault();
    e.stopPropagation();
    var el = id && document.getElementById(id);
    if (el) {
      var closed = el.closest('details:not([open])');
      if (closed) closed.open = true;
      el.scrollIntoView({behavior: 'smooth', block: 'center'});
      flash(el);
    }
  }, true);
})();
</script>
"""

# Gradio's own English accessible names, tooltips and toast titles, said in Chinese as they
# are rendered (the table is lexicons/page_labels.toml); a chat message is named by its role and its shown
# text, not by its HTML (Gradio's 「bot's message: <div class="msg">…」).
PAGE_LABELS_JS = """
<script>
(function () {
  var table = %s, toasts = %s, roles = %s, attrs = ['aria-label', 'title', 'alt', 'placeholder'];
  var texts = %s.map(function (t) { return [new RegExp(t.pattern), t.zh]; });
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };
  function relabel(el) {
    attrs.forEach(function (a) {
      var v = el.getAttribute && el.getAttribute(a);
      if (!v) return;
      var m = a === 'aria-label' && v.match(/^(\\w+)'s message: /);
      if (m) { el.setAttribute('data-said-role', m[1]); say(el); }
      else if (has(table, v)) el.setAttribute(a, table[v]);
    });
  }
  function say(message) {  // a message: its role and its words as shown, again whenever they change
    var said = (roles[message.getAttribute('data-said-role')] || '') + (message.innerText || '').replace(/\\s+/g, ' ').trim();
    if (said !== message.getAttribute('aria-label')) message.setAttribute('aria-label', said);
  }
  function retext(node) {  // a text node (Gradio sets it again only when its value changes)
    var v = node.nodeValue.trim(), parent = node.parentElement;
    if (!v || v.length > 60 || !parent) return;
    if (parent.matches('.toast-title')) { if (has(toasts, v)) node.nodeValue = toasts[v] + ' '; return; }
    for (var i = 0; i < texts.length; i++) {
      if (texts[i][0].test(v)) { node.nodeValue = v.replace(texts[i][0], texts[i][1]); return; }
    }
  }
  function sweep(root) {
    if (root.nodeType === 3) { retext(root); return; }
    if (root.nodeType !== 1) return;
    relabel(root);
    root.querySelectorAll('[aria-label],[title],[alt],[placeholder]').forEach(relabel);
    var walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), node;
    while ((node = walk.nextNode())) retext(node);
  }
  new MutationObserver(function (changes) {
    changes.forEach(function (c) {
      if (c.type === 'attributes') relabel(c.target);
      else if (c.type === 'characterData') retext(c.target);
      else c.addedNodes.forEach(sweep);
      var el = c.target.nodeType === 1 ? c.target : c.target.parentElement;
      var message = el && el.closest('[data-said-role]');
      if (message) say(message);
    });
  }).observe(document.documentElement,
             {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: attrs});
  document.addEventListener('DOMContentLoaded', function () { sweep(document.body); });
})();
</script>
"""


def page_labels_script() -> str:
    data = lexicons.table("page_labels.toml")
    return PAGE_LABELS_JS % tuple(json.dumps(data[k], ensure_ascii=False)
                                  for k in ("labels", "toast_titles", "message_roles", "text"))


# Runs once in the citation panel; the panel's content is replaced on each answer,
# so clicks are delegated from the panel element itself.
CARDS_JS = """
// a long clause opens at its quote, not at its first line
function toQuote() {
  element.querySelectorAll('.cite-clause').forEach(function (box) {
    var mark = box.querySelector('mark');
    if (mark && box.scrollHeight > box.clientHeight && box.clientHeight > 0 && !box.dataset.placed) {
      box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
      box.dataset.placed = '1';
    }
  });
}
new MutationObserver(toQuote).observe(element, {childList: true, subtree: true});
// an answer's 下载 link (in the chat, handled by the page script) asks the server through this panel
window.assistantDownload = function (turn, kind) { trigger('download', {turn: turn, kind: kind}); };
element.addEventListener('toggle', toQuote, true);
toQuote();
element.addEventListener('click', function (e) {
  var copy = e.target.closest('.copy-cite');
  if (copy) {
    var text = copy.getAttribute('data-cite');
    var done = function () { copy.textContent = '已复制'; setTimeout(function () { copy.textContent = '复制引用'; }, 1500); };
    var fallback = function () {
      var box = copy.closest('.cite-card').querySelector('.cite-copytext');
      var range = document.createRange(); range.selectNodeContents(box);
      var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
      try { document.execCommand('copy'); done(); } catch (err) {}
    };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); } else { fallback(); }
    return;
  }
  var open = e.target.closest('.open-clause');
  if (open) {
    e.preventDefault();
    var card = open.closest('.cite-card');
    window.assistantReturnTo = card ? card.id : '';  // where 返回问答 brings the reader back to
    trigger('click', {clause_id: open.getAttribute('data-clause')});
  }
});
"""

# an exported file is saved at once (its link also stays in the 导出文件 box)
SAVE_EXPORT_JS = """
() => { setTimeout(() => {
  const a = document.querySelector('#export-file a[download]');
  if (a) a.click();
}, 100); }
"""

# back in the chat tab: the card whose clause was opened, in view and flashed
BACK_TO_CARD_JS = """
() => { setTimeout(() => {
  const el = document.getElementById(window.assistantReturnTo || '');
  if (el) { el.scrollIntoView({block: 'center'}); el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash'); }
}, 150); }
"""

SCROLL_TO_FOCUS_JS = """
() => { setTimeout(() => {
  const el = document.querySelector('#doc-body-box .clause.focus');
  if (el) { el.scrollIntoView({behavior: 'smooth', block: 'center'}); el.classList.add('flash'); }
}, 150); }
"""


def build_app(pipeline, settings) -> gr.Blocks:
    """The whole UI around a warmed-up ``AskPipeline`` (shared, read-only)."""
    from .webguard import refuse_url_downloads

    refuse_url_downloads()  # no event input makes the server fetch a URL
    live = pipeline if isinstance(pipeline, LiveIndex) else LiveIndex(pipeline, settings, make_library)
    pipeline = live.pipeline
    feedback = FeedbackLog(settings.eval_dir)
    llm_ok, llm_reason = _llm_status(settings)
    redactor = Redactor.for_settings(settings)
    workers = answer_workers()
    model = _index_model(pipeline, settings)
    first_doc = next((p.id for p in live.lib.plans if live.lib.clauses_by_doc.get(p.id)), None)

    def top_k_arg(value: float | None) -> int | None:
        # the configured number is the pipeline's own default (which it may raise for answering)
        return int(value) if value and int(value) != settings.top_k else None

    def places_arg(selected: Sequence[str] | None) -> list[str] | None:
        # nothing or everything ticked means no filter, so the question's own
        # place names (e.g. "绍兴") can still steer retrieval
        all_ids = [p.id for p in live.lib.plans]
        sel = [s for s in (selected or []) if s in all_ids]
        return sel if sel and len(sel) < len(all_ids) else None

    def cited_choices(turns: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
        last = next((t for t in reversed(turns) if not t.get("error")), None)
        out = []
        for c in (last or {}).get("citations") or []:
            cid = live.lib.resolve(c)
            if cid and cid not in [v for _, v in out]:
                out.append((f"[{c.get('n')}] {c.get('place', '')} {c.get('path', '')}".strip(), cid))
        return out

    def waiting_notice() -> str:
        warm = live.pipeline.ready or live.answer_processes() is not None
        return SEARCHING if warm else LOADING_INDEX

    def chat_view(turns: Sequence[dict[str, Any]], simplified: bool) -> tuple[list, str]:
        """The chat's messages and the citation cards, in the display script chosen."""
        script = _to_simplified if simplified else _same
        return (_chat_messages(turns, live.lib.columns, script, live.lib.tables),
                render_cards(turns, live.lib.resolve, live.lib.titles, live.lib.columns, script, live.lib.tables,
                             live.lib.citation_state))

    async def respond(question: str, turns: list, places: list[str], use_llm: bool, top_k: float | None = None,
                      simplified: bool = False) -> AsyncIterator[tuple]:
        question = question.strip() if isinstance(question, str) else ""
        if not question:
            raise gr.Error(EMPTY_QUESTION, print_exception=False)
        turns = list(turns or [])[-(MAX_TURNS - 1):]
        asked, question = question, printable(question)  # the pipeline refuses what cannot be shown
        answerer = "llm" if (use_llm and llm_ok) else "extractive"
        history = _history(turns)
        msgs = chat_view(turns, simplified)[0] + [
            {"role": "user", "content": render_user_message(question)},
            {"role": "assistant", "content": f'<span class="muted">{waiting_notice()}</span>'},
        ]
        yield ("", msgs, turns, gr.update(), gr.update(), gr.update(), gr.update(), "")
        final: dict[str, Any] | None = None
        partial = ""
        try:
            asking = live.pipeline  # one pipeline for the whole answer, whatever is swapped meanwhile
            args = dict(history=history, places=places_arg(places), answerer=answerer, top_k=top_k_arg(top_k))
            if answerer == "extractive":
                final = await answer_in_process(live, asked, args)
            if final is None:  # no worker process ready, or an LLM answer: on this process's workers
                async for item in workers.stream(answerer, lambda: asking.ask_stream(asked, **args)):
                    if isinstance(item, dict):
                        final = item
                        break
                    if answerer != "llm":
                        continue  # an extractive answer is ready at once: no point showing it grow
                    partial = _accumulate(partial, str(item))
                    msgs[-1] = {"role": "assistant",
                                "content": f'<div class="msg">{render_answer_text(partial, len(turns))} ▌</div>'}
                    yield ("", msgs, turns, gr.update(), gr.update(), gr.update(), gr.update(), "")
        except AssistantError as e:
            message = redactor(e)
            turns.append({"question": question, "error": message})
            gr.Warning(esc(message))
            yield ("", chat_view(turns, simplified)[0], turns, gr.update(), gr.update(),
                   _raw_json({"error": message}), gr.update(), "")
            return
        if final is None:  # a stream that ended without its final dict is a pipeline bug
            raise gr.Error("回答生成中断，请重试。")
        final = _public_answer(final)
        turns = lean_turns([*turns, final])
        choices = cited_choices(turns)
        chat, cards_html = chat_view(turns, simplified)
        yield (
            "",
            chat,
            turns,
            cards_html,
            render_retrieved(final, live.lib.titles),
            _raw_json(final),
            gr.update(choices=choices, value=None),
            "",
        )

    async def regenerate(turns: list, places: list[str], use_llm: bool, top_k: float | None = None,
                         simplified: bool = False) -> AsyncIterator[tuple]:
        turns = list(turns or [])
        if not turns:
            raise gr.Error("还没有可以重新生成的回答。", print_exception=False)
        async for out in respond(turns[-1].get("question", ""), turns[:-1], places, use_llm, top_k, simplified):
            yield out

    def shown(turns: list, simplified: bool = False) -> tuple:
        """What the chat, the cards and the side panels show for a conversation's turns."""
        last = next((t for t in reversed(turns) if not t.get("error")), None)
        return (*chat_view(turns, simplified),
                render_retrieved(last, live.lib.titles), _raw_json(last) if last else "",
                gr.update(choices=cited_choices(turns), value=None), "")

    def clear():
        chat, cards_html, retrieved_html, raw_text, cited, status = shown([])
        return (chat, [], cards_html, retrieved_html, raw_text, cited, status)

    def record(rating: str, comment: str, turns: list, turn_index: int | None = None) -> tuple[str, str]:
        answered = [t for t in (turns or []) if not t.get("error")]
        if turn_index is not None:
            t = (turns or [])[turn_index] if 0 <= turn_index < len(turns or []) else None
            target = t if t and not t.get("error") else None
        else:
            target = answered[-1] if answered else None
        if target is None:
            return "还没有可以评价的回答。", comment
        feedback.append(
            question=target.get("question", ""),
            answer=target.get("answer", ""),
            citations=target.get("citations") or [],
            rating=rating,
            comment=comment or "",
            answer_id=str(target.get("id", "")),
            extra={"answerer": target.get("answerer", ""), "not_found": bool(target.get("not_found"))},
        )
        thanks = "感谢反馈！已记录为“有帮助”。" if rating == "up" else "感谢反馈！已记录为“没帮助”，我们会改进。"
        gr.Info(thanks)  # a toast in view wherever the page is scrolled (the like icons sit far from the status)
        return thanks, ""

    def feedback_up(comment: str, turns: list):
        return record("up", comment, turns)

    def feedback_down(comment: str, turns: list):
        return record("down", comment, turns)

    def on_like(turns: list, evt: gr.LikeData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if evt.liked is True or evt.liked == "Like":
            rating = "up"
        elif evt.liked is False or evt.liked == "Dislike":
            rating = "down"
        else:
            return gr.update()
        return record(rating, "", turns, turn_index=int(index) // 2)[0]

    def show_doc(doc_id: str | None, focus: str | None = None):
        clauses = live.lib.clauses_by_doc.get(doc_id or "", [])
        tables = live.lib.tables_by_doc.get(doc_id or "", [])
        return (
            render_outline(clauses, tables) if clauses else "",
            render_document(live.lib.meta(doc_id or ""), clauses, focus, tables),
        )

    def pick_plan(doc_id: str):
        outline, body = show_doc(doc_id)
        return gr.update(choices=live.lib.clause_choices(doc_id), value=None), outline, body

    def open_clause(clause_id: str):
        """Select the clause's plan in the document tab and highlight the clause."""
        c = live.lib.by_id.get(clause_id or "")
        if c is None:
            raise gr.Error(f"找不到条款 {esc(clause_id)}", print_exception=False)
        outline, body = show_doc(c.doc_id, c.clause_id)
        return (
            gr.Tabs(selected="doc"),
            c.doc_id,
            gr.update(choices=live.lib.clause_choices(c.doc_id), value=c.clause_id),
            outline,
            body,
        )

    def open_from_card(evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        return open_clause(data.get("clause_id", "") if isinstance(data, dict) else "")

    place_choices = [(f"{p.place or p.id} · {_with_brackets(p.title)}", p.id) for p in live.lib.plans]

    with gr.Blocks(title=APP_TITLE) as app:
        # the conversation; dropped after session_idle_minutes without a new answer
        turns_state = gr.State([], time_to_live=settings.session_idle_minutes * 60)
        gr.Markdown(
            f"# {APP_TITLE}\n就地方知识产权规划提问：每条回答都标注出处 [n]，点击即可查看规划原文中的对应条款。",
            elem_id="app-header",
        )
        with gr.Tabs() as tabs:
            with gr.Tab("问答", id="chat"):
                with gr.Row(equal_height=False, elem_id="chat-row"):
                    with gr.Column(scale=1, min_width=200, elem_id="chats-col"):
                        chats = ChatList(store_for(settings))
                    with gr.Column(scale=3, min_width=420, elem_id="chat-col"):
                        chatbot = gr.Chatbot(
                            label="对话",
                            height=480,
                            sanitize_html=True,
                            # messages are finished HTML (render_answer_text): Markdown
                            # rendering here would turn ![t](url) into a live image
                            render_markdown=False,
                            latex_delimiters=[],
                            feedback_options=("Like", "Dislike"),
                            placeholder="<b>请提问</b><br>例如：嘉兴规划中知识产权质押融资的目标是多少？",
                            elem_id="chatbot",
                            # each answer has its own copy button (clean Markdown with sources)
                            buttons=[],
                        )
                        with gr.Row(elem_id="ask-row"):
                            question = gr.Textbox(
                                label="问题",  # not shown: what a screen reader names the box (else 「Textbox」)
                                placeholder="输入问题，回车发送（支持简体、繁体和英文）",
                                show_label=False,
                                scale=6,
                                lines=1,
                                max_lines=4,
                                elem_id="question",
                            )
                            ask_btn = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="ask-btn")
                            stop_btn = gr.Button("停止", scale=1, min_width=60, elem_id="stop-btn")
                            clear_btn = gr.Button("清空对话", scale=1, min_width=80)
                        # one click asks the example (gr.Examples only filled the box: a second click asked)
                        example_btns = []
                        with gr.Accordion("示例问题（点击即提问）", open=True, elem_id="examples"):
                            with gr.Row():
                                for label, qs in EXAMPLES.items():
                                    with gr.Column(min_width=200):
                                        gr.Markdown(f"**{label}**")
                                        example_btns += [gr.Button(q, size="sm", elem_classes=["example-q"])
                                                         for q in qs]
                        with gr.Row(equal_height=False, elem_id="feedback-row"):
                            up_btn = gr.Button("有帮助", size="sm", scale=1, min_width=90, elem_id="fb-up")
                            down_btn = gr.Button("没帮助", size="sm", scale=1, min_width=90, elem_id="fb-down")
                            comment = gr.Textbox(
                                label="意见", placeholder="对上一条回答的意见（可选）", show_label=False, scale=4, lines=1,
                                elem_id="fb-comment",
                            )
                            # beside its buttons, where the user is looking (below them it was off screen)
                            feedback_status = gr.Markdown("", elem_id="fb-status")
                        with gr.Row(equal_height=False, elem_id="export-row"):
                            export_md = gr.Button("导出对话（Markdown）", size="sm", elem_id="export-md")
                            export_docx = gr.Button("导出对话（Word）", size="sm", elem_id="export-docx")
                            export_file = gr.File(label="导出文件", interactive=False, height=60,
                                                  elem_id="export-file")
                    with gr.Column(scale=2, min_width=360, elem_id="cards-col"):
                        cards = gr.HTML(
                            render_cards([], live.lib.resolve, live.lib.titles),
                            label="引用条款",
                            show_label=True,
                            js_on_load=CARDS_JS,
                            elem_id="cards",
                            max_height=640,
                            container=True,
                            padding=True,
                        )
                        with gr.Accordion("按规划筛选", open=False):
                            places = gr.CheckboxGroup(
                                choices=place_choices, value=[], label="只在这些规划中检索（不选 = 全部）",
                                elem_id="places",
                            )
                        with gr.Accordion("本次检索到的条款", open=False):
                            retrieved = gr.HTML(render_retrieved(None, live.lib.titles), elem_id="retrieved")
                        with gr.Accordion("设置", open=False):
                            gr.HTML(render_settings_panel(model, settings.answerer, llm_ok, redactor(llm_reason)),
                                    elem_id="settings-panel")
                            use_llm = gr.Checkbox(
                                label="使用大模型生成回答（失败时回退到摘录式回答）",
                                value=llm_ok and settings.answerer == "llm",
                                interactive=llm_ok,
                                elem_id="settings-llm",
                                info=None if llm_ok else "需要先配置 llm_base_url 和 llm_model",
                            )
                            top_k = gr.Slider(1, 30, value=settings.top_k, step=1, label="检索条款数（top-k）",
                                              info="回答只从检索到的前 k 条条款中引用", elem_id="settings-topk")
                            simplified = gr.Checkbox(label="繁体引文以简体显示（复制的引用仍为原文）", value=False,
                                                     elem_id="settings-simplified")
                        with gr.Accordion("原始 JSON", open=False):
                            # a JSON string, not gr.JSON: gradio_client takes any dict with a
                            # "path" key (every citation has one) for a file to download
                            raw = gr.Code(label="最近一次回答", language="json", interactive=False,
                                          elem_id="raw-json")
            with gr.Tab("规划原文", id="doc"):
                back_btn = gr.Button("← 返回问答", size="sm", elem_id="back-to-chat")
                with gr.Row():
                    plan_dd = gr.Dropdown(
                        choices=[(f"{p.place or p.id} · {_with_brackets(p.title)}", p.id) for p in live.lib.plans],
                        value=first_doc, label="规划", scale=2, elem_id="plan-dd",
                    )
                    clause_dd = gr.Dropdown(
                        choices=live.lib.clause_choices(first_doc) if first_doc else [], value=None,
                        label="跳转到条款", scale=2, elem_id="clause-dd",
                    )
                    cited_dd = gr.Dropdown(choices=[], value=None, label="上一条回答引用的条款", scale=2,
                                           elem_id="cited-dd")
                outline0, body0 = show_doc(first_doc)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=240):
                        outline = gr.HTML(outline0, elem_id="outline-box", label="目录", show_label=True,
                                          container=True, padding=True, max_height=720)
                    with gr.Column(scale=3):
                        doc_body = gr.HTML(body0, elem_id="doc-body-box", container=True, padding=True, max_height=720)

            if settings.kb_upload:
                knowledge_tab(live, settings, redactor, places, plan_dd)

        ask_outputs = [question, chatbot, turns_state, cards, retrieved, raw, cited_dd, feedback_status]
        answered = gr.on(
            triggers=[ask_btn.click, question.submit],
            fn=respond,
            inputs=[question, turns_state, places, use_llm, top_k, simplified],
            outputs=ask_outputs,
            api_name="ask",
            # no queue limit here: AnswerWorkers bounds each kind of answer on its own,
            # so LLM answers waiting on their endpoint never hold a plain answer's place
            concurrency_limit=None,
        )
        # an example button asks its own label
        asked_examples = [b.click(respond, [b, turns_state, places, use_llm, top_k, simplified], ask_outputs,
                                  api_name=False, concurrency_limit=None) for b in example_btns]
        # one clear-chat behaviour: our button and the chat's own trash icon do the same
        clear_outputs = [chatbot, turns_state, cards, retrieved, raw, cited_dd, feedback_status]
        cleared = [clear_btn.click(clear, None, clear_outputs, api_name=False),
                   chatbot.clear(clear, None, clear_outputs, api_name=False)]
        shown_outputs = [chatbot, cards, retrieved, raw, cited_dd, feedback_status]
        # regenerate: the chat's retry icon asks the last question again, in place of its answer
        regenerated = chatbot.retry(regenerate, [turns_state, places, use_llm, top_k, simplified], ask_outputs,
                                    api_name=False,
                                    concurrency_limit=None)
        stop_btn.click(None, None, None, cancels=[answered, regenerated, *asked_examples])
        chats.wire(app, shown, shown_outputs, turns_state, [answered, regenerated, *asked_examples, *cleared],
                   [simplified])
        simplified.change(shown, [turns_state, simplified], shown_outputs, api_name=False)
        export_md.click(lambda turns: export_file_of(turns, "md", tables_of=live.lib.tables), [turns_state],
                        [export_file], api_name=False).success(None, js=SAVE_EXPORT_JS)
        export_docx.click(lambda turns: export_file_of(turns, "docx", tables_of=live.lib.tables), [turns_state],
                          [export_file], api_name=False).success(None, js=SAVE_EXPORT_JS)

        def answer_file(turns: list, evt: gr.EventData) -> str:
            return answer_file_of(turns, evt, live.lib.tables)

        cards.download(answer_file, [turns_state], [export_file], api_name=False).success(None, js=SAVE_EXPORT_JS)
        up_btn.click(feedback_up, [comment, turns_state], [feedback_status, comment], api_name="feedback_up")
        down_btn.click(feedback_down, [comment, turns_state], [feedback_status, comment], api_name="feedback_down")
        chatbot.like(on_like, [turns_state], [feedback_status], api_name=False)

        plan_dd.input(pick_plan, [plan_dd], [clause_dd, outline, doc_body], api_name="show_plan")
        clause_dd.input(
            lambda doc, cid: show_doc(doc, cid), [plan_dd, clause_dd], [outline, doc_body], api_name=False
        ).then(None, js=SCROLL_TO_FOCUS_JS)
        open_outputs = [tabs, plan_dd, clause_dd, outline, doc_body]
        cited_dd.input(open_clause, [cited_dd], open_outputs, api_name="open_clause").then(None, js=SCROLL_TO_FOCUS_JS)
        cards.click(open_from_card, None, open_outputs, api_name=False).then(None, js=SCROLL_TO_FOCUS_JS)
        back_btn.click(lambda: gr.Tabs(selected="chat"), None, [tabs], api_name=False).then(None, js=BACK_TO_CARD_JS)
    return app


def launch_app(app: gr.Blocks, host: str, port: int, prevent_thread_lock: bool = False, quiet: bool = False,
               settings=None):
    """Start the server with the page assets (Gradio 6 takes CSS/head/theme at launch),
    the web guard (``webguard``: CSP, no anonymous upload) and bounded sessions."""
    from .settings import Settings
    from starlette.middleware import Middleware

    from .leanqueue import STATUS_UPDATE_S, lean_queue
    from .pagelang import PageLanguage
    from .sessions import lean_sessions
    from .webguard import launch_kwargs

    settings = settings or Settings.load()
    app.queue(default_concurrency_limit=EVENT_CONCURRENCY, status_update_rate=STATUS_UPDATE_S)
    # the knowledge base's upload is the only one, and no larger than a document may be
    guard = launch_kwargs(upload_max_bytes=int(settings.max_file_mb * 1024 * 1024) if settings.kb_upload else 0,
                          allowed_hosts=settings.allowed_hosts)
    guard["app_kwargs"]["middleware"].append(Middleware(PageLanguage))
    launched = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=prevent_thread_lock,
        # an unexpected exception's text is for the server log, not the page
        show_error=False,
        quiet=quiet,
        # Gradio keeps every session's copy of the page config and outputs until this
        # many newer sessions exist (default 10,000: gigabytes); least recently used go first
        state_session_capacity=settings.max_sessions,
        **guard,
        **page_assets(),
        footer_links=["api"],
        # Gradio's traffic monitoring (/monitoring): off, and its records with it (leanqueue.py)
        enable_monitoring=False,
    )
    lean_sessions(app)  # no per-session copy of the page config (see sessions.py)
    lean_queue(app)  # no per-event records, a 10 ms poll (see leanqueue.py)
    return launched


def page_assets() -> dict[str, Any]:
    """CSS, head script and theme: what Gradio 6 takes at launch (or mount) time."""
    return {
        "css": CSS,
        "head": HEAD + page_labels_script(),
        "theme": gr.themes.Soft(
            primary_hue="indigo",
            font=["system-ui", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "sans-serif"],
            font_mono=["ui-monospace", "monospace"],
        ),
    }


from .server import prepare_pipeline, run_cli  # noqa: E402,F401 (``python -m assistant serve``: server.py)

_library = make_library  # the name tests and callers knew


__all__ = [
    "build_app", "launch_app", "prepare_pipeline", "run_cli", "render_answer_text", "render_answer_message",
    "render_card", "render_cards", "render_document", "render_outline", "highlight_quote", "citation_text",
    "find_quote", "NOT_FOUND_NOTICE", "EXAMPLES",
]
