"""Documents and their versions, and the clause-level difference between two versions."""
from __future__ import annotations

from dataclasses import dataclass, field

from ingest.errors import NotFoundError
from ingest.model import Clause
from ingest.store import Manifest
from ingest.versions import Version


# GET /documents serves this class as it stands (its response model): a field changed here changes the API.
@dataclass
class DocumentInfo:
    """A document as GET /documents lists it."""

    id: str
    title: str
    path: str
    sha256: str
    versions: int
    effective: str | None


@dataclass
class Diff:
    """What changed between two versions of a document, clause by clause."""

    doc_id: str
    from_version: int
    to_version: int
    added: list[Clause] = field(default_factory=list)
    removed: list[Clause] = field(default_factory=list)
    changed: list[tuple[Clause, Clause]] = field(default_factory=list)  # (before, after)


def list_documents(manifest: Manifest, versions: list[Version]) -> list[DocumentInfo]:
    """Current documents with how many versions each has had."""
    counts: dict[str, int] = {}
    for version in versions:
        counts[version.doc_id] = max(counts.get(version.doc_id, 0), version.version)
    return [DocumentInfo(d.id, d.title, d.path, d.sha256, counts.get(d.id, 1), d.effective)
            for d in manifest.documents.values()]


def pick(versions: list[Version], doc_id: str, number: int) -> Version:
    """One version of a document, or NotFoundError."""
    for version in versions:
        if version.doc_id == doc_id and version.version == number:
            return version
    raise NotFoundError(f"文档 {doc_id} 没有第 {number} 版")


def diff(before: Version, after: Version, history: dict[str, list[Clause]]) -> Diff:
    """Added, removed and changed clauses from one version to another (texts from the clause history)."""
    def text_of(clause_id: str, sha: str) -> Clause:
        return next(c for c in history.get(clause_id, []) if c.sha256 == sha)

    old, new = dict(before.clauses), dict(after.clauses)
    result = Diff(after.doc_id, before.version, after.version)
    result.added = [text_of(i, sha) for i, sha in after.clauses if i not in old]
    result.removed = [text_of(i, sha) for i, sha in before.clauses if i not in new]
    result.changed = [(text_of(i, old[i]), text_of(i, sha)) for i, sha in after.clauses
                      if i in old and old[i] != sha]
    return result
