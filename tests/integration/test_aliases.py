"""knowledge/aliases.txt: staff's words for the documents' names, read at ingest, never a rule."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.service import DutyDesk

ROLES = "学校岗位职责\n\n炊事员岗位职责\n1．按时开饭，保证饭菜卫生。\n2．注意食品的新鲜，变质食品不下锅。\n\n" \
        "网络管理员岗位职责\n1．负责校园网络的运行维护。\n2．负责教职工邮箱账号的开通。\n"


def test_the_alias_file_is_vocabulary_not_a_document(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"岗位.txt": ROLES, "aliases.txt": "炊事员: 食堂师傅, 大师傅\n网络管理员：管电脑的老师\n"})
    assert not desk.ingest().failed
    assert [d.path for d in desk.documents()] == ["岗位.txt"]
    assert desk.knowledge().aliases["炊事员"] == ["食堂师傅", "大师傅"]
    result = desk.ask("食堂师傅有哪些职责？")
    assert result.question.startswith("炊事员") and result.answer.owner == "炊事员"
    assert all(hit.clause.owner == "炊事员" for hit in result.answer.citations)


def test_editing_the_alias_file_takes_effect_on_the_next_ingest(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"岗位.txt": ROLES})
    assert not desk.ingest().failed
    assert desk.ask("管电脑的老师有哪些职责？").answer.owner != "网络管理员"
    generation = desk.knowledge().manifest.generation
    aliases = Path(desk.settings.knowledge_dir) / "aliases.txt"
    aliases.write_text("网络管理员: 管电脑的老师\n", encoding="utf-8")
    report = desk.ingest()
    assert report.embedded == 0  # nothing re-embedded: only the vocabulary changed
    assert desk.knowledge().manifest.generation == generation + 1
    assert desk.ask("管电脑的老师有哪些职责？").answer.owner == "网络管理员"
