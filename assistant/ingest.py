"""Ingestion: corpus/ → cleaned, clause-structured documents.

``python -m assistant ingest`` writes ``index/clauses.jsonl`` (one clause per
line) and ``index/documents.jsonl`` (each document's cleaned text and metadata,
used to check quotes and to show a plan clause by clause), and prints a
per-document table of clauses, characters, rules fired and warnings.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .cleaning import Cleaner, Repairs
from .clauses import ClauseParser
from .corpus import Refusal, discover, infer_meta
from .errors import LoadError
from .models import Clause, LoadedText, PlanMeta
from .parse_quality import ParseQuality, measure

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
    for p in sorted((here / "lexicons").glob("*")):
        if p.is_file():
            h.update(p.name.encode())
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

    def level_counts(self) -> dict[str, int]:
        return dict(Counter(c.level for c in self.clauses))

    def summary(self) -> dict:
        return {
            "doc_id": self.meta.id,
            "file": self.meta.file,
            "title": self.meta.title,
            "clauses": len(self.clauses),
            "levels": self.level_counts(),
            "chars_raw": len(self.source.text) if self.source else None,
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


def ingest_corpus(settings, progress: bool = False) -> IngestReport:
    """Load, clean and parse every document in ``settings.corpus_dir``; write the
    results to ``settings.index_dir``. A file that cannot be loaded, or that is not
    taken (unknown type, hidden, a link out of the folder), is reported with its
    reason; the others still ingest."""
    from .loaders import load_file

    corpus_dir = Path(settings.corpus_dir)
    corpus = discover(corpus_dir)
    repairs = Repairs.load(corpus_dir / REPAIRS_FILE)
    report = IngestReport(refused=list(corpus.refused))
    it = corpus.documents
    if progress:
        from tqdm import tqdm

        it = tqdm(corpus.documents, desc="ingest", unit="doc", file=sys.stderr)
    for meta in it:
        try:
            loaded = load_file(corpus_dir / meta.file, max_mb=settings.max_file_mb)
        except LoadError as e:
            report.errors.append(e)
            continue
        report.documents.append(parse_document(loaded, meta, repairs))
    write_outputs(report, Path(settings.index_dir))
    return report


def _atomic_write_lines(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_outputs(report: IngestReport, index_dir: Path) -> None:
    _atomic_write_lines(index_dir / "clauses.jsonl", (c.to_dict() for c in report.clauses))
    _atomic_write_lines(
        index_dir / "documents.jsonl",
        ({"meta": d.meta.to_dict(), "text": d.clean_text, "counts": d.counts, "warnings": d.warnings,
          "quality": d.quality.to_dict() if d.quality else None} for d in report.documents),
    )


def read_clauses(index_dir: str | Path) -> list[Clause]:
    path = Path(index_dir) / "clauses.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [Clause.from_dict(json.loads(line)) for line in fh if line.strip()]


def read_documents(index_dir: str | Path) -> list[dict]:
    path = Path(index_dir) / "documents.jsonl"
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
    report = ingest_corpus(settings, progress=not getattr(args, "json", False))
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
        print(f"wrote {Path(settings.index_dir) / 'clauses.jsonl'}")
    return 1 if report.errors and not report.documents else 0
