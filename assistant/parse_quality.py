"""Parse quality: how much of a document the clause parser understood.

Per document (``ParseQuality``, shown by ``ingest`` and ``ingest --json``):

* ``numbered_share``: of the body's characters (whitespace and Markdown heading
  marks not counted; the header — title, dates, issuer lines before the body — not
  counted), the share inside a clause whose path has a recognised marker
  (第X条, （一）, 三、 …) or under one. The preamble and unnumbered headings are not;
* ``longest_clause`` (characters) and its path;
* numbering ``gaps`` (第十条 right after 第八条) and ``repeats``;
* ``split``: clauses over the length limit, cut at paragraph and sentence ends;
* ``warning``: set when the document looks unparsed (most of its body under no
  numbered clause): a new kind of document the parser does not know yet shows up
  at once instead of being indexed as one blob.

``python -m assistant.parse_quality ARCHIVE.tar.xz|FOLDER`` runs loading, cleaning
and parsing over every document of an archive or folder (the 3,504 laws of
laws-all.tar.xz: about a minute) and prints the distribution: median, quartiles,
the worst ten, and every document that failed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .clauses import ParseResult

# Below this share of numbered characters a document "looks unparsed".
UNPARSED_SHARE = 0.6
# Documents shorter than this (body characters) are too short to judge.
MIN_BODY_CHARS = 300


@dataclass
class ParseQuality:
    body_chars: int
    numbered_chars: int
    numbered_share: float
    clauses: int
    longest_clause: int
    longest_path: str
    gaps: list[str] = field(default_factory=list)
    repeats: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    warning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chars(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def measure(result: ParseResult, clean_text: str) -> ParseQuality:
    header = _chars(clean_text[:result.header_chars])
    body = max(_chars(clean_text) - header - clean_text.count("#"), 0)
    numbered = 0
    longest, longest_path = 0, ""
    for clause, is_numbered in zip(result.clauses, result.numbered):
        n = _chars(clause.text)
        if is_numbered:
            numbered += n
        if len(clause.text) > longest:
            longest, longest_path = len(clause.text), clause.path
    numbered = min(numbered, body)
    share = numbered / body if body else 1.0
    warning = ""
    if body >= MIN_BODY_CHARS and share < UNPARSED_SHARE:
        warning = (f"looks unparsed: only {share:.0%} of the text is under numbered clauses "
                   f"({len(result.clauses)} clauses, longest {longest} characters)")
    return ParseQuality(body_chars=body, numbered_chars=numbered, numbered_share=round(share, 4),
                        clauses=len(result.clauses), longest_clause=longest, longest_path=longest_path,
                        gaps=list(result.gaps), repeats=list(result.repeats), split=list(result.split),
                        warning=warning)


# --------------------------------------------------------------------------- scanning a collection
@dataclass
class ScanRow:
    name: str
    quality: ParseQuality | None = None
    error: str = ""
    seconds: float = 0.0


def iter_documents(path: str):
    """(name, bytes) of every document in a folder (recursively) or a tar archive
    (.tar, .tar.gz, .tar.xz …), read as a stream: an archive is never unpacked to disk."""
    import tarfile
    from pathlib import Path

    from .corpus import DOC_SUFFIXES

    p = Path(path)
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and f.suffix.lower() in DOC_SUFFIXES and not any(part.startswith(".") for part in f.parts):
                yield f.relative_to(p).as_posix(), f.read_bytes()
        return
    with tarfile.open(p, "r:*") as tf:
        for m in tf:
            name = m.name
            if not m.isfile() or Path(name).suffix.lower() not in DOC_SUFFIXES:
                continue
            if any(part.startswith(".") for part in Path(name).parts if part not in (".", "..")):
                continue
            fh = tf.extractfile(m)
            if fh is not None:
                yield name, fh.read()


def count_documents(path: str) -> int | None:
    from pathlib import Path

    return sum(1 for _ in iter_documents(path))


def scan(path: str, progress: bool = True) -> list[ScanRow]:
    """Load, clean and parse every document of ``path``; never stops on one document."""
    import time

    from tqdm import tqdm

    from .cleaning import Cleaner
    from .clauses import ClauseParser
    from .corpus import _auto_id, infer_title
    from .errors import LoadError
    from .loaders import load_bytes
    from .models import PlanMeta

    cleaner, parser = Cleaner(), ClauseParser()
    rows: list[ScanRow] = []
    total = count_documents(path)
    bar = tqdm(iter_documents(path), total=total, desc="parse", unit="doc", disable=not progress, file=__import__("sys").stderr)
    for name, data in bar:
        t0 = time.process_time()
        row = ScanRow(name)
        try:
            loaded = load_bytes(name, data)
            text = cleaner.run(loaded.text, name).text
            meta = PlanMeta(id=_auto_id(name), file=name, title=infer_title(text, loaded.title))
            row.quality = measure(parser.parse_result(text, meta), text)
        except LoadError as e:
            row.error = f"not loaded: {e.reason}"
        except Exception as e:  # a crash is exactly what a scan is for: report it, go on
            row.error = f"CRASH {type(e).__name__}: {e}"
        row.seconds = time.process_time() - t0
        rows.append(row)
    return rows


def summarise(rows: list[ScanRow], worst: int = 10) -> dict[str, Any]:
    import statistics

    ok = [r for r in rows if r.quality is not None]
    shares = sorted(r.quality.numbered_share for r in ok)
    body = sum(r.quality.body_chars for r in ok)
    numbered = sum(r.quality.numbered_chars for r in ok)

    def q(p: float) -> float:
        return shares[min(len(shares) - 1, int(p * len(shares)))] if shares else 0.0

    longest = sorted(ok, key=lambda r: -r.quality.longest_clause)
    return {
        "documents": len(rows),
        "parsed": len(ok),
        "not_loaded": [{"name": r.name, "reason": r.error} for r in rows if r.error and not r.error.startswith("CRASH")],
        "crashed": [{"name": r.name, "reason": r.error} for r in rows if r.error.startswith("CRASH")],
        "numbered_share": {
            "aggregate": round(numbered / body, 4) if body else 0.0,
            "median": round(statistics.median(shares), 4) if shares else 0.0,
            "p10": round(q(0.10), 4), "p25": round(q(0.25), 4),
            "documents_below_0.99": sum(s < 0.99 for s in shares),
            "documents_below_0.9": sum(s < 0.9 for s in shares),
        },
        "looks_unparsed": sum(bool(r.quality.warning) for r in ok),
        "longest_clause": {
            "max": longest[0].quality.longest_clause if longest else 0,
            "median": statistics.median(r.quality.longest_clause for r in ok) if ok else 0,
            "split_documents": sum(bool(r.quality.split) for r in ok),
        },
        "documents_with_gaps": sum(bool(r.quality.gaps) for r in ok),
        "documents_with_repeats": sum(bool(r.quality.repeats) for r in ok),
        "cpu_seconds": round(sum(r.seconds for r in rows), 1),
        "worst": [
            {"name": r.name, "numbered_share": r.quality.numbered_share, "body_chars": r.quality.body_chars,
             "clauses": r.quality.clauses, "longest_clause": r.quality.longest_clause,
             "warning": r.quality.warning}
            for r in sorted(ok, key=lambda r: (r.quality.numbered_share, -r.quality.body_chars))[:worst]
        ],
        "worst_longest": [
            {"name": r.name, "longest_clause": r.quality.longest_clause, "path": r.quality.longest_path}
            for r in longest[:worst]
        ],
    }


def format_summary(s: dict[str, Any]) -> str:
    ns, lc = s["numbered_share"], s["longest_clause"]
    lines = [
        f"documents: {s['documents']} ({s['parsed']} parsed, {len(s['not_loaded'])} not loaded, "
        f"{len(s['crashed'])} crashed; {s['cpu_seconds']} CPU s)",
        f"share of text under numbered clauses: aggregate {ns['aggregate']:.2%}, median {ns['median']:.2%}, "
        f"10th percentile {ns['p10']:.2%}; {ns['documents_below_0.99']} documents below 99%, "
        f"{ns['documents_below_0.9']} below 90%, {s['looks_unparsed']} flagged as looking unparsed",
        f"longest clause: max {lc['max']} characters, median {lc['median']}; "
        f"{lc['split_documents']} documents had a clause split for length",
        f"numbering gaps in {s['documents_with_gaps']} documents, repeats in {s['documents_with_repeats']}",
        "worst ten by share:",
    ]
    lines += [f"  {w['numbered_share']:7.2%}  {w['body_chars']:7} chars  {w['name']}" for w in s["worst"]]
    lines.append("longest clauses:")
    lines += [f"  {w['longest_clause']:7}  {w['path'] or '-'}  {w['name']}" for w in s["worst_longest"]]
    for r in s["crashed"]:
        lines.append(f"CRASH {r['name']}: {r['reason']}")
    for r in s["not_loaded"][:20]:
        lines.append(f"not loaded: {r['name']}: {r['reason']}")
    if len(s["not_loaded"]) > 20:
        lines.append(f"… and {len(s['not_loaded']) - 20} more not loaded")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m assistant.parse_quality",
                                 description="Parse every document of a folder or tar archive and print how well it parsed.")
    ap.add_argument("path", help="a folder or a .tar/.tar.xz archive of documents (e.g. laws-all.tar.xz)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--worst", type=int, default=10, help="how many of the worst documents to list")
    args = ap.parse_args(argv)
    from pathlib import Path

    if not Path(args.path).exists():
        print(f"error: {args.path} does not exist", file=sys.stderr)
        return 2
    summary = summarise(scan(args.path, progress=not args.json), args.worst)
    print(json.dumps(summary, ensure_ascii=False, indent=2) if args.json else format_summary(summary))
    return 1 if summary["crashed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
