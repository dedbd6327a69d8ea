"""How a chat front end calls the core: in a worker thread, since the core is synchronous and CPU-bound."""
from __future__ import annotations

import asyncio
import logging

from bot.chat.messages import APOLOGY
from bot.service import AskResult, DutyDesk, clean_question
from ingest.errors import DutyDeskError


async def ask(desk: DutyDesk, text: str, conversation: str, front: str | None,
              user: str | None) -> tuple[AskResult, str | None]:
    """The core's answer, and the question as the core rewrote it to stand alone (None when it did not)."""
    result = await asyncio.to_thread(desk.ask, text, None, conversation, front, user)
    return result, (result.question if result.question != clean_question(text) else None)


def error_text(error: BaseException | None, what: str, log: logging.Logger) -> str:
    """The core's own message for its errors (logged briefly); an apology for anything else (logged in full)."""
    if isinstance(error, DutyDeskError):
        level = logging.WARNING if error.status_code >= 500 else logging.INFO
        log.log(level, "%s: %s", what, error.message)
        return error.message
    log.error("%s failed", what, exc_info=error)
    return APOLOGY
