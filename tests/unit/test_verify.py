"""bot.verify: does a quote stand verbatim in today's rules, and has the cited clause changed since?"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.service import DutyDesk
from bot.verify import squash, verify_quote
from ingest.errors import InvalidRequestError, NotFoundError

KEYS = "gwzz-susheguanliy-2"
DUTIES = ("宿舍管理员岗位职责\n1．每晚九点半清点住宿学生人数。\n2．负责宿舍钥匙的登记保管。\n"
          "3．每周三下午组织宿舍内务评比，评比结果在公告栏公示。\n")


def test_squash_drops_whitespace_quotation_marks_and_markers() -> None:
    assert squash(" 「2． 负责\u3000宿舍钥匙\n的登记保管。」[1] “ok” ") == "2．负责宿舍钥匙的登记保管。ok"


@pytest.mark.parametrize("quote", [
    "负责宿舍钥匙的登记保管。",
    "负责 宿舍钥匙\n的登记\u3000保管。",  # whitespace-insensitive
    "「2． 负责宿舍钥匙的登记保管。」[1]",  # as the answer quotes it: label, brackets, marker
    "2.负责宿舍钥匙的登记保管。",
    "“宿舍钥匙的登记保管”",  # a part of the clause
])
def test_a_quote_that_stands_in_the_rules_is_verified(small_desk: DutyDesk, quote: str) -> None:
    result = small_desk.verify(quote)
    assert result.verified and not result.stale and result.current is None
    assert [c.id for c in result.matches] == [KEYS]


@pytest.mark.parametrize("quote", ["负责宿舍钥匙的保管。", "宿舍钥匙由总务处保管", "3． 负责宿舍钥匙的登记保管。x"])
def test_a_quote_that_differs_in_any_word_is_not_verified(small_desk: DutyDesk, quote: str) -> None:
    result = small_desk.verify(quote)
    assert not result.verified and result.matches == []


def test_a_quote_found_in_several_clauses_lists_them_all(small_desk: DutyDesk) -> None:
    result = small_desk.verify("须提供医院诊断证明")
    assert [c.label for c in result.matches] == ["第三条", "第四条"]


def test_a_current_citation_is_not_stale(small_desk: DutyDesk) -> None:
    result = small_desk.verify("负责宿舍钥匙的登记保管。", KEYS)
    assert result.verified and not result.stale
    assert result.current == small_desk.clause(KEYS)


def test_a_wrong_quote_with_a_current_id_is_unverified_but_not_stale(small_desk: DutyDesk) -> None:
    result = small_desk.verify("负责宿舍钥匙的遗失赔偿。", KEYS)
    assert not result.verified and not result.stale and result.current is not None


def test_an_id_the_index_never_saw_is_not_found(small_desk: DutyDesk) -> None:
    with pytest.raises(NotFoundError):
        small_desk.verify("负责宿舍钥匙的登记保管。", "gwzz-nobody-9")
    knowledge = small_desk.knowledge()
    with pytest.raises(NotFoundError):
        verify_quote("负责宿舍钥匙的登记保管。", "gwzz-nobody-9", knowledge, history={})


@pytest.mark.parametrize("quote", ["", "   \n"])
def test_an_empty_quote_is_the_caller_mistake(small_desk: DutyDesk, quote: str) -> None:
    with pytest.raises(InvalidRequestError):
        small_desk.verify(quote)


# --- stale citations: the rules changed since the quote was taken -----------------------------------


def test_an_edited_clause_makes_an_old_quote_stale(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"职责.txt": DUTIES})
    desk.ingest()
    [old] = [c for c in desk.knowledge().clauses if "钥匙" in c.text]
    (desk.settings.knowledge_dir / "职责.txt").write_text(
        DUTIES.replace("宿舍钥匙的登记保管", "宿舍钥匙和门禁卡的登记保管"), encoding="utf-8")
    assert desk.ingest().updated == ["职责.txt"]
    result = desk.verify(old.text, old.id)
    assert not result.verified and result.stale
    assert result.current is not None and result.current.id == old.id
    assert result.current.text == "负责宿舍钥匙和门禁卡的登记保管。"
    fresh = desk.verify(result.current.text, old.id)
    assert fresh.verified and not fresh.stale


def test_a_removed_clause_makes_its_quote_stale_without_a_current_text(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"职责.txt": DUTIES})
    desk.ingest()
    [old] = [c for c in desk.knowledge().clauses if "内务评比" in c.text]
    (desk.settings.knowledge_dir / "职责.txt").write_text(DUTIES.split("3．")[0], encoding="utf-8")
    desk.ingest()
    result = desk.verify(old.text, old.id)
    assert (result.verified, result.stale, result.current) == (False, True, None)


def test_a_removed_document_still_resolves_old_ids_as_stale(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"职责.txt": DUTIES, "其他.txt": "出纳员岗位职责\n1．按时发放工资。\n"})
    desk.ingest()
    [old] = [c for c in desk.knowledge().clauses if "钥匙" in c.text]
    (desk.settings.knowledge_dir / "职责.txt").unlink()
    assert desk.ingest().removed == ["职责.txt"]
    result = desk.verify(old.text, old.id)
    assert (result.verified, result.stale, result.current) == (False, True, None)
    with pytest.raises(NotFoundError):
        desk.clause(old.id)


def test_an_unchanged_clause_of_an_edited_document_stays_current(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"职责.txt": DUTIES})
    desk.ingest()
    [keep] = [c for c in desk.knowledge().clauses if "清点" in c.text]
    (desk.settings.knowledge_dir / "职责.txt").write_text(
        DUTIES.replace("1．每晚", "0．值班前签到。\n1．每晚"), encoding="utf-8")
    desk.ingest()
    result = desk.verify(keep.text, keep.id)
    assert result.verified and not result.stale and result.current.text == keep.text  # type: ignore[union-attr]
