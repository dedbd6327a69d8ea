"""Cleaning: front matter, web boilerplate and whitespace, keeping every line's source number."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.hanzi import simplified
from ingest.lexicon import SCHOOL_KINDS, UNIT_ENDINGS, alternation
from ingest.numbering import split_label

# Whitespace that Chinese documents use for layout: full-width space, no-break space, zero-width marks.
_SPACE_RE = re.compile(r"[\s\u3000\u00a0\u200b\u200c\u200d\ufeff]+")
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")

# Lines that are site furniture rather than content: download buttons, submit links, share bars.
_BOILERPLATE_LINE = re.compile(
    r"^(?:[•·\-*>\s]*)(?:(?:立即|点击|免费|一键)?下载(?:本文|本篇|此文|全文|文档|本文档|[Ww]ord文档|附件)?|我要投稿|我要评论|发表评论|收藏本文|加入收藏|"
    r"分享到[:：]?.*|打印本页|打印本文|关闭窗口|返回顶部|返回首页|阅读全文|展开全文|扫一扫.*|"
    r"上一篇[:：].*|下一篇[:：].*|本文链接[:：].*|责任编辑[:：].*|来源[:：]\s*\S{0,20}|"
    r"浏览次数[:：].*|点击次数[:：].*|阅读量[:：].*|相关推荐|猜你喜欢|热门推荐|精选推荐|推荐阅读|"
    r"热门文章|最新文章|延伸阅读)$"
)
# A breadcrumb trail: "首页 > 规章制度", "当前位置：网站首页 » 通知公告 » 正文".
_BREADCRUMB = re.compile(r"^(?:当前位置|您的位置|你的位置|位置)?[:：]?\s*(?:网站)?(?:首页|主页)\s*(?:>|»|›|＞|/|→)")
# A publication stamp such as "时间:2023-04-10 11:22:22 工作计划 我要投稿".
_STAMP_LINE = re.compile(r"^(?:发布)?(?:时间|日期|发布时间|更新时间)\s*[:：]\s*\d{4}[-/年.]\d{1,2}[-/月.]\d{1,2}")
_DATE_ONLY = re.compile(r"^(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*)?(?:\d{1,2}:\d{2}(?::\d{2})?)?$")
# "【…】相关文章:" / "相关阅读：" opens a trailing list of links to other articles.
_RELATED_HEAD = re.compile(r"(?:相关文章|相关阅读|相关推荐|相关内容|更多相关|猜你喜欢|热门推荐)\s*[:：]?\s*$")
# A link-list entry: a short title, often ending in a date such as "教育局督导工作总结03-03".
_LINK_ENTRY = re.compile(r"^.{2,40}?\s*\d{2}-\d{2}$")
_SENTENCE = re.compile(r"[，。；：！？,;:!?]")
_RELATED_ENTRY_MAX = 40
# A date of issue or revision standing alone: "2021年9月14日", "二〇一〇年五月修订", "2008．9".
_ISSUE_DATE = re.compile(r"^(?:[\d〇零○一二三四五六七八九]{4}\s*[年.．/-]\s*[\d一二三四五六七八九十]{1,3}\s*月?"
                         r"(?:\s*[\d一二三四五六七八九十]{1,3}\s*日?)?)\s*(?:修订|修改|制定|印发|发布)?$")
_SIGNATURE_MAX = 20
# A website's footer: "Copyright © 2018-2023 XX小学 版权所有", "浙ICP备18012345号", "技术支持：XX公司".
_SITE_FOOTER = re.compile(r"版权所有|Copyright|©|ICP备|ICP证|公网安备|技术支持[:：]", re.IGNORECASE)
_SITE_FOOTER_MAX = 100
_CLAUSE_PUNCT = re.compile(r"[，。；,;]")
# "江城市第七中学　　二〇二四年四月十五日": the issuer and the date on one line, set apart by spaces.
_NAME_THEN_DATE = re.compile(r"^(?P<name>\S{2,20})\s+(?P<date>\S.*)$")
# An issuer's name: a school's or an education body's, or one of its units ("江城市第七中学总务处",
# "XX县教育局"). A bare unit's name is not enough: a last duty may lack its full stop too.
_ISSUER = re.compile(alternation((*SCHOOL_KINDS, "教育局", "教育厅", "教育委员会", "教体局"))
                     + r"(?:[\u4e00-\u9fff]{0,8}" + alternation(UNIT_ENDINGS) + r")?$")
_SINGLE_HAN = re.compile(r"^[\u3400-\u9fff]$")


@dataclass
class CleanText:
    """A document's content lines after cleaning, each with its 1-based source line number."""

    lines: list[tuple[int, str]]
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        """The front matter title, if any."""
        return self.meta.get("title") or None


def normalize_space(text: str) -> str:
    """Collapse layout whitespace (full-width, no-break, tabs) into single spaces and trim."""
    return _SPACE_RE.sub(" ", text).strip()


def clean(text: str) -> CleanText:
    """Strip front matter and web boilerplate; keep the remaining lines with their line numbers."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, start = _front_matter(raw)
    lines = [(number, line.rstrip()) for number, line in enumerate(raw[start:], start=start + 1)]
    lines = _drop_signatures(_join_vertical(_drop_related_blocks(lines)))
    kept = [(number, line) for number, line in lines if not _is_boilerplate(normalize_space(line))]
    return CleanText(lines=kept, meta=meta)


def _drop_signatures(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A closing signature is not a rule: the issuer's name on the line before a date ("渭南师范学院
    院长办公室" / "2021年9月14日"), and dates of issue or revision ("二〇一〇年五月修订")."""
    text = [normalize_space(line) for _, line in lines]
    drop: set[int] = set(_closing_name(text))
    for index, line in enumerate(text):
        if not _ISSUE_DATE.match(line) and not _signed_and_dated(line):
            continue
        drop.add(index)
        before = next((i for i in range(index - 1, -1, -1) if text[i]), None)
        if before is None:
            continue
        closing = any(_SENTENCE.search(line) for line in text[:before])  # a line above that is not a title
        if closing and len(text[before]) <= _SIGNATURE_MAX and not _SENTENCE.search(text[before]):
            drop.add(before)
    return [line for index, line in enumerate(lines) if index not in drop]


def _signed_and_dated(line: str) -> bool:
    """True for an issuer's name and a date of issue on one line."""
    match = _NAME_THEN_DATE.match(line)
    return bool(match and _ISSUE_DATE.match(match.group("date")) and not _SENTENCE.search(match.group("name")))


def _closing_name(text: list[str]) -> list[int]:
    """The last line when it is only an issuer's name under the rules ("江城市第七中学总务处"), undated."""
    filled = [i for i, line in enumerate(text) if line]
    if len(filled) < 2:
        return []
    last = text[filled[-1]]
    signed = len(last) <= _SIGNATURE_MAX and not _SENTENCE.search(last) and _ISSUER.search(simplified(last))
    ruled = any(_SENTENCE.search(line) for line in text[:filled[-1]])
    return [filled[-1]] if signed and ruled and not split_label(last) else []


def _join_vertical(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A heading typeset one character a line ("工\n作\n职\n责") is one line again, at its first line."""
    joined: list[tuple[int, str]] = []
    run: list[tuple[int, str]] = []
    for number, line in [*lines, (0, "")]:
        if _SINGLE_HAN.match(normalize_space(line)):
            run.append((number, normalize_space(line)))
            continue
        if len(run) >= 2:
            joined.append((run[0][0], "".join(ch for _, ch in run)))
        else:
            joined.extend(run)
        run = []
        if number:
            joined.append((number, line))
    return joined


def _front_matter(raw: list[str]) -> tuple[dict[str, str], int]:
    """Parse a leading `---` block of `key: value` lines; return it and the first content index."""
    if not raw or raw[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for index, line in enumerate(raw[1:], start=1):
        if line.strip() == "---":
            return meta, index + 1
        match = _FRONT_MATTER_KEY.match(line.strip())
        if match:
            meta[match.group(1).lower()] = match.group(2).strip().strip("'\"")
    return {}, 0  # no closing fence: not front matter after all


def _is_boilerplate(line: str) -> bool:
    """True for a line that is page furniture (buttons, stamps, bare dates)."""
    if not line:
        return False
    line = simplified(line)  # "相關推薦", "發佈時間": the same furniture in traditional characters
    if _BOILERPLATE_LINE.match(line) or _STAMP_LINE.match(line) or _BREADCRUMB.match(line):
        return True
    if len(line) <= _SITE_FOOTER_MAX and _SITE_FOOTER.search(line) and not _CLAUSE_PUNCT.search(line):
        return True  # a footer is no sentence: "…版权所有作品的内容，一经发现…" is a rule
    return bool(_DATE_ONLY.match(line)) and any(ch.isdigit() for ch in line)  # a bare date or time stamp


def _drop_related_blocks(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Remove a "相关文章" heading and the run of short link entries that follows it."""
    kept: list[tuple[int, str]] = []
    skipping = False
    for number, line in lines:
        text = normalize_space(line)
        if _RELATED_HEAD.search(simplified(text)) and len(text) <= _RELATED_ENTRY_MAX:
            skipping = True
            continue
        if skipping and (not text or _is_link_entry(text)):
            continue
        skipping = False
        kept.append((number, line))
    return kept


def _is_link_entry(text: str) -> bool:
    """A line of a related-articles list: a dated title, or a short title that is no sentence or item."""
    if _LINK_ENTRY.match(text):
        return True
    return len(text) <= _RELATED_ENTRY_MAX and not _SENTENCE.search(text) and split_label(text) is None
