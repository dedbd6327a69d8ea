"""Does the knowledge base support an answer? Key-term coverage weighted by rarity, plus similarity.

A bare top-score threshold cannot tell "the rules don't say" from "the rules say it in other
words". What separates them is whether the question's *distinctive* terms appear in the best
clauses: "运动会" or "病假" appear nowhere in the rules, while "钥匙" and "库房" do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge import compact, section_heading
from bot.retrieve import Hit, Retrieval
from bot.terms import CONTEXT_CREDIT, coverage, subject_weights
from ingest.hanzi import simplified

COVERAGE_THRESHOLD = 0.6
_MIN_SIMILARITY = 0.80  # e5 cosine below this means nothing in the rules is even about the topic
_DEPTH = 3
_NUMBER = r"[\d一二两三四五六七八九十百千万]+"
_POST = r"(?:员|师|医|长|主任|人员|老师|干事|保安|保洁)"  # the ends of names of posts
# A question that asks for an amount, a head count or a clock time is only answered by a clause
# that states one: "学生校服多少钱" is not answered by a clause about buying uniforms.
_EXPECTED_ANSWER = [
    # "旷工一天扣多少钱": "扣发当月绩效工资的百分之十" states it as a share.
    (re.compile(r"多少钱|什么价|价格|价钱|收费标准|费用是多少|多少费用|多少元"),
     re.compile(_NUMBER + r"\s*(?:元|块|角)|百分之" + _NUMBER + r"|\d\s*[%％]")),
    # "学校有几个校医" asks for a head count too: "每学期组织一次体检" does not give one.
    (re.compile(r"多少人|几个人|几人|多少名|多少位|几名|几位|(?:几|多少)个?[\u4e00-\u9fff]{0,4}?" + _POST),
     re.compile(_NUMBER + r"\s*(?:人|名|位)|" + _NUMBER + r"\s*个[\u4e00-\u9fff]{0,4}?" + _POST)),
    (re.compile(r"几点|什么时间点|几时几分"), re.compile(r"\d{1,2}\s*[:：点时]|[一二三四五六七八九十]+点")),
    # "什么时候开家长会" asks for a date or a moment: "指导班主任召开家长会" does not give one.
    (re.compile(r"什么时候|何时|哪天|哪一天|几号|几月|哪个月|什么时间|哪一周"),
     re.compile(_NUMBER + r"\s*(?:月|日|号|周|点)|星期[一二三四五六日天]|周[一二三四五六日末]|每(?:个|两|半)?\s*"
                r"(?:天|日|周|星期|月|季度?|年|学期|学年|晚|早)|[:：]\d{2}|(?:开学|放假|放学|考试|上课|下课|课|"
                r"学期|学年|期中|期末|月|年|寒假|暑假|假期|节假日|双休日|汛期|入学|毕业)[前后初末中底内]|期[初中末]|"
                r"之前|以前|之后|以后|当天|次日|及时|随时|立即")),
    # "多久组织一次" asks how often or how long: "定期组织教研活动" does not say.
    (re.compile(r"多久|多长时间|多少时间|什么频率|多频繁|隔多长"),
     re.compile(r"每(?:个|两|半)?\s*(?:天|日|周|星期|月|季度?|年|学期|学年|期|晚|早|小时)|半年|"
                + _NUMBER + r"\s*个?(?:天|日|周|星期|月|季度|年|学期|小时|分钟)")),
    # "多少/几次/几天…" asks for a quantity: "工会每年召开一次教代会" states one, "确保工资及时发放" does not.
    (re.compile(r"多少|几个|几次|几天|几年|几名|几位|几条|几项|几周|几个月"),
     re.compile(r"\d|" + _NUMBER + r"\s*[个次天年名位条项元人件周月日时分]|每[天日周月年期]|每学期|半年|全年")),
]


@dataclass
class Support:
    """How well the best clauses cover the question, and the verdict."""

    coverage: float
    similarity: float
    missing: list[str]
    supported: bool
    # The clause that states the value a question asks for ("什么时候", "多少钱"), when another ranks above it.
    states: str | None = None


def assess(retrieval: Retrieval) -> Support:
    """Supported when one of the top clauses covers enough of the question's weighted key terms."""
    top = retrieval.hits[:_DEPTH]
    if not top:
        return Support(0.0, 0.0, list(retrieval.weights), False)
    similarity = max(hit.dense for hit in top)
    cited = [hit for hit in top if hit.clause.id in retrieval.articles]
    if retrieval.article_refs and not cited:
        return Support(0.0, similarity, [], False)  # "第二十条" of a document that has none: no other clause will do
    if cited:
        # "考勤办法第三条是什么": the article is the answer when the rest of the question (the document's
        # name, mostly in its headings, which count half) points at it; a bare "第八条" needs nothing more.
        best = max(cited, key=lambda hit: hit.coverage)
        return Support(best.coverage, similarity, [], best.coverage >= CONTEXT_CREDIT)
    weights = subject_weights(retrieval.question, retrieval.weights)
    if not weights:
        # "班主任有哪些职责" names an owner and nothing else: supported. "有什么规定？" names nothing
        # the rules could be about: refused, however similar some clause happens to be.
        # "学校有几个校医？" names 校医 and asks for a head count: one of the clauses must give it.
        stated = any(_states_what_is_asked(retrieval.question, hit.clause.text) for hit in top)
        supported = bool(retrieval.owners) and similarity >= _MIN_SIMILARITY and stated
        return Support(1.0 if supported else 0.0, similarity, [], supported)
    covered = {hit.clause.id: _covered(hit, weights, recount=weights != retrieval.weights) for hit in top}
    # Judged on the clauses that state what is asked (a time, an amount…): "请假制度什么时候施行" is
    # answered by "本制度自2024年9月1日起施行", not by a clause that merely says 请假 more often.
    answering = [hit for hit in top if _states_what_is_asked(retrieval.question, hit.clause.text)] or top
    best = max(answering, key=lambda hit: covered[hit.clause.id])
    matched = "".join(compact(best.clause))
    missing = [t for t in weights if t not in matched]  # for explanations and tuning
    supported = (covered[best.clause.id] >= COVERAGE_THRESHOLD and similarity >= _MIN_SIMILARITY
                 and _states_what_is_asked(retrieval.question, best.clause.text))
    states = best.clause.id if supported and asks_for_value(retrieval.question) else None
    return Support(covered[best.clause.id], similarity, missing, supported, states)


def asks_for_value(question: str) -> bool:
    """True when the question asks for an amount, a head count, a time or how often."""
    return any(asked.search(question) for asked, _ in _EXPECTED_ANSWER)


def _covered(hit: Hit, weights: dict[str, float], recount: bool) -> float:
    """The hit's key-term coverage (recounted without the frame words when `recount`); the heading the
    clause is an item of counts in full when it alone names the topic.

    "学校如何做好公共卫生服务工作" names the heading "4. 公共卫生服务工作", not words of its items:
    the items under it answer the question, though headings otherwise count half.
    """
    context, text = compact(hit.clause)
    covered = coverage(weights, text, context) if recount else hit.coverage
    return max(covered, coverage(weights, section_heading(hit.clause)))


def _states_what_is_asked(question: str, text: str) -> bool:
    """False when the question asks for an amount, head count or time that the text does not give."""
    text = simplified(text)
    return all(answer.search(text) for asked, answer in _EXPECTED_ANSWER if asked.search(question))
