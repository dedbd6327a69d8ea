"""ingest.parse (with clean, owners and tables): Chinese policy documents → clauses.

Documents are written inline (or read from tests/data) and go through the same path as ingest:
`ingest.pipeline.parse_file`. Every parsed document is also checked against invariants that hold
for any input: clause text is verbatim from the cited source lines except whitespace, lines are
1-based and ordered, ids are unique and stable, sha256 is the text's.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_text
from ingest.model import Clause, ParsedDocument
from ingest.owners import find_contact, looks_like_name, owner_from_heading, owner_from_lead_in, plan_owner
from ingest.pipeline import parse_file

DATA = Path(__file__).resolve().parent.parent / "data"
PARSE_DATA = DATA / "parse"
KNOWLEDGE = Path(__file__).resolve().parent.parent.parent / "knowledge"
_LAYOUT = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]|\\?\||<br\s*/?>", re.IGNORECASE)


# --- helpers -------------------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text without whitespace, table pipes and <br>: what "verbatim except whitespace" compares."""
    return _LAYOUT.sub("", text)


def check_invariants(doc: ParsedDocument, source: list[str]) -> None:
    """What must hold for every parsed document, whatever its layout."""
    ids = [c.id for c in doc.clauses]
    assert len(ids) == len(set(ids)), "clause ids must be unique"
    assert [c.position for c in doc.clauses] == list(range(len(doc.clauses)))
    starts = [c.source.line_start for c in doc.clauses]
    assert starts == sorted(starts), "clauses come in document order"
    for clause in doc.clauses:
        assert clause.text and clause.text == clause.text.strip()
        assert clause.sha256 == hashlib.sha256(clause.text.encode("utf-8")).hexdigest()
        assert clause.doc_id == doc.id and clause.document == doc.title and clause.source.path == doc.path
        assert 1 <= clause.source.line_start <= clause.source.line_end <= len(source)
        cited = squash("".join(source[clause.source.line_start - 1:clause.source.line_end]))
        assert squash(clause.text) in cited, f"{clause.id}: text is not verbatim from its lines"
        assert squash(clause.text)[:6] in squash(source[clause.source.line_start - 1]), clause.id
        assert "<br" not in clause.text and not clause.text.startswith("|") and not clause.text.endswith("|")
        if clause.label:
            assert squash(clause.label) in squash(source[clause.source.line_start - 1])


def parse_text(tmp_path: Path, text: str, name: str = "规章制度.txt") -> ParsedDocument:
    """Write text to a file and parse it exactly as ingest does (invariants checked)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return parse_path(path)


def parse_path(path: Path, key: str | None = None) -> ParsedDocument:
    """Parse a file; check the invariants against the text the loader produced."""
    doc = parse_file(path, key or path.name, "doc", "0" * 64)
    check_invariants(doc, load_text(path).split("\n"))
    return doc


def find(doc: ParsedDocument, fragment: str) -> Clause:
    """The one clause whose text contains fragment."""
    found = [c for c in doc.clauses if fragment in c.text]
    assert len(found) == 1, f"{fragment!r} is in {len(found)} clauses: {[c.text for c in doc.clauses]}"
    return found[0]


def texts(doc: ParsedDocument) -> list[str]:
    """All clause texts in order."""
    return [c.text for c in doc.clauses]


# --- numbering styles ----------------------------------------------------------------------------

STYLES = [
    ("1.", "2."), ("1．", "2．"), ("1、", "2、"), ("（1）", "（2）"), ("(1)", "(2)"), ("①", "②"),
    ("一、", "二、"), ("（一）", "（二）"), ("(一)", "(二)"), ("第一条 ", "第二条 "),
]


@pytest.mark.parametrize(("first", "second"), STYLES)
def test_every_numbering_style_gives_labelled_items_of_the_role(tmp_path: Path, first: str, second: str) -> None:
    doc = parse_text(tmp_path, f"班主任岗位职责\n{first}全面了解本班学生的思想状况。\n{second}每学期至少家访一次。\n")
    assert texts(doc) == ["全面了解本班学生的思想状况。", "每学期至少家访一次。"]
    assert [c.label for c in doc.clauses] == [first.strip(), second.strip()]
    assert {c.owner for c in doc.clauses} == {"班主任"}
    assert [c.section for c in doc.clauses] == [("班主任岗位职责",)] * 2
    assert [c.id for c in doc.clauses] == ["doc-banzhuren-1", "doc-banzhuren-2"]


def test_a_breadcrumb_over_a_heading_is_the_title_of_its_page(tmp_path: Path) -> None:
    page = ("XX中学 ｜ 总务处 General Affairs\n\n## 总务处 General Affairs\n\n总务处负责学校后勤保障。\n\n## 工作范围\n\n1. 校舍维修\n2. 水电管理\n\n"
            "XX中学 ｜ 图书馆\n\n## 借阅须知\n\n1. 每人限借三本\n")
    doc = parse_text(tmp_path, page, name="机构.md")
    assert texts(doc) == ["总务处负责学校后勤保障。", "校舍维修", "水电管理", "每人限借三本"]
    assert [c.owner for c in doc.clauses] == ["总务处", "总务处", "总务处", "图书馆"]
    assert doc.clauses[1].section == ("总务处 General Affairs", "工作范围")  # the page's own heading is not repeated
    rows = parse_text(tmp_path, "值班安排\n\n周一 | 王老师\n\n周二 | 李老师\n", name="值班.txt")
    assert texts(rows) == ["周一 | 王老师", "周二 | 李老师"]  # not the first line, no heading below


def test_dash_bullets_are_items_without_a_number(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "## 党建工作\n\n- 创新党员学习方式。\n- 优化党建工作制度。\n", name="计划.md")
    assert texts(doc) == ["创新党员学习方式。", "优化党建工作制度。"]
    assert [c.label for c in doc.clauses] == ["-", "-"]
    assert [c.section for c in doc.clauses] == [("党建工作",)] * 2
    assert len({c.id for c in doc.clauses}) == 2


def test_short_bullets_under_names_each_belong_to_the_name_they_follow(tmp_path: Path) -> None:
    """A bullet heads nothing but a paragraph; a short name between two runs of bullets heads the second."""
    doc = parse_text(tmp_path, "## 场地租借\n\n大礼堂\n- 冷气设备\n- 可容纳2000人\n小讲堂\n- 可容纳80人\n", name="场地.md")
    assert texts(doc) == ["冷气设备", "可容纳2000人", "可容纳80人"]
    assert [c.section for c in doc.clauses] == [("场地租借", "大礼堂")] * 2 + [("场地租借", "小讲堂")]


def test_a_long_bullet_wrapped_onto_the_next_line_still_joins_it(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, ("## 图书馆活动\n\n- 主题展示一系列的相关书籍及电影介绍，并在馆内做出了配合主题的各种装饰\n"
                                "希望提升阅读兴趣\n- 每年定期举办大型书展。\n"), name="活动.md")
    assert texts(doc) == ["主题展示一系列的相关书籍及电影介绍，并在馆内做出了配合主题的各种装饰希望提升阅读兴趣", "每年定期举办大型书展。"]


def test_cn_paren_cn_and_arabic_levels_nest(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "学校管理制度汇编\n\n一、教学管理\n（一）备课\n1.教师应提前一周备课。\n2.教案须经教研组长审阅。\n"
        "（二）上课\n1.教师不得迟到早退。\n二、德育管理\n1.每周召开一次主题班会。\n"
    ))
    assert doc.title == "学校管理制度汇编"
    assert find(doc, "提前一周备课").section == ("一、教学管理", "（一）备课")
    assert find(doc, "教案须经").section == ("一、教学管理", "（一）备课")
    assert find(doc, "不得迟到早退").section == ("一、教学管理", "（二）上课")
    assert find(doc, "主题班会").section == ("二、德育管理",)
    assert [c.label for c in doc.clauses] == ["1.", "2.", "1.", "1."]


def test_ascii_parenthesised_numbers_nest_under_an_item_that_introduces_them(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "教务员岗位职责\n1.负责考试工作，具体包括：\n(1)组织命题和审题；\n(2)安排监考和阅卷。\n"
        "2.负责编排课程表。\n"
    ))
    intro = find(doc, "具体包括")
    assert (intro.label, intro.section) == ("1.", ("教务员岗位职责",))
    assert find(doc, "组织命题").section == ("教务员岗位职责", "1.负责考试工作，具体包括：")
    assert find(doc, "组织命题").label == "(1)"
    assert find(doc, "编排课程表").section == ("教务员岗位职责",)
    assert {c.owner for c in doc.clauses} == {"教务员"}


def test_chapters_sections_and_articles(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "考勤管理办法\n\n第一章 总则\n第一节 一般规定\n第一条 为规范考勤，制定本办法。\n"
        "第二条 本办法适用于全体教职工。\n"
        "第二节 适用范围\n第三条 聘用人员参照执行。\n第二章 请假\n第四条 请假须履行审批手续：\n"
        "（一）一天以内的，由年级主任审批；\n（二）一天以上的，由校长审批。\n第五条 病假须提供诊断证明。\n"
    ))
    assert [c.label for c in doc.clauses] == ["第一条", "第二条", "第三条", "第四条", "（一）", "（二）", "第五条"]
    assert find(doc, "为规范考勤").section == ("第一章 总则", "第一节 一般规定")
    assert find(doc, "聘用人员").section == ("第一章 总则", "第二节 适用范围")
    assert find(doc, "请假须履行").section == ("第二章 请假",)
    assert find(doc, "年级主任审批").section == ("第二章 请假", "第四条 请假须履行审批手续：")
    assert find(doc, "诊断证明").section == ("第二章 请假",)
    assert find(doc, "诊断证明").id.endswith("-5")


def test_a_lead_in_inside_an_article_ends_at_the_next_article(tmp_path: Path) -> None:
    # The list's lead-in is a paragraph of the article after its first sentence.
    doc = parse_text(tmp_path, (
        "考勤管理办法\n\n第一章 总则\n第一条 学校设考勤小组。\n考勤小组的主要任务是：\n（一）统计出勤；\n"
        "（二）公布结果。\n第二条 请假须履行审批手续：\n（一）一天以内的，由年级主任审批；\n"
        "（二）一天以上的，由校长审批。\n第三条 病假须提供诊断证明。\n"
    ))
    assert find(doc, "公布结果").section == ("第一章 总则", "第一条", "考勤小组的主要任务是")
    assert find(doc, "请假须履行").section == ("第一章 总则",)
    assert find(doc, "校长审批").section == ("第一章 总则", "第二条 请假须履行审批手续：")
    assert find(doc, "诊断证明").section == ("第一章 总则",)


def test_an_articles_later_paragraphs_sit_under_it_and_a_wrapped_article_stays_one_clause(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "安全管理办法\n\n第一章 总则\n第一条 学校应当将安全工作经费列入\n本年度预算。\n"
        "第二条 学校应当定期检查校舍。\n\n发现隐患的，应当停止使用。\n第三条 本办法自发布之日起施行。\n"
    ))
    assert find(doc, "列入本年度预算").label == "第一条"
    assert find(doc, "停止使用").section == ("第一章 总则", "第二条")
    assert find(doc, "自发布之日起施行").section == ("第一章 总则",)


def test_a_numbered_lead_in_takes_the_paragraph_under_it_but_an_article_does_not(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "工作任务\n\n1.校务办公室\n\n①落实发展策略：\n\n制订学校发展规划、思考重大问题对策、加强师资队伍建设\n\n"
        "②开发人力资源：\n\n管理校园内外专家、负责人事招聘工作、年终考核\n\n第十条 有下列情形之一的，给予警告：\n\n"
        "无故旷课一天以上的。\n"
    ))
    assert find(doc, "制订学校发展规划").text == "落实发展策略：制订学校发展规划、思考重大问题对策、加强师资队伍建设"
    assert find(doc, "人事招聘").label == "②"
    assert find(doc, "无故旷课").label is None  # what follows an article's colon is its own clause


def test_markdown_headings_and_numbered_headings_with_bullets(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "---\ntitle: 2024学年工作计划\n---\n\n## 一、工作目标\n\n### 1. 党建工作\n\n- 创新党员学习方式。\n\n"
        "## 二、工作安排\n\n### （一）教务处工作\n\n1. 夯实教学常规\n   - 建立问题跟踪反馈系统。\n\n"
        "2. 加强规范办学过程性管理\n   - 规范作业管理。\n\n## 三、工作要求\n\n目标明确，任务艰巨。\n"
    ), name="计划.md")
    assert doc.title == "2024学年工作计划"
    assert find(doc, "创新党员").section == ("一、工作目标", "1. 党建工作")
    assert find(doc, "跟踪反馈").section == ("二、工作安排", "（一）教务处工作", "1. 夯实教学常规")
    assert find(doc, "规范作业").section == ("二、工作安排", "（一）教务处工作", "2. 加强规范办学过程性管理")
    assert find(doc, "目标明确").section == ("三、工作要求",)
    assert find(doc, "目标明确").label is None


# --- sequences that restart at 1 -----------------------------------------------------------------


def test_a_sequence_restarting_at_1_under_a_new_heading_belongs_to_that_heading(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "网络管理员岗位职责\n一、机房管理\n1．保持机房清洁。\n2．严禁带入易燃物品。\n"
        "二、病毒防范\n1．安装正版杀毒软件。\n2．定期升级病毒库。\n三、数据备份\n1．每周五备份数据。\n"
    ))
    assert find(doc, "保持机房").section == ("网络管理员岗位职责", "一、机房管理")
    assert find(doc, "正版杀毒").section == ("网络管理员岗位职责", "二、病毒防范")
    assert find(doc, "升级病毒库").section == ("网络管理员岗位职责", "二、病毒防范")
    assert find(doc, "每周五").section == ("网络管理员岗位职责", "三、数据备份")
    assert {c.owner for c in doc.clauses} == {"网络管理员"}
    assert [c.label for c in doc.clauses] == ["1．", "2．", "1．", "2．", "1．"]


def test_a_nested_list_restarting_at_1_under_an_item_returns_to_the_outer_list(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "班主任岗位职责\n1.组织班级活动：\n①每周召开主题班会；\n②每月组织一次社会实践。\n"
        "2.做好家校联系：\n①每学期家访一次；\n②按时召开家长会。\n3.完成学校交办的其他工作。\n"
    ))
    assert find(doc, "主题班会").section == ("班主任岗位职责", "1.组织班级活动：")
    assert find(doc, "家访一次").section == ("班主任岗位职责", "2.做好家校联系：")
    assert find(doc, "家长会").section == ("班主任岗位职责", "2.做好家校联系：")
    assert find(doc, "其他工作").section == ("班主任岗位职责",)
    assert [c.label for c in doc.clauses] == ["1.", "①", "②", "2.", "①", "②", "3."]


# --- owners ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("heading", "owner"), [
    ("班主任岗位职责", "班主任"),
    ("教务处工作职责：", "教务处"),
    ("图书馆职能", "图书馆"),
    ("中学高级教师任职条件及岗位职责", "中学高级教师"),
    ("工会（女工）干事岗位职责", "工会（女工）干事"),
    ("心理咨询中心", "心理咨询中心"),
    ("教务处", "教务处"),
    ("门卫工作守则", "门卫"),
    ("教师工作要求", "教师"),
    ("学校卫生工作要求", None),  # a topic's requirements (第二章 of a regulation), not a post's duties
    ("学生守则", None),
    ("学校各岗位职责", None),  # a collection of everyone's duties, not one owner
    ("各部门职责", None),
    ("学校岗位职责", None),
    ("关于期末考试安排的通知", None),
    ("一、工作目标", None),
])
def test_owner_from_heading(heading: str, owner: str | None) -> None:
    assert owner_from_heading(heading) == owner


@pytest.mark.parametrize(("lead_in", "owner"), [
    ("各级卫生防疫站，对学校卫生工作承担下列任务：", "卫生防疫站"),
    ("县以上卫生行政部门对学校卫生工作行使监督职权。其职责是：", "县以上卫生行政部门"),
    ("区域性的中小学生卫生保健机构的主要任务是：", "中小学生卫生保健机构"),
    ("年级组长在校长领导下，对本年级工作全面负责，其职责如下：", "年级组长"),
    ("学校应当履行下列职责：", None),  # the school as a whole is no unit or post
    ("教职工请假须履行审批手续：", None),  # a procedure, not a list of duties
    ("全员全程核心德育：", None),
])
def test_owner_from_lead_in(lead_in: str, owner: str | None) -> None:
    assert owner_from_lead_in(lead_in) == owner


@pytest.mark.parametrize(("paragraph", "owner"), [
    ("20xx年,办公室将在学校党委的领导下开展工作。本年度学校办公室计划做好以下几方面的工作:", "办公室"),
    ("我校总务处将重点做好以下工作：", "总务处"),
    ("本年度學校辦公室計劃做好以下幾方面的工作：", "辦公室"),  # traditional: the name as written
    ("现将区教育局20xx年工作开展情况总结如下:", None),  # a report, not a unit's list of work
    ("各部门要做好以下工作：", None),  # everyone's, not one unit's
    ("办公室计划做好以下几方面的工作。", None),  # no lead-in: nothing follows it
])
def test_plan_owner(paragraph: str, owner: str | None) -> None:
    assert plan_owner(paragraph) == owner


def test_a_plan_paragraph_naming_its_unit_owns_the_section_below(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "学校工作计划\n\n计划 篇1\n\n20xx年，总务处将围绕学校中心工作做好服务。本年度总务处计划做好以下几方面的工作：\n\n"
        "一、常规工作\n\n1、做好校舍维修。\n\n2、管理好学校仓库。\n\n计划 篇2\n\n一、教学工作\n\n1、抓好课堂教学。\n"
    ))
    assert find(doc, "校舍维修").owner == find(doc, "学校仓库").owner == "总务处"
    assert find(doc, "课堂教学").owner is None  # the next plan is no longer that unit's


def test_real_office_plan_items_are_the_office_s() -> None:
    doc = parse_path(KNOWLEDGE / "教育局年度工作计划八篇.txt")
    assert find(doc, "行政值班").owner == find(doc, "对外介绍信").owner == "办公室"


@pytest.mark.parametrize(("value", "name"), [
    ("学生处宿管科", True), ("图书馆", True), ("报修请于工作日8:00-17:00拨打总务处电话。", False), ("", False),
])
def test_looks_like_name(value: str, name: bool) -> None:
    assert looks_like_name(value) is name


@pytest.mark.parametrize(("text", "phone"), [
    ("办公电话 0535-3450836", "0535-3450836"), ("值班电话0535－6688123", "0535－6688123"),
    ("手机13812345678", "13812345678"), ("总机 010-12345678转123", "010-12345678转123"),
    ("学生2024年9月1日报到", None), ("编号 123456789012345", None),
    # a local number, where a colon or a label says it is one; not a date or a count
    ("总务处（领导小组办公室）：6621103", "6621103"), ("总值班电话2133077；", "2133077"),
    ("值班电话 8826 3015", "8826 3015"), ("电话：0571-8621 3300", "0571-8621 3300"),
    ("日期：20230901", None), ("共计：6621103人", None),
])
def test_find_contact(text: str, phone: str | None) -> None:
    assert find_contact(text) == phone


def test_markdown_headings_name_roles_and_units(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "# 职责汇编\n\n## 班主任岗位职责\n\n1. 组织班会。\n\n## 教务处\n\n* 编排课表。\n"
                               "+ 组织考试。\n\n## 附则\n\n本汇编自公布之日起执行。\n", name="汇编.md")
    owned = [(c.owner, c.label) for c in doc.clauses]
    assert owned == [("班主任", "1."), ("教务处", "*"), ("教务处", "+"), (None, None)]
    assert find(doc, "组织考试").section == ("职责汇编", "教务处")


def test_role_headings_name_the_owner_and_a_preamble_is_a_clause_of_it(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "学校各岗位职责\n\n校长岗位职责\n  校长是学校的法人代表，全面负责学校工作。\n1.贯彻执行党的教育方针。\n"
        "2.主持校务会议。\n\n会计岗位职责\n1．负责经费核算，做到日清月结。\n"
    ))
    preamble = find(doc, "法人代表")
    assert (preamble.owner, preamble.label, preamble.section) == ("校长", None, ("校长岗位职责",))
    assert find(doc, "主持校务").owner == "校长"
    assert find(doc, "经费核算").section == ("会计岗位职责",)  # a sibling role, not nested in 校长
    assert find(doc, "经费核算").owner == "会计"


def test_a_top_level_section_holds_role_headings_and_the_next_one_closes_it(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "学校岗位职责汇编\n\n一、行政管理人员职责\n\n出纳员岗位职责\n1．办理现金收付业务。\n2．保管空白支票。\n\n"
        "会计岗位职责\n1．负责经费核算。\n\n二、教育教学工作人员职责\n\n班主任岗位职责\n① 全面了解学生。\n"
    ))
    assert find(doc, "现金收付").section == ("一、行政管理人员职责", "出纳员岗位职责")
    assert find(doc, "经费核算").section == ("一、行政管理人员职责", "会计岗位职责")
    assert find(doc, "了解学生").section == ("二、教育教学工作人员职责", "班主任岗位职责")
    assert [c.owner for c in doc.clauses] == ["出纳员", "出纳员", "会计", "班主任"]


def test_the_title_line_repeated_in_the_body_is_not_a_clause_nor_an_owner(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "学校各岗位职责\n\n校训：自强不息\n办学理念：以人为本 和谐发展\n")
    assert doc.title == "学校各岗位职责"
    assert texts(doc) == ["校训：自强不息", "办学理念：以人为本 和谐发展"]
    assert {c.owner for c in doc.clauses} == {None}


def test_a_role_heading_that_is_also_the_title_still_names_the_owner(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "图书管理员岗位职责\n1．负责图书采购。\n2．负责借还登记。\n")
    assert doc.title == "图书管理员岗位职责"
    assert {c.owner for c in doc.clauses} == {"图书管理员"}


def test_a_phone_in_a_role_clause_becomes_the_owner_contact(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "校医岗位职责\n1．负责学生常见病处理。\n2．医务室电话0535-3450899，全天值班。\n")
    assert {c.contact for c in doc.clauses} == {"0535-3450899"}


# --- markdown tables -----------------------------------------------------------------------------

UNIT_TABLE = """---
title: 内设机构职能
---

|   |   |   |   |
|---|---|---|---|
|机构名称|办公室|办公电话|0535-3450800|
|机构职能|1.为学校领导工作做好服务。<br><br>2.负责校级会议的准备。<br><br>3.负责草拟学校工作计划、
|机构名称|政教处|办公电话|0535-3450862|
|机构职能|1. 负责全校德育工作。<br><br>2.指导班主任制订班级工作计划。|   |   |
"""


def test_a_key_value_table_gives_one_section_per_unit_with_its_phone(tmp_path: Path) -> None:
    text = UNIT_TABLE.replace("3.负责草拟学校工作计划、\n", "3.负责草拟学校工作计划、工作总结。|   |   |\n")
    doc = parse_text(tmp_path, text, name="机构.md")
    office = [c for c in doc.clauses if c.owner == "办公室"]
    assert [c.text for c in office] == ["机构名称 办公室 办公电话 0535-3450800", "为学校领导工作做好服务。",
                                        "负责校级会议的准备。", "负责草拟学校工作计划、工作总结。"]
    assert [c.label for c in office] == [None, "1.", "2.", "3."]
    assert {c.contact for c in office} == {"0535-3450800"}
    assert {c.section for c in office} == {("办公室",)}
    assert [c.source.line_start for c in office] == [7, 8, 8, 8]
    moral = [c for c in doc.clauses if c.owner == "政教处"]
    assert [c.text for c in moral][1:] == ["负责全校德育工作。", "指导班主任制订班级工作计划。"]
    assert {c.contact for c in moral} == {"0535-3450862"}
    assert [c.id for c in moral] == ["doc-zhengjiaochu-p1", "doc-zhengjiaochu-1", "doc-zhengjiaochu-2"]


def test_a_table_with_a_header_row_pairs_cells_with_their_column(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "# 联系方式\n\n|部门|办公电话|职责|\n|---|---|---|\n"
        "|教务处|0535-3450836|1.负责编排课程表<br>2.负责组织考试|\n|总务处|0535-3450820|负责校舍维修|\n"
    ), name="联系.md")
    academic = [c for c in doc.clauses if c.owner == "教务处"]
    assert [(c.label, c.text) for c in academic] == [
        (None, "教务处 0535-3450836"), ("1.", "负责编排课程表"), ("2.", "负责组织考试")]
    assert {c.contact for c in academic} == {"0535-3450836"}
    assert {c.section for c in academic} == {("联系方式", "教务处")}
    general = [c for c in doc.clauses if c.owner == "总务处"]
    assert [(c.text, c.contact) for c in general] == [("总务处 0535-3450820 负责校舍维修", "0535-3450820")]
    assert "部门" not in "".join(texts(doc))  # the header row is no fact


def test_a_header_row_without_separator_is_recognised(tmp_path: Path) -> None:
    # HTML and DOCX tables arrive like this: no |---| line after the header.
    doc = parse_text(tmp_path, (
        "# 联系方式\n|部门|值班电话|职责|\n|学生处宿管科|0535-6688123|1.负责宿舍卫生检查<br>2.负责调解住宿纠纷|\n"
        "||0535-6688124（夜间）|3.负责夜间巡查。|\n|报修请于工作日8:00-17:00拨打值班电话。|\n"
    ), name="联系.md")
    owned = [c for c in doc.clauses if c.owner == "学生处宿管科"]
    assert [c.text for c in owned] == [
        "学生处宿管科 0535-6688123", "负责宿舍卫生检查", "负责调解住宿纠纷", "0535-6688124（夜间）", "负责夜间巡查。",
        "报修请于工作日8:00-17:00拨打值班电话。"]
    assert {c.contact for c in owned} == {"0535-6688123"}
    assert len(owned) == len(doc.clauses)


def test_a_header_row_naming_a_unit_column_without_separator_is_recognised(tmp_path: Path) -> None:
    """"处室|主要职能|联系电话" over one row per unit, as a Word table arrives: each row is its unit's."""
    doc = parse_text(tmp_path, (
        "# 处室职能\n|处室|主要职能|联系电话|\n|教务处|负责课程安排；负责教材征订。|0546-8221001|\n"
        "|德育处|负责学生违纪处理。|0546-8221002|\n"
    ), name="处室.md")
    assert [(c.owner, c.contact) for c in doc.clauses] == [("教务处", "0546-8221001"), ("德育处", "0546-8221002")]
    assert "主要职能" not in "".join(texts(doc))  # the header row is no fact


def test_rows_of_a_table_without_a_unit_column_keep_its_column_labels_as_context(tmp_path: Path) -> None:
    """"星期一 王副校长 138…" says who is on duty and how to reach them only with its header."""
    doc = parse_text(tmp_path, (
        "# 行政值班安排\n\n| 星期 | 值班领导 | 值班电话 |\n|---|---|---|\n| 星期一 | 王副校长 | 13800000001 |\n"
    ), name="值班.md")
    assert [(c.section, c.text) for c in doc.clauses] == [
        (("行政值班安排", "星期 值班领导 值班电话"), "星期一 王副校长 13800000001")]


def test_a_key_value_table_is_not_taken_for_a_header_row(tmp_path: Path) -> None:
    """"机构名称|总务处|办公电话|…" pairs keys with values, row by row: its first row gives a phone."""
    doc = parse_text(tmp_path, (
        "# 机构\n|机构名称|总务处|办公电话|0535-3450820|\n|机构职能|1.负责校舍维修。|\n"
    ), name="机构.md")
    assert {(c.owner, c.contact) for c in doc.clauses} == {("总务处", "0535-3450820")}


def test_an_escaped_pipe_stays_inside_its_cell(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "# 表\n|部门|办公电话|\n|教务处|0535-3450836 \\| 0535-3450837|\n", name="表.md")
    assert find(doc, "教务处").contact == "0535-3450836 | 0535-3450837"
    assert find(doc, "教务处").text == "教务处 0535-3450836 | 0535-3450837"


# --- field lines, wrapped lines, whitespace ------------------------------------------------------


def test_key_value_field_lines_are_separate_facts(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "学校概况\n\n校　　训：  自强不息 开拓创新\n办学理念：以人为本 和谐发展\n"
                               "办学目标：办合格加特色学校\n")
    assert texts(doc) == ["校 训： 自强不息 开拓创新", "办学理念：以人为本 和谐发展", "办学目标：办合格加特色学校"]
    assert [c.source.line_start for c in doc.clauses] == [3, 4, 5]


def test_roster_lines_with_longer_keys_are_separate_facts(tmp_path: Path) -> None:
    """A unit's roster ("职员：…" / "Email：…" / "ISO部门品质目标：…") and a list of phones, one line each."""
    doc = parse_text(tmp_path, "图书馆工作职能\n\n职员：陈燕芳、许婷婷\nEmail：library@school.edu\nISO部门品质目标：\n"
                               "师生一个月平均至少借书1.0本\n\n值班制度\n\n虹口分局电话：63242200\n若有紧急情况报警：110\n")
    assert texts(doc) == ["职员：陈燕芳、许婷婷", "Email：library@school.edu", "ISO部门品质目标：师生一个月平均至少借书1.0本",
                          "虹口分局电话：63242200", "若有紧急情况报警：110"]


def test_a_line_broken_mid_sentence_is_joined_with_its_continuation(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "图书管理员岗位职责\n1．负责图书的采购、验收和编目。\n2．每学期开学前完成新书登记，确保师生\n"
        "能够及时检索到新到图书。\n3．保持书库通风干燥。\n"
    ))
    joined = find(doc, "确保师生能够及时检索")
    assert (joined.label, joined.source.line_start, joined.source.line_end) == ("2．", 3, 4)
    assert len(doc.clauses) == 3


def test_a_short_wrapped_item_after_plain_items_is_joined_not_made_a_heading(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "会计岗位职责\n1．负责经费核算，做到日清月结。\n2．负责编制年度预算\n报校长审批后执行。\n3．负责工资发放。\n"
    ))
    assert texts(doc) == ["负责经费核算，做到日清月结。", "负责编制年度预算报校长审批后执行。", "负责工资发放。"]
    assert {c.section for c in doc.clauses} == {("会计岗位职责",)}


def test_a_long_unpunctuated_line_joins_across_a_blank_line(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "总务处主任岗位职责\n\n1．协助校长抓好后勤日常管理工作，强化后勤工人为教学\n\n"
        "服务，为师生服务意识，管理好学校资产。\n\n2．制定总务工作计划和制度。\n\n"
        "3．定期对校舍、设备、教学、生活、办公用品、水电、卫\n\n生设施进行检查维修。\n"
    ))
    assert texts(doc) == [
        "协助校长抓好后勤日常管理工作，强化后勤工人为教学服务，为师生服务意识，管理好学校资产。",
        "制定总务工作计划和制度。",
        "定期对校舍、设备、教学、生活、办公用品、水电、卫生设施进行检查维修。"]
    assert [(c.source.line_start, c.source.line_end) for c in doc.clauses] == [(3, 5), (7, 7), (9, 11)]
    assert {c.section for c in doc.clauses} == {("总务处主任岗位职责",)}


def test_a_short_or_finished_line_does_not_join_across_a_blank_line(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "学校简介\n\n我校创办于1958年，\n\n现有教职工两百余人。\n\n"
                               "学校占地一百亩。\n\n校园环境优美。\n")
    assert texts(doc) == ["我校创办于1958年，", "现有教职工两百余人。", "学校占地一百亩。", "校园环境优美。"]


def test_a_line_ending_in_a_comma_continues_on_the_next_line(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "校医岗位职责\n　　1．负责学生外伤的初步处理，\n　　急重症学生须立即拨打120。\n")
    assert texts(doc) == ["负责学生外伤的初步处理，急重症学生须立即拨打120。"]


def test_wrapped_latin_words_keep_a_space_between_them(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "信息员岗位职责\n1.负责维护学校网站，使用 WordPress\nCMS 发布新闻。\n")
    assert texts(doc) == ["负责维护学校网站，使用 WordPress CMS 发布新闻。"]


def test_full_width_and_no_break_spaces_are_layout_not_text(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, (
        "出纳员岗位职责\n　　1．严格遵守财经纪律，\u00a0办理现金收付。\n\t2．　妥善保管空白支票。\n"
        "第三条\u3000本制度由总务处解释。\n"
    ))
    assert texts(doc) == ["严格遵守财经纪律， 办理现金收付。", "妥善保管空白支票。", "本制度由总务处解释。"]
    assert [c.label for c in doc.clauses] == ["1．", "2．", "第三条"]


# --- titles, front matter, boilerplate -----------------------------------------------------------


@pytest.mark.parametrize(("text", "name", "title"), [
    ("---\ntitle: 滨海二中考勤办法\n---\n\n# 考勤办法\n\n第一条 按时签到。\n", "a.md", "滨海二中考勤办法"),
    ("# 学生宿舍管理规定\n\n1.按时就寝。\n", "b.md", "学生宿舍管理规定"),
    ("学生宿舍管理规定\n\n1.按时就寝。\n", "c.txt", "学生宿舍管理规定"),
    ("为加强管理，制定本规定。\n1.按时就寝。\n", "宿舍规定.txt", "宿舍规定"),  # a sentence is no title
])
def test_the_document_title(tmp_path: Path, text: str, name: str, title: str) -> None:
    doc = parse_text(tmp_path, text, name=name)
    assert doc.title == title
    assert all(c.text != title for c in doc.clauses)


def test_front_matter_lines_are_counted_in_source_line_numbers(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "---\ntitle: 考勤办法\neffective: 2024-09-01\n---\n\n第一条 按时签到。\n", name="k.md")
    assert doc.effective == "2024-09-01"
    assert [(c.text, c.source.line_start) for c in doc.clauses] == [("按时签到。", 6)]


WEB_TEXT = """教育局年度工作计划八篇

时间:2023-04-10 11:22:22 工作计划 我要投稿
立即下载

教育局年度工作计划

  • 相关推荐

  时光在流逝,从不停歇,下面是小编整理的教育局年度工作计划,仅供参考。

教育局年度工作计划 篇1

  一、巩固、提高义务教育成果

  组织广大教职工认真学习宣传新《义务教育法》,巩固提高义务教育成果。

  6、做好全年工作总结。

【教育局年度工作计划】相关文章:

教育局教研室工作计划09-22

教育局督导工作总结03-03
"""


def test_web_boilerplate_is_not_content(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, WEB_TEXT, name="教育局.txt")
    joined = "\n".join(texts(doc) + [part for c in doc.clauses for part in c.section])
    for furniture in ("立即下载", "我要投稿", "2023-04-10", "相关推荐", "相关文章", "教研室工作计划", "督导工作总结"):
        assert furniture not in joined
    assert find(doc, "义务教育法").section[-1] == "一、巩固、提高义务教育成果"
    assert find(doc, "小编整理").source.line_start == 10
    assert find(doc, "全年工作总结").label == "6、"


def test_a_document_without_any_clause_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadError):
        parse_text(tmp_path, "---\ntitle: 空白\n---\n\n立即下载\n")


# --- ids, hashes, stability ----------------------------------------------------------------------


def test_ids_are_stable_across_parses_and_unique(tmp_path: Path) -> None:
    text = (KNOWLEDGE / "学校各岗位职责.txt").read_text(encoding="utf-8")
    first = parse_text(tmp_path, text, name="a.txt")
    second = parse_text(tmp_path, text, name="a.txt")
    assert [c.to_dict() for c in first.clauses] == [c.to_dict() for c in second.clauses]
    assert len({c.id for c in first.clauses}) == len(first.clauses) > 250


def test_ids_are_readable_owner_and_label_number(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "班主任岗位职责\n  班主任是班级工作的组织者。\n1.了解学生。\n3.组织班会。\n"
                               "3.重复编号。\n")
    assert [c.id for c in doc.clauses] == ["doc-banzhuren-p1", "doc-banzhuren-1", "doc-banzhuren-3",
                                           "doc-banzhuren-p2"]


def test_clause_sha256_is_the_sha256_of_its_text(tmp_path: Path) -> None:
    doc = parse_text(tmp_path, "班主任岗位职责\n1.了解学生。\n")
    assert doc.clauses[0].sha256 == hashlib.sha256("了解学生。".encode()).hexdigest()


def test_editing_one_section_leaves_the_ids_of_other_sections_alone(tmp_path: Path) -> None:
    before = parse_text(tmp_path, "会计岗位职责\n1.核算经费。\n2.编制预算。\n\n出纳员岗位职责\n1.收付现金。\n")
    after = parse_text(tmp_path, "会计岗位职责\n1.核算经费。\n2.编制预算。\n3.管理票据。\n\n"
                                 "出纳员岗位职责\n1.收付现金。\n")
    assert find(before, "收付现金").id == find(after, "收付现金").id == "doc-chunayuan-1"


# --- the format fixtures in tests/data -----------------------------------------------------------


def test_gbk_text_fixture() -> None:
    doc = parse_path(DATA / "gbk_rules.txt")
    assert doc.title == "图书管理员岗位职责"
    items = [c for c in doc.clauses if c.label]
    assert [c.label for c in items] == ["1．", "2．", "3．", "4．", "5．"]
    assert {c.owner for c in doc.clauses} == {"图书管理员"}
    wrapped = find(doc, "确保师生能够及时检索到新到图书")
    assert (wrapped.source.line_start, wrapped.source.line_end) == (3, 4)
    assert find(doc, "王堃老师").label is None


def test_big5_text_fixture() -> None:
    doc = parse_path(DATA / "big5_notice.txt")
    assert doc.title == "圖書館借閱須知"
    assert [c.label for c in doc.clauses] == ["一、", "二、", "三、", "四、"]
    assert find(doc, "最多借閱三冊").source.line_start == 3


def test_html_fixture_drops_page_furniture_and_reads_the_table() -> None:
    doc = parse_path(DATA / "web_page.html")
    assert doc.title == "学生宿舍管理规定"
    joined = "".join(texts(doc))
    for furniture in ("立即下载", "我要投稿", "相关推荐", "相关文章", "宿舍卫生检查评比办法", "校园安全管理制度",
                      "第一范文网", "百度统计", "广告位", "教师个人工作总结"):
        assert furniture not in joined
    assert find(doc, "22:00统一熄灯").section == ("学生宿舍管理规定", "一、作息管理")
    assert find(doc, "22:00统一熄灯").label == "（一）"
    broken = find(doc, "报告宿舍管理员或拨打宿管值班电话")  # a <br> inside one item
    assert (broken.label, broken.section[-1]) == ("3、", "二、安全管理")
    unit = [c for c in doc.clauses if c.owner == "学生处宿管科"]
    assert [c.text for c in unit] == ["学生处宿管科 0535-6688123", "负责宿舍日常卫生检查", "负责调解住宿纠纷"]
    assert {c.contact for c in unit} == {"0535-6688123"}


def test_docx_fixture() -> None:
    doc = parse_path(DATA / "table_rules.docx")
    assert doc.title == "后勤服务管理制度"
    assert find(doc, "健康证明").section == ("后勤服务管理制度", "一、食堂管理")
    unit = [c for c in doc.clauses if c.owner == "总务处"]
    assert {c.contact for c in unit} == {"0535-7788990"}
    assert [c.text for c in unit][:4] == [
        "总务处 0535-7788990", "负责校舍维修报修的受理与派工。", "负责水电设施的日常巡查。", "0535-7788991（夜间）"]
    assert find(doc, "夜间水电抢修").owner == "总务处"  # merged name cell: the unit carries on
    assert find(doc, "拨打总务处电话").owner == "总务处"  # a note spanning the row is no unit name
    assert find(doc, "验收不合格的应重新维修").label == "4．"  # a manual line break inside one item
    assert find(doc, "每月对食堂卫生").label == "1."  # Word's automatic numbering
    assert find(doc, "隐瞒不报").label == "（一）"
    assert find(doc, "每月对食堂卫生").section[:2] == ("后勤服务管理制度", "三、考核办法")


def test_pdf_fixture() -> None:
    doc = parse_path(DATA / "rules.pdf")
    assert doc.title == "校园安全管理制度"
    assert [c.label for c in doc.clauses] == ["第一条", "第二条", "第三条", "第四条"]
    assert find(doc, "值班电话0535-3450899").id.endswith("-4")


def test_regulation_markdown_fixture() -> None:
    doc = parse_path(DATA / "regulation.md")
    assert (doc.title, doc.effective) == ("滨海市第二中学教职工考勤管理办法", "2024-09-01")
    assert [c.label for c in doc.clauses] == ["第一条", "第二条", "第三条", "第四条", "（一）", "（二）", "（三）",
                                              "第五条", "第六条"]
    assert find(doc, "因公外出未能签到").source.line_start == 16
    assert find(doc, "因公外出未能签到").source.line_end == 17
    article = "第四条 教职工请假须履行审批手续："
    assert find(doc, "分管副校长审批").section == ("教职工考勤管理办法", "第二章 考勤与请假", article)
    assert find(doc, "校长办公室负责解释").section == ("教职工考勤管理办法", "第三章 附则")


def test_markdown_table_fixture() -> None:
    doc = parse_path(DATA / "md_table.md")
    contacts = {c.owner: c.contact for c in doc.clauses}
    assert contacts == {"图书馆": "0535-1234567", "教务处": "0535-3450836", "总务处": "0535-3450877"}
    assert find(doc, "读书月").label == "3."
    assert find(doc, "机构名称 教务处 办公电话 0535-3450836").label is None


def test_role_duties_fixture() -> None:
    doc = parse_path(DATA / "role_duties.txt")
    assert doc.title == "学校岗位职责汇编"
    owners = list(dict.fromkeys(c.owner for c in doc.clauses))
    assert owners == ["校长办公室主任", "出纳员", "班主任", "实验员"]
    preamble = find(doc, "行政运转的枢纽")
    assert (preamble.label, preamble.owner) == (None, "校长办公室主任")
    assert [c.label for c in doc.clauses if c.owner == "校长办公室主任"] == [None, "1.", "2．", "3、"]
    limit = find(doc, "核定限额五千元")
    assert (limit.source.line_start, limit.source.line_end) == (13, 14)
    assert limit.section == ("一、行政管理人员职责", "出纳员岗位职责")
    assert [c.label for c in doc.clauses if c.owner == "班主任"] == ["①", "②", "③"]
    assert find(doc, "双人双锁").section == ("二、教育教学工作人员职责", "实验员岗位职责")


@pytest.mark.parametrize("name", [
    "gbk_rules.txt", "big5_notice.txt", "bom_notice.txt", "web_page.html", "regulation.md", "md_table.md",
    "role_duties.txt", "table_rules.docx", "rules.pdf",
    *(f"corpus/{path.name}" for path in sorted((DATA / "corpus").iterdir())),
])
def test_every_readable_fixture_parses_into_verbatim_clauses(name: str) -> None:
    assert parse_path(DATA / name).clauses


def test_new_fixtures_under_tests_data_parse() -> None:
    paths = sorted(PARSE_DATA.iterdir())
    assert paths, "tests/data/parse holds the parser's own small documents"
    for path in paths:
        parse_path(path)


def test_mixed_styles_fixture() -> None:
    doc = parse_path(PARSE_DATA / "mixed_styles.txt")
    assert doc.title == "实验中学管理制度汇编"
    assert find(doc, "自强不息").owner is None
    assert find(doc, "每周一升旗").section == ("第一章 德育管理", "第一节 日常规范")
    assert find(doc, "每周一升旗").label == "第一条"
    assert find(doc, "仪容仪表").section == ("第一章 德育管理", "第一节 日常规范", "第二条 学生应遵守以下规范：")
    assert [find(doc, t).label for t in ("仪容仪表", "课间文明", "集会纪律")] == ["（1）", "（2）", "（3）"]
    assert find(doc, "期末考试").section == ("第二章 教学管理",)
    guard = [c for c in doc.clauses if c.owner == "门卫"]
    assert [c.label for c in guard] == ["1、", "2、", "3、"]
    assert find(doc, "外来车辆一律登记后方可入校").source.line_end == find(doc, "外来车辆").source.line_start + 2
    assert {c.contact for c in guard} == {"0535-3450899"}


# --- the real knowledge base: invariants and a few known facts ------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in KNOWLEDGE.iterdir()))
def test_real_documents_parse_into_verbatim_clauses(name: str) -> None:
    doc = parse_path(KNOWLEDGE / name)
    assert len(doc.clauses) >= 40


def test_real_duties_document() -> None:
    doc = parse_path(KNOWLEDGE / "学校各岗位职责.txt")
    head_teacher = [c for c in doc.clauses if c.owner == "班主任"]
    assert [c.label for c in head_teacher] == [f"{n}." for n in range(1, 10)]
    assert {c.section for c in head_teacher} == {("二、教育教学工作人员职责", "班主任岗位职责")}
    general = [c for c in doc.clauses if c.owner == "总务处主任"]
    assert [c.label for c in general] == [f"{n}．" for n in range(1, 7)]  # wrapped lines rejoined
    assert "强化后勤工人为教学服务，为师生服务意识" in general[0].text
    assert find(doc, "校 训：").owner is None


def test_real_unit_table_document() -> None:
    doc = parse_path(KNOWLEDGE / "学校内设管理机构情况.md")
    owners = {c.owner: c.contact for c in doc.clauses}
    assert owners["办公室"] == "0535-3450800" and owners["教务处"] == "0535-3450836"
    assert len(owners) == 6 and None not in owners
    assert find(doc, "机构名称 教务处 办公电话 0535-3450836").source.line_start == 13


def test_real_web_document_has_no_furniture() -> None:
    doc = parse_path(KNOWLEDGE / "教育局年度工作计划八篇.txt")
    joined = "".join(texts(doc))
    for furniture in ("立即下载", "我要投稿", "相关文章", "教育局督导工作总结", "年度质量工作计划"):
        assert furniture not in joined
