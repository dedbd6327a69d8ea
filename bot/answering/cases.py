"""Which case of a rule a question is in, by the length of time it names ("请两天假" is in "三天以内").

Rules split approval by how long: "请假一天以内的，由年级主任批准；三天以内的，由分管副校长批准；三天
以上的，由校长批准". A question names a length of time in its own words ("两天", "一周", "半天"), and each
case names a range; the question's case is the narrowest range that holds its length. The cases are
the parts of one clause, or sibling items of one list ("（1）半天以内：由班主任审批。（2）…").
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.retrieve import Hit
from ingest.hanzi import simplified
from ingest.numbering import cn_to_int

_DAYS = {"小时": 1 / 24, "天": 1.0, "日": 1.0, "周": 7.0, "星期": 7.0, "礼拜": 7.0, "月": 30.0}
_NUMBER = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+|半)"
_UNIT = r"\s*(?:个)?\s*(?:整)?(小时|天|日|周|星期|礼拜|月)"  # "一整天" is one day
_LENGTH = re.compile(_NUMBER + _UNIT)
_JUST_OVER = 1e-6  # "超过三天": a length just over three days
_SPAN = re.compile(_NUMBER + r"\s*(?:-|－|~|～|至|到)\s*" + _NUMBER + _UNIT)
_AT_MOST = re.compile(r"(?:不超过|不满|不足|未满|少于)\s*" + _NUMBER + _UNIT + "|"
                      + _NUMBER + _UNIT + r"(?:以内|之内|以下|内)")
_OVER = re.compile(r"(?:超过|多于|大于)\s*" + _NUMBER + _UNIT)  # more than: the number itself is not in
_FROM = re.compile(r"满\s*" + _NUMBER + _UNIT + "|" + _NUMBER + _UNIT + r"(?:以上|之上)")  # the number and more


def days(number: str, unit: str) -> float | None:
    """A number and a unit of time as a number of days ("两", "周" → 14), or None."""
    value = 0.5 if number == "半" else float(number) if number[0].isdigit() else cn_to_int(number)
    return None if value is None else value * _DAYS[unit]


def asked_length(question: str) -> float | None:
    """The length of time a question names, in days ("请一周假" → 7), or None. A range stands for a
    length inside it: "超过三天" for just over three days, "三天以内" for three days."""
    asked = case_range(question)
    if asked is not None:
        low, high = asked
        return low + _JUST_OVER if high == math.inf else high
    match = _LENGTH.search(question)
    return days(match.group(1), match.group(2)) if match else None


def case_range(case: str) -> tuple[float, float] | None:
    """The range of lengths, in days, a case of a rule covers ("三天以内" → (0, 3)), or None."""
    span = _SPAN.search(case)
    if span:
        low, high = days(span.group(1), span.group(3)), days(span.group(2), span.group(3))
        return (low, high) if low is not None and high is not None else None
    at_most = _AT_MOST.search(case)  # before "more than": "不超过三天" holds "超过三天"
    if at_most:
        value = _first_length(at_most.groups())
        return (0.0, value) if value is not None else None
    over = _OVER.search(case)
    if over:
        value = days(over.group(1), over.group(2))
        return (value + _JUST_OVER, math.inf) if value is not None else None
    start = _FROM.search(case)
    if start:
        value = _first_length(start.groups())
        return (value, math.inf) if value is not None else None
    return None


def narrowest(length: float, ranges: dict[str, tuple[float, float] | None]) -> list[str]:
    """The keys whose range holds the length, only the narrowest; [] when none holds it, or when it is
    the very boundary between two cases ("三天" in "三天以内" and in "三天以上": naming one is a guess)."""
    holding = {key: r for key, r in ranges.items() if r is not None and r[0] <= length <= r[1]}
    bounds = [r for r in holding.values() if length in r]
    if not holding or (any(length == low for low, _ in bounds) and any(length == high for _, high in bounds)):
        return []
    width = min(high - low for low, high in holding.values())
    return [key for key, (low, high) in holding.items() if high - low == width]


def _first_length(groups: tuple[str | None, ...]) -> float | None:
    """The length of the (number, unit) pair an alternation of two such pairs matched."""
    number, unit = (groups[0], groups[1]) if groups[0] is not None else (groups[2], groups[3])
    return days(number, unit) if number and unit else None


def case_sibling(hits: Sequence[Hit], chosen: Hit, question: str) -> Hit | None:
    """The item of the chosen clause's list whose case holds the question's length of time, when the
    list's items are cases ("（1）半天以内…由班主任审批" … "（4）三天以上…报分管副校长审批") and one
    of them, among the retrieved, holds it narrowest; else None."""
    length = asked_length(simplified(question))
    if length is None:
        return None
    clause = chosen.clause
    siblings = [h for h in hits if h.clause.doc_id == clause.doc_id and h.clause.section == clause.section]
    ranges = {h.clause.id: case_range(simplified(h.clause.text)) for h in siblings}
    if sum(1 for r in ranges.values() if r is not None) < 2:
        return None  # one case alone is no list of cases
    held = narrowest(length, ranges)
    return next((h for h in siblings if h.clause.id == held[0]), None) if len(held) == 1 else None
