"""Clause parsing: clean text → a tree of clauses, for any Chinese official text.

The numbering systems are data (``lexicons/numbering.toml``: 第X编/章/节/条,
一、 （一） 1. （1） ①, 专栏N, 表N, 附件 …); this module has one nesting mechanism:

* a **ranked** style (编 > 分编 > 章 > 节 > 条) closes every open node of the same or
  a lower rank;
* an **unranked** style nests relative to what is open: a style already open
  continues there as the next number; a style not open opens a new level under the
  innermost open node, with number 1 (or the next number of a list numbered across
  its parents: （八） after 三、);
* a Markdown heading (``## …``) closes every node opened since the last heading
  with fewer ``#``; an unnumbered heading (``## 基本案情``) is a node of its own;
* inside an article (条) an item （一） is one paragraph: a paragraph after the
  article's items is its own node, the article's paragraph (款) by count,
  ``第十四条第二款``, so an item never swallows the paragraphs or articles after it.

A marker is only taken as one where the numbering expects it (the next number, or 1
when a new level opens): references such as “依照本法第十条” or “（一）” inside a
sentence never open a clause, and texts whose line breaks were lost still parse.
A strong marker (第X条 at a line start) is taken even when its number skips or
repeats; the gap or repeat is reported (``ParseResult.gaps``/``repeats``).

Paths are what a reader cites: ``第三章 第十四条（二）``, ``第十四条第二款``,
``三、（三）6.``, ``五、（三）专栏6``, ``附件 第13项``.

No clause is longer than ``MAX_CLAUSE_CHARS``: a longer node is split between its
paragraphs, consecutive paragraphs packed up to that length (a piece is
``第N款`` inside an article, ``第N段`` elsewhere, ``第四款至第六款`` when it holds several;
the node itself keeps the first ones), and a paragraph still too long alone at
sentence ends (``（续N）``), with a warning saying so. Every step is
linear in the text (a 30-million-character line parses in seconds).

Plain text and tables flattened one cell per line (a ``序号`` header row, then
numbered rows) become one clause per row with the header names as fields; so do
Markdown pipe tables (``| 刑法条文 | 罪名 |``, a ``|---|---|`` rule, then one row per
line), each row quoted as written: ``表 第3项``.
"""
from __future__ import annotations

import bisect
import heapq
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .models import Clause, PlanMeta
from .numerals import CIRCLED, CN_NUMERAL_CHARS, cn_to_int, int_to_cn
from .textnorm import for_search

NUMBERING_FILE = Path(__file__).resolve().parent / "lexicons" / "numbering.toml"
# A clause longer than this is split at paragraphs, then sentences (and the ingest
# report says so). 3,000 characters is about two pages: far above any plan section
# (the longest is 1,383) and above 99.9% of articles in the 3,504 laws.
MAX_CLAUSE_CHARS = 3000
# What ends a sentence, for where a marker may stand (plus a line start).
SENTENCE_END = "。；;！!？?\n：:"
HEADING_END_RE = re.compile(r"[。；;：:，,！？]")
# A Markdown heading line: its marks, and where its text starts.
MD_HEADING_RE = re.compile(r"^(#{1,6})[ \t\u3000]+(?=\S)", re.M)
_LINE_PREFIX_RE = re.compile(r"#{0,6}[ \t\u3000]*")
# where a line's text starts: after its indent, or after Markdown heading marks only
# where they are marks (followed by a space, as MD_HEADING_RE takes them): the 「#」 of
# 「#0（二）」 is text
_TEXT_START_RE = re.compile(r"(?:#{1,6}[ \t\u3000]+(?=\S))?[ \t\u3000]*")
# the rank of an article (条): ranked nodes above it are containers (编, 章, 节)
ARTICLE_RANK = 40
# what a reader calls a text's table of contents
CONTENTS_LABEL = "目录"
# nodes that hold no other node: a box or table closes at the next marker
INSET_LEVELS = ("box", "table", "table_row")
_NUM_RE_SRC = f"[{CN_NUMERAL_CHARS}]{{1,8}}"


# --------------------------------------------------------------------------- styles
@dataclass(frozen=True)
class MarkerStyle:
    """One numbering style, as ``numbering.toml`` describes it."""

    name: str
    regex: re.Pattern[str]
    numerals: str
    level: str
    path: str
    join: str = ""
    rank: int | None = None
    where: str = "sentence"
    strong: bool = False
    run_on: bool = False
    kind: str = "numbered"
    sequence: str = ""
    inline: str = ""
    lost_markers: bool = False
    order: int = 0

    def value(self, m: re.Match[str]) -> int | None:
        raw = m.group("n") if "n" in m.re.groupindex else ""
        if self.kind == "attachment":  # 附件 (0) or, where the text numbers them, 附件2 (2)
            return int(raw) if raw and raw.isdigit() else 0
        if self.numerals == "arabic":
            return int(raw) if raw and raw.isdigit() else None
        return cn_to_int(raw)

    def step(self, value: int, sub: int = 0) -> str:
        """This style's marker as written in a path."""
        circled = CIRCLED[value - 1] if 0 < value <= len(CIRCLED) else str(value)
        return self.path.format(cn=int_to_cn(value), n=value, circled=circled,
                                sub=f"之{int_to_cn(sub)}" if sub else "")


@lru_cache(maxsize=4)
def _numbering_data(path: str | Path = NUMBERING_FILE) -> dict:
    return tomllib.loads(Path(path).read_text(encoding="utf-8"))


def named_parts() -> frozenset[str]:
    return frozenset(_numbering_data().get("named_parts", {}).get("names", []))


@lru_cache(maxsize=4)
def load_styles(path: str | Path = NUMBERING_FILE) -> tuple[MarkerStyle, ...]:
    data = _numbering_data(path)
    out = []
    for i, s in enumerate(data["style"]):
        pattern = s["pattern"].replace("{NUM}", _NUM_RE_SRC)
        out.append(MarkerStyle(
            name=s["name"], regex=re.compile(pattern), numerals=s.get("numerals", "cn"), level=s["level"],
            path=s["path"], join=s.get("join", ""), rank=s.get("rank"), where=s.get("where", "sentence"),
            strong=s.get("strong", False), run_on=s.get("run_on", False), kind=s.get("kind", "numbered"),
            sequence=s.get("sequence", ""), inline=s.get("inline", ""), lost_markers=s.get("lost_markers", False),
            order=i,
        ))
    return tuple(out)


# --------------------------------------------------------------------------- nodes
@dataclass(eq=False)
class _Node:
    kind: str  # a style name, or root | preamble | heading | paragraph | fragment | table | table_row
    level: str
    number: str  # this node's step in the path
    value: int
    start: int  # where its own text starts
    cut: int = -1  # where the text before it ends (start, or the line start before Markdown marks)
    marker_end: int = -1
    join: str = ""
    rank: int | None = None
    seq: str = ""  # the numbering sequence it belongs to
    sub: int = 0  # 之N of an inserted article
    md_depth: int = 0
    single_para: bool = False  # an item or paragraph inside an article: one paragraph long
    paras: int = 0  # articles: paragraphs counted so far (款 numbers)
    end: int = -1
    fixed_end: bool = False
    heading: str = ""
    children: list["_Node"] = field(default_factory=list)
    parent: "_Node | None" = None
    fields: dict[str, str] = field(default_factory=dict)
    text_override: str | None = None
    search_extra: str = ""

    def __post_init__(self) -> None:
        if self.cut < 0:
            self.cut = self.start
        if self.marker_end < 0:
            self.marker_end = self.start


@dataclass
class ParseResult:
    clauses: list[Clause]
    warnings: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # "第十条 after 第八条"
    repeats: list[str] = field(default_factory=list)  # "第八条 twice"
    split: list[str] = field(default_factory=list)  # paths of clauses split for length
    # per clause: does it sit under a recognised numbered marker (not the preamble,
    # not an unnumbered heading)?
    numbered: list[bool] = field(default_factory=list)
    # characters of the document's header (title, dates, issuer lines before the body)
    header_chars: int = 0


@dataclass
class _Cand:
    pos: int
    end: int
    style: MarkerStyle
    value: int
    sub: int = 0


class ClauseParser:
    """``parse(clean_text, meta) -> list[Clause]`` in document order
    (``parse_result`` also gives the warnings and numbering gaps)."""

    def __init__(self, styles: tuple[MarkerStyle, ...] | None = None, max_clause_chars: int = MAX_CLAUSE_CHARS):
        self.styles = styles or load_styles()
        self.by_name = {s.name: s for s in self.styles}
        self.max_clause_chars = max_clause_chars

    def parse(self, text: str, meta: PlanMeta) -> list[Clause]:
        return self.parse_result(text, meta).clauses

    def parse_result(self, text: str, meta: PlanMeta) -> ParseResult:
        tables = sorted([*_find_tables(text), *_find_pipe_tables(text)], key=lambda t: t.start)
        masked = _mask(text, [(t.start, t.end) for t in tables])
        state = _TreeBuilder(self, text, masked, tables)
        nodes = state.run()
        result = ParseResult(clauses=[], gaps=state.gaps, repeats=state.repeats)
        nodes = self._split_long(text, nodes, result)
        _set_ends(nodes, len(text))
        result.clauses = self._to_clauses(nodes, text, meta)
        result.numbered = [_is_numbered(n) for n in nodes]
        if nodes and nodes[0].kind == "header":
            result.header_chars = nodes[0].end
        elif nodes and nodes[0].kind == "preamble":
            result.header_chars = header_length(text[:_own_end(nodes, 0)])
        return result

    # -- long clauses -------------------------------------------------------------
    def _split_long(self, text: str, nodes: list[_Node], result: ParseResult) -> list[_Node]:
        """Nodes whose own text is over the limit get their further paragraphs (and the
        pieces of an over-long paragraph) as child nodes."""
        _set_ends(nodes, len(text))
        out: list[_Node] = []
        limit = self.max_clause_chars
        for i, n in enumerate(nodes):
            out.append(n)
            own_end = _own_end(nodes, i)
            if own_end - n.start <= limit or len(text[n.start:own_end].strip()) <= limit:
                continue
            pieces = _split_points(text, n.start, own_end, limit)
            if not pieces:
                continue
            word = "款" if n.level == "article" else "段"
            frag_no = 1
            holder, own_pieces = n, []
            for pos, first, last in pieces:
                if first:
                    frag_no = 1
                    label = f"第{int_to_cn(first)}{word}"
                    if last > first:  # packed paragraphs: 第四款至第六款 (lookup reads the range)
                        label += f"至第{int_to_cn(last)}{word}"
                    piece = _Node("paragraph", "paragraph", label, first, pos, single_para=n.single_para)
                    piece.parent = n
                    own_pieces.append(piece)
                    holder = piece
                else:
                    frag_no += 1
                    piece = _Node("fragment", "fragment", f"（续{frag_no}）", frag_no, pos)
                    piece.parent = holder
                    (own_pieces if holder is n else holder.children).append(piece)
                out.append(piece)
            n.children[0:0] = own_pieces
            where = _path_of(n)
            result.split.append(where)
            result.warnings.append(
                f"{where} is {own_end - n.start} characters long: split into {len(pieces) + 1} pieces "
                f"of at most {limit} characters at paragraph and sentence ends")
        out.sort(key=lambda x: x.start)
        return out

    # -- clauses -------------------------------------------------------------------
    def _to_clauses(self, nodes: list[_Node], text: str, meta: PlanMeta) -> list[Clause]:
        out: list[Clause] = []
        own: dict[int, str] = {}
        for i, n in enumerate(nodes):
            own_end = n.children[0].cut if n.children else n.end
            if n.text_override is not None:
                body = n.text_override
            else:
                body = text[n.start:own_end].strip()
            own[id(n)] = body
            if n.single_para and n.parent is not None and not n.search_extra:
                # an item of a list inside an article is searched with the words that
                # introduce the list (“有下列情形之一的职务作品，作者享有署名权…：”)
                n.search_extra = _lead_in(own.get(id(n.parent), ""))
            if n.kind in ("preamble", "header", "preface"):
                out.append(self._clause(meta, n.number, n.level, n.number, meta.title if n.kind == "preamble" else n.number,
                                        [], [], body, (n.start, n.end), len(out), {}, True, ""))
                continue
            n.heading = n.heading or _heading(text, n, own_end)
            path = _path_of(n)
            has_body = len(_strip_marker_heading(body, n.heading)) >= 12
            retrievable = not n.children or has_body
            ancestors = _ancestors(n)
            out.append(self._clause(
                meta, path, n.level, n.number, n.heading, [a.heading for a in ancestors],
                [_path_of(a) for a in ancestors], body, (n.start, n.end), len(out), n.fields, retrievable,
                n.search_extra,
            ))
        return out

    def _clause(self, meta, path, level, number, heading, parents, parent_paths, body, span, ordinal, fields, leaf,
                search_extra) -> Clause:
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


# --------------------------------------------------------------------------- the nesting mechanism
class _TreeBuilder:
    """One pass over the text's candidate markers in document order, keeping the
    stack of open nodes (see the module docstring)."""

    def __init__(self, parser: ClauseParser, text: str, masked: str, tables: list["_Table"]):
        self.p = parser
        self.text = text
        self.masked = masked
        self.tables = tables
        self.root = _Node("root", "root", "", 0, 0)
        self.root.end = len(text)
        self.stack: list[_Node] = [self.root]
        self.nodes: list[_Node] = []
        self.last_global: dict[str, tuple[int, int]] = {}  # run-on memory: sequence -> (value, sub)
        self.seq_depth: dict[str, int] = {}  # depth at which a sequence last opened
        self.gaps: list[str] = []
        self.repeats: list[str] = []
        self.newlines = [m.start() for m in re.finditer("\n", masked)]
        self.line_starts = [0] + [i + 1 for i in self.newlines if i + 1 < len(masked)]
        self.ls_idx = 0
        self.md_lines = {m.end(): (m.start(), len(m.group(1))) for m in MD_HEADING_RE.finditer(masked)}
        self.md_order = sorted(self.md_lines)
        self.md_idx = 0
        self.md_done: set[int] = set()
        self.last_accepted: _Node | None = None

    # -- driving -------------------------------------------------------------------
    def run(self) -> list[_Node]:
        for ev in self._events():
            if isinstance(ev, _Table):
                self._before(ev.start)
                self._add_table(ev)
                continue
            self._before(ev.pos)
            if self._try(ev):
                self._consume_line_start(ev.pos)
        self._before(len(self.text) + 1)
        nodes = self._after_tables(sorted(self.nodes, key=lambda n: n.start))
        first_cut = nodes[0].cut if nodes else len(self.text)
        front = self.text[:first_cut]
        if not front.strip():
            return nodes
        if any(n.level == "article" for n in nodes):
            # a text numbered by articles: what precedes 第一条 is its 题注 (title, dates,
            # bodies) and, where there is one, its 序言 (the enacting words “为…制定本规定。”)
            head = header_length(front)
            parts = [("header", "题注", 0)] if front[:head].strip() else []
            if front[head:].strip():
                parts.append(("preface", "序言", head))
        else:
            parts = [("preamble", "前言", 0)]
        for i, (kind, label, start) in enumerate(parts):
            node = _Node(kind, "preamble" if kind == "preamble" else kind, label, 0, start, heading=label)
            node.parent = self.root
            self.root.children.insert(i, node)
            nodes.insert(i, node)
        return nodes

    def _after_tables(self, nodes: list[_Node]) -> list[_Node]:
        """A table and its rows end where the table does: the text after it, up to the
        next node (“本规定自…起施行。”), is a node of the table's parent, ``（续）``."""
        out: list[_Node] = []
        for i, n in enumerate(nodes):
            out.append(n)
            if n.kind != "table" or not n.fixed_end or n.parent is None:
                continue  # an inset 表N (a caption, no rows read) runs to the next marker
            end = max([n.end, *(r.end for r in n.children)])
            nxt = next((m.cut for m in nodes[i + 1:] if m.start >= end), len(self.text))
            gap = self.text[end:nxt]
            if not gap.strip():
                continue
            siblings = n.parent.children
            done = sum(1 for ch in siblings if ch.kind == "fragment")
            frag = _Node("fragment", "fragment", f"（续{done + 1 if done else ''}）", 0,
                         end + len(gap) - len(gap.lstrip()), heading="")
            frag.parent = n.parent
            siblings.insert(siblings.index(n) + 1, frag)
            out.append(frag)
        return sorted(out, key=lambda n: n.start)

    def _events(self) -> Iterator["_Cand | _Table"]:
        gens = [self._cands(s) for s in self.p.styles]
        gens.append(((t.start, -1, t) for t in self.tables))
        for _, _, ev in heapq.merge(*gens, key=lambda x: (x[0], x[1])):
            yield ev

    def _cands(self, style: MarkerStyle) -> Iterator[tuple[int, int, _Cand]]:
        for m in style.regex.finditer(self.masked):
            v = style.value(m)
            if v is None or (v == 0 and style.kind != "attachment"):
                continue
            sub = cn_to_int(m.group("sub")) or 0 if "sub" in m.re.groupindex and m.group("sub") else 0
            yield m.start(), style.order, _Cand(m.start(), m.end(), style, v, sub)

    def _before(self, pos: int) -> None:
        """Everything that happens before ``pos``: unnumbered Markdown headings, and
        paragraph breaks inside articles."""
        while True:
            next_md = self.md_order[self.md_idx] if self.md_idx < len(self.md_order) else None
            next_ls = self.line_starts[self.ls_idx] if self.ls_idx < len(self.line_starts) else None
            ls_text = self._text_start(next_ls) if next_ls is not None else None
            if next_md is not None and next_md < pos and (ls_text is None or next_md <= ls_text):
                self.md_idx += 1
                if next_md not in self.md_done:
                    self._add_md_heading(next_md)
                    self._consume_line_start(next_md)
                continue
            if ls_text is not None and ls_text < pos:
                self.ls_idx += 1
                self._paragraph_at(next_ls, ls_text)
                continue
            break

    def _text_start(self, line_start: int) -> int:
        m = _TEXT_START_RE.match(self.masked, line_start)
        return m.end() if m else line_start

    def _consume_line_start(self, pos: int) -> None:
        """A node opened at ``pos``: the line it starts is not a paragraph of its own."""
        while self.ls_idx < len(self.line_starts) and self.line_starts[self.ls_idx] <= pos:
            ls = self.line_starts[self.ls_idx]
            if self._text_start(ls) < pos and ls != self._line_start(pos):
                self._paragraph_at(ls, self._text_start(ls))
            self.ls_idx += 1

    def _line_start(self, pos: int) -> int:
        i = bisect.bisect_left(self.newlines, pos)
        return self.newlines[i - 1] + 1 if i else 0

    # -- paragraphs inside articles --------------------------------------------------
    def _article_index(self) -> int | None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].level == "article":
                return i
        return None

    def _paragraph_at(self, line_start: int, text_start: int) -> None:
        """A line that opens no node: inside an article it is a paragraph (款) — of
        the article's own text, or after items a node of its own."""
        if text_start >= len(self.masked) or self.masked[text_start] in "\n\x00":
            return
        ai = self._article_index()
        if ai is None:
            return
        article = self.stack[ai]
        top = self.stack[-1]
        if top is article:
            article.paras += 1
            return
        if not top.single_para:
            return
        del self.stack[ai + 1:]
        article.paras += 1
        para = _Node("paragraph", "paragraph", f"第{int_to_cn(article.paras)}款", article.paras, text_start,
                     cut=line_start, single_para=True)
        self._push(para, article)

    # -- markers -------------------------------------------------------------------
    def _context(self, pos: int) -> tuple[bool, bool]:
        """(at a line start — after Markdown marks or spaces —, after a sentence end)."""
        ls = self._line_start(pos)
        at_line = pos == ls or (pos - ls <= 8 and _LINE_PREFIX_RE.fullmatch(self.masked, ls, pos) is not None)
        prev = self.masked[pos - 1] if pos else "\n"
        # spaces between a sentence end and the marker are the line break a source lost
        # (“…的;  (二)…”, “…的； （三）…”)
        before = self.masked[max(0, pos - 4):pos].rstrip(" \t\xa0")
        after_sentence = (pos == 0 or prev in SENTENCE_END or prev == "\u3000" or (before != self.masked[max(0, pos - 4):pos]
                          and (not before or before[-1] in SENTENCE_END)))
        return at_line, after_sentence

    def _try(self, c: _Cand) -> bool:
        style = c.style
        md = self.md_lines.get(c.pos)
        if md is not None and c.pos in self.md_done:
            return False
        if style.kind == "attachment":
            return self._open_attachment(c)
        if style.kind == "inset":
            return self._open_inset(c)
        at_line, after_sentence = self._context(c.pos)
        if md is not None:
            return self._open_md_numbered(c, md)
        if style.rank is not None:
            return self._open_ranked(c, at_line, after_sentence)
        return self._open_relative(c, at_line, after_sentence)

    def _seq(self, style: MarkerStyle) -> str:
        return style.sequence or style.name

    def _top_index(self) -> int:
        """The innermost open node that can hold a new one (insets and tables cannot)."""
        i = len(self.stack) - 1
        while i > 0 and self.stack[i].level in INSET_LEVELS:
            i -= 1
        return i

    def _open_index(self, seq: str, upto: int | None = None) -> int | None:
        top = len(self.stack) - 1 if upto is None else upto
        for i in range(top, 0, -1):
            if self.stack[i].seq == seq:
                return i
        return None

    def _expected_first(self, style: MarkerStyle, seq: str) -> set[tuple[int, int]]:
        """Numbers a style not open may start with: 1, or the next of a run-on list."""
        out = {(1, 0)}
        if style.run_on and seq in self.last_global:
            out.add((self.last_global[seq][0] + 1, 0))
        return out

    def _open_relative(self, c: _Cand, at_line: bool, after_sentence: bool, md_depth: int = 0) -> bool:
        """An unranked marker: the next number of its open list, or a new level (see the
        module docstring). A Markdown heading's marker is taken whatever its number."""
        style = c.style
        if style.where == "line" and not (at_line or md_depth):
            return False
        seq = self._seq(style)
        # an Arabic N、 continues a Chinese-numeral 一、 list when it is its next number
        if style.sequence and style.sequence != style.name:
            oi = self._open_index(seq)
            if oi is not None and c.value == self.stack[oi].value + 1:
                style = self.p.by_name[style.sequence]
            else:
                seq = style.name
        top_i = self._top_index()
        oi = self._open_index(seq, top_i)
        if oi is not None and c.value == 1 and any(n.rank is not None for n in self.stack[oi + 1:top_i + 1]):
            # a list above an article (三、（一）担保合同… then 第四十五条): the article's own
            # items start a list of their own
            oi = None
        parent_i = oi - 1 if oi is not None else top_i
        expected = {(self.stack[oi].value + 1, 0)} if oi is not None else self._expected_first(style, seq)
        if (c.value, 0) not in expected:
            if not md_depth:
                if style.lost_markers and at_line and self._restore_lost_items(c, style, seq):
                    return self._open_relative(c, at_line, after_sentence)
                return False
            prev = self._prev_sibling_value(seq, parent_i)
            if prev is not None and c.value == 1 and self._fold_contents(seq, parent_i, c.pos):
                prev = None
            if prev is not None:
                self._note_irregular(style, prev, (c.value, 0), True)
        elif not (at_line or after_sentence or md_depth) and not self._inline_ok(c, style, oi is None, parent_i):
            return False
        self._place(self._make(c, style, seq, md_depth), parent_i)
        return True

    def _restore_lost_items(self, c: _Cand, style: MarkerStyle, seq: str) -> bool:
        """An article's list whose first items (or some in its middle) lost their
        markers: （二） at a line start right after one unmarked item line that
        follows the lead-in “…下列职责：”, or （五） after （二） and two unmarked
        lines. When the unmarked lines, each ending a sentence (；。), are exactly as
        many as the numbers missing, they are those items: nodes of the list, so
        that the marked ones after them are taken in their article."""
        ai = self._article_index()
        if ai is None:
            return False
        article = self.stack[ai]
        last = next((ch for ch in reversed(article.children) if ch.kind != "paragraph"), None)
        if last is not None and last.seq != seq:
            return False
        if last is None:
            start, first = _after_lead_in(self.masked, article.marker_end, self._line_start(c.pos)), 1
            if start < 0:
                return False
        else:  # after the last item's own lines (one broken inside runs to a sentence end)
            start, first = _after_unit(self.masked, last.marker_end, c.pos), last.value + 1
            if start < 0:
                return False
        units = _unmarked_items(self.masked, start, self._line_start(c.pos))
        if units is None or len(units) != c.value - first or not units:
            return False
        # the lines were counted as the article's paragraphs (款), after items as nodes
        end = self._line_start(c.pos)
        article.paras -= sum(1 for line in self.masked[start:end].split("\n") if line.strip())
        for n in [ch for ch in article.children if ch.kind == "paragraph" and ch.start >= start]:
            article.children.remove(n)
            self.nodes.remove(n)
        for value, (line_start, text_start) in enumerate(units, start=first):
            node = _Node(style.name, style.level, style.step(value), value, text_start, cut=line_start,
                         marker_end=text_start, join=style.join, seq=seq)
            self._place(node, ai)
        return True

    def _inline_ok(self, c: _Cand, style: MarkerStyle, opens_level: bool, parent_i: int) -> bool:
        """Where line breaks were lost, a marker may stand mid-line (see numbering.toml)."""
        last = self.last_accepted
        if style.inline == "after_heading":
            if last is not None and last.kind == "table":
                return True  # a flattened table's last cell runs straight into the next marker
            if last is None or not opens_level or last is not self.stack[parent_i] or last.level != "chapter":
                return False
            between = self.masked[last.marker_end:c.pos]
            return 0 < len(between) <= 60 and not re.search(r"[。；;]", between)
        if style.inline == "next":
            prev = self.masked[c.pos - 1] if c.pos else ""
            follows = self.masked[c.end:c.end + 2]
            return (not opens_level and c.value >= 2 and prev not in "、，,"
                    and re.fullmatch(r"[\u4e00-\u9fff]{2}", follows) is not None)
        return False

    def _open_ranked(self, c: _Cand, at_line: bool, after_sentence: bool, md_depth: int = 0) -> bool:
        style = c.style
        seq = self._seq(style)
        parent_i = self._top_index()
        for i in range(1, len(self.stack)):
            r = self.stack[i].rank
            if r is not None and r >= style.rank:
                parent_i = i - 1
                break
        if self._starts_own_text(c, parent_i):
            parent_i = 0
        prev = self._prev_sibling_value(seq, parent_i)
        expected = _next_of(prev)
        if prev is None and style.run_on and seq in self.last_global:
            # the first of its kind in a new container: numbering may run on from the
            # last container (articles through all chapters) or start again (the
            # chapters of each 编)
            prev = self.last_global[seq]
            expected |= _next_of(prev)
        got = (c.value, c.sub)
        if got == (1, 0) and prev is not None and (at_line or md_depth) and self._fold_contents(seq, parent_i, c.pos):
            prev, expected = None, {(1, 0)}
        if got in expected:
            ok = at_line or after_sentence or md_depth > 0
        elif (at_line and style.strong) or md_depth:
            ok = self._note_irregular(style, prev, got, md_depth > 0)
        else:
            ok = False
        if not ok:
            return False
        node = self._make(c, style, seq, md_depth)
        self._place(node, parent_i)
        return True

    def _fold_contents(self, seq: str, parent_i: int, pos: int) -> bool:
        """Headings (编/章/节, or Markdown headings ## 一、管辖) each alone on its line
        with no text under them, then their numbering starting over: the first run
        was the text's table of contents. It becomes one node, 目录, so that no
        chapter has two paths."""
        parent = self.stack[parent_i]
        first = next((ch for ch in parent.children if ch.seq == seq), None)
        if first is None:
            return False
        k = next(i for i in range(len(self.nodes) - 1, -1, -1) if self.nodes[i] is first)
        entries = self.nodes[k:]
        if any(n.rank >= ARTICLE_RANK if n.rank is not None else not n.md_depth for n in entries):
            return False  # only containers (编/章/节) or Markdown headings (## 二、回避)
        ends = [n.cut for n in entries[1:]] + [self._line_start(pos)]
        if any("\n" in self.masked[n.marker_end:end].strip() for n, end in zip(entries, ends)):
            return False
        for n in entries:
            n.parent.children.remove(n)
        del self.nodes[k:]
        del self.stack[parent_i + 1:]
        toc = _Node("heading", "heading", CONTENTS_LABEL, 0, first.start, cut=first.cut, heading=CONTENTS_LABEL)
        # its text: the headings as listed, without their Markdown marks
        toc.text_override = "\n".join(_TEXT_START_RE.sub("", line, count=1).strip()
                                      for line in self.text[first.start:self._line_start(pos)].split("\n")
                                      if line.strip())
        self._push(toc, parent)
        for n in entries:
            self.last_global.pop(n.seq, None)
        return True

    def _starts_own_text(self, c: _Cand, parent_i: int) -> bool:
        """A 第一条 (or 第一章 …) at a line start inside the second or a later item of a
        list none of whose open nodes is ranked: the articles are a text of their own,
        not part of that item. An amending decision's 一、…十、 followed by the text it
        re-publishes; a notice's 一、…三、 followed by the rules it issues. (Articles
        under the list's first item, ``一、总则`` then 第一条, stay under it.)
        The re-published text's own title and preamble become its 序言 (序言（二） when
        the document has text before its first marker, its own 序言)."""
        if (c.value, c.sub) != (1, 0) or parent_i == 0 or self._context(c.pos)[0] is False:
            return False
        top = self.stack[1]
        if any(n.rank is not None for n in self.stack[1:parent_i + 1]) or top.value < 2:
            return False
        self._open_preface(top, self._line_start(c.pos))
        return True

    def _open_preface(self, item: _Node, end: int) -> None:
        """The title lines (short, no sentence end) between a list's last item and the
        text it introduces, and what follows them up to ``end``: a 序言 node at the top.
        Only lines after every node opened so far: a line inside one is that node's text."""
        last = self.last_accepted
        after = max(item.marker_end, last.marker_end if last is not None and last.start < end else 0)
        pos = self.masked.find("\n", after)
        while 0 <= pos < end:
            line_end = self.masked.find("\n", pos + 1)
            line = self.masked[pos + 1:line_end if line_end >= 0 else len(self.masked)].strip()
            if line and not HEADING_END_RE.search(line) and len(line) <= 60:
                # the document's own 序言 (before its first marker) is added later: this one is the second
                front = self.text[:self.root.children[0].cut] if self.root.children else ""
                label = "序言（二）" if front[header_length(front):].strip() else "序言"
                node = _Node("preface", "preface", label, 0, pos + 1, heading=label)
                del self.stack[1:]
                self._push(node, self.root)
                return
            pos = line_end

    def _note_irregular(self, style: MarkerStyle, prev: tuple[int, int] | None,
                        got: tuple[int, int], from_heading: bool) -> bool:
        """A strong marker whose number is not the next one: the first of its kind (any
        number), a gap, or a repeat are taken and reported; a lower number is a reference."""
        label = style.step(got[0], got[1])
        if prev is None:
            return True
        if got > prev:
            if got[1] == 0 and got[0] > prev[0] + 1:
                missing = got[0] - prev[0] - 1
                self.gaps.append(f"{label} after {style.step(prev[0], prev[1])}"
                                 + (f" ({missing} missing)" if missing > 1 else ""))
            return True
        if got == prev or (got[0] == prev[0] and got[1] == 0):
            self.repeats.append(f"{label} again")
            return True
        if got == (1, 0):
            self.repeats.append(f"{label} again: the numbering starts over")
            return True
        return from_heading

    def _prev_sibling_value(self, seq: str, parent_i: int) -> tuple[int, int] | None:
        parent = self.stack[parent_i]
        for ch in reversed(parent.children):
            if ch.seq == seq:
                return (ch.value, ch.sub)
        return None

    def _open_md_numbered(self, c: _Cand, md: tuple[int, int]) -> bool:
        line_start, depth = md
        keep = self._md_keep(depth)
        if c.style.rank is not None:
            # the ranks' order holds whatever the marks say: ## 第一节 under ### 第三章
            # stays in its chapter
            keep = max([keep, *(i for i in range(keep + 1, len(self.stack))
                                if self.stack[i].rank is not None and self.stack[i].rank < c.style.rank)])
        saved = self.stack
        self.stack = self.stack[:keep + 1]
        ok = (self._open_ranked(c, True, True, md_depth=depth) if c.style.rank is not None
              else self._open_relative(c, True, True, md_depth=depth))
        if not ok:
            self.stack = saved
            return False
        node = self.stack[-1]
        node.md_depth = depth
        node.cut = line_start
        self.md_done.add(c.pos)
        return True

    def _md_keep(self, depth: int) -> int:
        """Index of the deepest open node a heading of ``depth`` ``#`` stays inside (an
        attachment holds every heading after it: only the next attachment closes it)."""
        for i in range(len(self.stack) - 1, 0, -1):
            if 0 < self.stack[i].md_depth < depth or self.stack[i].level == "attachment":
                return i
        return 0

    def _add_md_heading(self, text_start: int) -> None:
        """An unnumbered Markdown heading (``## 基本案情``): a node of its own."""
        line_start, depth = self.md_lines[text_start]
        line_end = self.masked.find("\n", text_start)
        line_end = len(self.masked) if line_end < 0 else line_end
        heading = self.text[text_start:line_end].strip()
        if not heading:
            return
        keep = self._md_keep(depth)
        del self.stack[keep + 1:]
        node = _Node("heading", "heading", heading[:30], 0, text_start, cut=line_start, marker_end=line_end,
                     md_depth=depth, join=" ", heading=heading[:60])
        self._push(node, self.stack[-1])

    def _open_attachment(self, c: _Cand) -> bool:
        del self.stack[1:]
        self.last_global.clear()
        # its heading is its own line; 附件1, 附件2 … where the text numbers them
        node = _Node("attachment", "attachment", c.style.step(c.value) if c.value else "附件", c.value, c.pos)
        self._push(node, self.root)
        return True

    def _open_inset(self, c: _Cand) -> bool:
        seq = self._seq(c.style)
        last = self.last_global.get(seq, (0, 0))[0]
        if c.value != last + 1:
            return False
        while len(self.stack) > 1 and self.stack[-1].level in INSET_LEVELS:
            self.stack.pop()
        node = self._make(c, c.style, seq)
        self._push(node, self.stack[-1])
        self.last_global[seq] = (c.value, 0)
        return True

    def _add_table(self, t: "_Table") -> None:
        while len(self.stack) > 1 and self.stack[-1].level in INSET_LEVELS:
            self.stack.pop()
        tn = _Node("table", "table", t.number, 0, t.start, fixed_end=True, heading=t.caption, join="")
        tn.end = t.end
        self._push(tn, self.stack[-1])
        for row in t.rows:
            rn = _Node("table_row", "table_row", f"第{row.serial}项", row.serial, row.start, fixed_end=True,
                       heading=row.heading, fields=row.fields, join=" ")
            rn.end = row.end
            rn.text_override = row.text
            rn.search_extra = row.search_text
            rn.parent = tn
            tn.children.append(rn)
            self.nodes.append(rn)

    # -- building --------------------------------------------------------------------
    def _make(self, c: _Cand, style: MarkerStyle, seq: str, md_depth: int = 0) -> _Node:
        return _Node(style.name, style.level, style.step(c.value, c.sub), c.value, c.pos, marker_end=c.end,
                     join=style.join, rank=style.rank, seq=seq, sub=c.sub, md_depth=md_depth)

    def _place(self, node: _Node, parent_i: int) -> None:
        del self.stack[parent_i + 1:]
        parent = self.stack[-1]
        in_article = any(n.level == "article" for n in self.stack)
        node.single_para = in_article and node.rank is None and node.level not in ("box", "table")
        if node.level == "article":
            node.paras = 1
        self._push(node, parent)
        depth = len(self.stack) - 1
        # numbering two or more levels below a new node starts again under it
        for seq, d in list(self.seq_depth.items()):
            if d >= depth + 2 and seq != node.seq and self.p.by_name[seq].rank is None:
                self.last_global.pop(seq, None)
        self.seq_depth[node.seq] = depth
        self.last_global[node.seq] = (node.value, node.sub)

    def _push(self, node: _Node, parent: _Node) -> None:
        while self.stack and self.stack[-1] is not parent:
            self.stack.pop()
        node.parent = parent
        parent.children.append(node)
        self.stack.append(node)
        self.nodes.append(node)
        self.last_accepted = node


# a list's lead-in: a line ending in ： (a stray mark or two after it tolerated)
_LIST_LEAD_IN_RE = re.compile(r"[：:][^\u4e00-\u9fff]{0,3}$")


def _after_lead_in(text: str, start: int, end: int) -> int:
    """Where the line after the last lead-in line of ``text[start:end]`` starts (only
    the last ``MAX_CLAUSE_CHARS`` characters looked at), or -1 when there is none."""
    lo = max(start, end - MAX_CLAUSE_CHARS)
    line_end = end - 1 if end > lo and text[end - 1] == "\n" else end
    while line_end > lo:
        line_start = max(text.rfind("\n", lo, line_end) + 1, lo)
        if _LIST_LEAD_IN_RE.search(text[line_start:line_end].rstrip()):
            return line_end + 1
        line_end = line_start - 1
    return -1
_MARKED_LINE_RE = re.compile(r"[（(]?[一二三四五六七八九十\d]{1,3}[、.．)）]|第[一二三四五六七八九十百]+[条款]")


def _unmarked_items(text: str, start: int, end: int) -> list[tuple[int, int]] | None:
    """(line start, text start) of each item in ``text[start:end]`` when it is a run of
    unmarked items: lines grouped up to one that ends a sentence (；。; a line broken
    inside an item continues it), none starting with a marker, the last one ended."""
    units: list[tuple[int, int]] = []
    open_unit = False
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        line = text[pos:line_end]
        stripped = line.strip()
        if stripped:
            if _MARKED_LINE_RE.match(stripped):
                return None
            if not open_unit:
                units.append((pos, pos + len(line) - len(line.lstrip())))
            open_unit = not stripped.endswith(("；", ";", "。"))
        pos = line_end + 1
    return None if open_unit else units


def _after_unit(text: str, pos: int, limit: int) -> int:
    """Where the line after the one that ends the item starting at ``pos`` starts (the
    first line end after a sentence end ；。), or -1 when that is not before ``limit``."""
    while True:
        nl = text.find("\n", pos, limit)
        if nl < 0:
            return -1
        if text[pos:nl].rstrip().endswith(("；", ";", "。")):
            return nl + 1
        pos = nl + 1


def _next_of(prev: tuple[int, int] | None) -> set[tuple[int, int]]:
    if prev is None:
        return {(1, 0)}
    v, sub = prev
    return {(v + 1, 0), (v, sub + 1)}


# --------------------------------------------------------------------------- tree helpers
def _set_ends(nodes: list[_Node], length: int) -> None:
    """Each node's text runs to the next node's start (tables have fixed ends); a
    parent's span covers its children."""
    for i, n in enumerate(nodes):
        if not n.fixed_end:
            n.end = nodes[i + 1].cut if i + 1 < len(nodes) else length
    for n in reversed(nodes):
        if n.parent is not None and n.parent.kind != "root":
            n.parent.end = max(n.parent.end, n.end)


def _own_end(nodes: list[_Node], i: int) -> int:
    n = nodes[i]
    if n.children:
        return min(n.end, n.children[0].cut)
    return n.end


def _is_numbered(n: _Node) -> bool:
    """Is ``n`` under a recognised marker (or a part a legal text names: 序言, 附则)?"""
    named = named_parts()
    cur: _Node | None = n
    while cur is not None and cur.kind != "root":
        if cur.kind not in ("preamble", "header", "heading", "paragraph", "fragment") or \
                (cur.kind == "heading" and re.sub(r"\s", "", cur.heading) in named):
            return True
        cur = cur.parent
    return False


_HEADER_LINE_RE = re.compile(
    r"^(?:\d{4}年\d{1,2}月(?:\d{1,2}日)?|[（(].*[)）]$|.*〔\d{4}〕\d+号|[^。；;！？：:]{1,60}$)")


def header_length(preamble: str) -> int:
    """Characters of a document's header: its first line (the title) and the lines
    after it that are dates (“2020年11月11日 …通过”), document numbers, bracketed
    notes or short lines without a sentence end (issuer, subtitle), up to the first
    line of body text."""
    total = 0
    for i, line in enumerate(preamble.split("\n")):
        s = line.strip()
        if i and s and not _HEADER_LINE_RE.match(s):
            break
        total += len(line) + 1
    return min(total, len(preamble))


def _ancestors(n: _Node) -> list[_Node]:
    out = []
    cur = n.parent
    while cur is not None and cur.kind != "root":
        out.append(cur)
        cur = cur.parent
    out.reverse()
    return out


def _path_of(n: _Node) -> str:
    chain = [*_ancestors(n), n]
    path = ""
    for i, node in enumerate(chain):
        step = node.number
        if node.kind == "table" and step == "表" and i + 1 < len(chain) and i > 0 and chain[i - 1].kind == "attachment":
            continue  # an attachment that is one list: its rows are 附件 第N项
        if not path:
            path = step
        elif node.kind == "table":
            path += "" if path.endswith(("、", "）", ".")) and not path.endswith("附件") else " "
            path += step
        elif chain[i - 1].kind == "heading" or chain[i - 1].kind == "attachment" and chain[i - 1].value:
            path += " " + step  # 附件2 一、 (附件一、 where the attachment has no number)
        else:
            path += node.join + step
    return path


def _split_points(text: str, start: int, end: int, limit: int) -> list[tuple[int, int, int]]:
    """Where to cut ``text[start:end]`` so no piece is over ``limit``: consecutive
    paragraphs packed into pieces of at most ``limit`` characters, each such piece's
    start given with the numbers of its first and last paragraph (1 is the first of
    the text); a paragraph still too long alone is cut inside at sentence ends, else
    every ``limit`` characters (those cuts given with paragraph numbers 0, 0)."""
    starts = sorted({start} | {start + m.end() for m in re.finditer(r"\n+", text[start:end]) if start + m.end() < end})
    bounds = list(zip(starts, starts[1:] + [end]))
    out: list[tuple[int, int, int]] = []
    k = 0
    while k < len(bounds):
        last = k  # the paragraphs k..last fit in one piece
        while last + 1 < len(bounds) and bounds[last + 1][1] - bounds[k][0] <= limit:
            last += 1
        if k:
            out.append((bounds[k][0], k + 1, last + 1))
        ps, pe = bounds[k][0], bounds[last][1]
        if pe - ps > limit:
            out += [(cut, 0, 0) for cut in _sentence_cuts(text, ps, pe, limit)]
        k = last + 1
    return [p for p in out if start < p[0] < end]


def _sentence_cuts(text: str, ps: int, pe: int, limit: int) -> list[int]:
    """Cuts inside one paragraph ``text[ps:pe]`` longer than ``limit``: at sentence ends
    so that no piece is over ``limit``, else every ``limit`` characters."""
    out: list[int] = []
    piece_start = last_cut = ps
    for m in re.finditer(r"[。；！？;!?]+[”’」』）)]*", text[ps:pe]):
        cut = ps + m.end()
        if cut - piece_start > limit:
            if last_cut > piece_start:
                out.append(last_cut)
                piece_start = last_cut
            while cut - piece_start > limit:
                piece_start += limit
                out.append(piece_start)
        last_cut = cut
    while pe - piece_start > limit:
        if last_cut > piece_start and pe - last_cut <= limit and last_cut < pe:
            out.append(last_cut)
            piece_start = last_cut
            continue
        piece_start += limit
        out.append(piece_start)
    return out


# --------------------------------------------------------------------------- headings
def _heading(text: str, n: _Node, own_end: int) -> str:
    if n.kind in ("paragraph", "fragment"):
        return ""
    if n.level == "article" or n.single_para:
        return _bracket_heading(text, n)
    start = n.marker_end
    while start < own_end and text[start] in " :：.．、\u3000":
        start += 1
    nl = text.find("\n", start, own_end)
    has_nl = nl >= 0
    line = text[start:nl if has_nl else min(own_end, start + MAX_CLAUSE_CHARS)]
    if n.rank is not None:
        return line.strip()[:60]  # 第一章 总则: the rest of the line
    if n.level in ("chapter", "attachment"):
        return line.strip()[:60] if has_nl or len(line) <= 60 else _first_phrase(line)
    if has_nl and len(line) <= 40 and not line.endswith("。"):
        return line.strip()  # heading on its own line
    return _first_phrase(line, table=n.level == "table")


_BRACKET_HEADING_RE = re.compile(r"[ \t\u3000]*[【\[]([^】\]\n]{1,30})[】\]]")


def _bracket_heading(text: str, n: _Node) -> str:
    """An article's own heading, where the text gives one: 第一条【立法目的】."""
    m = _BRACKET_HEADING_RE.match(text, n.marker_end)
    return m.group(1).strip() if m else ""


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


_LEAD_IN_RE = re.compile(r"([^。；;！？\n]*[：:])\s*$")


def _lead_in(parent_text: str) -> str:
    """The sentence a list's parent ends with when it introduces the list (ends in ：)."""
    m = _LEAD_IN_RE.search(parent_text[-400:])
    return m.group(1).strip() if m else ""


def _strip_marker_heading(body: str, heading: str) -> str:
    b = body
    i = b.find(heading) if heading else -1
    if i >= 0:
        b = b[i + len(heading):]
    return b.strip(" 。:：\n")


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the given spans blanked (line breaks kept), so no marker is
    found inside a table already parsed."""
    if not spans:
        return text
    parts = []
    pos = 0
    for s, e in spans:
        parts.append(text[pos:s])
        parts.append(re.sub(r"[^\n]", "\x00", text[s:e]))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


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


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    """``text``'s lines, each with the offset where it starts."""
    lines: list[tuple[int, str]] = []
    pos = 0
    for ln in text.split("\n"):
        lines.append((pos, ln))
        pos += len(ln) + 1
    return lines


def _find_tables(text: str):
    """Tables flattened to one cell per line: a caption line, a header row starting
    ``序号``, then rows each starting with the next serial number."""
    if "序号" not in text:
        return
    lines = _lines_with_offsets(text)
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
            yield _Table(start=start, end=rows[-1].end, caption=caption, number=number, header=header, rows=rows)
            i = k
        else:
            i += 1


# --- Markdown pipe tables ----------------------------------------------------------
PIPE_LINE_RE = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
PIPE_RULE_CELL_RE = re.compile(r"^:?-+:?$")


# A cell followed by ``||`` (no space between the bars) extends over the next column,
# as in MultiMarkdown: a repair leaves glued figures it cannot split in one cell over
# the columns they fill. Its field is named by those columns, joined with this.
SPANNED_COLUMNS_JOIN = "／"


def _pipe_spans(line: str) -> list[tuple[str, int]]:
    """(text, number of columns) of each cell of a pipe-table line."""
    out: list[tuple[str, int]] = []
    for part in line.strip()[1:-1].split("|"):
        if part == "" and out:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((part.strip(), 1))
    return out


def _pipe_cells(line: str) -> list[str]:
    return [c for c, _ in _pipe_spans(line)]


def _pipe_fields(header: list[str], line: str) -> dict[str, str]:
    """A row's cells by column name (a spanning cell under its columns' names joined)."""
    fields, col = {}, 0
    for val, span in _pipe_spans(line):
        name = SPANNED_COLUMNS_JOIN.join(h for h in header[col:col + span] if h)
        col += span
        if name:
            fields[name] = val
    return fields


def _find_pipe_tables(text: str):
    """Markdown pipe tables: a header row, a rule row (``|---|:---:|``), then rows, one
    per line, up to the first line that is not one. Each row is a clause whose text is
    the row as written and whose fields are the header names; its number is its place
    in the table (or its ``序号`` cell)."""
    if "|" not in text:
        return
    lines = _lines_with_offsets(text)
    i = 0
    while i + 2 < len(lines):
        head, rule = lines[i][1], lines[i + 1][1]
        if not (PIPE_LINE_RE.match(head) and PIPE_LINE_RE.match(rule)
                and all(PIPE_RULE_CELL_RE.match(c) for c in _pipe_cells(rule))):
            i += 1
            continue
        header = _pipe_cells(head)
        rows: list[_Row] = []
        k = i + 2
        while k < len(lines) and PIPE_LINE_RE.match(lines[k][1]):
            start, line = lines[k]
            cells = _pipe_cells(line)
            serial = len(rows) + 1
            if header[0] == "序号" and cells and cells[0].isdigit():
                serial = int(cells[0])
            body = line.strip()
            lead = len(line) - len(line.lstrip())
            fields = _pipe_fields(header, line)
            heading = next((c for c in cells if c and c != str(serial)), "")[:40]
            rows.append(_Row(serial=serial, start=start + lead, end=start + lead + len(body), cells=cells,
                             fields=fields, heading=heading, text=body, search_text=" ".join(h for h in header if h)))
            k += 1
        if rows:
            cap_line = lines[i - 1][1].strip() if i > 0 else ""
            m = re.match(r"^表\s?(\d+)", cap_line)
            has_caption = bool(cap_line) and len(cap_line) <= 60 and not cap_line.endswith(("。", "：", ":"))
            yield _Table(start=lines[i - 1][0] if has_caption else lines[i][0], end=rows[-1].end,
                         caption=cap_line if has_caption else "", number=f"表{m.group(1)}" if m else "表",
                         header=header, rows=rows)
        i = max(k, i + 1)
