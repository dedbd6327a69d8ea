"""bot.answer: intent detection and extractive composition over a real (HashEmbedder) index.

The support verdict is passed in explicitly, so these tests pin the composition; whether a
question is supported at all is bot.support's business (tested in tests/unit/test_retrieve.py).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answer import Answer, compose, refusal_message
from bot.answering.intent import detect_intent
from bot.answering.owners import responsible_party
from bot.retrieve import Hit, Retrieval
from bot.service import DutyDesk
from bot.support import Support
from ingest.model import Clause, Source

PROMPTS = Path(__file__).resolve().parent.parent.parent / "prompts"
SUPPORTED = Support("answered", 1.0)
REFUSED = Support("refused", 0.0, missing=["运动会"])


def answer(desk: DutyDesk, question: str, support: Support = SUPPORTED, limit: int = 30) -> Answer:
    """Retrieve from the desk's index and compose under the given verdict."""
    knowledge = desk.knowledge()
    return compose(desk.retriever.retrieve(knowledge, question, limit=limit), knowledge, support)


def check_markers(result: Answer) -> None:
    """Every [n] in the text is citation n, in order, and quotes that clause's label and text as written."""
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", result.text)]
    assert markers == list(range(1, len(result.citations) + 1))
    for number, hit in enumerate(result.citations, start=1):
        quoted = re.search(rf"「([^」]*)」\[{number}\]", result.text)
        assert quoted is not None, f"[{number}] quotes nothing"
        assert quoted.group(1) == hit.clause.quoted()


def clause(text: str, owner: str | None = None, label: str | None = None, cid: str = "d-x-1") -> Clause:
    """A standalone clause for the pure functions."""
    return Clause(id=cid, doc_id="d", document="制度", section=("制度",), owner=owner, contact=None, label=label,
                  text=text, source=Source("d.txt", 1, 1), position=0)


# --- intent ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "owners", "intent"), [
    ("出纳员有哪些职责？", ["出纳员"], "duties"),
    ("总务处负责哪些工作", ["总务处"], "duties"),
    ("教务处主任的岗位职责", ["教务处主任"], "duties"),
    ("信息中心管什么", ["信息中心"], "duties"),
    ("有哪些职责？", [], "fact"),  # duties of nobody in particular
    ("总务处的电话是多少？", ["总务处"], "contact"),
    ("怎么联系信息中心", ["信息中心"], "contact"),
    ("电话是多少", [], "fact"),  # a contact of nobody in particular
    ("谁负责编排课程表？", [], "who"),
    ("宿舍钥匙由谁保管？", [], "who"),
    ("校服征订归哪个部门管", [], "who"),
    ("总务处的负责人是谁", ["总务处"], "who"),
    ("出纳员有哪些职责，找谁报销", ["出纳员"], "who"),
    ("病假需要什么证明？", [], "fact"),
    ("出纳员的职责", ["出纳员"], "duties"),  # a bare "…的职责" asks for the list too
    ("总务处职能？", ["总务处"], "duties"),
    ("职责分工有什么规定？", [], "fact"),
    (" 出纳员？", ["出纳员"], "duties"),  # just a post's name, as typed into a chat
    ("出纳", ["出纳员"], "duties"),
    ("出纳员报销", ["出纳员"], "fact"),
    # A question that names the post and asks what, and nothing else, wants its duties, however phrased.
    ("会计是干什么的", ["会计"], "duties"),
    ("团委是管啥的？", ["团委"], "duties"),
    ("出纳主要干嘛", ["出纳员"], "duties"),
    ("保管员的活有哪些", ["保管员"], "duties"),
    ("我是新来的，年级组长都干啥呀", ["年级组长"], "duties"),
    ("会计是干什么的", [], "fact"),  # the duties of a post the rules don't know
    ("会计怎么记账", ["会计"], "fact"),  # it names a topic of the post's work
    ("学校有几个会计？", ["会计"], "fact"),  # how many, not what
    ("会计的报表交给哪个部门", ["会计"], "who"),
])
def test_detect_intent(question: str, owners: list[str], intent: str) -> None:
    assert detect_intent(question, owners) == intent


# --- refusal ---------------------------------------------------------------------------------------


def test_refusal_is_the_prompt_file_without_citations(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "学校运动会什么时候举行？", support=REFUSED)
    assert result.text == (PROMPTS / "refusal.txt").read_text(encoding="utf-8").strip() == refusal_message()
    assert (result.refused, result.citations, result.owner, result.contact) == (True, [], None, None)


def test_an_unsupported_question_is_refused_even_when_it_names_an_owner(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "总务处的电话是多少？", support=REFUSED)
    assert result.refused and result.citations == [] and "0535" not in result.text


@pytest.mark.parametrize("missing", [["联系方式"], ["联系", "方式"], ["号码"], []])
def test_how_to_reach_a_named_owner_needs_no_more_support_than_its_phone_row(small_desk: DutyDesk,
                                                                            missing: list[str]) -> None:
    """The contact words are the question's form: the phone row answers "联系方式" without saying it."""
    unsupported = Support("refused", 0.0, missing=missing)
    result = answer(small_desk, "信息中心的联系方式是什么？", support=unsupported)
    assert (result.refused, result.owner, result.contact) == (False, "信息中心", "0535-3450899")
    check_markers(result)


def test_a_contact_question_asking_for_something_else_stays_refused(small_desk: DutyDesk) -> None:
    unsupported = Support("refused", 0.0, missing=["传真"])
    result = answer(small_desk, "信息中心的传真号码是多少？", support=unsupported)
    assert result.refused and "0535" not in result.text


def test_the_duty_list_of_a_named_owner_is_its_own_support(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "出纳员有哪些职责？", support=REFUSED)
    assert not result.refused and result.owner == "出纳员" and len(result.citations) == 3


# --- who -----------------------------------------------------------------------------------------


def test_who_names_the_owner_of_the_best_clause(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "谁负责编排课程表？")
    assert (result.owner, result.contact, result.refused) == ("教务处主任", None, False)
    assert [h.clause.id for h in result.citations] == ["gwzz-jiaowuchuzhu-1"]
    assert result.text.startswith("负责此事的是：教务处主任。")
    check_markers(result)


def test_who_names_every_party_of_a_clause_that_assigns_cases_to_different_people(
        desk_factory: Callable[..., DutyDesk]) -> None:
    desk = desk_factory({"请假.md": "# 教职工请假办法\n\n第一条 请假一天以内的，由年级主任审批；三天以内的，由分管副校长审批；"
                                   "三天以上的，由校长审批。\n"})
    result = answer(desk, "请假三天由谁审批？")
    # "三天" is in two cases (三天以内, 三天以上): naming one would be a guess, so both are named, in order
    assert result.text.startswith("此条按不同情形规定了负责人：分管副校长、校长。\n依据《教职工请假办法》")
    assert (result.owner, result.contact, len(result.citations)) == ("分管副校长、校长", None, 1)
    one_day = answer(desk, "请假一天以内找谁批？")
    assert one_day.owner == "年级主任" and one_day.text.startswith("负责此事的是：年级主任。")
    check_markers(result)


@pytest.mark.parametrize("question", ["谁是出纳员？", "出纳员是谁", "请问我们学校的出纳员叫什么名字"])
def test_who_holds_a_post_is_refused_the_rules_name_posts_not_people(small_desk: DutyDesk, question: str) -> None:
    result = answer(small_desk, question)
    assert result.refused and result.citations == []


def test_who_gives_the_owner_contact_when_the_document_has_one(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "谁负责教职工邮箱密码重置？")
    assert (result.owner, result.contact) == ("信息中心", "0535-3450899")
    assert "信息中心（联系电话：0535-3450899）" in result.text
    assert result.citations[0].clause.text == "负责教职工邮箱账号的开通与密码重置。"
    check_markers(result)


def test_who_prefers_the_party_the_clause_itself_names(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "请假一天由谁审批？")
    assert result.owner == "年级主任"  # "由年级主任审批", although the article has no section owner
    assert result.citations[0].clause.label == "第二条"
    check_markers(result)


def test_who_without_any_responsible_party_quotes_the_facts(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "谁要提供医院诊断证明？")
    assert result.owner is None and not result.refused
    assert result.text.startswith("根据《教职工考勤管理办法》")
    check_markers(result)


# --- duties --------------------------------------------------------------------------------------


def test_duties_list_every_clause_of_the_owner_in_document_order(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "出纳员有哪些职责？", limit=1)  # retrieval saw one clause: all three are listed
    assert [h.clause.id for h in result.citations] == ["gwzz-chunayuan-1", "gwzz-chunayuan-2", "gwzz-chunayuan-3"]
    assert result.owner == "出纳员"
    head, first = result.text.splitlines()[:2]
    assert head == "出纳员的职责共 3 条（《学校各岗位职责》一、行政管理人员职责 · 出纳员岗位职责）："
    assert first == "1. 「1．办理现金收付和银行结算业务，做到日清月结。」[1]"
    check_markers(result)


@pytest.mark.parametrize("question", ["出纳是干什么的？", "出纳员主要干嘛", "新来的出纳员都要干啥"])
def test_a_question_naming_only_the_post_gets_its_whole_duty_list(small_desk: DutyDesk, question: str) -> None:
    """Staff's "X是干什么的" asks what a new post holder must know: every duty, not the closest clause."""
    knowledge = small_desk.knowledge()
    retrieval = small_desk.retrieve(question, knowledge)
    result = compose(retrieval, knowledge, Support("related", 0.5))  # the model's verdict is not needed
    assert (result.status, result.owner) == ("answered", "出纳员")
    assert [h.clause.id for h in result.citations] == ["gwzz-chunayuan-1", "gwzz-chunayuan-2", "gwzz-chunayuan-3"]
    check_markers(result)


def test_duties_of_a_unit_cite_its_phone_row_after_its_duties(small_desk: DutyDesk) -> None:
    """The table row naming the unit and its phone is no duty: the duties come first, the row last, for the phone."""
    result = answer(small_desk, "总务处负责哪些工作？")
    clauses = small_desk.knowledge().owner_clauses("总务处")
    phone_row = next(c for c in clauses if c.text.startswith("机构名称"))
    assert [h.clause for h in result.citations] == [c for c in clauses if c is not phone_row] + [phone_row]
    assert result.contact == "0535-3450820"
    assert "总务处（联系电话：0535-3450820）的职责共 3 条" in result.text
    assert result.text.splitlines()[-1].startswith("联系电话依据《") and result.text.endswith("0535-3450820」[4]")
    check_markers(result)


def test_duties_list_the_owners_own_items_before_a_plans_items_under_its_topics(
        desk_factory: Callable[..., DutyDesk]) -> None:
    """A plan's "（二）安全办工作 · 1. 应急演练" items come after the unit's own list, whatever the file order."""
    desk = desk_factory({
        "A_工作计划.md": "# 学年工作计划\n\n## （二）安全办工作\n\n### 1. 应急演练\n\n- 每学期组织两次疏散演练。\n",
        "B_机构职能.md": "# 机构职能\n\n## 安全办\n\n联系电话：0535-3450847\n\n1. 负责学生的安全教育。\n2. 定期开展安全检查。\n",
    })
    result = answer(desk, "安全办有哪些职责？")
    assert [h.clause.text for h in result.citations] == ["负责学生的安全教育。", "定期开展安全检查。", "每学期组织两次疏散演练。",
                                                         "联系电话：0535-3450847"]
    assert result.contact == "0535-3450847"  # the unit's own list's document gives it, though the plan's file comes first
    assert result.text.startswith("安全办（联系电话：0535-3450847）的职责共 3 条")
    check_markers(result)


def test_duties_from_two_documents_say_where_each_run_of_items_comes_from(desk_factory: Callable[..., DutyDesk]) -> None:
    """A post described in two documents: every item listed once, under its own document, never under the first."""
    desk = desk_factory({
        "甲校岗位职责.txt": "甲校岗位职责\n\n出纳员岗位职责\n1．办理现金收付业务。\n2．按时发放工资。\n",
        "乙校岗位职责.txt": "乙校岗位职责\n\n出纳员岗位职责\n1．妥善保管空白支票。\n",
    })
    result = answer(desk, "出纳员有哪些职责？")
    lines = result.text.splitlines()
    assert lines[0] == "出纳员的职责共 3 条，出自 2 处："
    groups = {"甲校岗位职责": ["「1．办理现金收付业务。」", "「2．按时发放工资。」"], "乙校岗位职责": ["「1．妥善保管空白支票。」"]}
    shown: dict[str, list[str]] = {}
    for line in lines[1:]:  # a "《document》section：" line, then its items
        if line.startswith("《"):
            document = line[1:line.index("》")]
            assert line == f"《{document}》出纳员岗位职责：" and document not in shown
            shown[document] = []
        else:
            shown[document].append(re.sub(r"^\d+\. |\[\d+\]$", "", line))
    assert shown == groups
    check_markers(result)  # numbering runs on across the groups


def test_duties_of_owners_listed_together_each_get_their_list(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "宿舍管理员和出纳员分别有哪些职责？")
    first, second = result.text.split("\n\n")
    assert first.splitlines()[0].startswith("宿舍管理员的职责共 2 条") and second.splitlines()[0].startswith("出纳员的职责共 3 条")
    assert second.splitlines()[1] == "1. 「1．办理现金收付和银行结算业务，做到日清月结。」[3]"  # items from 1, markers run on
    assert [h.clause.owner for h in result.citations] == ["宿舍管理员"] * 2 + ["出纳员"] * 3
    assert result.owner == "宿舍管理员"
    check_markers(result)


def test_an_owner_named_in_passing_gets_no_list_of_its_own(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "出纳员要配合总务处做哪些工作？")
    assert {h.clause.owner for h in result.citations} == {"出纳员"} and "\n\n" not in result.text


def test_duties_of_an_owner_named_by_its_short_alias(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "出纳有哪些职责")
    assert result.owner == "出纳员" and len(result.citations) == 3


def test_duties_keep_the_retrieval_scores_of_retrieved_clauses(small_desk: DutyDesk) -> None:
    knowledge = small_desk.knowledge()
    retrieval = small_desk.retriever.retrieve(knowledge, "教务处主任有哪些职责？")
    result = compose(retrieval, knowledge, SUPPORTED)
    scores = {h.clause.id: h.score for h in retrieval.hits}
    assert [h.score for h in result.citations] == [scores.get(h.clause.id, 0.0) for h in result.citations]
    assert [h.clause.label for h in result.citations] == [None, "1．", "2．", "3．"]  # the preamble first


# --- contact and fact ------------------------------------------------------------------------------


def test_contact_cites_the_clause_that_states_the_phone(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "总务处的电话是多少？")
    assert (result.owner, result.contact) == ("总务处", "0535-3450820")
    assert result.text.startswith("总务处的联系电话是 0535-3450820。")
    assert [h.clause.text for h in result.citations] == ["机构名称 总务处 办公电话 0535-3450820"]
    check_markers(result)


def test_contacts_of_several_named_owners_each_with_its_citation(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "总务处、出纳员和信息中心的电话分别是多少？")
    assert result.text.splitlines() == [
        "总务处的联系电话是 0535-3450820。", "依据《学校内设机构职能》总务处：「机构名称 总务处 办公电话 0535-3450820」[1]",
        "规章中没有出纳员的联系电话。",
        "信息中心的联系电话是 0535-3450899。", "依据《学校内设机构职能》信息中心：「机构名称 信息中心 办公电话 0535-3450899」[2]"]
    assert (result.refused, result.owner, result.contact) == (False, "总务处", "0535-3450820")
    check_markers(result)


def test_contact_of_an_owner_without_a_phone_is_refused_not_guessed(small_desk: DutyDesk) -> None:
    """No number for the post or a unit its name contains: say so; never quote another unit's number."""
    result = answer(small_desk, "出纳员的联系电话是多少？")
    assert (result.refused, result.citations, result.contact) == (True, [], None)
    assert result.text == refusal_message()


def test_contact_of_a_post_without_a_phone_gives_its_units_saying_so(desk_factory: Callable[..., DutyDesk]) -> None:
    desk = desk_factory({
        "职责.txt": "岗位职责\n\n总务处主任岗位职责\n1．负责学校后勤管理。\n",
        "机构.md": "|   |   |   |   |\n|---|---|---|---|\n|机构名称|总务处|办公电话|0535-3450820|\n"
                   "|机构名称|总务处材料室|办公电话|0535-3450821|\n",
    })
    result = answer(desk, "总务处主任的电话是多少？")
    assert (result.refused, result.owner, result.contact) == (False, "总务处", "0535-3450820")
    assert result.text.startswith("规章中没有单列总务处主任的联系电话；总务处的联系电话是 0535-3450820。")
    assert [h.clause.text for h in result.citations] == ["机构名称 总务处 办公电话 0535-3450820"]
    check_markers(result)


def test_fact_quotes_the_best_clause_and_a_close_runner_up(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "病假需要什么证明？")
    assert [h.clause.label for h in result.citations] == ["第三条", "第四条"]
    assert all(line.startswith("根据《教职工考勤管理办法》") for line in result.text.splitlines())
    check_markers(result)


def test_related_names_the_heading_each_closest_clause_sits_under(small_desk: DutyDesk) -> None:
    """A who-asker told "not clearly stated" still sees whose duty list each closest clause is in."""
    knowledge = small_desk.knowledge()
    retrieval = small_desk.retriever.retrieve(knowledge, "学生校服归谁管？")
    result = compose(retrieval, knowledge, Support("related", 0.5, retrieval.hits[0]))
    assert result.status == "related" and result.citations
    for number, hit in enumerate(result.citations, start=1):
        clause = hit.clause
        where = f"《{clause.document}》{clause.section[-1]}：" if clause.section[-1] != clause.document \
            else f"《{clause.document}》"
        assert f"{number}. {where}「{clause.quoted()}」[{number}]" in result.text
    assert any(h.clause.section[-1] != h.clause.document for h in result.citations)  # a heading is shown
    check_markers(result)


def test_fact_quotes_the_clause_that_states_the_value_asked_for_first(small_desk: DutyDesk) -> None:
    knowledge = small_desk.knowledge()
    retrieval = small_desk.retriever.retrieve(knowledge, "病假需要什么证明？")
    second = retrieval.hits[1]
    support = dataclasses.replace(SUPPORTED, states=second.clause.id)
    result = compose(retrieval, knowledge, support)
    assert result.citations[0].clause.id == second.clause.id
    check_markers(result)


def test_fact_quotes_one_clause_when_nothing_else_comes_close(small_desk: DutyDesk) -> None:
    result = answer(small_desk, "学生校服多少钱？")
    assert [h.clause.text for h in result.citations] == ["负责学生校服的征订，校服每套一百二十元。"]
    assert (result.owner, result.contact) == ("总务处", "0535-3450820")
    check_markers(result)


# --- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "owner", "party"), [
    ("借阅图书由图书馆统一登记。", None, "图书馆"),
    ("请假一天以内的，由所在年级主任审批。", None, "年级主任"),
    ("总务处每月对校舍进行一次全面检查。", None, "总务处"),  # opens with a known unit
    ("总务处每月对校舍进行一次全面检查。", "安全办", "总务处"),  # which outranks the section's owner
    ("学校每学期组织两次疏散演练。", None, None),  # 学校 is no department
    ("10月中旬举行秋季运动会，体育组负责具体组织。", None, "体育组"),  # a unit opening a clause
    ("教务处组织新教师岗前培训。", None, "教务处"),
    ("每学期开学前，由安全办组织安全大检查。", None, "安全办"),  # not also "由安全办"
    ("教研活动有教研组长负责，记录活动内容。", "教科处", "教研组长"),
    ("值班教师应当按时到岗。", None, "值班教师"),
    ("由学校统一安排车辆。", "总务处", "总务处"),  # 学校 is no department: the section owner stands
    ("负责全校的教学管理。", "教务处", "教务处"),
    ("请假须履行审批手续。", None, None),
])
def test_responsible_party(text: str, owner: str | None, party: str | None) -> None:
    assert responsible_party(clause(text, owner), {"图书馆", "教务处", "总务处"}) == party


def test_who_takes_a_near_equal_runner_up_that_names_an_owner(small_desk: DutyDesk) -> None:
    knowledge = small_desk.knowledge()
    orphan = Hit(clause("宿舍钥匙应妥善保管。", cid="kq-jzgkqglbf-1"), 1.0, 0.9, 1.0)
    owned = Hit(knowledge.clause("gwzz-susheguanliy-2"), 0.85, 0.9, 1.0)
    result = compose(Retrieval("宿舍钥匙由谁保管？", [orphan, owned]), knowledge, SUPPORTED)
    assert result.owner == "宿舍管理员" and result.citations == [owned]
    far = Hit(knowledge.clause("gwzz-susheguanliy-2"), 0.5, 0.9, 1.0)
    result = compose(Retrieval("宿舍钥匙由谁保管？", [orphan, far]), knowledge, SUPPORTED)
    assert result.owner is None and result.citations == [orphan]


def test_who_looks_deeper_when_the_top_clause_names_nobody(small_desk: DutyDesk) -> None:
    """An owned clause further down answers "who" when its owner's name is about the question's topic."""
    knowledge = small_desk.knowledge()
    orphans = [Hit(clause(f"督查宿舍安全{n}。", cid=f"kq-jzgkqglbf-{n}"), 1.0 - n / 100, 0.9, 1.0) for n in range(1, 4)]
    off_topic = Hit(knowledge.clause("gwzz-chunayuan-3"), 0.7, 0.9, 0.3)  # 出纳员: nothing to do with 宿舍
    owned = Hit(knowledge.clause("gwzz-susheguanliy-2"), 0.55, 0.9, 0.5)
    weights = {"宿舍钥匙": 2.0, "保管": 1.0}

    def who(*hits: Hit) -> Answer:
        return compose(Retrieval("宿舍钥匙由谁保管？", list(hits), weights=weights), knowledge, SUPPORTED)

    result = who(*orphans, off_topic, owned)
    assert (result.owner, result.citations) == ("宿舍管理员", [owned])
    check_markers(result)
    assert who(*orphans, off_topic).owner is None  # a party, but not one about 宿舍: quote the facts
    too_low = Hit(owned.clause, 0.45, 0.9, 0.5)
    result = who(*orphans, too_low)
    assert result.owner is None and result.citations[0] is orphans[0] and too_low not in result.citations


def test_ask_with_a_small_top_k_keeps_markers_and_citations_in_step(small_desk: DutyDesk,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.service.assess", lambda retrieval, knowledge: SUPPORTED)
    result = small_desk.ask("病假需要什么证明？", top_k=1).answer
    assert len(result.citations) == 1
    check_markers(result)
    duties = small_desk.ask("出纳员有哪些职责？", top_k=1).answer
    assert len(duties.citations) == 3  # a duty list is never cut
    check_markers(duties)
