"""evals/corpus split by organisation: one index per school, as a school running DutyDesk would have.

evals/corpus/ holds six schools' documents and two regulations. Indexed together, a question about one
school's 学籍 can be answered from another school's. Files whose names share a prefix of at least
four characters ("上海市复兴高级中学…") are one organisation; each gets its own knowledge dir and index
under .cache/fit/schools/.
"""
from __future__ import annotations

import os
import shutil
from functools import cache

from _common import ROOT
from fit_answerability import desk_for

from bot.service import DutyDesk

CORPUS = ROOT / "evals" / "corpus"
PREFIX = 4
FOLDER = ROOT / ".cache" / "fit" / "schools"


@cache
def organisations() -> dict[str, tuple[str, ...]]:
    """{first file name: the organisation's file names}."""
    groups: dict[str, list[str]] = {}
    for name in sorted(p.name for p in CORPUS.iterdir() if p.is_file()):
        key = next((k for k in groups if len(os.path.commonprefix([k, name])) >= PREFIX), name)
        groups.setdefault(key, []).append(name)
    return {key: tuple(files) for key, files in groups.items()}


@cache
def school_desk(doc: str) -> DutyDesk:
    """The desk over only the organisation that wrote `doc` (a file name in evals/corpus)."""
    number, files = next((n, files) for n, files in enumerate(organisations().values()) if doc in files)
    knowledge = FOLDER / f"k{number}"
    knowledge.mkdir(parents=True, exist_ok=True)
    for name in files:
        if not (knowledge / name).exists():
            shutil.copyfile(CORPUS / name, knowledge / name)
    return desk_for(f"schools/d{number}", knowledge)
