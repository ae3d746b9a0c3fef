"""Clause parsing: clean text → a tree of clauses.

Numbering styles understood (each a level):
- chapter  ``一、`` (also an Arabic ``2、`` at a line start when it is the next chapter)
- section  ``（一）`` / ``(一)``; numbering may run on across chapters (（八） after 三、)
- item     ``1.`` / ``1．`` at a line start or after a sentence end
- subitem  ``（1）`` / ``(1)``
- box      ``专栏N`` (專欄N), table ``表N``: children of the clause they stand in
- tables flattened one cell per line (a ``序号`` header row then numbered rows):
  one clause per row, with the header names as fields
- ``附件`` (attachment) on a line of its own: a top-level node

A marker is only taken as one where the numbering sequence expects it (the next
number at its level, or 1 after a higher level opened): this keeps references
such as "（一）" inside a sentence from opening a clause, and works on texts whose
line breaks were lost (markers inline after 。).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cleaning import cn_to_int
from .models import Clause, PlanMeta
from .textnorm import for_search

LEVEL_RANK = {"preamble": 0, "attachment": 1, "chapter": 1, "section": 2, "item": 3, "subitem": 4, "box": 5, "table": 5}

CN = "一二三四五六七八九十"
# a marker may open a clause at a line start, after a sentence end, or (sections,
# boxes, tables) right after a chapter heading that has no end punctuation
CANDIDATE_RE = re.compile(
    rf"""(?P<chapter>(?<![\d])[{CN}]{{1,3}}、)
      | (?P<chapter_ar>^\d{{1,2}}、)
      | (?P<section>[(（][{CN}]{{1,3}}[)）])
      | (?P<item>(?<![\d.．])\d{{1,2}}[.．](?![\d]))
      | (?P<subitem>[(（]\d{{1,2}}[)）])
      | (?P<box>(?:专栏|專欄)\s?\d{{1,2}})
      | (?P<table>表\s?\d{{1,2}}(?=[.．:：\s“"]))
      | (?P<attachment>^附件\s*\d*$)
    """,
    re.M | re.X,
)
SENTENCE_END = "。；;！!？?\n"
HEADING_END_RE = re.compile(r"[。；;：:，,！？]")


@dataclass
class _Node:
    level: str
    number: str  # as printed in paths
    value: int
    start: int
    end: int = -1
    heading: str = ""
    children: list["_Node"] = field(default_factory=list)
    parent: "_Node | None" = None
    fields: dict[str, str] = field(default_factory=dict)
    text_override: str | None = None
    search_extra: str = ""


def _norm_marker(level: str, raw: str, value: int) -> str:
    from .cleaning import int_to_cn

    if level in ("chapter", "chapter_ar"):
        return f"{int_to_cn(value)}、"
    if level == "section":
        return f"（{int_to_cn(value)}）"
    if level == "item":
        return f"{value}."
    if level == "subitem":
        return f"（{value}）"
    if level == "box":
        return f"专栏{value}"
    if level == "table":
        return f"表{value}"
    return raw.strip()


class ClauseParser:
    """``parse(clean_text, meta) -> list[Clause]`` in document order."""

    def parse(self, text: str, meta: PlanMeta) -> list[Clause]:
        tables = list(_find_tables(text))
        masked = _mask(text, [(t.start, t.end) for t in tables])
        nodes = self._scan_markers(masked)
        root = _Node("root", "", 0, 0, len(text))
        self._build_tree(root, nodes, tables, text)
        return self._to_clauses(root, text, meta)

    # -- markers ------------------------------------------------------------------
    def _scan_markers(self, text: str) -> list[_Node]:
        out: list[_Node] = []
        last = {"chapter": 0, "section": 0, "item": 0, "subitem": 0, "box": 0, "table": 0}
        last_pos = {k: -1 for k in last}
        chapter_heading_end = -1
        for m in CANDIDATE_RE.finditer(text):
            kind = m.lastgroup
            raw = m.group(0)
            start = m.start()
            prev = text[start - 1] if start else "\n"
            at_boundary = prev in SENTENCE_END or start == 0 or text[:start].endswith(("\n ", "\u3000"))
            digits = re.sub(r"[^\d" + CN + "]", "", raw)
            value = cn_to_int(digits) if digits else 0
            level = "chapter" if kind == "chapter_ar" else kind
            if level == "attachment":
                out.append(_Node("attachment", "附件", 0, start))
                last = dict.fromkeys(last, 0)
                continue
            if level in ("box", "table"):
                # boxes/tables number through the document
                if not (at_boundary or start == chapter_heading_end or prev in "”\"）)") and value != last[level] + 1:
                    continue
                if value != last[level] + 1:
                    continue
            elif level == "chapter":
                if value != last["chapter"] + 1:
                    continue
                # where line breaks were lost, a chapter may follow a table's last
                # cell directly; take it only when a heading follows and it is not
                # part of an enumeration (二、三、…)
                if not at_boundary and (
                    kind == "chapter_ar" or value < 2 or prev in "、，,"
                    or not re.match(r"[\u4e00-\u9fff]{2}", text[m.end():m.end() + 2])
                ):
                    continue
            else:
                higher = {"section": ["chapter"], "item": ["chapter", "section"], "subitem": ["chapter", "section", "item"]}[level]
                opened_since = max(last_pos[h] for h in higher)
                restart = opened_since > last_pos[level]
                ok_value = value == last[level] + 1 or (value == 1 and (restart or last[level] == 0))
                inline_ok = level == "section" and _inline_section_ok(text, start, out)
                if not ok_value or not (at_boundary or inline_ok):
                    continue
            node = _Node(level, _norm_marker(kind, raw, value), value, start)
            node.raw_end = m.end()  # type: ignore[attr-defined]
            out.append(node)
            last[level] = value
            last_pos[level] = start
            if level == "chapter":
                for k in ("section",):
                    pass  # sections may run on across chapters; items restart below
                last["item"] = 0
                last["subitem"] = 0
            if level == "section":
                last["subitem"] = 0
            if level == "item":
                last["subitem"] = 0
        return out

    # -- tree -----------------------------------------------------------------------
    def _build_tree(self, root: _Node, nodes: list[_Node], tables: list["_Table"], text: str) -> None:
        # table nodes are inserted at their place in the order
        allnodes: list[_Node] = list(nodes)
        for t in tables:
            tn = _Node("table", t.number, 0, t.start, t.end, heading=t.caption)
            tn.raw_end = t.start  # type: ignore[attr-defined]
            for row in t.rows:
                rn = _Node("table_row", f"第{row.serial}项", row.serial, row.start, row.end, heading=row.heading, fields=row.fields)
                rn.text_override = row.text
                rn.search_extra = row.search_text
                tn.children.append(rn)
                rn.parent = tn
            tn.tablenode = True  # type: ignore[attr-defined]
            allnodes.append(tn)
        allnodes.sort(key=lambda n: n.start)
        # ends: each node runs to the start of the next node (tables have fixed ends)
        for i, n in enumerate(allnodes):
            nxt = allnodes[i + 1].start if i + 1 < len(allnodes) else len(text)
            if n.end < 0:
                n.end = nxt
        stack: list[_Node] = [root]
        for n in allnodes:
            rank = 1 if n.level == "attachment" else LEVEL_RANK[n.level]
            while len(stack) > 1 and _rank(stack[-1]) >= rank:
                stack.pop()
            if n.level == "table" and getattr(n, "tablenode", False) and stack[-1].level == "attachment":
                pass
            n.parent = stack[-1]
            stack[-1].children.append(n)
            stack.append(n)
        # a parent's span covers its children
        def fix(n: _Node) -> int:
            for c in n.children:
                n.end = max(n.end, fix(c))
            return n.end

        fix(root)

    def _to_clauses(self, root: _Node, text: str, meta: PlanMeta) -> list[Clause]:
        out: list[Clause] = []
        title = meta.title
        # preamble: text before the first clause
        first = root.children[0].start if root.children else len(text)
        pre = text[:first].strip()
        if pre:
            out.append(self._clause(meta, "前言", "preamble", "前言", title, [], [], pre, (0, first), len(out), {}, True, ""))

        def path_of(n: _Node) -> str:
            parts = []
            cur = n
            while cur is not None and cur.level != "root":
                parts.append(cur.number)
                cur = cur.parent
            parts.reverse()
            path = ""
            if n.level == "table_row" and n.parent and n.parent.parent and n.parent.parent.level == "attachment" \
                    and n.parent.number == "表":
                parts.remove("表")  # an attachment that is one list: rows are 附件 第N项
            for p in parts:
                if path and (p.startswith("第") or p.startswith("表") and path.endswith("附件")):
                    path += " " + p
                elif path and p.startswith("表") and not path.endswith(("、", "）", ".")):
                    path += " " + p
                else:
                    path += p
            return path

        def walk(n: _Node, parents: list[str], parent_paths: list[str]) -> None:
            for c in n.children:
                own_end = c.children[0].start if c.children else c.end
                if c.level == "table":
                    own_end = c.children[0].start if c.children else c.end
                body = text[c.start:own_end].strip() if c.text_override is None else c.text_override
                if c.level not in ("table_row",) and c.text_override is None:
                    body = body.strip()
                heading = c.heading or _heading(text, c, own_end)
                c.heading = heading
                path = path_of(c)
                has_body = len(_strip_marker_heading(body, c, heading)) >= 12
                retrievable = not c.children or has_body
                out.append(
                    self._clause(
                        meta, path, c.level, c.number, heading, parents, parent_paths, body,
                        (c.start, c.end), len(out), c.fields, retrievable, c.search_extra,
                    )
                )
                walk(c, parents + [heading], parent_paths + [path])

        walk(root, [], [])
        return out

    def _clause(self, meta, path, level, number, heading, parents, parent_paths, body, span, ordinal, fields, leaf, search_extra) -> Clause:
        return Clause(
            doc_id=meta.id,
            title=meta.title,
            place=meta.place,
            path=path,
            level=level,
            number=number,
            heading=heading,
            parents=list(parents),
            parent_paths=list(parent_paths),
            text=body,
            text_simplified=for_search((search_extra + " " if search_extra else "") + body),
            span=span,
            ordinal=ordinal,
            fields=dict(fields),
            is_leaf=leaf,
        )


def _rank(n: _Node) -> int:
    if n.level == "root":
        return -1
    if n.level == "table_row":
        return 6
    return LEVEL_RANK[n.level]


def _inline_section_ok(text: str, start: int, found: list[_Node]) -> bool:
    """A section marker not at a sentence end is accepted right after a chapter
    heading (chapter marker, short heading, no punctuation in between)."""
    if found and found[-1].level == "table":
        return True  # a flattened table's last cell runs straight into the next section
    if not found or found[-1].level != "chapter":
        return False
    between = text[getattr(found[-1], "raw_end", found[-1].start):start]
    return 0 < len(between) <= 60 and not re.search(r"[。；;]", between)


def _heading(text: str, n: _Node, own_end: int) -> str:
    seg = text[getattr(n, "raw_end", n.start):own_end]
    seg = seg.lstrip(" :：.．、")
    line = seg.split("\n", 1)[0]
    if n.level == "chapter" or n.level == "attachment":
        return line.strip()[:60] if "\n" in seg or len(line) <= 60 else _first_phrase(line)
    if "\n" in seg and len(line) <= 40 and not line.endswith("。"):
        return line.strip()  # heading on its own line
    return _first_phrase(line, table=n.level == "table")


def _first_phrase(line: str, cap: int = 40, table: bool = False) -> str:
    m = HEADING_END_RE.search(line)
    h = line[: m.start()] if m else line
    # a heading closed by 。 is usually whole (（十一）实施…推进工程。); one that runs on
    # to a comma, or to no punctuation at all, has probably swallowed its body's start
    if len(h) > 6:
        h = _cut_run_on_heading(h, table, whole=bool(m and m.group(0) == "。"))
    return h[:cap].strip()


# Words that open a plan's body sentence (a measure: 聚焦…, 建立…, 以…为…). Where a
# text lost the line break after a heading, the heading runs straight into the body
# ("健全知识产权投融资机制推进国家…"); it ends where such a word starts.
BODY_OPENERS = (
    "聚焦", "围绕", "依托", "推进", "建立", "完善", "加强", "结合", "坚持", "大力", "制定", "深入",
    "发挥", "探索", "提供", "强化", "强力", "构建", "实施", "引导", "鼓励", "加快", "全面", "积极", "推动",
    "健全", "放眼", "总体来看", "应用", "弘扬", "设立", "通过", "按照", "根据", "着力", "持续", "以",
)
_OPENER_RE = re.compile("|".join(sorted(BODY_OPENERS, key=len, reverse=True)))


def _cut_run_on_heading(h: str, table: bool = False, whole: bool = False) -> str:
    """A heading run into its body is cut where the body starts: where its own
    opening words recur (“十三五”期间…“十三五”期间), or at the first body opener
    after the heading's own first words."""
    cuts = []
    again = h.find(h[:5], 6)
    if again > 0:
        cuts.append(again)
    opener = next((m.start() for m in _OPENER_RE.finditer(h) if m.start() >= 4), None)
    if whole and not cuts:
        return h  # closed by 。 and nothing recurs: a whole heading (（十一）实施…推进工程。)
    if opener is not None:
        cuts.append(opener)
    figures = re.search(r"\d{4}", h[6:]) if table else None  # a flattened table's first figures
    if figures:
        cuts.append(6 + figures.start())
    return h[: min(cuts)].rstrip("一—-") if cuts else h


def _strip_marker_heading(body: str, n: _Node, heading: str) -> str:
    b = body
    i = b.find(heading) if heading else -1
    if i >= 0:
        b = b[i + len(heading):]
    return b.strip(" 。:：\n")


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        for i in range(s, e):
            if chars[i] != "\n":
                chars[i] = "\x00"
    return "".join(chars)


# --- flattened tables ------------------------------------------------------------
@dataclass
class _Row:
    serial: int
    start: int
    end: int
    cells: list[str]
    fields: dict[str, str]
    heading: str
    text: str
    search_text: str


@dataclass
class _Table:
    start: int
    end: int
    caption: str
    number: str
    header: list[str]
    rows: list[_Row]


CONTINUES_RE = re.compile(r"[，,、；;（(]$")


def _find_tables(text: str):
    """Tables flattened to one cell per line: a caption line, a header row starting
    ``序号``, then rows each starting with the next serial number."""
    lines: list[tuple[int, str]] = []
    pos = 0
    for ln in text.split("\n"):
        lines.append((pos, ln))
        pos += len(ln) + 1
    i = 0
    while i < len(lines):
        if lines[i][1].strip() != "序号":
            i += 1
            continue
        # header: non-numeric short lines after 序号
        j = i + 1
        header = ["序号"]
        while j < len(lines) and not lines[j][1].strip().isdigit() and len(lines[j][1]) <= 20:
            header.append(lines[j][1].strip())
            j += 1
        if len(header) < 2 or j >= len(lines) or lines[j][1].strip() != "1":
            i += 1
            continue
        ncols = len(header)
        rows: list[_Row] = []
        serial = 1
        k = j
        while k < len(lines) and lines[k][1].strip() == str(serial):
            row_start = lines[k][0]
            cells: list[str] = []
            k += 1
            while k < len(lines) and len(cells) < ncols - 1:
                cell = lines[k][1].strip()
                # a cell ending in a separator continues on the next line
                while CONTINUES_RE.search(cell) and k + 1 < len(lines) and lines[k + 1][1].strip() != str(serial + 1):
                    k += 1
                    cell += lines[k][1].strip()
                cells.append(cell)
                k += 1
            row_end = lines[k - 1][0] + len(lines[k - 1][1])
            fields = {"序号": str(serial)}
            for name, val in zip(header[1:], cells):
                fields[name] = val
            heading = cells[0][:40] if cells else ""
            rows.append(
                _Row(
                    serial=serial, start=row_start, end=row_end, cells=cells, fields=fields, heading=heading,
                    text="｜".join([str(serial), *cells]),
                    search_text=" ".join(f"{h}" for h in header[1:]),
                )
            )
            serial += 1
        if len(rows) >= 2:
            cap_line = lines[i - 1][1].strip() if i > 0 else ""
            m = re.match(r"^(?:表\s?(\d+))", cap_line)
            number = f"表{m.group(1)}" if m else "表"
            start = lines[i - 1][0] if cap_line and len(cap_line) <= 60 and not cap_line.endswith("。") else lines[i][0]
            caption = cap_line if start != lines[i][0] else ""
            # a table inside an attachment is the attachment's list: rows sit directly under 附件
            yield _Table(start=start, end=rows[-1].end, caption=caption, number=number, header=header, rows=rows)
            i = k
        else:
            i += 1
