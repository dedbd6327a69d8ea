"""What the service returns beyond core types: an answer with its retrieval and timings, a clause in context."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from bot.answer import Answer
from bot.retrieve import Retrieval
from ingest.model import Clause


@dataclass
class AskResult:
    """An answer plus the retrieval behind it and the time each step took."""

    answer: Answer
    retrieval: Retrieval
    retrieve_ms: float
    answer_ms: float
    question: str = ""  # the question actually answered (a follow-up rewritten to stand alone)
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)  # names this answer (feedback)


@dataclass
class ClauseDetail:
    """A clause in context: its neighbours, its section, its document's version and effective date."""

    clause: Clause
    neighbours: list[Clause]
    section: list[Clause]
    version: int | None
    effective: str | None
