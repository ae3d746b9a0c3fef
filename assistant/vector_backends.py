"""Vector store backends, chosen by ``Settings.vector_store``: one small factory
(txtai-style) over the two implementations of ``vectors.VectorIndex``.

A backend writes a build's vector rows (``write``) and opens them for searching
(``open``); ``config()`` is what of the settings decides its content (part of the
build fingerprint, so switching backends rebuilds).

* ``faiss`` (default): rows in the build folder (vectors.py);
* ``milvus``: rows in a Milvus collection (milvus_store.py), embedded Milvus Lite
  by default or a Milvus server by ``milvus_uri``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from .embcache import EmbeddingCache
from .errors import SettingsError
from .settings import Settings
from .indexfiles import MANIFEST
from .vectors import FaissVectors, VectorIndex, write_faiss

BACKENDS = ("faiss", "milvus")


class VectorBackend(Protocol):
    name: str

    def config(self) -> dict[str, Any]: ...

    def write(self, folder: Path, keys: Sequence[bytes], doc_rows: Sequence[tuple[str, int, int]],
              cache: EmbeddingCache, model: str, previous: Path | None, progress: bool) -> dict[str, Any]:
        """Store the build's rows (``keys[i]`` is row i's text digest, in the cache;
        ``doc_rows`` gives each document's artefact key and row range); return the
        manifest's ``vectors`` entry (with at least ``kind`` and ``dim``)."""

    def open(self, folder: Path, manifest: dict[str, Any], doc_row_ptr: np.ndarray,
             doc_keys: Sequence[str], index_dir: Path) -> VectorIndex: ...


class FaissBackend:
    name = "faiss"

    def __init__(self, settings: Settings):
        self.settings = settings

    def config(self) -> dict[str, Any]:
        return {"backend": "faiss", "kind": self.settings.faiss_index, "ann_threshold": int(self.settings.ann_threshold)}

    def write(self, folder, keys, doc_rows, cache, model, previous, progress):
        if cache.dim is None:
            raise ValueError("no vectors to write")
        prev_info = None
        if previous is not None:
            try:
                prev_info = json.loads((previous / MANIFEST).read_text(encoding="utf-8")).get("vectors")
            except (OSError, ValueError, AttributeError):
                prev_info = None
        return write_faiss(folder, len(keys), cache.dim, lambda s, e: cache.gather(keys[s:e]),
                           self.settings.faiss_index, int(self.settings.ann_threshold), previous, prev_info, progress)

    def open(self, folder, manifest, doc_row_ptr, doc_keys, index_dir):
        return FaissVectors.load(folder, manifest, doc_row_ptr, index_dir)


def vector_backend(settings: Settings) -> VectorBackend:
    name = (settings.vector_store or "faiss").strip().lower()
    if name == "faiss":
        return FaissBackend(settings)
    if name == "milvus":
        from .milvus_store import MilvusBackend

        return MilvusBackend(settings)
    raise SettingsError(f"vector_store must be one of {', '.join(BACKENDS)}, not {settings.vector_store!r}")


def backend_for_manifest(manifest: dict[str, Any], settings: Settings) -> VectorBackend:
    """The backend that wrote a build (its manifest says), whatever is configured now."""
    if manifest.get("vectors", {}).get("backend") == "milvus":
        from .milvus_store import MilvusBackend

        return MilvusBackend(settings)
    return FaissBackend(settings)


__all__ = ["VectorBackend", "FaissBackend", "vector_backend", "backend_for_manifest", "BACKENDS"]
