"""Structure audit: does the clause parser turn each document into the clauses its own
text says it has? Over a collection nobody tuned for, scored against the text itself.

    .venv/bin/python tools/structure_audit.py PATH/laws-all.tar.xz [--json OUT] [--examples N]
    .venv/bin/python tools/structure_audit.py PATH/ip            (a folder works too)

Each document is loaded, cleaned and parsed exactly as ``ingest`` does
(``loaders.load_bytes`` → ``Cleaner`` → ``corpus.infer_meta`` → ``ClauseParser``).
The truth comes from the loaded text's lines, never from the parser:

* an **article heading** is a line that starts (after Markdown heading marks and
  spaces) with 第X条 or 第X条之Y followed by a space, 【 or the line's end — the way
  every legal text prints one; a line 第X编 / 第X分编 / 第X章 / 第X节 followed by a
  space or the line's end is a **container heading**; a line 附件 (附件1 …) starts an
  attachment. Each article's container is the last 编/分编/章/节 heading before it
  (a 编 heading closes the 章 and 节 before it; a 章 heading closes the 节).
* **items**: a line starting （一）（二）… inside an article's lines (before the next
  article or container heading) is an item (项) of that article.

Per document, an error of each kind (the document counts once for "any"):

* ``article_missing``: an article heading of the text is not one article clause
  starting with that number (the article before swallowed it, or it was lost);
* ``article_extra``: an article clause where the text has no article heading (a
  reference such as “第十条规定的” taken as a marker);
* ``article_container``: an article whose clause is not under the 编/章/节 the text
  puts it in (or whose path holds another 编/章/节);
* ``item_outside``: an item of the text that is not a clause under its article;
* ``text_lost``: a non-empty line of the clean text that no clause's text holds
  (an attachment, a table or a paragraph lost);
* ``duplicate_path``: two clauses with the same path (a citation that names two);
* ``numbering_unreported``: the text's own article numbering skips or repeats a
  number and the parser's report (ParseResult.gaps / repeats) does not say so;
* ``list_missing``: in a text without articles (a 决定, 意见, 方案, a case write-up),
  a top-level 一、二、… at a line start (the run from 一、) that is not a clause's
  number, in order.

The text's own numbering irregularities (gaps, repeats, restarts) are counted apart
as facts about the text. Prints the share of documents with each error, the causes'
examples, and (``--json``) every document's findings.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.cleaning import Cleaner  # noqa: E402
from assistant.clauses import ClauseParser, named_parts  # noqa: E402
from assistant.corpus import _auto_id, infer_meta  # noqa: E402
from assistant.errors import LoadError  # noqa: E402
from assistant.loaders import load_bytes  # noqa: E402
from assistant.models import PlanMeta  # noqa: E402
from assistant.numerals import CN_NUMERAL_CHARS, cn_to_int, int_to_cn  # noqa: E402
from assistant.parse_quality import iter_documents  # noqa: E402

SKIP_NAMES = {"_index.md", "README.md", "法律法规模版.md"}
ERRORS = ("article_missing", "article_extra", "article_container", "item_outside", "text_lost",
          "duplicate_path", "numbering_unreported", "list_missing")
CONTAINERS = ("编", "分编", "章", "节")
_NUM = f"[{CN_NUMERAL_CHARS}]{{1,8}}"
_PREFIX_RE = re.compile(r"^[#\s\u3000]*")
_ARTICLE_RE = re.compile(rf"第({_NUM})(?:条(?:之([一二三四五六七八九十]{{1,3}}))?(?=[\s\u3000【]|$)|[ \u3000]+条)")
# an article run on after a sentence end where the line breaks were lost
_INLINE_ARTICLE_RE = re.compile(rf"(?<=[。；;])[ \u3000]*第({_NUM})条")
_INLINE_CHAPTER_RE = re.compile(rf"(?<=[。；;])[ \u3000]*第({_NUM})章")
_CONTAINER_RE = re.compile(rf"第({_NUM})(分编|编|章|节)(?=[\s\u3000]|$)")
_MD_CONTAINER_RE = re.compile(rf"第({_NUM})(分编|编|章|节)")
# 附件 / 附件一：… / 附： on a line of its own: an attachment starts
_ATTACHMENT_RE = re.compile(r"附(?:件[\s\d一二三四五六七八九十]*)?(?:[:：].{0,40})?")
_ITEM_RE = re.compile(r"[（(]([一二三四五六七八九十]{1,3})[)）]")
_CLAUSE_CONTAINER_RE = re.compile(rf"^第({_NUM})(分编|编|章|节)$")


def article_label(n: int, sub: int = 0) -> str:
    return f"第{int_to_cn(n)}条" + (f"之{int_to_cn(sub)}" if sub else "")


def text_structure(text: str) -> list[dict]:
    """The articles the text's own lines state, in order: label, container, items."""
    articles: list[dict] = []
    containers: dict[str, int] = {}
    attachment = 0
    current: dict | None = None
    for line in text.split("\n"):
        s = line[_PREFIX_RE.match(line).end():].rstrip()
        if not s:
            continue
        if _ATTACHMENT_RE.fullmatch(s):
            attachment += 1
            containers, current = {}, None
            continue
        depth = len(line.lstrip()) - len(line.lstrip().lstrip("#")) or 7
        m = _container_heading(line, s)
        if m:
            _close(containers, lambda k, d: CONTAINERS.index(k) >= CONTAINERS.index(m.group(2)))
            containers[m.group(2)] = (cn_to_int(m.group(1)) or 0, depth)
            current = None
            continue
        if depth < 7 and re.sub(r"\s", "", s) in named_parts():
            # ## 附则 after the last 编's chapters: a part of its own
            _close(containers, lambda k, d: d >= depth)
            current = None
            continue
        m = _ARTICLE_RE.match(s)
        if m:
            value = (cn_to_int(m.group(1)) or 0, cn_to_int(m.group(2) or "") or 0)
            current = _article(value, containers, attachment)
            articles.append(current)
        run_on = False
        chapter = containers.get("章", (0, 7))
        for r in _INLINE_CHAPTER_RE.finditer(s):
            if (cn_to_int(r.group(1)) or 0) == chapter[0] + 1:
                _close(containers, lambda k, d: CONTAINERS.index(k) >= CONTAINERS.index("章"))
                containers["章"] = (chapter[0] + 1, chapter[1])
                current, run_on = None, True
        for r in _INLINE_ARTICLE_RE.finditer(s) if articles else ():
            value = cn_to_int(r.group(1)) or 0
            if value == articles[-1]["value"][0] + 1:
                current = _article((value, 0), containers, attachment)
                articles.append(current)
                run_on = True
        if m or run_on:
            continue
        m = _ITEM_RE.match(s)
        # an item is a sentence or part of one; （一）动产质押 alone is a sub-heading
        if m and current is not None and re.search(r"[。；;，,：:]", s):
            current["items"].append(f"（{m.group(1)}）")
    return articles


def _container_heading(line: str, s: str) -> re.Match[str] | None:
    """A 编/分编/章/节 heading: a Markdown heading, a line with a space after the
    marker, or a short line without a sentence's punctuation (第五章法律责任)."""
    if line.lstrip().startswith("#"):
        return _MD_CONTAINER_RE.match(s)
    return _CONTAINER_RE.match(s) or (len(s) <= 40 and not re.search(r"[。；;，,]", s)
                                      and _MD_CONTAINER_RE.match(s) or None)


def _close(containers: dict, closes) -> None:
    for k in [k for k, (_, d) in containers.items() if closes(k, d)]:
        del containers[k]


_LIST_RE = re.compile(r"([一二三四五六七八九十]{1,3})、")


def text_list(text: str) -> list[str]:
    """The top-level list a text without articles states: the markers 一、二、三、… at
    line starts (after Markdown marks), each the next number of the run from 一、."""
    out: list[str] = []
    for line in text.split("\n"):
        m = _LIST_RE.match(line[_PREFIX_RE.match(line).end():])
        if m and cn_to_int(m.group(1)) == len(out) + 1:
            out.append(m.group(0))
    return out


def _article(value: tuple[int, int], containers: dict[str, int], attachment: int) -> dict:
    return {"label": article_label(*value), "value": value, "container": _container_key(containers, attachment),
            "items": []}


def _container_key(containers: dict[str, int], attachment: int) -> str:
    key = " ".join(f"{k}{containers[k][0]}" for k in CONTAINERS if k in containers)
    return (f"附件{attachment} " if attachment else "") + key


def numbering_irregularities(articles: list[dict]) -> list[str]:
    """Gaps, repeats and restarts of the text's own article numbering."""
    out = []
    prev = None
    for a in articles:
        v = a["value"]
        if prev is not None and v != (prev[0] + 1, 0) and v != (prev[0], prev[1] + 1):
            out.append(f"{a['label']} after {article_label(*prev)}")
        prev = v
    return out


def parsed_structure(clauses) -> tuple[list[dict], dict[str, list[str]]]:
    """The parser's articles in order (label, container from its path) and, per
    article path, the item numbers of the clauses under it."""
    by_path = {c.path: c for c in clauses}
    articles, items = [], {}
    for c in clauses:
        if c.level == "article":
            containers: dict[str, int] = {}
            attachment = 0
            for p in c.parent_paths:
                num = by_path[p].number if p in by_path else ""
                m = _CLAUSE_CONTAINER_RE.match(num)
                if m:
                    containers[m.group(2)] = (cn_to_int(m.group(1)) or 0, 0)
                elif num == "附件":
                    attachment += 1
            articles.append({"label": c.number, "path": c.path, "container": _container_key(containers, attachment),
                             "starts": c.text.lstrip("#\u3000 ").startswith(c.number)})
            items[c.path] = []
        elif c.parent_paths and c.level != "article":
            for p in reversed(c.parent_paths):
                if p in items:
                    if re.fullmatch(r"（[一二三四五六七八九十]{1,3}）", c.number):
                        items[p].append(c.number)
                    break
    return articles, items


def lost_lines(clean: str, clauses) -> list[str]:
    """Non-empty lines of the clean text that no clause's text holds (spaces and
    Markdown marks ignored; a table row's cells are found in its row's text)."""
    hay = "".join(re.sub(r"[\s#|｜]", "", c.text) for c in clauses)
    out, pos = [], 0
    for line in clean.split("\n"):
        s = re.sub(r"[\s#|｜]", "", line)
        if not s or set(s) <= set("-:"):
            continue
        i = hay.find(s, pos)
        if i < 0:
            i = hay.find(s)
        if i < 0:
            out.append(line.strip()[:60])
        else:
            pos = i
    return out


def audit_text(name: str, loaded_text: str, clean: str, title: str) -> dict:
    """Parse one document as ingest does and score its clauses against its text."""
    meta = infer_meta(PlanMeta(id=_auto_id(name), file="doc.md"), clean, title)
    result = ClauseParser().parse_result(clean, meta)
    want = text_structure(loaded_text)
    irregular = numbering_irregularities(want)
    listed = [] if want else text_list(loaded_text)
    errors = score(want, result.clauses, clean, reported=bool(result.gaps or result.repeats), listed=listed)
    return {"articles": len(want), "clauses": len(result.clauses), "irregular": irregular, "errors": errors}


def score(want: list[dict], clauses, clean: str, reported: bool, listed: list[str] = ()) -> dict[str, list[str]]:
    """Errors of the clauses against the text's own articles (``text_structure``),
    by kind (see the module docstring); ``reported``: the parser said the numbering
    skips or repeats; ``listed``: the top-level 一、二、… of a text without articles
    (``text_list``), each of which must be a clause's number, in order."""
    from difflib import SequenceMatcher

    got, got_items = parsed_structure(clauses)
    found: dict[str, list[str]] = {e: [] for e in ERRORS}
    sm = SequenceMatcher(a=[a["label"] for a in want], b=[g["label"] for g in got], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            found["article_missing"] += [f"{a['label']} ({a['container'] or '-'})" for a in want[i1:i2]]
            found["article_extra"] += [g["path"] for g in got[j1:j2]]
            continue
        for a, g in zip(want[i1:i2], got[j1:j2]):
            if a["container"] != g["container"]:
                found["article_container"].append(f"{a['label']}: text {a['container'] or '-'}, "
                                                  f"parsed {g['container'] or '-'} ({g['path']})")
            if not g["starts"]:
                found["article_missing"].append(f"{a['label']}: its clause does not start with it ({g['path']})")
            missing = [i for i in a["items"] if i not in got_items.get(g["path"], [])]
            if missing:
                found["item_outside"].append(f"{g['path']}: {''.join(missing)} not under it")
    found["text_lost"] = lost_lines(clean, clauses)
    found["duplicate_path"] = [p for p, n in Counter(c.path for c in clauses).items() if n > 1]
    irregular = numbering_irregularities(want)
    if irregular and not reported:
        found["numbering_unreported"] = irregular
    numbers = iter(c.number for c in clauses)
    found["list_missing"] = [label for label in listed if label not in numbers]  # in order: the iterator moves on
    return {k: v for k, v in found.items() if v}


def audit(path: str, progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    cleaner = Cleaner()
    rows = []
    docs = [(n, d) for n, d in iter_documents(path) if Path(n).name not in SKIP_NAMES]
    for name, data in tqdm(docs, desc="structure", unit="doc", disable=not progress, file=sys.stderr):
        row: dict = {"name": name}
        try:
            loaded = load_bytes(name, data)
            clean = cleaner.run(loaded.text, name).text
            row.update(audit_text(name, loaded.text, clean, loaded.title))
        except LoadError as e:
            row["not_loaded"] = str(e)
        except Exception as e:  # a crash is what an audit is for: report it, go on
            row["errors"] = {"crash": [f"{type(e).__name__}: {e}"]}
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    ok = [r for r in rows if "errors" in r]
    with_articles = [r for r in ok if r.get("articles")]
    per = {e: sum(bool(r["errors"].get(e)) for r in ok) for e in (*ERRORS, "crash")}
    any_error = sum(bool(r["errors"]) for r in ok)
    return {"documents": len(rows), "audited": len(ok), "with_articles": len(with_articles),
            "articles": sum(r.get("articles", 0) for r in ok),
            "any_error": any_error, "any_error_share": round(any_error / max(len(ok), 1), 4),
            "documents_with": per,
            "articles_missing": sum(len(r["errors"].get("article_missing", [])) for r in ok),
            "text_irregular": sum(bool(r.get("irregular")) for r in ok)}


def format_summary(s: dict, rows: list[dict], examples: int) -> str:
    lines = [f"documents: {s['documents']} ({s['audited']} audited, {s['with_articles']} with article headings, "
             f"{s['articles']} articles); with any structure error: {s['any_error']} ({s['any_error_share']:.1%})",
             f"text's own numbering skips or repeats in {s['text_irregular']} documents; "
             f"articles missing in all: {s['articles_missing']}", "", "| error | documents | share |", "|---|---|---|"]
    for e, n in s["documents_with"].items():
        lines.append(f"| {e} | {n} | {n / max(s['audited'], 1):.2%} |")
    for e in (*ERRORS, "crash"):
        bad = [r for r in rows if r.get("errors", {}).get(e)]
        if bad and examples:
            lines.append(f"\n{e}: {len(bad)} documents — first {min(examples, len(bad))}:")
            for r in bad[:examples]:
                lines.append(f"  {r['name']}: " + "; ".join(r["errors"][e][:3])
                             + (f" (+{len(r['errors'][e]) - 3})" if len(r["errors"][e]) > 3 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="laws-all.tar.xz, or a folder of documents")
    ap.add_argument("--json", help="write every document's findings to this file")
    ap.add_argument("--examples", type=int, default=8, help="examples printed per kind of error")
    a = ap.parse_args(argv)
    if not Path(a.path).exists():
        print(f"error: {a.path} does not exist", file=sys.stderr)
        return 2
    rows = audit(a.path)
    s = summarise(rows)
    print(format_summary(s, rows, a.examples))
    if a.json:
        Path(a.json).write_text(json.dumps({"summary": s, "rows": rows}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
