"""The words staff use for the names the documents use: `knowledge/aliases.txt`, read at ingest.

One name a line, then the words staff use for it: `炊事员: 食堂师傅, 大师傅`. Blank lines and lines
starting with # are ignored. A line without a colon is an error that names the line: the rest of the
file still counts, so one typo never silently drops the office's whole vocabulary.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from ingest.hanzi import simplified

log = logging.getLogger(__name__)

FILE_NAME = "aliases.txt"
_SPLIT = re.compile(r"[,，、;；]")


def parse_aliases(text: str, source: str = FILE_NAME) -> dict[str, list[str]]:
    """{document name: [staff words]} from the file's text (bad lines are logged and skipped)."""
    aliases: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, words = line.replace("：", ":").partition(":")
        if not colon or not name.strip():
            log.warning("%s:%d: 缺少“名称: 说法”中的冒号，已跳过", source, number)
            continue
        found = [simplified(w.strip()) for w in _SPLIT.split(words) if w.strip()]
        aliases.setdefault(simplified(name.strip()), []).extend(w for w in found if w != name.strip())
    return aliases


def read_aliases(knowledge_dir: Path) -> dict[str, list[str]]:
    """The knowledge dir's alias file, or nothing when it has none."""
    path = Path(knowledge_dir) / FILE_NAME
    if not path.is_file():
        return {}
    return parse_aliases(path.read_text(encoding="utf-8-sig", errors="replace"), str(path))


def alias_pairs(aliases: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(staff word, documents' name) pairs, longest word first: sorted once per index, not per question."""
    return sorted(((w, name) for name, words in aliases.items() for w in words), key=lambda p: -len(p[0]))


def apply_aliases(question: str, pairs: list[tuple[str, str]]) -> str:
    """The question with each staff word replaced by the documents' name (pairs from alias_pairs)."""
    for word, name in pairs:
        if word in question and name not in question:
            question = question.replace(word, name)
    return question
