"""The search index, as one import: build it (``builder.py``), load it
(``store.py``), and the pieces they are made of.

One module per thing:

| module | holds |
|---|---|
| ``indexfiles.py`` | the index folder's layout, atomic writes, ``CURRENT``, integrity checks |
| ``ingest.py`` | ``scan_corpus`` (the corpus an index is made from) and per-document ingestion |
| ``artefacts.py`` | per-document artefacts (cleaned clauses; chunks, sentence rows, BM25 counts) by content key |
| ``embcache.py`` | embeddings by text digest, in small durable shards |
| ``tokens.py`` | the BM25 tokeniser |
| ``lexical.py`` | ``LexicalIndex`` and the BM25 index, searchable per document |
| ``vectors.py`` | ``VectorIndex`` and the FAISS backend (exact per document, IVF/HNSW over all) |
| ``milvus_store.py`` | the Milvus backend of ``VectorIndex`` (Milvus Lite or a server by URI) |
| ``vector_backends.py`` | the factory that picks a backend from the settings |
| ``builder.py`` | ``IndexBuilder``: scan → ingest → chunk → embed → assemble, resumable |
| ``documents.py`` | a build's documents: table, clauses and chunks read on demand |
| ``store.py`` | ``IndexStore``: a loaded index and its search API |
"""
from __future__ import annotations

from typing import Any

from .builder import INDEX_FORMAT, BuildSummary, IndexBuilder, read_manifest, run_cli
from .indexfiles import BUILDS_DIR, CURRENT_FILE, MANIFEST
from .settings import Settings
from .store import IndexStore, describe_corpus_change
from .tokens import STOPWORDS, tokenize
from .vectors import choose_faiss_kind


def corpus_fingerprint(settings: Settings) -> dict[str, Any]:
    """sha1 per corpus file and one over all of them (what a build records as ``corpus``)."""
    from .ingest import scan_corpus

    return scan_corpus(settings).fingerprint()


__all__ = [
    "IndexBuilder", "IndexStore", "BuildSummary", "tokenize", "corpus_fingerprint", "describe_corpus_change",
    "choose_faiss_kind", "run_cli", "read_manifest", "STOPWORDS", "INDEX_FORMAT", "CURRENT_FILE", "BUILDS_DIR",
    "MANIFEST",
]
