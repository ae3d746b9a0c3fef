"""Where the cells of a table whose separators were lost begin and end (display only).

Some tables reached their document as one run of characters (嘉兴's 表2:
``…地理标志有效量(件)1726预期性…``, 17 → 26). ``corpus/tables.toml`` gives such a table as
Markdown pipe rows whose cells, joined, are exactly a run of the document's cleaned text.
``TableLayout.locate(text)`` finds that run in a clause's text and returns each cell's
span in it, so the UI can show the same characters with column boundaries
(``ui_tables.render_clause_text``). Nothing here changes what is indexed, searched,
answered or quoted: a layout is read only where text is shown, and a layout whose cells
do not match the text character for character is not used.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .corpus import TABLES_FILE
from .ui_tables import pipe_cells


@dataclass(frozen=True)
class LayoutRow:
    cells: tuple[tuple[str, int], ...]  # (cell text, number of columns it fills)
    header: bool = False  # the header row, or the header printed again further down

    @property
    def width(self) -> int:
        return sum(cols for _, cols in self.cells)


@dataclass(frozen=True)
class PlacedCell:
    start: int  # span of the cell's characters in the clause text
    end: int
    columns: int


@dataclass(frozen=True)
class PlacedRow:
    cells: tuple[PlacedCell, ...]
    header: bool


@dataclass(frozen=True)
class PlacedTable:
    start: int  # span of the whole table (its header's first cell to its last row's last cell)
    end: int
    rows: tuple[PlacedRow, ...]  # rows[0] is the header


@dataclass(frozen=True)
class TableLayout:
    doc: str
    name: str
    rows: tuple[LayoutRow, ...]  # rows[0] is the header

    @property
    def chars(self) -> str:
        """The table's characters as received: every cell, in order, with nothing between."""
        return "".join(text for row in self.rows for text, _ in row.cells)

    def locate(self, text: str) -> PlacedTable | None:
        """Each cell's span in ``text``, or None when the table's characters are not in it."""
        start = text.find(self.chars) if text else -1
        if start < 0:
            return None
        pos, rows = start, []
        for row in self.rows:
            cells = []
            for cell, cols in row.cells:
                cells.append(PlacedCell(pos, pos + len(cell), cols))
                pos += len(cell)
            rows.append(PlacedRow(tuple(cells), row.header))
        return PlacedTable(start, pos, tuple(rows))


def _row(line: str, where: str, header: bool = False) -> LayoutRow:
    cells = pipe_cells(line)
    if cells is None:
        raise ValueError(f"{TABLES_FILE}: {where}: not a pipe row: {line!r}")
    return LayoutRow(tuple(cells), header)


def parse_layouts(data: dict) -> list[TableLayout]:
    """The tables of a parsed ``tables.toml``; a row whose columns do not add up to the
    header's is an error in the data (raised, with where it is)."""
    out = []
    for i, t in enumerate(data.get("table", [])):
        where = f"table {i + 1} ({t.get('doc', '?')} {t.get('name', '')})".strip()
        head = _row(t["header"], where, header=True)
        rows = [head]
        for j, r in enumerate(t.get("row", [])):
            row = _row(r["cells"], f"{where}, row {j + 1}", bool(r.get("header")))
            if row.width != head.width:
                raise ValueError(f"{TABLES_FILE}: {where}, row {j + 1} fills {row.width} columns, "
                                 f"the header {head.width}")
            rows.append(row)
        out.append(TableLayout(t["doc"], t.get("name", ""), tuple(rows)))
    return out


def load_table_layouts(corpus_dir: str | Path) -> dict[str, list[TableLayout]]:
    """``corpus_dir/tables.toml``'s tables by document id (none when there is no such file)."""
    path = Path(corpus_dir) / TABLES_FILE
    if not path.is_file():
        return {}
    out: dict[str, list[TableLayout]] = {}
    for layout in parse_layouts(tomllib.loads(path.read_text(encoding="utf-8"))):
        out.setdefault(layout.doc, []).append(layout)
    return out
