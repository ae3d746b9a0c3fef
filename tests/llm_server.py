"""A real OpenAI-compatible chat-completions server for tests, with scripted replies.

It listens on 127.0.0.1 (a free port chosen by the OS) and answers
``POST /v1/chat/completions`` in OpenAI's wire format: a JSON ``chat.completion``
object, or with ``"stream": true`` Server-Sent Events ``data: {chat.completion.chunk}``
ending with ``data: [DONE]`` (the format ``openai.Stream`` parses).

Each request takes the next behaviour from a queue the test scripts in advance
(reply text, delay, HTTP error, malformed JSON, dropped connection). A request
with nothing scripted gets HTTP 500 and is recorded, so an unexpected extra call
makes the test fail loudly instead of hanging. Every request is recorded with
its JSON body so tests can check what the prompt contained.

Usage::

    with ScriptedLLMServer() as srv:
        srv.script(Reply("答案「…」[1]"))
        settings.llm_base_url = srv.base_url
        ...
        assert "【1】" in srv.requests[0].user_text
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """One scripted response.

    text: the assistant message content.
    delay_s: sleep before sending anything (simulates a slow model / stalled endpoint).
    status: HTTP status; anything but 200 sends an OpenAI-style error body.
    malformed: send a body (or an SSE event) that is not valid JSON.
    drop: close the connection without sending a response.
    chunk_chars: characters per streamed delta (so a reply arrives as several tokens).
    chunk_delay_s: pause between streamed deltas.
    compose: when given, the reply text is ``compose(request)``: for replies that
        must quote what the prompt contained (e.g. clause [1]'s first sentence).
    """

    text: str = ""
    delay_s: float = 0.0
    status: int = 200
    malformed: bool = False
    drop: bool = False
    chunk_chars: int = 3
    chunk_delay_s: float = 0.0
    compose: Any = None


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased (HTTP header names are case-insensitive)
    body: dict[str, Any] = field(default_factory=dict)
    # how a streamed reply ended: "done" (all of it sent), "client closed" (the client
    # closed the connection before the end); "" while streaming or when not streamed
    outcome: str = ""
    chunks_sent: int = 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def text_of(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)

    @property
    def system_text(self) -> str:
        return self.text_of("system")

    @property
    def user_text(self) -> str:
        return self.text_of("user")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def clause_text(self, n: int) -> str:
        """The text of clause [n] as the answer prompt listed it ("" if absent)."""
        import re

        m = re.search(rf"^\[{n}\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n</clauses>|\Z)", self.user_text, re.S | re.M)
        return m.group(1).strip() if m else ""


class ScriptedLLMServer:
    """Threaded HTTP server; use as a context manager (or the ``llm_server`` fixture)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        # handler threads must not keep the test process alive (a delayed reply may
        # still be sleeping when the client has already given up)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply | str) -> None:
        with self._lock:
            for r in replies:
                self._queue.append(Reply(text=r) if isinstance(r, str) else r)

    def reset(self) -> None:
        """Forget scripted replies and recorded requests (between tests)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> "ScriptedLLMServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedLLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    # -- HTTP ----------------------------------------------------------------
    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                with server._lock:
                    server.requests.append(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path.rstrip("/").endswith("/models"):
                    self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "tests"}]})
                else:
                    self._send_json(404, _error_body("not found", "invalid_request_error"))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                record = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(record)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send_json(404, _error_body(f"no route {self.path}", "invalid_request_error"))
                    return
                reply = server._next()
                if reply is None:
                    self._send_json(500, _error_body("test server: no scripted reply left", "server_error"))
                    return
                if reply.compose is not None:
                    reply = Reply(**{**reply.__dict__, "text": reply.compose(server.requests[-1]), "compose": None})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.drop:
                    # close the socket without a status line: the client sees a protocol error
                    self.close_connection = True
                    self.connection.close()
                    return
                if reply.status != 200:
                    self._send_json(reply.status, _error_body(reply.text or f"scripted HTTP {reply.status}", "server_error"))
                    return
                model = str(body.get("model", "scripted"))
                try:
                    if body.get("stream"):
                        self._stream(reply, model, record)
                        record.outcome = "done"
                    else:
                        self._complete(reply, model)
                except (BrokenPipeError, ConnectionResetError):
                    record.outcome = "client closed"  # it gave up (its timeout fired, or it was stopped)

            def _send_json(self, status: int, obj: Any, raw: bytes | None = None):
                data = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _complete(self, reply: Reply, model: str):
                if reply.malformed:
                    self._send_json(200, None, raw=b'{"id": "chatcmpl-x", "choices": [')
                    return
                self._send_json(200, {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def _stream(self, reply: Reply, model: str, record: RecordedRequest):
                # no Content-Length: the body ends when the connection closes
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                created = int(time.time())

                def chunk(delta: dict, finish: str | None = None) -> bytes:
                    obj = {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    }
                    return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n"

                self.wfile.write(chunk({"role": "assistant", "content": ""}))
                if reply.malformed:
                    self.wfile.write(b"data: {not json\n\n")
                    self.wfile.flush()
                    return
                n = max(1, reply.chunk_chars)
                for i in range(0, len(reply.text), n):
                    self.wfile.write(chunk({"content": reply.text[i:i + n]}))
                    self.wfile.flush()
                    record.chunks_sent += 1
                    if reply.chunk_delay_s:
                        time.sleep(reply.chunk_delay_s)
                self.wfile.write(chunk({}, finish="stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler


def _error_body(message: str, typ: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": typ, "param": None, "code": None}}


@pytest.fixture(scope="session")
def llm_server_session():
    """One server for the whole run: the OpenAI client keeps an HTTP client per base URL,
    and building one (TLS context included) costs ~0.2 s per new port."""
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def llm_server(llm_server_session):
    """The running ScriptedLLMServer with an empty script and no recorded requests, and
    no failures remembered by any endpoint's circuit breaker."""
    from assistant.llm import reset_breakers

    llm_server_session.reset()
    reset_breakers()
    yield llm_server_session
    llm_server_session.reset()
    reset_breakers()


# ---------------------------------------------------------------------------
# real clauses for answerer tests


def corpus_clauses(project_root, per_doc: int = 1, source: str = "auto"):
    """Real ``models.Clause`` objects, ``per_doc`` from each plan, in plans.toml order.

    With ``source="auto"`` taken from ``index/clauses.jsonl`` when the corpus has been
    ingested; otherwise (or with ``source="raw"``) built from lines of the raw plan
    files (real text, numbered by line). Either way
    each clause has at least two sentences of some length, so tests can quote one
    sentence and check it against the rest."""
    from pathlib import Path

    from assistant import textnorm
    from assistant.citations import split_sentences
    from assistant.corpus import load_plans
    from assistant.models import Clause

    def quotable(text: str) -> bool:
        return 80 <= len(text) <= 600 and sum(len(s) >= 15 for s in split_sentences(text)) >= 2

    root = Path(project_root)
    plans = load_plans(root / "corpus")
    picked: dict[str, list[Clause]] = {p.id: [] for p in plans}
    jsonl = root / "index" / "clauses.jsonl"
    if source == "auto" and jsonl.is_file():
        with open(jsonl, encoding="utf-8") as fh:
            for line in fh:
                c = Clause.from_dict(json.loads(line))
                if c.doc_id in picked and len(picked[c.doc_id]) < per_doc and c.is_leaf and quotable(c.text):
                    picked[c.doc_id].append(c)
    for meta in plans:
        if picked[meta.id]:
            continue
        text = (root / "corpus" / meta.file).read_text(encoding="utf-8")
        offset = 0
        for i, line in enumerate(text.splitlines(keepends=True)):
            body = line.strip()
            if len(picked[meta.id]) < per_doc and quotable(body):
                start = offset + line.index(body)
                picked[meta.id].append(Clause(
                    doc_id=meta.id, title=meta.title, place=meta.place, path=f"第{i + 1}行",
                    level="item", number="", heading="", parents=[], parent_paths=[],
                    text=body, text_simplified=textnorm.for_search(body),
                    span=(start, start + len(body)), ordinal=i,
                ))
            offset += len(line)
    return [c for meta in plans for c in picked[meta.id]]
