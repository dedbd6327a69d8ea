"""Word .docx: paragraphs and tables in document order, headings and rows as markdown, list numbers
rendered as Word shows them."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from docx import Document as open_docx
from docx.exceptions import PythonDocxError
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.document import DocumentPart
from docx.parts.numbering import NumberingPart
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.types import ProvidesStoryPart

from ingest.errors import LoadError
from ingest.loaders.lines import escape_cell, markdown_row, trim_blank
from ingest.numbering import (
    CIRCLED,
    EARTHLY_BRANCHES,
    HEAVENLY_STEMS,
    chinese_number,
    letters,
    roman,
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, and Office files with a password
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})
_MAX_STYLE_DEPTH = 10  # styles inherit from base styles; the bound guards against a cycle


def load_docx(data: bytes) -> str:
    """A Word document: paragraphs and tables in document order, headings and rows as markdown."""
    if data.startswith(_OLE_MAGIC):
        raise LoadError("这是旧版 Word（.doc）或带密码的 Office 文件，不是 .docx；请用 Word 另存为 .docx")
    try:
        document = open_docx(io.BytesIO(data))
    except Exception as exc:  # zipfile, lxml and python-docx raise many types on a malformed file
        raise LoadError(f"DOCX 文件已损坏，无法打开（{exc}）") from exc
    try:
        walker = _DocxLines(_DocxNumbering(document.part))
        lines = trim_blank(list(walker.lines(document.element.body, document)))
    except (LookupError, ValueError, PythonDocxError) as exc:  # well-formed XML, invalid content
        raise LoadError(f"DOCX 文件内容有误，无法读取（{exc}）") from exc
    if not lines:
        raise LoadError("DOCX 文档中没有文字")
    return "\n".join(lines)


class _DocxLines:
    """Turns a Word body into lines: paragraphs, markdown headings and table rows, in order."""

    def __init__(self, numbering: _DocxNumbering) -> None:
        self._numbering = numbering

    def lines(self, container: BaseOxmlElement, parent: ProvidesStoryPart) -> Iterator[str]:
        """Lines of the paragraphs and tables inside a body or cell element."""
        for block in _docx_blocks(container, parent):
            if isinstance(block, Table):
                yield from self._table_rows(block)
            else:
                yield from self._paragraph_lines(block)

    def _paragraph_lines(self, paragraph: Paragraph) -> list[str]:
        """A markdown heading, or the paragraph's text split at its manual line breaks."""
        text = paragraph.text
        if text.strip():
            text = self._numbering.label(paragraph) + text
        level = _docx_heading_level(paragraph)
        if level and text.strip():
            return [f"{'#' * level} {' '.join(text.split())}"]
        return text.split("\n")

    def _table_rows(self, table: Table) -> list[str]:
        """A table as markdown rows, read from the XML so that each merged cell appears once."""
        rows = []
        for tr in table._tbl.tr_lst:
            # python-docx's row.cells repeats a merged cell for every grid column and row it
            # covers; the XML holds it once, and a vertically continued cell stays empty.
            cells = [
                "" if tc.vMerge == "continue" else escape_cell(self._cell_text(_Cell(tc, table)))
                for tc in tr.tc_lst
            ]
            if any(cells):
                rows.append(markdown_row(cells))
        return rows

    def _cell_text(self, cell: _Cell) -> str:
        """A cell's paragraphs joined by <br>; a nested table gives one line per row."""
        lines = [_unpipe(line).strip() for line in self.lines(cell._tc, cell)]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        return "<br>".join(lines)


def _unpipe(line: str) -> str:
    """A nested table's markdown row as its cells separated by spaces; other lines unchanged."""
    if not line.startswith("|"):
        return line
    return " ".join(cell for cell in re.split(r"(?<!\\)\|", line) if cell.strip())


def _docx_blocks(
    container: BaseOxmlElement, parent: ProvidesStoryPart
) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables among a container's children; content controls are looked into."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(content, parent)


def _docx_heading_level(paragraph: Paragraph) -> int | None:
    """The heading level from the style name (Heading N, 标题 N, Title) or the outline level."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if match := _HEADING_STYLE.match(name):
        return int(match.group(1))
    if name.lower() in _TITLE_STYLES:
        return 1
    # Custom styles (a school's own "一级标题", say) mark headings with an outline level instead.
    outline = _paragraph_or_style_value(paragraph, "w:pPr", "w:outlineLvl")
    if outline is not None and outline.isdigit() and int(outline) < 9:  # 9 means body text
        return int(outline) + 1
    return None


def _paragraph_or_style_value(paragraph: Paragraph, *path: str) -> str | None:
    """The w:val at path under the paragraph, else under its style or the styles it is based on."""
    value = _child_value(paragraph._p, *path)
    style = paragraph.style
    for _ in range(_MAX_STYLE_DEPTH):
        if value is not None or style is None:
            break
        value = _child_value(style.element, *path)
        style = style.base_style
    return value


def _child_value(element: BaseOxmlElement | None, *path: str) -> str | None:
    """The w:val attribute of the descendant reached by following child tags, if there is one."""
    for tag in path:
        if element is None:
            return None
        element = element.find(qn(tag))
    return element.get(qn("w:val")) if element is not None else None


def _int_or(text: str | None, default: int) -> int:
    """text as an int, or default when it is missing or not a number."""
    return int(text) if text is not None and text.isdigit() else default


class _DocxNumbering:
    """Renders Word's automatic list numbers ("第一条", "（二）", "3."): python-docx leaves them out
    of the paragraph text, since they live in the numbering part, not in the paragraph."""

    def __init__(self, part: DocumentPart) -> None:
        try:
            numbering = cast(NumberingPart, part.part_related_by(RT.NUMBERING))
            root: BaseOxmlElement | None = numbering.element
        except KeyError:  # a document without lists has no numbering part
            root = None
        self._levels: dict[str, dict[int, _ListLevel]] = {}  # abstract list id → its levels
        self._abstract_of: dict[str, str] = {}  # numId → abstract list id
        self._restarts: dict[str, dict[int, int]] = {}  # numId → level → start override
        self._counters: dict[str, dict[int, int]] = {}  # abstract list id → level → last number
        if root is not None:
            self._read(root)

    def label(self, paragraph: Paragraph) -> str:
        """The paragraph's list number followed by its separator, or "" if it has none."""
        num_id = _paragraph_or_style_value(paragraph, "w:pPr", "w:numPr", "w:numId")
        abstract_id = self._abstract_of.get(num_id or "")
        levels = self._levels.get(abstract_id or "", {})
        level = _int_or(_child_value(paragraph._p, "w:pPr", "w:numPr", "w:ilvl"), 0)
        if abstract_id is None or level not in levels:
            return ""
        counters = self._counters.setdefault(abstract_id, {})
        # Word's "restart numbering" is a new w:num over the same list whose levels override start.
        for restart_level, start in self._restarts.pop(num_id or "", {}).items():
            counters[restart_level] = start - 1
        counters[level] = counters.get(level, levels[level].start - 1) + 1
        for deeper in [key for key in counters if key > level]:
            del counters[deeper]  # a new item restarts the levels below it
        return levels[level].render(counters, levels)

    def _read(self, root: BaseOxmlElement) -> None:
        """Index the abstract list definitions and the numIds that point at them."""
        for abstract in root.findall(qn("w:abstractNum")):
            self._levels[abstract.get(qn("w:abstractNumId"), "")] = {
                _int_or(lvl.get(qn("w:ilvl")), 0): _ListLevel.from_xml(lvl)
                for lvl in abstract.findall(qn("w:lvl"))
            }
        for num in root.findall(qn("w:num")):
            num_id = num.get(qn("w:numId"), "")
            abstract_id = _child_value(num, "w:abstractNumId")
            if num_id and num_id != "0" and abstract_id is not None:  # numId 0 means "no list"
                self._abstract_of[num_id] = abstract_id
                self._restarts[num_id] = {
                    _int_or(override.get(qn("w:ilvl")), 0): _int_or(start, 1)
                    for override in num.findall(qn("w:lvlOverride"))
                    if (start := _child_value(override, "w:startOverride")) is not None
                }


@dataclass(frozen=True)
class _ListLevel:
    """One level of a Word list: number format, label template like "第%1条", start, separator."""

    number_format: str
    template: str
    start: int
    separator: str

    @classmethod
    def from_xml(cls, lvl: BaseOxmlElement) -> _ListLevel:
        """Read a w:lvl element."""
        return cls(
            number_format=_child_value(lvl, "w:numFmt") or "decimal",
            template=_child_value(lvl, "w:lvlText") or "",
            start=_int_or(_child_value(lvl, "w:start"), 1),
            separator="" if _child_value(lvl, "w:suff") == "nothing" else " ",
        )

    def render(self, counters: dict[int, int], levels: dict[int, _ListLevel]) -> str:
        """The label with each %N replaced by level N's current number in that level's format."""
        if self.number_format in ("bullet", "none") or not self.template:
            return ""  # bullets are symbol-font glyphs, not numbering anyone cites

        def number(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            level = levels.get(index, self)
            return _format_number(counters.get(index, level.start), level.number_format)

        return re.sub(r"%([1-9])", number, self.template) + self.separator


def _from_sequence(sequence: str) -> Callable[[int], str]:
    """A formatter that numbers with the characters of sequence (甲乙丙…, ①②③…)."""
    return lambda n: sequence[n - 1] if 0 < n <= len(sequence) else str(n)


# Word's w:numFmt values → formatters; the number tables themselves live in ingest.numbering.
_FORMATTERS: dict[str, Callable[[int], str]] = {
    "decimalZero": lambda n: f"{n:02d}",
    "decimalFullWidth": lambda n: str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    "chineseCounting": chinese_number,
    "chineseCountingThousand": chinese_number,
    "taiwaneseCounting": chinese_number,
    "taiwaneseCountingThousand": chinese_number,
    "japaneseCounting": chinese_number,
    "ideographTraditional": _from_sequence(HEAVENLY_STEMS),
    "ideographZodiac": _from_sequence(EARTHLY_BRANCHES),
    "decimalEnclosedCircle": _from_sequence(CIRCLED),
    "decimalEnclosedCircleChinese": _from_sequence(CIRCLED),
    "lowerLetter": letters,
    "upperLetter": lambda n: letters(n).upper(),
    "lowerRoman": roman,
    "upperRoman": lambda n: roman(n).upper(),
}


def _format_number(n: int, number_format: str) -> str:
    """A list number in one of Word's formats; unknown formats fall back to decimal."""
    formatter = _FORMATTERS.get(number_format)
    return formatter(n) if formatter else str(n)
