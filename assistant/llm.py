"""The optional LLM answerer: any OpenAI-compatible chat endpoint through LangChain.

Used when ``settings.answerer == "llm"`` and ``llm_base_url`` / ``llm_model`` are set
(``llm_api_key`` is optional: Ollama, vLLM and llama.cpp servers need none).

The model only drafts: :meth:`LLMAnswerer.answer` returns the raw text and the
numbered clauses it was shown, and :func:`assistant.citations.check_llm_answer`
(``LLMDraft.check()``) decides which citations stand. Every failure of the endpoint
(refused connection, HTTP error, timeout, malformed or empty reply) becomes an
:class:`LLMUnavailableError` whose message says which endpoint and why, so the
caller can fall back to the extractive answerer.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlparse

from .circuit import CircuitBreaker, CircuitOpen
from .citations import NOT_FOUND_MARKER, CheckedAnswer, NumberedClause, check_llm_answer, number_clauses
from .errors import LLMUnavailableError
from .redact import Redactor, redact_url
from .settings import Settings

PROMPT_ANSWER_SYSTEM = "answer_system"
PROMPT_ANSWER_USER = "answer_user"
PROMPT_CONDENSE = "condense_question"
PROMPTS = (PROMPT_ANSWER_SYSTEM, PROMPT_ANSWER_USER, PROMPT_CONDENSE)

# Prompt budget: small local models have 4–8k-token windows. The top clauses carry
# the answer; long clauses (tables, task lists) are shown as the retrieved piece.
MAX_CLAUSES = 8
MAX_CLAUSE_CHARS = 1200
HISTORY_TURNS = 3
HISTORY_ANSWER_CHARS = 400


# ---------------------------------------------------------------------------
# prompts


def load_prompt(name: str, prompts_dir: str | Path) -> str:
    """The text of ``prompts_dir/<name>.txt`` (``name`` may include the .txt)."""
    p = Path(prompts_dir) / (name if name.endswith(".txt") else f"{name}.txt")
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LLMUnavailableError(
            f"prompt template {p} is missing; restore it from the repository or set prompts_dir"
        ) from None


def normalise_history(history: Any) -> list[tuple[str, str]]:
    """Earlier turns as (question, answer) pairs, oldest first.

    Accepts the CLI/gold form ``[{"q": .., "a": ..}]``, ``(q, a)`` pairs and chat
    messages ``[{"role": "user"|"assistant", "content": ..}]`` (Gradio's format)."""
    turns: list[tuple[str, str]] = []
    pending_q: str | None = None
    for item in history or []:
        if isinstance(item, Mapping) and "role" in item:
            content = _content_text(item.get("content"))
            if item["role"] == "user":
                if pending_q is not None:
                    turns.append((pending_q, ""))
                pending_q = content
            elif item["role"] == "assistant":
                turns.append((pending_q or "", content))
                pending_q = None
        elif isinstance(item, Mapping):
            turns.append((str(item.get("q") or item.get("question") or ""), str(item.get("a") or item.get("answer") or "")))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            turns.append((_content_text(item[0]), _content_text(item[1])))
        else:
            raise ValueError(f"history entries must be {{'q','a'}} dicts, (q, a) pairs or chat messages, got {item!r}")
    if pending_q is not None:
        turns.append((pending_q, ""))
    return [(q, a) for q, a in turns if q or a]


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal message parts
        return "".join(p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content)
    return str(content)


def format_history(history: Any, turns: int = HISTORY_TURNS, answer_chars: int = HISTORY_ANSWER_CHARS) -> str:
    pairs = normalise_history(history)[-turns:] if turns else []
    if not pairs:
        return "(none)"
    lines = []
    for q, a in pairs:
        if len(a) > answer_chars:
            a = a[:answer_chars] + "…"
        lines.append(f"User: {q}\nAssistant: {a}")
    return "\n\n".join(lines)


def format_clauses(numbered: Sequence[NumberedClause]) -> str:
    blocks = []
    for c in numbered:
        head = " ".join(x for x in (f"《{c.title}》" if c.title else "", c.path, c.heading) if x)
        blocks.append(f"[{c.n}] {head}\n{c.shown or c.text}")
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------
# the answerer


@dataclass
class LLMDraft:
    text: str  # the model's reply, unchecked
    numbered: list[NumberedClause]  # the clauses it was shown, by number
    question: str
    model: str
    elapsed_s: float = 0.0
    chunks: int = 0  # streamed pieces received
    prompt: dict[str, str] = field(default_factory=dict, repr=False)  # system/user as sent

    def check(self) -> CheckedAnswer:
        return check_llm_answer(self.text, self.numbered, query=self.question)


class LLMAnswerer:
    """Drafts answers with an OpenAI-compatible chat model (``langchain_openai.ChatOpenAI``)."""

    def __init__(self, settings: Settings):
        ok, reason = self.available(settings)
        if not ok:
            raise LLMUnavailableError(reason)
        self.settings = settings
        # every message about the endpoint passes through this: the key, and credentials
        # in the URL, must not reach a note, a panel or a log (an endpoint may echo them)
        self.redact = Redactor.for_settings(settings)
        self.base_url = redact_url(settings.llm_base_url)
        self.breaker = breaker_for(settings)
        self.model = settings.llm_model
        self.timeout_s = float(settings.llm_timeout_s)
        self._prompts = {name: load_prompt(name, settings.prompts_dir) for name in PROMPTS}
        from langchain_openai import ChatOpenAI  # heavy import, only when the LLM is used

        self._chat = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            # local servers ignore the key, but the OpenAI client refuses to start without one
            api_key=settings.llm_api_key or "not-needed",
            timeout=self.timeout_s,
            # fail fast: the caller falls back to the extractive answer instead of waiting
            max_retries=0,
            temperature=settings.llm_temperature,
            # OpenAI-compatible servers (Ollama, vLLM, llama.cpp) speak chat completions,
            # not the Responses API some model names would otherwise select
            use_responses_api=False,
        )

    # -- availability ----------------------------------------------------------
    @staticmethod
    def available(settings: Settings, probe: bool = False) -> tuple[bool, str]:
        """Whether the LLM answerer can be used, and if not, why (for the UI's switch).

        Checks the configuration and the prompt templates; with ``probe=True`` also asks
        the endpoint for its model list (``GET {base_url}/models``). The reason is
        redacted: it names the endpoint without the credentials in its URL."""
        ok, reason = LLMAnswerer._availability(settings, probe)
        return ok, Redactor.for_settings(settings)(reason)

    @staticmethod
    def _availability(settings: Settings, probe: bool) -> tuple[bool, str]:
        url = (settings.llm_base_url or "").strip()
        if not url:
            return False, "no LLM endpoint configured: set llm_base_url (e.g. http://localhost:11434/v1 for Ollama)"
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return False, f"llm_base_url {url!r} is not an http(s) URL"
        if not (settings.llm_model or "").strip():
            return False, "no LLM model configured: set llm_model"
        if settings.llm_timeout_s <= 0:
            return False, f"llm_timeout_s must be positive, got {settings.llm_timeout_s}"
        for name in PROMPTS:
            p = Path(settings.prompts_dir) / f"{name}.txt"
            if not p.is_file():
                return False, f"prompt template {p} is missing"
        if probe:
            return _probe(settings)
        return True, f"{settings.llm_model} at {url}"

    # -- calls -------------------------------------------------------------------
    def condense(self, question: str, history: Any) -> str:
        """Rewrite a follow-up into a standalone question using the history.

        Without history the question is returned unchanged and no call is made."""
        if not normalise_history(history):
            return question
        prompt = self._prompts[PROMPT_CONDENSE].format(history=format_history(history), question=question)
        from langchain_core.messages import HumanMessage

        text = self._run([HumanMessage(content=prompt)], on_token=None)[0]
        return _first_line(text) or question

    def answer(
        self,
        question: str,
        hits: Sequence[Any],
        clauses_by_id: Mapping[str, Any],
        history: Any = None,
        on_token: Callable[[str], None] | None = None,
    ) -> LLMDraft:
        """Draft an answer from the retrieved clauses, streaming tokens to ``on_token``.

        With no hits there is nothing to cite: the draft is the NOT_FOUND marker and no
        call is made."""
        numbered = self.number(hits, clauses_by_id)
        if not numbered:
            return LLMDraft(text=NOT_FOUND_MARKER, numbered=[], question=question, model=self.model)
        system = self._prompts[PROMPT_ANSWER_SYSTEM]
        user = self._prompts[PROMPT_ANSWER_USER].format(
            clauses=format_clauses(numbered), history=format_history(history), question=question
        )
        from langchain_core.messages import HumanMessage, SystemMessage

        t0 = time.monotonic()
        text, chunks = self._run([SystemMessage(content=system), HumanMessage(content=user)], on_token)
        return LLMDraft(
            text=text,
            numbered=numbered,
            question=question,
            model=self.model,
            elapsed_s=time.monotonic() - t0,
            chunks=chunks,
            prompt={"system": system, "user": user},
        )

    @staticmethod
    def number(hits: Sequence[Any], clauses_by_id: Mapping[str, Any]) -> list[NumberedClause]:
        """The clauses to show, numbered; a long clause is shown as its retrieved piece."""
        numbered = number_clauses(hits, clauses_by_id, max_clauses=MAX_CLAUSES)
        piece = {}
        for h in hits:
            piece.setdefault(h.clause_id, h.text)
        for c in numbered:
            if len(c.text) > MAX_CLAUSE_CHARS:
                shown = piece.get(c.clause_id) or c.text
                c.shown = shown if len(shown) <= MAX_CLAUSE_CHARS else shown[:MAX_CLAUSE_CHARS] + "…"
        return numbered

    def _run(self, messages: list, on_token: Callable[[str], None] | None) -> tuple[str, int]:
        """Stream one completion; returns (text, pieces). Endpoint failures become
        LLMUnavailableError; an exception from ``on_token`` propagates unchanged.

        The endpoint's circuit breaker sees every call: after ``llm_breaker_failures``
        failures in a row the endpoint is not called for ``llm_breaker_cooldown_s``
        (then one probe call at a time), and the call fails at once instead."""
        try:
            self.breaker.before_call()
        except CircuitOpen as e:
            raise LLMUnavailableError(self.redact(f"LLM endpoint {self.base_url} {e}")) from None
        try:
            result = self._stream_completion(messages, on_token)
        except LLMUnavailableError as e:
            self.breaker.record_failure(_short(str(e), 160))
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return result

    def _stream_completion(self, messages: list, on_token: Callable[[str], None] | None) -> tuple[str, int]:
        parts: list[str] = []
        stream = self._chat.stream(messages)
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                except Exception as e:  # noqa: BLE001 - unknown kinds are re-raised as they are
                    err = self._unavailable(e)
                    if err is None:
                        raise
                    raise LLMUnavailableError(self.redact(err)) from None
                token = _content_text(chunk.content)
                if token:
                    parts.append(token)
                    if on_token is not None:
                        on_token(token)
        finally:
            stream.close()  # releases the HTTP connection if we stop early
        text = "".join(parts)
        if not text.strip():
            raise LLMUnavailableError(self.redact(
                f"LLM endpoint {self.base_url} returned an empty answer (model {self.model})"))
        return text, len(parts)

    def _unavailable(self, e: Exception) -> LLMUnavailableError | None:
        """The user-facing error for an endpoint failure; None for anything else."""
        import openai

        url = self.base_url
        if isinstance(e, openai.APITimeoutError):
            return LLMUnavailableError(f"LLM endpoint {url} timed out after {self.timeout_s:g} s (llm_timeout_s)")
        if isinstance(e, openai.APIConnectionError):
            return LLMUnavailableError(f"LLM endpoint {url} unreachable: {_root_cause(e)}")
        if isinstance(e, openai.APIStatusError):
            hint = {
                401: " (check llm_api_key)",
                403: " (check llm_api_key)",
                404: f" (check llm_model {self.model!r} and that llm_base_url ends in /v1)",
            }.get(e.status_code, "")
            return LLMUnavailableError(f"LLM endpoint {url} answered HTTP {e.status_code}: {_short(e.message)}{hint}")
        if isinstance(e, openai.APIError):
            return LLMUnavailableError(f"LLM endpoint {url} failed: {_short(e.message)}")
        if isinstance(e, (ValueError, KeyError, TypeError, AttributeError)):
            # raised while parsing the reply (json.JSONDecodeError is a ValueError):
            # the server does not speak the OpenAI wire format
            return LLMUnavailableError(
                f"LLM endpoint {url} sent a reply that is not OpenAI-compatible chat-completions JSON: "
                f"{type(e).__name__}: {_short(str(e))}"
            )
        return None


_answerers: dict[tuple, LLMAnswerer] = {}
_answerers_lock = threading.Lock()
# what an answerer is built from: answerers of settings that agree on these are one
_ANSWERER_FIELDS = ("llm_base_url", "llm_model", "llm_api_key", "llm_timeout_s", "llm_temperature", "prompts_dir",
                    "llm_breaker_failures", "llm_breaker_cooldown_s")


def answerer_for(settings: Settings) -> LLMAnswerer:
    """The process's LLM answerer for these settings, built on first use, once.

    Building one imports langchain_openai and openai and makes an SSL context (about a
    second of CPU): built per question, or by several workers at once, it held the
    import lock that every other thread (plain answers too) may need. The lock here is
    held while building, so concurrent first callers wait for one build; the answerer
    is shared (its HTTP client is thread-safe), also across the pipelines a knowledge
    base reload swaps in. Raises LLMUnavailableError when no LLM is configured."""
    key = tuple(getattr(settings, f) for f in _ANSWERER_FIELDS)
    with _answerers_lock:
        llm = _answerers.get(key)
        if llm is None:
            llm = _answerers[key] = LLMAnswerer(settings)
        return llm


_breakers: dict[tuple, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(settings: Settings) -> CircuitBreaker:
    """The circuit breaker of this endpoint and model, shared by every answerer in the
    process (the app's sessions all see the same endpoint state)."""
    key = (settings.llm_base_url, settings.llm_model, settings.llm_breaker_failures, settings.llm_breaker_cooldown_s)
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s)
        return _breakers[key]


def reset_breakers() -> None:
    """Forget every endpoint's failures (for tests that script failures on purpose)."""
    with _breakers_lock:
        _breakers.clear()


def _root_cause(e: BaseException) -> str:
    """The innermost exception's message (e.g. 'Connection refused'), not 'Connection error.'."""
    seen = set()
    cur: BaseException = e
    while (cur.__cause__ or cur.__context__) is not None and id(cur) not in seen:
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    msg = str(cur) or type(cur).__name__
    return _short(msg)


def _short(s: str, n: int = 300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[:n] + "…"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("\"'“”「」")
        for prefix in ("Standalone question:", "standalone question:", "改写后的问题：", "问题："):
            if line.startswith(prefix):
                line = line[len(prefix):].strip()
        if line:
            return line
    return ""


def _probe(settings: Settings) -> tuple[bool, str]:
    import httpx

    url = settings.llm_base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        r = httpx.get(url, headers=headers, timeout=min(float(settings.llm_timeout_s), 5.0))
    except httpx.TimeoutException:
        return False, f"LLM endpoint {settings.llm_base_url} timed out"
    except httpx.HTTPError as e:
        return False, f"LLM endpoint {settings.llm_base_url} unreachable: {_short(str(e)) or type(e).__name__}"
    if r.status_code in (401, 403):
        return False, f"LLM endpoint {settings.llm_base_url} refused the API key (HTTP {r.status_code}); check llm_api_key"
    # some compatible servers have no /models route; answering at all means reachable
    return True, f"{settings.llm_model} at {settings.llm_base_url}"
