"""The words staff use for the names the documents use: `knowledge/aliases.txt`, read at ingest.

One name a line, then the words staff use for it: `炊事员: 食堂师傅, 大师傅`. Blank lines and lines
starting with # are ignored. A line without a colon is an error that names the line: the rest of the
file still counts, so one typo never silently drops the office's whole vocabulary.
`add_alias` (the office's POST /aliases) adds a word to it, keeping every other line and comment.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ingest.errors import DutyDeskError
from ingest.hanzi import simplified

log = logging.getLogger(__name__)

FILE_NAME = "aliases.txt"
_SPLIT = re.compile(r"[,，、;；]")
_NOT_IN_A_WORD = re.compile(r"[,，、;；:：#\s]")  # separators of the file's format, and line breaks
MAX_ALIAS_CHARS = 50


class InvalidAliasError(DutyDeskError, status=422):
    """An alias the file could not hold as one word, or a name the documents never use."""


class AliasConflictError(DutyDeskError, status=409):
    """The word already stands for another name."""


class AliasFileError(DutyDeskError, status=503):
    """The alias file cannot be written (a read-only knowledge dir, say): the server's setup, not the request."""


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


def check_alias(name: str, alias: str) -> tuple[str, str]:
    """The name and the alias, stripped; InvalidAliasError when either cannot stand in the file as one word."""
    name, alias = name.strip(), alias.strip()
    if not alias or not name:
        raise InvalidAliasError("名称和说法都不能为空")
    for label, word in (("名称", name), ("说法", alias)):
        if _NOT_IN_A_WORD.search(word):
            raise InvalidAliasError(f"{label}“{word}”不能包含逗号、顿号、分号、冒号、# 或空白")
        if len(word) > MAX_ALIAS_CHARS:
            raise InvalidAliasError(f"{label}过长：最多 {MAX_ALIAS_CHARS} 个字符")
    if simplified(alias) == simplified(name):
        raise InvalidAliasError("说法与名称相同")
    return name, alias


def add_alias(knowledge_dir: Path, name: str, alias: str, vocabulary: dict[str, list[str]],
              lock_dir: Path) -> list[str]:
    """Add a staff word to a name in the alias file, keeping every other line and comment; the name's words.

    `vocabulary` holds the other names and words in use ({name: [words]}, the file's own are read
    here): a word that already stands for another name (or is one) is an AliasConflictError.
    Adding a word the name already has changes nothing.
    """
    name, alias = check_alias(name, alias)
    path = Path(knowledge_dir) / FILE_NAME
    with _locked(Path(lock_dir) / "aliases.lock"):
        text = path.read_text(encoding="utf-8-sig") if path.is_file() else ""
        taken = {**vocabulary, **parse_aliases(text, str(path))}
        owner = _owner_of(simplified(alias), taken)
        if owner is not None and owner != simplified(name):
            raise AliasConflictError(f"“{alias}”已经是“{owner}”的说法")
        if owner is None:
            text = _with_alias(text, name, alias)
            _replace(path, text)
    return parse_aliases(text, str(path))[simplified(name)]


def _owner_of(word: str, vocabulary: dict[str, list[str]]) -> str | None:
    """The name a word stands for (a name stands for itself), or None."""
    return next((name for name, words in vocabulary.items() if word == name or word in words), None)


def _with_alias(text: str, name: str, alias: str) -> str:
    """The file's text with the alias appended to the name's first line, or a new line for the name."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        head, colon, _ = line.strip().replace("：", ":").partition(":")
        if colon and not line.strip().startswith("#") and simplified(head.strip()) == simplified(name):
            lines[number] = f"{line.rstrip().rstrip(',，、;；')}, {alias}"
            return "\n".join(lines) + "\n"
    return "\n".join([*lines, f"{name}: {alias}"]) + "\n"


def _replace(path: Path, text: str) -> None:
    """Write the file whole and swap it in, so a reader never sees half of it."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        draft.write_text(text, encoding="utf-8")
        os.replace(draft, path)
    except OSError as exc:
        with suppress(OSError):
            draft.unlink(missing_ok=True)
        raise AliasFileError(f"无法写入 {path}（{exc.strerror or exc}）：知识库目录须可写，"
                             "或由管理员直接编辑该文件后运行 dutydesk ingest") from exc


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One alias edit at a time across processes (the read-modify-write would lose one otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
