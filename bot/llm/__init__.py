"""The optional LLM answer mode (see bot.llm.answerer): the answerer, the context packer, citation enforcement.

- bot.llm.answerer: LLMAnswerer, the chain under one deadline, the fallback, server-sent events;
- bot.llm.pack: prompt templates from prompts/, clauses rendered as data, packed by tokens;
- bot.llm.enforce: keep only what the model said with a valid citation to the context.

The names below were the public interface of the former module bot/llm.py and are re-exported
so that `from bot.llm import LLMAnswerer` (bot.service) and `... import sse_events` keep working.
"""
from __future__ import annotations

from bot.llm.answerer import LLMAnswerer, clean_rewrite, fallback, openai_chat_model, sse, sse_events

__all__ = ["LLMAnswerer", "clean_rewrite", "fallback", "openai_chat_model", "sse", "sse_events"]
