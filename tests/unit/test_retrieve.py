"""bot.retrieve (owners, blending), bot.terms (key terms, coverage) and bot.support (refusal)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bot.answering.features import states_what_is_asked
from bot.retrieve import (
    OWNER_BONUS,
    Hit,
    Retrieval,
    _minmax,
    _top_rows,
    blank_owner_mentions,
    mentioned_owners,
    owner_aliases,
)
from bot.service import DutyDesk
from bot.terms import (
    CONTEXT_CREDIT,
    coverage,
    frame_words,
    key_terms,
    lexical_query,
    normalize_question,
    term_match,
    term_weights,
)
from ingest.model import Clause, Source


def clause(text: str, owner: str | None = None, section: tuple[str, ...] = ("制度",), cid: str = "d-x-1") -> Clause:
    """A standalone clause."""
    return Clause(id=cid, doc_id="d", document="制度", section=section, owner=owner, contact=None, label=None,
                  text=text, source=Source("d.txt", 1, 1), position=0)


def hit(text: str, dense: float = 0.9, covered: float = 1.0, owner: str | None = None) -> Hit:
    """A retrieved clause with chosen signals."""
    return Hit(clause(text, owner), score=covered, dense=dense, lexical=0.5, coverage=covered)


def retrieval(question: str, hits: list[Hit], owners: tuple[str, ...] = (),
              weights: dict[str, float] | None = None) -> Retrieval:
    """A retrieval whose weights default to one unit per key term of the question."""
    chosen = dict.fromkeys(key_terms(question), 1.0) if weights is None else weights
    return Retrieval(question, hits, list(owners), chosen)


# --- owners in questions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "aliases"), [
    ("出纳员", ["出纳员", "出纳"]),
    ("后勤处主任", ["后勤处主任", "后勤处"]),
    ("安全保卫人员", ["安全保卫人员", "安全保卫", "安全保卫人"]),
    ("会计", ["会计"]),
    ("教员", ["教员"]),  # too short to lose its suffix
    ("校医", ["校医"]),
    ("县级以上人民政府公安机关", ["县级以上人民政府公安机关", "公安机关"]),  # a regulation's body, without its jurisdiction
    ("县以上卫生行政部门", ["县以上卫生行政部门", "卫生行政部门"]),
    ("各级人民政府", ["各级人民政府"]),  # nothing is left of the name without it
])
def test_owner_aliases(name: str, aliases: list[str]) -> None:
    assert owner_aliases(name) == aliases


@pytest.mark.parametrize(("question", "found"), [
    ("出纳员有哪些职责？", ["出纳员"]),
    ("出纳负责什么", ["出纳员"]),
    ("教务处主任和出纳有什么不同", ["教务处主任", "出纳员"]),  # 教务处 is inside 教务处主任: not named
    ("教务处的电话", ["教务处"]),
    ("后勤处和后勤处主任", ["后勤处主任", "后勤处"]),
    ("出纳员和出纳员", ["出纳员"]),
    ("学校运动会什么时候举行", []),
])
def test_mentioned_owners_takes_the_longest_names_without_overlap(question: str, found: list[str]) -> None:
    owners = ["教务处", "教务处主任", "出纳员", "后勤处", "后勤处主任", "会计"]
    assert mentioned_owners(question, owners) == found


def test_an_owner_named_exactly_beats_another_owner_reached_through_its_alias() -> None:
    assert mentioned_owners("后勤处的电话是多少", ["后勤处主任", "后勤处"]) == ["后勤处"]


@pytest.mark.parametrize(("question", "owners", "blanked"), [
    ("出纳员有哪些职责？", ["出纳员"], " " * 3 + "有哪些职责？"),
    ("出纳负责什么", ["出纳员"], " " * 2 + "负责什么"),
    ("教务处主任和出纳", ["教务处主任", "出纳员"], " " * 5 + "和" + " " * 2),
    ("病假需要什么证明", [], "病假需要什么证明"),
])
def test_blank_owner_mentions_keeps_positions(question: str, owners: list[str], blanked: str) -> None:
    assert blank_owner_mentions(question, owners) == blanked


# --- the fake embedder the other tests rely on -------------------------------------------------------


def test_the_hash_embedder_is_deterministic_normalised_and_similarity_preserving(hash_embedder: object) -> None:
    texts = ["负责宿舍钥匙的登记保管。", "宿舍钥匙由谁保管？", "学校运动会什么时候举行？", "！！"]
    vectors = hash_embedder.embed_documents(texts)  # type: ignore[attr-defined]
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[1], hash_embedder.embed_query(texts[1]))  # type: ignore[attr-defined]
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2
    assert np.array_equal(vectors, hash_embedder.embed_documents(texts))  # type: ignore[attr-defined]


# --- blending helpers ------------------------------------------------------------------------------


def test_minmax_scales_to_0_1_and_gives_missing_candidates_0() -> None:
    assert _minmax({"a": 0.9, "b": 0.7, "c": None, "d": 0.8}) == pytest.approx({"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.5})
    assert _minmax({"a": 0.5, "b": 0.5}) == {"a": 0.0, "b": 0.0}
    assert _minmax({"a": None}) == {"a": 0.0}
    assert _minmax({}) == {}


def test_top_rows_are_positive_scores_best_first() -> None:
    assert _top_rows(np.array([0.0, 2.0, 0.5, 3.0, 0.0])) == [3, 1, 2]
    assert _top_rows(np.zeros(3)) == []
    assert len(_top_rows(np.arange(1, 100, dtype=float))) == 40


# --- the retriever on a real index -----------------------------------------------------------------


def test_retrieval_ranks_by_score_and_names_the_owners(small_desk: DutyDesk) -> None:
    knowledge = small_desk.knowledge()
    result = small_desk.retriever.retrieve(knowledge, "出纳员有哪些职责？", limit=5)
    assert result.owners == ["出纳员"]
    assert len(result.hits) == 5
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert {h.clause.owner for h in result.hits[:3]} == {"出纳员"}
    assert result.question == "出纳员有哪些职责？"


def test_each_hit_carries_its_coverage_of_the_weighted_terms(small_desk: DutyDesk) -> None:
    knowledge = small_desk.knowledge()
    result = small_desk.retriever.retrieve(knowledge, "谁负责编排课程表？")
    assert set(result.weights) == {"编排", "课程表"}
    assert result.hits[0].clause.text == "负责编排全校课程表和作息时间表。"
    for item in result.hits:
        context, text = knowledge.compact[item.clause.id]
        assert item.coverage == pytest.approx(coverage(result.weights, text, context))
        assert 0.0 <= item.lexical <= 1.0


def test_a_named_owner_lifts_its_clauses_by_the_owner_bonus(small_desk: DutyDesk,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge = small_desk.knowledge()
    question = "总务处负责登记什么"
    with_bonus = {h.clause.id: h.score for h in small_desk.retriever.retrieve(knowledge, question).hits}
    monkeypatch.setattr("bot.retrieve.OWNER_BONUS", 0.0)
    without = {h.clause.id: h.score for h in small_desk.retriever.retrieve(knowledge, question).hits}
    for clause_id, score in with_bonus.items():
        owned = knowledge.clause(clause_id).owner == "总务处"
        assert score - without[clause_id] == pytest.approx(OWNER_BONUS if owned else 0.0)


# --- key terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "terms"), [
    ("谁负责编排课程表？", ["编排", "课程表"]),
    ("宿舍钥匙由谁保管？", ["宿舍", "钥匙", "保管"]),
    ("学校运动会什么时候举行？", ["运动会", "举行"]),
    ("请问2024年有几次考试", ["2024", "考试"]),  # 几次 asks for a quantity: the support check handles it
    ("考试考试考试", ["考试"]),
    ("有哪些？", []),
    ("课程表和作息时间表分别由谁编排？", ["课程表", "作息时间", "编排"]),  # 分别 is form, like 谁
])
def test_key_terms_drop_question_and_function_words(question: str, terms: list[str]) -> None:
    assert key_terms(question) == terms


def test_a_word_the_segmenter_guessed_by_gluing_on_a_function_word_is_no_key_term() -> None:
    assert key_terms("请两天假找谁批？") == ["两天", "请假"]  # not "假找"
    assert key_terms("可以自己找人调课吗？") == ["调课"]  # not "找人"; 调课 is a guess too, but a real word


@pytest.mark.parametrize(("question", "word"), [
    ("请一周的假谁批？", "请假"),
    ("请了两天假要交什么材料", "请假"),
    ("一个月开几次会？", "开会"),
    ("周末加两小时班有补助吗", "加班"),
])
def test_a_separable_verb_split_by_a_duration_is_a_key_term(question: str, word: str) -> None:
    """Segmented, "请一周的假" leaves only "一周": the question would be judged by its duration alone."""
    assert word in key_terms(question)


@pytest.mark.parametrize("question", ["请问放假时间", "开学典礼的会场在哪", "上学期的课谁排的"])
def test_no_separable_verb_is_made_of_words_that_are_not_one(question: str) -> None:
    assert not {"请假", "开会", "上课"} & set(key_terms(question))


def test_asking_for_a_clock_time_is_no_key_term() -> None:
    assert key_terms("教职工几点前签到？") == ["教职工", "签到"]


def test_lexical_query_blanks_question_words_and_keeps_the_rest_adjacent() -> None:
    assert lexical_query("谁负责编排课程表？") == "编排课程表？"
    assert "谁" not in lexical_query("宿舍钥匙由谁保管") and "宿舍钥匙" in lexical_query("宿舍钥匙由谁保管")


def test_term_weights_favour_rare_terms_and_unknown_terms_most() -> None:
    corpus = "课程表\n课程表 考试\n课程表 考试 钥匙\n"
    weights = term_weights(["课程表", "钥匙", "运动会"], corpus.count, documents=3)
    assert weights["运动会"] > weights["钥匙"] > weights["课程表"]
    assert weights["运动会"] == pytest.approx(math.log(4 / 0.5))
    assert term_weights(["课程表"], ("课程表" * 10).count, documents=3)["课程表"] == pytest.approx(math.log(4 / 3.5))


@pytest.mark.parametrize(("term", "text", "credit"), [
    ("课程表", "负责编排全校课程表", 1.0),
    ("课程表", "课表安排", 0.5 * 2 / 3),  # partial credit for at least half the characters
    ("运动会", "会议", 0.0),  # a third is not enough
    ("钥匙", "钥匙", 1.0),
    ("钥匙", "匙", 0.25),
    ("出题", "由教务处统一命题", 1.0),  # a synonym the rules use
    ("周一", "星期一 王副校长", 1.0),
    ("星期天", "周日休息", 1.0),
    ("命题", "出题", 1.0),
])
def test_term_match_gives_partial_credit(term: str, text: str, credit: float) -> None:
    assert term_match(term, text) == pytest.approx(credit)


def test_coverage_is_weighted_and_heading_only_matches_count_half() -> None:
    weights = {"出纳员": 1.0, "支票": 3.0}
    assert coverage(weights, "妥善保管空白支票", "出纳员岗位职责") == pytest.approx((CONTEXT_CREDIT * 1 + 3) / 4)
    assert coverage(weights, "出纳员妥善保管空白支票") == pytest.approx(1.0)
    assert coverage(weights, "发放工资", "出纳员岗位职责") == pytest.approx(CONTEXT_CREDIT / 4)
    assert coverage(weights, "出纳员保管支票", "出纳员岗位职责") == pytest.approx(1.0)  # text wins over heading
    assert coverage({}, "任何文字") == 1.0


# --- support: when to refuse -----------------------------------------------------------------------


@pytest.mark.parametrize(("question", "frame"), [
    ("学校计划怎样加强心理健康教育？", {"加强"}),
    ("如何才能做好食堂管理", {"做好"}),
    ("德育建设工作有哪些措施？", {"措施"}),
    ("有什么具体举措", {"举措"}),
    ("请病假需要什么材料？", {"材料"}),  # the rule names the materials ("诊断证明"), not the word 材料
    ("谁负责加强校园安全？", set()),  # no how-word: 加强 is part of what is asked
    ("体检有哪些安排？", set()),  # an arrangement is a fact a clause must state, not a frame
])
def test_frame_words_of_how_and_what_measures_questions(question: str, frame: set[str]) -> None:
    assert frame_words(question) == frame


@pytest.mark.parametrize(("question", "text", "supported"), [
    ("学生校服多少钱？", "负责学生校服的征订，校服每套一百二十元。", True),
    ("学生校服多少钱？", "负责学生校服的征订与发放。", False),
    ("校服的价格是多少", "校服每套180元。", True),
    ("全校教职工有多少人？", "全校教职工共120人。", True),
    ("全校教职工有多少人？", "全校教职工须参加考勤。", False),
    ("值班需要几个人？", "实行双人双锁管理。", False),
    ("学校有几个校医？", "每学期组织一次学生健康体检。", False),  # a head count, not any count
    ("学校有几个校医？", "学校配备校医两名。", True),
    ("每个年级有几个班主任？", "每班配一个班主任。", True),
    ("晚上几点熄灯？", "学生须在22:00统一熄灯。", True),
    ("晚上几点清点人数？", "每晚九点半清点住宿学生人数。", True),
    ("门卫几点巡查？", "夜间每两小时巡查校园一次。", False),
    ("校长的工资是多少？", "按时汇总上报教师工资变动情况，确保教师工资及时发放。", False),
    ("工会每年要召开几次教代会？", "每年召开一次教代会，讨论学校的重大决策。", True),
    ("会计凭证多少天内装订？", "本月凭证必须于次月十五日前装订完毕。", True),
    ("总务处的办公电话是多少？", "机构名称 总务处 办公电话 0535-3450820", True),
    ("教研组多久组织一次教研活动？", "定期组织教研活动，做好考勤记录。", False),  # how often, unsaid
    ("教研组多久组织一次教研活动？", "每两周组织一次教研活动。", True),
    ("库存物资多久盘点？", "对库存物资每月盘点一次。", True),
    ("过期药品多久清理一次？", "过期药品每季度清理一次。", True),
    ("多长时间换一次床单？", "床单每两周换洗一次。", True),
    ("家长会什么时候开？", "指导年级主任、班主任召开班级家长会。", False),  # when, unsaid
    ("家长会什么时候开？", "每学期期中考试后召开一次家长会。", True),
    ("期末总结什么时候交？", "期中小结、期末书面总结交政教处。", True),
    ("会计凭证什么时候之前要装订完？", "本月凭证必须于次月十五日前装订完毕。", True),
    ("旷工一天扣多少钱？", "每旷工一天扣发当月绩效工资的百分之十。", True),  # an amount stated as a share
    ("旷工一天扣多少钱？", "旷工一天扣发绩效工资5%。", True),
    ("旷工一天扣多少钱？", "旷工的，扣发当月绩效工资。", False),
])
def test_a_question_asking_for_an_amount_count_or_time_needs_a_clause_that_states_one(
        question: str, text: str, supported: bool) -> None:
    """The value a question asks for is a feature of the model: it must be read right."""
    assert states_what_is_asked(question, text) is supported


@pytest.mark.parametrize(("question", "label"), [
    ("考勤办法第二条是什么？", "第二条"),
    ("第四条", "第四条"),  # a bare article number, as the office types it
    ("考勤管理办法第3条怎么规定的", "第三条"),
])
def test_a_cited_article_is_looked_up_by_its_number(small_desk: DutyDesk, question: str, label: str) -> None:
    answer = small_desk.ask(question).answer
    assert not answer.refused and answer.citations[0].clause.label == label
    assert answer.citations[0].clause.document == "教职工考勤管理办法"


@pytest.mark.parametrize("question", [
    "考勤办法第九条是什么？",  # no such article: no other clause will do
    "学生校服第二条",  # article 2 exists, but not about 校服
    "《教师法》第三十七条怎么说",  # another law's article
])
def test_an_article_the_rules_do_not_have_is_refused(small_desk: DutyDesk, question: str) -> None:
    assert small_desk.ask(question).answer.refused



# --- the question as the rules are written -----------------------------------------------------------


@pytest.mark.parametrize(("question", "normal"), [
    ("班主任有哪些職責？", "班主任有哪些职责？"),  # typed in traditional characters
    ("誰負責學生的獎懲工作", "谁负责学生的奖惩工作"),
    ("总务处 负责　什么", "总务处负责什么"),  # spaced out on a phone (full-width space too)
    ("Word 文档 谁管", "Word 文档谁管"),  # spaces next to Latin words stay
    ("学校食堂归哪个部门管？", "学校食堂归哪个部门管？"),  # simplified text is left alone
])
def test_normalize_question(question: str, normal: str) -> None:
    assert normalize_question(question) == normal


@pytest.mark.parametrize("question", ["出納員有哪些職責？", "出纳员 有哪些 职责", "出纳员？",
                                      "请问一下，学校里面的那个出纳员，平时主要负责一些什么样的工作呢？谢谢"])
def test_duty_questions_in_other_spellings_get_the_duty_list(small_desk: DutyDesk, question: str) -> None:
    answer = small_desk.ask(question).answer
    assert not answer.refused and answer.owner == "出纳员" and len(answer.citations) == 3
