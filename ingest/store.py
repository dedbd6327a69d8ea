"""The index on disk: chromadb vectors + bm25s lexical index + clauses + manifest, per generation.

Every ingest that changes anything writes a complete new generation (a chroma collection and a
directory) and only then swaps `manifest.json` atomically. Readers load whatever the manifest
names, so an interrupted ingest leaves the previous index readable and whole, and a reader never
sees a half-written one.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ingest.errors import BackendUnavailableError, DiskFullError, DutyDeskError, IndexMismatchError, IndexMissingError
from ingest.lexical import LexicalIndex
from ingest.model import Clause, sha256_text
from ingest.versions import Version, VersionLog, append_lines, new_versions

log = logging.getLogger(__name__)

# Bump when the clause format or the parser's output changes: forces a re-parse (vectors of unchanged
# texts are reused). 4: traditional characters are matched as simplified (BM25 tokens, 崗位職責, 第X條).
# 6: a clause knows whether its label is followed by a space, so quotes keep the source's spacing.
# 7: a topic's requirements or rules ("学校卫生工作要求") no longer name an owner; a lead-in that gives a
# body a list of duties ("各级卫生防疫站，对学校卫生工作承担下列任务：") owns its items. 8: an article's
# later paragraphs (款) sit under the article. 9: "①落实学校发展策略：" and the paragraph under it are one item.
# 10: a line opening with a key of up to ten characters and a colon ("ISO部门品质目标：") starts a new clause.
# 11: a web page's header ("XX中学 | 事务处 …") is the title of its page, owner the unit it names.
# 12: a title that is only a unit's name ("苏外纪检部") owns the document's clauses.
# 13: a numbered heading "（五）社团部——motto" is that unit's section.
# 14: a numbered "unit——motto" line heads a section even as a sentence; a "X：" lead-in opens inside the
#     open section instead of closing it.
# 15: a paragraph handing its section's items to a unit ("…办公室计划做好以下几方面的工作：") makes that unit
#     the owner of a section no heading gives one.
# 16: a bullet heads only a paragraph, and a short name between two runs of bullets heads the second
#     ("- 可容纳2000人" / "鹤尧讲堂" / "- 可容纳300人"): such items were read as headings and lost.
FORMAT_VERSION = 16
_COLLECTION_PREFIX = "dutydesk_g"
_MANIFEST = "manifest.json"
_HISTORY = "history.jsonl"
_VERSIONS = "versions.jsonl"
CHROMA_TIMEOUT_S = 5.0
_LOW_SPACE = 4 * 1024 * 1024  # bytes free below which a failed store write is put down to a full disk


def utc_now() -> str:
    """Current time as an ISO-8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class DocumentEntry:
    """What the manifest remembers of one ingested document."""

    id: str
    path: str
    title: str
    sha256: str
    clause_ids: list[str]
    ingested_at: str
    effective: str | None = None
    parser: str = ""  # the parsing rules that read it (ingest.pipeline.parser_fingerprint); "" before they were kept


@dataclass
class Manifest:
    """The pointer to the current generation and the facts needed to ingest incrementally."""

    format: int
    generation: int
    collection: str
    embedder: str
    created_at: str
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)  # knowledge/aliases.txt as last ingested

    def to_json(self) -> str:
        """Serialise (documents keyed by path)."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest written by to_json."""
        data = json.loads(text)
        data["documents"] = {p: DocumentEntry(**d) for p, d in data["documents"].items()}
        return cls(**data)


def embed_key(clause: Clause) -> str:
    """Cache key of a clause's vector: the hash of exactly what was embedded."""
    return sha256_text(clause.embed_text())


class IndexStore:
    """Reads and writes generations in a data dir (chroma embedded on disk, or a Chroma server)."""

    def __init__(self, data_dir: Path, chroma_url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.chroma_url = chroma_url
        self._client: Any = None

    # -- chroma ---------------------------------------------------------------------------
    def client(self) -> Any:
        """The chroma client, created on first use (embedded PersistentClient unless a URL is set)."""
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False)
            try:
                if self.chroma_url:
                    url = urlparse(self.chroma_url)
                    self._client = chromadb.HttpClient(
                        host=url.hostname or "127.0.0.1", port=url.port or 8000,
                        ssl=url.scheme == "https", settings=settings)
                    _set_timeout(self._client, CHROMA_TIMEOUT_S)
                else:
                    self.data_dir.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(self.data_dir / "chroma"), settings=settings)
            except Exception as exc:
                raise BackendUnavailableError(f"向量库不可用：{exc}") from exc
        return self._client

    def collection(self, name: str) -> Any:
        """An existing collection by name."""
        try:
            return self.client().get_collection(name, embedding_function=None)
        except BackendUnavailableError:
            raise
        except Exception as exc:
            if _is_connection_error(exc):  # the server is down: the index may be fine
                raise BackendUnavailableError(f"向量库不可用：{type(exc).__name__}") from exc
            raise IndexMissingError(f"索引集合 {name} 不存在，请重新运行 dutydesk ingest") from exc

    # -- manifest and generations ---------------------------------------------------------
    def read_manifest(self) -> Manifest | None:
        """The current manifest, or None when nothing was ever ingested."""
        path = self.data_dir / _MANIFEST
        if not path.exists():
            return None
        return Manifest.from_json(path.read_text(encoding="utf-8"))

    def require_manifest(self, embedder: str) -> Manifest:
        """The current manifest, checked against the configured embedder and format."""
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexMissingError("索引为空：请先运行 dutydesk ingest")
        if manifest.embedder != embedder or manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(
                f"索引由 {manifest.embedder}（格式 {manifest.format}）构建，当前设置为 {embedder}"
                f"（格式 {FORMAT_VERSION}）：请运行 dutydesk ingest 重建索引")
        return manifest

    def generation_dir(self, generation: int) -> Path:
        """Directory holding one generation's clauses and lexical index."""
        return self.data_dir / "generations" / str(generation)

    def load_clauses(self, manifest: Manifest) -> list[Clause]:
        """All clauses of a generation in document order."""
        path = self.generation_dir(manifest.generation) / "clauses.jsonl"
        if not path.exists():
            raise IndexMissingError("索引文件缺失：请重新运行 dutydesk ingest")
        with path.open(encoding="utf-8") as handle:
            return [Clause.from_dict(json.loads(line)) for line in handle if line.strip()]

    def load_lexical(self, manifest: Manifest) -> LexicalIndex:
        """The bm25s index of a generation (row i = clause i of load_clauses)."""
        return LexicalIndex.load(self.generation_dir(manifest.generation) / "lexical")

    def cached_vectors(self, manifest: Manifest | None, keys: set[str]) -> dict[str, np.ndarray]:
        """Vectors already computed by the current generation, by embed_key, for reuse."""
        if manifest is None or not keys:
            return {}
        found: dict[str, np.ndarray] = {}
        collection = self.collection(manifest.collection)
        result = collection.get(where={"embed_key": {"$in": sorted(keys)}}, include=["embeddings", "metadatas"])
        for vector, meta in zip(result["embeddings"], result["metadatas"], strict=True):
            found[str(meta["embed_key"])] = np.asarray(vector, dtype=np.float32)
        return found

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One ingest at a time per data dir (a second one waits)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "ingest.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write_generation(self, clauses: list[Clause], vectors: np.ndarray,
                         documents: dict[str, DocumentEntry], embedder: str,
                         aliases: dict[str, list[str]] | None = None) -> Manifest:
        """Write a complete new generation, then atomically make it current."""
        previous = self.read_manifest()
        generation = self._next_generation(previous)
        directory = self.generation_dir(generation)
        name = f"{_COLLECTION_PREFIX}{generation}"
        manifest = Manifest(format=FORMAT_VERSION, generation=generation, collection=name,
                            embedder=embedder, created_at=utc_now(), documents=documents, aliases=aliases or {})
        try:
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            _write_jsonl(directory / "clauses.jsonl", [c.to_dict() for c in clauses])
            LexicalIndex.build([c.embed_text() for c in clauses]).save(directory / "lexical")
            self._fill_collection(name, clauses, vectors)
            _atomic_write(self.data_dir / _MANIFEST, manifest.to_json())
        except Exception as exc:
            # Only the embedded store keeps its files in the data dir, so only its space can be judged here.
            if not _disk_full(exc, self.data_dir if self.chroma_url is None else None):
                raise
            self._discard(generation)  # give the space back: the previous generation stays current
            raise DiskFullError(f"磁盘空间不足，新索引未能写完（{_reason(exc)}）：原索引保持不变、继续使用；"
                                f"请清理 {self.data_dir} 所在磁盘后重新运行 dutydesk ingest") from exc
        # After the swap: a failed ingest must not log versions that never went live. A crash
        # between the two is healed by the next ingest, which compares against these logs.
        self.record_logs(clauses, documents)
        self._drop_old(keep={generation, previous.generation if previous else generation})
        return manifest

    def record_logs(self, clauses: list[Clause], documents: dict[str, DocumentEntry]) -> None:
        """Log the current generation's clause and document versions that are not logged yet."""
        try:
            self._record_history(clauses)
            self._record_versions(documents, clauses)
        except OSError as exc:
            if not _disk_full(exc, self.data_dir):
                raise
            raise DiskFullError(f"磁盘空间不足：新索引已启用，但条款历史未能记全（{_reason(exc)}）；"
                                f"请清理 {self.data_dir} 所在磁盘后重新运行 dutydesk ingest 补记") from exc

    def _discard(self, generation: int) -> None:
        """Remove what a failed ingest wrote of a generation that never went live (best effort)."""
        shutil.rmtree(self.generation_dir(generation), ignore_errors=True)
        try:
            self.client().delete_collection(f"{_COLLECTION_PREFIX}{generation}")
        except Exception:  # never created, or the store refuses now: the next ingest replaces it
            log.debug("could not drop collection of failed generation %s", generation, exc_info=True)

    def load_history(self) -> dict[str, list[Clause]]:
        """Every version of every clause ever indexed, by id (oldest first), so old citations resolve."""
        path = self.data_dir / _HISTORY
        history: dict[str, list[Clause]] = {}
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        clause = Clause.from_dict(json.loads(line))
                        history.setdefault(clause.id, []).append(clause)
        return history

    def _record_history(self, clauses: list[Clause]) -> None:
        """Append clause versions not seen before (append-only: nothing is ever rewritten)."""
        seen = {(c.id, c.sha256) for versions in self.load_history().values() for c in versions}
        fresh = [json.dumps(c.to_dict(), ensure_ascii=False) for c in clauses if (c.id, c.sha256) not in seen]
        if fresh:
            append_lines(self.data_dir / _HISTORY, fresh)

    def versions(self) -> VersionLog:
        """The append-only log of document versions."""
        return VersionLog(self.data_dir / _VERSIONS)

    def _record_versions(self, documents: dict[str, DocumentEntry], clauses: list[Clause]) -> None:
        """Log a new version for every document whose content changed since its last version."""
        by_path: dict[str, list[Clause]] = {}
        for clause in clauses:
            by_path.setdefault(clause.source.path, []).append(clause)
        current = [Version(d.id, d.path, d.title, 0, d.sha256, d.ingested_at, d.effective,
                           [(c.id, c.sha256) for c in by_path.get(path, [])]) for path, d in documents.items()]
        log = self.versions()
        log.append(new_versions(log, current))

    def _next_generation(self, previous: Manifest | None) -> int:
        root = self.data_dir / "generations"
        existing = [int(p.name) for p in root.iterdir() if p.name.isdigit()] if root.exists() else []
        return max([previous.generation if previous else 0, *existing]) + 1

    def _fill_collection(self, name: str, clauses: list[Clause], vectors: np.ndarray) -> None:
        client = self.client()
        with contextlib.suppress(Exception):
            client.delete_collection(name)  # an orphan from an interrupted ingest
        collection = client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
        step = min(int(client.get_max_batch_size()), 4096)
        for start in range(0, len(clauses), step):
            batch = clauses[start:start + step]
            collection.add(
                ids=[c.id for c in batch],
                embeddings=vectors[start:start + step],
                metadatas=[{"doc_id": c.doc_id, "owner": c.owner or "", "embed_key": embed_key(c)} for c in batch],
            )

    def _drop_old(self, keep: set[int]) -> None:
        """Delete generations other than `keep` (the previous one stays for readers mid-request)."""
        client = self.client()
        for collection in client.list_collections():
            name = getattr(collection, "name", collection)
            suffix = name[len(_COLLECTION_PREFIX):] if name.startswith(_COLLECTION_PREFIX) else ""
            if suffix.isdigit() and int(suffix) not in keep:
                client.delete_collection(name)
        root = self.data_dir / "generations"
        for directory in root.iterdir() if root.exists() else []:
            if directory.name.isdigit() and int(directory.name) not in keep:
                shutil.rmtree(directory, ignore_errors=True)


def _disk_full(exc: BaseException, directory: Path | None) -> bool:
    """Whether a write failed for want of space, however the writer says so.

    Python says ENOSPC; numpy (the bm25s arrays) reports a short write without an errno; chroma
    wraps SQLite's SQLITE_FULL in its own error type, or reports only a failed compaction, so a
    store error with next to no space left in `directory` (when given) counts too.
    """
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT) or (" requested and " in str(exc) and " written" in str(exc))
    if isinstance(exc, DutyDeskError) or _is_connection_error(exc):
        return False
    text = str(exc)
    if "disk is full" in text or "No space left" in text:
        return True
    try:
        return directory is not None and shutil.disk_usage(directory).free < _LOW_SPACE
    except OSError:
        return False


def _reason(exc: BaseException) -> str:
    """The cause in a few words (an OSError's strerror, not its path)."""
    return os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)


def _is_connection_error(exc: BaseException) -> bool:
    """Whether an exception (or its cause) says the server could not be reached."""
    import httpx

    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, (httpx.TransportError, ConnectionError, TimeoutError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _set_timeout(client: Any, seconds: float) -> None:
    """chromadb's HTTP client waits forever on a hung server; give every request a deadline."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:
        session.timeout = httpx.Timeout(seconds)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temp file, fsync and rename, so readers see the old or the new file, whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
