"""The application: settings → bot, handlers and typed bot_data; `run_polling` is `dutydesk telegram`."""
from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.chat.redact import redact
from bot.service import DutyDesk, build
from bot.telegram import handlers
from bot.telegram.context import CONTEXT_TYPES, BotData, DeskApplication
from bot.telegram.gate import GATE_SETTINGS, gate
from bot.telegram.logs import QuietBot, keep_chats_out_of_logs, protect_token
from bot.telegram.network import RetryingRequest
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
MISSING_TOKEN = ("没有设置 Telegram 机器人令牌。请先用 @BotFather 创建机器人，"
                 "再把令牌写入环境变量 DUTYDESK_TELEGRAM_TOKEN（或 .env 文件）。")


# -- settings → objects ----------------------------------------------------------------------
def bot_token(settings: Settings) -> str | None:
    """The token from DUTYDESK_TELEGRAM_TOKEN, or None when unset or blank."""
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    return token or None


def config_problem(settings: Settings) -> str | None:
    """What keeps the bot from starting (no token, a malformed allow-list, a webhook URL without a path)."""
    problem = GATE_SETTINGS.problem(settings, MISSING_TOKEN if bot_token(settings) is None else None)
    url = settings.telegram_webhook_url
    if problem is None and url and urlsplit(url).path in ("", "/"):
        return "DUTYDESK_TELEGRAM_WEBHOOK_URL 需要包含路径，例如 https://bot.example.org/telegram/webhook"
    return problem


# -- the application -------------------------------------------------------------------------
def build_application(desk: DutyDesk, settings: Settings) -> DeskApplication:
    """The PTB application: the bot built from settings, the desk and access rules in bot_data, handlers."""
    token = bot_token(settings)
    if token is None:
        raise ValueError(MISSING_TOKEN)
    protect_token(token)
    keep_chats_out_of_logs()
    desk_gate = GATE_SETTINGS.gate(settings)
    application = (ApplicationBuilder().bot(_make_bot(token, settings)).context_types(CONTEXT_TYPES)
                   .post_init(post_init).build())
    data: BotData = application.bot_data
    data.desk, data.settings, data.gate = desk, settings, desk_gate
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


def _register(application: DeskApplication) -> None:
    """The gate first (group -1), then one handler per command, text questions and buttons."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, gate), group=-1)
    for name, callback in (("start", handlers.help_command), ("help", handlers.help_command),
                           ("ask", handlers.ask_command), ("who", handlers.who_command),
                           ("duties", handlers.duties_command), ("source", handlers.source_command),
                           ("owners", handlers.owners_command)):
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE,
                                           handlers.unknown_command))
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, handlers.question))
    application.add_handler(CallbackQueryHandler(handlers.show_clause, pattern=r"^[ch]:"))
    application.add_handler(CallbackQueryHandler(handlers.feedback_button, pattern=r"^f:[01]:"))
    application.add_handler(CallbackQueryHandler(handlers.stale_button))
    application.add_error_handler(handlers.on_error)


async def post_init(application: DeskApplication) -> None:
    """Register the command menu Telegram shows next to the input field."""
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", exc)
    log.info("Telegram bot @%s is up", application.bot.username)


# -- `dutydesk telegram` ---------------------------------------------------------------------
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
        # imported here, not at the top: the webhook module builds on this one
        from bot.telegram.webhook import serve_webhook

        return serve_webhook(desk, settings)
    return _poll(build_application(desk, settings))


def _poll(application: DeskApplication) -> int:
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
