"""ingest.loaders: each format branch on the fixtures in tests/data, and each way a file can be bad."""
from __future__ import annotations

import importlib.util
import io
import random
from pathlib import Path
from types import ModuleType

import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from pypdf import PdfReader, PdfWriter

from ingest.errors import LoadError
from ingest.loaders import SUPPORTED_SUFFIXES, load_text
from ingest.loaders.html import load_html

DATA = Path(__file__).resolve().parent.parent / "data"


def lines_of(name: str) -> list[str]:
    """The loaded text of a fixture, split into lines."""
    return load_text(DATA / name).split("\n")


def load_error(path: Path) -> str:
    """The message of the LoadError that loading path raises."""
    with pytest.raises(LoadError) as caught:
        load_text(path)
    return caught.value.message


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """A file named name holding data."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- plain text and markdown ---------------------------------------------------------------------


def test_supported_suffixes_are_lowercase_with_a_dot() -> None:
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf"}


def test_gbk_text_is_decoded_including_gbk_only_characters() -> None:
    lines = lines_of("gbk_rules.txt")
    assert lines[0] == "图书管理员岗位职责"
    assert lines[1] == "\u3000\u30001．负责图书的采购、验收、分类、编目和上架工作，做到账物相符。"
    assert "每周一至周五下午四点至五点半为学生集中借还时间" in lines[4]
    assert lines[7] == "联系人：王堃老师"  # 堃 is in GBK but not in GB2312


def test_gbk_text_keeps_the_mid_sentence_line_break_where_the_file_has_it() -> None:
    lines = lines_of("gbk_rules.txt")
    assert lines[2].endswith("确保师生")
    assert lines[3] == "能够及时检索到新到图书。"


def test_big5_text_is_decoded_as_big5_not_as_gb18030_lookalikes() -> None:
    text = load_text(DATA / "big5_notice.txt")
    assert text.startswith("圖書館借閱須知\n")
    assert "二、每位學生每次最多借閱三冊，借期為十四天。" in text
    assert "暫停借閱權利一週" in text


def test_utf8_bom_is_stripped_and_crlf_becomes_lf() -> None:
    raw = (DATA / "bom_notice.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    text = load_text(DATA / "bom_notice.txt")
    assert "\ufeff" not in text and "\r" not in text
    lines = text.split("\n")
    assert lines[0] == "关于期末考试安排的通知"
    assert lines[2] == "\u3000\u3000本学期期末考试定于2025年1月13日至15日举行，请各班主任提前做好考前动员。"
    assert len(lines) == raw.count(b"\r\n") + 1


@pytest.mark.parametrize("name", ["role_duties.txt", "regulation.md", "md_table.md"])
def test_text_lines_map_one_to_one_to_file_lines(name: str) -> None:
    file_lines = (DATA / name).read_bytes().decode("utf-8").split("\n")
    assert lines_of(name) == file_lines


def test_role_duties_keeps_indentation_and_full_width_spaces_verbatim() -> None:
    lines = lines_of("role_duties.txt")
    assert lines[4] == "校长办公室主任岗位职责"
    assert lines[5] == "  校长办公室主任在校长领导下，负责学校日常行政事务的组织与协调，是学校行政运转的枢纽。"
    number = lines.index("\u3000\u3000五千元，超出部分当日送存银行。")
    assert lines[number - 1] == "\u3000\u30002．每日下班前核对库存现金，库存现金不得超过核定限额"
    assert "  ① 全面了解本班学生的思想、学习和身体状况，每学期至少家访一次。" in lines


def test_markdown_front_matter_and_table_rows_are_kept_verbatim() -> None:
    regulation = lines_of("regulation.md")
    assert regulation[:4] == ["---", "title: 滨海市第二中学教职工考勤管理办法", "effective: 2024-09-01", "---"]
    table = lines_of("md_table.md")
    assert "|机构名称|图书馆|办公电话|0535-1234567|" in table
    duties = next(line for line in table if line.startswith("|机构职能|1.负责全校图书资料"))
    assert "<br><br>2.负责电子阅览室" in duties


def test_lone_carriage_returns_also_end_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.txt", "第一行\r\n第二行\r第三行\n".encode())
    assert load_text(path) == "第一行\n第二行\n第三行\n"


def test_suffix_is_matched_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, "RULES.TXT", (DATA / "gbk_rules.txt").read_bytes())
    assert load_text(path).startswith("图书管理员岗位职责\n")


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    path = write(tmp_path, "notice.txt", "\ufeff第一条　值日教师须提前十分钟到岗。\n".encode("utf-16-le"))
    assert load_text(path) == "第一条　值日教师须提前十分钟到岗。\n"


def test_other_encodings_fall_back_to_charset_detection(tmp_path: Path) -> None:
    text = "学校の規則：生徒は午前八時までに登校すること。\n"  # Shift-JIS: not GBK, not Big5
    assert load_text(write(tmp_path, "kisoku.txt", text.encode("shift_jis"))) == text


# --- HTML ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_lines() -> list[str]:
    """The loaded lines of web_page.html."""
    return lines_of("web_page.html")


def test_html_drops_scripts_styles_navigation_forms_and_footer(web_lines: list[str]) -> None:
    text = "\n".join(web_lines)
    for gone in ("百度统计代码", "广告位招租", "font-size", "工作总结", "第一范文网首页", "搜索",
                 "加入收藏", "热门排行", "Copyright", "京ICP备", "请开启浏览器的脚本功能", "正文开始"):
        assert gone not in text, gone


def test_html_keeps_body_text_drops_link_lists_and_leaves_other_furniture_to_cleaning(web_lines: list[str]) -> None:
    assert "时间:2023-04-10 11:22:22 规章制度 我要投稿" in web_lines
    assert "立即下载" in web_lines
    # A block that is mostly links (the "相关推荐" list with its heading) is a menu, not the page's text.
    assert not any("相关推荐" in line or "校园安全管理制度（精选5篇）" in line for line in web_lines)
    assert "3、发现安全隐患应立即报告宿舍管理员" in web_lines


def test_a_cms_pages_menus_breadcrumb_and_link_columns_are_dropped_but_a_rules_one_link_is_kept() -> None:
    page = ('<html><body><div class="toplink"><a href="#">加入收藏</a> | <a href="/">设为首页</a> | '
            '<a href="/s">站内搜索</a></div><div class="nav"><ul><li><a href="/">首页</a></li>'
            '<li><a href="/a">学校概况</a></li><li><a href="/b">教务管理</a></li></ul></div>'
            '<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/b">教务管理</a></div>'
            '<div class="content"><h1>学籍管理细则</h1><p>第一条 本细则适用于全体学生。</p>'
            '<p>附件：<a href="/f.doc">转学申请表</a></p></div></body></html>').encode()
    lines = [line for line in load_html(page).splitlines() if line]
    assert lines == ["# 学籍管理细则", "第一条 本细则适用于全体学生。", "附件：转学申请表"]


def test_html_headings_become_markdown_and_the_title_is_not_repeated(web_lines: list[str]) -> None:
    assert web_lines[0] == "# 学生宿舍管理规定"
    assert "## 一、作息管理" in web_lines and "## 三、联系方式" in web_lines
    assert not any("第一范文网" in line for line in web_lines)  # <title> is dropped when an h1 exists


def test_html_blocks_are_lines_in_document_order(web_lines: list[str]) -> None:
    order = ["## 一、作息管理", "（一）学生须在晚上21:40前返回宿舍，22:00统一熄灯。", "## 二、安全管理",
             "1、严禁在宿舍内使用电热毯、热得快等违规电器。", "## 三、联系方式", "|部门|值班电话|职责|"]
    positions = [web_lines.index(line) for line in order]
    assert positions == sorted(positions)


def test_html_whitespace_collapses_and_source_wraps_join_chinese(web_lines: list[str]) -> None:
    assert "为加强学生宿舍管理，营造安全、文明、整洁的住宿环境，根据学校实际，制定本规定。" in web_lines
    assert all(line == line.strip(" \t") for line in web_lines)
    assert all(web_lines[i] or web_lines[i + 1] for i in range(len(web_lines) - 1))  # no blank runs


def test_html_br_ends_a_line(web_lines: list[str]) -> None:
    start = web_lines.index("3、发现安全隐患应立即报告宿舍管理员")
    assert web_lines[start + 1] == "或拨打宿管值班电话。"


def test_html_table_becomes_markdown_rows_with_br_in_cells(web_lines: list[str]) -> None:
    row = "|学生处宿管科|0535-6688123|1.负责宿舍日常卫生检查<br>2.负责调解住宿纠纷|"
    assert web_lines[web_lines.index("|部门|值班电话|职责|") + 1] == row


def test_html_title_becomes_the_heading_when_there_is_no_h1(tmp_path: Path) -> None:
    page = "<html><head><title>值周教师职责</title></head><body><p>1．早晨7:10到岗。</p></body></html>"
    assert load_text(write(tmp_path, "p.html", page.encode())) == "# 值周教师职责\n\n1．早晨7:10到岗。"


def test_html_keeps_an_articles_own_header_and_drops_hidden_elements(tmp_path: Path) -> None:
    page = """<body><header>网站导航条</header><article><header><h1>门卫职责</h1>
    <p>发布：保卫科</p></header><p>1、外来车辆一律登记。</p>
    <p style="display: none">隐藏的关键词堆砌</p><div hidden>另一段隐藏文字</div></article></body>"""
    lines = load_text(write(tmp_path, "p.htm", page.encode())).split("\n")
    assert lines[0] == "# 门卫职责"
    assert "发布：保卫科" in lines and "1、外来车辆一律登记。" in lines
    assert not any("网站导航条" in line or "隐藏" in line for line in lines)


def test_html_layout_tables_are_not_turned_into_rows(tmp_path: Path) -> None:
    page = """<table><tr><td><table><tr><td>教务处</td><td>0535-3450836</td></tr></table></td></tr>
    <tr><td><p>第一条　考试期间严禁携带手机。</p><p>第二条　迟到十五分钟不得入场。</p></td></tr></table>"""
    lines = load_text(write(tmp_path, "layout.html", page.encode())).split("\n")
    assert "|教务处|0535-3450836|" in lines  # the inner data table still is one
    assert "第一条　考试期间严禁携带手机。" in lines and "第二条　迟到十五分钟不得入场。" in lines


def test_html_meta_charset_gb2312_is_honoured_as_gb18030(tmp_path: Path) -> None:
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            "</head><body><h2>一、卫生要求</h2><p>负责人：李堃</p></body></html>")
    assert load_text(write(tmp_path, "gb.html", page.encode("gbk"))) == "## 一、卫生要求\n\n负责人：李堃"


def test_html_wrong_meta_charset_falls_back_to_detection(tmp_path: Path) -> None:
    page = '<meta charset="utf-8"><p>（一）寄宿生周日晚上七点前返校。</p>'
    assert load_text(write(tmp_path, "wrong.html", page.encode("gbk"))) == "（一）寄宿生周日晚上七点前返校。"


def test_html_pipes_inside_cells_are_escaped(tmp_path: Path) -> None:
    page = "<table><tr><td>选课</td><td>A|B 两类</td></tr></table>"
    assert load_text(write(tmp_path, "pipe.html", page.encode())) == "|选课|A\\|B 两类|"


def test_html_without_body_text_is_refused(tmp_path: Path) -> None:
    page = "<html><body><nav>首页</nav><script>var a = 1;</script></body></html>"
    assert "没有正文" in load_error(write(tmp_path, "blank.html", page.encode()))


# --- DOCX ----------------------------------------------------------------------------------------


def test_docx_keeps_paragraphs_headings_and_tables_in_document_order() -> None:
    assert lines_of("table_rules.docx") == [
        "# 后勤服务管理制度",
        "为规范学校后勤服务工作，提高服务质量，特制定本制度。",
        "## 一、食堂管理",
        "1．食堂从业人员须持有效健康证明上岗，每年体检一次。",
        "2．食品留样不少于48小时，每餐每样不少于125克。",
        "|部门|办公电话|职责|",
        "|总务处|0535-7788990|1.负责校舍维修报修的受理与派工。<br>2.负责水电设施的日常巡查。|",
        "||0535-7788991（夜间）|3.负责夜间水电抢修。|",  # 总务处 merged down: not repeated
        "|报修请于工作日8:00-17:00拨打总务处电话。|",  # merged across: once, not three times
        "## 二、维修管理",
        "3．校舍报修应通过后勤报修平台提交，紧急维修可直接电话报告。",
        "4．维修完成后由报修人验收签字，",  # a manual line break inside the paragraph
        "验收不合格的应重新维修。",
        "## 三、考核办法",
        "1. 每月对食堂卫生进行一次检查评比。",  # Word's automatic numbering, style List Number
        "2. 检查结果纳入部门年度考核。",
        "（一）对食品安全事故隐瞒不报的，追究相关人员责任。",  # automatic, Chinese counting
        "（二）对连续三次检查优秀的班组给予表彰。",
    ]


def _docx_bytes(document: Document) -> bytes:  # type: ignore[valid-type]
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_headings_from_title_style_and_custom_outline_levels(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("安全工作制度", style="Title")
    custom = doc.styles.add_style("一级标题", 1)  # 1 = paragraph style
    custom.element.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {nsdecls("w")} w:val="1"/>'))
    doc.add_paragraph("一、门卫管理", style=custom)
    doc.add_paragraph("外来人员须登记。")
    lines = load_text(write(tmp_path, "h.docx", _docx_bytes(doc))).split("\n")
    assert lines == ["# 安全工作制度", "## 一、门卫管理", "外来人员须登记。"]


def test_docx_restarted_list_numbering_starts_again(tmp_path: Path) -> None:
    doc = Document()
    numbering = doc.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="77"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/><w:suff w:val="space"/>'
        '<w:lvlText w:val="第%1条"/></w:lvl>'
        "</w:abstractNum>"))
    first = f'<w:num {nsdecls("w")} w:numId="77"><w:abstractNumId w:val="77"/></w:num>'
    numbering.append(parse_xml(first))
    numbering.append(parse_xml(
        f'<w:num {nsdecls("w")} w:numId="78"><w:abstractNumId w:val="77"/>'
        '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'))
    for num_id, texts in ((77, [f"条款{i}" for i in range(1, 12)]), (78, ["新条款"])):
        for text in texts:
            num_pr = doc.add_paragraph(text)._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = num_id
    lines = load_text(write(tmp_path, "n.docx", _docx_bytes(doc))).split("\n")
    assert lines[0] == "第一条 条款1"
    assert lines[9] == "第十条 条款10" and lines[10] == "第十一条 条款11"
    assert lines[11] == "第一条 新条款"


def test_docx_content_controls_are_read_in_place(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("第一段")
    sdt = parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtContent><w:p><w:r><w:t>控件里的段落</w:t></w:r></w:p>'
                    "</w:sdtContent></w:sdt>")
    doc.element.body.insert(1, sdt)
    doc.add_paragraph("最后一段")
    assert load_text(write(tmp_path, "sdt.docx", _docx_bytes(doc))) == "第一段\n控件里的段落\n最后一段"


def test_docx_nested_table_cells_and_empty_paragraphs(tmp_path: Path) -> None:
    doc = Document()
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.text = "政教处"
    right.text = "1.负责德育工作。"
    right.add_paragraph("")
    right.add_paragraph("2.负责班主任培训。")
    inner = right.add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "电话", "0535-3450862"
    right.add_paragraph("")  # Word requires a paragraph after a nested table
    text = load_text(write(tmp_path, "t.docx", _docx_bytes(doc)))
    assert text == "|政教处|1.负责德育工作。<br><br>2.负责班主任培训。<br>电话 0535-3450862|"


def test_docx_vertically_continued_cell_text_is_not_read(tmp_path: Path) -> None:
    doc = Document()
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "办公室", "0535-3450800"
    table.cell(1, 0).text, table.cell(1, 1).text = "旧内容，Word 不显示", "0535-3450801"
    for row, merge in ((0, "restart"), (1, "continue")):
        tc_pr = table.cell(row, 0)._tc.get_or_add_tcPr()
        tc_pr.append(parse_xml(f'<w:vMerge {nsdecls("w")} w:val="{merge}"/>'))
    text = load_text(write(tmp_path, "v.docx", _docx_bytes(doc)))
    assert text == "|办公室|0535-3450800|\n||0535-3450801|"


def test_corrupt_docx_is_refused() -> None:
    assert "DOCX 文件已损坏" in load_error(DATA / "corrupt.docx")


def test_legacy_word_file_named_docx_gets_a_specific_message(tmp_path: Path) -> None:
    path = write(tmp_path, "old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert "旧版 Word" in load_error(path)


def test_docx_without_text_is_refused(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("")
    assert "没有文字" in load_error(write(tmp_path, "blank.docx", _docx_bytes(doc)))


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_is_extracted_page_after_page() -> None:
    lines = lines_of("rules.pdf")
    assert lines[0] == "校园安全管理制度"
    first = lines.index("第二条　门卫室实行24小时值班制度，外来人员须登记后方可入校。")
    assert lines[first + 1] == "第三条　每学期至少组织两次应急疏散演练，并做好记录。"  # page 2 starts here
    assert lines[-1] == "第四条　发现安全隐患应立即报告总务处，值班电话0535-3450899。"


def test_pdf_encrypted_with_a_user_password_is_refused() -> None:
    assert "PDF 已加密" in load_error(DATA / "encrypted.pdf")


def test_pdf_encrypted_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(DATA / "rules.pdf"))
    writer.encrypt(user_password="", owner_password="only-the-owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "应急疏散演练" in load_text(write(tmp_path, "restricted.pdf", buffer.getvalue()))


def test_pdf_without_a_text_layer_is_refused_as_scanned() -> None:
    message = load_error(DATA / "scanned.pdf")
    assert "没有可提取的文字" in message and "扫描" in message


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    rng = random.Random(3)
    path = write(tmp_path, "bad.pdf", b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(800)))
    assert "PDF 文件已损坏" in load_error(path)


# --- files that are not documents ----------------------------------------------------------------


def test_binary_file_named_txt_is_refused() -> None:
    assert "二进制" in load_error(DATA / "binary.txt")


def test_control_characters_without_nul_are_refused_as_binary(tmp_path: Path) -> None:
    rng = random.Random(5)
    data = bytes(rng.randrange(1, 0x20) for _ in range(400)) + "附件".encode()
    assert "二进制" in load_error(write(tmp_path, "dump.txt", data))


def test_empty_file_is_refused() -> None:
    assert "文件为空" in load_error(DATA / "empty.txt")


@pytest.mark.parametrize("content", [" \n\t\r\n", "\ufeff", "\u3000\u3000\n"])
def test_whitespace_only_file_is_refused(tmp_path: Path, content: str) -> None:
    assert "文件为空" in load_error(write(tmp_path, "blank.md", content.encode()))


def test_undecodable_bytes_are_refused_with_the_encoding_reason(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(0x80, 0x100) for _ in range(300))
    assert "无法识别文件编码" in load_error(write(tmp_path, "junk.txt", data))


def test_utf8_with_a_damaged_byte_names_the_line(tmp_path: Path) -> None:
    good = "第一条　为加强管理，制定本办法。\n第二条　本办法适用于全体教职工。\n第三条　教职工应按时签到。\n".encode()
    cut = good.index("签".encode())
    assert "第 3 行" in load_error(write(tmp_path, "cut.txt", good[:cut] + good[cut + 1:]))


@pytest.mark.parametrize("name", ["notes.xyz", "old.doc", "README"])
def test_unsupported_file_types_are_refused(tmp_path: Path, name: str) -> None:
    message = load_error(write(tmp_path, name, b"some text"))
    assert message.startswith("不支持的文件类型") and Path(name).suffix in message


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    assert "不存在" in load_error(tmp_path / "gone.txt")
    (tmp_path / "folder.md").mkdir()
    assert "目录" in load_error(tmp_path / "folder.md")


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_garbage_never_raises_anything_but_load_error(tmp_path: Path, suffix: str) -> None:
    rng = random.Random(suffix)
    samples = [bytes(rng.randrange(256) for _ in range(size)) for size in (1, 64, 4096)]
    for fixture in (DATA / "table_rules.docx", DATA / "rules.pdf"):  # truncated real files
        samples += [fixture.read_bytes()[:size] for size in (200, 3000)]
    for number, data in enumerate(samples):
        path = write(tmp_path, f"sample{number}{suffix}", data)
        try:
            assert isinstance(load_text(path), str)
        except LoadError as error:
            assert error.message


# --- the fixtures themselves ---------------------------------------------------------------------


def _fixture_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_fixtures_match_the_generator(tmp_path: Path) -> None:
    script = _fixture_script()
    script.write_text_fixtures(tmp_path)
    script.write_bad_fixtures(tmp_path)
    script.write_docx(tmp_path)  # the PDFs need a CJK font, so they are not regenerated here
    for made in sorted(tmp_path.iterdir()):
        assert made.read_bytes() == (DATA / made.name).read_bytes(), made.name


def test_docx_fixture_really_uses_automatic_numbering_and_merged_cells() -> None:
    body = Document(str(DATA / "table_rules.docx")).element.body
    assert body.findall(f".//{qn('w:numId')}"), "list paragraphs carry numPr, not typed numbers"
    assert body.findall(f".//{qn('w:vMerge')}") and body.findall(f".//{qn('w:gridSpan')}")
