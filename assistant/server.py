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

``python -m assistant serve`` opens its port as soon as the index is loaded and checked
(built or repaired first when it must be), before the retriever is warm: the warm-up
(BM25 tables, the encoder, the tokenizer, the word bridge) runs in the background
(``/healthz`` says ``"index": "loading"`` until it is done), and a question asked
meanwhile waits for it (``AskPipeline.warm_up`` is done once). With answer worker
processes (``answer_processes``), which warm up their own pipelines on their own cores,
a question waits for them instead, and the server's warm-up (for ``/v1/search``, and
answers should the workers fail) waits until they are ready and the UI is built. The
Gradio app is built in the background too (``ui_in_background``); until it is mounted,
``/`` is a plain page that reloads itself every second, and ``/healthz`` says
``"ui": "starting"``.

With ``api_key`` set, ``/v1/*`` wants ``Authorization: Bearer <api_key>``.
Everything goes through ``LiveIndex``, so a document added in the app is answered
from by the API at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import time
import uuid
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount
from pydantic import BaseModel, Field

from .ask import _pieces  # the answer threads stream an extractive answer in these pieces
from .ask import check_text
from .errors import AssistantError, IndexCorruptError, IndexMismatchError, IndexMissingError
from .export import answer_markdown
from .redact import Redactor

# what ``/`` shows while the Gradio app is being built (plain HTML: no script, reloads itself)
STARTING_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="1">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>知识产权规划问答助手 · 正在启动</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3em auto; max-width: 36em; padding: 0 1em">
<h1 style="font-size: 1.3em">知识产权规划问答助手</h1>
<p>正在启动，页面将自动打开……</p>
<p style="color: #666">问答接口（/v1）已经可以使用。</p>
</body></html>
"""
FAILED_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>知识产权规划问答助手 · 启动失败</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3em auto; max-width: 36em; padding: 0 1em">
<h1 style="font-size: 1.3em">知识产权规划问答助手</h1>
<p>网页界面未能启动，请查看服务器日志。问答接口（/v1）仍可使用。</p>
</body></html>
"""

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


class LateUI:
    """The Gradio app at ``/``, mounted once ``build()`` has made it: until then a page
    that reloads itself (``STARTING_PAGE``, status 503 with Retry-After), and after a
    failed build one that says so. ``build`` returns an ASGI app (FastAPI) whose
    lifespan (Gradio's queue) runs from ``start()`` to ``close()``."""

    def __init__(self, build, log=print):
        self._build, self._log = build, log
        self.app = None
        self.state = "starting"  # "ready" | "failed"
        self._stack = contextlib.AsyncExitStack()

    async def __call__(self, scope, receive, send):
        if self.app is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "http":
            failed = self.state == "failed"
            page = HTMLResponse(FAILED_PAGE if failed else STARTING_PAGE, status_code=500 if failed else 503,
                                headers={} if failed else {"Retry-After": "1", "Cache-Control": "no-store"})
            await page(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})  # try again later

    async def start(self, in_background: bool) -> None:
        """Build (on a thread when ``in_background``, so the API answers meanwhile) and mount."""
        try:
            ui = await asyncio.to_thread(self._build) if in_background else self._build()
            await self._stack.enter_async_context(ui.router.lifespan_context(ui))
        except Exception as e:  # noqa: BLE001 - the API goes on serving; the page says the UI failed
            self.state = "failed"
            self._log(f"the web app could not be started: {e!r}")
            if not in_background:
                raise
            return
        self.app, self.state = ui, "ready"

    async def close(self) -> None:
        await self._stack.aclose()


def create_server(live, settings, blocks=None, ui_in_background: bool = False, log=print) -> FastAPI:
    """The API, and the Gradio app ``blocks`` (built from ``live`` when not given) mounted
    at ``/``: before the server takes requests, or, with ``ui_in_background``, while the
    API already answers (``LateUI``)."""
    from starlette.middleware import Middleware

    from .pagelang import PageLanguage
    from .webguard import WebGuard
    from .workers import answer_in_process, answer_workers, llm_status

    upload_max = int(settings.max_file_mb * 1024 * 1024) if settings.kb_upload else 0
    late = LateUI(lambda: _gradio_app(live, settings, blocks, upload_max), log)

    @contextlib.asynccontextmanager
    async def serving(_api):
        # extractive answers in worker processes while the server runs (answerprocs.py)
        live.start_answer_processes(settings.answer_processes)
        building = asyncio.create_task(late.start(True)) if ui_in_background else None
        # the retriever warms up while the port is open (a no-op when it already is warm)
        warming = asyncio.create_task(_warm_up_in_turn(live, building, log))
        try:
            if building is None:
                await late.start(False)
            yield
        finally:
            for task in (building, warming):
                if task is not None and not task.done():
                    task.cancel()
            await late.close()
            live.close()

    guard = Middleware(WebGuard, upload_max_bytes=upload_max, allowed_hosts=settings.allowed_hosts)
    api = FastAPI(title="知识产权规划问答助手 API", docs_url="/v1/docs", openapi_url="/v1/openapi.json",
                  redoc_url=None, lifespan=serving, middleware=[guard, Middleware(PageLanguage)])
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
        return llm_status(settings)[0]

    @api.get("/healthz")
    def healthz() -> dict[str, Any]:
        lib = live.lib
        procs = live.answer_processes()
        return {"status": "ok", "documents": len(lib.plans), "answerer": settings.answerer,
                "embedding_model": settings.embedding_model,
                # worker processes computing extractive answers (0 while they start)
                "answer_processes": len(procs.pids()) if procs is not None else 0,
                # the retriever's warm-up: loading until done (questions wait for it meanwhile)
                "index": "ready" if live.pipeline.ready else "loading",
                "ui": late.state}  # the Gradio app at /: starting | ready | failed

    @api.get("/v1/models", dependencies=[Depends(check_key)])
    def models() -> dict[str, Any]:
        ids = [MODEL] + ([LLM_MODEL] if llm_ok() else [])
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "local"} for i in ids]}

    @api.post("/v1/search", dependencies=[Depends(check_key)])
    def search(req: SearchRequest) -> dict[str, Any]:
        snap = live.snapshot()
        titles = snap.library.titles
        try:
            check_text(req.query, "the query")  # a lone surrogate (JSON's "\ud800") reached the encoder: 500
            snap.pipeline.warm_up()  # waits for the start's warm-up when it is still running
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

    api.mount("/", late)
    return api


def _gradio_app(live, settings, blocks, upload_max: int) -> FastAPI:
    """The Gradio app (``blocks``, built from ``live`` when None) mounted in an ASGI app of its own."""
    import gradio as gr

    from .leanqueue import STATUS_UPDATE_S, lean_queue
    from .sessions import lean_sessions
    from .ui import build_app, page_assets

    with _one_gradio_app():
        if blocks is None:
            blocks = build_app(live, settings)
        blocks.queue(default_concurrency_limit=4, status_update_rate=STATUS_UPDATE_S)
    blocks.state_session_capacity = settings.max_sessions
    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    gr.mount_gradio_app(ui, blocks, path="", show_error=False, max_file_size=max(upload_max, 1),
                        footer_links=["api"], enable_monitoring=False, **page_assets())
    # the Blocks' app is the one served, as launch() makes it (the queue answers events through it)
    blocks.app = next(r.app for r in ui.routes if isinstance(r, Mount))
    lean_sessions(blocks)
    lean_queue(blocks)
    return ui


@contextlib.contextmanager
def _one_gradio_app():
    """Gradio makes an ASGI app of the Blocks (``App.create_app``: about 80 routes, each
    signature analysed by FastAPI) when ``gr.Blocks()`` is made, when its ``with`` ends
    and at ``queue()``, each replacing the last, before ``mount_gradio_app`` makes the one
    that is served: 3 of the 4 are thrown away (0.28 of the 0.43 CPU s that building and
    mounting the page took). They are not made while the Blocks are built and queued here
    (one build at a time: a server builds its page once)."""
    from gradio.routes import App

    made = App.__dict__["create_app"]
    App.create_app = staticmethod(lambda *_args, **_kwargs: None)
    try:
        yield
    finally:
        App.create_app = made


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

    app = create_server(live, settings, ui_in_background=settings.ui_in_background, log=log)
    log(f"serving on http://{host}:{port} (API: http://{host}:{port}/v1)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def prepare_pipeline(settings, log=print, warm: bool = True):
    """An AskPipeline over the index, building the index first when it is missing or
    stale, and rebuilding (repairing) it when a file of it is damaged. Warmed up, or
    with ``warm=False`` only loaded and checked (``IndexStore.load``): the caller warms
    it up later (``warm_up``)."""
    from .index import IndexBuilder

    try:
        return _loaded_pipeline(settings, warm)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError) as e:
        log(f"{e}\nBuilding the index now (unchanged documents are reused)…")
        summary = IndexBuilder(settings).build(progress=True)
        log(f"index built: {summary.chunks} chunks from {summary.documents} documents")
        return _loaded_pipeline(settings, warm)


def _loaded_pipeline(settings, warm: bool):
    from .ask import AskPipeline
    from .index import IndexStore
    from .retrieval import HybridRetriever

    if warm:
        return AskPipeline(settings).warm_up()
    return AskPipeline(settings, retriever=HybridRetriever(settings, store=IndexStore.load(settings)))


async def _warm_up_in_turn(live, building: asyncio.Task | None, log=print) -> None:
    """The server's own warm-up, at once when it answers questions itself; when worker
    processes answer them (``answer_processes``), only once they are ready and the UI is
    built: until then it would only do their work twice and slow the UI's build (one GIL).
    Its pipeline serves ``/v1/search`` and answers when no worker is ready; meanwhile a
    question waits for the workers (``answer_in_process``), and a search warms it up at
    once (``AskPipeline.warm_up`` is done once)."""
    from .workers import WORKERS_START_WAIT_S

    procs = live.snapshot().processes
    if procs is not None:
        await asyncio.to_thread(procs.wait_ready, WORKERS_START_WAIT_S)
        if building is not None:
            await asyncio.wait([building])
    await asyncio.to_thread(warm_up, live.pipeline, log)


def warm_up(pipeline, log=print) -> None:
    """``pipeline.warm_up()`` on a server's background thread: a failure is logged (each
    question then says what went wrong), never raised into the server's event loop."""
    try:
        pipeline.warm_up()
    except Exception as e:  # noqa: BLE001 - the server goes on; questions report the error
        log(f"the index could not be warmed up: {e!r}")


def run_cli(args, settings) -> int:
    """``python -m assistant serve`` / ``python app.py``: the API first, the Gradio app
    when it is built (``ui_in_background``)."""
    from .library import make_library
    from .live import LiveIndex

    host = getattr(args, "host", None) or settings.server_name
    port = int(getattr(args, "port", None) or settings.server_port)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    # the port opens before the retriever is warm (create_server's lifespan warms it up)
    live = LiveIndex(prepare_pipeline(settings, log=log, warm=False), settings, make_library)
    run(live, settings, host, port, log=log)
    return 0
