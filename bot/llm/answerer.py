"""The optional LLM answer mode: a chat model rephrases what the retrieved clauses say, citing [n].

Refusal comes first (an unsupported question never reaches the model). Then the ranked clauses
are packed by tokens, the chain `prompt | chat model | text` runs under one deadline
(settings.llm_timeout_s for the whole call), and the reply is held to its citations
(bot.llm.enforce). Whatever goes wrong (an error, the deadline, nothing validly cited) the
caller's extractive answer comes back with mode "fallback"; a good reply has mode "llm".
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from pydantic import SecretStr

from bot.answer import Answer
from bot.conversation import Turn
from bot.conversation import rewrite as rewrite_by_owner
from bot.knowledge import Knowledge
from bot.llm.enforce import Enforced, enforce, parties, strip_markers
from bot.llm.pack import Packed, encoding, neutralise, pack, prompt_sections
from bot.retrieve import Retrieval, mentioned_owners, owner_aliases
from ingest.hanzi import simplified
from ingest.settings import Settings

log = logging.getLogger(__name__)

Chain = Runnable[dict[str, str], str]
StreamItem = str | Answer

_WORKERS = 16  # concurrent model calls; beyond that, calls queue and their deadline still holds
_MAX_QUESTION_CHARS = 500  # as bot.service.MAX_QUESTION_CHARS (not imported: service imports us)
_QUOTES = "\"'“”‘’「」『』"
_NO_KEY = "not-set"  # local OpenAI-compatible servers need no key, but the openai client insists on one
_NO_OWNER = "—"
_DONE = object()


def chat_prompt(name: str) -> ChatPromptTemplate:
    """The system + human template of prompts/<name>.txt."""
    sections = prompt_sections(name)
    return ChatPromptTemplate.from_messages([("system", sections["system"]), ("human", sections["human"])])


def openai_chat_model(settings: Settings, http_async_client: httpx.AsyncClient | None = None) -> BaseChatModel:
    """ChatOpenAI for the configured OpenAI-compatible endpoint, without retries of its own."""
    from langchain_openai import ChatOpenAI  # here, not at the top: only the LLM mode loads openai

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else _NO_KEY
    return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model, api_key=key,  # type: ignore[arg-type]
                      timeout=settings.llm_timeout_s, max_retries=0, http_async_client=http_async_client)


def fallback(extractive: Answer) -> Answer:
    """The extractive answer, marked as standing in for a failed LLM answer."""
    return replace(extractive, citations=list(extractive.citations), mode="fallback")


class LLMAnswerer:
    """Answers, streams and rewrites follow-ups with a chat model, always held to the clauses."""

    def __init__(self, settings: Settings, chat_model: BaseChatModel | None = None) -> None:
        self.settings = settings
        self._openai = chat_model is None
        self.model = chat_model or openai_chat_model(settings)
        self._key: SecretStr | None = settings.llm_api_key  # kept secret: only used to redact logs
        self.answer_prompt = chat_prompt("answer")
        self.rewrite_prompt = chat_prompt("rewrite")
        self._clause_template = prompt_sections("answer")["clause"]
        self._turn_template = prompt_sections("rewrite")["turn"]
        self._answer_chain: Chain = self.answer_prompt | self.model | StrOutputParser()
        self._rewrite_chain: Chain = self.rewrite_prompt | self.model | StrOutputParser()
        self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="dutydesk-llm")
        self._loop_chains: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Chain] = weakref.WeakKeyDictionary()
        self._loop_lock = threading.Lock()
        encoding()  # load the tokenizer now rather than inside the first answer's deadline

    # -- answering -----------------------------------------------------------------------
    def pack(self, retrieval: Retrieval, limit: int | None = None) -> Packed:
        """The context: the best clauses (at most limit) that fit settings.llm_context_tokens."""
        hits = retrieval.hits[:limit] if limit else retrieval.hits
        return pack(hits, self._clause_template, self.settings.llm_context_tokens)

    def answer_inputs(self, question: str, packed: Packed) -> dict[str, str]:
        """The answer prompt's variables: the numbered clauses and the question, both as data."""
        return {"context": packed.context, "question": neutralise(question)}

    def answer(self, retrieval: Retrieval, knowledge: Knowledge, extractive: Answer, *,
               limit: int | None = None) -> Answer:
        """The model's answer held to its citations, or the extractive answer as the fallback."""
        if extractive.refused:  # refusal first: the model never sees an unsupported question
            return extractive
        deadline = time.monotonic() + self.settings.llm_timeout_s
        packed = self.pack(retrieval, limit)
        if not packed.hits:
            return fallback(extractive)
        try:
            raw = self._invoke(self._answer_chain, self.answer_inputs(retrieval.question, packed), deadline)
        except Exception as exc:  # any model or transport failure: the extractive answer stands
            self._failed("answer", exc)
            return fallback(extractive)
        return self.finish(raw, packed, knowledge, extractive)

    async def astream(self, retrieval: Retrieval, knowledge: Knowledge, extractive: Answer, *,
                      limit: int | None = None) -> AsyncIterator[StreamItem]:
        """Yield the model's tokens as they arrive, then the validated Answer (or the fallback)."""
        if extractive.refused:
            yield extractive
            return
        deadline = time.monotonic() + self.settings.llm_timeout_s
        packed = self.pack(retrieval, limit)
        if not packed.hits:
            yield fallback(extractive)
            return
        stream = self._stream_chain().astream(self.answer_inputs(retrieval.question, packed))
        parts: list[str] = []
        try:
            async with aclosing(_until(stream, deadline)) as tokens:  # closed even if our consumer leaves
                async for token in tokens:
                    parts.append(token)
                    yield token
        except Exception as exc:
            self._failed("stream", exc)
            yield fallback(extractive)
            return
        yield self.finish("".join(parts), packed, knowledge, extractive)

    def finish(self, raw: str, packed: Packed, knowledge: Knowledge, extractive: Answer) -> Answer:
        """Enforce the citations of a complete reply; fall back when nothing valid remains."""
        checked = enforce(raw, packed.hits, knowledge.owners)
        if checked.dropped:
            log.info("LLM answer: dropped %d sentence(s) without a valid citation", len(checked.dropped))
        if not checked.citations:
            return fallback(extractive)
        owner = choose_owner(checked, knowledge, extractive.owner)
        contact = knowledge.owners[owner].contact if owner in knowledge.owners else None
        return Answer(text=checked.text, citations=checked.citations, owner=owner, contact=contact, mode="llm")

    # -- follow-ups ----------------------------------------------------------------------
    def rewrite(self, question: str, last: Turn | Sequence[Turn] | None) -> str:
        """A follow-up made standalone by the model; the owner substitution on any failure."""
        turns = [last] if isinstance(last, Turn) else [t for t in (last or []) if t is not None]
        if not turns:
            return question
        by_owner = rewrite_by_owner(question, turns[-1])
        deadline = time.monotonic() + self.settings.llm_timeout_s
        try:
            raw = self._invoke(self._rewrite_chain, self.rewrite_inputs(question, turns), deadline)
        except Exception as exc:
            self._failed("rewrite", exc)
            return by_owner
        return clean_rewrite(raw) or by_owner

    def rewrite_inputs(self, question: str, turns: Sequence[Turn]) -> dict[str, str]:
        """The rewrite prompt's variables: the earlier turns and the follow-up, both as data."""
        history = "\n\n".join(self._turn_template.format(question=neutralise(t.question),
                                                         owner=neutralise(t.owner or _NO_OWNER)) for t in turns)
        return {"history": history, "question": neutralise(question)}

    # -- plumbing ------------------------------------------------------------------------
    def _stream_chain(self) -> Chain:
        """The answer chain for the running event loop.

        langchain-openai shares one async HTTP client per (base URL, timeout) across the process,
        and its pooled connections belong to the loop that opened them: a second loop (another
        test client, another asyncio.run) would reuse dead connections. So each loop gets a
        ChatOpenAI with an HTTP client of its own; an injected chat model is used as it is.
        """
        if not self._openai:
            return self._answer_chain
        loop = asyncio.get_running_loop()
        with self._loop_lock:
            chain = self._loop_chains.get(loop)
            if chain is None:
                model = openai_chat_model(self.settings, httpx.AsyncClient(timeout=self.settings.llm_timeout_s))
                chain = self._loop_chains[loop] = self.answer_prompt | model | StrOutputParser()
            return chain

    def _invoke(self, chain: Chain, inputs: dict[str, str], deadline: float) -> str:
        """Run a chain in a worker thread; TimeoutError once the deadline passes.

        The HTTP client's own timeout only bounds each read, so a slow trickle could outlast it:
        the caller stops waiting at the deadline and the worker ends with the client's timeout.
        """
        future = self._pool.submit(chain.invoke, inputs)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            future.cancel()  # frees the slot if the call never started; a no-op otherwise

    def _failed(self, step: str, exc: BaseException) -> None:
        """Log a model failure without its secrets."""
        if isinstance(exc, TimeoutError):
            reason = f"no reply within {self.settings.llm_timeout_s:g} s"
        else:
            # Redact first: a key cut in half by the length limit would slip through.
            reason = redact(f"{type(exc).__name__}: {exc}", self._key)[:300]
        log.warning("LLM %s failed, using the extractive answer: %s", step, reason)

    def close(self) -> None:
        """Stop the worker threads (calls still running end with the HTTP timeout)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def redact(text: str, key: SecretStr | None) -> str:
    """The text with the API key (if any) masked."""
    secret = key.get_secret_value() if key else ""
    return text.replace(secret, "***") if secret else text


def clean_rewrite(raw: str) -> str | None:
    """The model's rewritten question: its first line without quotes, or None if unusable."""
    line = next((part.strip() for part in raw.splitlines() if part.strip()), "")
    line = line.strip(_QUOTES).strip()
    return line if 0 < len(line) <= _MAX_QUESTION_CHARS else None


def choose_owner(checked: Enforced, knowledge: Knowledge, preferred: str | None) -> str | None:
    """The answer's owner: the extractive one if backed, else the first named party of a cited clause."""
    known = list(knowledge.owners)
    cited = set().union(*(parties(hit.clause, known) for hit in checked.citations))
    text = strip_markers(checked.text)
    named = mentioned_owners(text, known)
    if preferred and (preferred in cited or preferred in named):
        return preferred
    in_order = sorted(named, key=lambda name: _position(text, name))
    return next((name for name in in_order if name in cited), None)


def _position(text: str, name: str) -> int:
    """Where the text first names an owner (by any alias)."""
    text = simplified(text)
    found = [text.find(alias) for alias in owner_aliases(name) if alias in text]
    return min(found, default=len(text))


async def _until(stream: AsyncIterator[str], deadline: float) -> AsyncGenerator[str, None]:
    """The stream's non-empty items until it ends; TimeoutError once the deadline passes.

    The stream runs in a task of its own and hands items over a queue: cancelling that task
    on timeout closes the HTTP response, and no async generator is resumed from another task.
    """
    queue: asyncio.Queue[object] = asyncio.Queue()
    task = asyncio.create_task(_pump(stream, queue))
    try:
        while (item := await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield str(item)
    finally:
        task.cancel()


async def _pump(stream: AsyncIterator[str], queue: asyncio.Queue[object]) -> None:
    """Move a stream's items (then _DONE, or the error) into a queue."""
    try:
        async for item in stream:
            if item:
                await queue.put(item)
    except Exception as exc:  # handed to the consumer, which falls back
        await queue.put(exc)
        return
    await queue.put(_DONE)


def sse(event: str, data: Mapping[str, Any]) -> str:
    """One server-sent event: its name and one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def sse_events(stream: AsyncIterator[StreamItem],
                     render: Callable[[Answer], Mapping[str, Any]]) -> AsyncIterator[str]:
    """SSE text for a stream: `token` events ({"text": ...}), then one `answer` event (render(answer)).

    Tokens are the model's raw words; only the final `answer` event is validated and citable.
    """
    async for item in stream:
        if isinstance(item, Answer):
            yield sse("answer", render(item))
        else:
            yield sse("token", {"text": item})


__all__ = ["LLMAnswerer", "clean_rewrite", "fallback", "openai_chat_model", "sse", "sse_events"]
