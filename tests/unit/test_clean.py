"""ingest.clean: front matter, whitespace and web boilerplate, with every kept line's source number."""
from __future__ import annotations

import pytest

from ingest.clean import clean, normalize_space


def kept(text: str) -> list[str]:
    """The non-blank lines clean() keeps, whitespace-normalised."""
    return [normalize_space(line) for _, line in clean(text).lines if normalize_space(line)]


def test_normalize_space_collapses_full_width_no_break_and_zero_width_space() -> None:
    assert normalize_space("\u3000\u3000校\u3000\u3000训：\t自强\u00a0不息\u200b ") == "校 训： 自强 不息"
    assert normalize_space("\ufeff第一条") == "第一条"
    assert normalize_space("   ") == ""


def test_front_matter_is_read_and_removed_and_line_numbers_still_count_it() -> None:
    text = "---\ntitle: \"教职工考勤管理办法\"\neffective: 2024-09-01\nPermalink: /a/b/\n---\n\n第一条 总则。\n"
    cleaned = clean(text)
    assert cleaned.title == "教职工考勤管理办法"
    assert cleaned.meta == {"title": "教职工考勤管理办法", "effective": "2024-09-01", "permalink": "/a/b/"}
    assert [(n, line) for n, line in cleaned.lines if line] == [(7, "第一条 总则。")]


def test_an_unclosed_fence_is_not_front_matter() -> None:
    text = "---\ntitle: 不是元数据\n正文第一行。\n"
    cleaned = clean(text)
    assert cleaned.title is None and cleaned.meta == {}
    assert (2, "title: 不是元数据") in cleaned.lines


def test_lines_keep_their_1_based_numbers_with_crlf_and_cr_line_endings() -> None:
    cleaned = clean("一、总则\r\n\r\n1.第一项。\r2.第二项。\n")
    assert [(n, line) for n, line in cleaned.lines if line] == [(1, "一、总则"), (3, "1.第一项。"), (4, "2.第二项。")]


def test_trailing_whitespace_is_trimmed_but_leading_indentation_is_left_to_the_parser() -> None:
    cleaned = clean("\u3000\u30001．负责图书采购。  \t\n")
    assert cleaned.lines[0] == (1, "\u3000\u30001．负责图书采购。")


@pytest.mark.parametrize("line", [
    "立即下载", "点击下载", "点击下载文档", "免费下载Word文档", "下载", "我要投稿", "加入收藏", "  • 相关推荐", "- 相关推荐", "打印本页", "返回顶部",
    "分享到：微信 微博 QQ空间", "上一篇：学校食堂管理规定", "下一篇：校园安全制度", "责任编辑：张三",
    "本文链接：http://example.com/a/1.html", "来源：本站原创", "浏览次数：1024", "扫一扫分享本页",
    "时间:2023-04-10 11:22:22 工作计划 我要投稿", "发布时间：2024年3月1日", "更新时间: 2024/03/01",
    "2024-03-01", "2024年3月1日", "11:22:22",
    "首页 > 规章制度", "当前位置：网站首页 » 通知公告 » 正文", "首页/学校概况/规章制度",
    "Copyright © 2018-2023 云溪县实验小学 版权所有 地址：云溪县城关镇", "技术支持：云溪县教育技术中心 浙ICP备18012345号",
])
def test_web_furniture_lines_are_removed(line: str) -> None:
    text = f"学校宿舍管理规定\n{line}\n第一条 学生须按时就寝。\n"
    assert kept(text) == ["学校宿舍管理规定", "第一条 学生须按时就寝。"]


@pytest.mark.parametrize("line", [
    "学生不得在课堂上下载游戏。",  # mentions 下载 inside a sentence
    "教师应于每学期开学前提交下载的课件目录。",
    "来源：学校办公室、教务处和各年级组共同提供的历年统计数据汇编材料",  # too long for a source credit
    "时间安排：每周一至周五。",
    "第一条 本办法自2024年9月1日起施行。",
    "1.负责相关推荐工作的组织。",
    "6.尊重知识产权，不得在校园网上传播侵犯他人版权所有作品的内容，一经发现，由信息中心删除并按学校有关规定严肃处理。",
])
def test_content_that_merely_resembles_furniture_is_kept(line: str) -> None:
    assert line in kept(f"{line}\n")


def test_a_related_articles_block_with_dated_links_is_removed_to_its_end() -> None:
    text = ("6、做好全年工作总结。\n\n【教育局年度工作计划】相关文章:\n\n教育局教研室工作计划09-22\n\n"
            "教育局督导工作总结03-03\n\n年度的工作计划01-13\n")
    assert kept(text) == ["6、做好全年工作总结。"]


def test_a_related_block_ends_at_the_first_line_that_is_content() -> None:
    text = "相关阅读：\n学校食堂管理规定03-03\n三、本规定由总务处负责解释。\n"
    assert kept(text) == ["三、本规定由总务处负责解释。"]


def test_an_undated_link_list_after_a_related_heading_is_removed() -> None:
    text = ("3、发现安全隐患应立即报告。\n\n### 相关推荐\n\n学生宿舍管理制度范文\n宿舍卫生检查评比办法\n\n"
            "相关文章：\n\n学校食堂管理规定\n校园安全管理制度（精选5篇）\n")
    assert kept(text) == ["3、发现安全隐患应立即报告。"]


def test_a_related_heading_followed_by_a_real_paragraph_keeps_the_paragraph() -> None:
    # The 教育局 page puts a "相关推荐" button right before its introduction.
    intro = "时光在流逝,从不停歇,我们又将续写新的诗篇。下面是小编整理的计划,仅供参考。"
    assert kept(f"教育局年度工作计划\n\n  • 相关推荐\n\n  {intro}\n") == ["教育局年度工作计划", intro]


def test_numbered_items_after_a_related_heading_are_content_not_links() -> None:
    text = "相关推荐\n一、总则\n1.本制度适用于全体教职工。\n"
    assert kept(text) == ["一、总则", "1.本制度适用于全体教职工。"]


def test_clean_keeps_blank_lines_so_the_parser_sees_paragraph_breaks() -> None:
    cleaned = clean("第一段没有句号\n\n第二段。\n")
    assert cleaned.lines[:3] == [(1, "第一段没有句号"), (2, ""), (3, "第二段。")]
