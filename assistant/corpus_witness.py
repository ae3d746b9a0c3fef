"""The corpus witness: each corpus file's size and times when an index was built.

A store must know, at start-up, that the corpus is the one its index was built from.
Hashing every file says so for certain but costs in proportion to the corpus (63 MB
and ~3,500 files at the laws-all size: seconds). A build therefore records, beside its
manifest, ``[size, mtime_ns, ctime_ns]`` of every file under ``corpus_dir`` (taken
before the files are read, so a file written during the build shows as changed) and
the ingest pipeline version. A store whose corpus shows exactly that listing needs
no hashing; anything else (a write, a rename over a file, a file added or removed, a
``touch``, a copy of the folder) falls back to hashing, which decides.

The change time cannot be set back by user tools (``cp -p``, ``touch -d``, ``os.utime``
set only access and modification times), so a same-size rewrite with its old mtime
put back is still seen.

The record lives outside the manifest's checksummed files (``corpus_stat.json``):
a no-change build refreshes it after a copy or a touch, without a new build.
This module is deliberately outside ``ingest.PIPELINE_VERSION``'s digest: editing it
does not make indexes re-ingest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .indexfiles import atomic_write_json

CORPUS_STAT = "corpus_stat.json"


def corpus_stat(corpus_dir: str | Path) -> dict[str, list[int]]:
    """[size, mtime_ns, ctime_ns] of every file under ``corpus_dir`` (paths relative to
    it), read without opening a file."""
    root = str(corpus_dir)
    out: dict[str, list[int]] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[os.path.relpath(path, root)] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return out


def witness(stat: dict[str, list[int]], ingest_version: str) -> dict[str, Any]:
    return {"ingest_version": ingest_version, "stat": stat}


def write_witness(build_dir: Path, record: dict[str, Any]) -> None:
    atomic_write_json(build_dir / CORPUS_STAT, record)


def read_witness(build_dir: Path) -> dict[str, Any] | None:
    """A build's witness, or None when it is missing or unreadable (then the corpus is hashed)."""
    try:
        data = json.loads((build_dir / CORPUS_STAT).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("stat"), dict) else None


def corpus_unchanged(build_dir: Path, corpus_dir: str | Path, ingest_version: str) -> bool:
    """True when the corpus shows exactly the files, sizes and times the build recorded,
    under the same ingest pipeline. False says only "not known": hash to decide."""
    recorded = read_witness(build_dir)
    return recorded is not None and recorded == witness(corpus_stat(corpus_dir), ingest_version)
