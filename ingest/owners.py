"""Who a section belongs to: owners from headings and table keys, contacts from text."""
from __future__ import annotations

import re

from ingest.hanzi import simplified
from ingest.lexicon import (
    LISTED_UNITS,
    POST_ENDINGS,
    ROLE_ENDINGS,
    SCHOOL_KINDS,
    UNIT_ENDINGS,
    WHOLE_NAMES,
    alternation,
)
from ingest.numbering import split_label

# "班主任岗位职责", "教务处工作职责：", "中学高级教师任职条件及岗位职责", "图书馆职能".
_ROLE_HEADING = re.compile(
    r"^(?P<owner>[^\s，。,；;:：]{1,20}?)(?:任职条件及|的)?"
    r"(?P<kind>岗位职责|工作职责|工作职能|主要职责|职责范围|职责|职能|工作守则|守则|工作要求)[:：]?$"
)
# "学校卫生工作要求", "学生守则": rules and requirements are also written about a topic or about
# students; such a heading names an owner only when the name ends like a unit's or a post's (门卫工作守则).
_TOPIC_KINDS = ("工作守则", "守则", "工作要求")
# A heading that is just a unit's name: "教务处", "心理咨询中心", "工会委员会".
_UNIT_NAME = re.compile(r"^[\u4e00-\u9fff（）()]{0,12}" + alternation(UNIT_ENDINGS) + "$")
_UNIT_WORK = re.compile(r"^(?P<owner>[^\s，。,；;:：]{2,40}?)(?:的)?"
                        r"(?:工作|工作计划|工作要点|工作安排|工作任务)[:：]?$")
# Where a school's name or a term ends inside a long title: "XX中学", "2008学年第一学期".
# (A school's name has a name before its kind: "中学高级教师" is a rank, not a school's post.)
# A school's short name opening a post's ("七中门卫", "二小教导处") is one too: a numeral and 中 or 小.
_SCHOOL_OR_TERM = re.compile(r"(?:[\u4e00-\u9fffA-Za-z0-9]{2,}?" + alternation(SCHOOL_KINDS)
                             + r"|^[一二三四五六七八九十\d]{1,3}[中小](?![心学间层队级部])"
                             r"|学期|学年|年度|\d{4}年)")
_UNIT_PLAN = re.compile(r"(?:工作计划|工作要点|工作安排|工作总结)$")
# "总务处：负责…", "门卫：…" (a name that is only its ending), "信息联络组（校长办公室牵头）：…" (a note
# on the name before the colon).
_LINE_OWNER = re.compile(r"^((?=[\u4e00-\u9fff]{2})[\u4e00-\u9fff]{0,10}?" + alternation((*UNIT_ENDINGS, *POST_ENDINGS))
                         + r")\s*([（(][^（）()]{1,20}[)）])?\s*[：:]\s*\S")
# "教务处事务处图书馆工作职能": one file for several units names none of them for all its items.
_SEVERAL_UNITS = re.compile(r"^(?:[\u4e00-\u9fff]{1,6}?" + alternation(LISTED_UNITS) + r"){2,}$")
_MOTTO = re.compile(r"\s*(?:——|—|──|--)\s*")
_ENGLISH_TAIL = re.compile(r"(?<=[\u4e00-\u9fff])\s+[A-Za-z][A-Za-z &/'.-]*$")
_NAME_KEY = re.compile(r"(?:名称|部门|单位|处室|科室|机构|岗位|职务)$")
_CONTACT_KEY = re.compile(r"(?:电话|联系方式|联系人|手机|热线|邮箱)")
# "学校各岗位职责", "各部门职责": a heading about everyone's duties names no single owner.
_COLLECTIVE = re.compile(r"各|^(?:学校|本校|全校|我校)$")
_GENERIC = frozenset({"部门", "岗位", "工作", "主要", "本部门", "本岗位", "基本", "具体", "日常", "管理", "工作人员",
                      "相关部门", "有关部门", "其他部门", "各部门", "成员", "组员", "人员"})
# A line that announces a list of duties or tasks ("承担下列任务：", "其职责是：", "的主要任务是：").
_DUTY_LEAD_IN = re.compile(r"(?:(?:下列|以下|如下)(?:任务|职责|职能|工作)|(?:职责|任务|职能)(?:是|为|如下|包括))[:：]$")
# Its subject: a name ending like a unit, post or body, at the start of the line ("各级卫生防疫站，").
_LEAD_ACTOR = re.compile(r"^(?:各级|各)?(?P<name>[\u4e00-\u9fff]{2,20}?" + alternation(ROLE_ENDINGS)
                         + r")(?=[，,在对的应负承履行其主])")
# A plan's paragraph that hands the section's items to a unit ("本年度学校办公室计划做好以下几方面的工作："):
# the unit its last sentence names before what it will do.
_PLAN_LEAD_IN = re.compile(r"(?:以下|下列|如下)[^，。；,;:：]{0,6}?(?:工作|任务)[:：]$")
_PLAN_ACTOR = re.compile(r"([\u4e00-\u9fff]{1,12}" + alternation(UNIT_ENDINGS) + r")(?=将|计划|拟|要|应|主要|重点)")
_OUR = re.compile(r"^(?:学校|本校|我校|全校)")
_SENTENCE_END = re.compile(r"[。；;！!]")
_NAME_PUNCT = re.compile(r"[，。；：！？,.;:!?]")
_NAME_MAX = 20
# A number with its area code, a mobile, or a local number of 7-8 digits where a label or colon says it
# is one ("总务处（领导小组办公室）：6621103", "值班电话 8826 3015"); not a date ("：20230901").
_LOCAL = (r"(?:" + "|".join(f"(?<={cue})|(?<={cue} )" for cue in ("[：:]", "电话", "热线", "分机", "号码"))
          + r")(?!(?:19|20)\d{6}(?!\d))[2-9]\d{2,3}[-\s]?\d{4}(?![\d人元个名次万件份])")
PHONE = re.compile(r"(?<!\d)(?:0\d{2,3}[-－—]?\d{3,4}[-\s]?\d{4}|1[3-9]\d{9}|" + _LOCAL + r")(?:转\d{1,5})?(?!\d)")


def owner_from_heading(title: str) -> str | None:
    """The department or post a heading names (as written, without the school's name before it), or None."""
    title = _ENGLISH_TAIL.sub("", title.strip())  # "教务处 Academic Department": a bilingual heading
    match = _ROLE_HEADING.match(simplified(title))  # "教務處工作職責" too; the name is sliced from the title
    if match:
        name = match.group("owner")
        # "部门职责", "工作职责", "各部门职责": a section of whoever the enclosing heading names.
        owner = _without_school(title[match.start("owner"):match.end("owner")])
        generic = _COLLECTIVE.search(name) or name in _GENERIC or _SEVERAL_UNITS.match(simplified(owner))
        topic = match.group("kind") in _TOPIC_KINDS and not name.endswith(ROLE_ENDINGS)
        return None if generic or topic else owner
    if len(title) >= 2 and _UNIT_NAME.match(simplified(title)):
        # "领导小组" over "组长：校长 / 总务处：负责…" lists a body's members; each line names its own owner.
        return None if simplified(title).endswith("小组") else title
    # "（二）教务处工作", "团委工作计划", "XX中学2008学年第一学期现代教育技术中心工作计划": a unit's own
    # section (or document) of a plan; its items are that unit's work.
    title = _unnumbered(title)
    head = motto_owner(title)
    if head:
        return head
    match = _UNIT_WORK.match(simplified(title))
    if not match:
        return None
    start = max((m.end() for m in _SCHOOL_OR_TERM.finditer(match.group("owner"))), default=0)
    name = match.group("owner")[start:]
    if len(name) >= 2 and _UNIT_NAME.match(name) and not _COLLECTIVE.search(name):
        return title[match.start("owner") + start:match.end("owner")]
    return None


def is_unit_work(title: str) -> bool:
    """True for a unit's section of a plan ("（七）总务处工作", "团委工作计划"): that year's tasks, not
    the unit's standing duties."""
    return bool(_UNIT_WORK.match(simplified(_unnumbered(title))))


def _unnumbered(title: str) -> str:
    """The title without its numbering label ("（七）总务处工作" → "总务处工作")."""
    numbered = split_label(title)
    return numbered.rest if numbered and numbered.rest else title


def motto_owner(title: str) -> str | None:
    """The unit a "宣传部——以升旗仪式为载体，…" heading names before its motto, or None."""
    parts = _MOTTO.split(title.strip(), maxsplit=1)
    head = parts[0].strip()
    if len(parts) == 2 and len(head) >= 2 and _UNIT_NAME.match(simplified(head)) and not _COLLECTIVE.search(head):
        return head
    return None


def owner_from_lead_in(text: str) -> str | None:
    """The body a lead-in gives a list of duties to ("各级卫生防疫站，对学校卫生工作承担下列任务：",
    "县以上卫生行政部门对学校卫生工作行使监督职权。其职责是：", "…保健机构的主要任务是："), or None.

    The list's items are that body's duties, as a post's items under "X岗位职责" are the post's.
    """
    text = simplified(text.strip())
    if not _DUTY_LEAD_IN.search(text):
        return None
    match = _LEAD_ACTOR.match(text)
    if not match:
        return None
    name = match.group("name")
    name = name[name.rfind("的") + 1:]  # "区域性的中小学生卫生保健机构": the body, not its description
    return name if len(name) >= 2 and name not in _GENERIC else None


def plan_owner(text: str) -> str | None:
    """The unit a plan's lead-in paragraph gives its section's items to ("…办公室计划做好以下工作："), or None."""
    text = text.strip()
    if not text.endswith((":", "：")):  # called for every paragraph line as it grows: the cheap test first
        return None
    plain = simplified(text)  # matched simplified; the name is sliced from the text as written
    if not _PLAN_LEAD_IN.search(plain):
        return None
    start = max((m.end() for m in _SENTENCE_END.finditer(plain)), default=0)  # its last sentence
    match = _PLAN_ACTOR.search(plain, start)
    if not match:
        return None
    name = _without_school(text[match.start(1):match.end(1)])
    ours = _OUR.match(simplified(name))
    name = name[ours.end():] if ours and len(name) - ours.end() >= 2 else name
    return name if simplified(name) not in _GENERIC and not _COLLECTIVE.search(simplified(name)) else None


def line_owner(text: str) -> str | None:
    """The unit or post a line opens with before a colon ("总务处：负责校舍检查"), if it names one."""
    match = _LINE_OWNER.match(simplified(text))
    if not match or match.group(1) in _GENERIC:
        return None
    if match.group(1) in (*UNIT_ENDINGS, *POST_ENDINGS) and match.group(1) not in WHOLE_NAMES:
        return None  # "主任：许甄甄" lists a person under a unit; "门卫：…" names a post
    # The note stays with the name: "抢险组（总务处牵头）" says who leads it (questions find it without).
    return text[match.start(1):match.end(2) if match.group(2) else match.end(1)]


def is_unit_plan(title: str) -> bool:
    """A unit's own plan ("…团委工作计划"): the unit owns the whole document, whatever its headings."""
    return bool(_UNIT_PLAN.search(simplified(title))) and owner_from_heading(title) is not None


def _without_school(name: str) -> str:
    """A post's name without the school's name before it ("XX中学门卫" → 门卫), when a name is left."""
    cut = max((m.end() for m in _SCHOOL_OR_TERM.finditer(simplified(name))), default=0)
    return name[cut:] if len(name) - cut >= 2 else name


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
