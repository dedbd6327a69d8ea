"""What the parser builds as it reads, and how that becomes clauses.

`Frame` is an open section, `Draft` a clause still being assembled; `to_clauses` turns the finished
drafts into clauses with their owners, contacts (from the same document only) and stable ids.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.ids import assign_ids
from ingest.model import Clause, Source
from ingest.owners import find_contact, line_owner

_NUMERAL = re.compile(r"[\d零〇一二三四五六七八九十百千]+")


@dataclass
class Frame:
    """An open section: its title as written, how it was recognised, and its owner if it names one."""

    title: str
    kind: str  # "md", "plain", "table" or a numbering style
    level: int = 0
    number: int | None = None
    owner: str | None = None
    contact: str | None = None
    has_content: bool = False
    colon: bool = False  # written as a lead-in ("后勤保障部：")

    def signature(self) -> str:
        """Shape of a plain heading for finding its siblings: numerals folded, last two characters;
        every "后勤保障部：" line that heads a list is a sibling of the last one."""
        return "：" if self.colon else _NUMERAL.sub("#", self.title)[-2:]


@dataclass
class Draft:
    """A clause being assembled (its text may still grow by wrapped lines)."""

    text: str
    label: str | None
    frames: list[Frame]
    line_start: int
    line_end: int
    open: bool = True  # may still take a wrapped continuation line
    last_len: int = 0
    spaced: bool = False  # a space stands between label and text in the source


def to_clauses(drafts: list[Draft], path: str, title: str, doc_id: str) -> list[Clause]:
    """Turn drafts into clauses: owners, contacts and stable ids."""
    contacts = _owner_contacts(drafts)
    clauses = []
    for position, draft in enumerate(d for d in drafts if d.text):
        owner = line_owner(draft.text) or next((f.owner for f in reversed(draft.frames) if f.owner), None)
        clauses.append(Clause(
            id="", doc_id=doc_id, document=title, section=tuple(f.title for f in draft.frames),
            owner=owner, contact=contacts.get(owner) if owner else None, label=draft.label,
            label_spaced=draft.spaced, text=draft.text, source=Source(path, draft.line_start, draft.line_end),
            position=position,
        ))
    return assign_ids(clauses, doc_id)


def _owner_contacts(drafts: list[Draft]) -> dict[str, str]:
    """What the document says about reaching each owner: a table phone, or a phone in its clauses."""
    contacts: dict[str, str] = {}
    for draft in drafts:
        owner_frame = next((f for f in reversed(draft.frames) if f.owner), None)
        if owner_frame is None or owner_frame.owner is None or owner_frame.owner in contacts:
            continue
        contact = owner_frame.contact or find_contact(draft.text)
        if contact:
            contacts[owner_frame.owner] = contact
    return contacts
