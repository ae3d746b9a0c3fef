"""The corpus: which files are plans, and their metadata (``corpus/plans.toml``).

A file dropped into ``corpus/`` without an entry is still a plan: its metadata is
inferred from its text (``infer_meta``) and marked as inferred.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from .errors import MetadataError
from .models import PlanMeta

PLANS_FILE = "plans.toml"
DOC_SUFFIXES = {".txt", ".pdf", ".html", ".htm", ".docx"}
# files in corpus/ that are data about the plans, not plans
NON_PLAN_FILES = {"README.md", PLANS_FILE, "repairs.toml", "userdict.txt"}


def plan_files(corpus_dir: str | Path) -> list[Path]:
    d = Path(corpus_dir)
    return sorted(p for p in d.iterdir() if p.is_file() and p.name not in NON_PLAN_FILES and not p.name.startswith("."))


def load_plans(corpus_dir: str | Path) -> list[PlanMeta]:
    """Metadata for every plan file in ``corpus_dir`` (listed ones first, in file order)."""
    d = Path(corpus_dir)
    if not d.is_dir():
        raise MetadataError(f"corpus folder {d} does not exist")
    listed: dict[str, PlanMeta] = {}
    pf = d / PLANS_FILE
    if pf.is_file():
        try:
            data = tomllib.loads(pf.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise MetadataError(f"{pf}: not valid TOML ({e}); fix the file or remove the broken entry") from e
        known = set(PlanMeta.__dataclass_fields__)
        for i, entry in enumerate(data.get("plan", [])):
            unknown = set(entry) - known
            if unknown:
                raise MetadataError(f"{pf}: plan #{i + 1} has unknown fields {sorted(unknown)}")
            if "id" not in entry or "file" not in entry:
                raise MetadataError(f"{pf}: plan #{i + 1} needs at least 'id' and 'file'")
            meta = PlanMeta(**entry)
            if not (d / meta.file).is_file():
                raise MetadataError(f"{pf}: plan '{meta.id}' names {meta.file}, which is not in {d}")
            listed[meta.file] = meta
    out = sorted(listed.values(), key=lambda m: m.file)
    for p in plan_files(d):
        if p.name not in listed and p.suffix.lower() in DOC_SUFFIXES:
            out.append(PlanMeta(id=_auto_id(p), file=p.name, inferred=["id", "title", "place", "date", "issuer"]))
    return out


def _auto_id(p: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "", p.stem)[:24] or "doc"
    return f"{stem}-{hashlib.sha1(p.name.encode()).hexdigest()[:6]}"


_TITLE_RE = re.compile(r"[^\n《》]{4,60}?(?:规划|方案|意见|办法|通知|規劃|意見|辦法)(?:\s*[(（]\d{4}[-—–]\d{4}年?[)）])?")
_DATE_RE = re.compile(r"(20\d\d)年(\d{1,2})月(\d{1,2})日")
_PLACE_RE = re.compile(r"([\u4e00-\u9fff]{2,4}(?:市|区|區|县|縣))")
_ISSUER_RE = re.compile(r"^([\u4e00-\u9fff]{2,20}(?:人民政府|人民政府办公室|人民政府辦公室|办公室|辦公室))\s*$", re.M)


def infer_meta(meta: PlanMeta, text: str) -> PlanMeta:
    """Fill empty title/place/date/issuer of an unlisted plan from its cleaned text."""
    head = text[:3000]
    if not meta.title:
        m = _TITLE_RE.search(head)
        meta.title = m.group(0).strip(" 《》\u3000") if m else Path(meta.file).stem
    if not meta.date:
        m = _DATE_RE.search(head)
        if m:
            meta.date = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    if not meta.place:
        m = _PLACE_RE.search(meta.title)
        if m:
            meta.place = m.group(1)
    if not meta.issuer:
        m = _ISSUER_RE.search(head)
        if m:
            meta.issuer = m.group(1)
    if meta.place and not meta.aliases:
        meta.aliases = [re.sub(r"(市|区|區|县|縣)$", "", meta.place)]
    return meta
