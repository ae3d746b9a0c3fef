"""Secrets kept out of everything a user or a log can see.

The secrets are the LLM API key and credentials written into a URL
(``http://user:secret@host/v1``, ``…?api_key=…``). They reach text in two ways:
a setting printed or shown as it is (``config``, the app's settings panel), and an
endpoint's error that echoes them back (a 401 body quoting the key, an exception
that prints the URL). Every message built from a setting or from an endpoint's
reply passes through :func:`redact` (or a :class:`Redactor` for the settings in
force) before it is shown, logged or stored in an answer.
"""
from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"
# A shorter "secret" would mask ordinary words of the messages it is removed from.
MIN_SECRET_CHARS = 3

# scheme://userinfo@ — userinfo is everything up to the last "@" before the host
_USERINFO_RE = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^\s/?#@]*(?:@[^\s/?#@]*)*)@")
# query parameters whose value is a credential (api_key, api-key, access_token, sig, password …)
_SECRET_PARAM_RE = re.compile(
    r"(?P<key>[?&](?:[A-Za-z0-9_\-]*(?:key|token|secret|password|passwd|pwd|sig|signature|auth)[A-Za-z0-9_\-]*))="
    r"(?P<value>[^&#\s]+)",
    re.IGNORECASE,
)
# "Bearer sk-…" / "Basic dXNlcjpwYXNz" as an HTTP client or server may echo an Authorization header
_AUTH_HEADER_RE = re.compile(r"\b(?P<kind>Bearer|Basic)\s+(?P<value>[A-Za-z0-9+/=._\-~]{6,})", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and credential query parameters masked."""
    return _redact_patterns(url or "")


def _redact_patterns(text: str) -> str:
    text = _USERINFO_RE.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _SECRET_PARAM_RE.sub(lambda m: f"{m['key']}={MASK}", text)
    return _AUTH_HEADER_RE.sub(lambda m: f"{m['kind']} {MASK}", text)


def url_secrets(url: str) -> list[str]:
    """The credentials written into ``url``: user, password and user:password, as
    written and percent-decoded (an error message may show either form)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return []
    out: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        out.append(userinfo)
        user, _, password = userinfo.partition(":")
        out += [user, password]
    for m in _SECRET_PARAM_RE.finditer("?" + (parts.query or "")):
        out.append(m["value"])
    return [s for s in {*out, *(unquote(s) for s in out)} if s]


class Redactor:
    """Masks the given secret values, and any credentials in URLs, in text."""

    def __init__(self, secrets: Iterable[str] = ()):
        # longest first, so a password is not half-masked by a shorter secret inside it
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    @classmethod
    def for_settings(cls, settings: Any) -> "Redactor":
        """Masks the secret settings' values and the credentials in the URL settings."""
        from .settings import SECRET_FIELDS, URL_FIELDS

        secrets = [str(getattr(settings, name, "") or "") for name in SECRET_FIELDS]
        for name in URL_FIELDS:
            secrets += url_secrets(str(getattr(settings, name, "") or ""))
        return cls(secrets)

    def __call__(self, text: Any) -> str:
        text = "" if text is None else str(text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _redact_patterns(text)


def redact(text: Any, settings: Any = None) -> str:
    """``text`` without the secrets of ``settings`` (when given) or any URL credentials."""
    return (Redactor.for_settings(settings) if settings is not None else Redactor())(text)
