"""Stable, readable ids: the same document text always gives the same ids."""
from __future__ import annotations

import dataclasses
import re

from pypinyin import Style, lazy_pinyin

from ingest.model import Clause
from ingest.numbering import split_label

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, initials: bool = False, limit: int = 16) -> str:
    """ASCII slug of a Chinese text: full pinyin, or pinyin initials."""
    style = Style.FIRST_LETTER if initials else Style.NORMAL
    joined = ("" if initials else "-").join(lazy_pinyin(text, style=style, errors="default"))
    return _NON_SLUG.sub("-", joined.lower()).strip("-")[:limit].strip("-")


def document_id(stem: str) -> str:
    """A document's id from its file name: pinyin initials of the Chinese, words kept otherwise."""
    return slug(stem, initials=True, limit=24) or "doc"


def _section_slug(clause: Clause) -> str:
    """The part of an id that names the clause's section: its owner, else its innermost heading."""
    if clause.owner:
        return slug(clause.owner).replace("-", "")[:16] or "s"
    if clause.section:
        head = clause.section[-1]
        numbered = split_label(head)
        return slug(numbered.rest if numbered else head, initials=True, limit=10) or "s"
    return "p"


def assign_ids(clauses: list[Clause], doc_id: str) -> list[Clause]:
    """Give each clause `doc-section-n`: n is its label's number when free, else a running count."""
    used: set[str] = set()
    counters: dict[str, int] = {}
    result = []
    for clause in clauses:
        base = f"{doc_id}-{_section_slug(clause)}"
        numbered = split_label(clause.label + " x") if clause.label else None
        candidate = f"{base}-{numbered.number}" if numbered and numbered.number is not None else ""
        while not candidate or candidate in used:
            counters[base] = counters.get(base, 0) + 1
            candidate = f"{base}-p{counters[base]}"
        used.add(candidate)
        result.append(dataclasses.replace(clause, id=candidate))
    return result
