"""ingest.ids: readable, stable, unique clause and document ids."""
from __future__ import annotations

import re

import pytest

from ingest.ids import assign_ids, document_id, slug
from ingest.model import Clause, Source

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def clause(text: str, owner: str | None = None, label: str | None = None,
           section: tuple[str, ...] = (), position: int = 0) -> Clause:
    """A clause without an id, as the parser hands it to assign_ids."""
    return Clause(id="", doc_id="zz", document="职责", section=section, owner=owner, contact=None, label=label,
                  text=text, source=Source("职责.txt", position + 1, position + 1), position=position)


@pytest.mark.parametrize(("text", "initials", "expected"), [
    ("班主任", False, "ban-zhu-ren"),
    ("班主任", True, "bzr"),
    ("学校各岗位职责", True, "xxggwzz"),
    ("2024-2025学年工作计划", True, "2024-2025xngzjh"),
    ("Library Rules", False, "library-rules"),
    ("！！！", False, ""),
])
def test_slug(text: str, initials: bool, expected: str) -> None:
    assert slug(text, initials=initials, limit=40) == expected


def test_slug_is_cut_to_its_limit_without_a_trailing_dash() -> None:
    assert slug("固定资产管理员岗位职责", limit=13) == "gu-ding-zi-ch"
    assert not slug("固定资产管理员岗位职责", limit=12).endswith("-")


def test_document_id_uses_pinyin_initials_and_falls_back_to_doc() -> None:
    assert document_id("学校各岗位职责") == "xxggwzz"
    assert document_id("教育局年度工作计划八篇") == "jyjndgzjhbp"
    assert document_id("！！") == "doc"


def test_ids_name_the_owner_and_use_the_label_number() -> None:
    clauses = assign_ids([clause("了解学生。", "班主任", "1."), clause("组织班会。", "班主任", "（二）"),
                          clause("第三条。", "班主任", "第三条"), clause("家访。", "班主任", "④")], "zz")
    assert [c.id for c in clauses] == ["zz-banzhuren-1", "zz-banzhuren-2", "zz-banzhuren-3", "zz-banzhuren-4"]


def test_unlabelled_bulleted_and_repeated_numbers_get_running_p_ids() -> None:
    clauses = assign_ids([clause("前言。", "会计"), clause("核算。", "会计", "1."), clause("重复。", "会计", "1."),
                          clause("要点。", "会计", "-"), clause("附注。", "会计")], "zz")
    assert [c.id for c in clauses] == ["zz-kuaiji-p1", "zz-kuaiji-1", "zz-kuaiji-p2", "zz-kuaiji-p3", "zz-kuaiji-p4"]


def test_without_an_owner_the_innermost_heading_names_the_section() -> None:
    clauses = assign_ids([clause("按时签到。", section=("第一章 总则", "第二节 考勤"), label="第一条"),
                          clause("前言。"), clause("要求。", section=("三、工作要求",))], "zz")
    assert [c.id for c in clauses] == ["zz-kq-1", "zz-p-p1", "zz-gzyq-p1"]


def test_ids_are_unique_stable_and_ascii_on_a_large_mixed_input() -> None:
    owners = [None, "班主任", "教务处", "工会（女工）干事"]
    labels = [None, "1.", "2.", "1.", "（一）", "-", "第十二条", "⑫"]
    raw = [clause(f"第{i}项。", owners[i % 4], labels[i % 8], section=(f"{i % 3}、章节",), position=i)
           for i in range(200)]
    first, second = assign_ids(raw, "zz"), assign_ids(raw, "zz")
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == 200
    assert all(_ID.match(c.id) and c.id.startswith("zz-") for c in first)
    assert [c.text for c in first] == [c.text for c in raw]  # only the id changes


def test_assign_ids_keeps_everything_but_the_id() -> None:
    original = clause("了解学生。", "班主任", "1.", section=("班主任岗位职责",))
    [named] = assign_ids([original], "zz")
    assert named.id == "zz-banzhuren-1"
    assert {**named.to_dict(), "id": ""} == original.to_dict()
