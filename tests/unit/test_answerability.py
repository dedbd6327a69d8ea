"""bot.answering: the fitted answerability model, its features, owners read from text, intents."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bot.answering import model as fitted
from bot.answering.cases import asked_length, case_range, case_sibling
from bot.answering.features import NAMES, asks_for_value, measure, states_what_is_asked
from bot.answering.intent import asks_recipient, asks_who_holds, detect_intent, speaker_post
from bot.answering.owners import named_with_asked_verb, parties_asked, party_for_case, responsible_parties
from bot.retrieve import Hit, Retrieval
from bot.service import DutyDesk
from bot.support import assess
from ingest.aliases import alias_pairs, apply_aliases, parse_aliases
from ingest.model import Clause, Source
from ingest.owners import owner_from_heading


def clause(text: str, owner: str | None = None) -> Clause:
    """A standalone clause."""
    return Clause(id="d-x-1", doc_id="d", document="制度", section=("制度",), owner=owner, contact=None, label=None,
                  text=text, source=Source("d.txt", 1, 1), position=0)


# -- the model ------------------------------------------------------------------------------------
def test_party_support_is_the_share_of_close_clauses_that_point_at_the_party() -> None:
    # Two clauses of 总务处's section and one naming it in its text, of the five closest.
    texts = [("负责校产维修。", "总务处"), ("做好办公用品采购。", "总务处"), ("报修须报总务处登记。", "政教处"),
             ("负责德育工作。", "政教处"), ("负责课表安排。", "教务处"), ("组织考试。", "教务处")]
    hits = [Hit(clause(text, owner), 1.0 - n / 10, 0.9, 0.5, 0.5) for n, (text, owner) in enumerate(texts)]
    retrieval = Retrieval("桌椅坏了找谁修", hits)
    support = NAMES.index("party_support")
    assert measure(retrieval, hits[0], True, ["总务处"])[support] == pytest.approx(0.6)
    assert measure(retrieval, hits[0], True, [])[support] == 0.0
    assert measure(retrieval, hits[0], False, ["总务处"])[support] == 0.0  # only a who-answer names a party


def test_fit_recovers_the_direction_of_a_separating_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 1] + 0.1 * rng.normal(size=400) > 0).astype(float)
    mean, scale, coef, _ = fitted.fit(x, y, l2=1.0)
    assert coef[1] > 2.0 and abs(coef[0]) < 0.5 and abs(coef[2]) < 0.5
    assert mean.shape == scale.shape == (3,)


def test_the_shipped_model_matches_todays_features_and_orders_its_thresholds() -> None:
    model = fitted.load()
    assert set(model.names) <= set(NAMES) and len(model.coef) == len(model.names)
    assert 0.0 < model.related < model.answered < 1.0
    data = json.loads(fitted.MODEL_PATH.read_text(encoding="utf-8"))
    assert data["fitted"]["halves"] == "tune only"  # the blind halves are for reporting


def test_status_follows_the_thresholds() -> None:
    model = fitted.Model(("dense_z",), (0.0,), (1.0,), (1.0,), 0.0, answered=0.8, related=0.2)
    assert model.status(0.9) == "answered"
    assert model.status(0.5) == "related"
    assert model.status(0.1) == "refused"
    high, low = [0.0] * len(NAMES), [0.0] * len(NAMES)
    high[NAMES.index("dense_z")], low[NAMES.index("dense_z")] = 10.0, -10.0
    assert model.probability(high) > 0.99 > 0.01 > model.probability(low)


def test_a_stale_model_file_is_an_error_not_a_guess(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = json.loads(fitted.MODEL_PATH.read_text(encoding="utf-8"))
    stale["names"] = [*stale["names"][:-1], "a_figure_nobody_measures"]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ValueError, match="fit_answerability"):
        fitted.load(path)


def test_the_shipped_model_prefers_a_clause_that_states_the_value_asked_for() -> None:
    model = fitted.load()
    base = [0.0] * len(NAMES)
    for name, mean in zip(model.names, model.mean, strict=True):  # an average question and clause
        base[NAMES.index(name)] = mean
    stating, missing = base.copy(), base.copy()
    missing[NAMES.index("value_missing")] = 1.0
    assert model.probability(stating) > model.probability(missing)
    assert asks_for_value("旷工一天扣多少钱？") and not asks_for_value("谁负责排课？")


@pytest.mark.parametrize(("question", "text", "states"), [
    ("班主任例会一般周几开", "准时参加班主任例会，并适当作记录。", False),
    ("班主任例会一般周几开", "每周一下午召开班主任例会。", True),
    ("图书室星期几开放", "图书室每周二、四开放。", True),
    # A size is stated only by a number; "多长时间" is a length of time, not a size.
    ("卫生室面积最少得多大", "中学设卫生室，配备专职卫生技术人员。", False),
    ("卫生室面积最少得多大", "卫生室面积不少于40平方米。", True),
    ("每天的安全教育要讲几分钟", "各级各类学校要开足上好安全教育课。", False),
    ("每天的安全教育要讲几分钟", "每天放学前进行5分钟安全教育。", True),
    # How often is no number of minutes, and a ratio is no area.
    ("每天放学前讲安全，要讲够几分钟", "每天放学前必讲安全，双休日放假前必讲安全。", False),
    ("城市小学的卫生室面积最少得多大", "小学设卫生室，按学生人数六百比一的比例配备卫生技术人员。", False),
    # Which building or floor: a designation or where it is, not a room's mere mention.
    ("安全办在哪栋楼办公", "机构名称 安全办 办公电话 0535-3450847", False),
    ("安全办在哪栋楼办公", "安全办设在行政楼二楼。", True),
    # The papers asked for: a clause naming the task, not a paper, does not say which to bring.
    ("教师资格认定要准备哪些材料", "办理毕业生招聘录用和就业安置，负责教师资格认定工作。", False),
    ("请病假要交啥证明", "病假须持医院证明，经分管副校长批准。", True),
    ("食堂进货要查什么证", "应当查验供货者的许可证或者登记证、产品合格证明。", True),
    ("消防控制室值班的要考什么证", "消防控制室值班人员应当持证上岗。", False),
])
def test_a_day_a_size_a_number_of_minutes_a_building_or_papers_asked_for_must_be_stated(question: str, text: str,
                                                                                states: bool) -> None:
    assert asks_for_value(question) and states_what_is_asked(question, text) is states


def test_a_few_copies_is_no_count_and_a_length_of_time_no_size() -> None:
    # "多印几份" is "a few copies": the question asks who approves, not how many.
    assert not asks_for_value("期末试卷想多印几份备用，得谁点头啊")
    # "多长时间" is answered by how often ("每周五"), with no number: it is not read as a size too.
    assert states_what_is_asked("数据备份隔多长时间做一次", "每周五当班人员制作数据的备份。")


@pytest.mark.parametrize(("question", "text", "states"), [
    # A count asked in a measure word is stated in that measure (or its synonym: 回 ~ 次, 天 ~ 日) ...
    ("消防演习一年搞几回啊", "每学期组织一次消防疏散演练。", True),
    ("学生停宿一般停几天", "违纪者停宿三日。", True),
    ("小学生平均一年借几本书才算达标", "生均借书量达10册、14册、16册。", True),
    # ... not by any number: a time of day or a head count does not say how many times or how many books.
    ("自主劳动一周轮几次", "班级检查时间为周一到周四下午5:10到5:30。", False),
    ("学校400来个学生，兼职保健老师一周要上几节课", "学生人数不足六百人的学校，可以配备兼职保健教师。", False),
    # A value the question itself states is not given by a clause that repeats it.
    ("投票具体定在10月几号", "选举暂定于10月下旬。", False),
    ("投票具体定在10月几号", "选举定于10月15日举行。", True),
])
def test_a_count_is_stated_in_its_measure_and_the_questions_own_value_states_nothing(question: str, text: str,
                                                                                    states: bool) -> None:
    assert asks_for_value(question) and states_what_is_asked(question, text) is states


def test_asking_who_a_few_of_something_is_no_count() -> None:
    assert not asks_for_value("我有几张发票要报销，找谁")
    assert not asks_for_value("复习卷想多印几份，得哪个处同意")


def test_a_clause_without_the_value_asked_for_is_still_shown_as_the_closest(small_desk: DutyDesk) -> None:
    # A model that all but rules out a clause lacking the value, and is unsure of it otherwise.
    coef = [0.0] * len(NAMES)
    coef[NAMES.index("value_missing")] = -10.0
    model = fitted.Model(NAMES, (0.0,) * len(NAMES), (1.0,) * len(NAMES), tuple(coef), 0.0, 0.84, 0.02)
    hours = Hit(clause("图书室每天按时开放，做好借阅登记。", "图书资料员"), 1.0, 0.9, 0.5, 0.5)
    knowledge = small_desk.knowledge()
    assert assess(Retrieval("图书室几点开门", [hours]), knowledge, model).status == "related"
    assert assess(Retrieval("图书室每天开放吗", [hours]), knowledge, model).status == "related"  # p = 0.5
    assets = Hit(clause("负责图书室固定资产的登记和年度清查。", "总务处"), 1.0, 0.9, 0.5, 0.1)
    assert assess(Retrieval("图书室几点开门", [assets]), knowledge, model).status == "refused"  # off the subject


# -- who the text makes responsible -----------------------------------------------------------------
@pytest.mark.parametrize(("text", "parties"), [
    ("请假须经分管副校长批准。", ["分管副校长"]),
    ("外出须交班主任签字。", ["班主任"]),
    ("发现火情，保卫科应立即报警。", ["保卫科"]),
    ("后勤处：负责校舍维修和水电保障。", ["后勤处"]),
    ("学校主要负责人对校园安全工作全面负责。", ["学校主要负责人"]),
    ("重要信息及时向治安责任人汇报。", ["治安责任人"]),
    ("统计分数、交至团委书记处审核。", ["团委书记处"]),  # 至 is the hand-over, not the name
    ("教研活动有教研组长负责，期末上交教科处统一存档。", ["教研组长", "教科处"]),  # no "教研活动有教研组长"
    ("开展读书分享会。", []),  # nobody named, no section owner
])
def test_responsible_parties_are_read_from_the_sentence(text: str, parties: list[str]) -> None:
    assert responsible_parties(clause(text), set()) == parties


@pytest.mark.parametrize(("text", "known", "parties"), [
    # A name ends like a known owner ("会计") or a unit or post, and is not cut at an inner ending.
    ("动用资金须经主管会计同意。", {"会计"}, ["主管会计"]),
    ("学生请假由年级组长批准。", set(), ["年级组长"]),
    ("未经上级管理人员许可，不得安装软件。", set(), ["上级管理人员"]),
    ("设备报废需经过管理部门或专职人员鉴定。", set(), ["管理部门"]),  # of several, the first
    ("收到文件后交校长审阅。", {"校长"}, ["校长"]),
    ("发现问题立即报告学校领导处理。", set(), ["学校领导"]),  # not "告学校领导", nor "学校领导处"
    ("学生迟到须至训导处报到登记。", set(), ["训导处"]),  # the office one goes to
    ("如遇急事要转告有关领导。", set(), ["有关领导"]),
    ("县级以上人民政府住房城乡建设主管部门应当对工程实施监督。", set(), ["县级以上人民政府住房城乡建设主管部门"]),
    # Not a party: a destination, a list of what a unit has, a name that runs through a verb.
    ("将安全责任落实到有关人员。", set(), []),
    ("中心现设有办公室、宿舍管理部、监督客服部四个部门。", {"办公室"}, []),
    ("及时上报并立即报告学校领导处理。", set(), ["学校领导"]),
    # Told to act, not the actor: after 要求/指导/安排 the sentence's own subject acts ("组织部" is a name).
    ("每月两次教研活动，要求全体教师必须参加。", set(), []),
    ("定期召开会议，指导班主任要做好学生思想工作。", {"班主任"}, []),
    ("组织部应做好团员档案的收集。", set(), ["组织部"]),
    # "有关部门" is not "有 + 关部门", "本级人民政府" keeps its 本级, and what a party organised
    # ("工会组织的活动") is no duty of it: the section owner holds these.
    ("其他有关部门负责所管理学校的安全工作。", set(), []),
    ("由本级人民政府或者上级主管部门责令限期改正。", set(), ["本级人民政府"]),
    ("积极参加上级工会组织的各项活动，管理好工会活动室。", set(), []),
])
def test_a_party_is_a_name_that_ends_like_one(text: str, known: set[str], parties: list[str]) -> None:
    assert responsible_parties(clause(text), known) == parties


def test_the_section_owner_counts_only_when_the_text_names_nobody() -> None:
    assert responsible_parties(clause("开展读书分享会。", owner="教科研室"), set()) == ["教科研室"]
    # A clause opening with a known post names it, each of them too.
    assert responsible_parties(clause("各班主任依本班情况每周召开一次班会。", owner="政教处"), {"班主任"}) == ["班主任"]
    assert responsible_parties(clause("报教务处备案。", owner="办公室"), {"教务处"}) == ["教务处"]


@pytest.mark.parametrize(("question", "receives"), [
    ("团员档案收齐了交哪儿", True), ("安全信息每月报给局里哪个科", True), ("门口有可疑的人，该跟谁说", True),
    ("找谁报备", True), ("报名在哪儿", False), ("电脑坏了找谁修", False), ("图书馆几点开门", False),
])
def test_a_question_asking_whom_it_goes_to_is_told_apart(question: str, receives: bool) -> None:
    assert asks_recipient(question) is receives
    if receives:
        assert detect_intent(question, []) == "who"


def test_a_recipient_question_is_answered_by_whom_the_clause_hands_it_to() -> None:
    handed = clause("由团支书收齐团员档案统一交至组织部，由组织部干事登记。", owner="团委")
    assert parties_asked(handed, set(), "团员档案交哪儿") == ["组织部"]
    assert parties_asked(handed, set(), "谁负责收团员档案") == responsible_parties(handed, set())
    reported = clause("发现可疑人员及时向专职安全员、校务办或总务处报告，情形严重者可报警。")
    assert parties_asked(reported, set(), "看到可疑的人要报给谁") == ["专职安全员"]
    # The receiver's name runs on into how it is reported: cut after the unit's ending.
    monthly = clause("各学校要在每月2日前向县教体局安全科准确上报工作总结。")
    assert parties_asked(monthly, set(), "安全信息报给局里哪个科") == ["县教体局安全科"]
    assert parties_asked(clause("开展读书分享会。", owner="教科研室"), set(), "材料交给谁") == ["教科研室"]


def test_the_answer_is_the_party_named_beside_what_is_asked() -> None:
    # A section owner the text does not name gives way to the party it assists where the question points.
    assisting = clause("协助总务处做好食堂卫生检查工作，负责落实宿舍纪律的督查工作。", owner="政教处")
    assert parties_asked(assisting, {"总务处", "政教处"}, "食堂卫生检查哪个处牵头") == ["总务处"]
    assert parties_asked(assisting, {"总务处", "政教处"}, "宿舍纪律谁来督查") == ["政教处"]
    # ...not to one it works with as an equal: "会同政教处检查" in 宿管员's list is still 宿管员's check.
    jointly = clause("每周三会同政教处检查违章电器，发现电热毯当场没收并登记。", owner="宿管员")
    assert parties_asked(jointly, {"政教处", "宿管员"}, "宿舍里违章电器是谁在查") == ["宿管员"]
    with_whom = clause("与仓库管理员一起对库存物资每季度清点一次。", owner="采购员")
    assert parties_asked(with_whom, set(), "季度清点库存跟谁一起") == ["仓库管理员"]
    # The party the question names is the asker or the subject; the answer is another the text names.
    handed = clause("每学期制定个人工作计划，学期末书面总结交教务处。", owner="任课教师")
    assert parties_asked(handed, {"教务处"}, "任课教师的学期末总结交到哪儿") == ["教务处"]
    led = clause("年级组长在德育处、教务处领导下对年级工作全面负责。", owner="年级组长")
    assert parties_asked(led, {"教务处", "德育处"}, "年级组长归哪个部门领导") == ["德育处"]
    # ...unless the text names nobody else as a party: an object of a verb is not one.
    alone = clause("负责组织本学科的期中考试，组织教师分析成绩。", owner="教研组长")
    assert parties_asked(alone, {"教师", "教研组长"}, "教研组长的期中考试由谁组织") == ["教研组长"]
    # An explicit actor keeps its place however the rest of the sentence matches.
    approved = clause("一切经费支出，包括差旅报销等，必须经主管会计同意。", owner="出纳员")
    assert parties_asked(approved, {"会计"}, "差旅报销要谁点头") == ["主管会计"]


@pytest.mark.parametrize(("text", "known", "question", "party"), [
    # 谁/哪 after the verb is its object: the party the clause names right after that verb.
    ("每月清点一次库房，记清账目，报表交总务处，做到账目天天清。", set(), "我是管仓库的，每月报表交给谁", "总务处"),
    ("并对本岗无力解决的问题如实上报学校安全领导小组研究处理。", set(), "解决不了的隐患要报给谁处理", "学校安全领导小组"),
    ("是理论部的重头戏。主要任务是配合教导处举办竞赛活动。", {"教导处"}, "竞赛是配合哪个处搞的", "教导处"),
    ("教室使用中发现问题，请及时与教务处联系。", set(), "教室出了问题联系哪个部门", "教务处"),
    # 谁/哪 before the verb is where it is done, or who is told: named after 到/至/向/与 before that verb.
    ("回校当天到训导处办理请假手续，再到教务处申请补考。", set(), "补考去哪儿申请", "教务处"),
    ("若有广播损坏等特殊情况需向检察员说明。", set(), "广播坏了要跟谁说明", "检察员"),
    # asked who decides, 谁 is the subject: "停课" before it is the topic, not a verb it is the object of
    ("接到县教育局停课通知的，学校立即执行；尚未接到通知的，由组长（校长）决定停课。", set(), "停不停课谁说了算",
     "组长（校长）"),
])
def test_the_party_is_the_one_named_with_the_questions_own_verb(text: str, known: set[str], question: str,
                                                                 party: str) -> None:
    assert parties_asked(clause(text, owner="保管员"), known, question) == [party]


def test_whose_permit_it_takes_and_whom_a_crime_is_reported_to() -> None:
    permit = clause("新建校舍，其选址应当取得当地卫生行政部门的许可。")
    assert responsible_parties(permit, set()) == ["当地卫生行政部门"]
    reported = clause("学校发现校园性侵犯事件，应当保护受伤害者，并立即向公安机关报案，同时向学校的主管部门报告。")
    assert parties_asked(reported, set(), "发现性侵的事要报给谁") == ["公安机关"]


def test_of_two_parties_in_one_sentence_the_one_beside_what_is_asked() -> None:
    # Not cases ("此条按不同情形…"): the actor and where the records go, in one sentence.
    both = clause("教研活动有教研组长负责，记录活动内容、参加人数、考勤，期末上交教科处统一存档。")
    assert party_for_case(both, ["教研组长", "教科处"], "教研活动的考勤谁来记") == ["教研组长"]
    assert party_for_case(both, ["教研组长", "教科处"], "期末存档交给谁") == ["教科处"]
    # Parts that hold the question alike leave both.
    cases = clause("一天以内的，由年级组长批准，一天以上的，由校长批准。")
    assert party_for_case(cases, ["年级组长", "校长"], "请假谁批准") == ["年级组长", "校长"]


def test_a_notice_asks_a_party_to_do_it() -> None:
    # "各班卫生干事请将…": in a notice, the party asked to do it is the one responsible.
    notice = clause("晨读时间，各班卫生干事请将教师桌上的消毒液喷洒在公共区域。")
    assert responsible_parties(notice, set()) == ["班卫生干事"]


def test_the_party_after_by_does_it_whatever_the_verb() -> None:
    # "由X…": X is the agent, whatever verb follows.
    hired = clause("学校卫生监督员，由省级以上卫生行政部门聘任并发给证书。")
    assert responsible_parties(hired, set()) == ["省级以上卫生行政部门"]  # not cut at 卫生行政部
    started = clause("属于重大安全事故的，由县级以上人民政府立即启动学校安全应急预案。")
    assert responsible_parties(started, set()) == ["县级以上人民政府"]
    assert responsible_parties(clause("会议由教研组长主持。"), {"教研组长"}) == ["教研组长"]  # not 教研组
    # Not 由于 / 由此, and no word cut at a one-character ending ("由我校办刊经验的…" is a typo for 有).
    for text in ("由于教务处工作失误造成损失。", "由此产生的费用自理。", "小组由一个由我校办刊经验的干事带领。"):
        assert responsible_parties(clause(text), set()) == []


def test_a_clause_in_no_one_s_section_is_answered_by_whom_its_work_is_done_with() -> None:
    partnered = clause("继续配合基教科做好留守儿童之家相关工作。")
    assert parties_asked(partnered, set(), "留守儿童之家是哪个科牵头的") == ["基教科"]
    assert parties_asked(partnered, set(), "基教科的留守儿童之家谁在做") == []  # named by the asker
    # "其他有关部门" is nobody to go to.
    vague = clause("会同其他有关部门设立调解委员会。")
    assert "其他有关部门" not in parties_asked(vague, set(), "调解委员会谁设立")


def test_a_unit_set_up_to_do_it_a_short_name_and_a_party_the_question_names() -> None:
    # "设保健科(室)，负责…": the unit set up is responsible (with the one that sets it up).
    set_up = clause("校医院应当设保健科(室)，负责师生的卫生保健工作。")
    assert "保健科" in responsible_parties(set_up, set())
    # "各学院" in the section of 学生所在学院 is that owner, named short.
    colleges = clause("各学院要安排专人对学生自习秩序进行检查。", owner="学生所在学院")
    assert responsible_parties(colleges, set()) == ["学生所在学院"]
    # The question names 职代会, which the text reports to: the answer is whose duty it is.
    union = clause("做好职代会的组织和筹备工作，及时向职代会反映职工的意见。", owner="工会干事")
    assert parties_asked(union, {"工会干事"}, "职代会谁负责筹备") == ["工会干事"]


def test_a_word_before_a_subject_who_is_no_verb() -> None:
    # "每月谁来检查": 谁 is the subject; "与学校行政领导每月…" says nothing of who checks.
    checked = clause("教科处与学校行政领导每月对各教研组活动进行检查。", owner="教科处")
    assert parties_asked(checked, {"教科处"}, "每月谁来检查教研组的活动") == ["教科处"]
    # "请假找谁批": the verb is 批, after 找谁; "向班主任请假" says whom one asks, not who approves.
    leave = clause("学生因病请假，须向班主任请假并经校长批准。")
    assert parties_asked(leave, set(), "请假找谁批")[0] == "校长"


@pytest.mark.parametrize(("text", "party"), [
    ("外联部的日常工作包括联系赞助、接待来访等。", "外联部"),
    ("校园广播是宣传部的常规工作。", "宣传部"),
])
def test_a_sentence_about_a_partys_work_names_it(text: str, party: str) -> None:
    assert responsible_parties(clause(text, owner="学生会"), set()) == [party]


def test_the_case_a_question_names_picks_the_party() -> None:
    rule = clause("学生请假一天以内的，由班主任批准；三天以上的，由校长批准。")
    parties = responsible_parties(rule, set())
    assert parties == ["班主任", "校长"]
    assert party_for_case(rule, parties, "请假一天找谁") == ["班主任"]
    assert party_for_case(rule, parties, "请假要找谁批") == ["班主任", "校长"]  # no case named: both



def test_a_case_that_negates_the_questions_quantity_is_the_other_case() -> None:
    # "须得X之批准" names whose approval it takes; "不超过三天" is not the case "超过三天" asks about.
    rule = clause("凡学生告假不超过三天者，由班主任批准；超过三天者，须得校长或训导处主任之批准。")
    parties = responsible_parties(rule, set())
    assert parties[:2] == ["班主任", "校长"]
    assert party_for_case(rule, parties, "请假超过三天得找谁批呢") == ["校长"]
    assert party_for_case(rule, parties, "请假不超过三天找谁批") == ["班主任"]


@pytest.mark.parametrize(("question", "party"), [
    ("我想请两天假，谁批", ["分管副校长"]), ("请一周假找谁", ["校长"]), ("请半天假找谁", ["年级主任"]),
    ("请两个小时假找谁", ["年级主任"]), ("请假超过三天找谁", ["校长"]), ("请假一天找谁", ["年级主任"]),
    # exactly on the boundary of "三天以内" and "三天以上": naming one would be a guess
    ("请假三天找谁批", ["分管副校长", "校长"]),
])
def test_the_length_of_leave_asked_picks_the_case_that_holds_it(question: str, party: list[str]) -> None:
    rule = clause("请假一天以内的，由年级主任批准；三天以内的，由分管副校长批准；三天以上的，由校长批准。")
    assert party_for_case(rule, responsible_parties(rule, set()), question) == party


def item(text: str, n: int, section: tuple[str, ...] = ("二、请假审批权限",)) -> Clause:
    """An item of one list in one document."""
    return Clause(id=f"d-x-{n}", doc_id="d", document="请假制度", section=section, owner=None, contact=None,
                  label=f"（{n}）", text=text, source=Source("d.txt", n, n), position=n)


def test_the_item_of_a_list_of_cases_that_holds_the_asked_length_is_cited_though_ranked_lower() -> None:
    items = [item("半天以内（含半天）：由班主任审批。", 1), item("半天以上、一天以内（含一天）：班主任签署意见后，由年级组长审批。", 2),
             item("一天以上、三天以内（含三天）：班主任、年级组长签署意见后，由政教处主任审批。", 3),
             item("三天以上：经班主任、年级组长、政教处主任逐级签署意见后，报分管德育副校长审批。", 4),
             item("学生因病需长期治疗、连续请假超过一个月的，应由家长向教务处申请办理休学手续。", 5)]
    hits = [Hit(c, 1.0 - n / 10, 0.9, 0.5, 0.5) for n, c in enumerate([items[4], *items[:4]])]
    assert case_sibling(hits, hits[0], "学生要请一个礼拜的假，得哪个领导批") is hits[4]  # 7 days: over three
    assert case_sibling(hits, hits[0], "请一整天假还得谁批") is hits[2]  # the narrowest that holds one day
    assert case_sibling(hits, hits[0], "请假得哪个领导批") is None  # no length: no case
    assert case_sibling(hits[:2], hits[0], "请一个礼拜的假谁批") is None  # one case alone is no list of cases
    elsewhere = [Hit(item(c.text, c.position + 10, ("三、病假",)), 0.5, 0.9, 0.5, 0.5) for c in items[:4]]
    assert case_sibling([hits[0], *elsewhere], hits[0], "请一个礼拜的假谁批") is None  # another list's items


@pytest.mark.parametrize(("text", "question", "party"), [
    ("警告，由班主任提出书面意见，年级组决定，报政教处备案；", "学生要给警告处分，最后谁拍板啊", ["年级组"]),
    ("记大过，由政教处提出处理意见，分管德育副校长决定；", "记大过这种处分得哪个领导批", ["分管德育副校长"]),
    ("留校察看、开除学籍，由政教处提出处理意见，经校长办公会集体研究决定。", "开除学籍谁说了算", ["校长办公会"]),
])
def test_asked_who_decides_the_party_that_decides_not_the_one_that_proposes(text: str, question: str,
                                                                            party: list[str]) -> None:
    rule = clause(text)
    assert party_for_case(rule, parties_asked(rule, set(), question), question) == party


@pytest.mark.parametrize(("text", "party"), [
    ("停课通知由信息联络组（校长办公室）统一发布，任何个人不得擅自发布。", "信息联络组（校长办公室）"),  # a note naming who
    ("校级家委会每学期召开2次全体会议，由家委会主任召集并主持。", "家委会主任"),  # not cut at 家委会
    ("晚间使用不得超过21:00，且值班教师必须全程在场。", "值班教师"),  # "且" joins the sentence: it is no name
    ("班主任因公外出不在校时，半天以内的请假由年级组长代为审批。", "年级组长"),  # how it is done, between
    ("作弊考生由政教处按照《学生违纪处分办法》给予警告处分。", "政教处"),
    ("家长对答复不满意的，可以在10日内向区教育局申诉。", "区教育局"),  # whom one appeals to
])
def test_a_party_is_named_with_what_it_does(text: str, party: str) -> None:
    assert responsible_parties(clause(text), set())[0] == party


def test_asked_who_records_it_a_procedures_decider_is_not_preferred() -> None:
    rule = clause("警告，由班主任提出书面意见，年级组决定，报政教处备案；")
    assert party_for_case(rule, ["政教处", "年级组"], "警告处分报哪里备案") != ["年级组"]


@pytest.mark.parametrize(("text", "length", "span"), [
    ("一周", 7.0, None), ("两个星期", 14.0, None), ("一整天", 1.0, None), ("半个月", 15.0, None), ("3天", 3.0, None),
    ("不超过三天", 3.0, (0.0, 3.0)), ("三天以内", 3.0, (0.0, 3.0)), ("1至3天", 3.0, (1.0, 3.0)),
    ("五天以上", 5.0, (5.0, math.inf)),
])
def test_lengths_of_time_and_the_ranges_cases_name(text: str, length: float, span: tuple[float, float] | None) -> None:
    assert asked_length(text) == length or asked_length(text) == pytest.approx(length)
    assert case_range(text) == span


def test_parties_of_different_sentences_are_told_apart_by_the_question_words() -> None:
    rule = clause("县级以上教育行政部门负责学校卫生工作的行政管理。卫生行政部门负责对学校卫生工作的监督指导。")
    parties = responsible_parties(rule, set())
    assert party_for_case(rule, parties, "学校卫生的监督指导归谁") == ["卫生行政部门"]
    assert party_for_case(rule, parties, "学校卫生工作的行政管理归哪个部门") == ["县级以上教育行政部门"]


@pytest.mark.parametrize(("title", "owner"), [
    ("（二）教务处工作", "教务处"), ("教科研室工作", "教科研室"), ("德育工作", None), ("学校工作", None),
    ("各处室工作", None), ("班主任岗位职责", "班主任"),
    # a unit's section headed by its name and a motto; a topic with a motto names nobody
    ("（五）社团部——以社团学分制改革为契机，加强社团管理", "社团部"), ("(一)组织部—夯实基层组织", "组织部"),
    ("（一）安全工作——常抓不懈", None), ("第一部分——总则", None),
])
def test_a_units_section_of_a_plan_is_owned_by_that_unit(title: str, owner: str | None) -> None:
    assert owner_from_heading(title) == owner


# -- intent ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "intent"), [
    ("我是新来的班主任，头一周要干啥", "duties"),
    ("政教处平时都管些啥", "duties"),
    ("班主任", "duties"),
    ("班主任有哪些岗位职责？", "duties"),
    ("哪个岗位负责排课", "who"),
    ("我是新来的班主任，带班遇到问题该找哪个处室", "who"),
    ("孩子考试那天请假没考，补考去哪儿申请", "who"),
    ("通讯稿归团委哪个部写", "who"),
    ("班主任的电话多少", "contact"),
    ("班主任几点到校", "fact"),
])
def test_a_first_person_opening_does_not_change_the_intent(question: str, intent: str) -> None:
    assert detect_intent(question, ["班主任"] if "班主任" in question else ["政教处"]) == intent


@pytest.mark.parametrize(("question", "holder"), [
    ("谁是校长？", True), ("请问我们学校的校长叫什么名字", True), ("想问下班主任是谁", True),
    ("想问下班主任是谁来选的", False), ("班主任谁来管", False),
])
def test_asking_who_holds_a_post_is_told_from_asking_who_acts_on_it(question: str, holder: bool) -> None:
    assert asks_who_holds(question, ["校长", "班主任"]) is holder


def test_the_speakers_post_is_read_from_the_opening() -> None:
    assert speaker_post("我是新来的班主任，头一周要干啥", ["教务处", "班主任"]) == "班主任"
    assert speaker_post("班主任头一周要干啥", ["班主任"]) is None


# -- aliases ---------------------------------------------------------------------------------------
def test_alias_file_lines_and_bad_lines() -> None:
    aliases = parse_aliases("# 注释\n炊事员: 食堂师傅, 大师傅\n\n网络管理员：管电脑的老师\n没有冒号的一行\n")
    assert aliases == {"炊事员": ["食堂师傅", "大师傅"], "网络管理员": ["管电脑的老师"]}


def test_staff_words_become_the_documents_names_longest_first() -> None:
    aliases = alias_pairs({"炊事员": ["食堂师傅", "师傅"], "电话": ["分机"]})
    assert apply_aliases("食堂师傅归哪个处管？", aliases) == "炊事员归哪个处管？"
    assert apply_aliases("总务处分机多少", aliases) == "总务处电话多少"
    assert apply_aliases("总务处电话分机多少", aliases) == "总务处电话分机多少"  # already in the documents' words


# -- a party named with the question's own verb ------------------------------------------------------
def test_a_party_named_with_the_questions_own_verb_is_one_the_clause_states() -> None:
    handed = clause("每月填写一次入库验收单，报表交财务处，做到账目天天清。", "保管员")
    assert named_with_asked_verb(handed, set(), "每月的报表交给谁")
    assert not named_with_asked_verb(handed, set(), "谁负责填写入库验收单")  # the question's verb names no one
    cases = clause("一天以内交年级组长批准；三天以上交教务处批准。", "教务处")
    assert not named_with_asked_verb(cases, set(), "请假条交给谁")  # two parties: the case decides, not the verb


def test_a_who_answer_the_model_finds_unsure_is_given_when_the_clause_names_the_party_with_that_verb(
        small_desk: DutyDesk) -> None:
    even = fitted.Model(NAMES, (0.0,) * len(NAMES), (1.0,) * len(NAMES), (0.0,) * len(NAMES), 0.0, 0.84, 0.02)
    handed = Hit(clause("每月填写一次入库验收单，报表交财务处，做到账目天天清。", "保管员"), 1.0, 0.9, 0.5, 0.5)
    knowledge = small_desk.knowledge()
    assert assess(Retrieval("每月的报表交给谁", [handed]), knowledge, even).status == "answered"
    assert assess(Retrieval("入库验收单谁来填", [handed]), knowledge, even).status == "related"  # p = 0.5
