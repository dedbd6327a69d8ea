"""The handlers behind the gate: commands, text questions, buttons and the error handler.

The core is synchronous and CPU-bound, so every DutyDesk call runs in a worker thread.
"""
from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.chat.desk import ask, error_text
from bot.chat.messages import FEEDBACK_GONE, FEEDBACK_THANKS, USAGE
from bot.telegram.context import DeskContext
from bot.telegram.format import (
    answer_blocks,
    clause_blocks,
    duties_blocks,
    escape,
    help_html,
    owners_blocks,
    pack,
    unknown_owner_html,
)
from bot.telegram.keyboards import answer_keyboard, citation_keyboard, clause_for
from ingest.errors import NotFoundError

log = logging.getLogger(__name__)

FRONT = "telegram"  # the front end's name in the question log
STALE_BUTTON = "这个按钮已失效，请重新提问。"


async def help_command(update: Update, context: DeskContext) -> None:
    """What the bot can do, with example questions (/start and /help)."""
    await _send(update, context, [help_html(context.bot.username)])


async def ask_command(update: Update, context: DeskContext) -> None:
    """Answer /ask <问题>."""
    await _answer(update, context, " ".join(context.args or []), "ask")


async def who_command(update: Update, context: DeskContext) -> None:
    """Who is responsible: /who <任务> asks the core "谁负责<任务>？"."""
    task = " ".join(context.args or []).strip().rstrip("？?。.!！ ")
    task = task.removeprefix("谁负责").strip()
    await _answer(update, context, f"谁负责{task}？" if task else "", "who")


async def question(update: Update, context: DeskContext) -> None:
    """Answer a text message: in a private chat, or in a group when it @mentions or replies to the bot."""
    message = update.message
    if message is None:
        return
    text = message.text or ""
    for mention in message.parse_entities([MessageEntity.MENTION]).values():
        if mention.lower() == f"@{context.bot.username}".lower():
            text = text.replace(mention, " ")
    await _answer(update, context, text.strip(), "question")


async def duties_command(update: Update, context: DeskContext) -> None:
    """Every duty of a department or post, for new teachers: /duties 班主任 (or 出纳 for 出纳员)."""
    name, desk = " ".join(context.args or []).strip(), context.desk
    if not name:
        return await _send(update, context, [escape(USAGE["duties"])])
    try:
        owner, clauses = await asyncio.to_thread(desk.owner, name)
    except NotFoundError:
        owners = await asyncio.to_thread(desk.owners)
        return await _send(update, context, [unknown_owner_html(name, [o.name for o in owners])])
    await _send(update, context, pack(duties_blocks(owner, clauses)), citation_keyboard(clauses))


async def source_command(update: Update, context: DeskContext) -> None:
    """A clause verbatim with its document, section, label and source lines: /source <条款编号>."""
    clause_id = " ".join(context.args or []).strip()
    if not clause_id:
        return await _send(update, context, [escape(USAGE["source"])])
    clause = await asyncio.to_thread(context.desk.clause, clause_id)
    await _send(update, context, pack(clause_blocks(clause)))


async def owners_command(update: Update, context: DeskContext) -> None:
    """The departments and posts with their contact and number of clauses."""
    owners = await asyncio.to_thread(context.desk.owners)
    await _send(update, context, pack(owners_blocks(owners)))


async def unknown_command(update: Update, context: DeskContext) -> None:
    """A /command the bot does not have (private chats only: in groups it may be another bot's)."""
    await _send(update, context, [escape(USAGE["unknown"])])


async def show_clause(update: Update, context: DeskContext) -> None:
    """The whole clause behind a citation button."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    clause = await asyncio.to_thread(clause_for, context.desk, query.data or "")
    await _send(update, context, pack(clause_blocks(clause)))


async def feedback_button(update: Update, context: DeskContext) -> None:
    """有帮助 / 没帮助 under an answer: recorded in the question log, acknowledged on the button."""
    query = update.callback_query
    if query is None:
        return
    _, helpful, answer_id = (query.data or "").split(":", 2)
    try:
        await asyncio.to_thread(context.desk.feedback, answer_id, helpful == "1")
    except NotFoundError:
        await query.answer(FEEDBACK_GONE, show_alert=True)
        return
    await query.answer(FEEDBACK_THANKS)


async def stale_button(update: Update, context: DeskContext) -> None:  # noqa: ARG001 (the handler signature)
    """A button whose data we don't know (an old keyboard)."""
    if update.callback_query:
        await update.callback_query.answer(STALE_BUTTON, show_alert=True)


async def on_error(update: object, context: DeskContext) -> None:
    """Log the failure with its update id, tell the user briefly, and stop the update there."""
    update_id = getattr(update, "update_id", None)
    text = error_text(context.error, f"update {update_id}", log)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, escape(text))
        except TelegramError as exc:
            log.warning("update %s: could not send the apology: %s", update_id, exc)
    raise ApplicationHandlerStop


# -- helpers ---------------------------------------------------------------------------------
async def _answer(update: Update, context: DeskContext, text: str, usage: str) -> None:
    """Ask the core in a worker thread and send the answer, its sources and one button per citation."""
    if not text.strip():
        return await _send(update, context, [escape(USAGE[usage])])
    user = update.effective_user.id if update.effective_user else None
    desk = context.desk
    result, rewritten = await ask(desk, text, f"tg:{_chat_id(update)}", FRONT,
                                  None if user is None else str(user))  # the log keeps only a salted hash
    clauses = [hit.clause for hit in result.answer.citations]
    keyboard = answer_keyboard(clauses, result.id if desk.questions is not None else None)
    await _send(update, context, pack(answer_blocks(result.answer, rewritten)), keyboard)


async def _send(update: Update, context: DeskContext, messages: list[str],
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
