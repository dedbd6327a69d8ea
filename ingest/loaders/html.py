"""Web pages: chrome dropped, one line per block, markdown headings and table rows."""
from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup
from bs4.element import (
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

from ingest.errors import LoadError
from ingest.loaders.lines import escape_cell, markdown_row, trim_blank
from ingest.loaders.text import (
    LAST_RESORT,
    UNICODE_BOMS,
    decode,
    normalise_newlines,
    quality,
    strict_decode,
)

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


def load_html(data: bytes) -> str:
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
    if declared and not any(data.startswith(bom) for bom, _ in UNICODE_BOMS):
        encoding = _html_codec(declared.group(1).decode("ascii"))
        text = strict_decode(data, encoding) if encoding else None
        if text is not None and quality(text) >= LAST_RESORT:
            return normalise_newlines(text)
    return normalise_newlines(decode(data))


def _html_codec(label: str) -> str | None:
    """The Python codec for a <meta charset> label; GB labels widen to GB18030 as browsers do."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "gb18030" if name in {"gb2312", "gbk"} else name


def _drop_chrome(soup: BeautifulSoup) -> None:
    """Remove scripts, styles, navigation, page headers/footers, forms, hidden elements and link lists."""
    for tag in soup.find_all(_is_chrome):
        if not tag.decomposed:  # already gone with a dropped ancestor
            tag.decompose()
    for tag in soup.find_all(_LINK_BLOCKS):
        if not tag.decomposed and _mostly_links(tag):
            tag.decompose()


# A school's CMS marks its menus with <div class="nav">, not <nav>: a block that is mostly links and has
# little text of its own is a menu, a breadcrumb, a "热点文章" list or "加入收藏 | 设为首页 | 站内搜索".
_LINK_BLOCKS = ("div", "ul", "ol", "p", "li", "table", "td", "span", "dl")
_OWN_TEXT_MAX = 20  # characters outside links that a list of links may still have ("当前位置：", separators)


def _mostly_links(tag: Tag) -> bool:
    """At least two links, and at least half the text in them, with little text besides."""
    links = tag.find_all("a")
    if len(links) < 2:
        return False  # "附件：请假单.doc" is a rule's own text with its one link
    text = len("".join(tag.get_text().split()))
    linked = sum(len("".join(a.get_text().split())) for a in links)
    return text > 0 and linked * 2 >= text and text - linked <= _OWN_TEXT_MAX


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
        return trim_blank(self._lines)

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
        cells = [escape_cell(_inner_text(cell, "<br>")) for cell in _html_cells(row)]
        if any(cells):
            lines.append(markdown_row(cells))
    return [line for line in lines if line]
