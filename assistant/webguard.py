"""What the web server adds to every response and refuses outright.

``WebGuard`` is a plain ASGI middleware (it does not buffer, so the queue's event
streams pass through as they are sent):

* **Content-Security-Policy** on every response: the page may fetch scripts,
  styles, images, fonts and data from its own origin only (images and fonts also
  from ``data:``/``blob:`` URLs it makes itself). Answers are rendered so that no
  markup from a document, a question or an LLM reaches the page
  (``ui.render_answer_text``); the policy is the second fence, so that a slip
  there still cannot make the browser send anything to another host.
  ``Referrer-Policy: no-referrer`` keeps the page's URL out of any link followed.
* **The upload fence.** Gradio serves ``POST /gradio_api/upload`` to anyone,
  whether or not the page has an upload component, and stores what it gets.
  The app has no upload, so the route answers 403. The hook for the knowledge
  base's upload: ``WebGuard(app, upload_max_bytes=N)`` opens it for requests that
  declare a ``Content-Length`` of at most N bytes (and ``launch`` is given
  ``max_file_size=N``, Gradio's own streaming limit); the type of what arrives is
  then checked by the upload component (``gr.File(file_types=...)``, enforced by
  Gradio on the server) and by the loaders, which read a file by its content.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Gradio's front end needs inline scripts and styles and evaluates the page's own
# js= snippets; what it must not do is fetch from, connect to or post to another host.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
UPLOAD_PATH_SUFFIX = "/gradio_api/upload"


class WebGuard:
    def __init__(self, app: Callable, upload_max_bytes: int = 0):
        self.app = app
        self.upload_max_bytes = int(upload_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].rstrip("/").endswith(UPLOAD_PATH_SUFFIX):
            refusal = self._refuse_upload(scope)
            if refusal is not None:
                await _plain_response(send, *refusal)
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refuse_upload(self, scope: Scope) -> tuple[int, str] | None:
        if self.upload_max_bytes <= 0:
            return 403, "uploads are disabled on this server"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is None or not length.isdigit():
            return 411, "an upload must declare its Content-Length"
        if int(length) > self.upload_max_bytes:
            return 413, f"upload larger than the {self.upload_max_bytes} byte limit"
        return None


async def _plain_response(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


def launch_kwargs(upload_max_bytes: int = 0) -> dict[str, Any]:
    """What ``gr.Blocks.launch`` takes to install the guard: the middleware, and
    Gradio's own upload size limit kept equal to the guard's.

    Also ``_frontend=False``: after binding, ``launch()`` sends the page a HEAD request
    with a 3 s timeout and, when it times out, raises "localhost is not accessible" (a
    traceback, the server gone). On a busy machine the first page render takes longer
    than that. The server is bound to its address when the check runs, so the check
    proves nothing; ``_frontend`` switches off that check and nothing else in the pinned
    gradio (6.31)."""
    from starlette.middleware import Middleware

    return {
        "app_kwargs": {"middleware": [Middleware(WebGuard, upload_max_bytes=upload_max_bytes)]},
        "max_file_size": max(int(upload_max_bytes), 1),
        "_frontend": False,
    }
