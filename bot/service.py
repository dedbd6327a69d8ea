"""The core every front end calls: one object built from settings (store, embedder, retriever, answerer)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answer import compose
from bot.audit import AuditLog
from bot.cache import LRUCache
from bot.checking import check_answer, check_quote
from bot.conversation import Conversations, rewrite
from bot.documents import Diff, DocumentInfo, diff, list_documents, pick
from bot.gaps import Gap, GapFinder
from bot.knowledge import Knowledge, Owner, default_vocabulary
from bot.questions import QuestionLog
from bot.results import AskResult, ClauseDetail
from bot.retrieve import Hit, Retrieval, Retriever, resolve_owner
from bot.support import assess, link_owner
from bot.terms import normalize_question
from bot.textcheck import check_text
from bot.verify import Part, Verification
from ingest.aliases import InvalidAliasError, add_alias, apply_aliases, read_aliases
from ingest.embed import Embedder, build_embedder
from ingest.errors import BackendUnavailableError, DutyDeskError, InvalidRequestError, NotFoundError
from ingest.hanzi import simplified
from ingest.model import Clause
from ingest.pipeline import IngestReport, Progress, run_ingest
from ingest.settings import Settings, get_settings
from ingest.store import IndexStore
from ingest.versions import Version

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.llm import LLMAnswerer
    from bot.llm.answerer import StreamItem

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500


def clean_question(question: str) -> str:
    """Strip surrounding space; reject control characters (bot.textcheck), empty or over-long questions."""
    if not isinstance(question, str):
        raise InvalidRequestError("问题必须是文本")
    text = check_text(question, "问题").strip()
    if not text:
        raise InvalidRequestError("问题不能为空")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidRequestError(f"问题过长：最多 {MAX_QUESTION_CHARS} 个字符")
    return text


class DutyDesk:
    """Ingest, ask, look up and verify: the whole product behind one façade."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 chat_model: BaseChatModel | None = None) -> None:
        self.settings = settings
        self.store = IndexStore(settings.data_dir, settings.chroma_url)
        self.embedder = embedder or build_embedder(settings)
        self.retriever = Retriever(self.embedder)
        self._knowledge: Knowledge | None = None
        self._manifest_stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.conversations = Conversations()
        self._cache: LRUCache[tuple[object, ...], AskResult] = LRUCache(settings.answer_cache_size)
        self.audit = AuditLog(settings.data_dir / "audit.jsonl")
        self.questions = QuestionLog(settings.data_dir, settings.question_log_days) if settings.question_log else None
        self.gap_finder = GapFinder(self.retriever.embed)
        # The optional LLM mode rephrases the extractive answer's clauses; tests inject a fake model.
        self.llm: LLMAnswerer | None = _llm(settings, chat_model)

    # -- index lifecycle -----------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, progress: Progress | None = None) -> IngestReport:
        """Bring the index in line with the documents (default: the knowledge dir)."""
        roots = paths or [self.settings.knowledge_dir]
        report = run_ingest(roots, self.settings.knowledge_dir, self.store, self.embedder, progress,
                            self.settings.max_document_bytes)
        self._knowledge = None
        return report

    def ensure_index(self, progress: Progress | None = None) -> IngestReport | None:
        """Ingest the knowledge dir when the data dir holds no index yet."""
        if self.store.read_manifest() is not None:
            return None
        log.info("no index in %s: ingesting %s", self.settings.data_dir, self.settings.knowledge_dir)
        return self.ingest(progress=progress)

    def warm_up(self) -> None:
        """Load now what the first question would wait for: the snapshot, its vectors, the whole model.

        A backend that is down is not fatal here: the service starts, says so on /healthz, and
        loads on the first question after the backend is back.
        """
        try:
            self.knowledge().dense(self.retriever.embed("预热"), 1)
        except DutyDeskError as exc:
            log.warning("warm-up skipped: %s", exc.message)
            return
        warm_up = getattr(self.embedder, "warm_up", None)  # only embedders with mapped files have one
        if warm_up is not None:
            warm_up()

    def knowledge(self) -> Knowledge:
        """The current snapshot, reloaded whole when another process has swapped the index."""
        stamp = self._stamp()
        with self._lock:
            if self._knowledge is None or stamp != self._manifest_stamp:
                self._knowledge = Knowledge.load(self.store, self.embedder.name)
                self._manifest_stamp = stamp
            return self._knowledge

    def _stamp(self) -> tuple[int, int] | None:
        path = self.store.data_dir / "manifest.json"
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    # -- read path ---------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, conversation_id: str | None = None,
            front: str | None = None, user: str | None = None) -> AskResult:
        """Answer a question from the rules, with citations; refuse when they don't cover it.

        With a conversation id, a follow-up ("那他们的电话呢？") is first rewritten to stand alone.
        In the LLM mode the model rephrases the cited clauses; the extractive answer stands in
        (mode "fallback") whenever the model fails or cites what it was not given.
        A front end names itself (`front`: api, web, telegram, cli) to have the question logged.
        """
        result = self._ask(question, top_k, conversation_id)
        self._record(result, question, front, user)
        return result

    def _ask(self, question: str, top_k: int | None, conversation_id: str | None) -> AskResult:
        question = clean_question(question)  # before the cache: a cached answer must not skip the rule
        key = None if conversation_id else self._cache_key(question, top_k)
        cached = self._cache.get(key) if key else None
        if cached is not None:
            return dataclasses.replace(cached, retrieve_ms=0.0, answer_ms=0.0, id=uuid.uuid4().hex)
        result = self._prepare(question, top_k, conversation_id)
        if self.llm is not None and not result.answer.refused:
            started = time.perf_counter()
            result.answer = self.llm.answer(result.retrieval, self.knowledge(), result.answer, limit=top_k)
            result.answer_ms += (time.perf_counter() - started) * 1000
        if key and result.answer.mode != "fallback":  # a fallback may be a passing outage: ask again next time
            self._cache.put(key, result)
        return result

    def _cache_key(self, question: str, top_k: int | None) -> tuple[object, ...]:
        """Same index generation, same question, same top_k: the same answer (`question` is cleaned)."""
        return (self._stamp(), " ".join(question.split()), top_k)

    async def answer_stream(self, result: AskResult, top_k: int | None = None) -> AsyncIterator[StreamItem]:
        """The model's tokens as they come, then the validated answer (just the answer without an LLM)."""
        if self.llm is None or result.answer.refused:
            yield result.answer
            return
        knowledge = await asyncio.to_thread(self.knowledge)
        async for item in self.llm.astream(result.retrieval, knowledge, result.answer, limit=top_k):
            yield item

    def prepare(self, question: str, top_k: int | None = None, conversation_id: str | None = None,
                front: str | None = None, user: str | None = None) -> AskResult:
        """Retrieve and compose the extractive answer (what the LLM mode starts from; logged like `ask`)."""
        result = self._prepare(question, top_k, conversation_id)
        self._record(result, question, front, user)
        return result

    def _prepare(self, question: str, top_k: int | None, conversation_id: str | None) -> AskResult:
        question = normalize_question(clean_question(question))
        if conversation_id:
            last = self.conversations.last(conversation_id)
            question = self.llm.rewrite(question, last) if self.llm else rewrite(question, last)
        knowledge = self.knowledge()
        started = time.perf_counter()
        retrieval = self.retrieve(question, knowledge, limit=max(top_k or self.settings.top_k, 10))
        question = retrieval.question
        retrieved = time.perf_counter()
        answer = compose(retrieval, knowledge, assess(retrieval, knowledge), limit=top_k or self.settings.top_k)
        finished = time.perf_counter()
        if conversation_id:
            self.conversations.remember(conversation_id, question, answer.owner)
        return AskResult(answer, retrieval, (retrieved - started) * 1000, (finished - retrieved) * 1000, question)

    def _record(self, result: AskResult, asked: str, front: str | None, user: str | None) -> None:
        """Log a front end's question as staff typed it (never to the application log); a full or locked
        disk costs the log entry, not the answer."""
        if front is None or self.questions is None:
            return
        found = [hit.clause.id for hit in (*result.answer.citations, *result.retrieval.hits)]
        try:
            self.questions.record(result.id, clean_question(asked), result.answer.status,
                                  list(dict.fromkeys(found))[:3], front, user)
        except (sqlite3.Error, OSError) as exc:
            log.warning("question log: answer %s not recorded: %s", result.id, exc)

    def retrieve(self, question: str, knowledge: Knowledge, limit: int = 10) -> Retrieval:
        """Rank clauses for a normalised question, read in the documents' words (aliases), with the post
        a duty question means linked when it names none as the rules do."""
        question = apply_aliases(question, knowledge.alias_pairs)  # staff's words → the documents' names
        return link_owner(self.retriever.retrieve(knowledge, question, limit=limit), knowledge)

    def health(self) -> dict[str, object]:
        """What the index holds, after checking the vector store answers (BackendUnavailableError if not)."""
        knowledge = self.knowledge()
        try:
            count = knowledge.collection.count()
        except Exception as exc:
            self._knowledge = None  # reconnect on the next request
            raise BackendUnavailableError(f"向量库不可用：{exc}") from exc
        return {"status": "ok", "generation": knowledge.manifest.generation,
                "documents": len(knowledge.manifest.documents), "clauses": len(knowledge.clauses),
                "vectors": count, "embedder": knowledge.manifest.embedder}

    def clause(self, clause_id: str) -> Clause:
        """A clause by id (NotFoundError if unknown)."""
        return self.knowledge().clause(clause_id)

    def clause_detail(self, clause_id: str) -> ClauseDetail:
        """A clause with its neighbours, its whole section and its document's version (one snapshot)."""
        knowledge = self.knowledge()
        clause = knowledge.clause(clause_id)
        entry = knowledge.manifest.documents.get(clause.source.path)
        return ClauseDetail(clause, knowledge.neighbours(clause), knowledge.section(clause),
                            self.version_of(clause.doc_id), entry.effective if entry else None)

    def version_of(self, doc_id: str) -> int | None:
        """The current version number of a document."""
        versions = self.store.versions().of(doc_id)
        return versions[-1].version if versions else None

    def owners(self) -> list[Owner]:
        """Departments and posts with contact and clause count, in order of first appearance."""
        knowledge = self.knowledge()
        return list(knowledge.owners.values())

    def owner_clauses(self, name: str) -> list[Clause]:
        """All clauses of an owner in document order (NotFoundError if unknown)."""
        return self.owner(name)[1]

    def owner(self, name: str) -> tuple[Owner, list[Clause]]:
        """An owner (by name or a name it goes by: 出纳 → 出纳员) and its clauses in document order."""
        knowledge = self.knowledge()
        found = resolve_owner(normalize_question(name.strip()), list(knowledge.owners))
        if found is None:
            raise NotFoundError(f"没有名为 {name} 的部门或岗位")
        return knowledge.owners[found], knowledge.owner_clauses(found)

    def verify(self, quote: str, citation_id: str | None = None) -> Verification:
        """Check a quote against the current rules and, given its citation id, whether it went stale."""
        result = check_quote(self, quote, citation_id)
        self.audit.record(quote, citation_id, result.verified, result.stale)
        return result

    def verify_answer(self, text: str, citation_ids: list[str] | None = None) -> list[Part]:
        """Check every quoted passage and [n] reference of a pasted answer: at most DUTYDESK_VERIFY_BATCH_MAX
        parts, identical quotes checked once, one audit line for the whole answer."""
        parts, checked = check_answer(self, text, citation_ids)
        self.audit.record_batch(text, [p.status for p in parts], checked=checked)
        return parts

    def documents(self) -> list[DocumentInfo]:
        """Current documents with their version counts."""
        return list_documents(self.knowledge().manifest, self.store.versions().all())

    def document_versions(self, doc_id: str) -> list[Version]:
        """All versions of a document, oldest first (NotFoundError if unknown)."""
        versions = self.store.versions().of(doc_id)
        if not versions:
            raise NotFoundError(f"没有编号为 {doc_id} 的文档")
        return versions

    def diff(self, doc_id: str, from_version: int, to_version: int) -> Diff:
        """Clause-level changes between two versions of a document."""
        versions = self.document_versions(doc_id)
        return diff(pick(versions, doc_id, from_version), pick(versions, doc_id, to_version),
                    self.store.load_history())


    # -- the question log, gaps and staff's words ---------------------------------------------
    def feedback(self, answer_id: str, helpful: bool, comment: str | None = None) -> None:
        """Record whether an answer helped (NotFoundError for an answer the log does not hold)."""
        self._question_log().feedback(answer_id, helpful, comment)

    def gaps(self) -> list[Gap]:
        """What staff could not get answered (or found unhelpful), grouped, most asked first."""
        if self.questions is None:
            return []
        return self.gap_finder.find(self.questions.asks(), self.questions.states())

    def set_gap_state(self, gap_id: str, state: str) -> None:
        """Mark a gap open, a known gap, or resolved (NotFoundError for an id GET /gaps does not show)."""
        if all(gap.id != gap_id for gap in self.gaps()):
            raise NotFoundError(f"没有编号为 {gap_id} 的未答问题")
        self._question_log().set_state(gap_id, state)

    def _question_log(self) -> QuestionLog:
        if self.questions is None:
            raise NotFoundError("问题记录未开启（DUTYDESK_QUESTION_LOG=false）")
        return self.questions

    def aliases(self) -> dict[str, list[str]]:
        """The school's alias file: {the documents' name: [staff's words]}."""
        return read_aliases(self.settings.knowledge_dir)

    def add_alias(self, name: str, alias: str) -> tuple[list[str], IngestReport]:
        """Teach a staff word for a name the documents use, then re-ingest (only the vocabulary changes)."""
        knowledge = self.knowledge()
        if simplified("".join(name.split())) not in knowledge.corpus_text:
            raise InvalidAliasError(f"知识库中没有出现“{name.strip()}”：说法只能加给文档里用的名称")
        in_use = {**{owner: [] for owner in knowledge.owners}, **default_vocabulary()}
        words = add_alias(self.settings.knowledge_dir, name, alias, in_use, self.settings.data_dir)
        return words, self.ingest()


def _llm(settings: Settings, chat_model: BaseChatModel | None) -> LLMAnswerer | None:
    """The LLM answerer when the settings ask for it (imported late: langchain-openai is heavy)."""
    if settings.answer_mode != "llm":
        return None
    from bot.llm import LLMAnswerer

    return LLMAnswerer(settings, chat_model)


def build(settings: Settings | None = None, embedder: Embedder | None = None,
          chat_model: BaseChatModel | None = None) -> DutyDesk:
    """The one place that builds the real objects from settings."""
    return DutyDesk(settings or get_settings(), embedder, chat_model)


__all__ = ["MAX_QUESTION_CHARS", "AskResult", "ClauseDetail", "DutyDesk", "Hit", "build", "clean_question"]
