"""A loaded, immutable snapshot of one index generation: clauses, owners, lexical and dense search."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.aliases import alias_pairs, parse_aliases
from ingest.errors import BackendUnavailableError, NotFoundError
from ingest.hanzi import simplified
from ingest.lexical import LexicalIndex
from ingest.model import Clause
from ingest.numbering import article_numbers
from ingest.store import IndexStore, Manifest

# With the embedded chromadb and up to this many clauses (30 MB of vectors), the snapshot keeps every
# vector in memory and searches exactly: a matrix product costs ~0.03 ms where a chroma query costs
# ~1.7 ms of CPU, most of a question's work besides embedding it. Larger indexes use chroma's HNSW
# index; so does a Chroma server, which stays the source of truth (down means a clear 503).
EXACT_SEARCH_MAX = 20_000
TERM_MEMO_MAX = 50_000


@dataclass
class Owner:
    """A department or post: its name, how to reach it, and how many clauses it has."""

    name: str
    contact: str | None
    clause_count: int


@dataclass
class Knowledge:
    """Everything the read path needs from one generation; replaced whole when the index changes."""

    manifest: Manifest
    clauses: list[Clause]
    lexical: LexicalIndex
    collection: Any
    in_memory_vectors: bool = False
    by_id: dict[str, Clause] = field(init=False)
    owners: dict[str, Owner] = field(init=False)
    corpus_text: str = field(init=False)
    compact: dict[str, tuple[str, str]] = field(init=False)
    articles: dict[int, list[str]] = field(init=False)
    aliases: dict[str, list[str]] = field(init=False)
    alias_pairs: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.clauses}
        # The school's own alias file wins over the built-in vocabulary.
        self.aliases = {**default_vocabulary(), **(self.manifest.aliases if self.manifest else {})}
        self.alias_pairs = alias_pairs(self.aliases)
        self.owners = _owners(self.clauses)
        # Clause context without layout spaces ("校    训" is 校训), for term matching; and all of it
        # in one string, to ask "does the knowledge base mention this at all?"
        self.compact = {c.id: compact(c) for c in self.clauses}
        self.corpus_text = "\n".join(context + text for context, text in self.compact.values())
        self._row = {c.id: i for i, c in enumerate(self.clauses)}
        # "第三条" in a question is looked up by number: the label is not part of the indexed text.
        self.articles = {}
        for clause in self.clauses:
            numbers = article_numbers(clause.label or "")
            if numbers:
                self.articles.setdefault(numbers[0], []).append(clause.id)
        # Per-owner and per-section lists, so a duty list does not scan every clause of a large index.
        self._by_owner: dict[str, list[Clause]] = {}
        self._by_section: dict[tuple[str, tuple[str, ...]], list[Clause]] = {}
        for clause in self.clauses:
            if clause.owner:
                self._by_owner.setdefault(clause.owner, []).append(clause)
            self._by_section.setdefault((clause.doc_id, clause.section), []).append(clause)
        self._term_counts: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._matrix_lock = threading.Lock()

    @classmethod
    def load(cls, store: IndexStore, embedder_name: str) -> Knowledge:
        """Load the current generation named by the manifest."""
        manifest = store.require_manifest(embedder_name)
        return cls(manifest=manifest, clauses=store.load_clauses(manifest), lexical=store.load_lexical(manifest),
                   collection=store.collection(manifest.collection), in_memory_vectors=store.chroma_url is None)

    def clause(self, clause_id: str) -> Clause:
        """A clause by id, or NotFoundError."""
        try:
            return self.by_id[clause_id]
        except KeyError:
            raise NotFoundError(f"没有编号为 {clause_id} 的条款") from None

    def row(self, clause_id: str) -> int:
        """Position of a clause in document order (its row in the lexical index)."""
        return self._row[clause_id]

    def neighbours(self, clause: Clause) -> list[Clause]:
        """The clauses just before and after this one in its section."""
        row = self._row[clause.id]
        around = [self.clauses[i] for i in (row - 1, row + 1) if 0 <= i < len(self.clauses)]
        return [c for c in around if c.doc_id == clause.doc_id and c.section == clause.section]

    def section(self, clause: Clause) -> list[Clause]:
        """All clauses sharing this clause's document and section, in document order."""
        return list(self._by_section.get((clause.doc_id, clause.section), []))

    def owner_clauses(self, name: str) -> list[Clause]:
        """All clauses of an owner, in document order."""
        return list(self._by_owner.get(name, []))

    def term_count(self, term: str) -> int:
        """How often a term occurs in all clause context (memoised: scanning is linear in the index)."""
        count = self._term_counts.get(term)
        if count is None:
            if len(self._term_counts) >= TERM_MEMO_MAX:  # questions bring new terms forever: stay bounded
                self._term_counts.clear()
            count = self._term_counts[term] = self.corpus_text.count(term)
        return count

    def dense(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k nearest clauses by cosine similarity (the vectors are L2-normalised)."""
        k = min(k, len(self.clauses))
        if k == 0:
            return []
        try:
            if self.in_memory_vectors and len(self.clauses) <= EXACT_SEARCH_MAX:
                return self._exact(vector, k)
            result = self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        except BackendUnavailableError:
            raise
        except Exception as exc:
            raise BackendUnavailableError(f"向量检索失败：{exc}") from exc
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def _exact(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Exact nearest neighbours over the in-memory vectors (loaded from chroma on first use)."""
        similarities = self._vectors() @ vector.astype(np.float32)
        top = np.argpartition(-similarities, k - 1)[:k] if k < len(similarities) else np.arange(len(similarities))
        top = top[np.argsort(-similarities[top], kind="stable")]
        return [(self.clauses[i].id, float(similarities[i])) for i in top]

    def _vectors(self) -> np.ndarray:
        """Every clause's vector, one row per clause in document order."""
        with self._matrix_lock:
            if self._matrix is None:
                result = self.collection.get(include=["embeddings"])
                rows = dict(zip(result["ids"], result["embeddings"], strict=True))
                missing = [c.id for c in self.clauses if c.id not in rows]
                if missing:
                    raise BackendUnavailableError(f"向量库缺少 {len(missing)} 条条款的向量：请重新运行 dutydesk ingest")
                self._matrix = np.asarray([rows[c.id] for c in self.clauses], dtype=np.float32)
            return self._matrix

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 score of every clause (index i = self.clauses[i])."""
        return self.lexical.scores(query)


@lru_cache(maxsize=1)
def default_vocabulary() -> dict[str, list[str]]:
    """General school usage shipped with DutyDesk (bot/answering/vocabulary.txt)."""
    path = Path(__file__).parent / "answering" / "vocabulary.txt"
    return parse_aliases(path.read_text(encoding="utf-8"), str(path))


def section_heading(clause: Clause) -> str:
    """The heading the clause is an item of (the deepest one), without whitespace, as matched."""
    return simplified("".join(clause.section[-1].split())) if clause.section else ""


def compact(clause: Clause) -> tuple[str, str]:
    """(heading context + owner, text), both without whitespace, as matched (simplified characters)."""
    context = clause.document + "".join(clause.section) + (clause.owner or "")
    return simplified("".join(context.split())), simplified("".join(clause.text.split()))


def _owners(clauses: list[Clause]) -> dict[str, Owner]:
    counts = Counter(c.owner for c in clauses if c.owner)
    contacts: dict[str, str] = {}
    for clause in clauses:
        if clause.owner and clause.contact and clause.owner not in contacts:
            contacts[clause.owner] = clause.contact
    return {name: Owner(name, contacts.get(name), count) for name, count in counts.items()}
