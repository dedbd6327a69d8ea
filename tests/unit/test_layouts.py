"""Real layouts of other schools' documents, parsed from copies of the documents themselves.

The files are in evals/corpus (sources in evals/corpus-SOURCES.md). Each test names the layout it guards.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.model import Clause
from ingest.pipeline import parse_file

CORPUS = Path(__file__).resolve().parents[2] / "evals" / "corpus"


def parsed(name: str) -> list[Clause]:
    """The clauses of one corpus document."""
    return parse_file(CORPUS / name, name, "doc", "sha").clauses


@pytest.fixture(scope="module")
def notices() -> list[Clause]:
    return parsed("渭南师范学院假期值班与自习室管理通知三则.txt")


def test_a_file_of_several_notices_files_each_under_its_own_title(notices: list[Clause]) -> None:
    national_day = [c for c in notices if "10月1日至7日放假" in c.text]
    study_rooms = [c for c in notices if "教四楼三间公共自习室" in c.text]
    assert national_day[0].section[0] == "关于2021年国庆节放假安排的通知"
    assert study_rooms[0].section[0] == "关于寒假期间自习室正常开放的通知"


def test_the_addressee_and_the_signature_are_not_rules(notices: list[Clause]) -> None:
    assert not any("各单位" in " ".join(c.section) for c in notices)
    assert not any(c.text == "渭南师范学院院长办公室" for c in notices)


def test_colon_headings_of_one_list_are_siblings_and_own_their_items(notices: list[Clause]) -> None:
    logistics = next(c for c in notices if c.text.startswith("认真检查相关教室的公共设施"))
    colleges = next(c for c in notices if c.text.startswith("各学院要安排专人"))
    assert logistics.owner == "后勤保障部" and logistics.section[-1] == "后勤保障部"
    assert colleges.section[-1] == "学生所在学院" and "后勤保障部" not in colleges.section
    assert colleges.owner != "相关部门"  # "三、相关部门职责" names nobody in particular


def test_a_date_line_under_the_title_heads_nothing() -> None:
    clauses = parsed("上海市复兴高级中学2008学年第一学期团委工作计划.md")
    assert not any(heading.startswith("（2008年9月") for c in clauses for heading in c.section)
    guiding = next(c for c in clauses if c.text.startswith("在团市委和团区委的工作意见的指导下"))
    assert guiding.owner == "团委"  # the unit's own plan: its items are the unit's work


def test_a_units_name_and_motto_head_its_section_and_a_lead_in_stays_inside_it() -> None:
    # "（二）宣传部——以升旗仪式为载体，…" over paragraphs and "1、…" items: 宣传部's section, not 团委's.
    # Its "国旗下讲话主题：" over a table introduces a part of "1、升旗仪式"; "2、执勤工作" stays 宣传部's.
    clauses = parsed("上海市复兴高级中学2008学年第一学期团委工作计划.md")
    archive = next(c for c in clauses if c.text.startswith("高一新生进入高中"))
    duty = next(c for c in clauses if c.text.startswith("执勤工作是宣传部"))
    charity = next(c for c in clauses if c.text.startswith("义卖和义拍"))
    assert (archive.owner, duty.owner, charity.owner) == ("组织部", "宣传部", "公关部")
    assert duty.section[-2].startswith("(二)宣传部") and duty.section[-1] == "2、执勤工作"
    assert not any(c.section[-1].startswith("国旗下讲话主题") for c in clauses if c.owner != "宣传部")


def test_a_list_of_tasks_is_not_a_heading_and_the_unit_keeps_its_items() -> None:
    clauses = parsed("上海市复兴高级中学管理机构和工作任务.txt")
    reception = next(c for c in clauses if "接待安排国际学生" in c.text)
    assert reception.owner == "校务办公室"


def test_a_numbered_lead_in_and_the_paragraph_under_it_are_one_item() -> None:
    # "①落实学校发展策略：", a blank line, then the tasks: one clause labelled ①, not a bare title and an orphan.
    clauses = parsed("上海市复兴高级中学管理机构和工作任务.txt")
    first = next(c for c in clauses if c.text.startswith("落实学校发展策略"))
    assert first.label == "①" and "制订学校发展规划" in first.text
    assert (first.source.line_start, first.source.line_end) == (9, 11)
    assert not any(c.text.endswith("：") and c.label == "②" for c in clauses)


def test_the_next_article_closes_a_lead_in_list_inside_the_last_one() -> None:
    # 第二十一条 is one paragraph, then "…的主要任务是：" with items (一)-(三); 第二十二条 follows.
    clauses = parsed("学校卫生工作条例（1990年国家教委卫生部令）.md")
    chapter = "第三章 学校卫生工作管理"
    article_22 = next(c for c in clauses if c.label == "第二十二条")
    assert article_22.section[-1] == chapter
    lead_in = "第二十六条 各级卫生防疫站，对学校卫生工作承担下列任务："
    items = [c for c in clauses if c.section[-1:] == (lead_in,)]
    assert [c.label for c in items] == ["(一)", "(二)", "(三)", "(四)"]
    assert all(c.section[-2] == chapter for c in items)
    assert {c.owner for c in items} == {"卫生防疫站"}  # the body the lead-in gives the tasks to


def test_a_topics_requirements_name_no_owner() -> None:
    clauses = parsed("学校卫生工作条例（1990年国家教委卫生部令）.md")
    water = next(c for c in clauses if c.text.startswith("学校应当为学生提供充足的符合卫生标准的饮用水"))
    assert "第二章 学校卫生工作要求" in water.section and water.owner is None


def test_an_articles_second_paragraph_is_cited_under_the_article() -> None:
    # 第三十二条 cites "第六条第二款": the paragraph after 第六条's first one belongs to it.
    clauses = parsed("学校卫生工作条例（1990年国家教委卫生部令）.md")
    second = next(c for c in clauses if c.text.startswith("新建、改建、扩建校舍"))
    assert second.section[-1] == "第六条" and second.label is None
    assert next(c for c in clauses if c.label == "第七条").section[-1] == "第二章 学校卫生工作要求"


def test_a_vertical_heading_and_a_generic_duty_heading() -> None:
    clauses = parsed("山西某高校公寓管理中心部门职责与宿管员工作职责.txt")
    hiring = next(c for c in clauses if "负责公寓员工的招聘" in c.text)
    gate = next(c for c in clauses if "按时开关宿舍楼大门" in c.text)
    assert hiring.owner == "宿舍管理中心"  # "部門职责" is the centre's, not a post called 部門
    assert gate.section[-1] == "工作职责"  # typeset 工/作/职/责, one character a line


def test_a_file_named_for_several_units_names_none_of_them_for_all() -> None:
    clauses = parsed("宽柔中学古来分校教务处事务处图书馆工作职能.md")
    assert not any(c.owner and "事务处图书馆" in c.owner for c in clauses)
    assert any(c.owner == "教务处" for c in clauses)  # "## 教务处 Academic Department"


def test_a_web_pages_header_is_its_title_over_every_heading_of_the_page() -> None:
    """"宽柔中学古来分校 | 事务处 General Affairs Department" heads a page whose sections ("## 工作范围",
    "## 场地租借") are siblings of its own "## 事务处…" heading: the header is no clause, and owns them."""
    clauses = parsed("宽柔中学古来分校教务处事务处图书馆工作职能.md")
    assert not any(" | " in c.text for c in clauses)
    owner_of = {c.text: c.owner for c in clauses}
    assert owner_of["学籍表"] == "教务处"  # "## 核心业务 / 学籍管理" on the 教务处's page
    assert owner_of["收取学杂费及其他费用等"] == "事务处"
    assert owner_of["进行图书分类及建档编目所有书籍，以便师生更容易找到书籍。"] == "图书馆"
    rules = parsed("宽柔中学古来分校学生守则与请假须知.md")  # a page that names no unit owns nothing
    assert rules[0].section[0] == "学生守则 | 重要条例和校规" and not any(c.owner for c in rules[:5])
    duties = parsed("宽柔中学古来分校训导处职责与主要业务.md")
    assert next(c for c in duties if c.text == "救护室管理").owner == "训导处"


def test_a_leading_group_lists_members_whose_lines_name_their_own_owner(tmp_path: Path) -> None:
    plan = tmp_path / "极端天气应急预案.txt"
    plan.write_text("XX中学极端天气应急预案\n\n一、领导小组\n组长：校长\n成员：各处室主任\n\n二、职责分工\n"
                    "总务处：负责校舍、围墙、树木的安全检查。\n班主任：及时通知家长，清点学生人数。\n\n"
                    "XX中学门卫岗位职责\n1．严格执行来访登记制度。\n", encoding="utf-8")
    clauses = parse_file(plan, plan.name, "doc", "sha").clauses
    owners = {c.text[:3]: c.owner for c in clauses}
    assert owners["组长："] is None and owners["成员："] is None  # a body's members, not a post's duties
    assert owners["总务处"] == "总务处" and owners["班主任"] == "班主任"
    assert owners["严格执"] == "门卫"  # the school's name before a post is not part of the post


def test_short_school_names_bare_post_names_and_notes_before_the_colon(tmp_path: Path) -> None:
    plan = tmp_path / "后勤岗位职责.txt"
    plan.write_text("江城市第七中学后勤岗位职责\n\n七中门卫岗位职责\n1.每天6:00开启校门。\n"
                    "3.7:20以后到校的学生，登记姓名。\n\n三、职责分工\n团委：负责组织学生志愿者。\n"
                    "门卫：负责严格控制人员进出。\n信息联络组（校长办公室牵头）：预警接收、信息报送。\n"
                    "图书馆职能\n主任：许甄甄\n", encoding="utf-8")
    owners = {c.text[:4]: c.owner for c in parse_file(plan, plan.name, "doc", "sha").clauses}
    assert owners["每天6:"] == "门卫" and owners["7:20"] == "门卫"  # "七中" is the school's short name
    assert owners["团委：负"] == "团委" and owners["门卫：负"] == "门卫"  # a name that is only its ending
    assert owners["信息联络"] == "信息联络组（校长办公室牵头）"  # a note on the name stays with it
    assert owners["主任：许"] == "图书馆"  # "主任" alone names no post: a person listed under the unit


def test_an_undated_issuer_and_an_issuer_dated_on_one_line_are_not_rules() -> None:
    from ingest.clean import clean

    def kept(text: str) -> list[str]:
        return [line for _, line in clean(text).lines if line]

    assert kept("1.每天6:00开启校门。\n\n江城市第七中学总务处\n") == ["1.每天6:00开启校门。"]
    assert kept("2. 本预案自发布之日起施行。\n\n江城市第七中学\u3000\u3000二〇二四年四月十五日\n") == \
        ["2. 本预案自发布之日起施行。"]
    last = "负责校园绿化管理的总务处"  # a last duty without its full stop is kept: it names no school
    assert kept(f"1.负责教学。\n{last}\n")[-1] == last


def test_unnumbered_duties_in_a_table_cell_are_one_clause_each(tmp_path: Path) -> None:
    table = tmp_path / "机构.md"
    table.write_text("|   |   |   |   |\n|---|---|---|---|\n|机构名称|财务室|办公电话|0535-1234567|\n"
                     "|机构职能|负责学校经费报销审核<br>负责教职工工资发放|   |   |\n", encoding="utf-8")
    texts = [c.text for c in parse_file(table, table.name, "doc", "sha").clauses]
    assert "负责学校经费报销审核" in texts and "负责教职工工资发放" in texts


def test_a_revision_date_and_an_effective_date() -> None:
    from ingest.clean import clean

    lines = [text for _, text in clean("第一条 按时到岗。\n\n学校办公室\n二〇一〇年五月修订\n").lines if text]
    assert lines == ["第一条 按时到岗。"]
    kept = [text for _, text in clean("第九条 本制度自公布之日起施行。\n2024年9月1日起施行\n").lines if text]
    assert "2024年9月1日起施行" in kept  # when a rule takes effect is a rule


def test_a_quote_keeps_the_spacing_after_its_label_as_written() -> None:
    """「（一）当日…」 where the source has no space, 「第一条 …」 where it has one: a one-line numbered
    clause quoted with its label is its source line (spaces collapsed), never with a space added."""
    knowledge = CORPUS.parents[1] / "knowledge"
    checked, wrong = 0, []
    for path in [*CORPUS.glob("*.*"), *knowledge.glob("*.*")]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for clause in parse_file(path, path.name, "doc", "sha").clauses:
            line = " ".join(lines[clause.source.line_start - 1].split())
            if clause.label and clause.source.line_start == clause.source.line_end and line.startswith(clause.label):
                checked += 1
                wrong += [] if line.endswith(clause.quoted()) else [(line, clause.quoted())]
    assert checked > 300 and not wrong, wrong[:5]


def test_a_title_that_is_a_units_name_issues_the_document() -> None:
    # "苏外纪检部" over "纪检部每日常规及自主劳动检查评分细则": the checks are the 纪检部's.
    rules = parsed("苏州外国语学校纪检部每日常规及自主劳动检查评分细则.txt")
    floors = next(c for c in rules if c.text.startswith("地面整洁"))
    assert floors.owner == "苏外纪检部"
    assert all(c.owner == "苏外纪检部" for c in rules)


def test_bullets_under_names_between_them_are_items_not_headings() -> None:
    """"丹斯里林梧桐大礼堂 / - 冷气设备 / - 可容纳2000人 / 鹤尧讲堂 / - 可容纳300人 / 小讲堂 1 & 2 / - 各可容纳80人":
    every bullet is an item under the hall it follows (they were read as headings over nothing, and lost)."""
    clauses = parsed("宽柔中学古来分校教务处事务处图书馆工作职能.md")
    halls = {c.text: c.section[-1] for c in clauses if "容纳" in c.text}
    assert halls == {"可容纳2000人": "丹斯里林梧桐大礼堂", "可容纳300人": "鹤尧讲堂", "各可容纳80人": "小讲堂 1 & 2"}
    last_of_list = next(c for c in clauses if c.text == "其它" and c.label == "-")
    assert last_of_list.section[-1] == "2. 校外学术比赛/培训"
    assert not any(heading.startswith("- ") for c in clauses for heading in c.section)
