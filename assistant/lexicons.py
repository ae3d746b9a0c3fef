"""Lexicons and rule tables as data: ``assistant/lexicons/<name>.toml`` or ``.txt``.

Every file starts with a comment header saying what it is and where its entries
come from. A ``.txt`` lexicon is one entry per line (``#`` starts a comment,
whitespace separates several entries on one line); a ``.toml`` lexicon is a table
read as is. Loaded once per process.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

LEXICON_DIR = Path(__file__).with_name("lexicons")


def lexicon_path(name: str) -> Path:
    return LEXICON_DIR / name


@lru_cache(maxsize=None)
def words(name: str) -> frozenset[str]:
    """The entries of ``lexicons/<name>`` (a .txt file)."""
    out: set[str] = set()
    for line in lexicon_path(name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        out.update(w for w in line.split() if w)
    return frozenset(out)


@lru_cache(maxsize=None)
def table(name: str) -> dict[str, Any]:
    """``lexicons/<name>`` (a .toml file) as a dict."""
    with open(lexicon_path(name), "rb") as fh:
        return tomllib.load(fh)


def alternation(patterns: list[str] | tuple[str, ...], flags: int = re.I) -> re.Pattern[str] | None:
    """One regex matching any of ``patterns`` (None for none)."""
    pats = [p for p in patterns if p]
    return re.compile("|".join(f"(?:{p})" for p in pats), flags) if pats else None
