"""Ingest: discover documents, parse the new and changed ones, embed what is new, swap the index."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.aliases import FILE_NAME as ALIAS_FILE
from ingest.aliases import read_aliases
from ingest.clean import clean, normalize_space
from ingest.embed import Embedder
from ingest.errors import DutyDeskError, LoadError
from ingest.hanzi import simplified
from ingest.ids import document_id
from ingest.loaders import SUPPORTED_SUFFIXES, load_text
from ingest.model import Clause, ParsedDocument
from ingest.parse import parse
from ingest.store import FORMAT_VERSION, DocumentEntry, IndexStore, Manifest, embed_key, utc_now
from ingest.versions import reconcile_ids

log = logging.getLogger(__name__)

_EFFECTIVE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:起)?\s*(?:施行|实施|执行|生效|发布|印发)")
_ISO_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_TITLE_LINE_MAX = 40
MAX_DOCUMENT_BYTES = 10_000_000  # a rule document is kilobytes; tens of megabytes is a mistake or an attack

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]


@dataclass
class IngestReport:
    """What an ingest did, per document, and how the index looks afterwards."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    reparsed: list[str] = field(default_factory=list)  # unchanged files read again by changed parsing rules
    clauses: int = 0
    embedded: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """True when the index had to be rewritten."""
        return bool(self.added or self.updated or self.removed or self.reparsed)


@dataclass
class _Source:
    path: Path
    key: str  # path relative to the knowledge dir (or as given, outside it)
    sha256: str


def discover(roots: list[Path], knowledge_dir: Path, max_bytes: int = MAX_DOCUMENT_BYTES
             ) -> tuple[list[_Source], list[tuple[str, str]]]:
    """Supported files under the roots, once each, with keys and hashes; unusable files are reported."""
    sources: list[_Source] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for root in roots:
        if not root.exists():
            problems.append((str(root), "路径不存在（或链接失效）"))
            continue
        for path in _candidates(root):
            key = _key(path, knowledge_dir)
            if key in seen:  # overlapping roots, or the same file named twice
                continue
            seen.add(key)
            problem = _unusable(path, key, max_bytes)
            if problem is not None:
                problems.append((key.encode("utf-8", "replace").decode("utf-8"), problem))
                continue
            sources.append(_Source(path, key, hashlib.sha256(path.read_bytes()).hexdigest()))
    return sources, problems


def _candidates(root: Path) -> list[Path]:
    """The root itself, or the visible files with a supported suffix below it (symlinks included)."""
    if not root.is_dir():
        return [root]
    found = (p for p in root.rglob("*") if p.is_file() or p.is_symlink())
    return sorted(p for p in found if not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
                  and not (p.name == ALIAS_FILE and p.parent == root))  # the alias file is vocabulary, not rules


def _unusable(path: Path, key: str, max_bytes: int) -> str | None:
    """Why a file can't be ingested (before reading it), or None."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "文件名不是有效的 UTF-8（可能来自 GBK 压缩包），请重命名后再导入"
    if path.is_symlink() and not path.exists():
        return "链接失效或形成循环"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return f"文件过大（{size / 1e6:.1f} MB），上限 {max_bytes / 1e6:.0f} MB（DUTYDESK_MAX_DOCUMENT_BYTES）"
        path.read_bytes()[:0]
    except OSError as exc:
        return f"无法读取：{exc.strerror or exc}"
    return None


def _key(path: Path, knowledge_dir: Path) -> str:
    """The path relative to the knowledge dir as found (a symlink keeps its own name), else as given."""
    absolute, base = os.path.normpath(path.absolute()), os.path.normpath(knowledge_dir.absolute())
    if absolute == base or absolute.startswith(base + os.sep):
        return Path(os.path.relpath(absolute, base)).as_posix()
    return path.as_posix()


def _in_scope(key: str, roots: list[Path], knowledge_dir: Path) -> bool:
    """Whether a known document lies under one of the roots (so its absence means it was removed)."""
    for root in roots:
        root_key = _key(root, knowledge_dir)
        if root_key in (".", "") or key == root_key or key.startswith(root_key.rstrip("/") + "/"):
            return True
    return False


def parse_file(path: Path, key: str, doc_id: str, sha256: str) -> ParsedDocument:
    """Load, clean and parse one file into a document with clauses."""
    text = load_text(path)
    cleaned = clean(text)
    title = _title(cleaned.title, cleaned.lines, path.stem)
    clauses = parse(cleaned, key, title, doc_id)
    if not clauses:
        raise LoadError("未能从文件中解析出任何条款（文件可能只有标题或不含正文）")
    effective = _effective(cleaned.meta.get("effective"), text)
    return ParsedDocument(id=doc_id, title=title, path=key, sha256=sha256, effective=effective, clauses=clauses)


def _title(front_matter: str | None, lines: list[tuple[int, str]], stem: str) -> str:
    """Front matter title, else the first markdown heading, else a title-like first line, else the file name."""
    if front_matter:
        return front_matter
    first = next((normalize_space(t) for _, t in lines if normalize_space(t)), "")
    if first.startswith("#"):
        return first.lstrip("#").strip()
    plain = len(first) <= _TITLE_LINE_MAX and not re.search(r"[。；;：:，,|]", first)
    return first if plain and first else stem


def _effective(declared: str | None, text: str) -> str | None:
    """The date a document takes effect: front matter `effective:`, else a 施行/发布 date in the text."""
    match = _ISO_DATE.match(declared.strip()) if declared else _EFFECTIVE.search(simplified(text))
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def run_ingest(roots: list[Path], knowledge_dir: Path, store: IndexStore, embedder: Embedder,
               progress: Progress | None = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> IngestReport:
    """Bring the index in line with the documents under roots; see the module docstring."""
    started = time.perf_counter()
    report = IngestReport()
    with store.writer_lock():
        previous = store.read_manifest()
        if previous is not None and (previous.embedder != embedder.name or previous.format != FORMAT_VERSION):
            log.warning("index built by %s (format %s): rebuilding with %s", previous.embedder,
                        previous.format, embedder.name)
            previous_usable = None
        else:
            previous_usable = previous
        old_clauses = _clauses_by_doc(store, previous_usable)
        documents, clauses = _collect(roots, knowledge_dir, previous, previous_usable, old_clauses, report, progress,
                                      max_bytes)
        report.clauses = len(clauses)
        aliases = read_aliases(knowledge_dir)
        renamed = previous_usable is not None and previous_usable.aliases != aliases
        if report.changed or renamed or previous_usable is None and clauses:
            # A new format re-parses, but a text the same model embedded before keeps its vector.
            same_model = previous if previous is not None and previous.embedder == embedder.name else None
            vectors = _vectors(store, same_model, clauses, embedder, report, progress)
            store.write_generation(clauses, vectors, documents, embedder.name, aliases)
        elif previous_usable is not None:  # what a crash or a full disk kept from the logs after a swap
            store.record_logs(clauses, documents)
    report.seconds = time.perf_counter() - started
    return report


def _clauses_by_doc(store: IndexStore, manifest: Manifest | None) -> dict[str, list[Clause]]:
    if manifest is None:
        return {}
    grouped: dict[str, list[Clause]] = {}
    for clause in store.load_clauses(manifest):
        grouped.setdefault(clause.source.path, []).append(clause)
    return grouped


def _collect(roots: list[Path], knowledge_dir: Path, previous: Manifest | None, usable: Manifest | None,
             old_clauses: dict[str, list[Clause]], report: IngestReport,
             progress: Progress | None, max_bytes: int) -> tuple[dict[str, DocumentEntry], list[Clause]]:
    """Decide each document's fate and gather the clauses of the next generation."""
    sources, problems = discover(roots, knowledge_dir, max_bytes)
    report.failed.extend(problems)
    known = usable.documents if usable else {}
    documents: dict[str, DocumentEntry] = {}
    clauses: list[Clause] = []
    ids = _document_ids(sources, previous)
    items = progress(sources, "解析", len(sources)) if progress else sources
    for source in items:
        entry, doc_clauses = _ingest_one(source, ids[source.key], known.get(source.key), old_clauses, report)
        if entry is not None:
            documents[source.key] = entry
            clauses.extend(doc_clauses)
    seen = {s.key for s in sources} | {key for key, _ in report.failed}
    for key, entry in (previous.documents if previous else {}).items():
        if key in seen or key in documents:
            continue
        if _in_scope(key, roots, knowledge_dir):
            report.removed.append(key)
        elif usable is not None:  # outside this ingest's roots: keep as it is
            documents[key] = entry
            clauses.extend(old_clauses.get(key, []))
    return documents, clauses


def _ingest_one(source: _Source, doc_id: str, known: DocumentEntry | None, old_clauses: dict[str, list[Clause]],
                report: IngestReport) -> tuple[DocumentEntry | None, list[Clause]]:
    """Parse one document if it is new or changed; keep its previous version if it fails."""
    same_file = known is not None and known.sha256 == source.sha256 and source.key in old_clauses
    if same_file and known is not None and known.parser == parser_fingerprint():
        report.unchanged.append(source.key)
        return known, old_clauses[source.key]
    try:
        parsed = parse_file(source.path, source.key, doc_id, source.sha256)
    except DutyDeskError as exc:
        report.failed.append((source.key, exc.message))
    except Exception as exc:  # a parser bug on one odd file must not sink the whole ingest
        log.exception("unexpected failure parsing %s", source.key)
        report.failed.append((source.key, f"解析失败：{type(exc).__name__}: {exc}"))
    else:
        if known is not None and source.key in old_clauses:
            parsed.clauses = reconcile_ids(parsed.clauses, old_clauses[source.key])
        (report.reparsed if same_file else report.updated if known is not None else report.added).append(source.key)
        entry = DocumentEntry(id=parsed.id, path=parsed.path, title=parsed.title, sha256=parsed.sha256,
                              clause_ids=[c.id for c in parsed.clauses], ingested_at=utc_now(),
                              effective=parsed.effective, parser=parser_fingerprint())
        return entry, parsed.clauses
    if known is not None and source.key in old_clauses:  # keep the last good version: lose nothing
        return known, old_clauses[source.key]
    return None, []


@lru_cache(maxsize=1)
def parser_fingerprint() -> str:
    """A digest of the code that turns files into clauses (this package's sources).

    An unchanged file is read again when these rules change, so an upgrade's better reading of headings,
    owners and signatures reaches documents ingested before it (their vectors are reused where the
    embedded text is unchanged).
    """
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _document_ids(sources: list[_Source], previous: Manifest | None) -> dict[str, str]:
    """Readable document ids from file names, kept from earlier ingests and unique across the index.

    A path hash tells apart files whose names share initials (or two files of the same name in
    different folders).
    """
    known = {key: entry.id for key, entry in (previous.documents if previous else {}).items()}
    current = {s.key for s in sources}
    taken = {doc_id for key, doc_id in known.items() if key not in current}
    ids: dict[str, str] = {}
    for source in sorted(sources, key=lambda s: s.key):
        doc_id = known.get(source.key) or document_id(Path(source.key).stem)
        if doc_id in taken:
            doc_id = f"{document_id(Path(source.key).stem)}-{hashlib.sha1(source.key.encode()).hexdigest()[:4]}"
        taken.add(doc_id)
        ids[source.key] = doc_id
    return ids


def _vectors(store: IndexStore, previous: Manifest | None, clauses: list[Clause], embedder: Embedder,
             report: IngestReport, progress: Progress | None) -> np.ndarray:
    """One vector per clause: reused from the current index when the embedded text is unchanged."""
    keys = [embed_key(c) for c in clauses]
    cache = store.cached_vectors(previous, set(keys))
    texts = {embed_key(c): c.embed_text() for c in clauses}
    # Longest first: the batches a chunk spreads over the cores then cost about the same, and the
    # short ones come last, so no core waits long for the other at a chunk's end (1.86 → 1.93 cores).
    missing = sorted({k for k in keys if k not in cache}, key=lambda k: (-len(texts[k]), k))
    step = 256  # large enough to keep every core busy, small enough for a live progress bar
    chunks = range(0, len(missing), step)
    for start in progress(chunks, "嵌入", len(chunks)) if progress else chunks:
        part = missing[start:start + step]
        for key, vector in zip(part, embedder.embed_documents([texts[k] for k in part]), strict=True):
            cache[key] = vector
    report.embedded = len(missing)
    return np.vstack([cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)
