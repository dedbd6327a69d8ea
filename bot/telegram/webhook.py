"""Webhook mode: the same application served from a FastAPI app when DUTYDESK_TELEGRAM_WEBHOOK_URL is set."""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from telegram import Update
from telegram.error import TelegramError

from bot.service import DutyDesk
from bot.telegram.app import (
    ALLOWED_UPDATES,
    bot_token,
    build_application,
    config_problem,
    post_init,
)
from bot.telegram.context import DeskApplication
from ingest.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


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


def serve_webhook(desk: DutyDesk, settings: Settings) -> int:
    """Serve only the webhook route (settings.host:port) when `dutydesk telegram` runs in webhook mode."""
    import uvicorn

    app = FastAPI(title="DutyDesk Telegram webhook")
    mount_webhook(app, desk, settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


class _Webhook:
    """The PTB application behind the webhook route, started and stopped with the app."""

    def __init__(self, settings: Settings, url: str, secret: str) -> None:
        self.settings, self.url, self.secret = settings, url, secret
        self.application: DeskApplication | None = None

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
