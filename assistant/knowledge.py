"""The knowledge base a user manages: add, list and remove documents.

``KnowledgeBase(settings)`` works on ``corpus/`` and the index together:

* ``add(path)`` checks the file by its content (``sniff_kind``: a PDF starts with
  ``%PDF-``, a docx is a zip holding ``word/document.xml``, HTML has markup, text
  and Markdown decode as text) and its size (``max_file_mb``), copies it into the
  corpus folder, runs the incremental build (only the new document is parsed and
  embedded) and returns the document's parse report; a file the loaders refuse
  is taken out again, and the error says why;
* ``documents()`` is the parse report of every document in the corpus (title,
  place, type, clause count, parse quality, warnings), read from the ingest
  artefacts the last build left (nothing is parsed again);
* ``remove(ref)`` deletes a document by id, file name or (unique part of its)
  title: its file, its ``plans.toml`` entry, then the incremental build.

``python -m assistant add FILE | list | remove ID-OR-TITLE`` run these; the app's
knowledge-base tab calls the same methods and then swaps in the new index.
"""
from __future__ import annotations

import io
import re
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from .corpus import DOC_SUFFIXES, PLANS_FILE
from .errors import AssistantError
from .settings import Settings

# the kinds a file may be, by content, and the suffixes each may carry
KIND_SUFFIXES = {
    "pdf": {".pdf"},
    "docx": {".docx"},
    "html": {".html", ".htm"},
    "text": {".txt", ".md", ".markdown"},
}
_HTML_RE = re.compile(rb"<\s*(!doctype\s+html|html|head|body|meta|title|p|div|table)\b", re.I)
_SAFE_NAME_RE = re.compile(r"[^\w.\-（）()《》·]+")
# one build at a time in this process (the builder's file lock covers other processes)
_BUILD_LOCK = threading.Lock()


class KnowledgeBaseError(AssistantError):
    """A document cannot be added or removed as asked."""


def sniff_kind(data: bytes) -> str:
    """What the bytes are ("pdf", "docx", "html", "text"), judged by content alone."""
    head = data[:2048]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" in z.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise KnowledgeBaseError("the file is a zip archive but not a Word (.docx) document")
    if b"\x00" in head:
        raise KnowledgeBaseError("the file is binary, not a text, Markdown, HTML, PDF or Word document")
    if _HTML_RE.search(head):
        return "html"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    if best is None:
        raise KnowledgeBaseError("the file is neither text in a known encoding nor a PDF or Word document")
    return "text"


def safe_name(name: str) -> str:
    """A file name for the corpus folder: its last component, no leading dot, no
    characters a shell or a URL would trip on."""
    base = Path(str(name).replace("\\", "/")).name.strip()
    base = _SAFE_NAME_RE.sub("_", base).lstrip(".") or "document"
    return base[:120]


class KnowledgeBase:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.corpus = Path(settings.corpus_dir)

    # -- reading ---------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        """The parse report of each document of the corpus (in corpus order), from the
        ingest artefacts; a document not ingested yet is parsed now. When the corpus
        is the one the current index was built from, the summaries its build
        recorded are read instead (nothing is hashed or parsed: 3,480 documents'
        artefacts took ~8 CPU s)."""
        from .builder import indexed_summaries
        from .ingest import ingest_documents, scan_corpus

        indexed = indexed_summaries(self.settings)
        if indexed is not None:
            return [report_row(s) for s in indexed]
        snapshot = scan_corpus(self.settings)
        outcome = ingest_documents(snapshot, self.settings, keep_results=True)
        out = []
        for e in snapshot.entries:
            result = outcome.results.get(e.key)
            if result is not None:
                out.append(report_row(result.summary()))
        return out

    def find(self, ref: str) -> dict[str, Any]:
        """The document ``ref`` names: its id or file name exactly, else the only one
        whose title contains it."""
        ref = (ref or "").strip().strip("《》")
        if not ref:
            raise KnowledgeBaseError("say which document: its id, file name or title")
        docs = self.documents()
        exact = [d for d in docs if ref in (d["doc_id"], d["file"], d["title"])]
        if exact:
            return exact[0]
        partial = [d for d in docs if ref in d["title"]]
        if len(partial) == 1:
            return partial[0]
        if partial:
            names = "; ".join(f"{d['doc_id']} 《{d['title']}》" for d in partial)
            raise KnowledgeBaseError(f"'{ref}' matches {len(partial)} documents ({names}): give the id")
        raise KnowledgeBaseError(f"no document with id, file name or title '{ref}' (see: python -m assistant list)")

    # -- changing ----------------------------------------------------------------------
    def check(self, data: bytes, name: str) -> str:
        """The corpus file name for an upload of ``data`` called ``name``, after the
        size and content checks (raises ``KnowledgeBaseError`` saying what is wrong)."""
        limit = float(self.settings.max_file_mb)
        if len(data) > limit * 1024 * 1024:
            raise KnowledgeBaseError(f"{name}: {len(data) / 1048576:.1f} MB is over the {limit:g} MB limit")
        if not data.strip():
            raise KnowledgeBaseError(f"{name}: the file is empty")
        fname = safe_name(name)
        suffix = Path(fname).suffix.lower()
        kind = sniff_kind(data)
        if suffix not in DOC_SUFFIXES:
            fname += next(iter(sorted(KIND_SUFFIXES[kind])))
        elif suffix not in KIND_SUFFIXES[kind]:
            raise KnowledgeBaseError(f"{name}: the name says {suffix} but the content is {kind}")
        return fname

    def add(self, data: bytes, name: str, replace: bool = False, progress: bool = False) -> dict[str, Any]:
        """Add (or with ``replace``, replace) a document; returns its parse report."""
        fname = self.check(data, name)
        target = self.corpus / fname
        with _BUILD_LOCK:
            old = target.read_bytes() if target.is_file() else None
            if old is not None and old != data and not replace:
                raise KnowledgeBaseError(f"{fname} is already in the knowledge base: remove it first, or replace it")
            self.corpus.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".upload-{fname}")
            tmp.write_bytes(data)
            tmp.replace(target)
            summary = self._build(progress)
            refused = [r for r in summary.not_indexed if r.startswith(str(self.corpus / fname)) or
                       r.startswith(fname)]
            if refused:
                # the loaders could not read it: the corpus goes back to what it was
                if old is None:
                    target.unlink(missing_ok=True)
                else:
                    target.write_bytes(old)
                self._build(progress)
                raise KnowledgeBaseError(f"{fname} cannot be read: {refused[0]}")
        return next(d for d in self.documents() if d["file"] == fname)

    def add_file(self, path: str | Path, replace: bool = False, progress: bool = False) -> dict[str, Any]:
        p = Path(path)
        if not p.is_file():
            raise KnowledgeBaseError(f"{p}: no such file")
        size = p.stat().st_size
        limit = float(self.settings.max_file_mb)
        if size > limit * 1024 * 1024:
            raise KnowledgeBaseError(f"{p.name}: {size / 1048576:.1f} MB is over the {limit:g} MB limit")
        return self.add(p.read_bytes(), p.name, replace=replace, progress=progress)

    def remove(self, ref: str, progress: bool = False) -> dict[str, Any]:
        """Remove the document ``ref`` names (see ``find``); returns its last report."""
        with _BUILD_LOCK:
            doc = self.find(ref)
            if len(self.documents()) <= 1:
                raise KnowledgeBaseError("the knowledge base needs at least one document: add another one first")
            (self.corpus / doc["file"]).unlink(missing_ok=True)
            drop_plan_entry(self.corpus / PLANS_FILE, doc["doc_id"])
            self._build(progress)
        return doc

    def correct(self, ref: str, progress: bool = False, **fields: str) -> dict[str, Any]:
        """Correct the metadata of the document ``ref`` names (``title``, ``place``,
        ``doc_type``; an empty value keeps what is there): its ``plans.toml`` entry is
        written (other fields and entries kept as they are) and the document is parsed
        again with it. Returns its new report."""
        wanted = {k: clean_meta_value(k, v) for k, v in fields.items() if (v or "").strip()}
        unknown = set(wanted) - set(CORRECTABLE)
        if unknown:
            raise KnowledgeBaseError(f"cannot correct {sorted(unknown)}: only {', '.join(CORRECTABLE)}")
        with _BUILD_LOCK:
            doc = self.find(ref)
            if wanted:
                set_plan_entry(self.corpus / PLANS_FILE, doc["doc_id"], doc["file"], wanted)
                self._build(progress)
        return next(d for d in self.documents() if d["doc_id"] == doc["doc_id"])

    def _build(self, progress: bool):
        from .index import IndexBuilder

        return IndexBuilder(self.settings).build(progress=progress)


def report_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The fields of an ingest summary the knowledge base shows."""
    meta = summary.get("meta") or {}
    quality = summary.get("quality") or {}
    return {
        "doc_id": summary["doc_id"], "file": summary["file"], "title": summary.get("title") or "",
        "place": meta.get("place") or "", "doc_type": meta.get("doc_type") or "", "date": meta.get("date") or "",
        "clauses": summary.get("clauses", 0), "quality": quality, "warnings": list(summary.get("warnings") or []),
        "inferred": list(summary.get("inferred") or []), "missing": list(summary.get("missing") or []),
    }


# what a user may correct, and how long each may be
CORRECTABLE = {"title": 200, "place": 40, "doc_type": 20}


def clean_meta_value(field: str, value: str) -> str:
    """A corrected field's value on one line, checked (raises ``KnowledgeBaseError``)."""
    value = " ".join(str(value).split())
    if field in CORRECTABLE and len(value) > CORRECTABLE[field]:
        raise KnowledgeBaseError(f"{field} is {len(value)} characters long, over {CORRECTABLE[field]}")
    if field == "doc_type" and value not in doc_type_names():
        raise KnowledgeBaseError(f"unknown document type {value!r}: one of {', '.join(doc_type_names())}")
    return value


def doc_type_names() -> list[str]:
    """The document types metadata may name (``lexicons/doc_types.toml``, and ``other``)."""
    from . import lexicons

    names = [t["type"] for t in lexicons.table("doc_types.toml").get("type", [])]
    return names + ([] if "other" in names else ["other"])


def set_plan_entry(plans_file: Path, doc_id: str, file: str, fields: dict[str, str]) -> None:
    """Write ``fields`` into the ``[[plan]]`` entry of ``doc_id`` in plans.toml (made
    when there is none); the entry's other fields and every other line are kept."""
    import tomllib

    text = plans_file.read_text(encoding="utf-8") if plans_file.is_file() else ""
    old = next((e for e in tomllib.loads(text).get("plan", []) if e.get("id") == doc_id), None) if text else None
    entry = {"id": doc_id, "file": file, **(old or {}), **fields}
    if old is not None and drop_plan_entry(plans_file, doc_id):
        text = plans_file.read_text(encoding="utf-8")
    block = "[[plan]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in entry.items())
    tmp = plans_file.with_name(f".{plans_file.name}.tmp")
    tmp.write_text(text.rstrip("\n") + ("\n\n" if text.strip() else "") + block, encoding="utf-8")
    tmp.replace(plans_file)


def _toml_value(v: Any) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v), ensure_ascii=False)  # TOML basic strings take JSON's escapes


def drop_plan_entry(plans_file: Path, doc_id: str) -> bool:
    """Remove the ``[[plan]]`` block with ``id = "doc_id"`` from plans.toml, keeping
    every other line (comments included) as it is."""
    if not plans_file.is_file():
        return False
    text = plans_file.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=\[\[plan\]\]\s*$)", text)
    id_re = re.compile(rf'(?m)^\s*id\s*=\s*["\']{re.escape(doc_id)}["\']\s*(#.*)?$')
    kept = [p for p in parts if not (p.startswith("[[plan]]") and id_re.search(p))]
    if len(kept) == len(parts):
        return False
    tmp = plans_file.with_name(f".{plans_file.name}.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(plans_file)
    return True


def quality_label(quality: dict[str, Any]) -> str:
    """A short reading of the parse-quality figures."""
    if not quality:
        return ""
    return ", ".join(f"{k} {v}" for k, v in quality.items() if isinstance(v, (int, float, str)) and v != "")


# ---------------------------------------------------------------------------
# CLI: python -m assistant add FILE [--replace] | list [--json] | remove ID-OR-TITLE
# ---------------------------------------------------------------------------
def run_cli(args, settings: Settings) -> int:
    import json

    kb = KnowledgeBase(settings)
    if args.command == "add":
        doc = kb.add_file(args.file, replace=args.replace, progress=True)
        print(json.dumps(doc, ensure_ascii=False, indent=2) if args.json else format_row(doc, verbose=True))
        return 0
    if args.command == "remove":
        doc = kb.remove(args.ref, progress=True)
        print(f"removed {doc['doc_id']} 《{doc['title']}》 ({doc['file']})")
        return 0
    docs = kb.documents()
    if args.json:
        print(json.dumps(docs, ensure_ascii=False, indent=2))
    else:
        for d in docs:
            print(format_row(d))
        print(f"{len(docs)} documents in {settings.corpus_dir}", file=sys.stderr)
    return 0


def format_row(d: dict[str, Any], verbose: bool = False) -> str:
    line = (f"{d['doc_id']}\t《{d['title']}》\t{d['place'] or '-'}\t{d['doc_type'] or '-'}\t"
            f"{d['clauses']} clauses\t{len(d['warnings'])} warnings\t{d['file']}")
    if verbose:
        extra = [f"  quality: {quality_label(d['quality'])}"] + [f"  warning: {w}" for w in d["warnings"]]
        if d["missing"]:
            extra.append(f"  not found in the text: {', '.join(d['missing'])}")
        line += "\n" + "\n".join(extra)
    return line


__all__ = ["KnowledgeBase", "KnowledgeBaseError", "sniff_kind", "safe_name", "drop_plan_entry", "set_plan_entry",
           "report_row", "doc_type_names"]
