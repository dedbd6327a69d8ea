"""What kind of answer a question wants: who is responsible, a post's duties, a contact, or a fact.

The forms are general Chinese question forms, not words of any document. A first-person or
situational opening ("我是新来的班主任，…", "明天要带学生春游，…") is context: the intent is read
from the whole question, and an opening never turns a duty question into a fact question.
"""
from __future__ import annotations

import re
from typing import Literal

from bot.retrieve import blank_owner_mentions, owner_aliases
from bot.terms import key_terms

Intent = Literal["who", "duties", "contact", "fact"]

# "补考去哪儿申请", "到哪里报备": where one goes for it is the office that handles it.
WHO = re.compile(r"谁|找哪|报哪|交给哪|送哪|由哪|归哪|去哪|到哪|负责人是|什么部门|什么人|"
                 r"哪(?:个|一个|位|些|一)?(?:部门|处室|处|科室|科|办公室|部|组|中心|单位|机构|老师|领导|岗位|人|主任)"
                 r"(?!职责|职能|工作职责)")  # "有哪些岗位职责" asks for duties, not for a post
# What a post or unit does: "有哪些职责", "都管些啥", "要干啥", "平时要做哪些".
DUTIES = re.compile(r"(?:有哪些|有什么|是什么|包括哪些|包括什么|都有哪些)(?:岗位)?(?:职责|职能|工作|任务|责任)|"
                    r"(?:职责|职能)(?:有哪些|是什么|包括|都有|范围)|岗位职责|(?:职责|职能)[？?。！!]*$|"
                    r"(?:管|干|做|忙|负责)(?:些|一些|的)?(?:啥|什么|哪些)(?:样的)?(?:事|事情|事务|工作|活)?(?:呀|啊|呢|吗)?[？?]?$|"
                    r"(?:要|该|得|需要|都|主要|平时|具体)(?:管|干|做|负责)(?:些|一些)?(?:啥|什么|哪些)")
# Whom something is handed or reported to: a verb of handing over, then where or to whom ("材料交哪儿",
# "报给局里哪个科"), or to whom, then the verb ("该跟谁说", "找谁报备"). A question of this form asks who
# receives it, which the rules name after 交/报/向/送, not as the sentence's actor.
RECIPIENT = re.compile(r"(?:交|报|送|递|上报|上交|报告|汇报|反映|报备|申请)(?:给|到|至|去|向)?"
                       r"(?:(?![在是])[^，。？?！!\s]){0,4}?(?:哪|谁)|"
                       r"(?:跟|向|给|和|找)(?:谁|哪)[^，。？?！!\s]{0,6}?(?:说|讲|报|交|送|汇报|反映|报告|报备|申请|签)")
# A question asking what something is or does ("会计是干什么的", "团委是管啥的"); not how many or when.
_WHAT = re.compile(r"什么|啥|哪些|干嘛")
CONTACT = re.compile(r"电话|联系方式|怎么联系|如何联系|号码|手机|分机")
_BARE = re.compile(r"[\W_]+")  # punctuation and spaces around a bare name
# "我是新来的班主任", "我刚当上宿管": the speaker's own post, named before the question proper.
_FIRST_PERSON_POST = re.compile(r"^(?:我是|我当|我刚当上|我刚做|我新当|本人是|我们是)")
# "我在食堂管仓库，…", "刚调到总务处，…": an opening part in which the speaker says what their job is.
_SPEAKER_OPENING = re.compile(r"^(?:我|本人|刚)[^，,。；;！!？?]*[，,]")


def detect_intent(question: str, owners: list[str]) -> Intent:
    """What kind of answer the question wants."""
    if owners and CONTACT.search(question):
        return "contact"
    if owners and not WHO.search(question) and (DUTIES.search(question) or _names_only_the_post(question, owners)):
        return "duties"
    if owners and _BARE.sub("", question) in (owners[0], *owner_aliases(owners[0])):
        return "duties"  # just a post's name ("班主任"), as typed into a chat: what that post does
    if WHO.search(question) or RECIPIENT.search(question):
        return "who"
    return "fact"


def _names_only_the_post(question: str, owners: list[str]) -> bool:
    """The question asks what, and names nothing but the post: "会计是干什么的", "年级组长都干嘛",
    "保管员的活有哪些". Whatever else it names is its topic ("会计怎么记账" is about 记账)."""
    if not _WHAT.search(question) or RECIPIENT.search(question):
        return False
    return not key_terms(without_speaker_opening(blank_owner_mentions(question, owners)))


# "谁是校长？", "班主任是谁", "出纳员叫什么名字": the person in a post, whom the rules never name.
_HOLDER = re.compile(r"谁是|是谁|是哪位|哪位是|叫什么(?:名字)?|叫啥(?:名字)?|姓什么|姓啥")
_FILLER = re.compile(r"[\W_]|请问|想问下?|问一下|我们|咱们|学校|的|呀|啊|呢|吗")


def asks_who_holds(question: str, owners: list[str]) -> bool:
    """True when the question asks only who holds a post it names ("出纳员是谁"), not who does something
    about it ("班主任是谁来选的")."""
    if not owners or not _HOLDER.search(question):
        return False
    return not _FILLER.sub("", _HOLDER.sub("", blank_owner_mentions(question, owners)))


def asks_recipient(question: str) -> bool:
    """True when the question asks whom something is handed or reported to."""
    return bool(RECIPIENT.search(question))


def without_speaker_opening(question: str) -> str:
    """The question after an opening part in which the speaker describes their own job, if any."""
    rest = _SPEAKER_OPENING.sub("", question, count=1)
    return rest or question


def speaker_post(question: str, owners: list[str]) -> str | None:
    """The post a first-person opening names ("我是新来的班主任，…" → 班主任), if the rules know it."""
    if not owners or not _FIRST_PERSON_POST.search(question):
        return None
    opening = re.split(r"[，,。；;！!？?]", question, maxsplit=1)[0]
    return next((o for o in owners if any(a in opening for a in owner_aliases(o))), None)
