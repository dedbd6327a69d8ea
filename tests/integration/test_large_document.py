"""A large document that fits under the size cap (a few MB, below DUTYDESK_MAX_DOCUMENT_BYTES) is
parsed, embedded, indexed and answered from, with citations of the exact generated clause.

The document is generated here: a school's regulation compendium with 第X章 chapters, 第X条 articles
and （一）（二）（三） items, every article naming its own place, object, task and department. It is
embedded with the suite's HashEmbedder (the real model over thousands of clauses takes minutes:
`benchmarks/bench_ingest.py --large` measures that on the same document).
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.service import DutyDesk
from ingest.pipeline import MAX_DOCUMENT_BYTES

NAME = "制度汇编.md"
ARTICLES = 3200
ITEMS_EVERY = 4  # every 4th article is a short lead-in to three items
_DIGITS = "零一二三四五六七八九"
UNITS = ["教务处", "政教处", "总务处", "安全办", "办公室", "信息中心", "财务室", "团委", "教科室", "后勤处"]
PLACES = ["教学楼", "实验楼", "图书馆", "体育馆", "学生食堂", "学生公寓", "行政楼"]
THINGS = ["消防器材", "实验仪器", "图书资料", "体育器材", "炊事设备", "监控设备", "多媒体设备", "档案柜", "配电箱"]
TASKS = ["登记造册", "定期检查", "维修保养", "清点核对", "报废处置", "安全巡查"]
CHAPTERS = ["总则", "组织与职责", "日常管理", "检查与考核", "经费保障", "应急处置", "奖励与责任追究", "附则"]


def numeral(n: int) -> str:
    """1..9999 in Chinese numerals as regulations number their articles (一百零五, 一千零一十)."""
    if 10 <= n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    out, gap = "", False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            out += ("零" if gap and out else "") + _DIGITS[digit] + name
            gap = False
        else:
            gap = True
    return out


def article(n: int) -> tuple[str, str, str, str]:
    """(place, thing, task, unit) of article n: every article a combination of its own."""
    return PLACES[n % len(PLACES)], THINGS[n // 7 % len(THINGS)], TASKS[n % len(TASKS)], UNITS[n % len(UNITS)]


def large_regulation(articles: int = ARTICLES) -> str:
    """The compendium: 40 chapters of 第X条 articles, one line each, items on lines of their own."""
    lines = ["---", "title: 实验学校内部管理制度汇编", "---", "", "# 实验学校内部管理制度汇编", ""]
    per_chapter = -(-articles // 40)
    for n in range(1, articles + 1):
        if (n - 1) % per_chapter == 0:
            chapter = (n - 1) // per_chapter + 1
            lines += [f"## 第{numeral(chapter)}章 {CHAPTERS[(chapter - 1) % len(CHAPTERS)]}（{chapter}）", ""]
        place, thing, task, unit = article(n)
        if n % ITEMS_EVERY:
            lines.append(
                f"第{numeral(n)}条 {place}第{n}号{thing}的{task}工作由{unit}负责。{unit}应当指定专人建立{thing}台账，"
                f"载明编号、规格、存放位置、购置日期和使用状况，每学期开学前和放假前各组织一次全面检查，"
                f"发现损坏、缺失或者存在安全隐患的，应当在三个工作日内整改完毕，并书面报告分管副校长；"
                f"涉及师生人身安全的，应当立即停止使用，设置警示标志，同时通知安全办备案。{place}各楼层管理员"
                f"应当配合{unit}做好日常看护，不得擅自挪用、外借或者拆卸{thing}，因管理不善造成损失的，"
                f"依照本制度第{numeral(max(1, n - 1))}条的规定追究相关人员责任。")
        else:
            lines.append(f"第{numeral(n)}条 第{n}号{thing}的{task}记录按下列要求办理：")
            for i in range(1, 4):
                lines.append(f"（{numeral(i)}）{task}记录应当注明时间、地点、数量和经办人，第{n}号{thing}的第{i}份记录"
                             f"经{unit}负责人签字后存档，保存期限不少于三年，任何人不得涂改或者销毁；记录遗失的，"
                             f"由{unit}在五个工作日内补办并报办公室备案。")
        lines.append("")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def large_desk(tmp_path_factory: pytest.TempPathFactory, desk_factory: Callable[..., DutyDesk]) -> DutyDesk:
    """The compendium ingested once (HashEmbedder). Read-only."""
    return desk_factory({NAME: large_regulation()})


def line_of(text: str, start: str) -> int:
    """1-based number of the first line of text that starts with `start`."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(start))


def test_the_document_is_a_few_megabytes_below_the_cap() -> None:
    size = len(large_regulation().encode("utf-8"))
    assert 2_000_000 < size < MAX_DOCUMENT_BYTES, size


def test_every_article_and_item_of_a_large_document_is_indexed(large_desk: DutyDesk) -> None:
    knowledge = large_desk.knowledge()
    items = ARTICLES // ITEMS_EVERY * 3
    assert len(knowledge.clauses) == ARTICLES + items
    assert knowledge.collection.count() == len(knowledge.clauses)
    articles = [c for c in knowledge.clauses if c.label and c.label.endswith("条")]
    assert [c.label for c in articles] == [f"第{numeral(n)}条" for n in range(1, ARTICLES + 1)]
    assert len({c.id for c in knowledge.clauses}) == len(knowledge.clauses)
    (entry,) = knowledge.manifest.documents.values()
    assert entry.title == "实验学校内部管理制度汇编" and len(entry.clause_ids) == len(knowledge.clauses)


@pytest.mark.parametrize("n", [7, 1337, ARTICLES - 1])
def test_a_question_about_one_generated_article_cites_it(large_desk: DutyDesk, n: int) -> None:
    place, thing, task, unit = article(n)
    result = large_desk.ask(f"{place}第{n}号{thing}的{task}工作由谁负责？")
    assert result.answer.status in ("answered", "related"), result.answer.text  # never refused
    first = result.answer.citations[0].clause
    assert first.label == f"第{numeral(n)}条" and f"{place}第{n}号{thing}的{task}工作由{unit}负责" in first.text, \
        result.answer.text
    assert first.source.path == NAME and first.source.line_start == line_of(large_regulation(), f"第{numeral(n)}条 ")
    assert large_desk.clause(first.id) == first


def test_an_article_asked_for_by_its_number_is_answered_with_it(large_desk: DutyDesk) -> None:
    result = large_desk.ask(f"第{numeral(2222)}条是怎么规定的？")
    assert result.answer.status == "answered", result.answer.text
    assert result.answer.citations[0].clause.label == f"第{numeral(2222)}条"


def test_an_item_of_a_large_document_is_cited_by_its_own_number(large_desk: DutyDesk) -> None:
    n = 1336  # an article with items
    _, thing, task, _ = article(n)
    result = large_desk.ask(f"第{n}号{thing}的第2份{task}记录由谁签字存档？")
    cited = [c.clause for c in result.answer.citations]
    assert cited and cited[0].label == "（二）" and f"第{n}号{thing}的第2份记录" in cited[0].text, result.answer.text
    assert cited[0].section[-1].startswith(f"第{numeral(n)}条 ")
