"""Secrets never leave the process: not in CLI output, logs, HTTP responses or the settings' repr.

DUTYDESK_TELEGRAM_TOKEN, DUTYDESK_LLM_API_KEY and DUTYDESK_ADMIN_TOKEN are set to distinctive
values. The CLI runs as subprocesses with `-v` (debug logging) — ingest with a bad file, ask in
the LLM mode against a fake OpenAI server that fails and echoes the Authorization header back (as
careless servers do), and error paths — and the app serves requests (answers, errors, /healthz,
/openapi.json, /docs, /audit) with every log record captured (caplog at DEBUG, plus the process's
stdout/stderr). No secret, nor any 12-character piece of one, may appear anywhere.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn_thread import serve_in_thread

from bot.api import create_app
from bot.service import DutyDesk
from bot.telegram import mount_webhook
from ingest.settings import Settings, get_settings
from tests.conftest import SMALL_CORPUS, write_docs
from tests.fakes.embedders import HashEmbedder
from tests.fakes.openai_server import FakeOpenAI, Script, serving

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
TELEGRAM_TOKEN = "7391052846:AAHq7ZtVb3kPx9WmRc2LfJd8GsYn4TeUo1i"
LLM_API_KEY = "sk-proj-Qw3rTy7UiOp1AsDfGh5JkLzXcVbNm9PoIuYtReWq2AzSxDcFv"
ADMIN_TOKEN = "adm-Zx8Cv6Bn4Mq2Wl0Ek9Rj7Th5Yg3Uf1Id"
SECRETS = {"telegram": TELEGRAM_TOKEN, "llm": LLM_API_KEY, "admin": ADMIN_TOKEN}
WINDOW = 12  # any run of this many characters of a secret counts as a leak
QUESTION = "出纳员有哪些职责？"




def leaks(text: str, secrets: dict[str, str] = SECRETS) -> list[str]:
    """The names of the secrets of which some WINDOW-long piece occurs in text."""
    found = []
    for name, secret in secrets.items():
        if any(secret[i:i + WINDOW] in text for i in range(len(secret) - WINDOW + 1)):
            found.append(name)
    return found


def assert_no_secret(where: str, text: str, secrets: dict[str, str] = SECRETS) -> None:
    """No piece of any secret in text (the message names the secret, never shows it)."""
    found = leaks(text, secrets)
    assert not found, f"{where}: a piece of the {', '.join(found)} secret appears in it"


def closed_port() -> int:
    """A local port nothing listens on (for a Telegram Bot API that cannot be reached)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    """A fake OpenAI server: model `broken` answers 500 and echoes the caller's Authorization header."""
    with serving(FakeOpenAI(scripts={"broken": Script(status=500)})) as base_url:
        yield base_url


# --- settings ------------------------------------------------------------------------------------------


def test_settings_repr_and_str_hide_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """repr, str, model_dump_json and the dumped dict of the settings mask every secret."""
    monkeypatch.setenv("DUTYDESK_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("DUTYDESK_LLM_API_KEY", LLM_API_KEY)
    monkeypatch.setenv("DUTYDESK_ADMIN_TOKEN", ADMIN_TOKEN)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.telegram_token is not None and settings.telegram_token.get_secret_value() == TELEGRAM_TOKEN
    assert settings.llm_api_key is not None and settings.admin_token is not None
    for where, text in [("repr", repr(settings)), ("str", str(settings)), ("format", f"{settings}"),
                        ("model_dump_json", settings.model_dump_json()),
                        ("model_dump", str(settings.model_dump())),
                        ("json.dumps(model_dump(mode=json))", json.dumps(settings.model_dump(mode="json"))),
                        ("repr(field)", repr(settings.llm_api_key))]:
        assert_no_secret(where, text)
    get_settings.cache_clear()


# --- the CLI as subprocesses ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge dir with the small corpus and one bad file, a data dir, a cwd without .env."""
    root = tmp_path_factory.mktemp("secrets")
    write_docs(root / "knowledge", SMALL_CORPUS)
    (root / "knowledge" / "坏文件.docx").write_bytes((DATA / "corrupt.docx").read_bytes())
    (root / "cwd").mkdir()
    return root


def run_cli(workspace: Path, *args: str, llm_base_url: str = "", **env_extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot -v ARGS` with the three secrets in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
               DUTYDESK_DATA_DIR=str(workspace / "data"), DUTYDESK_KNOWLEDGE_DIR=str(workspace / "knowledge"),
               DUTYDESK_TELEGRAM_TOKEN=TELEGRAM_TOKEN, DUTYDESK_LLM_API_KEY=LLM_API_KEY,
               DUTYDESK_ADMIN_TOKEN=ADMIN_TOKEN, DUTYDESK_TELEGRAM_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot",
               DUTYDESK_LLM_BASE_URL=llm_base_url, DUTYDESK_LLM_MODEL="broken", DUTYDESK_LLM_TIMEOUT_S="10",
               **env_extra)
    return subprocess.run([sys.executable, "-m", "bot", "-v", *args], env=env, cwd=workspace / "cwd",
                          capture_output=True, text=True, encoding="utf-8", timeout=180, check=False)


@pytest.fixture(scope="module")
def ingested(workspace: Path) -> subprocess.CompletedProcess[str]:
    """`dutydesk -v ingest` once (one bad file: exit 1)."""
    return run_cli(workspace, "ingest")


def test_cli_ingest_shows_no_secret(ingested: subprocess.CompletedProcess[str]) -> None:
    assert ingested.returncode == 1, ingested.stderr[-2000:]
    assert "坏文件.docx" in ingested.stderr
    assert_no_secret("ingest stdout", ingested.stdout)
    assert_no_secret("ingest stderr", ingested.stderr)


def test_cli_ask_in_llm_mode_shows_no_secret(workspace: Path, ingested: subprocess.CompletedProcess[str],
                                            fake_llm: str) -> None:
    """The model fails and its error echoes the key: the fallback answer is printed, the key is not."""
    result = run_cli(workspace, "ask", QUESTION, "--json", llm_base_url=fake_llm, DUTYDESK_ANSWER_MODE="llm")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["mode"] == "fallback"
    assert "LLM" in result.stderr  # the failure is logged (without the key)
    assert_no_secret("ask stdout", result.stdout)
    assert_no_secret("ask stderr", result.stderr)


@pytest.mark.parametrize("args", [("ask", "   "), ("eval", "--gold", "缺失.jsonl")])
def test_cli_error_paths_show_no_secret(workspace: Path, ingested: subprocess.CompletedProcess[str],
                                        args: tuple[str, ...]) -> None:
    """Failing commands: a message and a non-zero exit, no secret."""
    result = run_cli(workspace, *args, DUTYDESK_ANSWER_MODE="llm", llm_base_url="http://127.0.0.1:9/v1")
    assert result.returncode != 0, result
    assert_no_secret(f"{args} stdout", result.stdout)
    assert_no_secret(f"{args} stderr", result.stderr)


# --- the app -----------------------------------------------------------------------------------------


def serve_verbose(app: Any) -> AbstractContextManager[str]:
    """uvicorn in a thread at debug level with the access log on (everything it can print, it prints)."""
    return serve_in_thread(app, log_level="debug", access_log=True, start_timeout=60)


def app_requests(http: httpx.Client) -> list[httpx.Response]:
    """Answers, streams, lookups, errors of every kind, admin calls right and wrong."""
    clause_id = http.get(f"/owners/{'出纳员'}").json()["items"][0]["id"]
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return [
        http.get("/healthz"), http.get("/openapi.json"), http.get("/docs"), http.get("/"),
        http.post("/ask", json={"question": QUESTION}),
        http.post("/ask", json={"question": "那他们的电话呢？", "conversation_id": "c1"}),
        http.post("/ask", json={"question": "那他们的电话呢？", "conversation_id": "c1"}),
        http.post("/ask/stream", json={"question": QUESTION}),
        http.post("/ask", json={"question": ""}), http.post("/ask", json={"question": 1, "x": 2}),
        http.post("/ask", content=b"{", headers={"content-type": "application/json"}),
        http.post("/ask", content=b"x" * 300_000, headers={"content-type": "application/json"}),
        http.get(f"/clauses/{clause_id}"), http.get("/clauses/nope"), http.get("/owners"), http.get("/documents"),
        http.post("/verify", json={"quote": "按时发放工资和奖金", "citation_id": clause_id}),
        http.post("/verify", json={"quote": "。"}),
        http.post("/verify/batch", json={"text": "“按时发放工资和奖金”[1]"}),
        http.get("/audit"), http.get("/audit", headers={"Authorization": "Bearer wrong"}),
        http.get("/audit", headers={"Authorization": f"Bearer {ADMIN_TOKEN[:-3]}"}),
        http.get("/audit", headers=bearer), http.get("/ask"), http.get("/no/such/route"),
        http.post("/telegram/webhook", json={"update_id": 1}),
        http.post("/telegram/webhook", json={"update_id": 1},
                  headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}),
    ]


def test_app_responses_and_logs_show_no_secret(tmp_path: Path, fake_llm: str, caplog: pytest.LogCaptureFixture,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    """The app in the LLM mode (failing model), with a Telegram webhook mounted: nothing shows a secret."""
    write_docs(tmp_path / "knowledge", SMALL_CORPUS)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge",  # type: ignore[call-arg]
                        chroma_url=None, answer_mode="llm", llm_base_url=fake_llm, llm_model="broken",
                        llm_api_key=LLM_API_KEY, admin_token=ADMIN_TOKEN, telegram_token=TELEGRAM_TOKEN,
                        telegram_base_url=f"http://127.0.0.1:{closed_port()}/bot",
                        telegram_webhook_url="https://school.example/telegram/webhook", telegram_allowed_users="1")
    desk = DutyDesk(settings, HashEmbedder())
    caplog.set_level(logging.DEBUG)
    app = create_app(desk, mounts=(mount_webhook,))
    with serve_verbose(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        responses = app_requests(http)
    statuses = [r.status_code for r in responses]
    assert 200 in statuses and 401 in statuses and 422 in statuses and 413 in statuses and 404 in statuses
    assert not [s for s in statuses if s >= 500], statuses
    assert any(r.status_code == 200 and "fallback" in r.text for r in responses)  # the model failed, logged
    for response in responses:
        where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
        assert_no_secret(f"{where} body", response.text)
        assert_no_secret(f"{where} headers", str(dict(response.headers)))
    captured = capfd.readouterr()
    assert "LLM" in caplog.text
    assert_no_secret("log records", caplog.text)
    assert_no_secret("stdout", captured.out)
    assert_no_secret("stderr", captured.err)


def test_a_long_llm_key_echoed_by_the_server_is_not_logged(tmp_path: Path, fake_llm: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """A 300-character API key (JWT-style keys are that long) in a failing model's error message."""
    long_key = "eyJhbGciOiJIUzI1NiJ9." + "".join(chr(ord("a") + (i * 7) % 26) + str(i % 10) for i in range(140))
    write_docs(tmp_path / "knowledge", SMALL_CORPUS)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge",  # type: ignore[call-arg]
                        chroma_url=None, answer_mode="llm", llm_base_url=fake_llm, llm_model="broken",
                        llm_api_key=long_key)
    desk = DutyDesk(settings, HashEmbedder())
    assert not desk.ingest().failed
    caplog.set_level(logging.DEBUG)
    assert desk.ask(QUESTION).answer.mode == "fallback"
    assert "LLM answer failed" in caplog.text
    assert_no_secret("log records", caplog.text, {"llm": long_key})
