"""Bot messages answered from the core: `DeskHandler` is the SDK's callback handler for them.

Follow-ups go through the core's conversations, keyed per conversation and sender; "有帮助" /
"没帮助" after an answer is recorded against it. The core is synchronous and CPU-bound, so every
DutyDesk call runs in a worker thread.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from dingtalk_stream import AckMessage, CallbackMessage, ChatbotHandler, ChatbotMessage

from bot import questions
from bot.chat.desk import ask, error_text
from bot.chat.gate import Gate
from bot.chat.messages import FEEDBACK_GONE, FEEDBACK_THANKS, USAGE
from bot.dingtalk.format import answer_blocks, markdown, notice, pack
from bot.dingtalk.gate import addressed, refusal, sender
from bot.dingtalk.replies import Replier
from bot.service import DutyDesk
from ingest.errors import NotFoundError
from ingest.settings import Settings

log = logging.getLogger(__name__)

FRONT = "dingtalk"  # the front end's name in the question log
NOT_TEXT = "目前只能回答文字问题，请直接用文字提问。"
FEEDBACK_WORDS = {"有帮助": True, "有用": True, "没帮助": False, "没有帮助": False, "没用": False}
REMEMBERED = 1000  # message ids (redelivery) and last answers (feedback) kept, oldest forgotten first


def message_text(message: ChatbotMessage) -> str | None:
    """The text typed (a rich-text message's text parts joined); None for pictures, files, voice."""
    if message.message_type == "text" and message.text is not None:
        return (message.text.content or "").strip()
    if message.message_type == "richText" and message.rich_text_content is not None:
        return "".join(part for part in message.get_text_list() if isinstance(part, str)).strip()
    return None


class DeskHandler(ChatbotHandler):
    """Answers bot messages from the desk: the SDK awaits `process`, then acks the frame."""

    def __init__(self, desk: DutyDesk, settings: Settings, gate: Gate[str], replier: Replier | None = None) -> None:
        super().__init__()
        self.desk, self.gate = desk, gate
        self.public_url = settings.public_url.strip()
        self.replier = replier or Replier()
        self.front = FRONT if FRONT in questions.FRONTS else None  # an older log refuses unknown front ends
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._answers: OrderedDict[str, str] = OrderedDict()  # conversation key → last answer id (feedback)
        if desk.questions is not None and self.front is None:
            log.warning("the question log does not take the front end %r yet: DingTalk questions are not "
                        "logged and feedback is off", FRONT)

    @property
    def feedback(self) -> bool:
        """Answers are logged, so "有帮助" / "没帮助" can be recorded against them."""
        return self.front is not None and self.desk.questions is not None

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        """Handle one bot message; a failure is logged and apologised for, and the frame is still acked."""
        message = _parse(callback.data)
        if message is None or _remember(self._seen, str(message.message_id or callback.headers.message_id)):
            return AckMessage.STATUS_OK, "OK"  # unreadable, or a redelivery of a message already handled
        try:
            await self.handle(message)
        except Exception as exc:  # noqa: BLE001  # any failure: logged, apologised for, the frame still acked
            await self._fail(message, exc)
        return AckMessage.STATUS_OK, "OK"

    async def handle(self, message: ChatbotMessage) -> None:
        """Drop what is not for the bot, refuse strangers and the too fast, then answer."""
        if not addressed(message) or not message.session_webhook:
            return
        refused = refusal(self.gate, message)
        if refused is not None:
            return await self._reply(message, [notice(refused, message.sender_staff_id)])
        text = message_text(message)
        helpful = FEEDBACK_WORDS.get((text or "").strip("。.!！ "))
        if text is None:
            await self._reply(message, [notice(NOT_TEXT, message.sender_staff_id)])
        elif helpful is not None and self.feedback:
            await self._record_feedback(message, helpful)
        elif not text:
            await self._reply(message, [notice(USAGE["question"], message.sender_staff_id)])
        else:
            await self._answer(message, text)

    async def _answer(self, message: ChatbotMessage, text: str) -> None:
        """Ask the core in a worker thread; reply with the answer, its [n] and its sources."""
        key = _conversation(message)
        result, rewritten = await ask(self.desk, text, key, self.front, sender(message))
        if self.feedback:
            self._answers[key] = result.id
            _remember(self._answers, key)  # most recent last, the oldest forgotten
        blocks = answer_blocks(result.answer, rewritten, self.public_url, self.feedback)
        await self._reply(message, [markdown(t, message.sender_staff_id) for t in pack(blocks)])

    async def _record_feedback(self, message: ChatbotMessage, helpful: bool) -> None:
        """"有帮助" / "没帮助" after an answer: recorded against the last answer in this conversation."""
        answer_id, text = self._answers.get(_conversation(message)), FEEDBACK_GONE
        try:
            if answer_id is not None:
                await asyncio.to_thread(self.desk.feedback, answer_id, helpful)
                text = FEEDBACK_THANKS
        except NotFoundError:  # the log dropped it (retention) or never had it
            pass
        await self._reply(message, [notice(text, message.sender_staff_id)])

    async def _fail(self, message: ChatbotMessage, error: Exception) -> None:
        """The core's own message for its errors (logged briefly); an apology for anything else (logged in full)."""
        text = error_text(error, f"DingTalk message {message.message_id}", log)
        if message.session_webhook:
            await self._reply(message, [notice(text, message.sender_staff_id)])

    async def _reply(self, message: ChatbotMessage, payloads: list[dict[str, object]]) -> None:
        """Post the messages in order; one that is not delivered stops the rest (it was logged)."""
        for payload in payloads:
            if not await self.replier.send(str(message.session_webhook), payload, f"message {message.message_id}"):
                return


def _parse(data: object) -> ChatbotMessage | None:
    """The SDK's message model of a callback's data; None (logged) when it is not a bot message."""
    try:
        return ChatbotMessage.from_dict(data)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.warning("ignored a DingTalk callback that is not a bot message: %s", type(exc).__name__)
        return None


def _remember(seen: OrderedDict[str, Any], key: str) -> bool:
    """Whether `key` was already there; keeps it (most recent last) and forgets the oldest beyond REMEMBERED."""
    known = key in seen
    seen.setdefault(key, None)
    seen.move_to_end(key)
    while len(seen) > REMEMBERED:
        seen.popitem(last=False)
    return known


def _conversation(message: ChatbotMessage) -> str:
    """Follow-ups are per conversation and sender: in a group each colleague has their own thread."""
    return f"dt:{message.conversation_id}:{sender(message)}"
