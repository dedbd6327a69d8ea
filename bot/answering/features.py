"""Figures that say how well one retrieved clause answers a question (inputs of the fitted model).

None of them vetoes on its own: a question word the rules never use is weak evidence, not a refusal,
and the weights of the model, not hand-set bars, decide how much each figure counts.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from bot.answering.intent import WHO
from bot.answering.tuning import SUPPORT_DEPTH
from bot.knowledge import compact
from bot.retrieve import Hit, Retrieval
from bot.terms import lexical_query, subject_weights
from ingest.hanzi import simplified
from ingest.lexicon import COUNTED_POSTS, alternation

# Dense figures are relative to the question's own candidates (z-scores): an embedder's cosine scale is
# its own, and a model fitted on one must not read another's 0.4 as "unrelated". Eight more figures
# were measured and dropped because leaving them out improved the cross-fitted fit on the tune halves
# (benchmarks/fit_answerability.py says which).
NAMES = (
    "dense_z", "dense_gap", "dense_margin", "score_margin", "coverage", "char_coverage", "value_missing",
    "owner_named", "owner_match", "who", "who_party", "terms", "section_focus", "party_support",
)
_HAN = re.compile(r"[\u3400-\u9fff]+")
_NUMBER = r"[\d一二两三四五六七八九十百千万]+"
_POST = alternation(COUNTED_POSTS)
# A question that asks for an amount, a head count, a time or how often is answered only by a clause
# that states one: general forms of Chinese questions and of the values that answer them.
_EXPECTED_ANSWER = [
    (re.compile(r"多少钱|什么价|价格|价钱|收费标准|费用是多少|多少费用|多少元"),
     re.compile(_NUMBER + r"\s*(?:元|块|角)|百分之" + _NUMBER + r"|\d\s*[%％]")),
    (re.compile(r"多少人|几个人|几人|多少名|多少位|几名|几位|(?:几|多少)个?[\u4e00-\u9fff]{0,4}?" + _POST),
     re.compile(_NUMBER + r"\s*(?:人|名|位)|" + _NUMBER + r"\s*个[\u4e00-\u9fff]{0,4}?" + _POST)),
    (re.compile(r"几点|什么时间点|几时几分"), re.compile(r"\d{1,2}\s*[:：点时]|[一二三四五六七八九十]+点")),
    (re.compile(r"什么时候|何时|哪天|哪一天|几号|几月|哪个月|什么时间|哪一周|周几|星期几|礼拜几|哪几天"),
     re.compile(_NUMBER + r"\s*(?:月|日|号|周|点)|星期[一二三四五六日天]|周[一二三四五六日末]|每(?:个|两|半)?\s*"
                r"(?:天|日|周|星期|月|季度?|年|学期|学年|晚|早)|[:：]\d{2}|(?:开学|放假|放学|考试|上课|下课|课|"
                r"学期|学年|期中|期末|月|年|寒假|暑假|假期|节假日|双休日|汛期|入学|毕业)[前后初末中底内]|期[初中末]|"
                r"之前|以前|之后|以后|当天|次日|及时|随时|立即")),
    (re.compile(r"多久|多长时间|多少时间|什么频率|多频繁|隔多长"),
     re.compile(r"每(?:个|两|半)?\s*(?:天|日|周|星期|月|季度?|年|学期|学年|期|晚|早|小时)|半年|"
                + _NUMBER + r"\s*个?(?:天|日|周|星期|月|季度|年|学期|小时|分钟)")),
    # "几分钟", "几个小时": a length counted in minutes or hours, which "每天" (how often) does not give.
    (re.compile(r"几分钟|几小时|几个小时|几个钟头"),
     re.compile(r"(?:" + _NUMBER + r"|半)\s*(?:个)?(?:分钟|小时|钟头|课时)|一刻钟")),
    (re.compile(r"多少|几个|几次|几天|几年|几名|几位|几条|几项|几周|几个月"),
     re.compile(r"\d|" + _NUMBER + r"\s*[个次天年名位条项元人件周月日时分]|每[天日周月年期]|每学期|半年|全年")),
    # "面积多大", "多高", "多远": a size, which only a number with its unit states ("多长时间" is a length of time).
    # (A number with its unit of measure: "六百比一" is a ratio, not an area.)
    (re.compile(r"多(?:大|高|宽|重|远|深|厚)|多长(?!时间)"),
     re.compile(r"(?:\d|" + _NUMBER + r")\s*(?:平方|米|㎡|m|M|公里|千米|厘米|毫米|公分|公斤|千克|克|斤|吨|岁|度)")),
    # "要准备哪些材料", "要啥证明", "考什么证": the papers, which only a clause naming a paper gives (a document
    # noun, or a name ending in 证/表/单/书 standing alone in a list: "身份证、户口簿", "许可证或者登记证").
    (re.compile(r"(?:哪些|什么|啥|哪几样|哪几种|哪种)(?:样的)?(?:材料|证明|证件|证书|资料|证)"),
     re.compile(r"证明|证件|证书|材料|资料|复印件|申请书|申请表|登记表|身份证|户口|票据|发票|照片|"
                r"[\u4e00-\u9fff]{1,6}(?:证|表|单|书)(?=$|[、，。；,;）)和及或等])")),
    # Which building or floor: a designation ("3号楼", "二楼") or where it is ("位于", "设在").
    (re.compile(r"哪(?:一)?(?:栋|幢|座楼|层|个楼)|几(?:楼|层|号楼)"),
     re.compile(r"[\dA-Za-z一二三四五六七八九十]\s*(?:号楼|楼|栋|幢|层)|位于|设在|地址")),
]


# "几次", "多少节课", "几本": a count asked in a measure word is stated only as a number in that measure
# (or one the language uses for the same: 天/日, 次/回/遍). "5:10" or "六百人" does not say how many times.
_MEASURES = (("次", "回", "遍", "趟"), ("天", "日"), ("号", "日"), ("周", "星期", "礼拜"), ("年",), ("学期",),
             ("节", "课时"), ("本", "册"), ("分",), ("项",), ("条",), ("科", "门"), ("间",), ("所",), ("张",),
             ("份",), ("套",), ("台",), ("辆",), ("把",), ("件",), ("种", "类"), ("批",), ("组",), ("层",), ("篇",),
             ("页",))


def _count_answers() -> dict[str, re.Pattern[str]]:
    """For each measure word, how a count in it is stated: a number with a word of its group (the first
    group a word is in decides: "几日" counts days, "几号" asks a date stated in 号 or 日)."""
    answers: dict[str, re.Pattern[str]] = {}
    for group in _MEASURES:
        stated = re.compile(_NUMBER + r"\s*个?(?:" + "|".join(group) + ")")
        for word in group:
            answers.setdefault(word, stated)
    return answers


_COUNT_ANSWER = _count_answers()
_COUNT_ASKED = re.compile(r"(?:几|多少)个?(" + "|".join(sorted(_COUNT_ANSWER, key=len, reverse=True)) + ")")

# A number with its unit, as a question states it ("10月几号", "400来个学生"): a clause repeating it
# does not state what is asked.
_STATED = re.compile(r"(?:\d+|[一二两三四五六七八九十百千]+)\s*(?:来|多)?\s*个?[月日号天周年点时分人名位次节本岁]")


def asks_for_value(question: str) -> bool:
    """True when the question asks for an amount, a head count, a time, how often, a size or which building."""
    return any(asked.search(question) for asked, _ in _EXPECTED_ANSWER) or bool(_count_asked(question))


def _count_asked(question: str) -> re.Pattern[str] | None:
    """How the count a question asks for is stated ("几回": a number with 次, 回, 遍 or 趟), if one is asked."""
    counted = _COUNT_ASKED.search(question)
    if not counted or WHO.search(question):  # asking who, 几 means "a few": "我有几张发票要报销，找谁"
        return None
    return _COUNT_ANSWER[counted.group(1)]


def states_what_is_asked(question: str, text: str) -> bool:
    """False when the question asks for an amount, head count or time that the text does not give
    (a value the question itself states is not given by a text that repeats it)."""
    text = simplified(text)
    for stated in set(_STATED.findall(question)):
        text = text.replace(stated, "〇")
    counted = _count_asked(question)
    if counted and not counted.search(text):
        return False
    return all(answer.search(text) for asked, answer in _EXPECTED_ANSWER if asked.search(question))


def measure(retrieval: Retrieval, hit: Hit, who: bool, parties: list[str]) -> list[float]:
    """The figures of NAMES for `hit` as the answer to the retrieval's question."""
    question, hits = retrieval.question, retrieval.hits
    pool = [h.dense for h in hits if h.dense > 0] or [0.0]
    spread = float(np.std(pool)) or 1.0
    dense = sorted(pool, reverse=True) + [0.0, 0.0]
    others = [h.score for h in hits if h is not hit]
    context, text = compact(hit.clause)
    chars = {ch for run in content_runs(question, retrieval.owners) for ch in run}
    asked = asks_for_value(question)
    return [
        (hit.dense - float(np.mean(pool))) / spread, (hit.dense - dense[0]) / spread, (dense[0] - dense[1]) / spread,
        hit.score - max(others, default=0.0), hit.coverage, _share(chars, context + text),
        float(asked and not states_what_is_asked(question, hit.clause.text)),
        float(bool(retrieval.owners)), float(_owner_match(hit, retrieval.owners, parties)),
        float(who), float(who and bool(parties)), math.log1p(len(subject_weights(question, retrieval.weights))),
        sum(1 for h in hits[:3] if h.clause.section == hit.clause.section and h.clause.doc_id == hit.clause.doc_id) / 3,
        _party_support(hits, parties) if who else 0.0,
    ]


def content_runs(question: str, owners: Sequence[str] = ()) -> list[str]:
    """The question's runs of content characters: question words (and the named owners) blanked out."""
    text = simplified(lexical_query(question))
    for owner in owners:
        text = text.replace(simplified(owner), " ")
    return _HAN.findall(text)


def _share(items: set[str], text: str) -> float:
    """Share of items found in text (1.0 for none: nothing was asked beyond the question's form)."""
    return sum(1 for item in items if item in text) / len(items) if items else 1.0


def _party_support(hits: Sequence[Hit], parties: list[str]) -> float:
    """Share of the closest clauses that belong to or name the party a who-answer names.

    Fitted, it counts against the answer: when most close clauses are one unit's, the question is about
    that unit's field at large and the cited clause is one of many (and a section's owner may not be the
    actor asked for: 宿管员 under 宿舍管理中心); a party that only the cited clause names stands out.
    """
    if not parties:
        return 0.0
    party = parties[0]
    return sum(1 for h in hits[:SUPPORT_DEPTH] if h.clause.owner == party or party in h.clause.text) / SUPPORT_DEPTH


def _owner_match(hit: Hit, owners: list[str], parties: list[str]) -> bool:
    """The clause belongs to, or names as responsible, an owner the question names."""
    return bool(owners) and (hit.clause.owner in owners or any(p in owners for p in parties))
