"""Hardening against cheap abuse, over real HTTP (uvicorn on 127.0.0.1, HashEmbedder, real chromadb).

- /verify/batch: at most DUTYDESK_VERIFY_BATCH_MAX parts (413 beyond, with the limit in the message),
  identical quotes verified once, one audit line per batch (with its counts in /audit).
- DUTYDESK_API_RATE_LIMIT covers every POST, present routes and ones added later, one 429 with
  Retry-After; the Telegram webhook is exempt.
- DUTYDESK_ALLOWED_HOSTS: an unknown Host header is refused with 400, never reflected in a redirect.
- Control characters: one rule (422 `control_character`) for the question, the quote, the pasted
  answer, and the core's own check that the CLI and Telegram go through.
"""
from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from uvicorn_thread import serve_in_thread

import bot.checking
from bot.api import allowed_hosts, create_app
from bot.service import DutyDesk
from bot.telegram import mount_webhook, webhook_secret
from bot.textcheck import ControlCharacterError
from ingest.settings import Settings
from tests.conftest import SMALL_CORPUS, write_docs
from tests.fakes.embedders import HashEmbedder

ADMIN = "hardening-admin-token"
BEARER = {"Authorization": f"Bearer {ADMIN}"}
PAY = "按时发放工资和奖金。"  # a clause of SMALL_CORPUS (出纳员 2.)
CASH = "办理现金收付和银行结算业务，做到日清月结。"  # another one (出纳员 1.)
RULE = "除制表符、换行和回车外不允许控制字符"
SIX_QUOTES = "".join(f"「{word}」" for word in ("甲乙", "丙丁", "戊己", "庚辛", "壬癸", "子丑"))


def make_desk(root: Path, **overrides: Any) -> DutyDesk:
    """A desk over SMALL_CORPUS in root (HashEmbedder), admin token set; other settings from overrides."""
    write_docs(root / "knowledge", SMALL_CORPUS)
    settings = Settings(_env_file=None, data_dir=root / "data", knowledge_dir=root / "knowledge",  # type: ignore[call-arg]
                        chroma_url=None, answer_mode="extractive", top_k=5, admin_token=ADMIN, **overrides)
    desk = DutyDesk(settings, HashEmbedder())
    assert not desk.ingest().failed
    return desk


def too_many(parts: int, limit: int) -> str:
    """The 413 message of an over-long batch: how many parts, and the limit with its setting."""
    return f"要核对的引文和引用标记过多：共 {parts} 处，每次最多 {limit} 处（DUTYDESK_VERIFY_BATCH_MAX）"


def audit_lines(desk: DutyDesk) -> list[dict[str, Any]]:
    """The audit log as written on disk, oldest first."""
    if not desk.audit.path.exists():
        return []
    return [json.loads(line) for line in desk.audit.path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> DutyDesk:
    """The main desk: every limit at its default."""
    return make_desk(tmp_path_factory.mktemp("hardening"))


@pytest.fixture(scope="module")
def client(desk: DutyDesk, serve_desk: Callable[..., Any]) -> Iterator[httpx.Client]:
    """HTTP client of the main server."""
    with serve_desk(desk) as http:
        yield http


@pytest.fixture()
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every quote the core really verifies (the server runs in this process, so the patch reaches it)."""
    seen: list[str] = []
    real = bot.checking.verify_quote

    def counting(quote: str, *args: Any) -> Any:
        seen.append(quote)
        return real(quote, *args)

    monkeypatch.setattr(bot.checking, "verify_quote", counting)
    return seen


# --- /verify/batch: cap, dedupe, one audit line --------------------------------------------------------


def test_the_default_cap_is_100() -> None:
    assert Settings(_env_file=None).verify_batch_max == 100  # type: ignore[call-arg]


def test_the_reported_attack_is_refused_before_any_work(client: httpx.Client, desk: DutyDesk,
                                                          counted_checks: list[str]) -> None:
    """~4,000 copies of one quote (under the 50,000-character text limit): 413 naming the limit; nothing
    verified, nothing audited."""
    text = f"「{PAY}」" * 4_000
    assert len(text) <= 50_000
    before = len(audit_lines(desk))
    body = json.dumps({"text": text}, ensure_ascii=False).encode()  # ~144 KB: under the body-size limit
    response = client.post("/verify/batch", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert response.json() == {"detail": too_many(4000, 100)}
    assert counted_checks == []
    assert len(audit_lines(desk)) == before


def test_the_cap_is_a_setting(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_VERIFY_BATCH_MAX=5: five parts are checked, six are 413; [n] references count as parts."""
    with serve_desk(make_desk(tmp_path, verify_batch_max=5)) as http:
        assert len(http.post("/verify/batch", json={"text": SIX_QUOTES[:-4]}).json()["parts"]) == 5
        over = http.post("/verify/batch", json={"text": SIX_QUOTES})
        assert over.status_code == 413
        assert over.json() == {"detail": too_many(6, 5)}
        markers = http.post("/verify/batch", json={"text": SIX_QUOTES[:-8] + " 见[7]、[8]"})
        assert markers.status_code == 413 and "共 6 处" in markers.json()["detail"]


def test_identical_quotes_are_verified_once_and_each_part_gets_its_result(
        client: httpx.Client, counted_checks: list[str]) -> None:
    """50 copies of one quote and 2 of another: 52 parts, each with its own verdict; 2 verifications."""
    text = f"「{PAY}」" * 50 + f"又「{CASH}」[1]，再说一遍「{CASH}」[2]。"
    ids = ["cw-1", "cw-1"]  # both [n] cite the same (unknown) clause: the same check, twice over
    response = client.post("/verify/batch", json={"text": text, "citation_ids": ids})
    assert response.status_code == 200, response.text[:300]
    parts = response.json()["parts"]
    assert len(parts) == 52
    assert [p["status"] for p in parts[:50]] == ["verified"] * 50
    assert all(p["result"]["matches"][0]["text"] == PAY for p in parts[:50])
    assert [(p["text"], p["marker"], p["status"]) for p in parts[50:]] == [(CASH, 1, "not_found"),
                                                                           (CASH, 2, "not_found")]
    assert parts[50]["problem"] == parts[51]["problem"] == "没有编号为 cw-1 的条款（索引从未收录过）"
    assert sorted(counted_checks) == sorted([PAY, CASH])


def test_a_batch_writes_exactly_one_audit_line(client: httpx.Client, desk: DutyDesk) -> None:
    """One line for the whole pasted answer, with its counts; the pasted text itself is not stored."""
    before = len(audit_lines(desk))
    text = f"「{PAY}」「{PAY}」「{CASH}」「没有这一条规定」见[3]"
    response = client.post("/verify/batch", json={"text": text})
    assert response.status_code == 200, response.text[:300]
    rows = audit_lines(desk)
    assert len(rows) == before + 1
    row = rows[-1]
    assert {k: v for k, v in row.items() if k not in ("at", "quote_sha256")} == {
        "citation_id": None, "verified": False, "stale": False, "kind": "batch",
        "parts": 5, "checked": 3, "verified_count": 3, "stale_count": 0}
    assert len(row["quote_sha256"]) == 64 and PAY not in json.dumps(row, ensure_ascii=False)


def test_a_single_verify_keeps_its_one_line_of_five_fields(client: httpx.Client, desk: DutyDesk) -> None:
    before = len(audit_lines(desk))
    assert client.post("/verify", json={"quote": PAY}).status_code == 200
    rows = audit_lines(desk)
    assert len(rows) == before + 1
    assert set(rows[-1]) == {"at", "quote_sha256", "citation_id", "verified", "stale"}


def test_audit_shows_a_batch_with_its_counts_and_a_verify_as_before(client: httpx.Client) -> None:
    """GET /audit: the batch entry carries kind/parts/checked/counts; a /verify entry only its five keys."""
    assert client.post("/verify", json={"quote": CASH}).status_code == 200
    assert client.post("/verify/batch", json={"text": f"「{PAY}」「{PAY}」"}).status_code == 200
    newest, previous = client.get("/audit?limit=2", headers=BEARER).json()
    assert {k: v for k, v in newest.items() if k not in ("at", "quote_sha256")} == {
        "citation_id": None, "verified": True, "stale": False, "kind": "batch",
        "parts": 2, "checked": 1, "verified_count": 2, "stale_count": 0}
    assert set(previous) == {"at", "quote_sha256", "citation_id", "verified", "stale"}
    assert previous["verified"] is True


# --- the rate limit covers every POST -----------------------------------------------------------------


def assert_limited(response: httpx.Response) -> None:
    """429, Retry-After in seconds, and the one message that names the same wait."""
    assert response.status_code == 429, (response.status_code, response.text[:300])
    wait = response.headers.get("retry-after", "")
    assert wait.isdigit() and 1 <= int(wait) <= 60, response.headers
    assert response.json() == {"detail": f"请求过于频繁，请 {wait} 秒后再试"}


def test_verify_is_rate_limited(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_API_RATE_LIMIT=3: the 4th POST /verify is 429; then every POST is, and GETs are not."""
    with serve_desk(make_desk(tmp_path, api_rate_limit=3)) as http:
        for _ in range(3):
            assert http.post("/verify", json={"quote": PAY}).status_code == 200
        assert_limited(http.post("/verify", json={"quote": PAY}))
        assert_limited(http.post("/verify/batch", json={"text": f"「{PAY}」"}))
        assert_limited(http.post("/ask", json={"question": "出纳员有哪些职责？"}))
        assert_limited(http.post("/ask/stream", json={"question": "出纳员有哪些职责？"}))
        assert_limited(http.post("/verify", content=b"not even json"))  # refused before the body is read
        assert http.get("/healthz").status_code == 200
        assert http.get("/owners").status_code == 200


def test_verify_batch_is_rate_limited(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    with serve_desk(make_desk(tmp_path, api_rate_limit=2)) as http:
        for _ in range(2):
            assert http.post("/verify/batch", json={"text": f"「{PAY}」"}).status_code == 200
        assert_limited(http.post("/verify/batch", json={"text": f"「{PAY}」"}))


def test_a_post_route_added_later_is_limited_without_asking(tmp_path: Path) -> None:
    """A router included after create_app (as a new feature would be) is covered by the same limiter."""
    app = create_app(make_desk(tmp_path, api_rate_limit=2))
    extra = APIRouter()

    @extra.post("/later/added", status_code=204)
    async def added_later() -> None:
        """Stands in for a POST route another developer adds."""

    app.include_router(extra)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post("/later/added").status_code == 204
        assert http.post("/verify", json={"quote": PAY}).status_code == 200  # one count across routes
        assert_limited(http.post("/later/added"))
        assert_limited(http.post("/feedback", json={"answer_id": "x", "helpful": True}))


def test_the_telegram_webhook_is_not_rate_limited(tmp_path: Path) -> None:
    """Telegram posts every chat's updates from its own few addresses: the webhook path is exempt.

    The Bot API is unreachable here, so the route answers 503 (bot not running), but never 429;
    the webhook URL's host is also an allowed Host by default.
    """
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/bot"
    token = "123456:hardening-test-token"
    desk = make_desk(tmp_path, api_rate_limit=1, telegram_token=token, telegram_base_url=nowhere,
                     telegram_webhook_url="https://bot.example.org/tg", telegram_allowed_users="1")
    secret = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(token)}
    app = create_app(desk, mounts=(mount_webhook,))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post("/verify", json={"quote": PAY}).status_code == 200
        assert_limited(http.post("/verify", json={"quote": PAY}))
        for _ in range(3):
            reply = http.post("/tg", json={"update_id": 1}, headers={**secret, "Host": "bot.example.org"})
            assert reply.status_code == 503 and reply.json() == {"detail": "Telegram bot not running"}


# --- allowed hosts --------------------------------------------------------------------------------------

HOST_REFUSED = {"detail": "Host 请求头不是本服务的主机名（允许的主机名见 DUTYDESK_ALLOWED_HOSTS）"}
EVIL_HOSTS = ["evil.example", "evil.example:80", "EVIL.example", "127.0.0.1.evil.example", "localhost@evil.example",
              "evil.example/127.0.0.1", "[::2]:8000", ""]


@pytest.mark.parametrize("host", EVIL_HOSTS)
@pytest.mark.parametrize(("method", "path"), [("GET", "/docs/"), ("GET", "/docs"), ("GET", "/healthz"),
                                              ("POST", "/ask"), ("GET", "/owners/")])
def test_an_unknown_host_is_refused_and_never_reflected(client: httpx.Client, host: str, method: str,
                                                          path: str) -> None:
    """Host: evil.example → 400 with a JSON reason; no redirect, and the name appears nowhere."""
    kwargs: dict[str, Any] = {"json": {"question": "出纳员有哪些职责？"}} if method == "POST" else {}
    response = client.request(method, path, headers={"Host": host}, follow_redirects=False, **kwargs)
    assert response.status_code == 400, (host, response.status_code, response.headers)
    assert response.json() == HOST_REFUSED
    assert "location" not in response.headers
    assert "evil" not in response.text


def test_redirects_name_the_allowed_host(client: httpx.Client) -> None:
    """The control case: /docs/ redirects, to the host the client really used."""
    response = client.get("/docs/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"http://127.0.0.1:{client.base_url.port}/docs"
    localhost = client.get("/docs/", headers={"Host": "localhost:8000"}, follow_redirects=False)
    assert localhost.headers["location"] == "http://localhost:8000/docs"


def test_a_missing_or_repeated_host_header_is_refused(client: httpx.Client) -> None:
    """Raw HTTP: HTTP/1.0 with no Host, and two Host headers, are both 400."""
    host, port = str(client.base_url.host), int(client.base_url.port or 80)
    for head in (b"GET /healthz HTTP/1.0\r\n\r\n",
                 f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nHost: evil.example\r\n"
                 "Connection: close\r\n\r\n".encode()):
        with socket.create_connection((host, port), timeout=30) as raw:
            raw.sendall(head)
            reply = b""
            while chunk := raw.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
        assert b"evil" not in reply


def test_the_default_hosts() -> None:
    """Loopback names, the TestClient's name, DUTYDESK_HOST, the bind address and the webhook's host."""
    settings = Settings(_env_file=None, host="10.0.0.5",  # type: ignore[call-arg]
                        telegram_webhook_url="https://Bot.School.example/tg")
    assert allowed_hosts(settings, "0.0.0.0") == ["localhost", "127.0.0.1", "::1", "testserver", "10.0.0.5",
                                                  "0.0.0.0", "bot.school.example"]
    assert allowed_hosts(Settings(_env_file=None)) == ["localhost", "127.0.0.1", "::1", "testserver",  # type: ignore[call-arg]
                                                       "127.0.0.1"]
    chosen = Settings(_env_file=None, allowed_hosts=" duty.school.example , 192.168.1.20 ")  # type: ignore[call-arg]
    assert allowed_hosts(chosen, "0.0.0.0") == ["duty.school.example", "192.168.1.20"]


def test_the_bind_host_is_allowed(tmp_path: Path) -> None:
    """create_app(bind_host=…), as `dutydesk serve --host` calls it: that name is served, others are not."""
    with serve_in_thread(create_app(make_desk(tmp_path), bind_host="dutybox.lan")) as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/healthz", headers={"Host": "dutybox.lan:8000"}).status_code == 200
        assert http.get("/healthz", headers={"Host": "otherbox.lan:8000"}).status_code == 400


def test_allowed_hosts_setting_replaces_the_defaults(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_ALLOWED_HOSTS=duty.school.example: that name only (redirects use it); 127.0.0.1 is refused."""
    with serve_desk(make_desk(tmp_path, allowed_hosts="duty.school.example")) as http:
        named = http.get("/docs/", headers={"Host": "duty.school.example"}, follow_redirects=False)
        assert named.status_code == 307 and named.headers["location"] == "http://duty.school.example/docs"
        refused = http.get("/healthz")
        assert refused.status_code == 400 and refused.json() == HOST_REFUSED


def test_a_star_allows_every_host(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    with serve_desk(make_desk(tmp_path, allowed_hosts="*")) as http:
        assert http.get("/healthz", headers={"Host": "anything.example"}).status_code == 200


# --- control characters: one rule everywhere ------------------------------------------------------------

ENDPOINTS = {"/ask": "question", "/ask/stream": "question", "/verify": "quote", "/verify/batch": "text"}
CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize("route", list(ENDPOINTS))
def test_control_characters_get_the_same_422_everywhere(client: httpx.Client, route: str, char: str) -> None:
    """A C0/C1 control character (not tab/newline/CR) in any incoming text: 422 naming the character."""
    field = ENDPOINTS[route]
    response = client.post(route, json={field: f"出纳{char}员职责"})
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert response.json() == {"detail": [{
        "loc": ["body", field], "type": "control_character",
        "msg": f"含有控制字符 U+{ord(char):04X}（第 3 个字符）；{RULE}"}]}


@pytest.mark.parametrize("route", list(ENDPOINTS))
def test_text_of_control_characters_only_is_422_everywhere(client: httpx.Client, route: str) -> None:
    """What used to be 400 on some routes and 200 on others is one 422."""
    response = client.post(route, json={ENDPOINTS[route]: "\x00\x01\x1f"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "control_character"


def test_tab_newline_and_carriage_return_are_allowed(client: httpx.Client) -> None:
    assert client.post("/ask", json={"question": "出纳员\t有哪些\r\n职责？"}).status_code == 200
    quote = client.post("/verify", json={"quote": "按时发放\r\n工资\t和奖金。"})
    assert quote.status_code == 200 and quote.json()["verified"] is True
    batch = client.post("/verify/batch", json={"text": "出纳员：\n\t「按时发放工资\n和奖金。」"})
    assert batch.status_code == 200 and [p["status"] for p in batch.json()["parts"]] == ["verified"]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85"])
def test_the_core_applies_the_same_rule_for_the_cli_and_telegram(desk: DutyDesk, char: str) -> None:
    """`dutydesk ask` and the Telegram handlers call DutyDesk.ask/verify: the same rule and reason, as 422."""
    reason = f"含有控制字符 U+{ord(char):04X}（第 3 个字符）；{RULE}"
    calls: list[tuple[Callable[[str], object], str]] = [(desk.ask, "问题"), (desk.verify, "引用内容"),
                                                         (desk.verify_answer, "要核对的内容")]
    for call, what in calls:
        with pytest.raises(ControlCharacterError) as caught:
            call(f"出纳{char}员职责")
        assert caught.value.message == what + reason
        assert caught.value.status_code == 422
