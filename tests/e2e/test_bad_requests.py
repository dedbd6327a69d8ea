"""Bad requests against the real app over HTTP (uvicorn on 127.0.0.1, HashEmbedder, real chromadb).

Every caller mistake is a 4xx with a JSON `{"detail": ...}`, never a 5xx and never a 200 with an
error inside: empty/blank/huge/binary questions, control characters, wrong JSON types, unknown
fields, absurd top_k, over-size and deeply nested bodies, wrong content types, wrong methods, path
traversal in ids, very long URLs, bad /verify, /verify/batch and /documents/{id}/diff parameters.
Also: /audit behind DUTYDESK_ADMIN_TOKEN (closed when unset), no CORS header for other origins,
the DUTYDESK_MAX_REQUEST_BYTES limit (413) and the optional DUTYDESK_API_RATE_LIMIT (429).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.service import DutyDesk
from ingest.settings import Settings
from tests.conftest import SMALL_CORPUS, write_docs
from tests.fakes.embedders import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "e2e-admin-token-7Q2x"
DEFAULT_BODY_LIMIT = 262_144
EVIL_ORIGIN = "http://evil.example"




def make_desk(root: Path, **overrides: Any) -> DutyDesk:
    """A desk over SMALL_CORPUS in root, ingested with the HashEmbedder; settings from overrides only."""
    write_docs(root / "knowledge", SMALL_CORPUS)
    settings = Settings(_env_file=None, data_dir=root / "data", knowledge_dir=root / "knowledge",  # type: ignore[call-arg]
                        chroma_url=None, answer_mode="extractive", top_k=5, **overrides)
    desk = DutyDesk(settings, HashEmbedder())
    assert not desk.ingest().failed
    return desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> DutyDesk:
    """The main desk: admin token set, body limit and rate limit at their defaults."""
    return make_desk(tmp_path_factory.mktemp("bad_requests"), admin_token=ADMIN_TOKEN)


@pytest.fixture(scope="module")
def client(desk: DutyDesk, serve_desk: Callable[..., Any]) -> Iterator[httpx.Client]:
    """HTTP client of the main server."""
    with serve_desk(desk) as http:
        yield http


@pytest.fixture(scope="module")
def closed_client(tmp_path_factory: pytest.TempPathFactory, serve_desk: Callable[..., Any]) -> Iterator[httpx.Client]:
    """A server without DUTYDESK_ADMIN_TOKEN."""
    with serve_desk(make_desk(tmp_path_factory.mktemp("closed"))) as http:
        yield http


@pytest.fixture(scope="module")
def ids(desk: DutyDesk) -> dict[str, str]:
    """A real clause id and document id of the corpus."""
    clause = desk.knowledge().clauses[0]
    return {"clause": clause.id, "doc": clause.doc_id, "text": clause.text}


def assert_client_error(response: httpx.Response, status: int | tuple[int, ...] | None = None) -> Any:
    """A 4xx (the given one, if any) whose body is JSON with a non-empty detail; returns the detail."""
    expected = (status,) if isinstance(status, int) else status
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if expected:
        assert response.status_code in expected, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    detail = response.json()["detail"]
    assert detail, response.text[:500]
    return detail


# --- /ask: bad questions and bodies ----------------------------------------------------------------

JSON = {"content-type": "application/json"}

BAD_ASK: dict[str, dict[str, Any]] = {
    "empty question": {"json": {"question": ""}},
    "blank question": {"json": {"question": "   \u3000\t\n"}},
    "control characters only": {"json": {"question": "\x00\x01\x02\x1f\x7f"}},
    "question over 500 chars": {"json": {"question": "问" * 501}},
    "question 100 KB": {"json": {"question": "问" * 30_000}},
    "question missing": {"json": {"top_k": 3}},
    "question null": {"json": {"question": None}},
    "question number": {"json": {"question": 123}},
    "question list": {"json": {"question": ["门卫"]}},
    "question object": {"json": {"question": {"text": "门卫"}}},
    "question bool": {"json": {"question": True}},
    "top_k string": {"json": {"question": "门卫职责", "top_k": "3"}},
    "top_k float": {"json": {"question": "门卫职责", "top_k": 2.5}},
    "top_k bool": {"json": {"question": "门卫职责", "top_k": True}},
    "top_k zero": {"json": {"question": "门卫职责", "top_k": 0}},
    "top_k negative": {"json": {"question": "门卫职责", "top_k": -1}},
    "top_k 51": {"json": {"question": "门卫职责", "top_k": 51}},
    "top_k 10**100": {"json": {"question": "门卫职责", "top_k": 10**100}},
    "top_k 1e308": {"json": {"question": "门卫职责", "top_k": 1e308}},
    "top_k 5000 digits": {"content": b'{"question": "x", "top_k": ' + b"9" * 5000 + b"}", "headers": JSON},
    "top_k NaN": {"content": b'{"question": "x", "top_k": NaN}', "headers": JSON},
    "top_k Infinity": {"content": b'{"question": "x", "top_k": Infinity}', "headers": JSON},
    "unknown field": {"json": {"question": "门卫职责", "debug": True}},
    "conversation_id empty": {"json": {"question": "门卫职责", "conversation_id": ""}},
    "conversation_id too long": {"json": {"question": "门卫职责", "conversation_id": "c" * 201}},
    "body is a list": {"json": [{"question": "门卫职责"}]},
    "body is a string": {"json": "门卫职责"},
    "body is null": {"content": b"null", "headers": JSON},
    "no body": {},
    "empty body": {"content": b"", "headers": JSON},
    "invalid JSON": {"content": b'{"question": ', "headers": JSON},
    "binary body": {"content": bytes(range(256)) * 4, "headers": JSON},
    "invalid UTF-8 in JSON": {"content": b'{"question": "\xff\xfe\x00abc"}', "headers": JSON},
    "lone surrogate": {"content": b'{"question": "\\ud800"}', "headers": JSON},
    "GBK-encoded JSON": {"content": '{"question": "门卫职责"}'.encode("gbk"), "headers": JSON},
    "deeply nested arrays": {"content": b'{"question": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "headers": JSON},
    "deeply nested objects": {"content": b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "headers": JSON},
    "text/plain": {"content": json.dumps({"question": "门卫职责"}), "headers": {"content-type": "text/plain"}},
    "form": {"data": {"question": "门卫职责"}},
    "multipart": {"files": {"question": ("q.txt", "门卫职责".encode())}},
    "xml": {"content": "<question>门卫职责</question>".encode(), "headers": {"content-type": "application/xml"}},
}


@pytest.mark.parametrize("case", list(BAD_ASK))
@pytest.mark.parametrize("route", ["/ask", "/ask/stream"])
def test_bad_ask_bodies_are_4xx(client: httpx.Client, route: str, case: str) -> None:
    """Each malformed /ask (and /ask/stream) body: a 4xx with a JSON detail."""
    assert_client_error(client.post(route, **BAD_ASK[case]))


def test_validation_errors_do_not_echo_the_input(client: httpx.Client) -> None:
    """A 100 KB question is rejected without being sent back."""
    response = client.post("/ask", json={"question": "问" * 30_000})
    assert_client_error(response, 422)
    assert len(response.content) < 2_000


@pytest.mark.parametrize("question", ["\ufffd\u0089PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "ÿØÿà\x00\x10JFIF",
                                      "\u202e门卫\u202d职责", "门卫\x00职责\x1b[31m"])
def test_binary_looking_questions_are_answered_or_refused(client: httpx.Client, question: str) -> None:
    """Questions of binary junk: a 4xx, or a 200 that is an answer/refusal (never a 5xx)."""
    response = client.post("/ask", json={"question": question})
    if response.status_code != 200:
        assert_client_error(response)
    else:
        assert set(response.json()) >= {"answer", "refused", "citations"}


def test_a_valid_question_still_works(client: httpx.Client) -> None:
    """The control case: the server answers normal questions between the bad ones."""
    response = client.post("/ask", json={"question": "出纳员有哪些职责？", "top_k": 50})
    assert response.status_code == 200, response.text
    assert response.json()["citations"]


# --- body size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [DEFAULT_BODY_LIMIT + 1, 1_000_000, 5_000_000])
def test_over_size_body_is_413(client: httpx.Client, size: int) -> None:
    """A body over DUTYDESK_MAX_REQUEST_BYTES (default 262144) is refused with 413 before it is parsed."""
    body = json.dumps({"question": "门卫职责", "pad": "x" * size}).encode()
    assert_client_error(client.post("/ask", content=body, headers=JSON), 413)


@pytest.mark.parametrize("route", ["/verify", "/verify/batch"])
def test_over_size_body_is_413_on_every_route(client: httpx.Client, route: str) -> None:
    """The limit is the app's, not /ask's."""
    body = json.dumps({"quote": "门" * 2_000_000}).encode()
    assert_client_error(client.post(route, content=body, headers=JSON), 413)


def test_body_just_under_the_limit_is_not_413(client: httpx.Client) -> None:
    """A body under the limit reaches validation (422: the question is too long), not 413."""
    body = json.dumps({"question": "x" * (DEFAULT_BODY_LIMIT - 100)}).encode()
    assert len(body) <= DEFAULT_BODY_LIMIT
    assert_client_error(client.post("/ask", content=body, headers=JSON), 422)


@pytest.mark.parametrize("route", ["/ask", "/verify/batch"])
def test_chunked_over_size_body_is_413(client: httpx.Client, route: str) -> None:
    """Without Content-Length (chunked transfer), an over-size body is still a 413."""

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    assert_client_error(client.post(route, content=chunks(), headers=JSON), 413)


def test_chunked_small_body_is_accepted(client: httpx.Client) -> None:
    """Chunked transfer itself is fine."""

    def chunks() -> Iterator[bytes]:
        yield '{"question": "出纳员'.encode()
        yield '有哪些职责？"}'.encode()

    assert client.post("/ask", content=chunks(), headers=JSON).status_code == 200


def test_max_request_bytes_setting_is_honoured(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_MAX_REQUEST_BYTES=4096: 5000 bytes → 413; 3000 bytes → on to validation (422)."""
    with serve_desk(make_desk(tmp_path, max_request_bytes=4096)) as http:
        assert_client_error(http.post("/ask", content=json.dumps({"question": "x" * 5000}), headers=JSON), 413)
        assert_client_error(http.post("/ask", content=json.dumps({"question": "x" * 3000}), headers=JSON), 422)
        assert http.post("/ask", json={"question": "出纳员有哪些职责？"}).status_code == 200


# --- methods, routes, URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ask"), ("GET", "/ask/stream"), ("GET", "/verify"), ("GET", "/verify/batch"), ("PUT", "/ask"),
    ("DELETE", "/ask"), ("PATCH", "/verify"), ("POST", "/healthz"), ("POST", "/owners"), ("POST", "/documents"),
    ("DELETE", "/documents"), ("POST", "/audit"),
])
def test_wrong_method_is_405(client: httpx.Client, method: str, path: str) -> None:
    """A route called with the wrong method: 405 with JSON detail."""
    assert_client_error(client.request(method, path), 405)


TRAVERSAL = [
    "/clauses/..%2F..%2F..%2Fetc%2Fpasswd", "/clauses/%2e%2e%2f%2e%2e%2fmanifest.json", "/clauses/%00",
    "/clauses/%FF%FE", "/owners/..%2F..%2F..%2Fetc%2Fpasswd", "/owners/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/owners/%ED%A0%80", "/owners/%00", "/documents/..%2F..%2Fetc%2Fpasswd/versions",
    "/documents/%2e%2e/diff?from_version=1&to_version=1", "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/..%2Fapi.py", "/static/%2e%2e/%2e%2e/bot/api.py", "/static/index.html%00.js", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%5C..%5Capi.py",
]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_path_traversal_in_ids_is_404(client: httpx.Client, path: str) -> None:
    """Ids that try to climb out: a 404 that reveals no file."""
    response = client.get(path)
    assert_client_error(response, 404)
    for leaked in ("root:x:0:0", "import ", "def ", '"generation"', "clause_ids"):
        assert leaked not in response.text, (path, response.text[:300])


@pytest.mark.parametrize("length", [2_000, 8_000, 60_000])
def test_very_long_urls(client: httpx.Client, length: int) -> None:
    """Long ids and query strings: a 4xx (404, 414 or 431), never a 5xx."""
    for path in (f"/clauses/{'a' * length}", f"/owners/{'甲' * (length // 9)}",
                 f"/documents/{'d' * length}/versions", f"/documents/x/diff?from_version={'9' * length}&to_version=1"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path[:40], response.status_code)


def test_unknown_route_is_404_json(client: httpx.Client) -> None:
    assert_client_error(client.get("/no/such/route"), 404)


# --- /verify, /verify/batch, /documents/{id}/diff ------------------------------------------------------


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"quote": ""}, 422), ({"quote": None}, 422), ({"quote": 123}, 422), ({"quote": ["门卫"]}, 422),
    ({"quote": "。。。，，！"}, 400), ({"quote": "   "}, 400), ({"quote": "\x00\x01"}, 422),
    ({"quote": "门" * 20_001}, 422), ({"quote": "门卫", "citation_id": "c" * 201}, 422),
    ({"quote": "门卫", "citation_id": 5}, 422), ({"quote": "门卫", "extra": 1}, 422),
    ({"quote": "门卫", "citation_id": "nope-1"}, 404), ({"quote": "门卫", "citation_id": "../../etc/passwd"}, 404),
])
def test_bad_verify_requests(client: httpx.Client, body: dict[str, Any], status: int) -> None:
    """/verify: missing, empty, punctuation-only, over-long quotes and unknown ids."""
    assert_client_error(client.post("/verify", json=body), status)


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"text": ""}, 422), ({"text": None}, 422), ({"text": 1}, 422), ({"text": "   \n"}, 400),
    ({"text": "门" * 50_001}, 422), ({"text": "门卫 [1]", "citation_ids": "a"}, 422),
    ({"text": "门卫 [1]", "citation_ids": [1, 2]}, 422), ({"text": "门卫 [1]", "citation_ids": ["a"] * 201}, 422),
    ({"text": "门卫 [1]", "citation_ids": [None]}, 422), ({"text": "门卫", "unknown": True}, 422),
])
def test_bad_verify_batch_requests(client: httpx.Client, body: dict[str, Any], status: int) -> None:
    """/verify/batch: missing or blank text, wrong citation_ids types, too many ids."""
    assert_client_error(client.post("/verify/batch", json=body), status)


@pytest.mark.parametrize("text", ["[0]", "[99999999999999999999]", "“按时发放工资和奖金” [-1]", "[1][1][1]" * 500,
                                  "“" * 1000, "”“" * 1000])
def test_odd_verify_batch_texts_are_not_5xx(client: httpx.Client, text: str) -> None:
    """Odd markers and quote marks in a pasted answer: answered part by part, or a 4xx."""
    response = client.post("/verify/batch", json={"text": text, "citation_ids": ["nope-1"]})
    if response.status_code != 200:
        assert_client_error(response)
    else:
        assert "parts" in response.json()


@pytest.mark.parametrize(("query", "status"), [
    ("", 422), ("?from_version=1", 422), ("?to_version=1", 422), ("?from_version=0&to_version=1", 422),
    ("?from_version=-1&to_version=1", 422), ("?from_version=abc&to_version=1", 422),
    ("?from_version=1.5&to_version=1", 422), ("?from_version=%FF&to_version=1", 422),
    ("?from_version=1&to_version=99", 404), (f"?from_version=1&to_version={10**30}", 404),
])
def test_bad_diff_parameters(client: httpx.Client, ids: dict[str, str], query: str, status: int) -> None:
    """/documents/{id}/diff: missing, non-integer, non-positive and unknown versions."""
    assert_client_error(client.get(f"/documents/{ids['doc']}/diff{query}"), status)


def test_diff_and_versions_of_an_unknown_document_are_404(client: httpx.Client) -> None:
    assert_client_error(client.get("/documents/no-such-doc/diff?from_version=1&to_version=1"), 404)
    assert_client_error(client.get("/documents/no-such-doc/versions"), 404)


def test_good_verify_and_diff_still_work(client: httpx.Client, ids: dict[str, str]) -> None:
    """The control case for the parameters above."""
    verified = client.post("/verify", json={"quote": ids["text"], "citation_id": ids["clause"]})
    assert verified.status_code == 200 and verified.json()["verified"] is True
    diff = client.get(f"/documents/{ids['doc']}/diff?from_version=1&to_version=1")
    assert diff.status_code == 200, diff.text


# --- /audit and the admin token ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": f"Bearer {ADMIN_TOKEN}"}, {"Authorization": "Bearer x"}])
def test_audit_is_closed_without_an_admin_token(closed_client: httpx.Client, headers: dict[str, str]) -> None:
    """DUTYDESK_ADMIN_TOKEN unset: /audit is 403 whatever the caller sends."""
    assert_client_error(closed_client.get("/audit", headers=headers), 403)


def test_audit_is_closed_with_an_empty_admin_token(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_ADMIN_TOKEN='' counts as unset: an empty bearer does not open it."""
    with serve_desk(make_desk(tmp_path, admin_token="")) as http:
        assert_client_error(http.get("/audit"), 403)
        assert_client_error(http.get("/audit", headers={"Authorization": "Bearer"}), 403)


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer wrong", f"Bearer {ADMIN_TOKEN[:-1]}", f"Bearer {ADMIN_TOKEN}x",
    f"Basic {ADMIN_TOKEN}", f"Bearer {ADMIN_TOKEN.upper()}", "Bearer 令牌",
])
def test_audit_rejects_missing_or_wrong_tokens(client: httpx.Client, authorization: str | None) -> None:
    """Token set: no header or a wrong one → 401 with JSON detail, and no audit rows."""
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/audit", headers={k: v.encode() for k, v in headers.items()})  # type: ignore[misc]
    assert_client_error(response, 401)
    assert "quote_sha256" not in response.text


def test_audit_with_the_right_token(client: httpx.Client, ids: dict[str, str]) -> None:
    """Token set and sent as a bearer: 200 with the verification log (quotes stored as hashes only)."""
    client.post("/verify", json={"quote": ids["text"]})
    response = client.get("/audit", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    rows = response.json()
    assert rows and set(rows[0]) == {"at", "quote_sha256", "citation_id", "verified", "stale"}
    assert ids["text"] not in response.text
    assert_client_error(client.get("/audit?limit=0", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}), 422)
    assert_client_error(client.get("/audit?limit=abc", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}), 422)


def test_admin_token_is_not_echoed(client: httpx.Client) -> None:
    """A wrong token is not reflected in the error."""
    response = client.get("/audit", headers={"Authorization": "Bearer guess-me-123"})
    assert "guess-me-123" not in response.text


# --- CORS ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/healthz"), ("POST", "/ask"), ("GET", "/owners")])
def test_cross_origin_requests_get_no_cors_header(client: httpx.Client, method: str, path: str) -> None:
    """CORS is closed by default: no Access-Control-Allow-Origin for another origin."""
    kwargs: dict[str, Any] = {"json": {"question": "出纳员有哪些职责？"}} if method == "POST" else {}
    response = client.request(method, path, headers={"Origin": EVIL_ORIGIN}, **kwargs)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def test_cors_preflight_is_not_granted(client: httpx.Client) -> None:
    """A preflight from another origin is not approved."""
    response = client.options("/ask", headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "content-type"})
    assert response.status_code >= 400 or "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


# --- rate limit ----------------------------------------------------------------------------------------


def test_no_rate_limit_by_default(client: httpx.Client) -> None:
    """DUTYDESK_API_RATE_LIMIT defaults to 0 (off): a burst of questions is answered."""
    for _ in range(25):
        assert client.post("/ask", json={"question": "出纳员有哪些职责？"}).status_code == 200


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, serve_desk: Callable[..., Any]) -> None:
    """DUTYDESK_API_RATE_LIMIT=3: the 4th question within a minute is 429 with Retry-After; so is every other
    POST (test_hardening.py), while GET routes stay open."""
    with serve_desk(make_desk(tmp_path, api_rate_limit=3)) as http:
        for _ in range(3):
            assert http.post("/ask", json={"question": "出纳员有哪些职责？"}).status_code == 200
        limited = http.post("/ask", json={"question": "出纳员有哪些职责？"})
        assert_client_error(limited, 429)
        retry_after = limited.headers.get("retry-after")
        assert retry_after is not None and retry_after.isdigit() and 1 <= int(retry_after) <= 60, limited.headers
        assert_client_error(http.post("/ask/stream", json={"question": "出纳员有哪些职责？"}), 429)
        assert http.get("/healthz").status_code == 200
        assert_client_error(http.post("/verify", json={"quote": "按时发放工资和奖金"}), 429)
