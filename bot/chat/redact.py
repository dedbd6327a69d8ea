"""Secrets stay out of the logs: one log-record factory scrubs every secret a front end registers.

Telegram puts the bot token in every Bot API URL (and PTB in some exceptions); DingTalk's gateway
hands out a ticket per connection, and its app secret could surface in an error. Each front end
registers its secrets with the placeholder to show instead; the factory, installed once per process,
replaces them in every record's message and traceback, whichever logger wrote it.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

MIN_SECRET = 6  # a blank or tiny value would mangle every log line
_SECRETS: dict[str, str] = {}  # secret → placeholder, for the life of the process
_RECENT: deque[tuple[str, str]] = deque(maxlen=16)  # short-lived secrets (connection tickets); old ones expire


def redact(text: str) -> str:
    """The text with every registered secret and recent short-lived one replaced by its placeholder."""
    found = {**dict(_RECENT), **_SECRETS}
    for secret in sorted(found, key=len, reverse=True):  # longest first: a token before its own secret part
        text = text.replace(secret, found[secret])
    return text


def protect(placeholder: str, *secrets: str, recent: bool = False) -> None:
    """From now on no log record carries these strings; httpx's per-request URL lines are silenced.

    `recent`: the secrets are short-lived (a connection's ticket) and only the last few are kept.
    """
    for secret in (s for s in secrets if len(s) >= MIN_SECRET):
        if recent:
            _RECENT.append((secret, placeholder))
        else:
            _SECRETS[secret] = placeholder
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "redacts_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(previous))


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory that scrubs secrets from the message and any traceback."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  # a malformed call: logging reports it at emit time
            return record
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    return factory
