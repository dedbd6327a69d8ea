"""Load one knowledge document as plain text lines; their numbers are what citations point to."""
from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bs4 import BeautifulSoup
from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from charset_normalizer import from_bytes
from docx import Document as open_docx
from docx.exceptions import PythonDocxError
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.document import DocumentPart
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.types import ProvidesStoryPart
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import LoadError

# --- plain text: bytes → str ---------------------------------------------------------------------

# Tried strictly in this order; the first decoding that reads as plausible text wins. GB18030 is a
# superset of GB2312 and GBK; CP950 and Big5-HKSCS are supersets of Big5 for files Big5 rejects.
_CANDIDATE_ENCODINGS = ("utf-8", "gb18030", "big5", "cp950", "big5hkscs")
_GOOD_ENOUGH = 0.9  # quality at which a candidate is taken without looking further
_LAST_RESORT = 0.8  # lowest quality accepted when no candidate is good enough
_QUALITY_SAMPLE = 50_000  # characters scored; enough to judge, cheap on huge files

_UNICODE_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_TEXT_CONTROL_BYTES = b"\t\n\r\x0b\x0c\x1b"  # whitespace, and ESC from terminal-coloured logs
_SUSPECT_CATEGORIES = frozenset({"Co", "Cn", "Cs", "Cc"})  # private use, unassigned, controls
# Ranges of the most frequent hanzi: GB2312 level 1 (simplified) and Big5 常用字 (traditional).
# A wrong CJK decoding yields valid but mostly rare characters, so their share tells the two apart.
_FREQUENT_HANZI = (("gb2312", b"\xb0\xa1", b"\xd7\xf9"), ("big5", b"\xa4\x40", b"\xc6\x7e"))


def _decode(data: bytes) -> str:
    """Decode a text file's bytes: Unicode BOM, else strict UTF-8 → GB18030 → Big5, then a guess."""
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data[len(bom):], encoding)
    if b"\x00" in data:  # NUL never occurs in text in any of the encodings above
        raise LoadError("看起来是二进制文件而不是文本（含有 NUL 字节）")
    tried: list[tuple[float, str]] = []
    utf8 = _strict(data, "utf-8")
    # Valid UTF-8 with multi-byte sequences is practically never another encoding by accident, while
    # a short text with a few Latin accents or symbols scores low on the CJK-tuned quality measure.
    if utf8 is not None and not data.isascii() and _quality(utf8) >= 0.3:
        return utf8
    for encoding in _CANDIDATE_ENCODINGS:
        text = _strict(data, encoding)
        if text is not None:
            quality = _quality(text)
            if quality >= _GOOD_ENOUGH:
                return text
            tried.append((quality, text))
    _reject_damaged_utf8(data)
    tried.append(_charset_normalizer_guess(data))
    quality, text = max(tried, key=lambda pair: pair[0])  # max keeps the earliest among equals
    if quality >= _LAST_RESORT:
        return text
    if _control_byte_share(data) > 0.02:
        raise LoadError("看起来是二进制文件而不是文本（控制字符过多）")
    raise LoadError("无法识别文件编码（不是 UTF-8、GBK/GB18030 或 Big5）")


def _decode_with_bom(data: bytes, encoding: str) -> str:
    """Decode the bytes after a BOM, which names the encoding for certain."""
    text = _strict(data, encoding)
    if text is None:
        raise LoadError(f"文件以 {encoding.upper()} 的 BOM 开头，但内容不是有效的 {encoding.upper()}")
    return text


def _strict(data: bytes, encoding: str) -> str | None:
    """The strict decoding, or None if the bytes are invalid in that encoding."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _quality(text: str) -> float:
    """Share of non-space characters that look like real text (1.0 = all of them)."""
    chars = [ch for ch in text[:_QUALITY_SAMPLE] if not ch.isspace()]
    if not chars:
        return 1.0
    return sum(_char_weight(ch) for ch in chars) / len(chars)


@lru_cache(maxsize=65536)
def _char_weight(ch: str) -> float:
    """1 for ordinary text characters, 0 for ones no real document holds, 0.5 in between."""
    if ch == "\ufffd" or unicodedata.category(ch) in _SUSPECT_CATEGORIES:
        return 0.0
    if ch.isascii() or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef":
        return 1.0  # ASCII, CJK punctuation, full-width forms
    if "\u2000" <= ch <= "\u206f":
        return 1.0  # general punctuation: quotes, dashes, ellipsis
    return 1.0 if _is_frequent_hanzi(ch) else 0.5


def _is_frequent_hanzi(ch: str) -> bool:
    """Whether ch is among the common simplified or traditional characters."""
    for codec, low, high in _FREQUENT_HANZI:
        try:
            code = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False


def _reject_damaged_utf8(data: bytes) -> None:
    """Raise if the bytes are UTF-8 with a few bad bytes: decoding them otherwise gives mojibake."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if not ch.isascii()) - bad
    if bad and good >= 10 * bad:
        line = text[: text.index("\ufffd")].count("\n") + 1
        raise LoadError(f"文件是 UTF-8 编码，但第 {line} 行含有无效字节（文件可能已损坏或被截断）")


def _charset_normalizer_guess(data: bytes) -> tuple[float, str]:
    """charset-normalizer's best decoding with its quality, or (0, "") when it has none."""
    match = from_bytes(data).best()
    if match is None:
        return 0.0, ""
    text = str(match)
    return _quality(text), text


def _control_byte_share(data: bytes) -> float:
    """Share of bytes that are control codes other than the usual whitespace."""
    controls = sum(1 for byte in data if byte < 0x20 or byte == 0x7F)
    controls -= sum(data.count(byte) for byte in _TEXT_CONTROL_BYTES)
    return controls / len(data)


def _normalise_newlines(text: str) -> str:
    """Turn \\r\\n and lone \\r into \\n, leaving every other character as it is."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_plain(data: bytes) -> str:
    """Text or markdown: decoded verbatim, so line n of the result is line n of the file."""
    text = _normalise_newlines(_decode(data))
    if not text.strip():
        raise LoadError("文件为空（只有空白字符）")
    return text


# --- HTML ----------------------------------------------------------------------------------------

_DROP_TAGS = (
    "script", "style", "nav", "header", "footer", "aside", "form", "button", "noscript",
    "template", "iframe", "svg", "canvas", "select", "textarea", "object", "embed", "head",
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements that end a line without starting a new paragraph (list items, rows, cells).
_LINE_TAGS = frozenset({"li", "dt", "dd", "tr", "td", "th", "caption", "option"})
_BLOCK_TAGS = frozenset({
    "address", "article", "blockquote", "center", "details", "dialog", "div", "dl", "fieldset",
    "figcaption", "figure", "hr", "main", "ol", "p", "section", "summary", "table", "tbody",
    "thead", "tfoot", "ul", "body", "html",
})
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
# A newline between two CJK characters is the page source's own wrapping, not a space in the text.
_WRAP_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n[ \t\r\n\f]*(?=[{_CJK}])")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")  # HTML's own whitespace: U+3000 is text, not layout


def _load_html(data: bytes) -> str:
    """A web page as text: chrome dropped, one line per block, markdown headings and table rows."""
    soup = BeautifulSoup(_decode_html(data), "html.parser")
    title_tag = soup.find("title")
    title = _squash(title_tag.get_text()) if title_tag else ""
    _drop_chrome(soup)
    walker = _HtmlLines()
    walker.add(soup.body or soup)
    lines = walker.result()
    if title and not (soup.body or soup).find("h1"):
        lines = [f"# {title}", "", *lines]
    if not lines:
        raise LoadError("网页中没有正文文字")
    return "\n".join(lines)


def _decode_html(data: bytes) -> str:
    """Decode a page: a BOM, else the <meta> charset if the bytes agree with it, else detect."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not any(data.startswith(bom) for bom, _ in _UNICODE_BOMS):
        encoding = _html_codec(declared.group(1).decode("ascii"))
        text = _strict(data, encoding) if encoding else None
        if text is not None and _quality(text) >= _LAST_RESORT:
            return _normalise_newlines(text)
    return _normalise_newlines(_decode(data))


def _html_codec(label: str) -> str | None:
    """The Python codec for a <meta charset> label; GB labels widen to GB18030 as browsers do."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "gb18030" if name in {"gb2312", "gbk"} else name


def _drop_chrome(soup: BeautifulSoup) -> None:
    """Remove scripts, styles, navigation, page headers/footers, forms and hidden elements."""
    for tag in soup.find_all(_is_chrome):
        if not tag.decomposed:  # already gone with a dropped ancestor
            tag.decompose()


def _is_chrome(tag: Tag) -> bool:
    """Whether a tag is page furniture rather than document text."""
    if tag.name in ("header", "footer"):
        # An <article>'s own header holds its title and date; only the site's banner goes.
        return tag.find_parent(("article", "main")) is None
    if tag.name in _DROP_TAGS or tag.has_attr("hidden") or tag.get("role") == "navigation":
        return True
    return "display:none" in str(tag.get("style", "")).replace(" ", "").lower()


def _squash(raw: str) -> str:
    """Collapse HTML whitespace in one line of text the way a browser shows it."""
    text = _WRAP_BETWEEN_CJK.sub("", raw.replace("\xa0", " "))
    return _HTML_SPACE.sub(" ", text).strip(" ")


class _HtmlLines:
    """Walks an HTML tree into text lines; a blank line separates paragraphs."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._inline: list[str] = []

    def add(self, node: Tag) -> None:
        """Append the text of node's children."""
        for child in node.children:
            if isinstance(child, Tag):
                self._add_tag(child)
            elif isinstance(child, NavigableString) and not isinstance(child, _SKIPPED_STRINGS):
                self._inline.append(str(child))

    def result(self) -> list[str]:
        """The lines so far, without leading or trailing blank lines."""
        self._end_line()
        return _trim_blank(self._lines)

    def _add_tag(self, tag: Tag) -> None:
        name = tag.name
        if name == "br":
            self._end_line()
        elif name in _HEADINGS:
            text = _inner_text(tag, " ")
            self._paragraph(*([f"{'#' * int(name[1])} {text}"] if text else []))
        elif name == "table" and _is_data_table(tag):
            self._paragraph(*_html_table_rows(tag))
        elif name == "pre":
            self._paragraph(*(line.rstrip() for line in tag.get_text().split("\n")))
        elif name in _LINE_TAGS:
            self._end_line()
            self.add(tag)
            self._end_line()
        elif name in _BLOCK_TAGS:
            self._paragraph()
            self.add(tag)
            self._paragraph()
        else:
            self.add(tag)

    def _end_line(self) -> None:
        text = _squash("".join(self._inline))
        self._inline.clear()
        if text:
            self._lines.append(text)

    def _paragraph(self, *lines: str) -> None:
        """End the current paragraph, then add lines as a paragraph of their own."""
        self._end_line()
        self._blank()
        if lines:
            self._lines.extend(lines)
            self._blank()

    def _blank(self) -> None:
        if self._lines and self._lines[-1]:
            self._lines.append("")


def _inner_text(tag: Tag, separator: str) -> str:
    """A tag's text lines joined by separator (headings join with a space, cells with <br>)."""
    walker = _HtmlLines()
    walker.add(tag)
    return separator.join(line for line in walker.result() if line)


def _is_data_table(table: Tag) -> bool:
    """Whether a table holds data; tables that wrap other tables or one column are page layout."""
    if table.find("table") is not None:
        return False
    return any(len(_html_cells(row)) >= 2 for row in table.find_all("tr"))


def _html_cells(row: Tag) -> list[Tag]:
    """The td/th cells of one table row."""
    return row.find_all(("td", "th"), recursive=False)


def _html_table_rows(table: Tag) -> list[str]:
    """A data table as markdown rows, its caption first."""
    caption = table.find("caption")
    lines = [_squash(caption.get_text())] if caption else []
    for row in table.find_all("tr"):
        cells = [_escape_cell(_inner_text(cell, "<br>")) for cell in _html_cells(row)]
        if any(cells):
            lines.append(_markdown_row(cells))
    return [line for line in lines if line]


# --- shared by HTML and DOCX ---------------------------------------------------------------------


def _escape_cell(text: str) -> str:
    """A cell's text with pipes escaped so the row still splits into the right cells."""
    return text.replace("|", "\\|")


def _markdown_row(cells: list[str]) -> str:
    """One table row as |cell|cell|."""
    return "|" + "|".join(cells) + "|"


def _trim_blank(lines: list[str]) -> list[str]:
    """Lines with whitespace-only ones made empty, runs of them collapsed and the ends trimmed."""
    kept: list[str] = []
    for line in lines:
        if line.strip():
            kept.append(line)
        elif kept and kept[-1]:
            kept.append("")
    while kept and not kept[-1]:
        kept.pop()
    return kept


# --- DOCX ----------------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, and Office files with a password
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})
_MAX_STYLE_DEPTH = 10  # styles inherit from base styles; the bound guards against a cycle


def _load_docx(data: bytes) -> str:
    """A Word document: paragraphs and tables in document order, headings and rows as markdown."""
    if data.startswith(_OLE_MAGIC):
        raise LoadError("这是旧版 Word（.doc）或带密码的 Office 文件，不是 .docx；请用 Word 另存为 .docx")
    try:
        document = open_docx(io.BytesIO(data))
    except Exception as exc:  # zipfile, lxml and python-docx raise many types on a malformed file
        raise LoadError(f"DOCX 文件已损坏，无法打开（{exc}）") from exc
    try:
        walker = _DocxLines(_DocxNumbering(document.part))
        lines = _trim_blank(list(walker.lines(document.element.body, document)))
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
                "" if tc.vMerge == "continue" else _escape_cell(self._cell_text(_Cell(tc, table)))
                for tc in tr.tc_lst
            ]
            if any(cells):
                rows.append(_markdown_row(cells))
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
            root: BaseOxmlElement | None = part.part_related_by(RT.NUMBERING).element
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


_CHINESE_DIGITS = "零一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """一, 十, 十一, 二十三 … for 1–99 (list numbers never go further in practice)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = ("" if tens == 1 else _CHINESE_DIGITS[tens]) + "十" if tens else ""
    return head + (_CHINESE_DIGITS[ones] if ones else "")


def _letters(n: int) -> str:
    """a, b, … z, aa, bb … as Word counts letters."""
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else str(n)


def _roman(n: int) -> str:
    """Lower-case roman numerals."""
    numerals = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = ""
    for value, numeral in numerals:
        count, n = divmod(n, value)
        out += numeral * count
    return out


def _from_sequence(sequence: str) -> Callable[[int], str]:
    """A formatter that numbers with the characters of sequence (甲乙丙…, ①②③…)."""
    return lambda n: sequence[n - 1] if 0 < n <= len(sequence) else str(n)


_CIRCLED = "".join(chr(0x2460 + i) for i in range(20))  # ①…⑳
_FORMATTERS: dict[str, Callable[[int], str]] = {
    "decimalZero": lambda n: f"{n:02d}",
    "decimalFullWidth": lambda n: str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    "chineseCounting": _chinese_number,
    "chineseCountingThousand": _chinese_number,
    "taiwaneseCounting": _chinese_number,
    "taiwaneseCountingThousand": _chinese_number,
    "japaneseCounting": _chinese_number,
    "ideographTraditional": _from_sequence("甲乙丙丁戊己庚辛壬癸"),
    "ideographZodiac": _from_sequence("子丑寅卯辰巳午未申酉戌亥"),
    "decimalEnclosedCircle": _from_sequence(_CIRCLED),
    "decimalEnclosedCircleChinese": _from_sequence(_CIRCLED),
    "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(),
    "lowerRoman": _roman,
    "upperRoman": lambda n: _roman(n).upper(),
}


def _format_number(n: int, number_format: str) -> str:
    """A list number in one of Word's formats; unknown formats fall back to decimal."""
    formatter = _FORMATTERS.get(number_format)
    return formatter(n) if formatter else str(n)


# --- PDF -----------------------------------------------------------------------------------------


def _load_pdf(data: bytes) -> str:
    """A PDF's extracted text, page after page."""
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock_pdf(reader)
        pages = [_normalise_newlines(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types (and plain KeyError/ValueError) on bad files
        raise LoadError(f"PDF 文件已损坏，无法读取（{exc}）") from exc
    if not any(page.strip() for page in pages):
        raise LoadError("PDF 中没有可提取的文字（可能是扫描件，需要先做文字识别）")
    return "\n".join(page.rstrip("\n") for page in pages)


def _unlock_pdf(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password, as viewers do, or raise."""
    if not reader.is_encrypted:
        return
    try:
        result = reader.decrypt("")
    except DependencyError as exc:  # AES needs the optional cryptography package
        raise LoadError("PDF 已加密（AES），解密需要安装 cryptography 库") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise LoadError("PDF 已加密，需要密码才能打开，无法读取")


# --- entry point ---------------------------------------------------------------------------------

_LOADERS: dict[str, Callable[[bytes], str]] = {
    ".txt": _load_plain,
    ".md": _load_plain,
    ".markdown": _load_plain,
    ".html": _load_html,
    ".htm": _load_html,
    ".docx": _load_docx,
    ".pdf": _load_pdf,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def load_text(path: Path) -> str:
    """Read one knowledge document and return its text as "\\n"-separated lines."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        supported = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError(f"不支持的文件类型 {suffix or '（无扩展名）'}，支持的类型：{supported}")
    data = _read_bytes(path)
    if not data:
        raise LoadError("文件为空（0 字节）")
    try:
        return loader(data)
    except RecursionError as exc:  # pathologically nested HTML/XML
        raise LoadError("文档结构嵌套过深，无法解析") from exc


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, with OS errors turned into a LoadError that says what went wrong."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise LoadError("文件不存在") from exc
    except IsADirectoryError as exc:
        raise LoadError("这是一个目录，不是文件") from exc
    except PermissionError as exc:
        raise LoadError("没有读取该文件的权限") from exc
    except OSError as exc:
        raise LoadError(f"无法读取文件（{exc.strerror or exc}）") from exc
