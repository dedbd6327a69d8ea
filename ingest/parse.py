"""Structure parser: cleaned lines → clauses with section path, owner, contact, label and source lines.

The parser keeps a stack of open sections (markdown headings, plain headings such as
"班主任岗位职责", numbered headings such as "一、…" or "第一章") and emits a clause for every
numbered item, every paragraph and every table fact. Numbering levels are not fixed per style:
a style's place in the hierarchy is learned from the order in which styles appear, and a
sequence that restarts at 1 under a different heading opens a nested level.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.clean import CleanText, normalize_space
from ingest.drafts import Draft, Frame, to_clauses
from ingest.hanzi import simplified
from ingest.model import Clause
from ingest.numbering import Numbered, split_label
from ingest.owners import (
    is_contact_key,
    is_unit_plan,
    looks_like_name,
    motto_owner,
    owner_from_heading,
    owner_from_lead_in,
    owner_from_table_key,
    plan_owner,
)
from ingest.tables import TableRow, is_table_line, parse_table

_TERMINAL = "。！？!?；;…"
_SENTENCE_PUNCT = re.compile(r"[。！？!?；;，,]")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_HEADING_MAX = 30
_WRAP_MIN = 24  # a line this long (label included) that stops without punctuation was probably wrapped
_HEADING_SUFFIX = re.compile(r"(?:岗位职责|工作职责|职责|职能|守则|细则|办法|规定|制度|章程|须知|篇\s*\d+)[:：]?$")
_ADDRESSEE = re.compile(r"^(?:各|全体|尊敬的)[^，。；,;]{1,12}[：:]$")
_PERIOD = re.compile(r"^[（(][^（）()]*\d[^（）()]*[）)]$")
_EMIT_HEADING_MIN = 12  # a numbered heading this long carries content of its own
# "校训：…", "办学理念：…", "ISO部门品质目标：…": a field line (a key of up to ten characters, a colon) is a
# fact of its own; it never continues the last one nor heads one.
_FIELD_LINE = re.compile(r"^[^，。,；;：:\s]{1,10}(?: [^，。,；;：:\s]{1,4})?\s*[：:]")
# A web page's header or breadcrumb ("XX中学 | 教务处 Academic Department", "首页 > 机构设置 > 总务处"): the
# page's title, over every heading until the next page, not a clause.
_CRUMB = re.compile(r"\s+[|>›»]\s+|\s*[｜＞]\s*")


_HOLDING = ("md", "plain", "title", "page", "chapter", "jie")  # kinds of section a plain heading opens inside


@dataclass
class _State:
    stack: list[Frame] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    blank_since_draft: bool = False
    # Stack depth at which the last 第X条 sat. What opens after it (a lead-in "…的主要任务是：" and its
    # items) is inside that article, and the next article closes it.
    article_base: int | None = None


def parse(doc: CleanText, path: str, title: str, doc_id: str) -> list[Clause]:
    """Parse cleaned lines into clauses in document order."""
    state = _State()
    lines = [(n, normalize_space(text)) for n, text in doc.lines]
    index = 0
    while index < len(lines):
        number, text = lines[index]
        if index and number != lines[index - 1][0] + 1:
            _close_draft(state)  # cleaning removed a line here: never join text across the gap
        if is_table_line(text):
            index = _take_table(lines, index, state)
            continue
        _take_line(lines, index, state, title)
        index += 1
    return to_clauses(state.drafts, path, title, doc_id)


def _take_line(lines: list[tuple[int, str]], index: int, state: _State, title: str) -> None:
    """Route one non-table line to heading, item, continuation or paragraph handling."""
    number, text = lines[index]
    if not text:
        state.blank_since_draft = True
        return
    heading = _MD_HEADING.match(text)
    if heading:
        _open_md(state, len(heading.group(1)), heading.group(2))
        return
    page = _page(lines, index)
    if page:
        _close_draft(state)
        state.stack[:] = [page]
        return
    if text == title or _another_title(text, title):
        state.stack.clear()  # a file of several notices: each one's items sit under its own title
        _take_title(lines, index, state, text)
        if text != title:
            state.stack.append(Frame(title=text, kind="title", owner=owner_from_heading(text)))
        return
    if _ADDRESSEE.match(text):
        return  # "各单位：" greets the readers; it heads nothing and states nothing
    numbered = split_label(text)
    if numbered is not None:
        _take_numbered(lines, index, state, numbered)
        return
    if _is_plain_heading(lines, index, state):
        _open_plain(state, text)
        return
    _add_text(state, number, text, label=None)


def _page(lines: list[tuple[int, str]], index: int) -> Frame | None:
    """The section a page header or breadcrumb line opens, or None for any other line.

    A web export's page ("XX中学 | 事务处 General Affairs Department") holds the headings below it, of any
    level, though the page repeats its name as a sibling heading ("## 事务处…", "## 工作范围"): its owner is
    the unit a part after the site's name names. It heads a page only as the file's first line or over a
    markdown heading ("周一 | 王老师" in a text is a row).
    """
    text = lines[index][1]
    parts = _CRUMB.split(text)
    if len(parts) < 2 or not all(parts) or any(len(p) > _HEADING_MAX or _SENTENCE_PUNCT.search(p) for p in parts):
        return None
    following = _next_text(lines, index)
    if index and (following is None or not _MD_HEADING.match(following)):
        return None
    owner = next((name for part in reversed(parts[1:]) if (name := owner_from_heading(part))), None)
    title = text[len(parts[0]):].lstrip(" |>›»｜＞")  # the page's own name, as written
    return Frame(title=title, kind="page", owner=owner)


def _another_title(text: str, title: str) -> bool:
    """A line shaped like the document's title ("关于…的通知" after "关于…的通知"): another notice."""
    return (len(title) >= 6 and text[-2:] == title[-2:] and text[:2] == title[:2] and _looks_like_heading(text)
            and split_label(text) is None)


def _take_title(lines: list[tuple[int, str]], index: int, state: _State, text: str) -> None:
    """The title line is not content; but "图书馆岗位职责" over its items (or its preamble) names their owner,
    and so does a unit's name as the title of its document.

    It opens a frame of its own kind, so later role headings of the same shape are its children
    rather than siblings that would close it (and the sections beneath it).
    """
    _close_draft(state)
    bare = text.rstrip(":：")
    owner = owner_from_heading(bare)
    following = _next_text(lines, index)
    over_items = following is not None and (split_label(following) is not None or not _looks_like_heading(following))
    # A title that is only a unit's name ("苏外纪检部" over "纪检部每日常规…评分细则") issues the document.
    if owner and (over_items or owner == bare or is_unit_plan(bare)):
        state.stack.append(Frame(title=text, kind="title", owner=owner))


def _next_text(lines: list[tuple[int, str]], index: int) -> str | None:
    """The next non-blank line after index, if any."""
    for _, text in lines[index + 1:]:
        if text:
            return text
    return None


def _has_heading_suffix(text: str) -> bool:
    """Ends like a heading ("岗位职责", "管理办法", "崗位職責"…)."""
    return bool(_HEADING_SUFFIX.search(simplified(text)))


def _looks_like_heading(text: str) -> bool:
    """Short, no sentence punctuation, not an introduction ending in a colon."""
    if len(text) > _HEADING_MAX or _SENTENCE_PUNCT.search(text) or text.count("、") >= 2:
        return False  # "制订规划、思考对策、加强队伍建设": a list of tasks, not a heading
    if _PERIOD.match(text):
        return False  # "（2008年9月—2009年1月）" under a title dates the plan; it heads nothing
    return not text.endswith((":", "：")) or _has_heading_suffix(text)


def _is_plain_heading(lines: list[tuple[int, str]], index: int, state: _State) -> bool:
    """Decide whether an unnumbered line opens a section."""
    text = lines[index][1]
    if _FIELD_LINE.match(text) and not text.endswith((":", "：")):
        return False  # "校训：自强不息" states a fact, it heads nothing
    suffixed = _has_heading_suffix(text)
    if not _looks_like_heading(text.rstrip(":：")) and not (suffixed and len(text) <= _HEADING_MAX):
        return False
    following = _next_text(lines, index)
    if _continues_draft(state) and not suffixed and not _between_items(state, following):
        return False
    if following is None or _MD_HEADING.match(following):
        return False
    return suffixed or not _looks_like_heading(following) or bool(
        split_label(following)
    )


def _between_items(state: _State, following: str | None) -> bool:
    """A short item, then this line, then another item of its kind: a name heading the next run of items
    ("- 可容纳2000人" / "鹤尧讲堂" / "- 可容纳300人"), not the item's wrapped tail."""
    draft = state.drafts[-1] if state.drafts else None
    if draft is None or draft.label is None or following is None or draft.last_len >= _WRAP_MIN:
        return False
    before, after = _label_of(draft), split_label(following)
    return before is not None and after is not None and before.style == after.style


def _label_of(draft: Draft | None) -> Numbered | None:
    """The numbering a clause was written with ("3.", "（二）", "-"), read back from its label."""
    return split_label(f"{draft.label} x") if draft is not None and draft.label else None


def _continues_draft(state: _State, text: str = "") -> bool:
    """True when the last clause stopped mid-sentence and the next line should join it."""
    if not state.drafts or not state.drafts[-1].open or _FIELD_LINE.match(text):
        return False
    draft = state.drafts[-1]
    if draft.text.endswith(tuple(_TERMINAL)):
        return False
    if _introduces(draft, text):
        return True
    return not state.blank_since_draft or draft.last_len >= _WRAP_MIN


def _introduces(draft: Draft, text: str) -> bool:
    """"①落实学校发展策略：" and the paragraph under it ("制订学校发展规划…") are one numbered item.

    Not an article's: what follows "第十条 有下列情形之一的：" is its own clause.
    """
    numbered = _label_of(draft)
    return (numbered is not None and numbered.style != "article" and draft.text.endswith((":", "："))
            and bool(text) and not _looks_like_heading(text) and split_label(text) is None)


def _add_text(state: _State, number: int, text: str, label: str | None) -> None:
    """Append a wrapped line to the open clause, or start a new paragraph clause."""
    if label is None and _continues_draft(state, text):
        draft = state.drafts[-1]
        draft.text = _join(draft.text, text)
        draft.line_end = number
        draft.last_len = len(text)
    else:
        _emit(state, text, label, number)
    state.blank_since_draft = False
    _own_by_lead_in(state.drafts[-1])


def _own_by_lead_in(draft: Draft) -> None:
    """A paragraph that hands its section's items to a unit ("…办公室计划做好以下几方面的工作：") makes that
    unit the section's owner, when no enclosing heading names one: the items below are its plan."""
    if draft.label is not None or not draft.frames or any(frame.owner for frame in draft.frames):
        return
    draft.frames[-1].owner = plan_owner(draft.text)


def _join(left: str, right: str) -> str:
    """Join a wrapped line: no space between CJK characters, one space between Latin words."""
    if left and right and left[-1].isascii() and right[0].isascii() and left[-1].isalnum():
        return f"{left} {right}"
    return left + right


def _emit(state: _State, text: str, label: str | None, number: int, spaced: bool = False) -> Draft:
    """Start a new clause under the current sections."""
    for frame in state.stack:
        frame.has_content = True
    draft = Draft(text=text, label=label, frames=list(state.stack), line_start=number,
                  line_end=number, last_len=len(text) + len(label or ""), spaced=spaced)
    state.drafts.append(draft)
    return draft


def _close_draft(state: _State) -> None:
    """Stop the last clause from taking continuation lines."""
    if state.drafts:
        state.drafts[-1].open = False


def _open_md(state: _State, level: int, title: str) -> None:
    """A markdown heading closes every section at its level or deeper and every non-markdown one
    but the page it is on (a heading that repeats the page's title opens nothing new)."""
    _close_draft(state)
    while state.stack and state.stack[-1].kind != "page" and (
            state.stack[-1].kind != "md" or state.stack[-1].level >= level):
        state.stack.pop()
    if state.stack and state.stack[-1].kind == "page" and state.stack[-1].title == title:
        return
    numbered = split_label(title)
    owner = owner_from_heading(numbered.rest if numbered else title)
    state.stack.append(Frame(title=title, kind="md", level=level, owner=owner))


def _open_plain(state: _State, text: str) -> None:
    """A plain heading: sibling of the open plain heading of the same shape, else a child."""
    _close_draft(state)
    title = text.rstrip(":：")
    frame = Frame(title=title, kind="plain", owner=owner_from_heading(title) or owner_from_lead_in(text),
                  colon=title != text)
    sibling = _find(state.stack, lambda f: f.kind == "plain" and f.signature() == frame.signature())
    if sibling is None and state.stack and state.stack[-1].kind == "plain" and state.stack[-1].has_content:
        sibling = len(state.stack) - 1  # a heading after the last one's items is its sibling, not its child
    if sibling is not None:
        del state.stack[sibling:]
    elif not frame.colon:
        # A lead-in ("国旗下讲话主题：" over a table) introduces what follows inside the open section.
        # A title that names an owner ("宿舍管理中心" over its preamble) stays: its owner holds for the file.
        # A chapter (第X章, 第X节) holds whatever comes before the next one, plain headings included.
        while state.stack and state.stack[-1].kind not in _HOLDING and state.stack[-1].has_content:
            state.stack.pop()
    state.stack.append(frame)


def _find(stack: list[Frame], test: Callable[[Frame], bool]) -> int | None:
    """Index of the deepest frame that passes test."""
    for position in range(len(stack) - 1, -1, -1):
        if test(stack[position]):
            return position
    return None


def _take_numbered(lines: list[tuple[int, str]], index: int, state: _State, item: Numbered) -> None:
    """Place a numbered line in the hierarchy, as a heading when it has children, else as an item."""
    number = lines[index][0]
    _close_draft(state)
    _pop_to_sibling(state, item)
    if item.style == "article":
        state.article_base = len(state.stack)
    if item.style in ("chapter", "jie") or _has_children(lines, index, state, item):
        # An article over its later paragraphs is named by its number ("第六条"): its first paragraph is a
        # clause of its own, not the heading of the next one. A lead-in article keeps its words over its list.
        paragraphs = item.style == "article" and not item.rest.rstrip().endswith((":", "："))
        frame = Frame(title=item.label if paragraphs else lines[index][1], kind=item.style, number=item.number,
                      owner=owner_from_heading(item.rest) or owner_from_lead_in(item.rest))
        if item.style == "article" or len(item.rest) > _EMIT_HEADING_MIN or not _looks_like_heading(item.rest):
            _emit(state, item.rest, item.label, number, item.spaced)
            _close_draft(state)
        state.stack.append(frame)
        return
    _emit(state, item.rest, item.label, number, item.spaced)
    state.blank_since_draft = False


def _pop_to_sibling(state: _State, item: Numbered) -> None:
    """Close the sections that this numbered line ends: its previous sibling and everything below."""
    if item.style == "bullet":
        return

    def same(frame: Frame) -> bool:
        return frame.kind == item.style

    previous = _find(state.stack, lambda f: same(f) and f.number is not None and f.number == (item.number or 0) - 1)
    if previous is None and item.number != 1:
        previous = _find(state.stack, same)
    if previous is None and item.style == "chapter":
        previous = _find(state.stack, lambda f: f.kind in ("chapter", "jie"))
    if previous is None and item.style == "article" and item.number != 1 and state.article_base is not None:
        previous = state.article_base  # the last article was a plain clause: close what opened inside it
    if previous is not None:
        del state.stack[previous:]


def _has_children(lines: list[tuple[int, str]], index: int, state: _State, item: Numbered) -> bool:
    """A numbered line is a heading when a deeper level or a body paragraph follows it."""
    following = _next_text(lines, index)
    if following is None or _MD_HEADING.match(following) or is_table_line(following):
        return False
    child = split_label(following)
    if child is None and item.style == "article":
        # "第五条 …。" and a paragraph: its second 款, cited as part of the article. A line that stops
        # mid-sentence continues on the next line instead.
        return item.rest.rstrip().endswith(tuple(_TERMINAL)) and not _looks_like_heading(following)
    if child is None:
        # A title-like line ("一、专业理论知识", "一、行政管理工作人员职责") followed by text or a
        # plain heading opens a section; a sentence-like item followed by a paragraph does not, nor
        # does the next item of a run of plain items (what follows it is its wrapped tail). A unit's name
        # and its motto ("（一）组织部——夯实基层组织团建，…。") head that unit's section, sentence or not.
        titled = _looks_like_heading(item.rest) or motto_owner(item.rest) is not None
        if item.style == "bullet":
            # A bullet has no number to say it opens a level: it heads only a paragraph ("- 可容纳300人"
            # before the next hall's name is the last item of its list, not that name's heading).
            return titled and not _looks_like_heading(following) and not _follows_sibling_item(state, item)
        return item.style != "article" and titled and not _follows_sibling_item(state, item)
    if child.style == item.style or child.style == "bullet" and item.style == "bullet":
        return False
    if child.style == "article" and state.article_base is not None and len(state.stack) > state.article_base:
        return False  # an item inside an article is followed by the next article, never owns it
    in_stack = any(frame.kind == child.style for frame in state.stack)
    return not in_stack or child.number == 1


def _follows_sibling_item(state: _State, item: Numbered) -> bool:
    """True when the last clause is this item's previous sibling, so the sequence so far is plain items."""
    previous = _label_of(state.drafts[-1] if state.drafts else None)
    # Bullets carry no number: one after another is a run of items.
    return previous is not None and previous.style == item.style and (
        item.style == "bullet" or previous.number == (item.number or 0) - 1)


def _take_table(lines: list[tuple[int, str]], index: int, state: _State) -> int:
    """Consume a markdown table block; each row becomes a section of the table with its items."""
    _close_draft(state)
    end = index
    while end < len(lines) and is_table_line(lines[end][1]):
        end += 1
    base = list(state.stack)
    rows = parse_table(lines[index:end])
    labels = [label for label in (rows[0].header or []) if label] if rows else []
    if labels and not any(owner_from_table_key(label) for label in labels):
        # "星期|值班领导|值班电话": a row "星期一 王副校长 138…" means nothing without its column labels,
        # so they become its context ("周一值班领导的电话").
        base.append(Frame(title=" ".join(labels), kind="table"))
    row_frame: Frame | None = None
    for row in rows:
        row_frame = _table_row(state, base, row, row_frame)
    state.stack = base
    _close_draft(state)
    return end


def _table_row(state: _State, base: list[Frame], row: TableRow, current: Frame | None) -> Frame | None:
    """Emit one table row: its plain cells as one fact, then its numbered items; a unit's name opens its section."""
    owner = next((value for key, value in row.pairs if owner_from_table_key(key) and looks_like_name(value)), None)
    if owner is not None:
        contact = next((value for key, value in row.pairs if is_contact_key(key) and value), None)
        current = Frame(title=owner, kind="table", owner=owner, contact=contact)
    state.stack = [*base, current] if current is not None else list(base)
    items = [value for _, value in row.pairs if _itemised(row, value)]
    plain = [value for _, value in row.pairs if value and not _itemised(row, value)] if items else row.cells
    text = " ".join(" ".join(row.pieces(value)) for value in plain).strip()
    if text:
        _emit(state, text, None, row.line)
        _close_draft(state)
    for value in items:
        _table_items(state, row, value)
    return current


def _itemised(row: TableRow, value: str) -> bool:
    """True for a cell holding numbered or `<br>`-separated items rather than one plain value."""
    return len(row.pieces(value)) > 1 or split_label(value) is not None


def _table_items(state: _State, row: TableRow, value: str) -> None:
    """Split a cell's `<br>`-separated text into items: numbered ones, and unnumbered duties one a piece
    ("负责经费报销审核<br>负责工资发放"); only a piece after a numbered item may continue it."""
    after_numbered = False
    for piece in row.pieces(value):
        numbered = split_label(piece)
        if numbered is not None:
            _close_draft(state)
            _emit(state, numbered.rest, numbered.label, row.line, numbered.spaced)
        else:
            if not after_numbered:
                _close_draft(state)
            _add_text(state, row.line, piece, label=None)
        after_numbered = numbered is not None
    _close_draft(state)
