"""The DingTalk bot end to end: the real `dingtalk-stream` client (frame routing, acks) with DutyDesk's
connection loop, against a fake DingTalk on 127.0.0.1 (tests/e2e/fake_dingtalk.py): the gateway that
opens stream connections, the websocket that delivers bot messages, the session webhook replies go to.

The desk is the Telegram tests' (their corpus and fast hashed-bigram embedder, a real chromadb in a
temp dir) plus one hostile document full of markdown. Each test asserts the exact webhook payloads.
The machine's own address is never looked up (`get_host_ip` is stubbed) and every socket the tests
open is checked to go to 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dingtalk_stream import DingTalkStreamClient
from pydantic import SecretStr
from test_telegram import LAB_TOPICS, BigramEmbedder, write_corpus

from bot import questions
from bot.chat.messages import FEEDBACK_GONE, FEEDBACK_THANKS, TOO_FAST
from bot.cli import main
from bot.conversation import Conversations
from bot.dingtalk import FRONT, NOT_TEXT, REDACTED, STRANGER, Replier, StreamClient, build_client
from bot.dingtalk.format import MESSAGE_LIMIT, pack
from bot.service import DutyDesk, build
from ingest.settings import Settings, get_settings
from tests.fakes.dingtalk import CLIENT_ID, CLIENT_SECRET, FakeDingTalk

TEACHER, COLLEAGUE, MEMBER, STRANGER_ID = "0326150155356344", "0326150155350001", "0326150155350002", "666"
GROUP, OTHER_GROUP = "cidGroupAllowed0001==", "cidGroupOther0002=="
PUBLIC_URL = "https://dutydesk.example.cn"
TITLE = "规章问答"
HINT = "这个回答有用吗？回复“有帮助”或“没帮助”告诉我。"
ROOT = Path(__file__).resolve().parents[2]
NO_HOST_IP_LOOKUP = ("import sys, dingtalk_stream; from bot.cli import main; "  # the SDK would look up 8.8.8.8
                     "dingtalk_stream.DingTalkStreamClient.get_host_ip = lambda self: '127.0.0.1'; "
                     "sys.exit(main(sys.argv[1:]))")
DUTY_ROSTER = """---
title: 值班须知<script>alert(1)</script>
---

# 值班安排

1. 值班教师负责[点此登记](http://evil.example/x)值班表 ![](http://evil.example/p.png) <font color=red>晚自习</font> **巡查**，见 https://evil.example/a_b_c 。
"""


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeDingTalk]:
    """The fake DingTalk, shared by the module (reset before each test)."""
    with FakeDingTalk().running() as server:
        yield server


@pytest.fixture(scope="module")
def dt_desk(tmp_path_factory: pytest.TempPathFactory) -> DutyDesk:
    """The Telegram tests' corpus plus a document full of markdown, ingested into a fresh chromadb."""
    root = tmp_path_factory.mktemp("dingtalk")
    knowledge = write_corpus(root / "knowledge")
    (knowledge / "值班.md").write_text(DUTY_ROSTER, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=root / "data", knowledge_dir=knowledge)  # type: ignore[call-arg]
    desk = build(settings, BigramEmbedder())
    assert not desk.ingest().failed
    return desk


@pytest.fixture()
def settings(gateway: FakeDingTalk, dt_desk: DutyDesk) -> Settings:
    """Bot settings: two allowed teachers, one allowed group, no rate limit, no public URL."""
    return dt_desk.settings.model_copy(update={
        "dingtalk_client_id": SecretStr(CLIENT_ID), "dingtalk_client_secret": SecretStr(CLIENT_SECRET),
        "dingtalk_allowed_users": f"{TEACHER}, {COLLEAGUE}", "dingtalk_allowed_chats": GROUP,
        "dingtalk_rate_limit_per_minute": 0, "dingtalk_openapi_endpoint": gateway.endpoint, "public_url": ""})


@pytest.fixture(autouse=True)
def fresh(gateway: FakeDingTalk, dt_desk: DutyDesk, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clean record, no conversations, the question log taking DingTalk, only 127.0.0.1 reachable;
    afterwards every reply posted is inert markdown within the size limit."""
    gateway.reset()
    dt_desk.conversations = Conversations()
    monkeypatch.setattr(questions, "FRONTS", (*questions.FRONTS, FRONT) if FRONT not in questions.FRONTS
                        else questions.FRONTS)
    monkeypatch.setattr(DingTalkStreamClient, "get_host_ip", lambda self: "127.0.0.1")
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
    yield
    for reply in gateway.recorded("replies"):
        assert_inert(reply["markdown"]["text"])


def _loopback_only(connect: Any) -> Any:
    def guarded(sock: socket.socket, address: Any) -> Any:
        assert address[0] in ("127.0.0.1", "::1", "localhost"), f"a test tried to reach {address}"
        return connect(sock, address)

    return guarded


def assert_inert(text: str) -> None:
    """Within the limit; no link but ours to the office page, no image, tag, heading, emphasis or autolink."""
    assert 0 < len(text) <= MESSAGE_LIMIT
    bare = re.sub(rf"\]\({re.escape(PUBLIC_URL)}/clauses/[\w%.-]+\)", "]", text)
    assert "](" not in bare and "![" not in bare and "<" not in bare and "://" not in bare
    assert not re.search(r"^\s*(?:#|>(?! )|[-+=]|```)", bare, re.MULTILINE), "a line starts with markup"
    assert "**" not in bare.replace("**来源**", "") and "__" not in bare
    assert not re.search(r"&#?\w+;", bare), "an HTML entity"


@contextmanager
def streaming(desk: DutyDesk, settings: Settings) -> Iterator[StreamClient]:
    """The real client, started as `dutydesk dingtalk` starts it, in its own thread and event loop."""
    replier = Replier(backoff=0.01)
    client = build_client(desk, settings, replier, backoff=(0.05, 0.2))
    loop = asyncio.new_event_loop()
    task = loop.create_task(client.start())
    thread = threading.Thread(target=_run_until_cancelled, args=(loop, task), daemon=True, name="dingtalk-bot")
    thread.start()
    try:
        yield client
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=30)
        loop.run_until_complete(replier.close())
        loop.close()


def _run_until_cancelled(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass


def say(gateway: FakeDingTalk, data: dict[str, Any]) -> str:
    """Deliver one message and wait until the bot has acked it (it acks after replying)."""
    before = len(gateway.recorded("acks"))
    frame = gateway.push(data)
    acks = gateway.wait("acks", before + 1)
    assert acks[-1]["headers"]["messageId"] == frame
    return frame


def converse(gateway: FakeDingTalk, desk: DutyDesk, settings: Settings,
             messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Start the bot, deliver the messages one after another, stop; every reply posted, in order."""
    with streaming(desk, settings):
        for data in messages:
            say(gateway, data)
    return gateway.recorded("replies")


def md(text: str, at: str = TEACHER) -> dict[str, Any]:
    """The webhook payload of one markdown message @-ing the asker."""
    return {"msgtype": "markdown", "markdown": {"title": TITLE, "text": text}, "at": {"atUserIds": [at]}}


def place(clause: Any) -> str:
    label = f" · {clause.label}" if clause.label else ""
    return f"《{clause.document}》{' › '.join(clause.section[-2:])}{label}"


# -- answers and citations ---------------------------------------------------------------------
def test_a_question_gets_a_cited_markdown_answer(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                 settings: Settings) -> None:
    """A 1:1 question: the answer with [1], the sources block quoting the clause, the feedback hint; acked."""
    expected = dt_desk.ask("谁负责学生的安全教育？").answer
    clause = expected.citations[0].clause
    assert expected.status == "answered" and expected.owner == "政教处"
    replies = converse(gateway, dt_desk, settings, [gateway.message("谁负责学生的安全教育？", TEACHER)])
    lead, basis = expected.text.split("\n")
    assert replies == [md(f"{lead}\n\n{basis}\n\n**来源**\n\n[1] {place(clause)}\n\n> {clause.text}\n\n{HINT}")]
    assert basis.endswith("」[1]") and "政教处（联系电话：0535-7010862）" in lead
    assert gateway.recorded("sessions") == [f"sess-cid-single-{TEACHER}"]
    [ack] = gateway.recorded("acks")
    assert ack == {"code": 200, "headers": {"contentType": "application/json", "messageId": ack["headers"]["messageId"]},
                   "message": "", "data": json.dumps({"response": "OK"})}
    [opened] = gateway.recorded("opens")
    assert opened == {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "localIp": "127.0.0.1",
                      "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
                      "ua": opened["ua"]}


def test_citations_link_to_the_office_page_when_it_has_a_url(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                             settings: Settings) -> None:
    """With DUTYDESK_PUBLIC_URL each source links to GET /clauses/{id} instead of quoting inline."""
    expected = dt_desk.ask("谁负责编排课程表？").answer
    clause = expected.citations[0].clause
    linked = settings.model_copy(update={"public_url": PUBLIC_URL + "/"})
    [reply] = converse(gateway, dt_desk, linked, [gateway.message("谁负责编排课程表？", TEACHER)])
    sources = reply["markdown"]["text"].split("**来源**\n\n")[1]
    assert sources == f"[1] [{place(clause)}]({PUBLIC_URL}/clauses/{clause.id})\n\n{HINT}"


def test_a_refusal_says_so_and_cites_nothing(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """Nothing in the rules: the core's refusal, no sources block."""
    expected = dt_desk.ask("食堂几点开饭？").answer
    assert expected.status == "refused" and not expected.citations
    replies = converse(gateway, dt_desk, settings, [gateway.message("食堂几点开饭？", TEACHER)])
    assert replies == [md(f"{expected.text}\n\n{HINT}")]


def test_a_related_answer_says_so_and_quotes_the_closest_clauses(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                                   settings: Settings) -> None:
    """The rules don't clearly say: the plain lead, the closest clauses, each quoted under its [n]."""
    question = "家访要带什么材料"
    expected = dt_desk.ask(question).answer
    assert expected.status == "related" and expected.owner is None and len(expected.citations) == 3
    [reply] = converse(gateway, dt_desk, settings, [gateway.message(question, TEACHER)])
    lines = [line for line in expected.text.split("\n") if line.strip()]
    sources = [f"[{n}] {place(hit.clause)}\n\n> {hit.clause.text}" for n, hit in enumerate(expected.citations, start=1)]
    inert = "\n\n".join([*lines, "**来源**", *sources, HINT]).replace("<60分", "＜60分")  # the one markup character
    assert reply == md(inert)
    assert reply["markdown"]["text"].startswith("规章中没有直接写明这一点；最接近的条款是：")


def test_feedback_is_recorded_in_the_question_log(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                  settings: Settings) -> None:
    """The question is logged with front end dingtalk; "有帮助" marks that answer helpful."""
    replies = converse(gateway, dt_desk, settings, [gateway.message("没帮助", COLLEAGUE),
                                                    gateway.message("谁负责校舍维修？", COLLEAGUE),
                                                    gateway.message("有帮助", COLLEAGUE)])
    assert replies[0] == md(FEEDBACK_GONE, COLLEAGUE)  # nothing asked yet in this chat
    assert replies[2] == md(FEEDBACK_THANKS, COLLEAGUE)
    assert dt_desk.questions is not None
    logged = dt_desk.questions.asks()[-1]
    assert (logged.question, logged.front, logged.helpful) == ("谁负责校舍维修？", "dingtalk", True)


def test_without_dingtalk_in_the_question_log_answers_still_flow(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                                  settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A question log that does not know the front end: nothing logged, no hint, the answer as usual."""
    monkeypatch.setattr(questions, "FRONTS", tuple(f for f in questions.FRONTS if f != FRONT))
    assert dt_desk.questions is not None
    before = len(dt_desk.questions.asks())
    [reply] = converse(gateway, dt_desk, settings, [gateway.message("谁负责学生的安全教育？", TEACHER)])
    assert "负责此事的是：政教处" in reply["markdown"]["text"] and HINT not in reply["markdown"]["text"]
    assert len(dt_desk.questions.asks()) == before


def test_a_follow_up_is_per_conversation_and_sender(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                    settings: Settings) -> None:
    """"那他们的电话呢？" means the asker's own last answer; a colleague in the same group has no context."""
    ask: dict[str, Any] = {"conversation": GROUP, "group": True}
    replies = converse(gateway, dt_desk, settings, [
        gateway.message("谁负责编排课程表？", MEMBER, **ask),
        gateway.message("那他们的电话呢？", COLLEAGUE, **ask),
        gateway.message("那他们的电话呢？", MEMBER, **ask)])
    texts = [r["markdown"]["text"] for r in replies]
    assert "负责此事的是：教务处" in texts[0]
    assert not texts[1].startswith("*（按")
    assert texts[2].startswith("*（按“那教务处的电话呢？”理解）*\n\n教务处的联系电话是 0535-7010836。")
    assert [r["at"] for r in replies] == [{"atUserIds": [MEMBER]}, {"atUserIds": [COLLEAGUE]}, {"atUserIds": [MEMBER]}]


# -- chats and access ----------------------------------------------------------------------------
def test_groups_answer_only_when_the_bot_is_mentioned(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                      settings: Settings) -> None:
    """In an allowed group a message without the @ is acked and left alone; with it, anyone is answered."""
    replies = converse(gateway, dt_desk, settings, [
        gateway.message("谁负责编排课程表？", MEMBER, GROUP, group=True, mentioned=False),
        gateway.message("谁负责校舍维修？", MEMBER, GROUP, group=True)])
    assert len(gateway.recorded("acks")) == 2
    assert len(replies) == 1 and "负责此事的是：总务处" in replies[0]["markdown"]["text"]
    assert gateway.recorded("sessions") == [f"sess-{GROUP}"]


def test_strangers_are_refused_politely(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """Not allow-listed: a short refusal naming the id to send the admin, nothing from the rules;
    in a group that is not allowed, silence unless the bot is mentioned."""
    replies = converse(gateway, dt_desk, settings, [
        gateway.message("谁负责学生的安全教育？", STRANGER_ID),
        gateway.message("大家好", STRANGER_ID, OTHER_GROUP, group=True, mentioned=False),
        gateway.message("政教处电话多少？", STRANGER_ID, OTHER_GROUP, group=True)])
    assert replies == [md(STRANGER.format(user_id=STRANGER_ID), STRANGER_ID),
                       md(STRANGER.format(user_id=f"{STRANGER_ID}，本群 ID：{OTHER_GROUP}"), STRANGER_ID)]
    assert "0535" not in str(replies)


def test_an_empty_allow_list_lets_nobody_in(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Fail closed: no ids configured, even the usual teacher is refused, and a warning is logged at start."""
    closed = settings.model_copy(update={"dingtalk_allowed_users": "", "dingtalk_allowed_chats": ""})
    with caplog.at_level(logging.WARNING, logger="bot.dingtalk"):
        replies = converse(gateway, dt_desk, closed, [gateway.message("谁负责学生的安全教育？", TEACHER)])
    assert replies == [md(STRANGER.format(user_id=TEACHER))]
    assert "both empty: the bot will refuse everyone" in caplog.text


def test_rate_limit_per_sender(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """Over DUTYDESK_DINGTALK_RATE_LIMIT_PER_MINUTE a sender is told to wait; others are not held up."""
    limited = settings.model_copy(update={"dingtalk_rate_limit_per_minute": 1})
    replies = converse(gateway, dt_desk, limited, [gateway.message("谁负责校舍维修？", TEACHER),
                                                   gateway.message("谁负责编排课程表？", TEACHER),
                                                   gateway.message("谁负责编排课程表？", COLLEAGUE)])
    wait = re.fullmatch(r"提问有点快了：每分钟最多 1 次，请 (\d+) 秒后再试。", replies[1]["markdown"]["text"])
    assert wait and 0 < int(wait.group(1)) <= 60 and TOO_FAST.startswith("提问有点快了")
    assert "负责此事的是：教务处" in replies[2]["markdown"]["text"]


def test_redelivered_and_non_text_messages(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """The same msgId twice is answered once (both frames acked); a picture gets a short notice."""
    question = gateway.message("谁负责校舍维修？", TEACHER)
    picture = gateway.message("", TEACHER, msgtype="picture", content={"downloadCode": "x"})
    del picture["text"]
    replies = converse(gateway, dt_desk, settings, [question, question, picture])
    assert len(gateway.recorded("acks")) == 3
    assert len(replies) == 2 and replies[1] == md(NOT_TEXT)


def test_keep_alive_pings_are_acked_quietly(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """DingTalk's SYSTEM ping: the ack echoes its data, no warning is logged, nothing is posted."""
    with caplog.at_level(logging.INFO), streaming(dt_desk, settings):
        frame = gateway.push({"opaque": "ping-7"}, kind="SYSTEM", topic="ping")
        [ack] = gateway.wait("acks")
    assert ack == {"code": 200, "headers": {"contentType": "application/json", "messageId": frame},
                   "message": "OK", "data": json.dumps({"opaque": "ping-7"})}
    assert "unknown message topic" not in caplog.text and not gateway.recorded("replies")


# -- hostile text and size -------------------------------------------------------------------------
def test_markdown_in_documents_is_neutralised(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """A clause with links, an image, HTML, emphasis and a URL reaches the chat as inert full-width text."""
    [reply] = converse(gateway, dt_desk, settings, [gateway.message("谁负责值班表登记？", TEACHER)])
    inert = ("值班教师负责［点此登记］（http：//evil.example/x）值班表 ！［］（http：//evil.example/p.png） "
             "＜font color=red＞晚自习＜/font＞ ＊＊巡查＊＊，见 https：//evil.example/a＿b＿c 。")
    text = reply["markdown"]["text"]
    assert text.startswith("负责此事的是：值班教师。\n\n依据《值班须知＜script＞alert（1）＜/script＞》")
    assert f"「1. {inert}」[1]" in text and f"\n\n> {inert}\n\n" in text


def test_markdown_in_questions_is_neutralised(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings) -> None:
    """A follow-up echoed back ("按…理解") carries the asker's markup, escaped."""
    hostile = "那他们的电话呢？[点我](http://evil.example)<b>急</b>&lt;i&gt;_#"
    replies = converse(gateway, dt_desk, settings, [gateway.message("谁负责编排课程表？", TEACHER),
                                                    gateway.message(hostile, TEACHER)])
    assert replies[1]["markdown"]["text"].startswith(
        "*（按“那教务处的电话呢？［点我］（http：//evil.example）＜b＞急＜/b＞＆lt;i＆gt;＿＃”理解）*\n\n")


def test_huge_and_control_character_messages_get_the_cores_reason(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                                   settings: Settings) -> None:
    """A 100 000-character message and one with control characters: the core's own message, nothing else."""
    replies = converse(gateway, dt_desk, settings, [gateway.message("谁负责" * 33_334, TEACHER),
                                                    gateway.message("谁负责\x07校舍维修？", TEACHER)])
    assert replies[0] == md("问题过长：最多 500 个字符")
    assert len(replies) == 2 and "负责此事" not in replies[1]["markdown"]["text"]


def test_a_long_answer_is_split_between_citations(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                  settings: Settings) -> None:
    """14 long duties: several messages of at most 5000 characters; every duty and source in exactly one."""
    replies = converse(gateway, dt_desk, settings, [gateway.message("实验员的职责有哪些？", TEACHER)])
    texts = [r["markdown"]["text"] for r in replies]
    assert len(texts) >= 2 and all(len(t) <= MESSAGE_LIMIT for t in texts)
    for n, topic in enumerate(LAB_TOPICS, start=1):
        assert sum(f"{n}.负责{topic}的领用登记" in t and f"」[{n}]" in t for t in texts) == 1, topic
        assert sum(bool(re.search(rf"(?:^|\n\n)\[{n}\] 《青松路中学岗位职责》", t)) for t in texts) == 1, topic
    assert texts[-1].endswith(HINT)


def test_an_oversize_block_is_shortened_with_a_marker() -> None:
    """A single block longer than a message keeps its start and its [n], with 「…」 where text was cut."""
    parts = pack(["标题", "长" * 6000 + " [3]", "短"])
    assert parts[0] == "标题" and parts[2] == "短" and len(parts) == 3
    assert len(parts[1]) == MESSAGE_LIMIT and parts[1].endswith("长「…」 [3]")


# -- faults and secrets ----------------------------------------------------------------------------
def test_a_dropped_stream_is_reopened_and_answers_go_on(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                        settings: Settings) -> None:
    """The TCP connection dies: the client opens a new connection (new ticket) and answers on it."""
    with streaming(dt_desk, settings) as client:
        say(gateway, gateway.message("谁负责校舍维修？", TEACHER))
        gateway.drop()
        gateway.wait("opens", 2)
        say(gateway, gateway.message("谁负责编排课程表？", TEACHER))
    tickets = gateway.recorded("tickets")
    assert client.connections == 2 and len(set(tickets)) == 2
    texts = [r["markdown"]["text"] for r in gateway.recorded("replies")]
    assert "总务处" in texts[0] and "负责此事的是：教务处" in texts[1]


def test_a_failed_reply_is_retried_then_logged(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """502 twice then taken: delivered once. Failing every time: four attempts, then an error without the session."""
    gateway.fail_next(502, times=2)
    with caplog.at_level(logging.WARNING, logger="bot.dingtalk"), streaming(dt_desk, settings):
        say(gateway, gateway.message("谁负责校舍维修？", TEACHER))
        assert gateway.webhook_attempts == 3 and len(gateway.recorded("replies")) == 1
        gateway.fail_next(500, times=10)
        say(gateway, gateway.message("谁负责编排课程表？", TEACHER))
    assert gateway.webhook_attempts == 7 and len(gateway.recorded("replies")) == 1
    assert re.search(r"DingTalk reply to message msg\d+ not delivered after 4 attempt\(s\): HTTP 500", caplog.text)
    assert "sess-" not in caplog.text


def test_secrets_and_tickets_never_reach_the_logs(gateway: FakeDingTalk, dt_desk: DutyDesk, settings: Settings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Everything logged at DEBUG, websockets' handshake lines included, through a reconnect: no secret, no ticket."""
    caplog.set_level(logging.DEBUG)
    with streaming(dt_desk, settings) as client:
        say(gateway, gateway.message("谁负责校舍维修？", TEACHER))
        gateway.drop()
        gateway.wait("opens", 2)
        say(gateway, gateway.message("谁负责编排课程表？", TEACHER))
        for ticket in gateway.recorded("tickets"):  # what the SDK's own start() logs on every connection
            logging.getLogger("dingtalk_stream.client").info("endpoint is %s", {"endpoint": "ws://x", "ticket": ticket})
    tickets = gateway.recorded("tickets")
    assert len(tickets) == 2 and REDACTED in caplog.text
    for secret in (CLIENT_SECRET, CLIENT_ID, *tickets, "sess-"):
        assert secret not in caplog.text
    for text in (repr(client), repr(settings), str(settings)):
        assert CLIENT_SECRET not in text and CLIENT_ID not in text


def test_wrong_credentials_are_retried_with_backoff_and_not_logged(gateway: FakeDingTalk, dt_desk: DutyDesk,
                                                                    settings: Settings,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A rejected secret: the client keeps asking (backing off), never streams, logs why without the secret."""
    wrong = settings.model_copy(update={"dingtalk_client_secret": SecretStr("WrongSecret_0123456789")})
    caplog.set_level(logging.DEBUG)
    with streaming(dt_desk, wrong) as client:
        gateway.wait("opens", 3)
    assert client.connections == 0
    waits = [float(w) for w in re.findall(r"DingTalk stream unavailable; reconnecting in ([\d.]+) s", caplog.text)]
    assert len(waits) >= 2 and waits[1] > waits[0]  # doubled (0.1 → 0.2 s here), jitter at most ±20 %
    assert "DingTalk gateway refused the connection: HTTP 401" in caplog.text
    assert "WrongSecret_0123456789" not in caplog.text


def _as_a_background_job() -> None:
    """What a script's `cmd &` does to its child: SIGINT ignored (it must still stop the bot)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_dutydesk_dingtalk_command_answers_and_stops(gateway: FakeDingTalk, tmp_path: Path, signum: int) -> None:
    """`python -m bot -v dingtalk` end to end: settings from the environment, the real embedder, DEBUG
    logging on stderr (websockets' handshake included) without a secret or a ticket; SIGINT (Ctrl-C) or
    SIGTERM (`docker stop`) stops it, even started as a background job, which inherits SIGINT ignored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", ORT_DISABLE_TELEMETRY="1",
               DUTYDESK_DINGTALK_CLIENT_ID=CLIENT_ID,
               DUTYDESK_DINGTALK_CLIENT_SECRET=CLIENT_SECRET, DUTYDESK_DINGTALK_ALLOWED_USERS=TEACHER,
               DUTYDESK_DINGTALK_OPENAPI_ENDPOINT=gateway.endpoint, DUTYDESK_DATA_DIR=str(tmp_path / "data"),
               DUTYDESK_KNOWLEDGE_DIR=str(write_corpus(tmp_path / "knowledge", roles=False)))
    log_file = tmp_path / "stderr.log"
    with log_file.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-c", NO_HOST_IP_LOOKUP, "-v", "dingtalk"], cwd=tmp_path,
                                   env=env, stdout=stderr, stderr=stderr, preexec_fn=_as_a_background_job)
        try:
            gateway.wait("opens", timeout=90)
            say(gateway, gateway.message("谁负责编排课程表？", TEACHER))
        finally:
            process.send_signal(signum)
            process.wait(timeout=30)
    log = log_file.read_text(encoding="utf-8")
    assert "负责此事的是：教务处" in gateway.recorded("replies")[0]["markdown"]["text"], log[-3000:]
    assert process.returncode == 130 and "已中断" in log, log[-3000:]
    assert "GET /connect?ticket=<dingtalk-secret>" in log and "DingTalk stream connected" in log
    for secret in (CLIENT_SECRET, CLIENT_ID, *gateway.recorded("tickets"), "sess-"):
        assert secret not in log


def test_dutydesk_dingtalk_refuses_to_start_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`dutydesk dingtalk` with no app credentials: exit status 2 and how to get them."""
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DUTYDESK_DINGTALK_CLIENT_ID", "DUTYDESK_DINGTALK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        assert main(["dingtalk"]) == 2
    finally:
        get_settings.cache_clear()
    assert "DUTYDESK_DINGTALK_CLIENT_SECRET" in capsys.readouterr().err
