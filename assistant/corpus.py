"""The corpus: which files are documents, and their metadata.

``discover(corpus_dir)`` walks the corpus folder (sub-folders included) and returns
every document with its metadata (``corpus/plans.toml`` entries first) and every
file it refuses, each with its reason: an unknown file type, a hidden (dot) file or
folder, a symbolic link leading outside the corpus folder, a ``plans.toml`` entry
naming a file outside the folder (``../../x``) or one that does not exist. Nothing
in the folder is skipped silently except the corpus's own data files
(``plans.toml``, ``repairs.toml``, ``tables.toml``, ``userdict.txt``, ``README.md``).

A document with no ``plans.toml`` entry is still a document: ``infer_meta`` fills
its title, type, place (at every level), issuer and dates from its text. Fields it
cannot infer are listed in ``DocMeta.missing`` and never in ``inferred``. Entries in
``plans.toml`` win over anything inferred.
"""
from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import lexicons
from .errors import MetadataError
from .models import PlanMeta
from .places import Gazetteer, is_national_body, not_places, place_level
from .textnorm import to_simplified

PLANS_FILE = "plans.toml"
DOC_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"}
# files in corpus/ that are data about the documents, not documents
TABLES_FILE = "tables.toml"  # columns of tables that lost their separators: display only (table_layouts.py)
NON_PLAN_FILES = {"README.md", PLANS_FILE, "repairs.toml", TABLES_FILE, "userdict.txt"}
# the fields infer_meta fills; what it cannot infer is listed in DocMeta.missing
INFERRED_FIELDS = ("title", "doc_type", "place", "issuer", "date")


@dataclass
class Refusal:
    """A file in the corpus folder that is not ingested, and why."""

    file: str  # relative to the corpus folder
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


@dataclass
class Corpus:
    documents: list[PlanMeta] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


# --------------------------------------------------------------------------- discovery
def scan_files(corpus_dir: str | Path) -> tuple[list[str], list[Refusal]]:
    """Document files under ``corpus_dir`` (paths relative to it, sorted) and the
    files refused. Symbolic links are followed only to files inside the folder."""
    root = Path(corpus_dir)
    real_root = root.resolve()
    files: list[str] = []
    refused: list[Refusal] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root)
        for d in sorted(dirnames):
            rel = (rel_dir / d).as_posix()
            if d.startswith("."):
                refused.append(Refusal(rel + "/", "hidden folder (its name starts with a dot): not read"))
            elif (here / d).is_symlink():
                refused.append(Refusal(rel + "/", "symbolic link to a folder: not followed"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            path = here / name
            if rel_dir == Path(".") and name in NON_PLAN_FILES:
                continue
            reason = _refusal_reason(path, name, real_root)
            if reason:
                refused.append(Refusal(rel, reason))
            else:
                files.append(rel)
    return sorted(files), refused


def _refusal_reason(path: Path, name: str, real_root: Path) -> str:
    if name.startswith("."):
        return "hidden file (its name starts with a dot): not read"
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "broken symbolic link"
        if not target.is_relative_to(real_root):
            return f"symbolic link to {target}, outside the corpus folder: not read"
    if not path.is_file():
        return "not a regular file (a device, pipe or socket)"
    suffix = path.suffix.lower()
    if suffix not in DOC_SUFFIXES:
        kinds = " ".join(sorted(DOC_SUFFIXES))
        return f"unknown file type {suffix or '(no extension)'}: documents are {kinds}"
    return ""


def discover(corpus_dir: str | Path) -> Corpus:
    """Every document in ``corpus_dir`` with its metadata (``plans.toml`` entries first,
    in file order), and every file refused."""
    d = Path(corpus_dir)
    if not d.is_dir():
        raise MetadataError(f"corpus folder {d} does not exist")
    files, refused = scan_files(d)
    listed = _listed(d, set(files), refused)
    out = sorted(listed.values(), key=lambda m: m.file)
    for rel in files:
        if rel not in listed:
            out.append(PlanMeta(id=_auto_id(rel), file=rel, inferred=[], listed=False))
    return Corpus(out, refused)


def load_plans(corpus_dir: str | Path) -> list[PlanMeta]:
    """Metadata of every document in ``corpus_dir`` (``discover`` without the refusals)."""
    return discover(corpus_dir).documents


def _listed(d: Path, files: set[str], refused: list[Refusal]) -> dict[str, PlanMeta]:
    """The ``plans.toml`` entries, by file; an entry naming a file outside the folder,
    or one that is not there, is refused (reported) rather than read."""
    pf = d / PLANS_FILE
    if not pf.is_file():
        return {}
    try:
        data = tomllib.loads(pf.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise MetadataError(f"{pf}: not valid TOML ({e}); fix the file or remove the broken entry") from e
    known = set(PlanMeta.__dataclass_fields__) - {"listed", "missing"}
    real_root = d.resolve()
    out: dict[str, PlanMeta] = {}
    for i, entry in enumerate(data.get("plan", [])):
        unknown = set(entry) - known
        if unknown:
            raise MetadataError(f"{pf}: plan #{i + 1} has unknown fields {sorted(unknown)}")
        if "id" not in entry or "file" not in entry:
            raise MetadataError(f"{pf}: plan #{i + 1} needs at least 'id' and 'file'")
        meta = PlanMeta(**entry, listed=True)
        target = (d / meta.file).resolve()
        where = f"{PLANS_FILE} entry '{meta.id}'"
        if not target.is_relative_to(real_root):
            refused.append(Refusal(meta.file, f"{where} names a file outside the corpus folder: not read"))
            continue
        rel = target.relative_to(real_root).as_posix()
        if rel not in files:
            if (d / meta.file).is_file():
                continue  # refused by the scan already (a dot file, an unknown type)
            refused.append(Refusal(meta.file, f"{where} names a file that is not in the corpus folder"))
            continue
        meta.file = rel
        out[rel] = meta
    return out


def _auto_id(rel: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "", Path(rel).stem)[:24] or "doc"
    return f"{stem}-{hashlib.sha1(rel.encode()).hexdigest()[:6]}"


# --------------------------------------------------------------------------- metadata inference
@dataclass(frozen=True)
class _DocTypes:
    endings: tuple[tuple[str, str], ...]  # (ending, type), longest first
    judicial_issuers: tuple[str, ...]
    judicial_forms: tuple[str, ...]
    parts: tuple[str, ...] = ()  # how the title of a part of a code ends (物权编, 总则)


@lru_cache(maxsize=1)
def doc_types() -> _DocTypes:
    data = lexicons.table("doc_types.toml")
    endings = [(e, t["type"]) for t in data["type"] for e in t["endings"]]
    endings.sort(key=lambda x: -len(x[0]))
    j = data.get("judicial", {})
    return _DocTypes(tuple(endings), tuple(j.get("issuers", ())), tuple(j.get("forms", ())),
                     tuple(data.get("parts", {}).get("endings", ())))


_BRACKET_TAIL = r"(?:\s*[(（][^()（）\n]{1,20}[)）])*"


@lru_cache(maxsize=1)
def _title_end_re() -> re.Pattern[str]:
    endings = "|".join(re.escape(e) for e, _ in doc_types().endings)
    return re.compile(rf"(?:{endings}){_BRACKET_TAIL}$")


def title_ending(title: str) -> str:
    """The word a title ends with that tells its kind (规划, 实施意见, 条例, 法 …), a
    bracketed note after it aside; "" when none does. A part of a code (中华人民共和国民法典
    物权编) has the code's."""
    t = re.sub(rf"{_BRACKET_TAIL}$", "", (title or "").strip("《》 "))
    ending = next((e for e, _ in doc_types().endings if t.endswith(e)), "")
    whole, _, part = t.rpartition(" ")
    if not ending and whole.strip() and part.endswith(doc_types().parts):
        return title_ending(whole)
    return ending


def doc_type_of(title: str, issuer: str = "") -> str:
    """The document type its title's ending tells (``lexicons/doc_types.toml``)."""
    ending = title_ending(title)
    if not ending:
        return ""
    dt = doc_types()
    t = re.sub(rf"{_BRACKET_TAIL}$", "", (title or "").strip("《》 "))
    if any(t.startswith(j) or issuer.startswith(j) for j in dt.judicial_issuers) and \
            any(t.endswith(f) for f in dt.judicial_forms):
        return "interpretation"
    return next(kind for e, kind in dt.endings if e == ending)


def looks_like_title(line: str) -> bool:
    s = line.strip().strip("《》")
    return 4 <= len(s) <= 80 and not re.search(r"[。；！？]", s) and _title_end_re().search(s) is not None


_NOTICE_TITLE_RE = re.compile(r"(?:印发|发布|公布|转发|颁布)[^《\n]{0,20}《([^》\n]{4,80})》")
_QUOTED_TITLE_RE = re.compile(r"《([^》\n]{4,80})》")
_PLAN_TITLE_RE = re.compile(r"[^\n《》]{4,60}?(?:规划|方案|意见|办法|通知|規劃|意見|辦法)(?:\s*[(（]\d{4}[-—–]\d{4}年?[)）])?")


def infer_title(text: str, hint: str = "") -> str:
    """A document's title: its own title line (a Markdown ``# `` line, given as
    ``hint``), else its first line when that reads as a title, else the 《》 of an
    issuing notice (关于印发《X》的通知 → X), else the first title-like line or
    phrase of its opening; "" when none."""
    if hint.strip():
        return hint.strip()
    head = text[:3000]
    lines = [ln.strip() for ln in head.split("\n") if ln.strip()]
    m = _NOTICE_TITLE_RE.search("\n".join(lines[:3]))
    if m:
        return m.group(1).strip()  # 关于印发《X》的通知: the document is X
    if decree_issuer(text):
        m = _PROMULGATED_TITLE_RE.search("\n".join(lines[:6]))
        if m:
            return m.group(1).strip()  # …令 第N号 《X》已于…通过，现予公布: the document is X
    m = _BARE_NOTICE_TITLE_RE.match(_title_line(lines[:8]))
    if m and looks_like_title(m.group(1)):
        return m.group(1).strip()  # 关于印发X的通知 (no 《》, as web pages print it): X
    title = _title_line(lines[:8])
    if title:
        return title
    m = _PLAN_TITLE_RE.search(head)
    if m:
        return m.group(0).strip(" 《》\u3000")
    return ""


# a decree or announcement that publishes the text: its first line (江苏省人民政府令, 国家知识产权局
# 公告, with or without 第N号) names the issuer, its sentence “《X》已于…通过，现予公布” the title
_DECREE_LINE_RE = re.compile(r"^([\u4e00-\u9fff]{2,30}?)(?:令|公告)\s*(?:[（(]?第\s*[\d一二三四五六七八九十百零〇]+\s*号[）)]?)?$")
_PROMULGATED_TITLE_RE = re.compile(r"《([^》\n]{4,80})》[^\n《》]{0,80}?(?:现予公布|现予发布|现予印发|予以公布|现予施行)")
_BARE_NOTICE_TITLE_RE = re.compile(r".{2,40}?关于(?:印发|发布|公布|转发|颁布)(.{4,80})的通知$")
# a document number (温政办〔2023〕45号) or the 文件头 (…人民政府办公室文件) of an official document:
# never the start of its title
_NOT_TITLE_START_RE = re.compile(r"[〔［\[]\d{4}[〕］\]]\s*\d+\s*号$|文件$")


def decree_issuer(text: str) -> str:
    """The body of the decree or announcement that publishes the text, from its first two
    lines (江苏省人民政府令 / 第158号 → 江苏省人民政府), or ""."""
    for ln in [ln.strip() for ln in text[:300].split("\n") if ln.strip()][:2]:
        m = _DECREE_LINE_RE.match(ln)
        if m and not re.search(r"关于|的", m.group(1)):  # a body, not a title (…关于…的命令)
            return m.group(1)
    return ""


def _title_line(lines: list[str]) -> str:
    """The first title-like line, or title broken over two or three lines (a title printed
    centred in large type wraps: “…关于加快建设知识产权” / “强市的实施意见”): a line with no
    sentence or list punctuation and no document number, continued by the lines after it."""
    for i, ln in enumerate(lines):
        if looks_like_title(ln) and not _NOT_TITLE_START_RE.search(ln):
            return ln.strip("《》 \u3000")
        if re.search(r"[。；！？，：:、]", ln) or _NOT_TITLE_START_RE.search(ln) or len(ln) > 40:
            continue
        for k in (2, 3):
            joined = "".join(lines[i:i + k])
            if i + k <= len(lines) and looks_like_title(joined) and "关于" in joined:
                return joined.strip("《》 \u3000")
    return ""


_NUM = "[一二三四五六七八九十百零〇\\d]+"
_DATE_LINE_RE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(.*)$")
_BODY_EFFECTIVE_RE = re.compile(r"自(\d{4})年(\d{1,2})月(\d{1,2})日起(?:施行|实施|生效|执行)")
_DATE_ANY_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass(frozen=True)
class _HeaderEvents:
    """``lexicons/header_events.toml``: what happened on a header date, by its words."""

    events: tuple[tuple[str, tuple[str, ...]], ...]  # (event, its words), in the table's order
    revision: tuple[str, ...]  # words that make a line an amendment whatever its last word
    organ_stops: tuple[str, ...]

    def words(self, *events: str) -> tuple[str, ...]:
        """The words of the given events (all when none is given)."""
        return tuple(w for name, ws in self.events if not events or name in events for w in ws)

    def pattern(self, words: tuple[str, ...]) -> str:
        return "|".join(re.escape(w) for w in words)


@lru_cache(maxsize=1)
def header_events() -> _HeaderEvents:
    data = lexicons.table("header_events.toml")
    return _HeaderEvents(tuple((k, tuple(v)) for k, v in data["events"].items()), tuple(data["revision"]),
                         tuple(data["organ_stops"]))


_EV = header_events()
_ANY_EVENT = _EV.pattern(_EV.words())
_ISSUER_LINE_RE = re.compile(
    r"^([\u4e00-\u9fff]{2,30}(?:人民政府|人民政府办公室|人民政府辦公室|办公室|辦公室|办公厅|委员会|人民代表大会常务委员会|"
    r"知识产权局|市场监督管理局|人民法院|人民检察院))\s*$", re.M)
_ORGAN_CLEAN_RE = re.compile(rf"第?{_NUM}(?:届|次)(?:全体会议|会议)?|(?:常务|全体|部务|局务|委务|署务|行务|室务|主任|部长办公|办公)会议|\d{4}年|会议|全体|令|公告|第{_NUM}号|中华人民共和国(?=国务院|中央军事委员会)")


def _iso(y: str, m: str, d: str) -> str:
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def infer_dates(text: str) -> tuple[dict, str]:
    """Dates of a document's header lines by what happened on them, and the body that
    adopted or issued it. A line naming a 修正/修订 is an amendment; otherwise its last
    event word says what it is: 通过 adopted (the first), 批准 approved, 公布/发布/印发
    promulgated, 施行 effective (the latest of each); a date alone is when it is dated."""
    dates: dict = {}
    issuer = ""
    revisers: list[str] = []  # bodies of amending lines: the maker when no line says who adopted it
    approvers: list[str] = []  # bodies of approving lines (国务院批准): the maker when no line names one
    for line in _header_lines(text):
        for iso, rest in _dated_events(line):
            issuer = _add_date(dates, iso, rest, issuer)
            if _AMENDING_RE.search(rest) and (organ := _organ(rest)):
                revisers.append(organ)
            elif _APPROVING_RE.search(rest) and (organ := _organ(rest)):
                approvers.append(organ)
    issuer = issuer or next(iter(revisers + approvers), "")
    if "effective" not in dates:
        m = _BODY_EFFECTIVE_RE.search(text)
        if m:
            dates["effective"] = _iso(*m.groups())
    return dates, issuer


_EVENT_WORD_RE = re.compile(_ANY_EVENT)
_EVENT_END_RE = re.compile(rf"(?:{_ANY_EVENT})[）)]?$")
_AMENDING_RE = re.compile(_EV.pattern(_EV.words("amended")))
_REVISION_RE = re.compile(_EV.pattern(_EV.revision))
_APPROVING_RE = re.compile(_EV.pattern(_EV.words("approved")))
# a line that is not the rest of a header line: a heading, an article, a document number
_NOT_CONTINUATION_RE = re.compile(r"#|第[一二三四五六七八九十百零〇\d]+[编章节条]|[（(〔［\[]")
_ORGAN_END_RE = re.compile(rf"[《〈<（(]|{_EV.pattern(_EV.words('adopted', 'promulgated', 'approved', 'amended') + _EV.organ_stops)}")


def _header_lines(text: str) -> list[str]:
    """The first lines of a text, a dated header line broken across lines joined again:
    a line that starts with a date and ends with no event word, followed by up to
    three short lines with no date, no sentence end and no marker, the last of which
    ends with an event word (“…《关于修改〈…〉〈…村民委” + “的决定》修正”; “1984年4月4日
    国务院” + “中央军委发布”: two bodies, joined with 、; see ``_joiner``)."""
    lines = [ln.strip() for ln in text[:4000].split("\n")[:40]]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line, i = lines[i], i + 1
        if _DATE_LINE_RE.match(line) and not _ends_with_event(line):
            joined = line
            for j in range(i, min(i + 3, len(lines))):
                nxt = lines[j]
                if not nxt or len(nxt) > 60 or _DATE_LINE_RE.match(nxt) or _NOT_CONTINUATION_RE.match(nxt) \
                        or "。" in nxt:
                    break
                joined += _joiner(joined) + nxt
                if _ends_with_event(joined):
                    line, i = joined, j + 1
                    break
        out.append(line)
    return out


def _joiner(head: str) -> str:
    """What a broken header line lost at its break: 、 after a body named whole
    (国务院 | 中央军委发布), nothing inside a name or a title (…第二次 | 会议通过)."""
    rest = _DATE_LINE_RE.match(head).group(4)
    whole_body = is_national_body(rest) and not re.search(r"第|\d|会议", rest)
    return "、" if whole_body and not _inside_title(head, len(head)) else ""


def _ends_with_event(line: str) -> bool:
    return _EVENT_END_RE.search(line.rstrip("。，,；; ")) is not None


def _dated_events(line: str) -> list[tuple[str, str]]:
    """(iso date, what follows it) of a header line that starts with a date; a line
    holding several (“2010年7月23日 …第一次修订  2022年3月29日…第二次修订）”) gives each
    date after an event (…批准2011年9月29日…公布, …通过根据2020年…修正) its own event;
    a date inside a 《》 title is none. A line
    that is a sentence of the body, not ending with an event (“2000年3月17日…发布的《…》
    同时废止。”), gives none."""
    s = line.strip()
    m = _DATE_LINE_RE.match(s)
    if not m or ("。" in s and not _EVENT_END_RE.search(s.rstrip("。，,；; "))):
        return []
    starts = [0]
    for d in _DATE_ANY_RE.finditer(s, m.end(3)):
        # a date starts an event of its own once the text before it, since the last
        # start, told one (…通过根据2020年…修正; …批准；2019年…); bodies listed with
        # their meetings' dates (…第1331次会议、2004年11月11日…通过) share one event
        if not _inside_title(s, d.start()) and _EVENT_WORD_RE.search(s, starts[-1], d.start()):
            starts.append(d.start())
    out = []
    for a, b in zip(starts, starts[1:] + [len(s)]):
        seg = s[a:b].strip()
        d = _DATE_LINE_RE.match(seg)
        if d:
            # bodies listed with their meetings' dates adopted it when the last of them did
            listed = [_iso(*x.groups()) for x in _DATE_ANY_RE.finditer(seg) if not _inside_title(seg, x.start())]
            out.append((max([_iso(*d.groups()[:3]), *listed]), d.group(4).strip()))
    return out


def _inside_title(s: str, pos: int) -> bool:
    """Is ``pos`` inside a 《》 or 〈〉 title (《…2019年…决定》 dates no event of this text)?"""
    head = s[:pos]
    return head.count("《") > head.count("》") or head.count("〈") > head.count("〉")


_DECREE_NUMBER_RE = re.compile(r"令\s*[（(]?第\s*[\d一二三四五六七八九十百零〇]+\s*号[）)]?\s*$")


def _add_date(dates: dict, iso: str, rest: str, issuer: str) -> str:
    """Record one header date by what happened on it; the issuer it names, if the
    first to name one."""
    event = "amended" if _REVISION_RE.search(rest) else ""
    if not event:
        best = -1
        for name, words in _EV.events:
            for w in words:
                pos = rest.rfind(w)
                if pos > best:
                    best, event = pos, name
    decree = _DECREE_NUMBER_RE.search(rest) if not event else None
    if decree:
        # a line with no event word but a decree's number published the text by that
        # decree (“2017年11月22日 中华人民共和国国务院令第692号”)
        event = "promulgated"
        rest = rest[:decree.start()]
    if not event:
        dates.setdefault("dated", iso)
    elif event == "amended":
        dates.setdefault("amended", []).append(iso)
    elif event == "adopted" and dates.get("adopted", iso) < iso:
        dates.setdefault("amended", []).append(iso)  # passed again: the text was revised
    elif event == "adopted":
        dates.setdefault("adopted", iso)
    else:
        dates[event] = iso
    if event in ("adopted", "promulgated") and not issuer:
        issuer = _organ(rest)
    return issuer


def _organ(rest: str) -> str:
    """The body in “第七届全国人民代表大会常务委员会第十五次会议通过”: 全国人民代表大会常务委员会."""
    s = _ORGAN_END_RE.split(rest, maxsplit=1)[0]
    s = re.sub(r"^[经由]", "", _ORGAN_CLEAN_RE.sub("", s).strip(" ，,、"))  # 经/由…会议通过: passed by
    s = re.sub(r"(审判委员会|检察委员会)$", "", s) if re.match(r"最高人民(?:法院|检察院)", s) else s
    return s if 2 <= len(s) <= 40 and re.fullmatch(r"[\u4e00-\u9fff、]+", s) else ""


def main_date(dates: dict) -> str:
    """The date a document's version is known by: the latest of its header's dates of
    adoption, approval, promulgation or amendment (else when it takes effect)."""
    made = [d for k in ("adopted", "approved", "promulgated", "dated") if (d := dates.get(k))]
    made += dates.get("amended", [])
    return max(made) if made else dates.get("effective", "")


def infer_place(title: str, issuer: str, gaz: Gazetteer | None = None) -> tuple[str, str, str, str]:
    """(place, place_level, province, place_code) of the body that issued a document
    when its issuer names a division (嘉兴市南湖保护条例, made by 嘉兴市's people's
    congress, is 嘉兴市's, not 南湖区's), else from its title, else a national issuer;
    a national body gives ("全国", "national", "", "")."""
    gaz = gaz or Gazetteer.default()
    t = re.sub(r"^关于印发", "", to_simplified((title or "").strip("《》 ")))
    if is_national_body(t):
        return "全国", "national", "", ""
    iss = to_simplified(issuer or "")
    national_issuer = is_national_body(iss)
    by_issuer = None if national_issuer else _place_of(iss, gaz)
    by_title = _place_of(t, gaz)
    if national_issuer and by_title and not _written_as_division(t, gaz):
        by_title = None  # a national body's 汶川地震灾后恢复重建条例: an event's name, not 汶川县's
    if by_issuer and not (by_title and by_title[3] == by_issuer[3]):
        return by_issuer  # the title's own writing of the same place is kept (南通市海门区)
    if by_title:
        return by_title
    if national_issuer:
        return "全国", "national", "", ""
    # a division the gazetteer does not know (renamed or new since its data): a title
    # that starts with a name ending like one (…市, …区, …县)
    m = _UNKNOWN_PLACE_RE.match(t)
    if m and m.group(1) not in not_places():
        suffix = m.group(2)
        level = "province" if suffix in ("省", "自治区") else "city" if suffix in ("市", "自治州", "州", "盟") else "district"
        return m.group(1), level, "", ""
    return "", "", "", ""


def _written_as_division(source: str, gaz: Gazetteer) -> bool:
    """Does ``source`` start with a division written as one (汶川县…, 上海市…), not
    only with its short name (汶川地震…)?"""
    chain = gaz.place_chain(source)
    return bool(chain) and source[:gaz.find(source)[len(chain) - 1].end].endswith(_DIVISION_ENDINGS)


def _place_of(source: str, gaz: Gazetteer) -> tuple[str, str, str, str] | None:
    """The division a title or issuer starts with, as its place tuple, or None."""
    chain = gaz.place_chain(source)
    if not chain:
        return None
    inner = chain[-1]
    # the place as the text writes it (南通市海门区: the district's current name),
    # when it ends like a division's name; else the division's full name
    written = source[:gaz.find(source)[len(chain) - 1].end]
    if not written.endswith(_DIVISION_ENDINGS):
        written = inner.name
    return written, place_level(inner), gaz.province_of(inner).name, inner.code


def qualified_issuer(issuer: str, title: str, gaz: Gazetteer | None = None) -> str:
    """An issuer that names its level only (市十二届人大常委会 → 市人大常委会, as a city's
    header writes its own congress) with the place of the title at that level
    (杭州市人大常委会); any other issuer as it is."""
    m = re.match(r"^(省|自治区|自治州|市|州|自治县|县|区)(?=人大|人民|政府)", issuer or "")
    if not m:
        return issuer
    gaz = gaz or Gazetteer.default()
    for p in reversed(gaz.place_chain(to_simplified(title or ""))):
        if p.name.endswith(m.group(1)):
            return p.name + issuer[len(m.group(1)):]
    return issuer


_DIVISION_ENDINGS = ("省", "市", "区", "县", "州", "盟", "旗")
_UNKNOWN_PLACE_RE = re.compile(r"^([\u4e00-\u9fff]{2,5}?(省|自治区|自治州|市|州|盟|区|县|旗))(?![\u4e00-\u9fff]{0,1}(?:场|民|级|政|长|委|场|区))")


def infer_meta(meta: PlanMeta, text: str, title_hint: str = "", file_date: bool = True) -> PlanMeta:
    """Fill the empty metadata fields of a document from its cleaned text: title, type,
    place (national, province, city, district), issuer, dates. Fields given (by
    ``plans.toml``) are kept; fields inferred are listed in ``inferred``; fields that
    could not be inferred in ``missing``."""
    inferred: list[str] = [f for f in meta.inferred if f not in INFERRED_FIELDS]
    if not meta.title:
        meta.title = infer_title(text, title_hint)
        if meta.title:
            inferred.append("title")
    dates, organ = infer_dates(text)
    if not meta.issuer:
        m = _ISSUER_LINE_RE.search(text[:3000])
        issuer = organ or (m.group(1) if m else "") or decree_issuer(text)
        if not issuer and is_national_body(meta.title):
            issuer = national_issuer(meta.title)
        if issuer:
            meta.issuer = qualified_issuer(issuer, meta.title)
            inferred.append("issuer")
    if not meta.doc_type:
        meta.doc_type = doc_type_of(meta.title, meta.issuer)
        if meta.doc_type:
            inferred.append("doc_type")
    if not meta.dates and dates:
        meta.dates = dates
    if not meta.date:
        meta.date = main_date(dates)
        if not meta.date and file_date:
            m = re.search(r"[(（](\d{4})-(\d{2})-(\d{2})[)）]", Path(meta.file).stem)
            if m:
                meta.date = _iso(*m.groups())
        if meta.date:
            inferred.append("date")
    _fill_place(meta, inferred)
    if meta.place and not meta.aliases and meta.place_level != "national":
        meta.aliases = _aliases(meta)
    meta.inferred = inferred
    meta.missing = [f for f in INFERRED_FIELDS if not getattr(meta, f)]
    return meta


def _fill_place(meta: PlanMeta, inferred: list[str]) -> None:
    gaz = Gazetteer.default()
    if meta.place:
        # given: its level, province and code from the gazetteer, where it knows it
        if not meta.place_level:
            place, level, province, code = infer_place(meta.place, "", gaz)
            if level:
                meta.place_level, meta.place_code = level, code
                meta.province = meta.province or province
                inferred.append("place_level")
        return
    place, level, province, code = infer_place(meta.title, meta.issuer, gaz)
    if place:
        meta.place, meta.place_level, meta.place_code = place, level, code
        meta.province = meta.province or province
        inferred.append("place")


def _aliases(meta: PlanMeta) -> list[str]:
    """Names a user may type for the document's place: its short names."""
    gaz = Gazetteer.default()
    out = []
    for m in gaz.find(meta.place):
        for p in m.places:
            if p.code == meta.place_code or len(m.places) == 1:
                for n in (p.short, p.name):
                    if n and n not in out and n != meta.place:
                        out.append(n)
    return out


def national_issuer(title: str) -> str:
    m = re.match(r"^(.{2,30}?)(?:关于|印发|办公厅关于)", title.strip("《》 "))
    if m and is_national_body(m.group(1)):
        return m.group(1)
    return "全国人民代表大会常务委员会" if title.startswith("中华人民共和国") and title.endswith("法") else ""
