"""Plain data passed between the stages.

Every stage takes the previous stage's plain data (these dataclasses, which
round-trip through JSON) and knows nothing of the stages after it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PlanMeta:
    """One document's metadata, from ``corpus/plans.toml`` or inferred from its text
    (``corpus.infer_meta``). The name is historical: any policy or legal document
    has one (``DocMeta`` is the same class)."""

    id: str
    file: str  # file path inside corpus/ (relative, as found)
    title: str = ""
    place: str = ""  # the place as the document names it: "绍兴市", "南通市海门区", "广东省"; "全国" for national
    province: str = ""
    issuer: str = ""
    date: str = ""  # ISO date of the version: last amendment, else promulgation/adoption/issue
    doc_number: str = ""
    script: str = "simplified"  # "simplified" | "traditional"
    aliases: list[str] = field(default_factory=list)  # names users type: 绍兴, 柯桥, 诸暨 …
    inferred: list[str] = field(default_factory=list)  # which fields were inferred from text
    # plan | scheme | opinion | measures | regulation | provisions | rules | interpretation |
    # decision | reply | law | notice | other ("" when unknown)
    doc_type: str = ""
    place_level: str = ""  # national | province | city | district | ""
    place_code: str = ""  # the division's code in the gazetteer (lexicons/gazetteer.tsv)
    # {"adopted": iso, "approved": iso, "promulgated": iso, "effective": iso, "amended": [iso, ...]}
    dates: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # fields that could not be inferred
    listed: bool = False  # has an entry in corpus/plans.toml

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DocMeta = PlanMeta


@dataclass
class LoadedText:
    """What a loader returns: the text and where it came from in the file."""

    path: str
    text: str
    fmt: str  # "txt" | "md" | "pdf" | "html" | "docx"
    encoding: str = ""
    # (start offset in text, page number starting at 1) for formats with pages
    pages: list[tuple[int, int]] = field(default_factory=list)
    # the title as the file's own markup marks it (a Markdown "# " line), else ""
    title: str = ""


@dataclass
class Clause:
    """One node of a plan's clause tree.

    ``path`` is the numbering as the document writes it, joined from the root,
    e.g. ``"三、（三）6."``, ``"五、（三）专栏6"``, ``"附件 第13项"``.
    """

    doc_id: str
    title: str  # full plan title, without 《》
    place: str
    path: str
    level: str  # chapter | section | item | subitem | box | table | table_row | attachment_row | preamble
    number: str  # this node's own marker: "三、", "（三）", "6.", "专栏6", "表2", "13"
    heading: str  # this node's own heading ("" when it has none)
    parents: list[str]  # parents' headings, root first
    parent_paths: list[str]
    text: str  # the clause's own text, original script, cleaned (heading included)
    text_simplified: str  # simplified-script copy for search
    span: tuple[int, int]  # character span in the cleaned document
    ordinal: int  # position in document order
    fields: dict[str, str] = field(default_factory=dict)  # table/attachment columns
    is_leaf: bool = True

    @property
    def clause_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span)
        d["clause_id"] = self.clause_id
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Clause":
        d = dict(d)
        d.pop("clause_id", None)
        d["span"] = tuple(d["span"])
        return cls(**d)


@dataclass
class Chunk:
    """A retrievable unit: a leaf clause or a piece of a long one."""

    chunk_id: str  # "{clause_id}/{piece}"
    clause_id: str
    doc_id: str
    path: str
    text: str  # the piece of clause text (original script)
    text_simplified: str
    context: str  # "《title》 path heading > …" prepended for embedding
    piece: int = 0
    n_pieces: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Hit:
    """One retrieved clause with its score and each retriever's contribution."""

    clause_id: str
    doc_id: str
    path: str
    text: str
    score: float
    contributions: dict[str, float] = field(default_factory=dict)  # e.g. {"bm25": .., "dense": .., "lookup": ..}
    chunk_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
