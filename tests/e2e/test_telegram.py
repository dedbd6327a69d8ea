"""The Telegram bot end to end: the real python-telegram-bot Application, long polling a fake Bot API
server on 127.0.0.1 (tests/e2e/fake_bot_api.py), answering from a real DutyDesk over a small corpus.

Each test queues updates on the fake server and asserts the exact sendMessage / answerCallbackQuery
payloads the bot posted back. The desk uses a fast hashed-bigram embedder, so no model is loaded
except in the one subprocess test of `dutydesk telegram`, which builds everything from settings.
"""
from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from itertools import count, pairwise
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from telegram.ext import Application
from uvicorn_thread import serve_in_thread

from bot.api import create_app
from bot.chat.messages import APOLOGY, FEEDBACK_GONE, FEEDBACK_THANKS, TOO_FAST
from bot.conversation import Conversations
from bot.service import DutyDesk, build
from bot.telegram import (
    ALLOWED_UPDATES,
    STRANGER,
    build_application,
    callback_data,
    mount_webhook,
    run_polling,
    webhook_secret,
)
from bot.telegram.format import MESSAGE_LIMIT, cut, help_html, pack
from ingest.settings import Settings
from tests.fakes.bot_api import BOT_USER, FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7700001:AAHfakeTokenForTests_0123456789abcdefXYZ"
TEACHER, COLLEAGUE, STRANGER_ID, GROUP_MEMBER = 1001, 1002, 6660, 3003
GROUP, OTHER_GROUP = -1005550001, -1009990002
BOT_NAME = str(BOT_USER["username"])
HTML = {"parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}

LAB_TOPICS = ["显微镜", "天平", "烧杯与量筒", "酒精灯", "化学试剂", "生物标本", "电学实验箱", "光学仪器",
              "实验台面", "通风橱", "灭火器材", "废液回收桶", "实验记录本", "仪器借用登记簿"]
LAB_DUTY = ("负责{topic}的领用登记、日常保管、定期检查和维修报废工作，"
            + "做好台账记录，发现损坏或短缺及时报告总务处并说明原因，学期末会同任课教师核对数量、清点账物、"
              "整理归档，确保账物相符、摆放整齐、标签清楚、安全可靠；" * 6 + "不得私自外借。")
DEPARTMENTS = """---
title: 青松路中学内设机构职能及联系方式
---

|   |   |   |   |
|---|---|---|---|
|机构名称|政教处|办公电话|0535-7010862|
|机构职能|1.负责学生的安全教育和法制教育，每学期组织一次应急疏散演练。<br><br>2.负责学生日常行为规范的检查与评比。|   |   |
|机构名称|教务处|办公电话|0535-7010836|
|机构职能|1.负责编排课程表，办理教师调课与代课手续。<br><br>2.负责期中、期末考试的组织和成绩管理。|   |   |
|机构名称|总务处|办公电话|0535-7010855|
|机构职能|1.负责校舍维修和水电管理。<br><br>2.负责学校固定资产的登记与清查。|   |   |
"""
ROLES = "\n".join([
    "青松路中学岗位职责", "", "一、教学辅助岗位", "", "实验员岗位职责",
    *(f"{n}.{LAB_DUTY.format(topic=topic)}" for n, topic in enumerate(LAB_TOPICS, start=1)), "",
    "出纳员岗位职责", "1.负责现金收付和银行结算，做到日清月结。", "2.负责保管库存现金和有价证券，确保资金安全。", "",
    "班主任岗位职责", "1.负责班级学生的思想教育和日常管理，每周召开一次班会。",
    "2.期末考试成绩<60分的学生，由班主任联系家长并报教务处安排补考&重修。",
    "3.负责与家长沟通联系，每学期至少家访一次。", ""])


class BigramEmbedder:
    """Fast, deterministic stand-in for e5: hashed character bigrams plus a constant component.

    The constant keeps every cosine at or above ~0.83, like e5's, so the core's similarity floor
    passes and refusals are decided by key-term coverage, as they are with the real model.
    """

    name = "test/hashed-bigrams-384"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vector = np.zeros(384, np.float32)
        for pair in pairwise(text):
            vector[1 + zlib.crc32("".join(pair).encode()) % 383] += 1.0
        norm = np.linalg.norm(vector)
        vector = vector / norm if norm else vector
        vector[0] = 2.2
        return vector / np.linalg.norm(vector)


# -- fixtures --------------------------------------------------------------------------------
def write_corpus(knowledge: Path, roles: bool = True) -> Path:
    """The test corpus: a department table with phones, and role duties (one list very long)."""
    knowledge.mkdir(parents=True, exist_ok=True)
    (knowledge / "机构职能.md").write_text(DEPARTMENTS, encoding="utf-8")
    if roles:
        (knowledge / "岗位职责.txt").write_text(ROLES, encoding="utf-8")
    return knowledge


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    """The fake Bot API server, shared by the module (reset before each test)."""
    with FakeBotApi(TOKEN).running() as server:
        yield server


@pytest.fixture(scope="module")
def tg_desk(tmp_path_factory: pytest.TempPathFactory) -> DutyDesk:
    """A DutyDesk with the corpus ingested (hashed-bigram embedder)."""
    root = tmp_path_factory.mktemp("telegram")
    settings = Settings(_env_file=None, data_dir=root / "data", knowledge_dir=write_corpus(root / "knowledge"))  # type: ignore[call-arg]
    desk = build(settings, BigramEmbedder())
    assert not desk.ingest().failed
    return desk


@pytest.fixture()
def settings(api: FakeBotApi, tg_desk: DutyDesk) -> Settings:
    """Bot settings: two allowed teachers, one allowed group, no rate limit."""
    return tg_desk.settings.model_copy(update={
        "telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url,
        "telegram_allowed_users": f"{TEACHER}, {COLLEAGUE}", "telegram_allowed_chats": str(GROUP),
        "telegram_rate_limit_per_minute": 0, "telegram_webhook_url": None})


@pytest.fixture(autouse=True)
def fresh(api: FakeBotApi, tg_desk: DutyDesk) -> Iterator[None]:
    """A clean server record and no remembered conversations; afterwards every message sent is valid."""
    api.reset()
    tg_desk.conversations = Conversations()
    yield
    for sent in api.recorded("sendMessage"):
        assert_telegram_html(sent["text"])


@asynccontextmanager
async def polling(desk: DutyDesk, settings: Settings) -> AsyncIterator[Application]:
    """The real application, started the way run_polling starts it, long polling the fake server."""
    application = build_application(desk, settings)
    updater = application.updater
    assert updater is not None and application.post_init is not None
    await application.initialize()
    await application.post_init(application)
    await application.start()
    await updater.start_polling(poll_interval=0.01, timeout=1, allowed_updates=ALLOWED_UPDATES)
    try:
        yield application
    finally:
        await updater.stop()
        await application.stop()
        await application.shutdown()


def converse(api: FakeBotApi, desk: DutyDesk, settings: Settings, updates: list[dict[str, Any]],
             replies: int, method: str = "sendMessage") -> list[dict[str, Any]]:
    """Start the bot, queue the updates, wait for `replies` calls of `method`, stop; return them all."""

    async def scenario() -> list[dict[str, Any]]:
        async with polling(desk, settings):
            for update in updates:
                api.push(update)
            await api.wait_for(method, replies)
            await asyncio.sleep(0.1)  # let anything unexpected arrive before we count
            return api.recorded(method)

    return asyncio.run(scenario())


serve_asgi = serve_in_thread  # the app, lifespan included, under uvicorn on 127.0.0.1 in a thread


# -- updates as Telegram sends them ----------------------------------------------------------
_ids = count(100)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "老师"}
    return {"id": chat_id, "type": "supergroup", "title": "初一教研组"}


def message(text: str, user: int = TEACHER, chat: int | None = None, reply_to_bot: bool = False) -> dict[str, Any]:
    """A message update with the entities Telegram would add (commands, @mentions)."""
    entities = [{"type": "mention", "offset": _utf16(text[:m.start()]), "length": _utf16(m.group())}
                for m in re.finditer(r"@\w+", text)]
    if text.startswith("/"):
        word = text.split()[0]
        entities = [{"type": "bot_command", "offset": 0, "length": _utf16(word)}, *entities[("@" in word):]]
    body: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": _chat(chat or user),
                            "from": {"id": user, "is_bot": False, "first_name": "老师"}, "text": text}
    if entities:
        body["entities"] = entities
    if reply_to_bot:
        body["reply_to_message"] = {"message_id": 42, "date": int(time.time()), "chat": _chat(chat or user),
                                    "from": BOT_USER, "text": "之前的回答"}
    return {"message": body}


def press(data: str, user: int = TEACHER, chat: int | None = None) -> dict[str, Any]:
    """A button press (callback query) on one of the bot's messages."""
    return {"callback_query": {
        "id": f"cb-{next(_ids)}", "from": {"id": user, "is_bot": False, "first_name": "老师"},
        "chat_instance": "ci-1", "data": data,
        "message": {"message_id": 77, "date": int(time.time()), "chat": _chat(chat or user),
                    "from": BOT_USER, "text": "回答"}}}


# -- Telegram HTML -----------------------------------------------------------------------------
class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "code", "blockquote"} and not attrs, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


def assert_telegram_html(text: str) -> None:
    """Within the limit, only our tags and balanced, every other < > & escaped."""
    assert 0 < len(text) <= MESSAGE_LIMIT
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.stack, f"unclosed {checker.stack}"
    bare = re.sub(r"</?(?:b|i|code|blockquote)>", "", text)
    assert "<" not in bare and ">" not in bare
    assert re.fullmatch(r"(?:[^&]|&(?:lt|gt|amp);)*", bare, re.S), "unescaped &"


def sources(*clauses: Any) -> str:
    """The sources block as the bot must write it."""
    lines = [f"[{n}] 《{c.document}》{' › '.join(c.section[-2:])} · {c.label}\n<i>「{html.escape(c.text)}」</i>"
             for n, c in enumerate(clauses, start=1)]
    return "\n\n<b>来源</b>\n" + "\n".join(lines)


def buttons(*ids: str, answer: str | None = None) -> dict[str, Any]:
    """One "[n] 原文" button per clause id; for an answer, then 有帮助 / 没帮助 naming it."""
    rows = [[{"text": f"[{n}] 原文", "callback_data": f"c:{clause_id}"} for n, clause_id in enumerate(ids, start=1)]]
    if answer is not None:
        rows.append([{"text": "有帮助", "callback_data": f"f:1:{answer}"},
                     {"text": "没帮助", "callback_data": f"f:0:{answer}"}])
    return {"inline_keyboard": [row for row in rows if row]}


def answer_id_of(sent: dict[str, Any], desk: DutyDesk) -> str:
    """The answer id the feedback buttons of a sent answer carry: one the desk logged from Telegram."""
    data = sent["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
    answer_id = data.removeprefix("f:1:")
    assert desk.questions is not None
    assert [a.front for a in desk.questions.asks() if a.answer_id == answer_id] == ["telegram"]
    return answer_id


# -- answers and citations ---------------------------------------------------------------------
def test_private_question_gets_cited_answer_with_buttons(api: FakeBotApi, tg_desk: DutyDesk,
                                                         settings: Settings) -> None:
    """A private text is a question: the answer with [n], a sources block and one button per citation."""
    [sent] = converse(api, tg_desk, settings, [message("谁负责学生的安全教育？")], 1)
    expected = tg_desk.ask("谁负责学生的安全教育？").answer
    clause = expected.citations[0].clause
    assert expected.owner == "政教处" and "[1]" in expected.text
    assert sent == {"chat_id": TEACHER, "text": html.escape(expected.text, quote=False) + sources(clause),
                    "reply_markup": buttons(clause.id, answer=answer_id_of(sent, tg_desk)), **HTML}
    assert "政教处（联系电话：0535-7010862）" in sent["text"]


def test_a_related_answer_says_so_and_still_cites(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """When the rules don't clearly say, the chat gets the plain lead, the closest clauses and their buttons."""
    question = "家访的时候要注意啥"  # the rules ask for visits, but say nothing of what to mind during one
    expected = tg_desk.ask(question).answer
    assert expected.status == "related" and expected.owner is None and expected.citations
    [sent] = converse(api, tg_desk, settings, [message(question)], 1)
    clauses = [hit.clause for hit in expected.citations]
    assert sent["text"].startswith(html.escape(expected.text, quote=False) + "\n\n<b>来源</b>\n")
    for n, clause in enumerate(clauses, start=1):
        assert f"[{n}] 《{clause.document}》" in sent["text"]
    assert sent["reply_markup"] == buttons(*(c.id for c in clauses), answer=answer_id_of(sent, tg_desk))


def test_button_shows_the_full_clause(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """A citation button answers the callback query and posts the clause with its source."""
    clause = tg_desk.clause("gwzz-banzhuren-2")
    update = press(callback_data(clause.id))
    [sent] = converse(api, tg_desk, settings, [update], 1)
    assert api.recorded("answerCallbackQuery") == [{"callback_query_id": update["callback_query"]["id"]}]
    assert sent == {"chat_id": TEACHER, **HTML, "text": (
        "<b>《青松路中学岗位职责》</b>\n"
        f"{' › '.join(clause.section)}\n"
        "<blockquote>2.期末考试成绩&lt;60分的学生，由班主任联系家长并报教务处安排补考&amp;重修。</blockquote>\n"
        f"出处：岗位职责.txt 第 {clause.source.line_start} 行\n"
        "编号：<code>gwzz-banzhuren-2</code>")}


def test_callback_data_stays_within_64_bytes(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """Short ids travel as they are; a long one as a digest that still finds its clause."""
    assert callback_data("xxggwzz-banzhuren-3") == "c:xxggwzz-banzhuren-3"
    assert len(callback_data("很长的编号" * 10).encode()) <= 64
    clause = tg_desk.clause("jgzn-jiaowuchu-2")
    digest = "h:" + hashlib.sha256(clause.id.encode()).hexdigest()[:32]
    [sent] = converse(api, tg_desk, settings, [press(digest)], 1)
    assert "负责期中、期末考试的组织和成绩管理。" in sent["text"]


def test_user_and_document_text_is_escaped(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """< > & from the question or the documents never reach Telegram unescaped."""
    sent = converse(api, tg_desk, settings, [
        message("成绩<60分的学生怎么办？"),
        message("/source <b>&x"),
        message("/duties <i>火星&部</i>"),
    ], 3)
    assert "期末考试成绩&lt;60分的学生，由班主任联系家长并报教务处安排补考&amp;重修。" in sent[0]["text"]
    assert sent[1]["text"] == "没有编号为 &lt;b&gt;&amp;x 的条款"
    assert sent[2]["text"] == ("没有找到名为“&lt;i&gt;火星&amp;部&lt;/i&gt;”的部门或岗位。"
                               "可以试试：实验员、出纳员、班主任、政教处、教务处、总务处（/owners 查看全部）。")


def test_long_duty_list_is_split_between_clauses(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """/duties 实验员: 14 long clauses over several messages, each ≤ 4096, no clause or tag cut."""
    sent = converse(api, tg_desk, settings, [message("/duties 实验员")], 2)
    texts = [s["text"] for s in sent]
    assert len(texts) >= 2 and all(len(t) <= MESSAGE_LIMIT for t in texts)
    assert texts[0].startswith("<b>实验员</b>的职责共 14 条：\n1.负责显微镜")
    for n, topic in enumerate(LAB_TOPICS, start=1):
        whole = f"{n}.{LAB_DUTY.format(topic=topic)} [{n}]"
        assert sum(whole in t for t in texts) == 1, topic
    section = " › ".join(tg_desk.clause("gwzz-shiyanyuan-1").section[-2:])
    assert texts[-1].endswith(f"<b>来源</b>\n《青松路中学岗位职责》{section}")
    assert [s.get("reply_markup") for s in sent[:-1]] == [None] * (len(sent) - 1)
    keyboard = sent[-1]["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in keyboard for b in row] == [f"[{n}] 原文" for n in range(1, 15)]


def test_an_oversize_block_is_cut_outside_tags() -> None:
    """A single block longer than a message is cut between characters, its tags closed and reopened."""
    parts = pack(["标题", "<blockquote>" + "长" * 5000 + "&amp;</blockquote>"])
    assert parts[0] == "标题"
    assert len(parts) == 3 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    for part in parts[1:]:
        assert_telegram_html(part)
        assert part.startswith("<blockquote>") and part.endswith("</blockquote>")
    assert cut("<b>x</b>", 4096) == ["<b>x</b>"]


def test_feedback_buttons_record_in_the_question_log(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """有帮助 / 没帮助 under every answer (a refusal too): a press is recorded for that answer and acknowledged."""
    teacher = {"id": TEACHER, "is_bot": False, "first_name": "老师"}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with polling(tg_desk, settings):
            api.push(message("家访的时候要注意啥"))
            api.push(message("学校的游泳池几点开门？", user=COLLEAGUE))
            await api.wait_for("sendMessage", 2)
            related, refused = api.sent()
            api.press(related, "没帮助", teacher)
            api.press(refused, "有帮助", {**teacher, "id": COLLEAGUE})
            api.push(press("f:0:0123456789abcdef0123456789abcdef"))  # an answer the log no longer holds
            answers = await api.wait_for("answerCallbackQuery", 3)
            return [related, refused], answers

    (related, refused), answers = asyncio.run(scenario())
    assert [row["text"] for row in refused["reply_markup"]["inline_keyboard"][-1]] == ["有帮助", "没帮助"]
    assert tg_desk.questions is not None
    logged = {a.answer_id: a for a in tg_desk.questions.asks()}
    related_id, refused_id = answer_id_of(related, tg_desk), answer_id_of(refused, tg_desk)
    assert (logged[related_id].question, logged[related_id].status, logged[related_id].helpful) == \
        ("家访的时候要注意啥", "related", False)
    assert (logged[refused_id].status, logged[refused_id].helpful) == ("refused", True)
    assert [(a["text"], a.get("show_alert")) for a in answers] == [
        (FEEDBACK_THANKS, None), (FEEDBACK_THANKS, None), (FEEDBACK_GONE, True)]
    assert api.recorded("sendMessage")[2:] == []  # a press sends no new message
    hashes = tg_desk.questions.user_hashes()
    assert str(TEACHER) not in "".join(h or "" for h in hashes) and len(set(hashes[-2:])) == 2


# -- access control --------------------------------------------------------------------------
def test_strangers_are_refused_politely(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """Not allow-listed: a short refusal and nothing from the knowledge base, whatever they send."""
    refusal = STRANGER.format(user_id=STRANGER_ID)
    sent = converse(api, tg_desk, settings, [
        message("谁负责学生的安全教育？", user=STRANGER_ID),
        message("/source gwzz-banzhuren-2", user=STRANGER_ID),
        message("大家好", user=STRANGER_ID, chat=OTHER_GROUP),  # not addressed: silence
        message(f"@{BOT_NAME} 政教处电话多少？", user=STRANGER_ID, chat=OTHER_GROUP),
    ], 3)
    in_group = STRANGER.format(user_id=f"{STRANGER_ID}，本群 ID：{OTHER_GROUP}")
    assert [s["text"] for s in sent] == [refusal, refusal, in_group]
    assert sent[0] == {"chat_id": STRANGER_ID, "text": refusal, **HTML}
    assert "0535" not in str(sent)
    api.reset()
    update = press("c:gwzz-banzhuren-2", user=STRANGER_ID)
    [alert] = converse(api, tg_desk, settings, [update], 1, method="answerCallbackQuery")
    assert alert == {"callback_query_id": update["callback_query"]["id"], "text": refusal, "show_alert": True}
    assert api.recorded("sendMessage") == []


def test_an_empty_allow_list_lets_nobody_in(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Fail closed: with no ids configured even the usual teacher is refused, and a warning is logged."""
    closed = settings.model_copy(update={"telegram_allowed_users": "", "telegram_allowed_chats": ""})
    with caplog.at_level(logging.WARNING, logger="bot.telegram"):
        sent = converse(api, tg_desk, closed, [message("谁负责学生的安全教育？"),
                                               message("/help", user=GROUP_MEMBER, chat=GROUP)], 2)
    assert [s["text"] for s in sent] == [STRANGER.format(user_id=TEACHER),
                                         STRANGER.format(user_id=f"{GROUP_MEMBER}，本群 ID：{GROUP}")]
    assert "both empty: the bot will refuse everyone" in caplog.text


def test_allow_list_must_be_numeric_ids(tg_desk: DutyDesk, settings: Settings) -> None:
    """A username in the allow-list is a configuration error, not a silent hole or lock-out."""
    with pytest.raises(ValueError, match="DUTYDESK_TELEGRAM_ALLOWED_USERS"):
        build_application(tg_desk, settings.model_copy(update={"telegram_allowed_users": "1001,@alice"}))


def test_groups_answer_only_mentions_replies_and_commands(api: FakeBotApi, tg_desk: DutyDesk,
                                                           settings: Settings) -> None:
    """In an allowed group: @mention, a reply to the bot and /ask are answered; chatter is not."""
    mention = message(f"@{BOT_NAME} 谁负责编排课程表？", user=GROUP_MEMBER, chat=GROUP)
    sent = converse(api, tg_desk, settings, [
        message("谁负责编排课程表？", user=GROUP_MEMBER, chat=GROUP),
        mention,
        message("/ask@other_bot 谁负责编排课程表？", user=GROUP_MEMBER, chat=GROUP),
        message("那他们的电话是多少？", user=GROUP_MEMBER, chat=GROUP, reply_to_bot=True),
        message(f"/ask@{BOT_NAME} 谁负责校舍维修？", user=GROUP_MEMBER, chat=GROUP),
        message("/who 学生日常行为规范的检查", user=GROUP_MEMBER, chat=GROUP),
    ], 4)
    assert len(sent) == 4
    assert sent[0]["reply_parameters"] == {"message_id": mention["message"]["message_id"], "quote_parse_mode": "HTML"}
    assert sent[0]["chat_id"] == GROUP and "负责此事的是：教务处" in sent[0]["text"]
    assert "教务处的联系电话是 0535-7010836" in sent[1]["text"]
    assert "负责此事的是：总务处" in sent[2]["text"]
    assert "负责此事的是：政教处" in sent[3]["text"]


# -- commands ------------------------------------------------------------------------------------
def test_help_start_and_the_command_menu(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """/start and /help explain the bot with Chinese examples; the menu is registered at start."""
    sent = converse(api, tg_desk, settings, [message("/start"), message("/help")], 2)
    assert sent[0] == {"chat_id": TEACHER, "text": help_html(BOT_NAME), **HTML} and sent[1]["text"] == sent[0]["text"]
    assert "谁负责学生的安全教育？" in sent[0]["text"] and f"@{BOT_NAME}" in sent[0]["text"]
    [menu] = api.recorded("setMyCommands")
    assert [c["command"] for c in menu["commands"]] == ["ask", "who", "duties", "source", "owners", "help", "start"]


def test_ask_who_duties_source_owners(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """Each command reaches the core the documented way."""
    sent = converse(api, tg_desk, settings, [
        message("/ask 谁负责校舍维修？"),
        message("/who 学生的安全教育"),
        message("/duties 出纳"),
        message("/source jgzn-zongwuchu-2"),
        message("/owners"),
        message("/ask"),
    ], 6)
    texts = [s["text"] for s in sent]
    cashier = tg_desk.clause("gwzz-chunayuan-1")
    assert texts[0].startswith("负责此事的是：总务处（联系电话：0535-7010855）。")
    assert texts[1] == html.escape(tg_desk.ask("谁负责学生的安全教育？").answer.text, quote=False) + sources(
        tg_desk.clause("jgzn-zhengjiaochu-1"))
    assert texts[2] == ("<b>出纳员</b>的职责共 2 条：\n"
                        "1.负责现金收付和银行结算，做到日清月结。 [1]\n"
                        "2.负责保管库存现金和有价证券，确保资金安全。 [2]\n\n"
                        "<b>来源</b>\n《青松路中学岗位职责》" + " › ".join(cashier.section[-2:]))
    assert sent[2]["reply_markup"] == buttons("gwzz-chunayuan-1", "gwzz-chunayuan-2")
    assert "<blockquote>2.负责学校固定资产的登记与清查。</blockquote>" in texts[3]
    assert "出处：机构职能.md 第 12 行" in texts[3] and "<code>jgzn-zongwuchu-2</code>" in texts[3]
    assert texts[4].startswith("<b>部门与岗位（共 6 个）</b>\n• <b>实验员</b> · 14 条\n")
    assert "• <b>政教处</b> · 电话 0535-7010862 · 3 条" in texts[4]
    assert texts[5] == "请在命令后写上问题，例如：/ask 谁负责学生的安全教育？"


def test_follow_up_names_the_previous_owner(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """"那他们的电话是多少？" after a who-answer gives that department's phone, citing it."""
    sent = converse(api, tg_desk, settings, [message("谁负责学生的安全教育？"), message("那他们的电话是多少？")], 2)
    assert "负责此事的是：政教处" in sent[0]["text"]
    follow_up = sent[1]["text"]
    assert follow_up.startswith("<i>（按“那政教处的电话是多少？”理解）</i>\n政教处的联系电话是 0535-7010862。")
    assert "机构名称 政教处 办公电话 0535-7010862" in follow_up
    assert sent[1]["reply_markup"] == buttons("jgzn-zhengjiaochu-p1", answer=answer_id_of(sent[1], tg_desk))


# -- limits and failures -----------------------------------------------------------------------
def test_rate_limit_per_user(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """Over the per-minute limit a user gets a friendly message; others are unaffected."""
    limited = settings.model_copy(update={"telegram_rate_limit_per_minute": 2})
    questions = [message("谁负责校舍维修？"), message("谁负责编排课程表？"), message("谁负责校舍维修？"),
                 message("谁负责校舍维修？", user=COLLEAGUE)]
    sent = converse(api, tg_desk, limited, questions, 4)
    assert sent[2] == {"chat_id": TEACHER, "text": TOO_FAST.format(limit=2, seconds=60), **HTML}
    assert sent[3]["chat_id"] == COLLEAGUE and "总务处" in sent[3]["text"]


def test_errors_get_an_apology_and_the_bot_keeps_running(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A crash inside a handler: logged with the update id, a short apology, the next update is served."""
    real_ask = tg_desk.ask

    def flaky_ask(question: str, *args: Any, **kwargs: Any) -> Any:
        if "爆炸" in question:
            raise RuntimeError("index on fire")
        return real_ask(question, *args, **kwargs)

    monkeypatch.setattr(tg_desk, "ask", flaky_ask)
    boom = message("这个问题会让核心爆炸吗？")
    sent = converse(api, tg_desk, settings, [boom, message("问" * 501), message("谁负责校舍维修？")], 3)
    assert sent[0] == {"chat_id": TEACHER, "text": APOLOGY, **HTML}
    assert sent[1]["text"] == "问题过长：最多 500 个字符"
    assert "总务处" in sent[2]["text"]
    assert re.search(r"update \d+ failed", caplog.text) and "index on fire" in caplog.text


def test_network_errors_towards_telegram_are_retried(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """Two 502s from the Bot API, then success: the answer is delivered once."""
    api.fail_next("sendMessage", 502, times=2)
    sent = converse(api, tg_desk, settings, [message("谁负责校舍维修？")], 1)
    assert len(sent) == 1 and api.attempts["sendMessage"] == 3


def test_the_token_never_appears_in_logs_or_reprs(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """PTB and httpx log URLs with the token in them: every record is scrubbed, reprs hide it."""
    caplog.set_level(logging.DEBUG)

    async def scenario() -> list[str]:
        async with polling(tg_desk, settings) as application:
            api.push(message("谁负责校舍维修？"))
            await api.wait_for("sendMessage")
            logging.getLogger("telegram.test").debug("url %s/getMe", application.bot.base_url)
            return [repr(application), repr(application.bot), str(application.bot), repr(settings)]

    reprs = asyncio.run(scenario())
    secret = TOKEN.partition(":")[2]
    assert "<telegram-token>" in caplog.text
    assert secret not in caplog.text and all(secret not in r for r in reprs)


@pytest.mark.parametrize(("change", "message_part"), [
    ({"telegram_token": None}, "DUTYDESK_TELEGRAM_TOKEN"),
    ({"telegram_token": SecretStr("  ")}, "DUTYDESK_TELEGRAM_TOKEN"),
    ({"telegram_allowed_chats": "教研组"}, "DUTYDESK_TELEGRAM_ALLOWED_CHATS"),
    ({"telegram_webhook_url": "https://bot.example.org"}, "DUTYDESK_TELEGRAM_WEBHOOK_URL"),
])
def test_run_polling_refuses_a_bad_configuration(settings: Settings, capsys: pytest.CaptureFixture[str],
                                                 change: dict[str, Any], message_part: str) -> None:
    """No token, a name in the allow-list, a webhook URL without a path: a clear message, status 2."""
    assert run_polling(settings.model_copy(update=change)) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and message_part in err and TOKEN not in err


def test_a_rejected_token_exits_2_without_showing_it(settings: Settings, capsys: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """getMe answers 401: status 2 and a clear message; PTB puts the token in its exception, we don't print it."""
    wrong = "7700001:WrongSecretPartForThisTest_abcdefghij"
    caplog.set_level(logging.DEBUG)
    try:
        assert run_polling(settings.model_copy(update={"telegram_token": SecretStr(wrong)})) == 2
    finally:
        asyncio.set_event_loop(None)  # PTB's run_polling leaves its closed loop as the current one
    err = capsys.readouterr().err
    assert "Telegram 不接受这个令牌" in err
    assert "WrongSecretPart" not in err + caplog.text and "<telegram-token>" in caplog.text


def test_dutydesk_telegram_command_polls_and_stops_cleanly(api: FakeBotApi, tmp_path: Path) -> None:
    """`python -m bot -v telegram` end to end: settings from the environment, real embedder, SIGINT stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONPATH=str(ROOT), DUTYDESK_TELEGRAM_TOKEN=TOKEN, DUTYDESK_TELEGRAM_BASE_URL=api.base_url,
               DUTYDESK_TELEGRAM_ALLOWED_USERS=str(TEACHER), DUTYDESK_DATA_DIR=str(tmp_path / "data"),
               DUTYDESK_KNOWLEDGE_DIR=str(write_corpus(tmp_path / "knowledge", roles=False)))
    log_file = tmp_path / "stderr.log"
    with log_file.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "bot", "-v", "telegram"], cwd=tmp_path, env=env,
                                   stdout=stderr, stderr=stderr)
        try:
            api.push(message("谁负责编排课程表？"))
            [sent] = api.wait_for_sync("sendMessage", timeout=90)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    log = log_file.read_text(encoding="utf-8")
    assert "负责此事的是：教务处" in sent["text"]
    assert process.returncode == 0, log[-3000:]
    assert "getUpdates" in log and "<telegram-token>" in log and TOKEN.partition(":")[2] not in log


# -- webhook mode --------------------------------------------------------------------------------
def test_webhook_route_in_the_api_app(api: FakeBotApi, tg_desk: DutyDesk, settings: Settings) -> None:
    """mount_webhook on create_app's app: setWebhook with a secret at startup; updates POSTed with it are answered."""
    hooked = settings.model_copy(update={"telegram_webhook_url": "https://bot.example.org/telegram/webhook"})
    app = create_app(tg_desk, ingest_on_start=False)
    mount_webhook(app, None, hooked)  # None: the desk the app's own lifespan puts in app.state
    plain = FastAPI()
    mount_webhook(plain, tg_desk, settings)
    assert len(plain.routes) == len(FastAPI().routes)  # no URL set: nothing mounted
    secret = webhook_secret(TOKEN)
    with serve_asgi(app) as base:
        [hook] = api.wait_for_sync("setWebhook", timeout=10)
        assert hook == {"url": "https://bot.example.org/telegram/webhook", "secret_token": secret,
                        "allowed_updates": ["message", "callback_query"]}
        update = {"update_id": 9001, **message("谁负责校舍维修？")}
        url = f"{base}/telegram/webhook"
        assert httpx.post(url, json=update).status_code == 403
        assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert httpx.post(url, content=b"not json", headers=headers).status_code == 400
        assert httpx.post(url, json=update, headers=headers).json() == {"ok": True}
        [sent] = api.wait_for_sync("sendMessage", timeout=10)
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert sent["chat_id"] == TEACHER and "负责此事的是：总务处" in sent["text"]
    assert api.recorded("setMyCommands")


def test_the_api_still_starts_when_telegram_is_unreachable(tg_desk: DutyDesk, settings: Settings) -> None:
    """Webhook mode with no Bot API to talk to: the error is logged, the API serves, the route says 503."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/bot"
    hooked = settings.model_copy(update={"telegram_webhook_url": "https://bot.example.org/tg",
                                         "telegram_base_url": nowhere})
    app = create_app(tg_desk, ingest_on_start=False)
    mount_webhook(app, tg_desk, hooked)
    with serve_asgi(app) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
        reply = httpx.post(f"{base}/tg", json={"update_id": 1},
                           headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret(TOKEN)})
        assert reply.status_code == 503 and reply.json() == {"detail": "Telegram bot not running"}
