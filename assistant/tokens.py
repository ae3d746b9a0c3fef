"""The BM25 tokeniser. Queries must be tokenised exactly like the documents, so
every user (index build, lexical search, the answerer's keyword scoring) calls
``tokenize`` from here.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from pathlib import Path

from .settings import PROJECT_ROOT
from .textnorm import for_search
from .usercache import cached_pickle, source_tag

USERDICT = PROJECT_ROOT / "corpus" / "userdict.txt"
# Bump when tokenize() changes behaviour: per-document token artefacts and the index
# manifest record it, so tokens made by another tokeniser are never mixed in.
TOKENIZER_VERSION = 1

# Function words and boilerplate that carry no retrieval signal in these documents.
STOPWORDS = frozenset(
    """
    的 地 得 了 着 过 和 与 及 以及 或 或者 并 并且 而 且 等 等等 之 其 其中 该 此 这 这些 那 那些 各 每
    在 于 对 对于 为 为了 以 由 从 向 将 把 被 让 给 到 至 按 按照 根据 通过 围绕 关于 是 有 也 都 还 又
    就 即 则 如 如何 什么 哪些 哪个 多少 怎么 怎样 吗 呢 吧 啊 我 我们 你 你们 他 她 它 他们 要 会 能 可以
    所 所以 因为 如果 但 但是 上 下 中 内 后 前 里 个 一 不 没有 方面 进一步 有关 相关 工作
    a an the of to in on for and or is are was were be by with as at from that this what which how
    does do did much many about
    """.split()
)

_tok_lock = threading.Lock()
_jieba_tokenizer = None
_plain_jieba = None


def userdict_sha1() -> str:
    return hashlib.sha1(USERDICT.read_bytes()).hexdigest() if USERDICT.is_file() else ""


def tokenizer_fingerprint() -> dict[str, object]:
    """What decides the tokens: recorded with every token artefact and index."""
    return {"version": TOKENIZER_VERSION, "userdict_sha1": userdict_sha1()}


def _load_plain_jieba():
    global _plain_jieba
    if _plain_jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        try:
            # jieba reads its dictionary from a marshal file (about 1.5 CPU s); the same
            # dictionary pickled in the user cache loads in about 0.4 (usercache.py)
            source = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
            name = f"jieba-{jieba.__version__}-{source_tag(source)}.dict.pickle"
            tk.FREQ, tk.total = cached_pickle(name, lambda: _initialised(jieba.Tokenizer()))
            tk.initialized = True
        except (OSError, AttributeError, TypeError, ValueError):
            tk.initialize()
        _plain_jieba = tk
    return _plain_jieba


def _initialised(tk) -> tuple[dict, int]:
    tk.initialize()
    return tk.FREQ, tk.total


def plain_jieba():
    """A jieba Tokenizer with jieba's own dictionary only, loaded once per process
    (loading it costs about 1.5 s of CPU). Shared: callers must not add words to it."""
    with _tok_lock:
        return _load_plain_jieba()


def _jieba():
    global _jieba_tokenizer
    with _tok_lock:
        if _jieba_tokenizer is None:
            import jieba

            plain = _load_plain_jieba()
            # a private Tokenizer so other modules' jieba settings cannot change our
            # vocabulary: a copy of the plain dictionary (milliseconds) plus ours
            tk = jieba.Tokenizer()
            tk.FREQ, tk.total, tk.initialized = dict(plain.FREQ), plain.total, True
            if USERDICT.is_file():
                tk.load_userdict(str(USERDICT))
            _jieba_tokenizer = tk
        return _jieba_tokenizer


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first query."""
    _jieba()


def _is_noise(tok: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZSC" for ch in tok)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: search copy (NFKC, simplified), lower-cased, jieba search-mode
    words (domain terms from corpus/userdict.txt kept whole, plus their sub-words),
    without punctuation, whitespace and stop-words."""
    t = for_search(text or "").lower()
    if not t:
        return []
    return [w for w in (w.strip() for w in _jieba().cut_for_search(t)) if w and not _is_noise(w) and w not in STOPWORDS]


__all__ = ["tokenize", "plain_jieba", "STOPWORDS", "TOKENIZER_VERSION", "USERDICT", "userdict_sha1", "tokenizer_fingerprint", "warm_up"]
