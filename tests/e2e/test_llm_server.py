"""The LLM answer mode against a real OpenAI-compatible HTTP server on 127.0.0.1 (tests/fakes/openai_server.py).

The knowledge is a real ingest of a small inline corpus into tmp_path, with a fast deterministic
embedder; retrievals come from the real Retriever, support check and extractive composer, and
LLMAnswerer is called directly with the real ChatOpenAI client.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.answer import Answer, compose
from bot.conversation import Turn
from bot.knowledge import Knowledge
from bot.llm import LLMAnswerer, sse_events
from bot.retrieve import Retrieval, Retriever
from bot.support import assess
from ingest.pipeline import run_ingest
from ingest.settings import Settings
from ingest.store import IndexStore
from tests.fakes.embedders import BigramEmbedder
from tests.fakes.openai_server import FakeOpenAI, Script, serving

API_KEY = "sk-test-e2e-secret-4711"
TIMEOUT_S = 0.5
MARGIN_S = 0.5  # generous: the contract is timeout + 50 ms; CI machines stall

CORPUS = """海棠路实验学校岗位职责

一、行政岗位

校长岗位职责
1.主持学校全面工作，召集校务会议。
2.审批学校年度经费预算。

二、生活服务岗位

宿舍管理员岗位职责
  宿舍管理员在后勤保障处领导下，负责学生宿舍的日常管理与安全巡查。
1.每晚九点半清点住宿学生人数，发现未归学生立即报告值班领导和班主任。
2.负责宿舍钥匙的登记保管，备用钥匙一律锁入值班室钥匙柜。
3.每周三下午组织宿舍内务评比，评比结果在宿舍楼公告栏公示。

门卫岗位职责
1.实行外来人员登记制度，来访人员须出示身份证件并电话联系被访教师后方可入校。
2.夜间每两小时巡查校园一次，巡查情况记入门卫值班日志。
"""
KEY_QUESTION = "宿舍备用钥匙锁在哪里？"
KEY_TEXT = "备用钥匙一律锁入值班室钥匙柜"
GOOD = "宿舍备用钥匙一律锁入值班室钥匙柜[1]，由宿舍管理员负责登记保管[1]。"
SCRIPTS = {
    "good": Script(GOOD),
    "invented": Script("备用钥匙锁入值班室钥匙柜[1][9]。校长每天检查一次钥匙柜[9]。"),
    "wrong-owner": Script("备用钥匙锁入值班室钥匙柜[1]。钥匙由门卫负责登记保管[1]。"),
    "all-wrong": Script("钥匙由校长保管[1]。"),
    "slow": Script(GOOD, delay=5.0),
    "stall": Script(GOOD, chunk_delay=5.0),
    "error": Script(status=500),
    "rewrite": Script("“宿舍管理员每周三组织什么工作？”\n"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Knowledge, Retriever]:
    """The inline corpus ingested for real (chromadb in tmp_path), loaded as one snapshot."""
    root = tmp_path_factory.mktemp("llm")
    (root / "knowledge").mkdir()
    (root / "knowledge" / "岗位职责.txt").write_text(CORPUS, encoding="utf-8")
    store, embedder = IndexStore(root / "data", None), BigramEmbedder()
    report = run_ingest([root / "knowledge"], root / "knowledge", store, embedder)
    assert not report.failed and report.clauses >= 7
    return Knowledge.load(store, embedder.name), Retriever(embedder)


def key_clause(corpus: tuple[Knowledge, Retriever]) -> str:
    """The id of the clause that answers KEY_QUESTION."""
    return next(c.id for c in corpus[0].clauses if KEY_TEXT in c.text)


@pytest.fixture()
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    """A fresh scripted server per test (so no HTTP connection outlives its event loop)."""
    server = FakeOpenAI(SCRIPTS)
    with serving(server) as base_url:
        yield server, base_url


def settings(base_url: str, model: str) -> Settings:
    """LLM settings pointing at the fake; the model name picks the script."""
    return Settings(_env_file=None, answer_mode="llm", llm_base_url=base_url, llm_model=model,  # type: ignore[call-arg]
                    llm_api_key=SecretStr(API_KEY), llm_timeout_s=TIMEOUT_S, llm_context_tokens=1000)


def ask(corpus: tuple[Knowledge, Retriever], question: str) -> tuple[Retrieval, Answer]:
    """The retrieval and extractive answer DutyDesk.ask would build."""
    knowledge, retriever = corpus
    retrieval = retriever.retrieve(knowledge, question, limit=10)
    return retrieval, compose(retrieval, knowledge, assess(retrieval, knowledge))


def answer_with(fake: tuple[FakeOpenAI, str], corpus: tuple[Knowledge, Retriever], model: str,
                question: str = KEY_QUESTION) -> tuple[Answer, float]:
    """Ask the fake's `model` script through a fresh LLMAnswerer: the answer and the seconds it took."""
    retrieval, extractive = ask(corpus, question)
    answerer = LLMAnswerer(settings(fake[1], model))
    try:
        started = time.monotonic()
        answer = answerer.answer(retrieval, corpus[0], extractive)
        return answer, time.monotonic() - started
    finally:
        answerer.close()


def stream_with(fake: tuple[FakeOpenAI, str], corpus: tuple[Knowledge, Retriever],
                model: str) -> tuple[list[str | Answer], float]:
    """Everything astream yields for the key question, and the seconds until the last item."""
    retrieval, extractive = ask(corpus, KEY_QUESTION)
    answerer = LLMAnswerer(settings(fake[1], model))

    async def collect() -> tuple[list[str | Answer], float]:
        started = time.monotonic()
        items = [item async for item in answerer.astream(retrieval, corpus[0], extractive)]
        return items, time.monotonic() - started

    try:
        return asyncio.run(collect())
    finally:
        answerer.close()


def test_the_key_question_ranks_the_key_clause_first(corpus: tuple[Knowledge, Retriever]) -> None:
    retrieval, extractive = ask(corpus, KEY_QUESTION)
    assert retrieval.hits[0].clause.id == key_clause(corpus) and not extractive.refused


def test_a_good_answer_is_returned_with_its_citation(fake: tuple[FakeOpenAI, str],
                                                      corpus: tuple[Knowledge, Retriever]) -> None:
    answer, _ = answer_with(fake, corpus, "good")
    assert answer.mode == "llm" and answer.text == GOOD
    assert [hit.clause.id for hit in answer.citations] == [key_clause(corpus)]
    assert answer.owner == "宿舍管理员"
    request = fake[0].requests[-1]
    assert request["authorization"] == f"Bearer {API_KEY}" and request["body"]["model"] == "good"
    prompt = request["body"]["messages"][-1]["content"]
    assert "<clauses>\n[1] 《海棠路实验学校岗位职责》" in prompt
    assert f"<question>\n{KEY_QUESTION}\n</question>" in prompt


def test_invented_markers_are_removed(fake: tuple[FakeOpenAI, str], corpus: tuple[Knowledge, Retriever]) -> None:
    answer, _ = answer_with(fake, corpus, "invented")
    assert answer.mode == "llm"
    assert answer.text == "备用钥匙锁入值班室钥匙柜[1]。"
    assert [hit.clause.id for hit in answer.citations] == [key_clause(corpus)]


def test_a_sentence_naming_the_wrong_owner_is_dropped(fake: tuple[FakeOpenAI, str],
                                                      corpus: tuple[Knowledge, Retriever]) -> None:
    answer, _ = answer_with(fake, corpus, "wrong-owner")
    assert answer.mode == "llm" and answer.text == "备用钥匙锁入值班室钥匙柜[1]。"
    assert "门卫" not in answer.text


def test_nothing_valid_left_falls_back(fake: tuple[FakeOpenAI, str], corpus: tuple[Knowledge, Retriever]) -> None:
    answer, _ = answer_with(fake, corpus, "all-wrong")
    extractive = ask(corpus, KEY_QUESTION)[1]
    assert answer.mode == "fallback" and answer.text == extractive.text


def test_an_unsupported_question_never_reaches_the_model(fake: tuple[FakeOpenAI, str],
                                                         corpus: tuple[Knowledge, Retriever]) -> None:
    answer, _ = answer_with(fake, corpus, "good", question="学校运动会什么时候举行？")
    assert answer.refused and answer.mode == "extractive" and fake[0].requests == []


def test_a_slow_reply_falls_back_within_the_timeout(fake: tuple[FakeOpenAI, str],
                                                    corpus: tuple[Knowledge, Retriever]) -> None:
    answer, elapsed = answer_with(fake, corpus, "slow")
    assert answer.mode == "fallback" and not answer.refused and answer.citations
    assert elapsed < TIMEOUT_S + MARGIN_S, elapsed


def test_a_server_error_falls_back_and_never_logs_the_key(fake: tuple[FakeOpenAI, str],
                                                          corpus: tuple[Knowledge, Retriever],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        answer, _ = answer_with(fake, corpus, "error")
    assert answer.mode == "fallback"
    assert len(fake[0].requests) == 1  # max_retries=0: one attempt, then the fallback
    assert "500" in caplog.text or "InternalServerError" in caplog.text
    assert API_KEY not in caplog.text


def test_streaming_yields_tokens_then_the_validated_answer(fake: tuple[FakeOpenAI, str],
                                                           corpus: tuple[Knowledge, Retriever]) -> None:
    items, _ = stream_with(fake, corpus, "good")
    tokens, final = items[:-1], items[-1]
    assert len(tokens) > 3 and all(isinstance(t, str) for t in tokens) and "".join(tokens) == GOOD  # type: ignore[arg-type]
    assert isinstance(final, Answer) and final.mode == "llm" and final.text == GOOD
    assert fake[0].requests[-1]["body"]["stream"] is True


def test_one_answerer_streams_from_successive_event_loops(fake: tuple[FakeOpenAI, str],
                                                          corpus: tuple[Knowledge, Retriever]) -> None:
    retrieval, extractive = ask(corpus, KEY_QUESTION)
    answerer = LLMAnswerer(settings(fake[1], "good"))

    async def final() -> Answer:
        items = [item async for item in answerer.astream(retrieval, corpus[0], extractive)]
        assert isinstance(items[-1], Answer)
        return items[-1]

    # Each asyncio.run is a new loop (as with successive test clients): no connection may outlive its loop.
    modes = [asyncio.run(final()).mode for _ in range(3)]
    answerer.close()
    assert modes == ["llm", "llm", "llm"]


def test_a_stalled_stream_falls_back_within_the_timeout(fake: tuple[FakeOpenAI, str],
                                                        corpus: tuple[Knowledge, Retriever]) -> None:
    items, elapsed = stream_with(fake, corpus, "stall")
    assert items[0] == GOOD[:3]  # the first chunk arrived before the stall
    assert isinstance(items[-1], Answer) and items[-1].mode == "fallback"
    assert elapsed < TIMEOUT_S + MARGIN_S, elapsed


def test_a_stream_error_falls_back(fake: tuple[FakeOpenAI, str], corpus: tuple[Knowledge, Retriever]) -> None:
    items, _ = stream_with(fake, corpus, "error")
    assert len(items) == 1 and isinstance(items[0], Answer) and items[0].mode == "fallback"


def test_sse_events_end_with_the_validated_answer(fake: tuple[FakeOpenAI, str],
                                                  corpus: tuple[Knowledge, Retriever]) -> None:
    retrieval, extractive = ask(corpus, KEY_QUESTION)
    answerer = LLMAnswerer(settings(fake[1], "invented"))

    async def collect() -> list[str]:
        stream = answerer.astream(retrieval, corpus[0], extractive)
        return [event async for event in sse_events(stream, lambda a: {"answer": a.text, "mode": a.mode})]

    events = asyncio.run(collect())
    answerer.close()
    assert all(e.startswith("event: token\ndata: {\"text\": ") for e in events[:-1])
    assert events[-1] == 'event: answer\ndata: {"answer": "备用钥匙锁入值班室钥匙柜[1]。", "mode": "llm"}\n\n'


def test_rewrite_uses_the_model(fake: tuple[FakeOpenAI, str]) -> None:
    answerer = LLMAnswerer(settings(fake[1], "rewrite"))
    rewritten = answerer.rewrite("他们每周三做什么？", Turn("宿舍钥匙谁管？", "宿舍管理员", 0.0))
    answerer.close()
    assert rewritten == "宿舍管理员每周三组织什么工作？"
    assert "宿舍钥匙谁管？" in fake[0].requests[-1]["body"]["messages"][-1]["content"]


def test_rewrite_falls_back_to_the_owner_substitution(fake: tuple[FakeOpenAI, str]) -> None:
    answerer = LLMAnswerer(settings(fake[1], "error"))
    rewritten = answerer.rewrite("他们每周三做什么？", Turn("宿舍钥匙谁管？", "宿舍管理员", 0.0))
    answerer.close()
    assert rewritten == "宿舍管理员每周三做什么？"
