"""Article probe: does asking for 第N条 of a document by its title get that article, whole,
from that document? Over documents nobody wrote questions for, with the truth read from
the raw text only (never from the parser).

    .venv/bin/python tools/article_probe.py [--config CFG] FOLDER [--docs N] [--per-doc K] [--json OUT]

FOLDER holds the documents the configured index was built from (LawRefBook Markdown:
a ``# 标题`` line, a header block ending ``<!-- INFO END -->``, articles starting a line
with 第N条; /work/shared/corpora/laws/README.md). For each document with articles
(``--docs`` of them, seeded sample; all by default) ``--per-doc`` articles are drawn
(seeded), and each is asked twice: 《full title》第N条规定了什么？ and, without
中华人民共和国 and 《》, short title第N条是怎么规定的？ (a year, 2010年的…, is put
before titles several documents share). Scored per question:

* **hit** / **first**: a citation (the first citation) is of that document and that
  article (its path's article is 第N条, items and paragraphs of it count);
* **other document**: the answer cites any other document;
* **coverage**: the share of the article's sentences (its raw text split at 。；, at
  least 4 characters; NFKC, no spaces) found whole in the quotes cited from that article.

The article's raw text runs from its 第N条 line to the next article or heading, so a
document whose articles the parser splits or merges differently still scores against
what the text says. Articles glued on one line (…。 第九十九条 …) are split where one starts
right after a sentence's end. A year is put before a title several documents share (2010年的…):
the file name's bracketed date, else the latest year of the header block.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ask import AskPipeline  # noqa: E402
from assistant.settings import Settings  # noqa: E402

NUMERALS = "零〇一二三四五六七八九十百千"
ARTICLE_RE = re.compile(rf"^\s*(?:#+\s*)?第([{NUMERALS}]+)条(?:之[{NUMERALS}]+)?[\s　]*(.*)$")
# an article starting inside a line, right after a sentence's end (第九十八条 …。 第九十九条 …)
INLINE_ARTICLE_RE = re.compile(rf"(?<=[。；])[\s　]*(?=第[{NUMERALS}]+条(?:之[{NUMERALS}]+)?[\s　])")
HEADING_RE = re.compile(rf"^\s*#+\s|^\s*第[{NUMERALS}]+[编章节]")
TITLE_RE = re.compile(r"^# (.+)$", re.M)
SPACE_RE = re.compile(r"[\s　]")
TITLE_FOLD_RE = re.compile(r"[\s　、《》]")
YEAR_RE = re.compile(r"\((\d{4})")
HEADER_YEAR_RE = re.compile(r"((?:19|20)\d\d)年")
SEED = 20261123


def raw_articles(text: str) -> list[tuple[str, str]]:
    """(number, text) of each article, in order, from the body after the header block;
    an article's text runs to the next article or heading."""
    body = text.split("<!-- INFO END -->", 1)[-1]
    out: list[list[str]] = []
    current: list[str] | None = None
    lines = [piece for line in body.splitlines() for piece in INLINE_ARTICLE_RE.split(line)]
    for line in lines:
        m = ARTICLE_RE.match(line)
        if m:
            current = [m.group(1), m.group(2)]
            out.append(current)
        elif HEADING_RE.match(line):
            current = None
        elif current is not None and line.strip():
            current[1] += line.strip()
    return [(n, t) for n, t in out]


def _plain(text: str) -> str:
    """Text compared by its characters: NFKC (（一） is (一)), no spaces."""
    return SPACE_RE.sub("", unicodedata.normalize("NFKC", text))


def _fold(title: str) -> str:
    return TITLE_FOLD_RE.sub("", title or "")


def version_year(name: str, text: str) -> str:
    """The year of a document's version: the file name's bracketed date, else the latest
    year its header block names (its last revision)."""
    m = YEAR_RE.search(name)
    if m:
        return m.group(1)
    header = text.split("<!-- INFO END -->", 1)[0] if "<!-- INFO END -->" in text else ""
    return max(HEADER_YEAR_RE.findall(header), default="")


def questions(title: str, year: str) -> list[tuple[str, str]]:
    """The two forms of asking for an article, with ``{n}`` for its number."""
    short = title.replace("中华人民共和国", "")
    prefix = f"{year}年的" if year else ""
    return [("full", f"{prefix}《{title}》第{{n}}条规定了什么？"), ("short", f"{prefix}{short}第{{n}}条是怎么规定的？")]


def score(answer: dict, title: str, number: str, article: str) -> dict:
    cits = answer.get("citations") or []
    path_re = re.compile(rf"(^|\s)第{number}条(（|第|\s|$)")

    def of_article(c: dict) -> bool:
        return _fold(c.get("title", "")) == _fold(title) and path_re.search(c.get("path", "")) is not None

    quoted = _plain("".join(c.get("quote", "") for c in cits if of_article(c)))
    parts = [p for p in re.split(r"[。;]", _plain(article)) if len(p) >= 4]
    return {"hit": any(map(of_article, cits)), "first": bool(cits) and of_article(cits[0]),
            "other_doc": any(_fold(c.get("title", "")) != _fold(title) for c in cits),
            "not_found": bool(answer.get("not_found")),
            "coverage": sum(p in quoted for p in parts) / len(parts) if parts else None,
            "first_citation": [cits[0].get("title"), cits[0].get("path")] if cits else None}


def load_documents(folder: Path) -> list[tuple[Path, str, list, str]]:
    """(file, title, raw articles, version year) of every document of ``folder`` with a
    title and articles."""
    docs = []
    for f in sorted(folder.iterdir()):
        if f.suffix not in (".md", ".txt"):
            continue
        text = f.read_text(encoding="utf-8", errors="replace")
        m = TITLE_RE.search(text)
        arts = raw_articles(text)
        if m and arts:
            docs.append((f, m.group(1).strip(), arts, version_year(f.name, text)))
    return docs


def probe(settings: Settings, folder: Path, n_docs: int | None = None, per_doc: int = 3,
          progress: bool = True) -> list[dict]:
    rng = random.Random(SEED)
    docs = load_documents(folder)
    shared = Counter(_fold(t) for _, t, _, _ in docs)  # titles several versions share, in the whole folder
    if n_docs is not None and n_docs < len(docs):
        docs = sorted(rng.sample(docs, n_docs))
    pipeline = AskPipeline(settings).warm_up()
    rows = []
    for f, title, arts, version in tqdm(docs, desc="probe", unit="doc", disable=not progress, file=sys.stderr):
        year = version if shared[_fold(title)] > 1 else ""
        first_of_number: dict[str, str] = {}
        for number, article in arts:
            first_of_number.setdefault(number, article)
        unique = list(first_of_number.items())
        for number, article in rng.sample(unique, min(per_doc, len(unique))):
            for form, template in questions(title, year):
                q = template.format(n=number)
                row = {"file": f.name, "title": title, "article": number, "form": form, "question": q}
                row.update(score(pipeline.ask(q), title, number, article))
                rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    out = {}
    for form in sorted({r["form"] for r in rows}) + ["all"]:
        rs = [r for r in rows if form in ("all", r["form"])]
        cov = [r["coverage"] for r in rs if r["coverage"] is not None]
        out[form] = {"questions": len(rs), "documents": len({r["file"] for r in rs}),
                     "hit": round(sum(r["hit"] for r in rs) / len(rs), 3),
                     "first": round(sum(r["first"] for r in rs) / len(rs), 3),
                     "other_document": round(sum(r["other_doc"] for r in rs) / len(rs), 3),
                     "coverage": round(sum(cov) / len(cov), 3) if cov else None,
                     "whole_article": round(sum(c == 1 for c in cov) / len(cov), 3) if cov else None}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="the documents the index was built from")
    ap.add_argument("--config", help="assistant.toml of that index (default: the usual lookup)")
    ap.add_argument("--docs", type=int, help="a seeded sample of this many documents (default all)")
    ap.add_argument("--per-doc", type=int, default=3, help="articles asked per document (default 3)")
    ap.add_argument("--json", help="write every question's row here")
    args = ap.parse_args(argv)
    rows = probe(Settings.load(args.config), args.folder, args.docs, args.per_doc)
    summary = summarise(rows)
    for form, s in summary.items():
        print(f"{form:6s} " + "  ".join(f"{k} {v}" for k, v in s.items()))
    misses = [r for r in rows if not r["first"] or (r["coverage"] or 0) < 1]
    for r in misses[:30]:
        print(f"  {r['question'][:60]}  first={r['first']} coverage={r['coverage']} got={r['first_citation']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
