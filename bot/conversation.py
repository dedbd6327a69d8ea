"""Follow-ups: "那他们的电话是多少？" after a who-answer means the owner that answer named."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

# Words that point back at the department or post of the previous answer.
_BACK_REFERENCE = re.compile(r"他们|她们|该部门|这个部门|那个部门|该处室|这个处室|"
                             r"该岗位|这个岗位|那个岗位|这个人|那个人|此人|"
                             r"(?<![其吉])他(?!人|校|处)|她|其(?![他中余它实次间])")
_MAX_CONVERSATIONS = 1000
_TTL_SECONDS = 30 * 60


@dataclass
class Turn:
    """What a conversation remembers of its last answer."""

    question: str
    owner: str | None
    at: float


def rewrite(question: str, last: Turn | None) -> str:
    """Replace a back-reference with the last answer's owner; otherwise leave the question alone."""
    if last is None or not last.owner or last.owner in question:
        return question
    rewritten, count = _BACK_REFERENCE.subn(last.owner, question, count=1)
    return rewritten if count else question


class Conversations:
    """The last turn of recent conversations, bounded in number and age (thread-safe)."""

    def __init__(self, limit: int = _MAX_CONVERSATIONS, ttl: float = _TTL_SECONDS) -> None:
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._limit, self._ttl = limit, ttl
        self._lock = threading.Lock()

    def last(self, conversation_id: str) -> Turn | None:
        """The last turn, if it is recent enough."""
        with self._lock:
            turn = self._turns.get(conversation_id)
            if turn is None or time.monotonic() - turn.at > self._ttl:
                return None
            return turn

    def remember(self, conversation_id: str, question: str, owner: str | None) -> None:
        """Record a turn (an answer without an owner keeps the previous owner as the topic)."""
        with self._lock:
            previous = self._turns.pop(conversation_id, None)
            fresh = previous is not None and time.monotonic() - previous.at <= self._ttl
            kept = owner or (previous.owner if previous is not None and fresh else None)
            self._turns[conversation_id] = Turn(question, kept, time.monotonic())
            while len(self._turns) > self._limit:
                self._turns.popitem(last=False)
