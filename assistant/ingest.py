"""Ingestion: corpus/ → cleaned, clause-structured documents.

``parse_document`` cleans one loaded text and parses it into clauses. The rest of
this module decides *which* documents need that work:

* ``scan_corpus(settings)`` reads what is in ``corpus/`` now (files, their sha1,
  their metadata) as a ``CorpusSnapshot``: the one notion, shared by ``ingest``,
  ``build`` and the index's staleness check, of the corpus an index is made from;
* ``ingest_documents(snapshot, ...)`` parses each document whose artefact (keyed by
  its bytes, metadata, the repairs and this pipeline's version; see artefacts.py)
  is not on disk yet, and reuses the others.

``python -m assistant ingest`` does that and prints a per-document table of
clauses, characters, rules fired and warnings; it also writes
``index/clauses.jsonl`` and ``index/documents.jsonl`` for people and tools to read.
The index never reads those two files: ``build`` takes its documents from the
corpus as it is when it runs, so a file removed after an ``ingest`` is not indexed.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .artefacts import INGEST, ArtefactStore, make_key
from .cleaning import Cleaner, Repairs
from .clauses import ClauseParser
from .corpus import PLANS_FILE, Refusal, discover, infer_meta
from .errors import LoadError
from .indexfiles import EXPORT_CLAUSES, EXPORT_DOCUMENTS, atomic_write_jsonl, sha1_file
from .models import Clause, LoadedText, PlanMeta
from .parse_quality import ParseQuality, measure

# the data files ingestion reads (query-time lexicons such as title_norm.toml are not)
INGEST_LEXICONS = ("numbering.toml", "doc_types.toml", "gazetteer.tsv", "national_bodies.txt", "not_places.txt",
                   "header_events.toml", "page_furniture.toml")


def _pipeline_version() -> str:
    """A digest of the code that turns raw files into clauses. It is part of the
    index's corpus fingerprint, so an index built by older cleaning or parsing
    rules is reported as stale (and rebuilt), with no version number to remember."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for name in ("loaders.py", "cleaning.py", "clauses.py", "corpus.py", "textnorm.py", "ingest.py", "models.py",
                 "numerals.py", "places.py", "parse_quality.py"):
        p = here / name
        if p.is_file():
            h.update(p.read_bytes())
    for name in INGEST_LEXICONS:
        p = here / "lexicons" / name
        if p.is_file():
            h.update(name.encode())
            h.update(p.read_bytes())
    return "ingest-" + h.hexdigest()[:12]


PIPELINE_VERSION = _pipeline_version()

REPAIRS_FILE = "repairs.toml"


@dataclass
class DocResult:
    meta: PlanMeta
    clean_text: str
    clauses: list[Clause]
    counts: dict[str, int]
    warnings: list[str]
    source: LoadedText | None = None
    quality: ParseQuality | None = None
    chars_raw: int | None = None  # when the result comes from an artefact (no source at hand)

    def level_counts(self) -> dict[str, int]:
        return dict(Counter(c.level for c in self.clauses))

    def summary(self) -> dict:
        return {
            "doc_id": self.meta.id,
            "file": self.meta.file,
            "title": self.meta.title,
            "clauses": len(self.clauses),
            "levels": self.level_counts(),
            "chars_raw": len(self.source.text) if self.source else self.chars_raw,
            "chars_clean": len(self.clean_text),
            "rules_fired": {k: v for k, v in self.counts.items() if v},
            "warnings": self.warnings,
            "inferred": self.meta.inferred,
            "missing": self.meta.missing,
            "meta": {k: getattr(self.meta, k) for k in ("doc_type", "place", "place_level", "province", "issuer", "date")},
            "quality": self.quality.to_dict() if self.quality else None,
        }


@dataclass
class IngestReport:
    documents: list[DocResult] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)  # files not taken, and why

    @property
    def clauses(self) -> list[Clause]:
        return [c for d in self.documents for c in d.clauses]

    def to_dict(self) -> dict:
        return {
            "documents": [d.summary() for d in self.documents],
            "errors": [{"file": e.path, "reason": e.reason} for e in self.errors],
            "refused": [{"file": r.file, "reason": r.reason} for r in self.refused],
            "total_clauses": len(self.clauses),
        }


def parse_document(loaded: LoadedText, meta: PlanMeta, repairs: Repairs | None = None) -> DocResult:
    """Clean a loaded text, fill its metadata's empty fields from it, parse it into
    clauses and measure how much of it the parser understood. One document, no I/O."""
    cleaned = Cleaner(repairs).run(loaded.text, meta.id, meta.script)
    meta = infer_meta(meta, cleaned.text, loaded.title)
    parsed = ClauseParser().parse_result(cleaned.text, meta)
    quality = measure(parsed, cleaned.text)
    warnings = list(cleaned.warnings) + parsed.warnings
    if len(parsed.clauses) <= 1:
        warnings.append("no clause numbering found: the whole text is one clause")
    elif quality.warning:
        warnings.append(quality.warning)
    return DocResult(meta=meta, clean_text=cleaned.text, clauses=parsed.clauses, counts=cleaned.counts,
                     warnings=warnings, source=loaded, quality=quality)


# ---------------------------------------------------------------------------
# which documents: the corpus as it is now, and the artefacts of its documents
# ---------------------------------------------------------------------------
@dataclass
class CorpusEntry:
    """One document of the corpus: its metadata, file digest and artefact key."""

    meta: PlanMeta
    file_sha1: str
    key: str  # of its ingest artefact: file bytes + metadata + repairs + pipeline version


@dataclass
class CorpusSnapshot:
    """What ``corpus/`` holds now (see the module docstring)."""

    corpus_dir: Path
    entries: list[CorpusEntry]
    extra_files: dict[str, str]  # plans.toml, repairs.toml → sha1
    refused: list[Refusal] = field(default_factory=list)  # files not taken, and why

    def fingerprint(self) -> dict[str, Any]:
        """sha1 per document file and metadata file, and one sha1 over all of them plus
        the pipeline version: what the index manifest records as ``corpus``."""
        import hashlib

        files = {e.meta.file: e.file_sha1 for e in self.entries}
        files.update(self.extra_files)
        h = hashlib.sha1(f"ingest={PIPELINE_VERSION}\n".encode())
        for name in sorted(files):
            h.update(f"{name}\t{files[name]}\n".encode())
        return {"sha1": h.hexdigest(), "files": files, "ingest_version": PIPELINE_VERSION}


def scan_corpus(settings) -> CorpusSnapshot:
    """Read the corpus folder: every document's metadata (``corpus.discover``) and sha1."""
    corpus = Path(settings.corpus_dir)
    found = discover(corpus)
    extra = {name: sha1_file(corpus / name) for name in (PLANS_FILE, REPAIRS_FILE) if (corpus / name).is_file()}
    entries = []
    for meta in found.documents:
        digest = sha1_file(corpus / meta.file)
        key = make_key({"pipeline": PIPELINE_VERSION, "file": digest, "meta": meta.to_dict(),
                        "repairs": extra.get(REPAIRS_FILE, ""), "max_file_mb": float(settings.max_file_mb),
                        "max_expanded_mb": float(settings.max_expanded_mb)})
        entries.append(CorpusEntry(meta, digest, key))
    return CorpusSnapshot(corpus, entries, extra, list(found.refused))


def _artefact(result: DocResult, key: str) -> dict[str, Any]:
    return {"key": key, "meta": result.meta.to_dict(), "text": result.clean_text, "counts": result.counts,
            "warnings": result.warnings, "chars_raw": len(result.source.text) if result.source else result.chars_raw,
            "quality": result.quality.to_dict() if result.quality else None,
            "clauses": [c.to_dict() for c in result.clauses]}


def result_from_artefact(a: dict[str, Any]) -> DocResult:
    quality = ParseQuality(**a["quality"]) if a.get("quality") else None
    return DocResult(meta=PlanMeta(**a["meta"]), clean_text=a["text"],
                     clauses=[Clause.from_dict(c) for c in a["clauses"]], counts=a.get("counts", {}),
                     warnings=a.get("warnings", []), quality=quality, chars_raw=a.get("chars_raw"))


@dataclass
class IngestOutcome:
    """Per document (by artefact key): the artefact's record for the manifest; the
    files that could not be loaded; how many were parsed now."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    parsed: int = 0
    results: dict[str, DocResult] = field(default_factory=dict)  # with keep_results


def ingest_documents(snapshot: CorpusSnapshot, settings, known: dict[str, dict[str, Any]] | None = None,
                     progress: bool = False, keep_results: bool = False) -> IngestOutcome:
    """Make sure every document of ``snapshot`` has an ingest artefact; parse only
    those that have none. ``known``: records of artefacts a previous build checked
    (trusted when the file still has the recorded size, so an unchanged corpus is
    not read again)."""
    from .loaders import load_file

    store = ArtefactStore(settings.index_dir)
    known = known or {}
    out = IngestOutcome()
    repairs: Repairs | None = None
    todo: list[CorpusEntry] = []
    for e in snapshot.entries:
        rec = known.get(e.key)
        p = store.path(e.key, INGEST)
        if not keep_results and rec and p.is_file() and p.stat().st_size == rec.get("size"):
            out.records[e.key] = rec
            continue
        got = store.read_if_valid(e.key, INGEST)
        if got:
            out.records[e.key] = got[1]
            if keep_results:
                out.results[e.key] = result_from_artefact(got[0])
        else:
            todo.append(e)
    it: Iterable[CorpusEntry] = todo
    bar = None
    if progress and todo:
        from tqdm import tqdm

        it = bar = tqdm(todo, desc="ingest", unit="doc", file=sys.stderr)
    try:
        for e in it:
            if repairs is None:
                repairs = Repairs.load(snapshot.corpus_dir / REPAIRS_FILE)
            try:
                loaded = load_file(snapshot.corpus_dir / e.meta.file, max_mb=settings.max_file_mb,
                                   max_expanded_mb=settings.max_expanded_mb)
            except LoadError as err:
                out.errors.append(err)
                continue
            result = parse_document(loaded, PlanMeta(**e.meta.to_dict()), repairs)
            out.records[e.key] = store.write(e.key, INGEST, _artefact(result, e.key))
            out.parsed += 1
            if keep_results:
                out.results[e.key] = result
    finally:
        if bar is not None:
            bar.close()
    return out


def ingest_corpus(settings, progress: bool = False) -> IngestReport:
    """Load, clean and parse every document in ``settings.corpus_dir`` (reusing the
    artefacts of unchanged ones) and write the export files to ``settings.index_dir``.
    A file that cannot be loaded, or that is not taken (unknown type, hidden, a link
    out of the folder), is reported with its reason; the others still ingest."""
    snapshot = scan_corpus(settings)
    outcome = ingest_documents(snapshot, settings, progress=progress, keep_results=True)
    report = IngestReport(documents=[outcome.results[e.key] for e in snapshot.entries if e.key in outcome.results],
                          errors=outcome.errors, refused=list(snapshot.refused))
    write_outputs(report, Path(settings.index_dir))
    return report


def write_outputs(report: IngestReport, index_dir: Path) -> None:
    atomic_write_jsonl(index_dir / EXPORT_CLAUSES, (c.to_dict() for c in report.clauses))
    atomic_write_jsonl(
        index_dir / EXPORT_DOCUMENTS,
        ({"meta": d.meta.to_dict(), "text": d.clean_text, "counts": d.counts, "warnings": d.warnings,
          "quality": d.quality.to_dict() if d.quality else None} for d in report.documents),
    )


def read_clauses(index_dir: str | Path) -> list[Clause]:
    """The clauses of the index in use (the current build); before any build, what
    the last ``ingest`` wrote."""
    from .documents import IndexedDocuments

    docs = IndexedDocuments.open_current(index_dir)
    if docs is not None:
        return [c for d in docs.doc_ids for c in docs.clauses_of(d)]
    path = Path(index_dir) / EXPORT_CLAUSES
    with open(path, encoding="utf-8") as fh:
        return [Clause.from_dict(json.loads(line)) for line in fh if line.strip()]


def read_documents(index_dir: str | Path) -> list[dict]:
    """Each document of the index in use as {"meta", "text", "counts", "warnings"};
    before any build, what the last ``ingest`` wrote."""
    from .documents import IndexedDocuments

    docs = IndexedDocuments.open_current(index_dir)
    if docs is not None:
        return [docs.document(d) for d in docs.doc_ids]
    path = Path(index_dir) / EXPORT_DOCUMENTS
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def format_report(report: IngestReport) -> str:
    rows = [("doc", "type", "place", "clauses", "numbered", "longest", "gaps", "chars raw→clean", "rules fired", "warnings")]
    for d in report.documents:
        s = d.summary()
        rules = " ".join(f"{k}:{v}" for k, v in s["rules_fired"].items()) or "-"
        q = d.quality
        rows.append((
            s["doc_id"], d.meta.doc_type or "?", d.meta.place or "?", str(s["clauses"]),
            f"{q.numbered_share:.1%}" if q else "-", str(q.longest_clause) if q else "-",
            str(len(q.gaps) + len(q.repeats)) if q else "-",
            f"{s['chars_raw']}→{s['chars_clean']}", rules, str(len(s["warnings"])),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    for d in report.documents:
        for w in d.warnings:
            lines.append(f"warning [{d.meta.id}]: {w}")
        q = d.quality
        if q and (q.gaps or q.repeats):
            lines.append(f"numbering [{d.meta.id}]: " + "; ".join([*q.gaps, *q.repeats][:8]))
        if not d.meta.listed:
            got = ", ".join(d.meta.inferred) or "nothing"
            miss = f"; missing: {', '.join(d.meta.missing)}" if d.meta.missing else ""
            lines.append(f"note [{d.meta.id}]: not in plans.toml; inferred {got} from the text{miss} "
                         f"(title: {d.meta.title or '?'})")
    for r in report.refused:
        lines.append(f"refused: {r}")
    for e in report.errors:
        lines.append(f"error: {e}")
    docs = report.documents
    body = sum(d.quality.body_chars for d in docs if d.quality)
    numbered = sum(d.quality.numbered_chars for d in docs if d.quality)
    share = f", {numbered / body:.1%} of the text under numbered clauses" if body else ""
    lines.append(f"total: {len(report.clauses)} clauses from {len(docs)} documents{share}, "
                 f"{len(report.errors)} files failed, {len(report.refused)} refused")
    return "\n".join(lines)


def run_cli(args, settings) -> int:
    if getattr(args, "quality_scan", None):
        from .parse_quality import main as quality_main

        return quality_main([args.quality_scan, *(["--json"] if getattr(args, "json", False) else [])])
    report = ingest_corpus(settings, progress=not getattr(args, "json", False))
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
        print(f"wrote {Path(settings.index_dir) / EXPORT_CLAUSES} (for reading; build takes the corpus as it is then)")
    return 1 if report.errors and not report.documents else 0
