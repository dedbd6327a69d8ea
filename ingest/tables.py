"""Markdown tables: rows, cells, key/value pairs and `<br>`-separated pieces."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.clean import normalize_space
from ingest.owners import PHONE, is_contact_key, looks_like_name, owner_from_table_key

_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CELL_SPLIT = re.compile(r"(?<!\\)\|")  # loaders escape a pipe inside a cell as \|


@dataclass
class TableRow:
    """One row: its non-empty cells and how they pair up as (key, value)."""

    line: int
    cells: list[str]
    pairs: list[tuple[str, str]] = field(default_factory=list)
    header: list[str] | None = None  # the table's header row, when it has one

    @staticmethod
    def pieces(value: str) -> list[str]:
        """A cell's `<br>`-separated parts, whitespace-normalised, empties dropped."""
        return [p for p in (normalize_space(part) for part in _BR.split(value)) if p]


def is_table_line(text: str) -> bool:
    """True for a markdown table row or separator."""
    return len(text) > 2 and text.startswith("|") and text.endswith("|")


def _cells(text: str) -> list[str]:
    """The row's cells: split on unescaped pipes; empty (merged) first and last cells keep their place."""
    inner = text.strip().removeprefix("|").removesuffix("|")
    return [normalize_space(cell.replace("\\|", "|")) for cell in _CELL_SPLIT.split(inner)]


def parse_table(lines: list[tuple[int, str]]) -> list[TableRow]:
    """Rows of a table block; with a header row, each cell pairs with its header, else cells pair up."""
    rows = [(n, _cells(text)) for n, text in lines if not _SEPARATOR.match(text)]
    header: list[str] | None = None
    separated = len(lines) > 1 and bool(_SEPARATOR.match(lines[1][1]))
    if rows and any(rows[0][1]) and (_is_header(rows[0][1]) if separated else _names_columns(rows[0][1])
                                     or _heads_a_column_of_names([cells for _, cells in rows])):
        header = rows.pop(0)[1]
    result = []
    for number, cells in rows:
        if not any(cells):
            continue
        pairs = _pairs(cells, header)
        result.append(TableRow(line=number, cells=[c for c in cells if c], pairs=pairs, header=header))
    return result


def _is_header(cells: list[str]) -> bool:
    """A first row whose cells are short labels rather than content."""
    return all(len(_BR.sub("", c)) <= 12 for c in cells if c)


def _names_columns(cells: list[str]) -> bool:
    """A first row without a separator is a header when its would-be values are keys too ("部门|值班电话|职责")."""
    filled = [c for c in cells if c]
    return _is_header(filled) and any(owner_from_table_key(c) or is_contact_key(c) for c in filled[1::2])


def _heads_a_column_of_names(rows: list[list[str]]) -> bool:
    """A first row of labels over a column of units: "处室|主要职能|联系电话", then "教务处|负责…|0546-…".

    A key/value table ("机构名称|总务处|办公电话|0535-…") has a phone in its first row, and keys
    ("机构职能") where the units would be.
    """
    first, below = rows[0], rows[1:]
    names = [i for i, cell in enumerate(first) if cell and owner_from_table_key(cell)]
    if not below or not names or not _is_header(first) or any(PHONE.search(cell) for cell in first):
        return False
    column = [cells[names[0]] if names[0] < len(cells) else "" for cells in below]
    return all(looks_like_name(value) and not owner_from_table_key(value) and not is_contact_key(value)
               for value in column)


def _pairs(cells: list[str], header: list[str] | None) -> list[tuple[str, str]]:
    """(key, value) pairs: header/cell when there is a header, else alternating key, value cells."""
    if header is not None:
        return [(header[i] if i < len(header) else "", cell) for i, cell in enumerate(cells) if cell]
    filled = [c for c in cells if c]
    keyed = any(owner_from_table_key(c) or is_contact_key(c) for c in filled[::2])
    if keyed or len(filled) == 2:
        return [(filled[i], filled[i + 1] if i + 1 < len(filled) else "") for i in range(0, len(filled), 2)]
    return [("", cell) for cell in filled]
