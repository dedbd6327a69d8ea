"""ingest.numbering: Chinese numerals and every numbering style a school document uses."""
from __future__ import annotations

import pytest

from ingest.numbering import article_numbers, blank_article_refs, cn_to_int, split_label


@pytest.mark.parametrize(("text", "value"), [
    ("一", 1), ("二", 2), ("两", 2), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23),
    ("一百零五", 105), ("〇", 0), ("105", 105), ("７", 7),
])
def test_cn_to_int_reads_chinese_and_arabic_numerals(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize("text", ["", "abc", "一a", "第一"])
def test_cn_to_int_is_none_for_anything_else(text: str) -> None:
    assert cn_to_int(text) is None


@pytest.mark.parametrize(("line", "style", "label", "number", "rest"), [
    ("一、总则", "cn", "一、", 1, "总则"),
    ("十二、附则", "cn", "十二、", 12, "附则"),
    ("一．工作目标", "cn", "一．", 1, "工作目标"),
    ("（一）请假一天以内的，由年级主任审批；", "paren_cn", "（一）", 1, "请假一天以内的，由年级主任审批；"),
    ("(二)熄灯后不得喧哗。", "paren_cn", "(二)", 2, "熄灯后不得喧哗。"),
    ("（十）其他工作。", "paren_cn", "（十）", 10, "其他工作。"),
    ("1.负责排课。", "num", "1.", 1, "负责排课。"),
    ("2．负责考试。", "num", "2．", 2, "负责考试。"),
    ("3、负责印章。", "num", "3、", 3, "负责印章。"),
    ("１．全角数字。", "num", "１．", 1, "全角数字。"),
    ("10. 负责档案。", "num", "10.", 10, "负责档案。"),
    ("4)负责值班。", "num", "4)", 4, "负责值班。"),
    ("3.7:20以后到校的学生，登记姓名。", "num", "3.", 3, "7:20以后到校的学生，登记姓名。"),  # an item about a time
    ("（1）命题。", "paren_num", "（1）", 1, "命题。"),
    ("(12)阅卷。", "paren_num", "(12)", 12, "阅卷。"),
    ("① 全面了解学生。", "circled", "①", 1, "全面了解学生。"),
    ("⑫十二号。", "circled", "⑫", 12, "十二号。"),
    ("第一章 总则", "chapter", "第一章", 1, "总则"),
    ("第三编 附录", "chapter", "第三编", 3, "附录"),
    ("第二节 请假", "jie", "第二节", 2, "请假"),
    ("第十二条 本办法自发布之日起施行。", "article", "第十二条", 12, "本办法自发布之日起施行。"),
    ("第6条 学生须穿校服。", "article", "第6条", 6, "学生须穿校服。"),
    ("第一条　全角空格分隔。", "article", "第一条", 1, "全角空格分隔。"),
    ("- 创新学习方式。", "bullet", "-", None, "创新学习方式。"),
    ("• 相关制度。", "bullet", "•", None, "相关制度。"),
])
def test_split_label_recognises_each_style(line: str, style: str, label: str, number: int | None,
                                           rest: str) -> None:
    numbered = split_label(line)
    assert numbered is not None
    assert (numbered.style, numbered.label, numbered.number, numbered.rest) == (style, label, number, rest)


@pytest.mark.parametrize("line", ["第一章", "第二节", "第三条"])
def test_a_bare_chapter_section_or_article_label_is_still_numbered(line: str) -> None:
    numbered = split_label(line)
    assert numbered is not None and numbered.rest == "" and numbered.number == int("123"["章节条".index(line[-1])])


def test_第一部分_is_a_whole_label_not_split_inside_the_word() -> None:
    numbered = split_label("第一部分 总体要求")
    assert numbered is not None
    assert (numbered.style, numbered.label, numbered.rest) == ("chapter", "第一部分", "总体要求")


@pytest.mark.parametrize("line", [
    "1.5倍课时费按月发放。",  # a decimal, not an item
    "一、二年级不布置书面家庭作业。",  # grades listed, not item 一
    "三、四年级每周两次。",
    "3.14",
    "2024年9月1日起施行。",
    "1.",  # a bare mark with nothing after it
    "一、",
    "（二）",
    "①",
    "-5度以下停止户外活动。",  # a minus sign, not a bullet
    "一是加强思想建设。",
    "A.负责外语教学。",
    "1.1 负责网络。",
    "学校实行校长负责制。",
    "",
])
def test_split_label_ignores_lines_that_are_not_items(line: str) -> None:
    assert split_label(line) is None


@pytest.mark.parametrize(("text", "numbers"), [
    ("考勤办法第三条是什么？", [3]),
    ("第 12 条和第十二条、第二十条", [12, 20]),
    ("第八條", [8]),
    ("第三章讲了什么", []),  # a chapter is not an article
    ("第几条规定了请假", []),
])
def test_article_numbers_in_a_question(text: str, numbers: list[int]) -> None:
    assert article_numbers(text) == numbers


def test_blank_article_refs_keeps_the_rest_in_place() -> None:
    assert blank_article_refs("考勤办法第三条是什么") == "考勤办法" + " " * 3 + "是什么"
