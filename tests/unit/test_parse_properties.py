"""Property tests for the parser (`clean` + `parse`, and `parse_file` on written files).

Whatever the text, the parser must not crash, and every clause it emits must come from the
source: its text (whitespace removed) stands in its cited lines (for a table row: it is made of
that row's cells / `<br>` pieces, in order), its label stands in its first line, its line numbers
lie inside the file, and ids are unique. Documents are drawn from Chinese-heavy strategies
(numbering labels, headings, tables with `<br>`, full-width spaces, boilerplate, control
characters, very long lines) mixed with arbitrary text.

Deterministic: `derandomize=True`, no example database; modest `max_examples`, no deadline.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.clean import clean, normalize_space
from ingest.errors import LoadError
from ingest.loaders import load_text
from ingest.model import Clause
from ingest.parse import parse
from ingest.pipeline import parse_file
from ingest.tables import is_table_line

PROFILE = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# What the parser treats as layout whitespace (normalize_space), plus everything str.isspace knows.
_SPACE = re.compile(r"[\s\u3000\u00a0\u200b\u200c\u200d\ufeff]+")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)

# --- strategies ----------------------------------------------------------------------------------

HANZI = ("学校教师学生负责管理工作班主任办公室政教处教务处总务处出纳员安全卫生检查组织记录"
         "考试课程宿舍门卫值班电话规定制度职责岗位各级部门校长副书记会议")
PUNCT = "，。；：、！？（）《》“”…—"
SPACES = " \u3000\u00a0\t"
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x1c\x1d\x1e\x1f\x7f\x85\u2028\u2029\ufeff\u200b\u200d"

LABELS = [
    "一、", "二、", "三、", "十二、", "（一）", "（二）", "(三)", "（ 四 ）", "1.", "2.", "10.", "1．", "2．",
    "1、", "3、", "（1）", "(2)", "（12）", "1)", "①", "②", "⑳", "第一条", "第二条 ", "第十条", "第一百零一条",
    "第一章", "第二章 ", "第一节", "第二编", "- ", "• ", "* ", "一.", "二．",
]
SUFFIXES = ["岗位职责", "工作职责", "职责", "职责：", "职能", "制度", "办法", "细则", "守则", "须知"]
BOILERPLATE = ["立即下载", "我要投稿", "相关文章：", "相关阅读", "时间:2023-04-10 11:22:22 工作计划 我要投稿",
               "2023-04-10", "上一篇：学校工作总结", "责任编辑：王老师", "教育局督导工作总结03-03"]

chinese = st.text(alphabet=HANZI + PUNCT + "0123456789abc", min_size=1, max_size=40)
short_chinese = st.text(alphabet=HANZI, min_size=1, max_size=8)
spacing = st.text(alphabet=SPACES, max_size=3)


def _numbered(label: str, gap: str, text: str) -> str:
    return f"{label}{gap}{text}"


numbered_line = st.builds(_numbered, st.sampled_from(LABELS), spacing, chinese)
md_heading = st.builds(lambda n, t: "#" * n + " " + t, st.integers(1, 6), st.one_of(chinese, numbered_line))
plain_heading = st.builds(lambda t, s: t + s, short_chinese, st.sampled_from(SUFFIXES))
unit_name = st.builds(lambda t, s: t + s, short_chinese, st.sampled_from(["处", "室", "中心", "办", "委员会"]))
cell_item = st.one_of(chinese, numbered_line, unit_name, st.just(""), st.just("0535-3450836"),
                      st.sampled_from(["机构名称", "部门", "办公电话", "职责", "联系人"]))
cell = st.builds(lambda items, br: br.join(items), st.lists(cell_item, min_size=1, max_size=4),
                 st.sampled_from(["<br>", "<br/>", "<BR />", "<br><br>"]))
table_row = st.builds(lambda cells, pad: pad + "|" + "|".join(cells) + "|" + pad,
                      st.lists(cell, min_size=1, max_size=5), spacing)
separator = st.sampled_from(["|---|---|", "|:--|--:|---|", "| --- | --- | --- | --- |"])
long_line = st.builds(lambda t, n: t * n, chinese, st.integers(200, 1500))
control_line = st.text(alphabet=HANZI + CONTROL + SPACES, min_size=1, max_size=30)
field_line = st.builds(lambda k, v: f"{k}：{v}", st.sampled_from(["校训", "办学理念", "地址", "电话"]), chinese)

LINE = st.one_of(
    numbered_line, numbered_line, chinese, chinese, md_heading, plain_heading, unit_name, table_row, table_row,
    separator, st.just(""), st.just(""), spacing, st.sampled_from(BOILERPLATE), control_line, field_line,
    st.builds(lambda pad, line: pad + line + pad, spacing, numbered_line),
    st.text(max_size=30),  # anything at all
)
FRONT_MATTER = st.sampled_from(["", "---\ntitle: 学校管理制度\n---\n",
                                "---\ntitle: '规章'\neffective: 2024-09-01\n---\n", "---\nno closing fence\n"])


@st.composite
def documents(draw: st.DrawFn, long_lines: bool = False) -> str:
    """A Chinese-heavy document: front matter, then lines joined by \\n, \\r\\n or \\r."""
    kinds = st.one_of(LINE, long_line) if long_lines else LINE
    lines = draw(st.lists(kinds, min_size=0, max_size=40))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return draw(FRONT_MATTER) + newline.join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


# --- invariants ----------------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text without any whitespace (what "verbatim except whitespace" compares)."""
    return _SPACE.sub("", text)


def source_lines(text: str) -> list[str]:
    """The file's lines as the parser numbers them (\\r\\n and lone \\r are line breaks)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def row_pieces(line: str) -> tuple[str, ...]:
    """A table row's cells split at `<br>`, whitespace removed, in order."""
    inner = normalize_space(line).removeprefix("|").removesuffix("|")
    pieces = []
    for cell_text in _CELL_SPLIT.split(inner):
        pieces.extend(squash(p) for p in _BR.split(cell_text.replace("\\|", "|")))
    return tuple(p for p in pieces if p)


def made_of_pieces(text: str, pieces: tuple[str, ...]) -> bool:
    """Whether text is a concatenation of substrings of pieces taken in order (each piece at most once).

    Taking the longest possible substring of a piece is always safe (a suffix of a valid
    concatenation is again one), so only the choice of piece is searched.
    """

    @cache
    def rest_ok(pos: int, first: int) -> bool:
        if pos == len(text):
            return True
        for k in range(first, len(pieces)):
            low, high = 0, min(len(pieces[k]), len(text) - pos)
            while low < high:  # longest prefix of text[pos:] that occurs in pieces[k]
                mid = (low + high + 1) // 2
                if text[pos:pos + mid] in pieces[k]:
                    low = mid
                else:
                    high = mid - 1
            if low and rest_ok(pos + low, k + 1):
                return True
        return False

    return rest_ok(0, 0)


# Bugs the properties once found, all fixed; each keeps its own regression test below. Should one
# come back, its switch lets the properties tolerate exactly it (so they keep finding new failures)
# while it is being fixed; all are False because none stands today.
TOLERATE_JOIN_OVER_DROPPED_LINE = False  # see test_wrapped_clause_does_not_join_over_a_dropped_line
TOLERATE_BR_IN_PLAIN_CELL = False  # see test_plain_table_cell_keeps_no_br_markup
TOLERATE_UTF8_MISDECODING = False  # see test_short_utf8_file_is_read_as_utf8


def check_clauses(clauses: list[Clause], lines: list[str], kept: set[int] | None = None) -> None:
    """Every clause comes from the source lines it cites (kept: line numbers clean() kept)."""
    ids = [c.id for c in clauses]
    assert len(ids) == len(set(ids)), f"duplicate clause ids: {ids}"
    for clause in clauses:
        start, end = clause.source.line_start, clause.source.line_end
        assert 1 <= start <= end <= len(lines), f"{clause.id}: lines {start}-{end} outside 1-{len(lines)}"
        assert clause.text and squash(clause.text), f"{clause.id}: empty text"
        first = normalize_space(lines[start - 1])
        if is_table_line(first):
            assert start == end, f"{clause.id}: a table row's clause spans lines {start}-{end}"
            text = _BR.sub("", clause.text) if TOLERATE_BR_IN_PLAIN_CELL else clause.text
            if not squash(text):
                continue
            assert made_of_pieces(squash(text), row_pieces(first)), (
                f"{clause.id}: {clause.text!r} is not made of the cells of row {start}: {first!r}")
        else:
            cited = squash("".join(lines[start - 1:end]))
            if TOLERATE_JOIN_OVER_DROPPED_LINE and kept is not None and squash(clause.text) not in cited:
                cited = squash("".join(lines[n - 1] for n in range(start, end + 1) if n in kept))
            assert squash(clause.text) in cited, (
                f"{clause.id}: {clause.text!r} is not verbatim from lines {start}-{end}: {lines[start - 1:end]!r}")
        if clause.label:
            assert squash(clause.label) in squash(lines[start - 1]), (
                f"{clause.id}: label {clause.label!r} is not in line {start}: {lines[start - 1]!r}")


def parse_text(text: str, title: str) -> list[Clause]:
    """clean + parse, as the pipeline does after loading; the invariants are checked."""
    cleaned = clean(text)
    clauses = parse(cleaned, "规章.txt", title, "doc")
    check_clauses(clauses, source_lines(text), {number for number, _ in cleaned.lines})
    return clauses


# --- properties ----------------------------------------------------------------------------------


@PROFILE
@given(text=documents(), data=st.data())
def test_clean_and_parse_keep_every_clause_verbatim(text: str, data: st.DataObject) -> None:
    """Chinese-heavy documents: no crash, every clause verbatim from its lines, labels in their line."""
    lines = source_lines(text)
    candidates = [normalize_space(line) for line in lines if normalize_space(line)]
    title = data.draw(st.sampled_from(candidates) if candidates else st.just("规章制度"), label="title")
    parse_text(text, title)


@PROFILE
@given(text=st.text(max_size=400))
def test_parse_survives_arbitrary_text(text: str) -> None:
    """Any Unicode text at all (control characters, odd line breaks): no crash, invariants hold."""
    parse_text(text, "规章制度")


@settings(PROFILE, max_examples=25)
@given(text=documents(long_lines=True))
def test_parse_handles_very_long_lines(text: str) -> None:
    """Lines of thousands of characters parse and keep their text."""
    parse_text(text, "规章制度")


@st.composite
def one_table(draw: st.DrawFn) -> str:
    """A table block under a heading: header, separator, rows whose cells hold `<br>` items."""
    header = draw(st.lists(st.sampled_from(["机构名称", "部门", "办公电话", "职责", "岗位", "备注"]), min_size=1,
                           max_size=4))
    rows = draw(st.lists(table_row, min_size=1, max_size=6))
    with_separator = draw(st.booleans())
    lines = ["# 学校内设机构", "", "|" + "|".join(header) + "|"]
    if with_separator:
        lines.append("|" + "|".join("---" for _ in header) + "|")
    return "\n".join([*lines, *rows, "", draw(numbered_line)])


@PROFILE
@given(text=one_table())
def test_table_clauses_are_made_of_their_row(text: str) -> None:
    """Table rows with `<br>` pieces: each clause is built from its own row's cells, in order."""
    parse_text(text, "学校内设机构")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory reused by every example (function-scoped tmp_path does not mix with @given)."""
    return tmp_path_factory.mktemp("parse_props")


@settings(PROFILE, max_examples=80)
@given(text=st.one_of(documents(), st.text(max_size=200)), suffix=st.sampled_from([".txt", ".md"]),
       stem=st.sampled_from(["规章制度", "school rules", "岗位 职责（2024）", "a"]))
def test_parse_file_reports_or_parses_written_files(scratch: Path, text: str, suffix: str, stem: str) -> None:
    """A UTF-8 file parses to clauses verbatim from the file, or fails with a LoadError (nothing else)."""
    for old in scratch.iterdir():
        old.unlink()
    path = scratch / f"{stem}{suffix}"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        doc = parse_file(path, path.name, "doc", "0" * 64)
    except LoadError as exc:
        assert exc.message and re.search(r"[\u4e00-\u9fff]", exc.message), f"unclear reason: {exc.message!r}"
        return
    assert doc.clauses and doc.title
    loaded = load_text(path)
    if TOLERATE_UTF8_MISDECODING and source_lines(loaded) != source_lines(text):
        text = loaded  # the loader read the UTF-8 file as another encoding (that bug): check the parser alone
    check_clauses(doc.clauses, source_lines(text), {number for number, _ in clean(text).lines})


@pytest.mark.parametrize("text", [
    "",
    "\n\n\n",
    "\u3000\u3000\n\t\n",
    "---\ntitle: 只有标题\n---\n",
    "# 标题\n\n## 二级标题\n",
    "|---|---|\n|   |   |\n",
    "1.\n2.\n①\n第一章\n",
    "\x00\x01\x02",
    "学校" * 50_000,
])
def test_degenerate_documents(text: str) -> None:
    """Empty, blank, heading-only, empty-table, bare-label and huge single-line documents."""
    parse_text(text, "规章制度")


# --- bugs the properties found, now fixed: regression tests ------------------------------------


@pytest.mark.parametrize(("text", "fact"), [
    ("第五条 值班电话：\n0535-3450836\n", "0535-3450836"),
    ("联系人：王老师，手机：\n13912345678\n", "13912345678"),
])
def test_number_line_is_not_dropped_as_a_date(text: str, fact: str) -> None:
    """A phone number wrapped onto its own line is content, not a publication stamp."""
    clauses = parse_text(text, "规章制度")
    assert any(fact in squash(c.text) for c in clauses), [c.text for c in clauses]


def test_wrapped_clause_does_not_join_over_a_dropped_line() -> None:
    """Line-wrap repair must not splice text around a removed line."""
    text = "1．教师应当在每学期开学前一周内，完成\n立即下载\n个人工作计划的填报。"
    lines = source_lines(text)
    for clause in parse(clean(text), "规章.txt", "规章", "doc"):
        cited = squash("".join(lines[clause.source.line_start - 1:clause.source.line_end]))
        assert squash(clause.text) in cited, (clause.text, clause.source)


@pytest.mark.parametrize("text", [
    "|部门|职责|\n|---|---|\n|教务处|负责排课<br>|\n",
    "|<br>|\n",
    "|机构名称|总务处|办公电话|<br>0535-3450820|\n",
])
def test_plain_table_cell_keeps_no_br_markup(text: str) -> None:
    """`<br>` is layout: it never reaches a clause's text."""
    texts = [c.text for c in parse(clean(text), "表.md", "表", "doc")]
    assert not any("<br" in t.lower() for t in texts), texts


@pytest.mark.parametrize("text", ["Lycée français · école\n", "水温 ≥ 60°C，≤ 80°C\n", "×÷±°\n"])
def test_short_utf8_file_is_read_as_utf8(scratch: Path, text: str) -> None:
    """Bytes that are valid UTF-8 (with multi-byte sequences) are UTF-8."""
    path = scratch / "utf8.txt"
    path.write_text(text, encoding="utf-8")
    assert load_text(path) == text
