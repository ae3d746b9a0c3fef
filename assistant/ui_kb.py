"""The app's knowledge-base tab: upload a document, see its parse report, correct its
metadata (title, place, type), delete one.

Every change goes through ``knowledge.KnowledgeBase`` (the same code as
``python -m assistant add/list/remove``): the file is checked by content and size,
the incremental build indexes only what changed, and ``LiveIndex.reload`` swaps
the new index in while questions keep being answered on the old one. One change
runs at a time (``concurrency_id="kb"``, limit 1).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import gradio as gr

from . import lexicons
from .errors import AssistantError
from .knowledge import KnowledgeBase, doc_type_names

REPORT_LEXICON = "parse_report_zh.toml"

KB_FILE_TYPES = [".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"]
# how each document type (lexicons/doc_types.toml) is named on the page
TYPE_LABELS = {"plan": "规划", "scheme": "方案", "opinion": "意见", "measures": "办法", "regulation": "条例",
               "provisions": "规定", "rules": "规则、细则", "interpretation": "司法解释", "decision": "决定",
               "reply": "批复", "law": "法律", "notice": "通知", "other": "其他"}


def _esc(text: Any) -> str:
    from .ui import esc

    return esc(text)


def render_kb_table(docs: Sequence[dict[str, Any]]) -> str:
    if not docs:
        return '<div class="muted">知识库中还没有文件。</div>'
    head = "".join(f"<th>{h}</th>" for h in ("标题", "地区", "类型", "条款数", "解析质量", "警告", "文件", "ID"))
    rows = []
    for d in docs:
        warn = "；".join(warning_zh(w) for w in d["warnings"])
        rows.append(
            "<tr>" + "".join(f"<td>{_esc(x)}</td>" for x in (
                f"《{d['title']}》", d["place"] or "—", type_label(d["doc_type"]) or "—", d["clauses"],
                quality_zh(d["quality"]) or "—", warn or "无", d["file"], d["doc_id"])) + "</tr>")
    return f'<table class="kb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def render_kb_report(doc: dict[str, Any], verb: str) -> str:
    """The parse report of a document just added (or removed)."""
    items = [f"<li>标题：《{_esc(doc['title'])}》</li>", f"<li>地区：{_esc(doc['place'] or '未识别')}</li>",
             f"<li>类型：{_esc(type_label(doc['doc_type']) or '未识别')}</li>", f"<li>条款数：{_esc(doc['clauses'])}</li>",
             f"<li>解析质量：{_esc(quality_zh(doc['quality']) or '—')}</li>"]
    items += [f"<li>警告：{_esc(warning_zh(w))}</li>" for w in doc["warnings"]]
    if doc.get("missing"):
        fields = lexicons.table(REPORT_LEXICON)["fields"]
        items.append(f"<li>未能从正文识别：{_esc('、'.join(fields.get(f, f) for f in doc['missing']))}</li>")
    return f'<div class="kb-report"><b>{_esc(verb)}：{_esc(doc["file"])}</b><ul>{"".join(items)}</ul></div>'


def quality_zh(quality: dict[str, Any]) -> str:
    """The parse-quality figures (``parse_quality.ParseQuality``) as the page says them."""
    if not quality:
        return ""
    said = [f"编号条款覆盖正文的 {float(quality.get('numbered_share', 0)):.0%}（正文 {quality.get('body_chars', 0)} 字）"]
    if quality.get("longest_clause"):
        where = f"，{quality['longest_path']}" if quality.get("longest_path") else ""
        said.append(f"最长条款 {quality['longest_clause']} 字{where}")
    for key, label in (("gaps", "编号缺号"), ("repeats", "编号重复"), ("split", "过长条款已切分")):
        if quality.get(key):
            said.append(f"{label} {len(quality[key])} 处")
    return "；".join(said)


@lru_cache(maxsize=1)
def _warning_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(w["pattern"]), w["zh"]) for w in lexicons.table(REPORT_LEXICON)["warning"]]


def warning_zh(warning: str) -> str:
    """A parse warning as the page says it (lexicons/parse_report_zh.toml); as written when
    no pattern there reads it."""
    for pattern, zh in _warning_patterns():
        m = pattern.fullmatch(warning)
        if m:
            return zh.format(**m.groupdict())
    return warning


def _forget_upload(path: str) -> None:
    """Delete Gradio's copy of an uploaded file once it is handled (the document is in
    corpus/ or was refused): a removed document must not live on in the upload cache."""
    from gradio.utils import get_upload_folder

    upload = Path(path).resolve()
    if upload.is_relative_to(Path(get_upload_folder()).resolve()):
        upload.unlink(missing_ok=True)


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name) if name else ""


def _doc_choices(docs: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"{d['place'] or d['doc_type'] or '—'} · 《{d['title']}》（{d['file']}）", d["doc_id"]) for d in docs]


def plan_choices(plans) -> list[tuple[str, str]]:
    from .ui import _with_brackets

    return [(f"{p.place or p.id} · {_with_brackets(p.title)}", p.id) for p in plans]


def knowledge_tab(live, settings, redactor, places: gr.CheckboxGroup, plan_dd: gr.Dropdown) -> None:
    """The tab's components and events (call inside ``gr.Tabs``)."""
    kb = KnowledgeBase(settings)
    docs = kb.documents()
    with gr.Tab("知识库", id="kb"):
        gr.Markdown(f"上传文件后即可提问，无需重启；支持 txt、Markdown、PDF、HTML、docx，单个文件不超过 "
                    f"{settings.max_file_mb:g} MB。文件按内容检查，解析报告会列出标题、地区、类型、条款数和警告。")
        with gr.Row(equal_height=False):
            upload = gr.File(label="选择文件", file_types=KB_FILE_TYPES, file_count="single", type="filepath",
                             elem_id="kb-upload", scale=3)
            with gr.Column(scale=1, min_width=200):
                replace = gr.Checkbox(label="同名文件直接替换", value=False, elem_id="kb-replace")
                add_btn = gr.Button("添加到知识库", variant="primary", elem_id="kb-add")
        status = gr.HTML("", elem_id="kb-status")
        table = gr.HTML(render_kb_table(docs), elem_id="kb-table")
        with gr.Row():
            doc_dd = gr.Dropdown(choices=_doc_choices(docs), value=None, label="选择文件（更正元数据或删除）",
                                 scale=4, elem_id="kb-doc")
            del_btn = gr.Button("删除所选文件", variant="stop", scale=1, min_width=120, elem_id="kb-delete")
        with gr.Row(equal_height=True):
            title_box = gr.Textbox(label="标题", scale=3, max_lines=1, elem_id="kb-title")
            place_box = gr.Textbox(label="地区", scale=1, max_lines=1, elem_id="kb-place")
            type_dd = gr.Dropdown(choices=[(type_label(t), t) for t in doc_type_names()], value=None, label="类型",
                                  scale=1, elem_id="kb-type")
            save_btn = gr.Button("保存更正", scale=1, min_width=120, elem_id="kb-save")

    def refreshed(message: str):
        docs = kb.documents()
        plans = plan_choices(live.lib.plans)
        return (message, render_kb_table(docs), gr.update(choices=_doc_choices(docs), value=None),
                gr.update(choices=plans, value=[]), gr.update(choices=plans), None)

    def failed(e: Exception) -> str:
        return f'<div class="notfound">{_esc(redactor(e))}</div>'

    def add(path: str | None, replace_same: bool):
        if not path:
            return ('<div class="notfound">请先选择一个文件。</div>',) + (gr.update(),) * 5
        name = Path(path).name
        try:
            doc = kb.add(Path(path).read_bytes(), name, replace=bool(replace_same))
            live.reload()
        except (AssistantError, OSError) as e:
            return (failed(e),) + (gr.update(),) * 4 + (None,)
        finally:
            _forget_upload(path)
        return refreshed(render_kb_report(doc, "已添加"))

    def remove(doc_id: str | None):
        if not doc_id:
            return ('<div class="notfound">请先选择要删除的文件。</div>',) + (gr.update(),) * 5
        try:
            doc = kb.remove(doc_id)
            live.reload()
        except AssistantError as e:
            return (failed(e),) + (gr.update(),) * 5
        return refreshed(f'<div class="kb-report"><b>已删除：《{_esc(doc["title"])}》（{_esc(doc["file"])}）</b></div>')

    def picked(doc_id: str | None):
        doc = next((d for d in kb.documents() if d["doc_id"] == doc_id), None) if doc_id else None
        if doc is None:
            return "", "", None
        return doc["title"], doc["place"], doc["doc_type"] or None

    def correct(doc_id: str | None, title: str, place: str, doc_type: str | None):
        if not doc_id:
            return ('<div class="notfound">请先选择要更正的文件。</div>',) + (gr.update(),) * 5
        try:
            doc = kb.correct(doc_id, title=title or "", place=place or "", doc_type=doc_type or "")
            live.reload()
        except AssistantError as e:
            return (failed(e),) + (gr.update(),) * 5
        out = refreshed(render_kb_report(doc, "已更正"))
        return out[:2] + (gr.update(choices=_doc_choices(kb.documents()), value=doc_id),) + out[3:5] + (gr.update(),)

    outputs = [status, table, doc_dd, places, plan_dd, upload]
    doc_dd.change(picked, [doc_dd], [title_box, place_box, type_dd], api_name=False)
    save_btn.click(correct, [doc_dd, title_box, place_box, type_dd], outputs, api_name=False, concurrency_limit=1,
                   concurrency_id="kb")
    add_btn.click(add, [upload, replace], outputs, api_name=False, concurrency_limit=1, concurrency_id="kb")
    del_btn.click(remove, [doc_dd], outputs, api_name=False, concurrency_limit=1, concurrency_id="kb")
