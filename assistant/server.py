"""One server, one port: an OpenAI-compatible API beside the Gradio app (FastAPI).

``create_server(live, settings)`` returns the ASGI app that ``python app.py`` and
``python -m assistant serve`` run with uvicorn:

* ``GET /healthz`` — the index is loaded: documents, clauses, embedding model;
* ``GET /v1/models`` — ``ip-assistant`` (extractive answers) and, when an LLM is
  configured, ``ip-assistant-llm``;
* ``POST /v1/chat/completions`` — OpenAI's chat format, streamed (server-sent
  events) or not. The last user message is the question, earlier turns are its
  history. The answer's content ends with a Markdown ``出处`` block (one line per
  citation: 《title》 path: “quote”) so any chat front end shows the sources; the
  citations are also returned as data in an extra ``citations`` field (in the last
  chunk when streaming);
* ``POST /v1/search`` — ranked clauses for a query;
* ``/`` — the Gradio app (chat, documents, knowledge base).

With ``api_key`` set, ``/v1/*`` wants ``Authorization: Bearer <api_key>``.
Everything goes through ``LiveIndex``, so a document added in the app is answered
from by the API at once.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .ask import _pieces  # the answer threads stream an extractive answer in these pieces
from .errors import AssistantError
from .export import answer_markdown
from .redact import Redactor

MODEL = "ip-assistant"
LLM_MODEL = "ip-assistant-llm"


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = ""


class ChatRequest(BaseModel):
    model: str = MODEL
    messages: list[ChatMessage]
    stream: bool = False
    # accepted for compatibility and ignored: answers are extractive or checked
    temperature: float | None = None
    max_tokens: int | None = None


class SearchRequest(BaseModel):
    query: str
    k: int = Field(10, ge=1, le=50)
    documents: list[str] | None = None  # doc ids to search in (default: all)


class APIError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        self.status, self.message, self.kind = status, message, kind


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI's content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content or ""


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The last user message, and the (question, answer) pairs before it."""
    turns = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise APIError(400, "the last message must be the user's question")
    history: list[dict[str, str]] = []
    for role, text in turns[:-1]:
        if role == "user":
            history.append({"q": text, "a": ""})
        elif history:
            history[-1]["a"] = text
    return turns[-1][1], history


def public_citations(answer: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("n", "doc_id", "title", "place", "path", "heading", "quote")
    return [{k: c.get(k) for k in keys} for c in answer.get("citations") or []]


def create_server(live, settings, blocks=None) -> FastAPI:
    """The API, and the Gradio app ``blocks`` (built from ``live`` when not given) mounted at ``/``."""
    import gradio as gr
    from starlette.middleware import Middleware

    from .leanqueue import STATUS_UPDATE_S, lean_queue
    from .pagelang import PageLanguage
    from .sessions import lean_sessions
    from .ui import answer_in_process, answer_workers, build_app, page_assets
    from .webguard import WebGuard

    upload_max = int(settings.max_file_mb * 1024 * 1024) if settings.kb_upload else 0

    @contextlib.asynccontextmanager
    async def serving(_api):
        # extractive answers in worker processes while the server runs (answerprocs.py)
        live.start_answer_processes(settings.answer_processes)
        try:
            yield
        finally:
            live.close()

    api = FastAPI(title="知识产权规划问答助手 API", docs_url="/v1/docs", openapi_url="/v1/openapi.json",
                  redoc_url=None, lifespan=serving, middleware=[Middleware(WebGuard, upload_max_bytes=upload_max),
                                              Middleware(PageLanguage)])
    redactor = Redactor.for_settings(settings)

    @api.exception_handler(APIError)
    async def api_error(_request: Request, e: APIError):
        return JSONResponse({"error": {"message": e.message, "type": e.kind}}, status_code=e.status)

    def check_key(request: Request) -> None:
        if not settings.api_key:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {settings.api_key}".encode()):
            raise APIError(401, "invalid or missing API key (Authorization: Bearer <key>)", "authentication_error")

    def llm_ok() -> bool:
        from .ui import _llm_status

        return _llm_status(settings)[0]

    @api.get("/healthz")
    def healthz() -> dict[str, Any]:
        lib = live.lib
        procs = live.answer_processes()
        return {"status": "ok", "documents": len(lib.plans), "answerer": settings.answerer,
                "embedding_model": settings.embedding_model,
                # worker processes computing extractive answers (0 while they start)
                "answer_processes": len(procs.pids()) if procs is not None else 0}

    @api.get("/v1/models", dependencies=[Depends(check_key)])
    def models() -> dict[str, Any]:
        ids = [MODEL] + ([LLM_MODEL] if llm_ok() else [])
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "local"} for i in ids]}

    @api.post("/v1/search", dependencies=[Depends(check_key)])
    def search(req: SearchRequest) -> dict[str, Any]:
        snap = live.snapshot()
        titles = snap.library.titles
        try:
            hits = snap.pipeline.retriever.search(req.query, k=req.k, places=req.documents or None)
        except AssistantError as e:
            raise APIError(400, redactor(e)) from None
        return {"object": "list", "data": [
            {"doc_id": h.doc_id, "title": f"《{titles.get(h.doc_id, h.doc_id)}》", "path": h.path, "text": h.text,
             "score": round(float(h.score), 6)} for h in hits]}

    @api.post("/v1/chat/completions", dependencies=[Depends(check_key)])
    async def chat(req: ChatRequest):
        if req.model not in (MODEL, LLM_MODEL):
            raise APIError(404, f"unknown model {req.model!r}: use {MODEL}" + (f" or {LLM_MODEL}" if llm_ok() else ""),
                           "model_not_found")
        if req.model == LLM_MODEL and not llm_ok():
            raise APIError(400, "no LLM is configured on this server: use " + MODEL)
        question, history = question_and_history(req.messages)
        answerer = "llm" if req.model == LLM_MODEL else "extractive"
        pipeline = live.pipeline
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        try:
            # an extractive answer in a worker process when one is ready, as the app's (answerprocs.py);
            # else on the app's answer workers (one pool per kind, shared with the UI), never on
            # the thread pool every other route and Gradio's processing share
            done = await answer_in_process(live, question, dict(history=history, answerer=answerer)) \
                if answerer == "extractive" else None
            stream = _items([*_pieces(done["answer"]), done]) if done is not None else answer_workers().stream(
                answerer, lambda: pipeline.ask_stream(question, history=history, answerer=answerer))
            first = await stream.__anext__()  # a bad question fails here, as a plain 400
            if not req.stream:
                answer = first
                async for item in stream:
                    answer = item
        except AssistantError as e:
            raise APIError(400, redactor(e)) from None
        if not req.stream:
            return {"id": cid, "object": "chat.completion", "created": created, "model": req.model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer_markdown(answer)}}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    "citations": public_citations(answer), "not_found": bool(answer.get("not_found"))}
        return StreamingResponse(_sse(first, stream, cid, created, req.model, redactor),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    if blocks is None:
        blocks = build_app(live, settings)
    blocks.queue(default_concurrency_limit=4, status_update_rate=STATUS_UPDATE_S)
    blocks.state_session_capacity = settings.max_sessions
    gr.mount_gradio_app(api, blocks, path="", show_error=False, max_file_size=max(upload_max, 1),
                        footer_links=["api"], enable_monitoring=False, **page_assets())
    lean_sessions(blocks)
    lean_queue(blocks)
    return api


async def _sse(first: Any, rest: AsyncIterator[Any], cid: str, created: int, model: str,
               redactor) -> AsyncIterator[str]:
    """OpenAI's streaming chunks: the answer's text as it grows, then its sources, the
    citations as data and ``finish_reason``, then ``[DONE]``."""
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    final: dict[str, Any] | None = None
    try:
        async for item in _chain(first, rest):
            if isinstance(item, dict):
                final = item
                break
            text = str(item)
            grown = text if text.startswith(sent) else sent + text
            if grown != sent:
                yield chunk({"content": grown[len(sent):]})
                sent = grown
    except AssistantError as e:
        yield chunk({"content": f"\n\n错误：{redactor(e)}"}, "stop")
        yield "data: [DONE]\n\n"
        return
    full = answer_markdown(final or {})
    if full.startswith(sent):
        rest_text = full[len(sent):]
    else:  # the checked answer differs from the draft that was streamed
        rest_text = "\n\n——核对后的回答——\n" + full
    yield chunk({"content": rest_text} if rest_text else {}, "stop",
                citations=public_citations(final or {}), not_found=bool((final or {}).get("not_found")))
    yield "data: [DONE]\n\n"


async def _chain(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item


async def _items(items: list[Any]) -> AsyncIterator[Any]:
    """A worker process's answer as the answer threads stream it: its text in pieces, then the answer."""
    for item in items:
        yield item


def run(live, settings, host: str, port: int, log=print) -> None:
    import uvicorn

    app = create_server(live, settings)
    log(f"serving on http://{host}:{port} (API: http://{host}:{port}/v1)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
