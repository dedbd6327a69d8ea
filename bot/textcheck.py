"""The one rule for text that comes in (questions, quotes, pasted answers, comments): no control characters.

C0 and C1 control characters (and DEL) are refused, never silently removed: a quote is checked and
hashed into the audit log as given, so quietly altering it would verify something the caller did not
send. Tab, newline and carriage return are ordinary layout and stay allowed. Every front end applies
this same rule: the request models (422), the core's `clean_question` (the CLI and Telegram).
"""
from __future__ import annotations

import re

from ingest.errors import InvalidRequestError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class ControlCharacterError(InvalidRequestError, status=422):
    """Text with a control character: the same 422 the request models give."""


def control_problem(text: str) -> str | None:
    """Why text is refused (its first control character and where), or None when it has none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (f"含有控制字符 U+{ord(found.group()):04X}（第 {found.start() + 1} 个字符）；"
            "除制表符、换行和回车外不允许控制字符")


def check_text(text: str, what: str) -> str:
    """The text unchanged, or ControlCharacterError naming `what` (e.g. "问题") and the character."""
    problem = control_problem(text)
    if problem is not None:
        raise ControlCharacterError(f"{what}{problem}")
    return text
