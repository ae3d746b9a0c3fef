"""Embeddings kept on disk by text digest, in small durable pieces.

``EmbeddingCache(folder)`` holds the vectors of one embedding model as shard files
``<seq>-<pid>.npy``: each a structured array of (sha1 of the text, vector), written
to a temporary name, fsynced and renamed, so a shard is either whole or absent. A
build killed at any moment (SIGKILL during embedding included) loses at most the
texts embedded since the last shard was written (``ShardWriter`` writes one every
``rows`` texts or ``seconds`` seconds); the next build finds the rest here and does
not embed them again.

A shard that cannot be read (truncated, overwritten) is set aside with a warning
and its texts are embedded again: the cache is only ever an optimisation.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .indexfiles import fsync_dir

log = logging.getLogger(__name__)

KEY_BYTES = 20  # sha1
SHARD_RE = re.compile(r"^(\d{8})-(\d+)\.npy$")


def text_digest(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


def model_folder(root: Path, model: str) -> Path:
    """One folder per model, named by a digest of its spec (specs may hold paths)."""
    return Path(root) / hashlib.sha1(model.encode("utf-8")).hexdigest()[:16]


class EmbeddingCache:
    """Vectors of one model by text digest (see the module docstring)."""

    def __init__(self, folder: Path, model: str):
        self.folder = Path(folder)
        self.model = model
        self.dim: int | None = None
        # digest → (shard file name, row in it); filled by load_index()
        self._where: dict[bytes, tuple[str, int]] = {}
        self._loaded = False

    # -- reading -----------------------------------------------------------------
    def shard_paths(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if SHARD_RE.match(p.name))

    def load_index(self) -> "EmbeddingCache":
        """Read every shard's keys (not its vectors) into memory."""
        self._where = {}
        for p in self.shard_paths():
            arr = self._open(p)
            if arr is None:
                continue
            raw = np.ascontiguousarray(arr["key"]).tobytes()
            for i in range(len(arr)):
                self._where.setdefault(raw[i * KEY_BYTES:(i + 1) * KEY_BYTES], (p.name, i))
        self._loaded = True
        return self

    def _open(self, p: Path):
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
            names = arr.dtype.names or ()
            if ("key" not in names or "vec" not in names or arr.ndim != 1
                    or arr.dtype["key"] != np.dtype(("u1", (KEY_BYTES,)))):
                raise ValueError("not an embedding shard")
            dim = arr.dtype["vec"].shape[0]
            if self.dim is None:
                self.dim = dim
            elif dim != self.dim:
                raise ValueError(f"vectors of {dim} dimensions, not {self.dim}")
            return arr
        except Exception as e:  # a damaged shard: set it aside, its texts get embedded again
            log.warning("embedding cache: ignoring unreadable shard %s (%s)", p, e)
            try:
                p.rename(p.with_name(p.name + ".bad"))
            except OSError:
                pass
            return None

    def __contains__(self, digest: bytes) -> bool:
        return digest in self._where

    def __len__(self) -> int:
        return len(self._where)

    def missing(self, digests: Iterable[bytes]) -> list[bytes]:
        return [d for d in digests if d not in self._where]

    def gather(self, digests: Sequence[bytes], out: np.ndarray | None = None) -> np.ndarray:
        """The vectors of ``digests`` (all must be in the cache), in that order.
        Reads each shard once; ``out`` may be a memory-mapped array to fill."""
        if out is None:
            if self.dim is None:
                raise ValueError("empty embedding cache")
            out = np.empty((len(digests), self.dim), dtype=np.float32)
        by_shard: dict[str, tuple[list[int], list[int]]] = {}
        for i, d in enumerate(digests):
            name, row = self._where[d]
            dst, src = by_shard.setdefault(name, ([], []))
            dst.append(i)
            src.append(row)
        for name, (dst, src) in by_shard.items():
            arr = np.load(self.folder / name, mmap_mode="r", allow_pickle=False)
            order = np.argsort(src, kind="stable")
            src_sorted = np.asarray(src)[order]
            dst_sorted = np.asarray(dst)[order]
            out[dst_sorted] = arr["vec"][src_sorted]
        return out

    # -- writing -----------------------------------------------------------------
    def writer(self, dim: int, rows: int = 2048, seconds: float = 60.0) -> "ShardWriter":
        return ShardWriter(self, dim, rows, seconds)

    def _write_shard(self, keys: list[bytes], vecs: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        dim = int(vecs.shape[1])
        # keys as raw bytes (an "S20" field would drop a digest's trailing zero bytes)
        arr = np.empty(len(keys), dtype=[("key", "u1", (KEY_BYTES,)), ("vec", "<f4", (dim,))])
        arr["key"] = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
        arr["vec"] = vecs
        seq = max((int(SHARD_RE.match(p.name).group(1)) for p in self.shard_paths()), default=0) + 1
        name = f"{seq:08d}-{os.getpid()}.npy"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)
        fsync_dir(self.folder)
        self.dim = dim
        for i, k in enumerate(keys):
            self._where.setdefault(k, (name, i))

    def compact(self, keep: Iterable[bytes], max_shards: int = 64, min_garbage: float = 0.5) -> bool:
        """Rewrite the cache as few shards holding only ``keep`` when it has many shards
        or mostly vectors nobody uses any more. Returns whether it did."""
        keep = [k for k in dict.fromkeys(keep) if k in self._where]
        shards = self.shard_paths()
        garbage = 1.0 - len(keep) / max(1, len(self._where))
        if len(shards) <= max_shards and garbage < min_garbage:
            return False
        old = set(shards)
        step = 65536
        for start in range(0, len(keep), step):
            part = keep[start:start + step]
            self._write_shard(part, self.gather(part))
        for p in old:
            p.unlink(missing_ok=True)
        self.load_index()
        return True


class ShardWriter:
    """Buffers new vectors and writes a shard every ``rows`` texts or ``seconds``."""

    def __init__(self, cache: EmbeddingCache, dim: int, rows: int, seconds: float):
        self.cache = cache
        self.dim = dim
        self.rows = rows
        self.seconds = seconds
        self._keys: list[bytes] = []
        self._vecs: list[np.ndarray] = []
        self._since = time.monotonic()

    def add(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        self._keys.extend(keys)
        self._vecs.append(np.asarray(vecs, dtype=np.float32))
        if len(self._keys) >= self.rows or time.monotonic() - self._since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self._keys:
            self.cache._write_shard(self._keys, np.vstack(self._vecs))
        self._keys, self._vecs = [], []
        self._since = time.monotonic()

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, *exc) -> None:
        # an interrupted build keeps what it embedded (a Python-level interrupt; a
        # SIGKILL keeps every shard written before it)
        self.flush()


__all__ = ["EmbeddingCache", "ShardWriter", "text_digest", "model_folder"]
