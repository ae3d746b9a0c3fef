"""Metadata audit: how often a document's title, kind, issuer, place and date come out
missing or wrong, over a collection nobody tuned for, scored against what the
collection itself says.

    .venv/bin/python tools/metadata_audit.py PATH/laws-all.tar.xz [--json OUT] [--sample N]
    .venv/bin/python tools/metadata_audit.py PATH/ip            (a folder works too)

Each document is loaded, cleaned and its metadata inferred exactly as ``ingest``
does (``loaders.load_bytes`` → ``Cleaner`` → ``corpus.infer_meta``; no parsing into
clauses, no index). The truth each field is scored against comes from the archive
(LawRefBook's layout, /work/shared/corpora/laws/README.md), never from the pipeline:

* **title**: the file name without its bracketed date (``商标法(2019-04-23).md`` →
  商标法); spaces and bracket widths ignored. Missing = empty; wrong = differs.
* **kind**: the folder tells the family: 司法解释 → interpretation; every other
  folder but 案例 holds laws, regulations, rules, decisions (legal documents). Missing
  = no doc_type; wrong = a 司法解释 not typed interpretation, or a document of a
  legal folder typed as a policy kind (plan, scheme, opinion).
* **issuer**: the folder tells its level: DLC/<province>/ → a local body of that
  province (the issuer must name a place in it); 行政法规 → 国务院 (or a national
  body); 司法解释 → 最高人民法院 / 最高人民检察院; the national law folders → a national
  body. Missing = empty.
* **place**: DLC/<province>/ → place_code inside the province; when the header's
  adopting body (the 通过 line: 嘉兴市第七届人民代表大会常务委员会…通过) names a division,
  the place must be that division (a city's regulation about a district's lake is the
  city's). Other folders → 全国 (national). Missing = empty.
* **date**: the version's date as the raw file's header block (the lines before
  ``<!-- INFO END -->``) states it: the latest date of a line that is not only about
  taking effect (施行/实施/生效), a date a line says it takes effect on (自…起施行)
  aside; with no such line, the file name's bracketed date (the one LawRefBook
  lists, often the promulgation). Missing = empty; wrong = another.

The folder README's ``ip/`` documents carry no folders, so on them title and date are
scored from the file name, place from the adopting body, and kind/issuer on missing
only. Prints error rates per field and examples; ``--sample N`` prints N random
documents' metadata (seeded) for a check by hand.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.cleaning import Cleaner  # noqa: E402
from assistant.corpus import _auto_id, infer_meta  # noqa: E402
from assistant.errors import LoadError  # noqa: E402
from assistant.loaders import load_bytes  # noqa: E402
from assistant.models import PlanMeta  # noqa: E402
from assistant.parse_quality import iter_documents  # noqa: E402
from assistant.places import Gazetteer, is_national_body  # noqa: E402

SKIP_NAMES = {"_index.md", "README.md", "法律法规模版.md"}
# court cases (案例: 张某诉某公司…纠纷案) and a lawyer's guide (其他) are stories about
# law, not policy or legal texts with an issuer: not scored
SKIP_FOLDERS = {"案例", "其他"}
FIELDS = ("title", "kind", "issuer", "place", "date")
POLICY_KINDS = {"plan", "scheme", "opinion"}
_FILE_DATE_RE = re.compile(r"\s*[(（](\d{4})-(\d{2})-(\d{2})[)）]\s*$")
_ADOPTED_RE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日\s*(.{2,60}?)(?:第[一二三四五六七八九十百零〇\d]+届)")


def _norm_title(t: str) -> str:
    t = re.sub(r"\s+", "", t or "").replace("（", "(").replace("）", ")").strip("《》")
    return t.replace("中华人民共和国", "")  # file names drop it (刑法.md: 中华人民共和国刑法)


def file_truth(name: str) -> dict:
    """What the archive's path says: title, date, folder kind and province."""
    p = Path(name)
    stem = p.stem
    m = _FILE_DATE_RE.search(stem)
    date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""
    title = _FILE_DATE_RE.sub("", stem)
    parts = [x for x in p.parts[:-1] if x not in (".", "")]
    folder = parts[0] if parts else ""
    province = ""
    if folder == "DLC" and len(parts) >= 2:
        province = parts[1].replace("地方法规", "")
    return {"title": title, "date": date, "folder": folder, "province": province}


def adopting_body_place(header: str, gaz: Gazetteer):
    """The division named by the body on the header's 通过/批准 line that made the
    document (the first dated line naming a 人民代表大会 or 人民政府), or None."""
    for line in header.split("\n")[:12]:
        s = line.strip()
        if not re.match(r"^\d{4}年", s) or not re.search(r"人民代表大会|人民政府", s):
            continue
        if "批准" in s and "通过" not in s:
            continue  # the province approving a city's regulation did not make it
        body = re.sub(r"^\d{4}年\d{1,2}月\d{1,2}日\s*", "", s)
        if is_national_body(body):
            return None
        chain = gaz.place_chain(body)
        return chain[-1] if chain else None
    return None


_RAW_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_TAKES_EFFECT_RE = re.compile(r"\s*起?\s*(?:施行|实施|生效)")


def header_date(raw: str, file_date: str) -> str:
    """The version's date by the raw header block (see the module docstring)."""
    end = raw.find("<!-- INFO END -->")
    best = ""
    for line in (raw[:end] if end > 0 else "").split("\n")[1:]:
        s = line.strip()
        if not _RAW_DATE_RE.match(s) or len(_RAW_DATE_RE.findall(s)) == 1 and re.search(r"(?:施行|实施|生效)[）)]?$", s):
            continue
        for m in _RAW_DATE_RE.finditer(s):
            if _TAKES_EFFECT_RE.match(s, m.end()) or s[:m.start()].endswith("自"):
                continue  # …公布，自2014年1月1日起施行: when it takes effect, not the version's date
            iso = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
            best = max(best, iso)
    return best or file_date


def score(name: str, meta: PlanMeta, header: str, raw: str, gaz: Gazetteer) -> dict[str, str]:
    """Per field: "" (right), "missing" or "wrong: …"."""
    truth = file_truth(name)
    folder, province = truth["folder"], truth["province"]
    out: dict[str, str] = {}
    # title
    if not meta.title:
        out["title"] = "missing"
    elif _norm_title(meta.title) != _norm_title(truth["title"]):
        out["title"] = f"wrong: {meta.title!r} (file {truth['title']!r})"
    # kind
    if not meta.doc_type:
        out["kind"] = "missing"
    elif folder == "司法解释" and meta.doc_type != "interpretation":
        out["kind"] = f"wrong: {meta.doc_type} for a 司法解释"
    elif folder and folder != "案例" and meta.doc_type in POLICY_KINDS:
        out["kind"] = f"wrong: {meta.doc_type} in a legal folder"
    # issuer
    iss = meta.issuer
    if not iss:
        out["issuer"] = "missing"
    elif folder == "DLC":
        prov = gaz.lookup(province)
        chain = gaz.place_chain(iss)
        if not chain or not prov or not gaz.contains(prov[0], chain[-1]):
            out["issuer"] = f"wrong: {iss!r} not a body of {province}"
    elif folder == "司法解释":
        if not re.match(r"最高人民(?:法院|检察院)", iss):
            out["issuer"] = f"wrong: {iss!r} for a 司法解释"
    elif folder and folder not in ("案例", "其他") and not is_national_body(iss):
        out["issuer"] = f"wrong: {iss!r} not a national body"
    # place
    body_place = adopting_body_place(header, gaz)
    if not meta.place:
        out["place"] = "missing"
    elif folder == "DLC":
        prov = gaz.lookup(province)
        code = meta.place_code
        inner = gaz.by_code.get(code) if code else None
        if meta.place_level == "national" or inner is None or not prov or not gaz.contains(prov[0], inner):
            out["place"] = f"wrong: {meta.place!r} ({code}) not in {province}"
        elif body_place is not None and body_place.code != code:
            out["place"] = f"wrong: {meta.place!r} ({code}), made by {body_place.name} ({body_place.code})"
    elif folder and folder not in ("案例", "其他"):
        if meta.place_level != "national":
            out["place"] = f"wrong: {meta.place!r} for a national document"
    elif body_place is not None and body_place.code != meta.place_code:
        out["place"] = f"wrong: {meta.place!r} ({meta.place_code}), made by {body_place.name} ({body_place.code})"
    # date
    if not meta.date:
        out["date"] = "missing"
    elif (want := header_date(raw, truth["date"])) and meta.date != want:
        out["date"] = f"wrong: {meta.date} (header {want})"
    if not _RAW_DATE_RE.search(_raw_header(raw)):
        # a header block with no dated line states no issuer or date: what is missing
        # was not in the text to find (行政法规/网络数据安全管理条例: a title alone)
        for f in ("issuer", "date") + (("place",) if folder != "DLC" else ()):
            if out.get(f) == "missing" or f == "date" and out.get(f):
                out[f] = "unstated"  # the file name's date is not the text's to know
    return {f: out.get(f, "") for f in FIELDS}


def _raw_header(raw: str) -> str:
    end = raw.find("<!-- INFO END -->")
    return raw[:end] if end > 0 else ""


def audit(path: str, progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    gaz = Gazetteer.default()
    cleaner = Cleaner()
    rows = []
    docs = [(n, d) for n, d in iter_documents(path) if Path(n).name not in SKIP_NAMES and Path(n).suffix == ".md"
            and file_truth(n)["folder"] not in SKIP_FOLDERS]
    for name, data in tqdm(docs, desc="audit", unit="doc", disable=not progress, file=sys.stderr):
        row = {"name": name}
        try:
            loaded = load_bytes(name, data)
        except LoadError as e:
            row["error"] = str(e)
            rows.append(row)
            continue
        text = cleaner.run(loaded.text, name).text
        # the archive's own file name is truth, so it is not given to the pipeline:
        # a file added under another name (law-3f2a….md) must get the same metadata
        meta = infer_meta(PlanMeta(id=_auto_id(name), file="doc.md"), text, loaded.title)
        header = text[:text.find("第一条")] if "第一条" in text[:4000] else text[:800]
        row.update(meta={k: getattr(meta, k) for k in ("title", "doc_type", "issuer", "place", "place_level",
                                                     "place_code", "date")},
                   errors=score(name, meta, header, data.decode("utf-8", "replace"), gaz))
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    ok = [r for r in rows if "errors" in r]
    out = {"documents": len(rows), "not_loaded": len(rows) - len(ok), "fields": {}}
    for f in FIELDS:
        missing = sum(r["errors"][f] == "missing" for r in ok)
        wrong = sum(r["errors"][f].startswith("wrong") for r in ok)
        unstated = sum(r["errors"][f] == "unstated" for r in ok)
        out["fields"][f] = {"missing": missing, "wrong": wrong, "unstated": unstated,
                            "error_rate": round((missing + wrong) / len(ok), 4) if ok else 0.0}
    out["any_error"] = sum(any(e and e != "unstated" for e in r["errors"].values()) for r in ok)
    by_folder: dict[str, Counter] = defaultdict(Counter)
    for r in ok:
        folder = file_truth(r["name"])["folder"] or "(top)"
        by_folder[folder]["documents"] += 1
        for f in FIELDS:
            if r["errors"][f] and r["errors"][f] != "unstated":
                by_folder[folder][f] += 1
    out["by_folder"] = {k: dict(v) for k, v in sorted(by_folder.items(), key=lambda kv: -kv[1]["documents"])}
    return out


def format_summary(s: dict, rows: list[dict], examples: int) -> str:
    n = s["documents"] - s["not_loaded"]
    lines = [f"documents: {s['documents']} ({s['not_loaded']} not loaded); with any field missing or wrong: "
             f"{s['any_error']} ({s['any_error'] / max(n, 1):.1%})", "",
             "| field | missing | wrong | error rate | not stated in the text |", "|---|---|---|---|---|"]
    for f, v in s["fields"].items():
        lines.append(f"| {f} | {v['missing']} | {v['wrong']} | {v['error_rate']:.2%} | {v['unstated']} |")
    lines += ["", "by folder (documents; errors per field):"]
    for k, v in s["by_folder"].items():
        lines.append(f"  {k}: {v['documents']}  " + "  ".join(f"{f} {v[f]}" for f in FIELDS if v.get(f)))
    for f in FIELDS:
        bad = [r for r in rows if r.get("errors", {}).get(f, "unstated") != "unstated" and r["errors"][f]]
        if bad and examples:
            lines.append(f"\n{f}: {len(bad)} — first {min(examples, len(bad))}:")
            lines += [f"  {r['name']}: {r['errors'][f]}" for r in bad[:examples]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="laws-all.tar.xz, or a folder of documents")
    ap.add_argument("--json", help="write every document's metadata and errors to this file")
    ap.add_argument("--examples", type=int, default=8, help="examples printed per field")
    ap.add_argument("--sample", type=int, default=0, help="also print N random documents' metadata (seed 20261123)")
    a = ap.parse_args(argv)
    if not Path(a.path).exists():
        print(f"error: {a.path} does not exist", file=sys.stderr)
        return 2
    rows = audit(a.path)
    s = summarise(rows)
    print(format_summary(s, rows, a.examples))
    if a.sample:
        print(f"\nrandom sample of {a.sample} (seed 20261123), for a check by hand:")
        for r in random.Random(20261123).sample([r for r in rows if "meta" in r], a.sample):
            m = r["meta"]
            print(f"  {r['name']}\n    {m['title']} | {m['doc_type']} | {m['issuer']} | {m['place']} "
                  f"({m['place_level']} {m['place_code']}) | {m['date']}")
    if a.json:
        Path(a.json).write_text(json.dumps({"summary": s, "rows": rows}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
