"""Serve Gradio's page as a Chinese page, whatever the browser's language.

Gradio's front end picks its locale from ``navigator.language`` before it reads the
app's ``head``, and its page says ``<html lang="en">``. ``PageLanguage`` (a plain
ASGI middleware) rewrites the page itself as it is served: ``lang="zh-CN"``, and a
first script that makes ``navigator.language`` say zh-CN, so that Gradio's own
strings ("Use via API", "Copy message", "Warning" …) come from its zh-CN locale
and screen readers read the page as Chinese. Only HTML responses to GET requests
are touched (they are asked for uncompressed so they can be rewritten).
"""
from __future__ import annotations

import re
from typing import Any

LANG = "zh-CN"
LOCALE_SCRIPT = (
    "<script>(function(){try{"
    "Object.defineProperty(Navigator.prototype,'language',{get:function(){return '%s';},configurable:true});"
    "Object.defineProperty(Navigator.prototype,'languages',{get:function(){return ['%s','zh'];},configurable:true});"
    "}catch(e){}})();</script>" % (LANG, LANG)
)


def rewrite_page(html: str) -> str:
    html = re.sub(r'<html(\s[^>]*?)?\slang="[^"]*"', lambda m: f'<html{m.group(1) or ""} lang="{LANG}"', html, count=1)
    return re.sub(r"<head(\s[^>]*)?>", lambda m: m.group(0) + LOCALE_SCRIPT, html, count=1)


class PageLanguage:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].endswith("/"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope, headers=[(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"])
        held: dict[str, Any] = {}
        body: list[bytes] = []

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ctype = dict((k.lower(), v) for k, v in message.get("headers", [])).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and "start" in held:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = rewrite_page(b"".join(body).decode("utf-8", "replace")).encode("utf-8")
                start = held.pop("start")
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                await send({**start, "headers": headers + [(b"content-length", str(len(page)).encode())]})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
