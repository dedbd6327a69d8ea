"""The typed context every handler gets (python-telegram-bot's contexttypesbot pattern).

PTB creates `bot_data` by calling its type with no arguments, so `BotData` starts empty and
`build_application` fills it in; handlers read it through `DeskContext`'s typed properties rather
than through string keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.chat.gate import Access, Gate
from bot.limits import RateLimiter
from bot.service import DutyDesk
from ingest.settings import Settings

T = TypeVar("T")


@dataclass
class BotData:
    """What every handler shares: the desk it answers from, the settings and the gate (access, rate limit)."""

    desk: DutyDesk | None = None
    settings: Settings | None = None
    gate: Gate[int] | None = None


class DeskContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with the application's desk, settings, access rules and rate limiter as typed properties."""

    @property
    def desk(self) -> DutyDesk:
        """The DutyDesk the bot answers from."""
        return _filled(self.bot_data.desk, "desk")

    @property
    def settings(self) -> Settings:
        """The settings the application was built from."""
        return _filled(self.bot_data.settings, "settings")

    @property
    def gate(self) -> Gate[int]:
        """The access rules and the per-user rate limit."""
        return _filled(self.bot_data.gate, "gate")

    @property
    def access(self) -> Access[int]:
        """Who gets answers (DUTYDESK_TELEGRAM_ALLOWED_USERS / _CHATS)."""
        return self.gate.access

    @property
    def limiter(self) -> RateLimiter:
        """The per-user rate limit (DUTYDESK_TELEGRAM_RATE_LIMIT_PER_MINUTE)."""
        return self.gate.limiter


CONTEXT_TYPES = ContextTypes(context=DeskContext, bot_data=BotData)
# The application those context types build (its bot class and job queue are left open).
DeskApplication = Application[Any, DeskContext, dict[Any, Any], dict[Any, Any], BotData, Any]


def _filled(value: T | None, name: str) -> T:
    """A BotData field, which `build_application` always sets (a bare Application would not)."""
    if value is None:
        raise RuntimeError(f"bot_data.{name} is not set: build the application with build_application")
    return value
