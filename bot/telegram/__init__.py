"""The Telegram front end: a thin python-telegram-bot translation of chat messages to DutyDesk calls.

`build_application` registers the handlers; `run_polling` is `dutydesk telegram`; `mount_webhook`
serves the same application from the FastAPI app when DUTYDESK_TELEGRAM_WEBHOOK_URL is set.

Every update first passes `gate` (handler group -1): updates not meant for the bot are dropped,
strangers get a short refusal and nothing from the knowledge base (fail closed: an empty allow-list
admits nobody, and any error while deciding stops the update), and each user is rate limited.
The core is synchronous and CPU-bound, so every DutyDesk call runs in a worker thread.

Modules: `app` (settings → application, polling), `context` (the typed handler context), `gate`,
`handlers`, `keyboards`, `format` (Telegram HTML), `logs` (token and chats kept out of the logs),
`network` (retries) and `webhook`. What the DingTalk front end shares is in `bot.chat`.
"""
from __future__ import annotations

from bot.telegram.app import (
    ALLOWED_UPDATES,
    build_application,
    config_problem,
    run_polling,
)
from bot.telegram.gate import STRANGER
from bot.telegram.keyboards import callback_data
from bot.telegram.webhook import mount_webhook, webhook_secret

__all__ = ["ALLOWED_UPDATES", "STRANGER", "build_application", "callback_data", "config_problem",
           "mount_webhook", "run_polling", "webhook_secret"]
