"""The DingTalk front end: a thin translation of DingTalk bot messages (Stream mode) to DutyDesk calls.

`dutydesk dingtalk` opens an outbound Stream connection with the official `dingtalk-stream` SDK (no
public address needed), receives each bot message as a CALLBACK frame on the topic
`/v1.0/im/bot/messages/get`, answers it from the core and posts the reply, as DingTalk markdown, to
the message's session webhook.

Chats: every 1:1 message is for the bot; in a group only messages that @-mention it (`isInAtList`).
Access fails closed like Telegram's: allow-listed senders (staffId, or unionId when DingTalk sends
one) anywhere and everyone in an allow-listed group; strangers get a short refusal naming their
staffId and nothing from the knowledge base; an empty allow-list admits nobody. Each sender is rate
limited with the API's `RateLimiter`. Follow-ups go through the core's conversations, keyed per
conversation and sender.

What the SDK does not do well is done here (see `StreamClient`): its reconnect loop sleeps a fixed
10 s, opens the connection without a timeout and logs the ticket; its replies swallow errors.
The app secret and every connection ticket are scrubbed from all log records.
"""
from __future__ import annotations

import asyncio
import json
import logging
import platform
import random
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
import websockets
from dingtalk_stream import (
    AckMessage,
    CallbackMessage,
    ChatbotHandler,
    ChatbotMessage,
    Credential,
    DingTalkStreamClient,
    SystemMessage,
)
from dingtalk_stream.version import VERSION_STRING

from bot import questions
from bot.dingtalk_format import answer_blocks, markdown, notice, pack
from bot.limits import RateLimiter
from bot.service import DutyDesk, build, clean_question
from bot.telegram import APOLOGY, FEEDBACK_GONE, FEEDBACK_THANKS, TOO_FAST, USAGE
from ingest.errors import DutyDeskError, NotFoundError
from ingest.settings import Settings

log = logging.getLogger(__name__)

FRONT = "dingtalk"  # the front end's name in the question log
OPEN_PATH = "/v1.0/gateway/connections/open"
PING_TOPIC = "ping"  # SYSTEM frames DingTalk sends to keep the stream alive; the ack echoes their data
GROUP_CHAT = "2"  # conversationType: "1" is a 1:1 chat
STRANGER = ("抱歉，这个助手只为本校教职工服务，您还没有使用权限。"
            "如需开通，请把您的钉钉 ID（{user_id}）发给管理员。")
NOT_TEXT = "目前只能回答文字问题，请直接用文字提问。"
MISSING_CREDENTIALS = ("没有设置钉钉应用凭证。请在钉钉开发者后台创建企业内部应用、添加机器人并选择 Stream 模式，"
                       "再把 Client ID 和 Client Secret 写入环境变量 DUTYDESK_DINGTALK_CLIENT_ID 和 "
                       "DUTYDESK_DINGTALK_CLIENT_SECRET（或 .env 文件）。")
FEEDBACK_WORDS = {"有帮助": True, "有用": True, "没帮助": False, "没有帮助": False, "没用": False}
REMEMBERED = 1000  # message ids (redelivery) and last answers (feedback) kept, oldest forgotten first


# -- settings → objects ----------------------------------------------------------------------
def credential(settings: Settings) -> Credential | None:
    """The app's Client ID and Client Secret, or None when either is unset or blank."""
    client_id = settings.dingtalk_client_id.get_secret_value().strip() if settings.dingtalk_client_id else ""
    secret = settings.dingtalk_client_secret.get_secret_value().strip() if settings.dingtalk_client_secret else ""
    return Credential(client_id, secret) if client_id and secret else None


def parse_ids(text: str, name: str) -> frozenset[str]:
    """Comma-separated DingTalk ids; an id with spaces inside is a configuration error."""
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    broken = next((i for i in ids if len(i.split()) > 1), None)
    if broken:
        raise ValueError(f"{name} 是逗号分隔的钉钉 ID，“{broken}”中间有空格")
    return ids


@dataclass(frozen=True)
class Access:
    """Who gets answers: allow-listed senders anywhere, and everyone inside an allow-listed group."""

    users: frozenset[str]
    chats: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        """Parse DUTYDESK_DINGTALK_ALLOWED_USERS / _CHATS (ValueError when malformed)."""
        return cls(parse_ids(settings.dingtalk_allowed_users, "DUTYDESK_DINGTALK_ALLOWED_USERS"),
                   parse_ids(settings.dingtalk_allowed_chats, "DUTYDESK_DINGTALK_ALLOWED_CHATS"))

    @property
    def empty(self) -> bool:
        """Nobody is allowed in."""
        return not self.users and not self.chats

    def allows(self, sender_ids: Iterable[str], chat_id: str | None, group: bool) -> bool:
        """True for an allow-listed sender, or anyone in an allow-listed group chat."""
        return any(i in self.users for i in sender_ids) or (group and chat_id in self.chats)


def config_problem(settings: Settings) -> str | None:
    """What keeps the bot from starting: no credentials, or a malformed allow-list."""
    if credential(settings) is None:
        return MISSING_CREDENTIALS
    try:
        Access.from_settings(settings)
    except ValueError as exc:
        return str(exc)
    return None


# -- secrets stay out of the logs ------------------------------------------------------------
REDACTED = "<dingtalk-secret>"
_SECRETS: set[str] = set()  # the app's credentials, for the life of the process
_TICKETS: deque[str] = deque(maxlen=16)  # each connection's ticket (raw and URL-quoted); old ones expire


def redact(text: str) -> str:
    """The text with every registered secret and recent ticket replaced."""
    for secret in sorted({*_SECRETS, *_TICKETS}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def protect(*secrets: str, ticket: bool = False) -> None:
    """From now on no log record carries these strings; httpx's URL lines (session tokens) are silenced."""
    for secret in (s for s in secrets if len(s) >= 6):  # a blank or tiny value would mangle every log line
        (_TICKETS.append if ticket else _SECRETS.add)(secret)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "redacts_dingtalk_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(previous))


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory that scrubs secrets from the message and any traceback (as Telegram's does)."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  # a malformed call: logging reports it at emit time
            return record
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_dingtalk_secrets = True  # type: ignore[attr-defined]
    return factory


# -- replies ---------------------------------------------------------------------------------
class Replier:
    """Posts replies to session webhooks; retries what DingTalk did not take, logs what still fails."""

    RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
    RETRY_ERRCODES = frozenset({-1, 130101})  # system busy; sending too fast

    def __init__(self, retries: int = 3, backoff: float = 0.5, timeout: float = 10.0) -> None:
        self.retries, self.backoff = retries, backoff
        self.http = httpx.AsyncClient(timeout=timeout)

    async def send(self, webhook: str, payload: dict[str, object], label: str) -> bool:
        """Post one message, tried up to 1 + retries times; False (and an error logged) if never taken."""
        for attempt in range(self.retries + 1):
            problem, retry = await self._post(webhook, payload)
            if problem is None:
                return True
            if not retry or attempt == self.retries:
                break
            log.warning("DingTalk reply to %s failed (%s, attempt %d), retrying", label, problem, attempt + 1)
            await asyncio.sleep(self.backoff * 2 ** attempt)
        log.error("DingTalk reply to %s not delivered after %d attempt(s): %s", label, attempt + 1, problem)
        return False

    async def _post(self, webhook: str, payload: dict[str, object]) -> tuple[str | None, bool]:
        """(None, _) when DingTalk took the message, else (what went wrong, whether to retry)."""
        try:
            response = await self.http.post(webhook, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # never sent: safe again
            return type(exc).__name__, True
        except httpx.HTTPError as exc:  # may have been delivered: sending again could post it twice
            return type(exc).__name__, False
        if response.status_code != 200:
            return f"HTTP {response.status_code}", response.status_code in self.RETRY_STATUS
        body = _json(response)
        code = body.get("errcode", 0)
        if code in (0, "0", None):
            return None, False
        return f"errcode {code}: {str(body.get('errmsg', ''))[:200]}", code in self.RETRY_ERRCODES

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self.http.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- the message -----------------------------------------------------------------------------
def sender_ids(message: ChatbotMessage) -> list[str]:
    """The ids an allow-list may name: staffId, unionId (when sent) and the app-scoped senderId."""
    found = (message.sender_staff_id, message.extensions.get("senderUnionId"), message.sender_id)
    return [str(i) for i in found if i]


def addressed(message: ChatbotMessage) -> bool:
    """A 1:1 message, or a group message that @-mentions the bot."""
    return message.conversation_type != GROUP_CHAT or bool(message.is_in_at_list)


def message_text(message: ChatbotMessage) -> str | None:
    """The text typed (a rich-text message's text parts joined); None for pictures, files, voice."""
    if message.message_type == "text" and message.text is not None:
        return (message.text.content or "").strip()
    if message.message_type == "richText" and message.rich_text_content is not None:
        return "".join(part for part in message.get_text_list() if isinstance(part, str)).strip()
    return None


class DeskHandler(ChatbotHandler):
    """Answers bot messages from the desk: the SDK awaits `process`, then acks the frame."""

    def __init__(self, desk: DutyDesk, settings: Settings, access: Access, replier: Replier | None = None) -> None:
        super().__init__()
        self.desk, self.access = desk, access
        self.public_url = settings.public_url.strip()
        self.limiter = RateLimiter(settings.dingtalk_rate_limit_per_minute)
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
        refusal = self._refusal(message)
        if refusal is not None:
            return await self._reply(message, [notice(refusal, message.sender_staff_id)])
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

    def _refusal(self, message: ChatbotMessage) -> str | None:
        """None to answer; else the polite refusal (not allow-listed) or the rate-limit notice."""
        ids, group = sender_ids(message), message.conversation_type == GROUP_CHAT
        if not self.access.allows(ids, message.conversation_id, group):
            who = ids[0] if ids else "未知"
            log.info("refused message %s: sender %s in conversation %s is not allow-listed",
                     message.message_id, who, message.conversation_id)
            return STRANGER.format(user_id=f"{who}，本群 ID：{message.conversation_id}" if group else who)
        wait = self.limiter.retry_after(_user(message))
        return TOO_FAST.format(limit=self.limiter.per_minute, seconds=wait) if wait else None

    async def _answer(self, message: ChatbotMessage, text: str) -> None:
        """Ask the core in a worker thread; reply with the answer, its [n] and its sources."""
        key = _conversation(message)
        result = await asyncio.to_thread(self.desk.ask, text, None, key, self.front, _user(message))
        rewritten = result.question if result.question != clean_question(text) else None
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
        if isinstance(error, DutyDeskError):
            level = logging.WARNING if error.status_code >= 500 else logging.INFO
            log.log(level, "DingTalk message %s: %s", message.message_id, error.message)
            text = error.message
        else:
            log.error("DingTalk message %s failed", message.message_id, exc_info=error)
            text = APOLOGY
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
        return ChatbotMessage.from_dict(data)  # type: ignore[arg-type]
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


def _user(message: ChatbotMessage) -> str:
    """The sender, for rate limits, conversations and the question log (which keeps only a salted hash)."""
    return str(message.sender_staff_id or message.sender_id or "unknown")


def _conversation(message: ChatbotMessage) -> str:
    """Follow-ups are per conversation and sender: in a group each colleague has their own thread."""
    return f"dt:{message.conversation_id}:{_user(message)}"


# -- the stream ------------------------------------------------------------------------------
class StreamClient(DingTalkStreamClient):
    """The SDK's client with its frame routing and acks, but its own connection loop.

    The SDK's `start` sleeps a fixed 10 s after a drop (none after a clean close), opens the
    connection with `requests` and no timeout, logs the ticket and keeps no reference to its tasks.
    Here: exponential backoff with jitter (reset once a connection opens), a timeout, no secrets logged.
    """

    def __init__(self, credential: Credential, endpoint: str, backoff: tuple[float, float] = (1.0, 60.0),
                 timeout: float = 10.0) -> None:
        super().__init__(credential, logger=log)
        self.endpoint, self.backoff, self.timeout = endpoint.rstrip("/"), backoff, timeout
        self.connections = 0  # websockets opened so far
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, credential=<redacted>)"

    async def start(self) -> None:
        """Connect, serve frames, and reconnect with backoff whenever the stream drops or cannot open."""
        self.pre_start()
        delay = self.backoff[0]
        while True:
            opened = await self.serve_once()
            delay = self.backoff[0] if opened else min(delay * 2, self.backoff[1])
            wait = delay * random.uniform(0.8, 1.2)  # jitter: many bots must not reconnect in step
            log.warning("DingTalk stream %s; reconnecting in %.1f s", "closed" if opened else "unavailable", wait)
            await asyncio.sleep(wait)

    async def serve_once(self) -> bool:
        """One connection: open it, route its frames until it closes; whether it opened at all."""
        connection = await self.open_stream()
        if connection is None:
            return False
        opened = False
        try:
            async with websockets.connect(connection, open_timeout=self.timeout, ping_interval=20,
                                          ping_timeout=20) as websocket:
                self.websocket, opened = websocket, True
                self.connections += 1
                log.info("DingTalk stream connected")
                async for raw in websocket:
                    self._spawn(raw)
        except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as exc:
            log.warning("DingTalk stream: %s: %s", type(exc).__name__, exc)
        return opened

    async def open_stream(self) -> str | None:
        """Ask the gateway for a stream endpoint and ticket; the websocket URI, or None (logged)."""
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": self._subscriptions(), "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
                "localIp": self.get_host_ip()}
        headers = {"User-Agent": f"DingTalkStream/1.0 SDK/{VERSION_STRING} Python/{platform.python_version()}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(self.endpoint + OPEN_PATH, json=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("DingTalk gateway unreachable: %s", type(exc).__name__)
            return None
        found = _json(response)
        if response.status_code != 200 or not found.get("endpoint") or not found.get("ticket"):
            log.error("DingTalk gateway refused the connection: HTTP %s %s", response.status_code,
                      redact(str(found.get("message") or found.get("code") or ""))[:200])
            return None
        protect(str(found["ticket"]), quote_plus(str(found["ticket"])), ticket=True)
        return f"{found['endpoint']}?ticket={quote_plus(str(found['ticket']))}"

    async def route_message(self, json_message: dict[str, Any]) -> str:
        """The SDK's routing and acks, except that DingTalk's keep-alive pings are acked without the
        warning the SDK logs for every SYSTEM topic but `disconnect`."""
        headers = json_message.get("headers") or {}
        if json_message.get("type") != SystemMessage.TYPE or headers.get("topic") != PING_TOPIC:
            return await super().route_message(json_message)
        ack = await self.system_handler.raw_process(SystemMessage.from_dict(json_message))
        await self.websocket.send(json.dumps(ack.to_dict()))
        return ""

    def _subscriptions(self) -> list[dict[str, str]]:
        """The topics asked for: every registered callback topic (bot messages)."""
        topics = [{"type": "EVENT", "topic": "*"}] if self._is_event_required else []
        return topics + [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]

    def _spawn(self, raw: str | bytes) -> None:
        """Route one frame in its own task (as the SDK does), keeping a reference until it is done."""
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("ignored a DingTalk frame that is not JSON")
            return
        task = asyncio.create_task(self.background_task(frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def build_client(desk: DutyDesk, settings: Settings, replier: Replier | None = None,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> StreamClient:
    """The stream client from settings, with the desk's handler registered for bot messages."""
    found = credential(settings)
    if found is None:
        raise ValueError(MISSING_CREDENTIALS)
    protect(found.client_id, found.client_secret)
    access = Access.from_settings(settings)
    if access.empty:
        log.warning("DUTYDESK_DINGTALK_ALLOWED_USERS and DUTYDESK_DINGTALK_ALLOWED_CHATS are both empty: "
                    "the bot will refuse everyone. Add staffIds or group conversationIds (comma-separated).")
    client = StreamClient(found, settings.dingtalk_openapi_endpoint, backoff)
    client.register_callback_handler(ChatbotMessage.TOPIC, DeskHandler(desk, settings, access, replier))
    return client


def run_stream(settings: Settings) -> int:
    """`dutydesk dingtalk`: the Stream connection until interrupted."""
    problem = config_problem(settings)
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    found = credential(settings)
    protect(found.client_id, found.client_secret)  # type: ignore[union-attr]  # checked above
    desk = build(settings)
    desk.ensure_index()
    desk.warm_up()
    client = build_client(desk, settings)
    log.info("DingTalk bot starting (gateway %s)", urlsplit(client.endpoint).netloc)
    asyncio.run(client.start())
    return 0


__all__ = ["STRANGER", "Access", "DeskHandler", "Replier", "StreamClient", "build_client", "config_problem", "run_stream"]
