"""Plain-text pieces both front ends' formatters build on; each escapes them for its own markup."""
from __future__ import annotations

from ingest.model import Clause


def shorten(text: str, limit: int) -> str:
    """The text, cut to `limit` characters with an ellipsis when longer."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clause_place(clause: Clause) -> str:
    """《document》 section › path · label, as plain text (not escaped)."""
    section = " › ".join(clause.section[-2:])
    label = f" · {clause.label}" if clause.label else ""
    return f"《{clause.document}》{section}{label}"
