"""Inline keyboards: one "[n] 原文" button per citation, and 有帮助 / 没帮助 under an answer."""
from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.service import DutyDesk
from ingest.errors import NotFoundError
from ingest.model import Clause

MAX_CALLBACK_BYTES = 64
BUTTONS_PER_ROW = 4
MAX_BUTTONS = 100  # Telegram's limit for one inline keyboard
FEEDBACK_BUTTONS = (("有帮助", True), ("没帮助", False))


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
