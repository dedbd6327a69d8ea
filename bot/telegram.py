"""The Telegram front end: a thin python-telegram-bot translation of chat messages to DutyDesk calls.

`build_application` registers the handlers; `run_polling` is `dutydesk telegram`; `mount_webhook`
serves the same application from the FastAPI app when DUTYDESK_TELEGRAM_WEBHOOK_URL is set.

Every update first passes `gate` (handler group -1): updates not meant for the bot are dropped,
strangers get a short refusal and nothing from the knowledge base (fail closed: an empty allow-list
admits nobody, and any error while deciding stops the update), and each user is rate limited.
The core is synchronous and CPU-bound, so every DutyDesk call runs in a worker thread.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
import sys
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    TelegramObject,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.service import DutyDesk, build, clean_question
from bot.telegram_format import (
    answer_blocks,
    clause_blocks,
    duties_blocks,
    escape,
    help_html,
    owners_blocks,
    pack,
    unknown_owner_html,
)
from ingest.errors import DutyDeskError, NotFoundError
from ingest.model import Clause
from ingest.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
COMMANDS = [
    BotCommand("ask", "提问：/ask 问题"),
    BotCommand("who", "谁负责：/who 任务"),
    BotCommand("duties", "岗位或部门的全部职责：/duties 班主任"),
    BotCommand("source", "条款原文与出处：/source 条款编号"),
    BotCommand("owners", "全部部门与岗位"),
    BotCommand("help", "用法与示例问题"),
    BotCommand("start", "开始"),
]
MAX_CALLBACK_BYTES = 64
BUTTONS_PER_ROW = 4
MAX_BUTTONS = 100  # Telegram's limit for one inline keyboard
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_NONE = BaseRequest.DEFAULT_NONE

STRANGER = ("抱歉，这个助手只为本校教职工服务，您还没有使用权限。"
            "如需开通，请把您的 Telegram 用户 ID（{user_id}）发给管理员。")
TOO_FAST = "提问有点快了：每分钟最多 {limit} 次，请 {seconds} 秒后再试。"
APOLOGY = "抱歉，处理这条消息时出了点问题，请稍后再试。"
STALE_BUTTON = "这个按钮已失效，请重新提问。"
FEEDBACK_BUTTONS = (("有帮助", True), ("没帮助", False))
FEEDBACK_THANKS = "谢谢反馈！"
FEEDBACK_GONE = "这条回答的记录已不在（可能已过保存期），反馈没有记下。"
MISSING_TOKEN = ("没有设置 Telegram 机器人令牌。请先用 @BotFather 创建机器人，"
                 "再把令牌写入环境变量 DUTYDESK_TELEGRAM_TOKEN（或 .env 文件）。")
USAGE = {
    "ask": "请在命令后写上问题，例如：/ask 谁负责学生的安全教育？",
    "who": "请写上要问的工作，例如：/who 学生的安全教育",
    "duties": "请写上岗位或部门，例如：/duties 班主任",
    "source": "请写上条款编号（点回答下方的「原文」按钮可以看到），例如：/source xxggwzz-banzhuren-3",
    "question": "请直接写下您的问题，例如：谁负责学生的安全教育？",
    "unknown": "没有这个命令。发送 /help 查看用法。",
}


# -- settings → objects ----------------------------------------------------------------------
def bot_token(settings: Settings) -> str | None:
    """The token from DUTYDESK_TELEGRAM_TOKEN, or None when unset or blank."""
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    return token or None


def parse_ids(text: str, name: str) -> frozenset[int]:
    """Comma-separated Telegram ids ("123, -100456"); anything else is a configuration error."""
    ids = set()
    for part in (p.strip() for p in text.split(",")):
        if part and not re.fullmatch(r"-?\d+", part):
            raise ValueError(f"{name} 只能是逗号分隔的数字 ID，“{part}”不是")
        if part:
            ids.add(int(part))
    return frozenset(ids)


@dataclass(frozen=True)
class Access:
    """Who gets answers: allow-listed users anywhere, and everyone inside an allow-listed chat."""

    users: frozenset[int]
    chats: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        """Parse DUTYDESK_TELEGRAM_ALLOWED_USERS / _CHATS (ValueError when malformed)."""
        return cls(parse_ids(settings.telegram_allowed_users, "DUTYDESK_TELEGRAM_ALLOWED_USERS"),
                   parse_ids(settings.telegram_allowed_chats, "DUTYDESK_TELEGRAM_ALLOWED_CHATS"))

    @property
    def empty(self) -> bool:
        """Nobody is allowed in."""
        return not self.users and not self.chats

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """True for an allow-listed user, or any user in an allow-listed chat."""
        return (user_id is not None and user_id in self.users) or (chat_id is not None and chat_id in self.chats)


class RateLimit:
    """At most `per_minute` requests per user in any 60-second window; 0 turns the limit off."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute, self.window = per_minute, window
        self._seen: defaultdict[int, deque[float]] = defaultdict(deque)

    def wait(self, user_id: int, now: float | None = None) -> float:
        """0 when the user may go ahead (the request is counted), else the seconds left to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return self.window - (now - seen[0])
        seen.append(now)
        return 0.0


# -- the token stays secret ------------------------------------------------------------------
_SECRETS: set[str] = set()


def redact(text: str) -> str:
    """The text with every registered secret replaced."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "<telegram-token>")
    return text


def protect_token(token: str) -> None:
    """From now on no log record carries the token; httpx's per-request URL lines are silenced."""
    _SECRETS.add(token)
    secret_part = token.partition(":")[2]
    if len(secret_part) >= 16:
        _SECRETS.add(secret_part)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "redacts_telegram_token", False):
        logging.setLogRecordFactory(_redacting_factory(previous))


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory that scrubs secrets from the message and any traceback."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it at emit time
            return record
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_telegram_token = True  # type: ignore[attr-defined]
    return factory


class _NoChatContent(logging.Filter):
    """PTB's debug lines show every Bot API call's parameters and result and every update processed,
    staff's questions included: only the method name and update id are kept (the question log is the
    one place questions are written)."""

    PREFIXES = ("Calling Bot API endpoint", "Call to Bot API endpoint")

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite such lines in place; let every line through."""
        if not isinstance(record.args, tuple) or not record.args:
            return True
        if isinstance(record.msg, str) and record.msg.startswith(self.PREFIXES):
            record.msg, record.args = "Bot API call `%s`", record.args[:1]
        else:
            record.args = tuple(_opaque(arg) for arg in record.args)
        return True


def _opaque(value: object) -> object:
    """An update as its id, any other Telegram object or payload as "<…>", anything else as it is."""
    if isinstance(value, Update):
        return f"update {value.update_id}"
    return "<…>" if isinstance(value, (TelegramObject, dict, list, tuple)) else value


def keep_chats_out_of_logs() -> None:
    """Install the filter on the PTB loggers that print updates or Bot API payloads (once)."""
    for name in ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application", "telegram.ext.Updater"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoChatContent) for f in logger.filters):
            logger.addFilter(_NoChatContent())


class QuietBot(ExtBot[None]):
    """ExtBot whose repr leaves the token out (PTB's own repr prints it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}[token=<redacted>]"


# -- network: retry what is safe to retry ----------------------------------------------------
class RetryingRequest(HTTPXRequest):
    """HTTPXRequest that retries, with exponential backoff, requests Telegram never received
    (connection failures) and the answers that ask for a retry (429 and 502–504)."""

    RETRY_STATUS = frozenset({429, 502, 503, 504})

    def __init__(self, retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retries, self.backoff = retries, backoff

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """One Bot API call, tried up to 1 + retries times."""
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout,
                    "connect_timeout": connect_timeout, "pool_timeout": pool_timeout}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                code, payload = await super().do_request(url, method, request_data, **timeouts)
            except NetworkError as exc:
                if last or not _never_sent(exc):
                    raise
                delay = self.backoff * 2 ** attempt
            else:
                if code not in self.RETRY_STATUS or last:
                    return code, payload
                delay = _retry_after(payload) or self.backoff * 2 ** attempt
            log.warning("Telegram %s failed (attempt %d), retrying in %.1f s",
                        url.rsplit("/", 1)[-1], attempt + 1, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _never_sent(error: NetworkError) -> bool:
    """The request failed before Telegram could have acted on it, so sending it again is safe."""
    return isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _retry_after(payload: bytes) -> float | None:
    """The retry_after a 429 answer asks for (capped at 30 s), if any."""
    try:
        seconds = float(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, TypeError, KeyError):
        return None
    return min(seconds, 30.0)


# -- the application -------------------------------------------------------------------------
def build_application(desk: DutyDesk, settings: Settings) -> Application:
    """The PTB application: the bot built from settings, the desk and access rules in bot_data, handlers."""
    token = bot_token(settings)
    if token is None:
        raise ValueError(MISSING_TOKEN)
    protect_token(token)
    keep_chats_out_of_logs()
    access = Access.from_settings(settings)
    if access.empty:
        log.warning("DUTYDESK_TELEGRAM_ALLOWED_USERS and DUTYDESK_TELEGRAM_ALLOWED_CHATS are both empty: "
                    "the bot will refuse everyone. Add Telegram user or chat ids (comma-separated).")
    application = ApplicationBuilder().bot(_make_bot(token, settings)).post_init(post_init).build()
    application.bot_data.update(desk=desk, access=access,
                                limit=RateLimit(settings.telegram_rate_limit_per_minute))
    _register(application)
    return application


def _make_bot(token: str, settings: Settings) -> QuietBot:
    """The bot at settings.telegram_base_url (PTB form: ends in /bot, the token is appended)."""
    base_url = settings.telegram_base_url
    file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    return QuietBot(token, base_url=base_url, base_file_url=file_url, defaults=defaults,
                    request=RetryingRequest(connection_pool_size=16),
                    get_updates_request=HTTPXRequest(connection_pool_size=1))


def _register(application: Application) -> None:
    """The gate first (group -1), then one handler per command, text questions and buttons."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, gate), group=-1)
    for name, callback in (("start", help_command), ("help", help_command), ("ask", ask_command),
                           ("who", who_command), ("duties", duties_command), ("source", source_command),
                           ("owners", owners_command)):
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE, unknown_command))
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, question))
    application.add_handler(CallbackQueryHandler(show_clause, pattern=r"^[ch]:"))
    application.add_handler(CallbackQueryHandler(feedback_button, pattern=r"^f:[01]:"))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_error_handler(on_error)


async def post_init(application: Application) -> None:
    """Register the command menu Telegram shows next to the input field."""
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", exc)
    log.info("Telegram bot @%s is up", application.bot.username)


def run_polling(settings: Settings) -> int:
    """`dutydesk telegram`: long polling until interrupted (the webhook server if a webhook URL is set)."""
    problem = config_problem(settings)
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    protect_token(bot_token(settings) or "")
    desk = build(settings)
    desk.ensure_index()
    if settings.telegram_webhook_url:
        return _serve_webhook(desk, settings)
    return _poll(build_application(desk, settings))


def config_problem(settings: Settings) -> str | None:
    """What keeps the bot from starting (no token, a malformed allow-list, a webhook URL without a path)."""
    if bot_token(settings) is None:
        return MISSING_TOKEN
    try:
        Access.from_settings(settings)
    except ValueError as exc:
        return str(exc)
    url = settings.telegram_webhook_url
    if url and urlsplit(url).path in ("", "/"):
        return "DUTYDESK_TELEGRAM_WEBHOOK_URL 需要包含路径，例如 https://bot.example.org/telegram/webhook"
    return None


def _poll(application: Application) -> int:
    """Run the application's polling loop; translate a bad token or an unreachable API into a status."""
    try:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=5)
    except InvalidToken:
        print("错误：Telegram 不接受这个令牌，请检查 DUTYDESK_TELEGRAM_TOKEN。", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"错误：连不上 Telegram Bot API（{redact(str(exc))}），"
              "请检查网络或 DUTYDESK_TELEGRAM_BASE_URL。", file=sys.stderr)
        return 1
    return 0


def _serve_webhook(desk: DutyDesk, settings: Settings) -> int:
    """Serve only the webhook route (settings.host:port) when `dutydesk telegram` runs in webhook mode."""
    import uvicorn

    app = FastAPI(title="DutyDesk Telegram webhook")
    mount_webhook(app, desk, settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


# -- the gate --------------------------------------------------------------------------------
async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let through only updates addressed to the bot, from allowed people, within the rate limit."""
    refusal = _refusal(update, context)
    if refusal is None:
        return
    if refusal:
        try:
            await _notify(update, refusal)
        except TelegramError as exc:
            log.warning("could not send a refusal for update %s: %s", update.update_id, exc)
    raise ApplicationHandlerStop


def _refusal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """None to let the update through; "" to drop it silently; else the message that refuses it."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not _addressed(update, context.bot):
        return ""
    if not context.bot_data["access"].allows(user.id, chat.id):
        log.info("refused update %s: user %s in chat %s is not allow-listed", update.update_id, user.id, chat.id)
        group = f"，本群 ID：{chat.id}" if chat.type != ChatType.PRIVATE else ""
        return STRANGER.format(user_id=f"{user.id}{group}")
    limit: RateLimit = context.bot_data["limit"]
    wait = limit.wait(user.id)
    return TOO_FAST.format(limit=limit.per_minute, seconds=math.ceil(wait)) if wait else None


def _addressed(update: Update, bot: Bot) -> bool:
    """Button presses, anything in a private chat, and in groups: our commands, @mentions, replies to us."""
    if update.callback_query:
        return True
    message = update.message
    if message is None or message.text is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    replied = message.reply_to_message
    return (_command_for_us(message, bot.username) or _mentions_us(message, bot.username)
            or bool(replied and replied.from_user and replied.from_user.id == bot.id))


def _command_for_us(message: Message, username: str) -> bool:
    """A /command at the start, without @name or with ours."""
    commands = message.parse_entities([MessageEntity.BOT_COMMAND])
    word = next((text for entity, text in commands.items() if entity.offset == 0), None)
    target = word.partition("@")[2] if word else None
    return word is not None and (not target or target.lower() == username.lower())


def _mentions_us(message: Message, username: str) -> bool:
    """The message @mentions the bot."""
    return any(text.lower() == f"@{username}".lower()
               for text in message.parse_entities([MessageEntity.MENTION]).values())


async def _notify(update: Update, text: str) -> None:
    """A short plain-text notice: an alert on a button press, else a reply."""
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(escape(text))


# -- handlers --------------------------------------------------------------------------------
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot can do, with example questions (/start and /help)."""
    await _send(update, context, [help_html(context.bot.username)])


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer /ask <问题>."""
    await _answer(update, context, " ".join(context.args or []), "ask")


async def who_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Who is responsible: /who <任务> asks the core "谁负责<任务>？"."""
    task = " ".join(context.args or []).strip().rstrip("？?。.!！ ")
    task = task.removeprefix("谁负责").strip()
    await _answer(update, context, f"谁负责{task}？" if task else "", "who")


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message: in a private chat, or in a group when it @mentions or replies to the bot."""
    message = update.message
    if message is None:
        return
    text = message.text or ""
    for mention in message.parse_entities([MessageEntity.MENTION]).values():
        if mention.lower() == f"@{context.bot.username}".lower():
            text = text.replace(mention, " ")
    await _answer(update, context, text.strip(), "question")


async def duties_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every duty of a department or post, for new teachers: /duties 班主任 (or 出纳 for 出纳员)."""
    name, desk = " ".join(context.args or []).strip(), _desk(context)
    if not name:
        return await _send(update, context, [escape(USAGE["duties"])])
    try:
        owner, clauses = await asyncio.to_thread(desk.owner, name)
    except NotFoundError:
        owners = await asyncio.to_thread(desk.owners)
        return await _send(update, context, [unknown_owner_html(name, [o.name for o in owners])])
    await _send(update, context, pack(duties_blocks(owner, clauses)), citation_keyboard(clauses))


async def source_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A clause verbatim with its document, section, label and source lines: /source <条款编号>."""
    clause_id = " ".join(context.args or []).strip()
    if not clause_id:
        return await _send(update, context, [escape(USAGE["source"])])
    clause = await asyncio.to_thread(_desk(context).clause, clause_id)
    await _send(update, context, pack(clause_blocks(clause)))


async def owners_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The departments and posts with their contact and number of clauses."""
    owners = await asyncio.to_thread(_desk(context).owners)
    await _send(update, context, pack(owners_blocks(owners)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command the bot does not have (private chats only: in groups it may be another bot's)."""
    await _send(update, context, [escape(USAGE["unknown"])])


async def show_clause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The whole clause behind a citation button."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    clause = await asyncio.to_thread(clause_for, _desk(context), query.data or "")
    await _send(update, context, pack(clause_blocks(clause)))


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """有帮助 / 没帮助 under an answer: recorded in the question log, acknowledged on the button."""
    query = update.callback_query
    if query is None:
        return
    _, helpful, answer_id = (query.data or "").split(":", 2)
    try:
        await asyncio.to_thread(_desk(context).feedback, answer_id, helpful == "1")
    except NotFoundError:
        return await query.answer(FEEDBACK_GONE, show_alert=True)
    await query.answer(FEEDBACK_THANKS)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose data we don't know (an old keyboard)."""
    if update.callback_query:
        await update.callback_query.answer(STALE_BUTTON, show_alert=True)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its update id, tell the user briefly, and stop the update there."""
    update_id = getattr(update, "update_id", None)
    text = _error_text(context.error, update_id)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, escape(text))
        except TelegramError as exc:
            log.warning("update %s: could not send the apology: %s", update_id, exc)
    raise ApplicationHandlerStop


def _error_text(error: BaseException | None, update_id: int | None) -> str:
    """The core's own message for its errors (logged briefly); an apology for anything else (logged in full)."""
    if isinstance(error, DutyDeskError):
        level = logging.WARNING if error.status_code >= 500 else logging.INFO
        log.log(level, "update %s: %s", update_id, error.message)
        return error.message
    log.error("update %s failed", update_id, exc_info=error)
    return APOLOGY


# -- helpers ---------------------------------------------------------------------------------
def _desk(context: ContextTypes.DEFAULT_TYPE) -> DutyDesk:
    """The DutyDesk kept in bot_data."""
    return context.bot_data["desk"]


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, usage: str) -> None:
    """Ask the core in a worker thread and send the answer, its sources and one button per citation."""
    if not text.strip():
        return await _send(update, context, [escape(USAGE[usage])])
    conversation = f"tg:{_chat_id(update)}"
    user = update.effective_user.id if update.effective_user else None
    desk = _desk(context)
    result = await asyncio.to_thread(desk.ask, text, None, conversation, "telegram",
                                     None if user is None else str(user))  # the log keeps only a salted hash
    rewritten = result.question if result.question != clean_question(text) else None
    clauses = [hit.clause for hit in result.answer.citations]
    keyboard = answer_keyboard(clauses, result.id if desk.questions is not None else None)
    await _send(update, context, pack(answer_blocks(result.answer, rewritten)), keyboard)


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, messages: list[str],
                keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Send HTML messages in order (as replies when the update is a message); buttons go on the last."""
    for n, text in enumerate(messages, start=1):
        markup = keyboard if n == len(messages) else None
        if update.message:
            await update.message.reply_text(text, reply_markup=markup)
        else:
            await context.bot.send_message(_chat_id(update), text, reply_markup=markup)


def _chat_id(update: Update) -> int:
    """The chat the update came from (the gate lets through only updates that have one)."""
    if update.effective_chat is None:
        raise ValueError(f"update {update.update_id} has no chat")
    return update.effective_chat.id


def citation_keyboard(clauses: list[Clause]) -> InlineKeyboardMarkup | None:
    """One "[n] 原文" button per cited clause, four to a row; None when nothing is cited."""
    buttons = [InlineKeyboardButton(f"[{n}] 原文", callback_data=callback_data(clause.id))
               for n, clause in enumerate(clauses[:MAX_BUTTONS], start=1)]
    rows = [buttons[i:i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows) if rows else None


def answer_keyboard(clauses: list[Clause], answer_id: str | None) -> InlineKeyboardMarkup | None:
    """The citation buttons, then 有帮助 / 没帮助 for the answer (when the question log keeps feedback)."""
    citations = citation_keyboard(clauses)
    rows = [list(row) for row in citations.inline_keyboard] if citations else []
    if answer_id is not None:
        rows.append([InlineKeyboardButton(label, callback_data=f"f:{int(helpful)}:{answer_id}")
                     for label, helpful in FEEDBACK_BUTTONS])
    return InlineKeyboardMarkup(rows) if rows else None


def callback_data(clause_id: str) -> str:
    """A button's data: "c:<clause id>", or "h:<digest>" when that would pass Telegram's 64 bytes."""
    data = f"c:{clause_id}"
    return data if len(data.encode()) <= MAX_CALLBACK_BYTES else f"h:{_digest(clause_id)}"


def clause_for(desk: DutyDesk, data: str) -> Clause:
    """The clause a button's data names (NotFoundError when it is gone from the knowledge base)."""
    kind, _, value = data.partition(":")
    if kind == "c":
        return desk.clause(value)
    found = next((c for c in desk.knowledge().clauses if _digest(c.id) == value), None)
    if found is None:
        raise NotFoundError("这个条款已不在知识库中（可能已经更新），请重新提问。")
    return found


def _digest(clause_id: str) -> str:
    return hashlib.sha256(clause_id.encode()).hexdigest()[:32]


# -- webhook mode ----------------------------------------------------------------------------
def webhook_secret(token: str) -> str:
    """The secret_token Telegram echoes in X-Telegram-Bot-Api-Secret-Token (derived from the token)."""
    return hashlib.sha256(f"dutydesk-webhook:{token}".encode()).hexdigest()


def mount_webhook(app: FastAPI, desk: DutyDesk | None, settings: Settings) -> str | None:
    """Serve Telegram updates at the path of DUTYDESK_TELEGRAM_WEBHOOK_URL inside a FastAPI app; the path, if mounted.

    Does nothing when no webhook URL is set, so the API factory may call it unconditionally. The bot
    starts (and calls setWebhook) after the app's own startup and stops before its shutdown; with
    `desk=None` it uses `app.state.desk`, which the app's lifespan sets.
    """
    url = settings.telegram_webhook_url
    if not url:
        return None
    path, problem = urlsplit(url).path, config_problem(settings)
    if problem:
        log.error("Telegram webhook not mounted: %s", problem)
        return None
    hook = _Webhook(settings, url, webhook_secret(bot_token(settings) or ""))
    app.router.lifespan_context = hook.lifespan(app.router.lifespan_context, desk)
    app.add_api_route(path, hook.receive, methods=["POST"], include_in_schema=False)
    return path


class _Webhook:
    """The PTB application behind the webhook route, started and stopped with the app."""

    def __init__(self, settings: Settings, url: str, secret: str) -> None:
        self.settings, self.url, self.secret = settings, url, secret
        self.application: Application | None = None

    def lifespan(self, inner: Callable[[Any], AbstractAsyncContextManager[Any]],
                 desk: DutyDesk | None) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
        """The app's lifespan with the bot started inside it."""

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
            async with inner(app) as state:
                await self.start(desk or app.state.desk)
                try:
                    yield state
                finally:
                    await self.stop()

        return lifespan

    async def start(self, desk: DutyDesk) -> None:
        """Start the application and register the webhook; if Telegram is unreachable the API runs on."""
        application = build_application(desk, self.settings)
        try:
            await application.initialize()
        except TelegramError as exc:
            log.error("Telegram bot not started (the API runs without it): %s", exc)
            await application.bot.shutdown()
            return
        await application.start()
        await post_init(application)
        try:
            await application.bot.set_webhook(self.url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
        except TelegramError as exc:
            log.error("setWebhook failed, Telegram will not deliver updates: %s", exc)
        self.application = application
        log.info("Telegram webhook at %s", urlsplit(self.url).path)

    async def stop(self) -> None:
        """Finish the queued updates and release the HTTP clients."""
        if self.application is not None:
            await self.application.stop()
            await self.application.shutdown()
            self.application = None

    async def receive(self, request: Request) -> JSONResponse:
        """POST from Telegram: check the secret header, queue the update, answer at once."""
        if not hmac.compare_digest(request.headers.get(WEBHOOK_SECRET_HEADER, ""), self.secret):
            return JSONResponse({"detail": "secret token missing or wrong"}, status_code=403)
        if self.application is None:
            return JSONResponse({"detail": "Telegram bot not running"}, status_code=503)
        try:
            update = Update.de_json(await request.json(), self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return JSONResponse({"detail": "not a Telegram update"}, status_code=400)
        await self.application.update_queue.put(update)
        return JSONResponse({"ok": True})
