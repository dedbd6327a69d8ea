"""Who gets answers and how often: the allow-lists and the per-user rate limit of both chat front ends.

Access fails closed: an empty allow-list admits nobody. Strangers get a short refusal naming their id
(and the group's, in a group) so that an administrator can add them, and nothing from the knowledge
base. Each user is rate limited with the API's `RateLimiter`. `GateSettings` reads a front end's allow-lists
and rate limit from its settings, and says what in them keeps the bot from starting.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.chat.messages import TOO_FAST
from bot.limits import RateLimiter
from ingest.settings import Settings

Id = TypeVar("Id", int, str)  # Telegram's ids are numbers, DingTalk's are strings


@dataclass(frozen=True)
class Access(Generic[Id]):
    """Who gets answers: allow-listed users anywhere, and everyone inside an allow-listed chat."""

    users: frozenset[Id]
    chats: frozenset[Id]

    @classmethod
    def parse(cls, users: str, chats: str, prefix: str,
              parse_ids: Callable[[str, str], frozenset[Id]]) -> Access[Id]:
        """Parse the {prefix}_ALLOWED_USERS / _CHATS settings (ValueError when malformed)."""
        return cls(parse_ids(users, f"{prefix}_ALLOWED_USERS"), parse_ids(chats, f"{prefix}_ALLOWED_CHATS"))

    @property
    def empty(self) -> bool:
        """Nobody is allowed in."""
        return not self.users and not self.chats

    def allows(self, user_ids: Iterable[Id], chat_id: Id | None) -> bool:
        """True for an allow-listed user, or anyone in an allow-listed chat (`chat_id` None: no chat counts)."""
        return any(i in self.users for i in user_ids) or (chat_id is not None and chat_id in self.chats)

    def warn_if_empty(self, log: logging.Logger, prefix: str, hint: str) -> None:
        """Say at start-up that the bot will refuse everyone, with a hint on what ids to add."""
        if self.empty:
            log.warning("%s_ALLOWED_USERS and %s_ALLOWED_CHATS are both empty: the bot will refuse everyone. %s",
                        prefix, prefix, hint)


class Gate(Generic[Id]):
    """The allow-lists and the per-user rate limit a message passes before the core sees it."""

    def __init__(self, access: Access[Id], per_minute: int, stranger: str) -> None:
        self.access: Access[Id] = access
        self.stranger = stranger
        self.limiter = RateLimiter(per_minute)

    def stranger_text(self, who: object, group_id: object | None = None) -> str:
        """The refusal naming the user's id, and in a group the group's, for the administrator."""
        return self.stranger.format(user_id=f"{who}，本群 ID：{group_id}" if group_id is not None else who)

    def too_fast(self, user: Id) -> str | None:
        """None when the user may go ahead (the request is counted), else the notice saying how long to wait."""
        wait = self.limiter.retry_after(str(user))
        return TOO_FAST.format(limit=self.limiter.per_minute, seconds=wait) if wait else None


@dataclass(frozen=True)
class GateSettings(Generic[Id]):
    """A chat front end's gate as its settings describe it: where the values are, how its ids read, its texts."""

    prefix: str  # of the allow-list settings' names: DUTYDESK_TELEGRAM, DUTYDESK_DINGTALK
    parse_ids: Callable[[str, str], frozenset[Id]]  # (text, setting's name) → ids; ValueError when malformed
    read: Callable[[Settings], tuple[str, str, int]]  # allowed users, allowed chats, rate limit per minute
    hint: str  # what ids to add, said at start-up when both allow-lists are empty
    stranger: str  # the refusal, with a {user_id} slot
    log: logging.Logger  # the front end's own, so that its warnings carry its name

    def access(self, settings: Settings) -> Access[Id]:
        """Parse {prefix}_ALLOWED_USERS / _CHATS (ValueError when malformed)."""
        users, chats, _ = self.read(settings)
        return Access.parse(users, chats, self.prefix, self.parse_ids)

    def gate(self, settings: Settings) -> Gate[Id]:
        """The access rules and rate limit from settings, warning when they let nobody in."""
        access = self.access(settings)
        access.warn_if_empty(self.log, self.prefix, self.hint)
        return Gate(access, self.read(settings)[2], self.stranger)

    def problem(self, settings: Settings, missing: str | None) -> str | None:
        """What keeps the bot from starting: `missing` (set when its credentials are not), or a malformed
        allow-list."""
        if missing:
            return missing
        try:
            self.access(settings)
        except ValueError as exc:
            return str(exc)
        return None
