"""The clause: the unit of knowledge and of citation, and the parsed document that holds clauses."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Source:
    """Where a clause stands: a path relative to the knowledge dir and 1-based inclusive lines."""

    path: str
    line_start: int
    line_end: int


@dataclass(frozen=True)
class Clause:
    """One numbered item (or paragraph, or table fact) with the context it needs to be cited."""

    id: str
    doc_id: str
    document: str
    section: tuple[str, ...]
    owner: str | None
    contact: str | None
    label: str | None
    text: str
    source: Source
    position: int
    sha256: str = ""
    label_spaced: bool = False  # "第一条 当日…" keeps its space in a quote, "（一）当日…" has none

    def quoted(self) -> str:
        """The clause as the source writes it: its label, then its text, spaced only as written."""
        if not self.label:
            return self.text
        return f"{self.label} {self.text}" if self.label_spaced else self.label + self.text

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", sha256_text(self.text))

    def embed_text(self) -> str:
        """What the dense and lexical indexes see: heading context, owner and text."""
        context = [*self.section]
        if self.owner and self.owner not in "".join(context):
            context.append(self.owner)
        head = " / ".join(context)
        return f"{head}：{self.text}" if head else self.text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (section as a list, source nested)."""
        data = asdict(self)
        data["section"] = list(self.section)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clause:
        """The inverse of to_dict."""
        values = dict(data)
        values["section"] = tuple(values["section"])
        values["source"] = Source(**values["source"])
        return cls(**values)


@dataclass
class ParsedDocument:
    """A document after loading, cleaning and parsing."""

    id: str
    title: str
    path: str
    sha256: str
    effective: str | None = None
    clauses: list[Clause] = field(default_factory=list)
