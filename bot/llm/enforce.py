"""Citation enforcement: keep only what the model said with a valid citation to the context.

Every `[n]` must name a clause that was in the context; other markers are removed. A sentence
left without a valid marker is dropped, and so is a sentence that names a known department or
post which none of its cited clauses supports. The surviving markers are renumbered 1..k in
order of first appearance, matching the returned citations.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from bot.answering.owners import responsible_party
from bot.retrieve import Hit, mentioned_owners, owner_aliases
from ingest.hanzi import simplified
from ingest.model import Clause

MARKER = re.compile(r"\[(\d+)\]")
_RUN = re.compile(r"\[\d+\](?:[ \t]*\[\d+\])*")  # adjacent markers, e.g. "[1] [2][1]"
# "［1］", "【1】", "[ 1 ]", "[1, 2]", "[1、2]" → "[1]", "[1][2]": models vary the form.
_LOOSE = re.compile(r"[\[［【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]］】]")
# A sentence ends at 。！？!? and keeps the markers that follow the punctuation ("…负责。[1]").
_SENTENCE = re.compile(r"[^。！？!?]*(?:[。！？!?]+(?:[ \t]*\[\d+\])*|$)")


@dataclass
class Enforced:
    """The validated text, the clauses it cites (marker n = citations[n-1]), what was dropped."""

    text: str
    citations: list[Hit] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def normalise_markers(text: str) -> str:
    """Rewrite every bracketed number list in the canonical `[n][m]` form."""
    return _LOOSE.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)


def sentences(line: str) -> list[str]:
    """A line split into sentences, each with its trailing markers."""
    return [s for s in _SENTENCE.findall(line) if s.strip()]


def strip_markers(text: str) -> str:
    """The text without any [n] marker."""
    return MARKER.sub("", text)


def enforce(raw: str, context: Sequence[Hit], known_owners: Collection[str]) -> Enforced:
    """Validate a model answer against the context it was given (see the module docstring)."""
    kept_lines: list[str] = []
    dropped: list[str] = []
    for line in normalise_markers(raw).splitlines():
        kept: list[str] = []
        for sentence in sentences(line):
            (kept if _supported(sentence, context, known_owners) else dropped).append(sentence)
        if kept:
            kept_lines.append("".join(kept).strip())
    kept_text = "\n".join(kept_lines)
    order = cited_numbers(kept_text, len(context))  # old numbers in order of first appearance
    text = _renumber(kept_text, order)
    return Enforced(text, [context[n - 1] for n in order], [s.strip() for s in dropped])


def cited_numbers(sentence: str, size: int) -> list[int]:
    """The distinct valid marker numbers (1..size) of a sentence, in order."""
    numbers = (int(n) for n in MARKER.findall(sentence))
    return list(dict.fromkeys(n for n in numbers if 1 <= n <= size))


def _supported(sentence: str, context: Sequence[Hit], known_owners: Collection[str]) -> bool:
    """A valid citation, and every owner the sentence names backed by one of its cited clauses."""
    cited = [context[n - 1].clause for n in cited_numbers(sentence, len(context))]
    if not cited:
        return False
    named = mentioned_owners(strip_markers(sentence), list(known_owners))
    return all(any(backs(clause, name, known_owners) for clause in cited) for name in named)


def backs(clause: Clause, name: str, known_owners: Collection[str]) -> bool:
    """Whether a clause backs naming this owner: its owner, its responsible party, or named in its text."""
    if name in parties(clause, known_owners):
        return True
    text = simplified(clause.text)
    return any(alias in text for alias in owner_aliases(name))


def parties(clause: Clause, known_owners: Collection[str]) -> set[str]:
    """The owner of a clause and the party its text makes responsible."""
    found = {clause.owner, responsible_party(clause, set(known_owners))}
    return {name for name in found if name}


def _renumber(text: str, order: list[int]) -> str:
    """Renumber each run of markers, dropping invalid and repeated ones."""
    new = {old: i for i, old in enumerate(order, start=1)}

    def run(match: re.Match[str]) -> str:
        numbers = [new[int(n)] for n in MARKER.findall(match.group(0)) if int(n) in new]
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

    return _RUN.sub(run, text)
