"""Document versions: stable clause ids across edits, and an append-only log of every version."""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import Clause

_EDIT_SIMILARITY = 0.6  # an edit that keeps this much of a clause's text is the same clause, changed


def reconcile_ids(new: list[Clause], old: list[Clause]) -> list[Clause]:
    """Keep ids stable across versions of one document.

    A clause whose text is unchanged keeps its old id even if items were inserted before it; an
    edited clause keeps the id of the old clause it most resembles, so an old citation of it reads
    as stale with today's text; anything else gets its natural id, or a fresh one if that is taken.
    """
    kept = _same_text(new, old)
    kept.update(_edited(new, old, kept))
    taken = set(kept.values())
    known = {c.id for c in old}
    result = []
    for index, clause in enumerate(new):
        clause_id = kept.get(index) or _free_id(clause.id, taken, known)
        taken.add(clause_id)
        result.append(dataclasses.replace(clause, id=clause_id))
    return result


def _same_text(new: list[Clause], old: list[Clause]) -> dict[int, str]:
    """New clause index → old id, for clauses whose section and text are unchanged."""
    old_by_text: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for clause in old:
        old_by_text.setdefault((clause.section, clause.sha256), []).append(clause.id)
    kept: dict[int, str] = {}
    for index, clause in enumerate(new):
        ids = old_by_text.get((clause.section, clause.sha256))
        if ids:
            kept[index] = ids.pop(0)
    return kept


def _edited(new: list[Clause], old: list[Clause], kept: dict[int, str]) -> dict[int, str]:
    """Pair the remaining new clauses with the most similar remaining old clause of the same section."""
    used = set(kept.values())
    pairs = []
    for index, clause in enumerate(new):
        if index in kept:
            continue
        for previous in old:
            if previous.id not in used and previous.section == clause.section:
                ratio = difflib.SequenceMatcher(None, previous.text, clause.text).ratio()
                if ratio >= _EDIT_SIMILARITY:
                    pairs.append((ratio, index, previous.id))
    matched: dict[int, str] = {}
    for _, index, old_id in sorted(pairs, reverse=True):
        if index not in matched and old_id not in used:
            matched[index] = old_id
            used.add(old_id)
    return matched


def _free_id(natural: str, taken: set[str], known: set[str]) -> str:
    """The clause's natural id when free, else a fresh variant that was never used."""
    if natural not in taken and natural not in known:
        return natural
    suffix = 2
    while f"{natural}-v{suffix}" in taken or f"{natural}-v{suffix}" in known:
        suffix += 1
    return f"{natural}-v{suffix}"


@dataclass
class Version:
    """One version of a document: which clause texts it had, when it was ingested, when effective."""

    doc_id: str
    path: str
    title: str
    version: int
    sha256: str
    ingested_at: str
    effective: str | None = None
    clauses: list[tuple[str, str]] = field(default_factory=list)  # (clause id, clause sha256)


class VersionLog:
    """`versions.jsonl` in the data dir: append-only, one line per new document version."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[Version]:
        """Every recorded version, oldest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return [Version(**{**row, "clauses": [tuple(pair) for pair in row["clauses"]]}) for row in rows]

    def of(self, doc_id: str) -> list[Version]:
        """The versions of one document, oldest first."""
        return [v for v in self.all() if v.doc_id == doc_id]

    def append(self, versions: list[Version]) -> None:
        """Record new versions durably before the index that contains them goes live."""
        if not versions:
            return
        append_lines(self.path, [json.dumps(dataclasses.asdict(v), ensure_ascii=False) for v in versions])


def append_lines(path: Path, lines: list[str], sync: bool = True) -> None:
    """Append whole lines (fsynced unless told not to), or nothing: a write that fails part-way is cut back.

    A torn last line would make every later read of the log fail and every later append land on it.
    """
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if sync:
                os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)  # shrinking needs no space
            raise
    finally:
        os.close(fd)


def new_versions(log: VersionLog, current: list[Version]) -> list[Version]:
    """Which of the current documents are new versions (sha256 differs from the last recorded), numbered."""
    last: dict[str, Version] = {}
    for version in log.all():
        last[version.doc_id] = version
    fresh = []
    for candidate in current:
        previous = last.get(candidate.doc_id)
        if previous is not None and previous.sha256 == candidate.sha256:
            continue
        fresh.append(dataclasses.replace(candidate, version=previous.version + 1 if previous else 1))
    return fresh
