"""The gate every update passes first (handler group -1).

Updates not meant for the bot are dropped; strangers get a short refusal and nothing from the
knowledge base (fail closed: an empty allow-list admits nobody, and any error while deciding stops
the update); each user is rate limited.
"""
from __future__ import annotations

import logging
import re

from telegram import Bot, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.chat.gate import GateSettings
from bot.chat.messages import stranger
from bot.telegram.context import DeskContext
from bot.telegram.format import escape

log = logging.getLogger(__name__)

PREFIX = "DUTYDESK_TELEGRAM"  # of the allow-list settings
STRANGER = stranger("Telegram 用户 ID")


def parse_ids(text: str, name: str) -> frozenset[int]:
    """Comma-separated Telegram ids ("123, -100456"); anything else is a configuration error."""
    ids = set()
    for part in (p.strip() for p in text.split(",")):
        if part and not re.fullmatch(r"-?\d+", part):
            raise ValueError(f"{name} 只能是逗号分隔的数字 ID，“{part}”不是")
        if part:
            ids.add(int(part))
    return frozenset(ids)


# Where this front end's allow-lists and rate limit live in Settings: bot.chat reads them for the gate.
GATE_SETTINGS: GateSettings[int] = GateSettings(
    PREFIX, parse_ids,
    lambda s: (s.telegram_allowed_users, s.telegram_allowed_chats, s.telegram_rate_limit_per_minute),
    "Add Telegram user or chat ids (comma-separated).", STRANGER, log)


async def gate(update: Update, context: DeskContext) -> None:
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


def _refusal(update: Update, context: DeskContext) -> str | None:
    """None to let the update through; "" to drop it silently; else the message that refuses it."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not _addressed(update, context.bot):
        return ""
    if not context.access.allows([user.id], chat.id):
        log.info("refused update %s: user %s in chat %s is not allow-listed", update.update_id, user.id, chat.id)
        return context.gate.stranger_text(user.id, chat.id if chat.type != ChatType.PRIVATE else None)
    return context.gate.too_fast(user.id)


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
