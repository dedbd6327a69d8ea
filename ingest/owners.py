"""Who a section belongs to: owners from headings and table keys, contacts from text."""
from __future__ import annotations

import re

from ingest.hanzi import simplified

# "班主任岗位职责", "教务处工作职责：", "中学高级教师任职条件及岗位职责", "图书馆职能".
_ROLE_HEADING = re.compile(
    r"^(?P<owner>[^\s，。,；;:：]{1,20}?)(?:任职条件及|的)?"
    r"(?:岗位职责|工作职责|主要职责|职责范围|职责|职能|工作守则|守则|工作要求)[:：]?$"
)
# A heading that is just a unit's name: "教务处", "心理咨询中心", "工会委员会".
_UNIT_NAME = re.compile(r"^[\u4e00-\u9fff（）()]{1,12}(?:处|室|科|办|部|中心|委员会|馆|站|队|组)$")
_NAME_KEY = re.compile(r"(?:名称|部门|单位|处室|科室|机构|岗位|职务)$")
_CONTACT_KEY = re.compile(r"(?:电话|联系方式|联系人|手机|热线|邮箱)")
# "学校各岗位职责", "各部门职责": a heading about everyone's duties names no single owner.
_COLLECTIVE = re.compile(r"各|^(?:学校|本校|全校|我校)$")
_NAME_PUNCT = re.compile(r"[，。；：！？,.;:!?]")
_NAME_MAX = 20
PHONE = re.compile(r"(?<!\d)(?:0\d{2,3}[-－—]?\d{7,8}|1[3-9]\d{9})(?:转\d{1,5})?(?!\d)")


def owner_from_heading(title: str) -> str | None:
    """The department or post a heading names (as written), or None."""
    title = title.strip()
    match = _ROLE_HEADING.match(simplified(title))  # "教務處工作職責" too; the name is sliced from the title
    if match:
        return None if _COLLECTIVE.search(match.group("owner")) else title[match.start("owner"):match.end("owner")]
    if _UNIT_NAME.match(simplified(title)):
        return title
    return None


def looks_like_name(value: str) -> bool:
    """True for a short value without sentence punctuation: a unit's name, not a note spanning the row."""
    return 0 < len(value) <= _NAME_MAX and not _NAME_PUNCT.search(value)


def owner_from_table_key(key: str) -> bool:
    """True for a table key or header that names a unit ("机构名称", "部门")."""
    return bool(_NAME_KEY.search(simplified(key.strip())))


def is_contact_key(key: str) -> bool:
    """True for a table key or header that holds contact details ("办公电话")."""
    return bool(_CONTACT_KEY.search(simplified(key.strip())))


def find_contact(text: str) -> str | None:
    """The first phone number a text gives, if any."""
    match = PHONE.search(text)
    return match.group(0) if match else None
