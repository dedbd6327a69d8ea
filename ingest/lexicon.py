"""The name endings of units and posts, and the other word lists that read names: one place for all.

Names are recognised by how Chinese names of units and posts end (教务处, 心理咨询中心, 网络管理员),
never by a list of any school's names. Ingest reads owners with them, and the answer side reads who a
sentence makes responsible with the same lists (bot/answering/owners.py).
"""
from __future__ import annotations

from collections.abc import Iterable

# A unit: "教务处", "心理咨询中心", "工会委员会", "体育组".
UNIT_ENDINGS = ("处", "室", "科", "办", "部", "中心", "委员会", "团委", "学院", "馆", "站", "队", "组")
# A post: "网络管理员", "宿管人员", "团委干事", "年级主任", "班主任".
POST_ENDINGS = ("员", "人员", "干事", "主任", "门卫", "保安", "校医", "教师", "老师", "班主任")
# What a school's or an education body's name ends with ("江城市第七中学", "宽柔中学古来分校").
SCHOOL_KINDS = ("中学", "小学", "学校", "学院", "大学", "幼儿园", "分校")
# Endings that are a whole post's or unit's name on their own ("门卫：负责…"); "主任", "中心" are not.
WHOLE_NAMES = ("门卫", "保安", "校医", "班主任", "团委")
# Of a regulation or a plan's actors as well: "县级以上人民政府教育行政部门", "卫生防疫站", "校长".
BODY_ENDINGS = ("会", "师", "长", "书记", "负责人", "责任人", "机关", "部门", "领导", "所", "局", "院", "政府", "机构")
# Whatever ends like this names a party in a sentence ("由X负责", "交X签字").
ROLE_ENDINGS = tuple(dict.fromkeys((*UNIT_ENDINGS, *POST_ENDINGS, *BODY_ENDINGS)))
# A post asked about by head count ("几个校医", "多少名保洁"): posts, and the everyday names of some.
COUNTED_POSTS = ("员", "师", "医", "长", "主任", "人员", "老师", "干事", "保安", "保洁")
# A unit whose name a several-unit title repeats ("教务处事务处图书馆工作职能").
LISTED_UNITS = ("处", "馆", "中心", "科", "部")


def alternation(words: Iterable[str]) -> str:
    """A regex group matching any of the words (as literal text)."""
    return "(?:" + "|".join(words) + ")"
