"""bot.conversation: follow-up rewriting and the bounded, expiring memory of recent conversations."""
from __future__ import annotations

import itertools

import pytest

from bot.conversation import Conversations, Turn, rewrite
from bot.service import DutyDesk
from bot.support import Support

SUPPORTED = Support("answered", 1.0)
_IDS = itertools.count()


def turn(owner: str | None) -> Turn:
    """A previous turn that named owner."""
    return Turn(question="谁负责校舍维修？", owner=owner, at=0.0)


def conversation_id() -> str:
    """A fresh id (the session desk is shared between tests)."""
    return f"test-conversation-{next(_IDS)}"


class Clock:
    """A stand-in for time.monotonic that only moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze bot.conversation's clock."""
    fake = Clock()
    monkeypatch.setattr("bot.conversation.time.monotonic", fake)
    return fake


# --- rewrite ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "rewritten"), [
    ("那他们的电话是多少？", "那总务处的电话是多少？"),
    ("该部门负责哪些工作？", "总务处负责哪些工作？"),
    ("这个部门在哪里办公", "总务处在哪里办公"),
    ("她的职责有哪些", "总务处的职责有哪些"),
    ("他们和他们的领导", "总务处和他们的领导"),  # only the first reference
])
def test_a_back_reference_becomes_the_last_owner(question: str, rewritten: str) -> None:
    assert rewrite(question, turn("总务处")) == rewritten


@pytest.mark.parametrize(("question", "last"), [
    ("那他们的电话是多少？", None),
    ("那他们的电话是多少？", turn(None)),
    ("总务处的他们是谁", turn("总务处")),  # the owner is already named
    ("病假需要什么证明？", turn("总务处")),  # no back-reference at all
])
def test_a_question_without_a_usable_reference_is_left_alone(question: str, last: Turn | None) -> None:
    assert rewrite(question, last) == question


@pytest.mark.parametrize("question", ["其他部门的电话是多少？", "其中哪一条规定了请假？"])
def test_words_that_merely_contain_a_pronoun_are_not_back_references(question: str) -> None:
    assert rewrite(question, turn("总务处")) == question


# --- memory ----------------------------------------------------------------------------------------


def test_remember_and_recall(clock: Clock) -> None:
    memory = Conversations()
    memory.remember("a", "谁负责校舍维修？", "总务处")
    last = memory.last("a")
    assert last is not None and (last.question, last.owner, last.at) == ("谁负责校舍维修？", "总务处", 1000.0)
    assert memory.last("b") is None


def test_an_answer_without_an_owner_keeps_the_topic(clock: Clock) -> None:
    memory = Conversations()
    memory.remember("a", "谁负责校舍维修？", "总务处")
    memory.remember("a", "病假需要什么证明？", None)
    assert memory.last("a").owner == "总务处"  # type: ignore[union-attr]
    memory.remember("a", "出纳员有哪些职责？", "出纳员")
    assert memory.last("a").owner == "出纳员"  # type: ignore[union-attr]


def test_turns_expire_after_the_ttl(clock: Clock) -> None:
    memory = Conversations(ttl=60)
    memory.remember("a", "谁负责校舍维修？", "总务处")
    clock.now += 60
    assert memory.last("a") is not None
    clock.now += 0.5
    assert memory.last("a") is None
    memory.remember("a", "出纳员有哪些职责？", "出纳员")  # a new turn starts afresh
    assert memory.last("a").owner == "出纳员"  # type: ignore[union-attr]


def test_an_expired_turn_does_not_lend_its_owner_to_the_next_one(clock: Clock) -> None:
    memory = Conversations(ttl=60)
    memory.remember("a", "谁负责校舍维修？", "总务处")
    clock.now += 120
    memory.remember("a", "病假需要什么证明？", None)
    last = memory.last("a")
    assert last is not None and last.owner is None


def test_the_least_recently_active_conversation_is_dropped_beyond_the_limit(clock: Clock) -> None:
    memory = Conversations(limit=2)
    memory.remember("a", "问题一", "总务处")
    memory.remember("b", "问题二", "出纳员")
    memory.remember("a", "问题三", None)  # a is active again
    memory.remember("c", "问题四", "信息中心")
    assert memory.last("b") is None
    assert memory.last("a") is not None and memory.last("c") is not None


# --- through DutyDesk.ask ---------------------------------------------------------------------------


def test_ask_rewrites_a_follow_up_within_its_conversation_only(small_desk: DutyDesk,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.service.assess", lambda retrieval, knowledge: SUPPORTED)
    talk = conversation_id()
    first = small_desk.ask("谁负责教职工邮箱密码重置？", conversation_id=talk)
    assert first.answer.owner == "信息中心"
    follow = small_desk.ask("那他们的电话是多少？", conversation_id=talk)
    assert follow.question == "那信息中心的电话是多少？"
    assert (follow.answer.owner, follow.answer.contact) == ("信息中心", "0535-3450899")
    stranger = small_desk.ask("那他们的电话是多少？", conversation_id=conversation_id())
    assert stranger.question == "那他们的电话是多少？"
    alone = small_desk.ask("那他们的电话是多少？")
    assert alone.question == "那他们的电话是多少？"
