"""Per-document artefacts: what ingesting and chunking one document produced,
kept on disk under a key that says exactly what it was made from.

A key is a digest of the inputs (the file's bytes, its metadata, the pipeline
version and the settings that matter), so an unchanged document is never
ingested, chunked or tokenised again, a changed one gets a new key, and two
builds never disagree about what a key holds. Files are immutable once written
(atomic rename); a build records the size and sha1 of each artefact it uses, and
readers check them, so a damaged artefact is noticed, reported and rebuilt.

``<index>/docs/<ab>/<key>.ingest.json``  cleaned text, clauses, metadata, report
``<index>/docs/<ab>/<key>.chunks.json``  chunks, sentence rows, BM25 term counts
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import IndexCorruptError
from .indexfiles import DOCS_DIR, atomic_write_bytes, read_json_bytes, sha1_bytes

log = logging.getLogger(__name__)

INGEST = ".ingest.json"
CHUNKS = ".chunks.json"


def make_key(parts: dict[str, Any]) -> str:
    """A stable digest of the inputs ``parts`` (JSON with sorted keys)."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


class ArtefactStore:
    """The ``docs/`` folder of an index (see the module docstring)."""

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self.root = self.index_dir / DOCS_DIR

    def path(self, key: str, suffix: str) -> Path:
        return self.root / key[:2] / f"{key}{suffix}"

    def exists(self, key: str, suffix: str) -> bool:
        return self.path(key, suffix).is_file()

    def write(self, key: str, suffix: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Write an artefact; returns its record (size and sha1) for the manifest."""
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(self.path(key, suffix), data)
        return {"size": len(data), "sha1": sha1_bytes(data)}

    def read(self, key: str, suffix: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
        """The artefact; with ``record``, checked against the size and sha1 a build
        recorded. Raises IndexCorruptError when missing, damaged or different."""
        p = self.path(key, suffix)
        name = f"{DOCS_DIR}/{key[:2]}/{p.name}"
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise IndexCorruptError(str(self.index_dir), f"{name} is missing") from None
        except OSError as e:
            raise IndexCorruptError(str(self.index_dir), f"{name} cannot be read: {e.strerror or e}") from None
        if record is not None and (len(data) != record.get("size") or sha1_bytes(data) != record.get("sha1")):
            raise IndexCorruptError(str(self.index_dir), f"{name} does not hold what the index recorded")
        return read_json_bytes(data, name, self.index_dir)

    def read_if_valid(self, key: str, suffix: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(artefact, record) when the file is there and readable, else None (the
        caller makes it again; a damaged file is removed)."""
        p = self.path(key, suffix)
        try:
            data = p.read_bytes()
        except OSError:
            return None
        try:
            obj = json.loads(data.decode("utf-8"))
            if not isinstance(obj, dict) or obj.get("key") != key:
                raise ValueError("not this artefact")
        except (UnicodeDecodeError, ValueError) as e:
            log.warning("rebuilding damaged artefact %s (%s)", p, e)
            p.unlink(missing_ok=True)
            return None
        return obj, {"size": len(data), "sha1": sha1_bytes(data)}

    def record(self, key: str, suffix: str) -> dict[str, Any] | None:
        """The size and sha1 of an existing, readable artefact (None otherwise)."""
        got = self.read_if_valid(key, suffix)
        return got[1] if got else None

    def collect_garbage(self, keep: Iterable[Path], min_age_s: float = 3600.0) -> int:
        """Remove artefacts no kept build uses. Young files are spared: a concurrent
        ``ingest`` may have just written them for a build still to come."""
        keep = {Path(p) for p in keep}
        removed = 0
        now = time.time()
        if not self.root.is_dir():
            return 0
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for p in sub.iterdir():
                if p in keep:
                    continue
                try:
                    if now - p.stat().st_mtime >= min_age_s:
                        p.unlink()
                        removed += 1
                except OSError:
                    pass
            try:
                os.rmdir(sub)
            except OSError:
                pass
        return removed


__all__ = ["ArtefactStore", "make_key", "INGEST", "CHUNKS"]
