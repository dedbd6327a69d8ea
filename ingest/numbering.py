"""Numbering styles of Chinese documents: read a line's label, style and number; write numbers."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.hanzi import simplified

# The numbering tables, read here (label → number) and written by the .docx loader (number → label).
CHINESE_DIGITS = "零一二三四五六七八九"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"  # 甲乙丙… as Word's ideographTraditional lists count
EARTHLY_BRANCHES = "子丑寅卯辰巳午未申酉戌亥"
_ROMAN_NUMERALS = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                   (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))

_CN_DIGITS = {ch: value for value, ch in enumerate(CHINESE_DIGITS)} | {"〇": 0, "两": 2}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二三四五六七八九十百千两"

# Order matters: the first pattern that matches names the style. Each captures (label, number).
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("chapter", re.compile(rf"^(第([{_CN}\d]+)(?:章|编|部分|部))\s*")),
    ("jie", re.compile(rf"^(第([{_CN}\d]+)[节節])\s*")),
    ("article", re.compile(rf"^(第([{_CN}\d]+)[条條])\s*")),
    # "一、二年级不布置书面作业", "一、二等奖": numbers listed before what they count, not item 一.
    ("cn", re.compile(rf"^(([{_CN}]+)\s*[、.．])(?![{_CN}]{{1,2}}(?:年级|班|学期|等奖))\s*")),
    ("paren_cn", re.compile(rf"^([（(]\s*([{_CN}]+)\s*[)）][、.．]?)\s*")),
    ("paren_num", re.compile(r"^([（(]\s*(\d{1,3})\s*[)）][、.．]?)\s*")),
    # "1.5倍" is a number, not item 1; "3.7:20以后到校的" is item 3 about a time.
    ("num", re.compile(r"^((\d{1,3})\s*(?:[.．](?!\d)|[.．](?=\d{1,2}[:：]\d{2})|、|\s*[)）](?!\d)))\s*")),
    ("circled", re.compile(rf"^(([{CIRCLED}]))\s*")),
    ("bullet", re.compile(r"^(([-*+•·▪●○◆■□]))\s+")),
]


@dataclass(frozen=True)
class Numbered:
    """A line split into its numbering label and the rest."""

    style: str
    label: str
    number: int | None
    rest: str
    spaced: bool = False  # the source puts a space between label and text ("第一条 …", not "（一）…")


def cn_to_int(text: str) -> int | None:
    """Convert 一 / 十二 / 二十三 / 105 to an int; None if it is not a number."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return total + digit


def chinese_number(n: int) -> str:
    """一, 十, 十一, 二十三 … for 1–99 (list numbers never go further in practice); else decimal."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = ("" if tens == 1 else CHINESE_DIGITS[tens]) + "十" if tens else ""
    return head + (CHINESE_DIGITS[ones] if ones else "")


def letters(n: int) -> str:
    """a, b, … z, aa, bb … as Word counts letters."""
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else str(n)


def roman(n: int) -> str:
    """Lower-case roman numerals."""
    out = ""
    for value, numeral in _ROMAN_NUMERALS:
        count, n = divmod(n, value)
        out += numeral * count
    return out


_ARTICLE_REF = re.compile(rf"第\s*([{_CN}\d]+)\s*[条條]")


def article_numbers(text: str) -> list[int]:
    """The article numbers a text refers to: "第三条", "第 12 条" → [3, 12] (in order, no repeats)."""
    numbers = [cn_to_int(raw) for raw in _ARTICLE_REF.findall(simplified(text))]
    return list(dict.fromkeys(n for n in numbers if n is not None))


def blank_article_refs(text: str) -> str:
    """The text with its article references replaced by spaces (they are looked up, not matched as words)."""
    return _ARTICLE_REF.sub(lambda m: " " * len(m.group(0)), text)


def split_label(line: str) -> Numbered | None:
    """Recognise a leading numbering label; None when the line is not a numbered item."""
    for style, pattern in _PATTERNS:
        match = pattern.match(simplified(line))  # "第三條", "第一編": the label is sliced from the line as written
        if not match:
            continue
        label, raw = line[match.start(1):match.end(1)].strip(), match.group(2)
        number = CIRCLED.index(raw) + 1 if style == "circled" else cn_to_int(raw)
        if style != "bullet" and number is None:
            continue
        rest = line[match.end():].strip()
        gap = line[match.start(1):len(line) - len(line[match.end():].lstrip())][len(label):]
        if not rest and style not in ("chapter", "jie", "article"):
            continue  # a bare "1." is a stray mark, not an item
        return Numbered(style=style, label=label, number=number, rest=rest,
                        spaced=any(ch.isspace() for ch in gap))
    return None
