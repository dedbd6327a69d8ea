"""The token and staff's chats stay out of the logs (the redaction itself is `bot.chat.redact`'s)."""
from __future__ import annotations

import logging

from telegram import TelegramObject, Update
from telegram.ext import ExtBot

from bot.chat.redact import protect

TOKEN_PLACEHOLDER = "<telegram-token>"


def protect_token(token: str) -> None:
    """From now on no log record carries the token; httpx's per-request URL lines are silenced."""
    secret_part = token.partition(":")[2]
    protect(TOKEN_PLACEHOLDER, token, *([secret_part] if len(secret_part) >= 16 else []))


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
