"""Citation verification: does a quote stand verbatim in today's rules, and has its clause changed?"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.knowledge import Knowledge
from ingest.errors import NotFoundError
from ingest.model import Clause
from ingest.numbering import split_label

_NOISE = re.compile(r"[\s\u3000「」『』“”\"']|\[\d+\]")


@dataclass
class Verification:
    """The verdict on one quote."""

    verified: bool
    stale: bool
    current: Clause | None
    matches: list[Clause] = field(default_factory=list)


def squash(text: str) -> str:
    """Text without whitespace, quotation marks or [n] markers, for whitespace-insensitive matching."""
    return _NOISE.sub("", text)


def _forms(quote: str) -> list[str]:
    """The quote as given and without a leading item label ("1." "（二）")."""
    text = quote.strip().strip("「」“”\"'")
    numbered = split_label(text)
    forms = [squash(text)]
    if numbered is not None and numbered.rest:
        forms.append(squash(numbered.rest))
    return [f for f in forms if f]


def verify_quote(quote: str, citation_id: str | None, knowledge: Knowledge,
                 history: dict[str, list[Clause]]) -> Verification:
    """Verify a quote; with a citation id, also say whether that clause changed or vanished since."""
    forms = _forms(quote)
    matches = [c for c in knowledge.clauses if any(f in squash(c.text) for f in forms)]
    if citation_id is None:
        return Verification(verified=bool(matches), stale=False, current=None, matches=matches)
    current = knowledge.by_id.get(citation_id)
    past = history.get(citation_id, [])
    if current is None and not past:
        raise NotFoundError(f"没有编号为 {citation_id} 的条款（索引从未收录过）")
    in_current = current is not None and any(f in squash(current.text) for f in forms)
    in_past = any(any(f in squash(old.text) for f in forms) for old in past)
    stale = current is None or (not in_current and in_past)
    return Verification(verified=bool(matches), stale=stale, current=current, matches=matches)
