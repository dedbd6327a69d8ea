"""The LLM mode wired through DutyDesk and the real app: /ask and /ask/stream against a fake OpenAI server."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_llm_server import API_KEY, CORPUS, KEY_QUESTION, KEY_TEXT, SCRIPTS

from bot.api import create_app
from bot.service import DutyDesk
from ingest.settings import Settings
from tests.fakes.embedders import BigramEmbedder
from tests.fakes.openai_server import FakeOpenAI, serving


@pytest.fixture(scope="module")
def fake_url() -> Iterator[tuple[FakeOpenAI, str]]:
    server = FakeOpenAI(SCRIPTS)
    with serving(server) as base_url:
        yield server, base_url


def make_client(tmp: Path, base_url: str, model: str) -> TestClient:
    (tmp / "knowledge").mkdir(exist_ok=True)
    (tmp / "knowledge" / "岗位职责.txt").write_text(CORPUS, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp / "data", knowledge_dir=tmp / "knowledge",  # type: ignore[call-arg]
                        answer_mode="llm", llm_base_url=base_url, llm_model=model,
                        llm_api_key=SecretStr(API_KEY), llm_timeout_s=2.0)
    return TestClient(create_app(DutyDesk(settings, BigramEmbedder())))


def test_ask_in_llm_mode_returns_the_models_cited_answer(tmp_path: Path, fake_url: tuple[FakeOpenAI, str]) -> None:
    with make_client(tmp_path, fake_url[1], "good") as client:
        body = client.post("/ask", json={"question": KEY_QUESTION}).json()
    assert body["mode"] == "llm"
    assert body["answer"].startswith("宿舍备用钥匙一律锁入值班室钥匙柜[1]")
    assert KEY_TEXT in body["citations"][0]["text"]
    assert API_KEY not in json.dumps(body)


def test_ask_falls_back_to_the_extractive_answer_when_the_model_fails(tmp_path: Path,
                                                                       fake_url: tuple[FakeOpenAI, str]) -> None:
    with make_client(tmp_path, fake_url[1], "error") as client:
        body = client.post("/ask", json={"question": KEY_QUESTION}).json()
    assert body["mode"] == "fallback"
    assert KEY_TEXT in body["answer"] and "[1]" in body["answer"]
    assert API_KEY not in json.dumps(body)


def test_refused_question_never_reaches_the_model(tmp_path: Path, fake_url: tuple[FakeOpenAI, str]) -> None:
    server, base_url = fake_url
    before = len(server.requests)
    with make_client(tmp_path, base_url, "good") as client:
        body = client.post("/ask", json={"question": "学校运动会什么时候举行？"}).json()
    assert body["refused"] is True and body["mode"] == "extractive"
    assert len(server.requests) == before


def test_ask_stream_sends_tokens_then_the_validated_answer(tmp_path: Path, fake_url: tuple[FakeOpenAI, str]) -> None:
    with make_client(tmp_path, fake_url[1], "invented") as client:
        with client.stream("POST", "/ask/stream", json={"question": KEY_QUESTION}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = "".join(response.iter_text())
    events = [block for block in raw.split("\n\n") if block.strip()]
    assert any(block.startswith("event: token") for block in events)
    final = events[-1]
    assert final.startswith("event: answer")
    answer = json.loads(final.split("data: ", 1)[1])
    assert "[9]" not in answer["answer"] and answer["mode"] == "llm"
    assert len(answer["citations"]) == 1


def test_ask_stream_rejects_a_bad_question_before_streaming(tmp_path: Path, fake_url: tuple[FakeOpenAI, str]) -> None:
    with make_client(tmp_path, fake_url[1], "good") as client:
        response = client.post("/ask/stream", json={"question": "   "})
    assert response.status_code == 422 and "detail" in response.json()


def test_eval_in_llm_mode_counts_citations_in_context(tmp_path: Path, fake_url: tuple[FakeOpenAI, str]) -> None:
    from bot.evaluate import GoldQuestion, evaluate, llm_figures

    (tmp_path / "knowledge").mkdir(exist_ok=True)
    (tmp_path / "knowledge" / "岗位职责.txt").write_text(CORPUS, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge",  # type: ignore[call-arg]
                        answer_mode="llm", llm_base_url=fake_url[1], llm_model="invented",
                        llm_api_key=SecretStr(API_KEY), llm_timeout_s=2.0)
    desk = DutyDesk(settings, BigramEmbedder())
    desk.ingest()
    report = evaluate(desk, [GoldQuestion("q1", KEY_QUESTION, "fact", None, (KEY_TEXT,))])
    assert report.outcomes[0].mode == "llm" and report.outcomes[0].rank == 1
    assert llm_figures(report) == {"llm_answers": 1, "fallbacks": 0, "citations_in_context": 1.0}
