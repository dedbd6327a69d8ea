"""Citation verification: does a quote stand verbatim in today's rules, and has its clause changed?"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge import Knowledge
from ingest.errors import DutyDeskError, NotFoundError
from ingest.model import Clause
from ingest.numbering import split_label

_NOISE = re.compile(r"[\s\u3000「」『』“”\"']|\[\d+\]")
_NEAREST = 3
_SHORTLIST = 20
# A quoted passage in a pasted answer: 「…」 or “…” or "…", optionally followed by its [n].
_QUOTED = re.compile(r"(?:「([^」]+)」|“([^”]+)”|\"([^\"]+)\")\s*(?:\[(\d+)\])?")
_MARKER = re.compile(r"\[(\d+)\]")


class TooManyParts(DutyDeskError, status=413):
    """A pasted answer with more quotes and [n] references than DUTYDESK_VERIFY_BATCH_MAX."""


@dataclass
class Verification:
    """The verdict on one quote."""

    verified: bool
    stale: bool
    current: Clause | None
    matches: list[Clause] = field(default_factory=list)
    nearest: list[tuple[Clause, float]] = field(default_factory=list)  # when not verified
    previous: Clause | None = None  # the older version of the cited clause the quote came from


@dataclass
class Part:
    """One checked part of a pasted answer: a quoted passage and/or a [n] reference."""

    text: str
    marker: int | None
    citation_id: str | None
    result: Verification | None
    problem: str | None = None
    unresolved: bool = False  # a [n] with no citation id to resolve it

    @property
    def status(self) -> str:
        """verified | stale | not_found | unresolved."""
        if self.result is None:
            return "unresolved" if self.unresolved else "not_found"
        if self.result.stale:
            return "stale"
        return "verified" if self.result.verified else "not_found"


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


def _contains(clause: Clause, forms: list[str]) -> bool:
    text = squash(clause.text)
    return any(f in text for f in forms)


def verify_quote(quote: str, citation_id: str | None, knowledge: Knowledge,
                 history: dict[str, list[Clause]]) -> Verification:
    """Verify a quote; with a citation id, also say whether that clause changed or vanished since."""
    forms = _forms(quote)
    matches = [c for c in knowledge.clauses if _contains(c, forms)]
    nearest = [] if matches else nearest_clauses(quote, knowledge)
    if citation_id is None:
        return Verification(bool(matches), False, None, matches, nearest)
    current = knowledge.by_id.get(citation_id)
    past = history.get(citation_id, [])
    if current is None and not past:
        raise NotFoundError(f"没有编号为 {citation_id} 的条款（索引从未收录过）")
    in_current = current is not None and _contains(current, forms)
    previous = next((old for old in reversed(past) if _contains(old, forms)), None)
    stale = current is None or (not in_current and previous is not None)
    return Verification(bool(matches), stale, current, matches, nearest, previous if stale else None)


def nearest_clauses(quote: str, knowledge: Knowledge) -> list[tuple[Clause, float]]:
    """The clauses most like a misquote, with a 0..1 similarity, so the office sees what was meant."""
    target = squash(quote)
    if not target or not knowledge.clauses:
        return []
    scores = knowledge.lexical_scores(quote)
    rows = [int(i) for i in np.argsort(-scores)[:_SHORTLIST] if scores[i] > 0]
    scored = []
    for row in rows:
        clause = knowledge.clauses[row]
        text = squash(clause.text)
        # Compare against the clause text, or the part of it as long as the quote when it is longer.
        ratio = max(difflib.SequenceMatcher(None, target, text).ratio(), _window_ratio(target, text))
        scored.append((clause, round(ratio, 3)))
    return sorted(scored, key=lambda pair: -pair[1])[:_NEAREST]


def _window_ratio(target: str, text: str) -> float:
    """Similarity of the quote to the best-matching stretch of a longer clause."""
    if len(text) <= len(target):
        return 0.0
    matcher = difflib.SequenceMatcher(None, target, text)
    block = max(matcher.get_matching_blocks(), key=lambda b: b.size)
    start = max(0, block.b - block.a)
    return difflib.SequenceMatcher(None, target, text[start:start + len(target)]).ratio()


def split_answer(text: str, citation_ids: list[str] | None) -> list[tuple[str, int | None, str | None]]:
    """The parts of a pasted answer to check: (quoted passage or "", marker, cited id)."""
    ids = citation_ids or []
    parts: list[tuple[str, int | None, str | None]] = []
    quoted_markers: set[int] = set()
    for match in _QUOTED.finditer(text):
        passage = next(g for g in match.groups()[:3] if g)
        marker = int(match.group(4)) if match.group(4) else None
        if marker is not None:
            quoted_markers.add(marker)
        parts.append((passage, marker, _cited(ids, marker)))
    for marker in sorted({int(m) for m in _MARKER.findall(text)} - quoted_markers):
        parts.append(("", marker, _cited(ids, marker)))
    return parts


def _cited(ids: list[str], marker: int | None) -> str | None:
    return ids[marker - 1] if marker is not None and 0 < marker <= len(ids) else None
