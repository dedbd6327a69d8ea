"""The office endpoints end to end: versions and diffs after an edit, fuzzy and batch verification, the audit log."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api import create_app
from bot.service import DutyDesk

V1 = """图书馆岗位职责

1. 负责图书借阅登记。
2. 负责期刊订阅工作。
3. 保持阅览室安静整洁。
"""
V2 = """图书馆岗位职责

1. 负责新生借书证办理。
2. 负责图书借阅登记。
3. 负责期刊订阅和装订工作。
"""
TOKEN = "office-admin-7788"


@pytest.fixture()
def office(make_desk: Callable[..., DutyDesk]) -> Iterator[tuple[TestClient, DutyDesk, Path]]:
    desk = make_desk({"图书馆.txt": V1})
    desk.settings = desk.settings.model_copy(update={"admin_token": SecretStr(TOKEN)})
    desk.ingest()
    with TestClient(create_app(desk, ingest_on_start=False)) as client:
        yield client, desk, desk.settings.knowledge_dir / "图书馆.txt"


def clause_id(client: TestClient, text: str) -> str:
    matches = client.post("/verify", json={"quote": text}).json()["matches"]
    assert len(matches) == 1, matches
    return matches[0]["id"]


def test_an_edit_makes_a_second_version_and_a_clause_level_diff(office: tuple[TestClient, DutyDesk, Path]) -> None:
    client, desk, path = office
    cited = clause_id(client, "负责期刊订阅工作。")
    kept = clause_id(client, "负责图书借阅登记。")
    path.write_text(V2, encoding="utf-8")
    desk.ingest()
    [document] = client.get("/documents").json()
    assert document["versions"] == 2
    versions = client.get(f"/documents/{document['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["sha256"] != versions[1]["sha256"]
    diff = client.get(f"/documents/{document['id']}/diff", params={"from_version": 1, "to_version": 2}).json()
    assert [c["text"] for c in diff["added"]] == ["负责新生借书证办理。"]
    assert [c["text"] for c in diff["removed"]] == ["保持阅览室安静整洁。"]
    assert [(c["before"]["text"], c["after"]["text"]) for c in diff["changed"]] == \
        [("负责期刊订阅工作。", "负责期刊订阅和装订工作。")]
    assert diff["changed"][0]["before"]["id"] == diff["changed"][0]["after"]["id"] == cited
    # The unchanged clause kept its id although an item was inserted before it.
    assert clause_id(client, "负责图书借阅登记。") == kept
    stale = client.post("/verify", json={"quote": "负责期刊订阅工作。", "citation_id": cited}).json()
    assert stale["stale"] is True and stale["verified"] is False
    assert stale["current"]["text"] == "负责期刊订阅和装订工作。"
    assert stale["previous"]["text"] == "负责期刊订阅工作。"


def test_a_misquote_comes_back_with_the_nearest_clauses(office: tuple[TestClient, DutyDesk, Path]) -> None:
    client, _, _ = office
    body = client.post("/verify", json={"quote": "负责期刊的订阅与发放工作"}).json()
    assert body["verified"] is False and body["matches"] == []
    nearest = body["nearest"]
    assert nearest[0]["clause"]["text"] == "负责期刊订阅工作。"
    assert 0.5 < nearest[0]["similarity"] < 1.0
    assert nearest == sorted(nearest, key=lambda n: -n["similarity"])


def test_a_pasted_answer_is_checked_part_by_part(office: tuple[TestClient, DutyDesk, Path]) -> None:
    client, desk, path = office
    ids = [clause_id(client, "负责图书借阅登记。"), clause_id(client, "负责期刊订阅工作。")]
    path.write_text(V2, encoding="utf-8")
    desk.ingest()
    pasted = "图书馆负责：「负责图书借阅登记。」[1]，以及「负责期刊订阅工作。」[2]，另有「负责校车调度。」；见[3]。"
    parts = client.post("/verify/batch", json={"text": pasted, "citation_ids": ids}).json()["parts"]
    status = {(p["text"], p["marker"]): p["status"] for p in parts}
    assert status == {("负责图书借阅登记。", 1): "verified", ("负责期刊订阅工作。", 2): "stale",
                      ("负责校车调度。", None): "not_found", ("", 3): "unresolved"}


def test_every_verification_is_audited_for_the_admin_only(office: tuple[TestClient, DutyDesk, Path]) -> None:
    client, _, _ = office
    client.post("/verify", json={"quote": "负责图书借阅登记。"})
    client.post("/verify", json={"quote": "没有这一条"})
    assert client.get("/audit").status_code == 401
    assert client.get("/audit", headers={"Authorization": "Bearer wrong"}).status_code == 401
    entries = client.get("/audit", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [e["verified"] for e in entries[:2]] == [False, True]  # newest first
    assert all(len(e["quote_sha256"]) == 64 for e in entries)
    assert "没有这一条" not in str(entries)  # only a hash of what was pasted is kept
