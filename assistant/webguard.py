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
* **Request bodies**: a request other than an upload may carry at most
  ``MAX_REQUEST_BYTES`` (413 otherwise, by its ``Content-Length`` or, for a chunked
  body, as soon as more has arrived): the API read a body of any size into memory
  (180 MB of question took the server from 0.39 to 0.75 GB, kept).
* **Host names** (against DNS rebinding: a site whose name an attacker points at
  127.0.0.1 would otherwise be served the app as its own origin, free to read and
  change it): a request is served only when its ``Host`` is an IP address,
  ``localhost`` (or ``*.localhost``) or a name in ``allowed_hosts``; else 400.
* **Cross-origin writes**: a request that may change something (any method but
  GET, HEAD, OPTIONS; a WebSocket) sent by a page of another origin (its ``Origin``
  header is not this server's ``Host``) is refused (403). Browsers send ``Origin``
  with every such request; a page elsewhere (another local app, a file, a site)
  could otherwise post a file to the upload route or run the page's events in the
  user's name. Clients that are not browsers send no ``Origin`` and are not affected.

``refuse_url_downloads()`` closes what Gradio itself would fetch: any event input
carrying a file reference (``{"path": "http://…", "meta": {"_type": "gradio.FileData"}}``,
accepted for every component, a text box included) made Gradio download that URL
before the event ran (with no size limit; its check against private addresses asks
Google's DNS-over-HTTPS about the host). The app never needs Gradio to download.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

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
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# a question, its history and any event of the page fit many times over (an upload has its own limit)
MAX_REQUEST_BYTES = 8 * 1024 * 1024
URL_DOWNLOAD_REFUSED = "本服务不下载网址：请从本页上传文件。"


class WebGuard:
    """``allowed_hosts``: host names served besides IP addresses and ``localhost``
    (comma-separated, ``*.example.org`` for a domain's names, ``*`` for any; see the
    module's docstring)."""

    def __init__(self, app: Callable, upload_max_bytes: int = 0, allowed_hosts: str = ""):
        self.app = app
        self.upload_max_bytes = int(upload_max_bytes)
        self.allowed_hosts = [h.strip().lower() for h in str(allowed_hosts).split(",") if h.strip()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refuse_host_or_origin(scope)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _plain_response(send, *refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].rstrip("/").endswith(UPLOAD_PATH_SUFFIX):
            refusal = self._refuse_upload(scope)
            if refusal is not None:
                await _plain_response(send, *refusal)
                return
        else:
            length = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_REQUEST_BYTES:
                await _plain_response(send, 413, f"request body larger than {MAX_REQUEST_BYTES} bytes")
                return
            receive = _BodyLimit(receive, send, MAX_REQUEST_BYTES)
        started = False

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if isinstance(receive, _BodyLimit) and receive.refused:
                return  # the refusal has been sent; the app's own answer is dropped
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        if isinstance(receive, _BodyLimit):
            receive.response_started = lambda: started
        await self.app(scope, receive, send_with_headers)

    def _refuse_host_or_origin(self, scope: Scope) -> tuple[int, str] | None:
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if b"host" in headers and not self.host_allowed(_hostname(host)):  # no Host: not a browser
            return 400, (f"host {host!r} is not served here: open the app by its IP address or localhost, "
                         "or add the name to the allowed_hosts setting")
        origin = headers.get(b"origin")
        if origin is None or (scope["type"] == "http" and scope["method"] in SAFE_METHODS):
            return None
        if not _same_origin(origin.decode("latin-1"), host):
            return 403, "cross-origin request refused: this server takes changes only from its own pages"
        return None

    def host_allowed(self, name: str) -> bool:
        """An IP address, localhost or a name allowed."""
        if name == "localhost" or name.endswith(".localhost") or _is_ip(name):
            return True
        return any(a in ("*", name) or (a.startswith("*.") and (name == a[2:] or name.endswith(a[1:])))
                   for a in self.allowed_hosts)

    def _refuse_upload(self, scope: Scope) -> tuple[int, str] | None:
        if self.upload_max_bytes <= 0:
            return 403, "uploads are disabled on this server"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is None or not length.isdigit():
            return 411, "an upload must declare its Content-Length"
        if int(length) > self.upload_max_bytes:
            return 413, f"upload larger than the {self.upload_max_bytes} byte limit"
        return None


class _BodyLimit:
    """``receive`` for an app, refusing a body (one without ``Content-Length``: chunked)
    once more than ``limit`` bytes of it have arrived: 413 is sent, unless the app has
    begun its answer, and the app is told the client has gone."""

    def __init__(self, receive: Receive, send: Send, limit: int):
        self._receive, self._send, self.limit = receive, send, limit
        self.seen = 0
        self.refused = False
        self.response_started: Callable[[], bool] = lambda: False

    async def __call__(self) -> dict[str, Any]:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                if not self.response_started():
                    await _plain_response(self._send, 413, f"request body larger than {self.limit} bytes")
                self.refused = True
                return {"type": "http.disconnect"}
        return message


def _hostname(host: str) -> str:
    """The name of a ``Host`` header's value (no port; an IPv6 address without brackets)."""
    try:
        return (urlsplit("//" + host).hostname or "").lower()
    except ValueError:
        return ""


def _same_origin(origin: str, host: str) -> bool:
    """Whether a browser's ``Origin`` (``null`` is none) names the server at ``Host``: the
    same name, and the same port when ``Host`` gives one (a port-less ``Host`` is the
    scheme's default, which the origin's scheme says)."""
    try:
        seen, served = urlsplit(origin), urlsplit("//" + host)
        origin_port = seen.port or {"http": 80, "https": 443}.get(seen.scheme)
        host_port = served.port
    except ValueError:
        return False
    return (bool(seen.hostname) and seen.hostname.lower() == (served.hostname or "").lower()
            and (host_port is None or host_port == origin_port))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def _plain_response(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


def refuse_url_downloads() -> None:
    """Gradio's blocks download a URL named by an event's input (or output) instead of
    taking a file uploaded to this server: from now on they refuse it (``gradio.Error``,
    the event fails with ``URL_DOWNLOAD_REFUSED``). Files uploaded through the page and
    the app's own files are moved to the cache as before."""
    from gradio.blocks import Block
    from gradio.exceptions import Error
    from gradio_client.utils import is_http_url_like

    if getattr(Block, "_assistant_no_url_downloads", False):
        return
    moved, moved_async = Block.move_resource_to_block_cache, Block.async_move_resource_to_block_cache

    def move_resource_to_block_cache(self, url_or_file_path):
        if isinstance(url_or_file_path, str) and is_http_url_like(url_or_file_path):
            raise Error(URL_DOWNLOAD_REFUSED)
        return moved(self, url_or_file_path)

    async def async_move_resource_to_block_cache(self, url_or_file_path):
        if isinstance(url_or_file_path, str) and is_http_url_like(url_or_file_path):
            raise Error(URL_DOWNLOAD_REFUSED)
        return await moved_async(self, url_or_file_path)

    Block.move_resource_to_block_cache = move_resource_to_block_cache
    Block.async_move_resource_to_block_cache = async_move_resource_to_block_cache
    Block._assistant_no_url_downloads = True


def launch_kwargs(upload_max_bytes: int = 0, allowed_hosts: str = "") -> dict[str, Any]:
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
        "app_kwargs": {"middleware": [Middleware(WebGuard, upload_max_bytes=upload_max_bytes,
                                                 allowed_hosts=allowed_hosts)]},
        "max_file_size": max(int(upload_max_bytes), 1),
        "_frontend": False,
    }
