"""Write the small Chinese test documents in tests/data; deterministic, so the output is checked in.

Run from the repository root:  python tests/data/make_fixtures.py [OUTPUT_DIR]

The PDFs need a CJK TrueType font (Debian: `apt-get install fonts-wqy-microhei`); set
DUTYDESK_FIXTURE_FONT to use another one. Tests read the checked-in files and never need the font.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import random
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2024, 9, 1, 8, 0, 0, tzinfo=dt.UTC)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
ENCRYPTED_PDF_PASSWORD = "dutydesk-2024"

# GBK: a role heading, full-width-dot items indented with U+3000, one item wrapped mid-sentence,
# and 堃, which is in GBK but not in GB2312.
GBK_RULES = """图书管理员岗位职责
　　1．负责图书的采购、验收、分类、编目和上架工作，做到账物相符。
　　2．每学期开学前两周完成新书登记，并在借阅系统中录入书目信息，确保师生
能够及时检索到新到图书。
　　3．坚持开放借阅制度，每周一至周五下午四点至五点半为学生集中借还时间。
　　4．定期清点馆藏，破损图书应及时修补，无法修补的报总务处审批后注销。
　　5．保持书库通风干燥，严禁在书库内吸烟和使用明火。
联系人：王堃老师
"""

BIG5_NOTICE = """圖書館借閱須知
一、本館開放時間為週一至週五上午八時至下午五時。
二、每位學生每次最多借閱三冊，借期為十四天。
三、逾期未還者，暫停借閱權利一週。
四、如有遺失或污損，應照價賠償。
"""

# UTF-8 with a BOM and Windows line endings.
BOM_NOTICE = """关于期末考试安排的通知
各年级：
　　本学期期末考试定于2025年1月13日至15日举行，请各班主任提前做好考前动员。

教务处
2024年12月20日
"""

WEB_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>学生宿舍管理规定_第一范文网</title>
<style>body { font-size: 14px; } .nav { color: #333; }</style>
<script>var _hmt = _hmt || []; console.log("百度统计代码");</script>
</head>
<body>
<header class="site-top"><a href="/">第一范文网首页</a>
  <form action="/search"><input name="q" placeholder="搜索范文"><button>搜索</button></form>
</header>
<nav><ul>
  <li><a href="/gzzd/">规章制度</a></li><li><a href="/zongjie/">工作总结</a></li>
  <li><a href="/jihua/">工作计划</a></li>
</ul></nav>
<div class="main">
<article>
<h1>学生宿舍管理规定</h1>
<div class="info">时间:2023-04-10 11:22:22 <a href="/gzzd/">规章制度</a> <a href="/tougao/">我要投稿</a></div>
<div class="downbtn"><a class="btn" href="/down/20230410.doc">立即下载</a> <button>加入收藏</button></div>
<!-- 正文开始 -->
<div class="content">
<p>&nbsp;&nbsp;&nbsp;&nbsp;为加强学生宿舍管理，营造安全、文明、
    整洁的住宿环境，根据学校实际，制定本规定。</p>
<h2>一、作息管理</h2>
<p>（一）学生须在晚上21:40前返回宿舍，22:00统一熄灯。</p>
<p>（二）熄灯后不得大声喧哗、使用电器或串门。</p>
<h2>二、安全管理</h2>
<p>1、严禁在宿舍内使用电热毯、热得快等违规电器。</p>
<p>2、离开宿舍时应关好门窗，贵重物品妥善保管。</p>
<p>3、发现安全隐患应立即报告宿舍管理员<br>或拨打宿管值班电话。</p>
<h2>三、联系方式</h2>
<table border="1">
<tr><th>部门</th><th>值班电话</th><th>职责</th></tr>
<tr><td>学生处宿管科</td><td>0535-6688123</td><td><p>1.负责宿舍日常卫生检查</p><p>2.负责调解住宿纠纷</p></td></tr>
</table>
<noscript>请开启浏览器的脚本功能</noscript>
</div>
</article>
<div class="related">
<h3>相关推荐</h3>
<ul><li><a href="/a/1.html">学生宿舍管理制度范文</a></li><li><a href="/a/2.html">宿舍卫生检查评比办法</a></li></ul>
<p>相关文章：</p>
<ul><li><a href="/a/3.html">学校食堂管理规定</a></li><li><a href="/a/4.html">校园安全管理制度（精选5篇）</a></li></ul>
</div>
</div>
<aside class="hot"><h3>热门排行</h3><a href="/a/9.html">教师个人工作总结</a></aside>
<footer><p>Copyright © 2023 第一范文网 版权所有 京ICP备00000000号</p></footer>
<script>document.write("广告位招租");</script>
</body>
</html>
"""

REGULATION_MD = """---
title: 滨海市第二中学教职工考勤管理办法
effective: 2024-09-01
---

# 教职工考勤管理办法

## 第一章 总则

第一条 为加强教职工队伍建设，规范考勤管理，根据《中华人民共和国教师法》及有关规定，结合本校实际，制定本办法。

第二条 本办法适用于全体在编在岗教职工及聘用人员。

## 第二章 考勤与请假

第三条 教职工实行每日签到制度，上午7:30前、下午14:00前须在考勤机刷脸签到，
因公外出未能签到的，须在当日由处室负责人在考勤系统中补登。

第四条 教职工请假须履行审批手续：
（一）请假一天以内的，由年级主任审批；
（二）请假一天以上三天以内的，由分管副校长审批；
（三）请假三天以上的，由校长审批，并报办公室备案。

第五条 病假须提供医院诊断证明，事假每学期累计不得超过五天。

## 第三章 附则

第六条 本办法自2024年9月1日起施行，由校长办公室负责解释。
"""

MD_TABLE = """---
title: 学校内设机构职能及联系方式
---

|   |   |   |   |
|---|---|---|---|
|机构名称|图书馆|办公电话|0535-1234567|
|机构职能|1.负责全校图书资料的采购、编目与借阅管理。<br><br>2.负责电子阅览室的日常开放与设备维护。<br><br>3.负责组织“读书月”校园阅读推广活动。|   |   |
|机构名称|教务处|办公电话|0535-3450836|
|机构职能|1.负责编排全校课程表和作息时间表。<br><br>2.负责组织期中、期末考试及成绩统计分析。|   |   |
|机构名称|总务处|办公电话|0535-3450877|
|机构职能|1.负责校舍、水电设施的维修与管理。<br><br>2.负责学校固定资产登记和年度清查。|   |   |
"""

# Headings "XX岗位职责", a top-level section, mixed numbering, indentation with ASCII and
# full-width spaces, a role preamble, and one item wrapped onto the next line mid-sentence.
ROLE_DUTIES = """学校岗位职责汇编

一、行政管理人员职责

校长办公室主任岗位职责
  校长办公室主任在校长领导下，负责学校日常行政事务的组织与协调，是学校行政运转的枢纽。
1.负责起草学校年度工作计划、总结和重要文件，做好文件的收发、登记和归档。
2．负责组织安排学校各类会议，做好会议记录并督促会议决定的落实。
3、负责学校印章的保管和使用登记，严格执行用印审批制度。

出纳员岗位职责
　　1．严格遵守财经纪律，办理现金收付和银行结算业务，做到日清月结。
　　2．每日下班前核对库存现金，库存现金不得超过核定限额
　　五千元，超出部分当日送存银行。
　　3．妥善保管空白支票和有关印鉴，不得将印章与支票交由同一人保管。

二、教育教学工作人员职责

班主任岗位职责
  ① 全面了解本班学生的思想、学习和身体状况，每学期至少家访一次。
  ② 组织开展主题班会，每周不少于一次，并做好班会记录。
  ③ 指导班委会和团支部工作，培养学生自我管理能力。

实验员岗位职责
1.负责实验室仪器设备的保管、维修和登记，每学期末进行一次全面清查。
2.实验课前准备好所需器材和药品，实验结束后及时清理，危险化学品实行双人双锁管理。
"""

PDF_PAGES = (
    (
        "校园安全管理制度",
        "第一条　学校实行校园安全责任制，校长为学校安全工作第一责任人。",
        "第二条　门卫室实行24小时值班制度，外来人员须登记后方可入校。",
    ),
    (
        "第三条　每学期至少组织两次应急疏散演练，并做好记录。",
        "第四条　发现安全隐患应立即报告总务处，值班电话0535-3450899。",
    ),
)


def write_text_fixtures(out: Path) -> None:
    """The plain-text, markdown and HTML documents."""
    (out / "gbk_rules.txt").write_bytes(GBK_RULES.encode("gbk"))
    (out / "big5_notice.txt").write_bytes(BIG5_NOTICE.encode("big5"))
    crlf = BOM_NOTICE.replace("\n", "\r\n")
    (out / "bom_notice.txt").write_bytes(b"\xef\xbb\xbf" + crlf.encode("utf-8"))
    (out / "web_page.html").write_bytes(WEB_PAGE.encode("utf-8"))
    (out / "regulation.md").write_bytes(REGULATION_MD.encode("utf-8"))
    (out / "md_table.md").write_bytes(MD_TABLE.encode("utf-8"))
    (out / "role_duties.txt").write_bytes(ROLE_DUTIES.encode("utf-8"))


def write_bad_fixtures(out: Path) -> None:
    """Files the loader must refuse: corrupt, binary, empty."""
    rng = random.Random(20240901)
    (out / "corrupt.docx").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))
    png_head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"
    (out / "binary.txt").write_bytes(png_head + bytes(rng.randrange(256) for _ in range(512)))
    (out / "empty.txt").write_bytes(b"")


def write_docx(out: Path) -> None:
    """table_rules.docx: a Heading 1 title, numbered paragraphs, a table between them."""
    doc = Document()
    doc.add_heading("后勤服务管理制度", level=1)
    doc.add_paragraph("为规范学校后勤服务工作，提高服务质量，特制定本制度。")
    doc.add_heading("一、食堂管理", level=2)
    doc.add_paragraph("1．食堂从业人员须持有效健康证明上岗，每年体检一次。")
    doc.add_paragraph("2．食品留样不少于48小时，每餐每样不少于125克。")
    _add_duty_table(doc)
    doc.add_heading("二、维修管理", level=2)
    doc.add_paragraph("3．校舍报修应通过后勤报修平台提交，紧急维修可直接电话报告。")
    wrapped = doc.add_paragraph("4．维修完成后由报修人验收签字，")
    wrapped.add_run().add_break(WD_BREAK.LINE)  # a manual line break inside one paragraph
    wrapped.add_run("验收不合格的应重新维修。")
    doc.add_heading("三、考核办法", level=2)
    # Word's automatic numbering: the numbers are not part of the paragraph text.
    doc.add_paragraph("每月对食堂卫生进行一次检查评比。", style="List Number")
    doc.add_paragraph("检查结果纳入部门年度考核。", style="List Number")
    chinese_list = _add_chinese_numbering(doc)
    for text in ("对食品安全事故隐瞒不报的，追究相关人员责任。", "对连续三次检查优秀的班组给予表彰。"):
        numbered = doc.add_paragraph(text)
        num_pr = numbered._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = chinese_list
    props = doc.core_properties
    props.author = props.last_modified_by = "DutyDesk tests"
    props.created = props.modified = FIXED_TIME.replace(tzinfo=None)
    buffer = io.BytesIO()
    doc.save(buffer)
    (out / "table_rules.docx").write_bytes(_stable_zip(buffer.getvalue()))


def _add_duty_table(doc: DocxDocument) -> None:
    """Department | phone | duties, with a cell merged down and a note merged across."""
    table = doc.add_table(rows=4, cols=3)
    for cell, text in zip(table.rows[0].cells, ("部门", "办公电话", "职责")):
        cell.text = text
    dept, phone, duties = table.rows[1].cells
    dept.text, phone.text = "总务处", "0535-7788990"
    duties.text = "1.负责校舍维修报修的受理与派工。"
    duties.add_paragraph("2.负责水电设施的日常巡查。")
    dept.merge(table.cell(2, 0))  # 总务处 spans two rows
    table.cell(2, 1).text = "0535-7788991（夜间）"
    table.cell(2, 2).text = "3.负责夜间水电抢修。"
    note = table.cell(3, 0).merge(table.cell(3, 2))  # one cell across the whole row
    note.text = "报修请于工作日8:00-17:00拨打总务处电话。"


def _add_chinese_numbering(doc: DocxDocument) -> int:
    """Define a list numbered （一）（二）… in Chinese counting; return its numId."""
    numbering = doc.part.numbering_part.element
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
        '<w:multiLevelType w:val="singleLevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
        '<w:suff w:val="nothing"/><w:lvlText w:val="（%1）"/></w:lvl></w:abstractNum>'
    )
    numbering.insert(0, abstract)  # the schema wants every abstractNum before the first num
    num = f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'
    numbering.append(parse_xml(num))
    return 90


def _stable_zip(data: bytes) -> bytes:
    """The same zip with fixed member timestamps, so the file's bytes do not depend on the clock."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=(2024, 9, 1, 8, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, source.read(info.filename))
    return buffer.getvalue()


def write_pdfs(out: Path) -> None:
    """rules.pdf (text, two pages), scanned.pdf (no text) and encrypted.pdf (user password)."""
    font = _cjk_font()
    pdf = _new_pdf()
    pdf.add_font("cjk", fname=font)
    pdf.set_font("cjk", size=12)
    for page in PDF_PAGES:
        pdf.add_page()
        for line in page:
            pdf.multi_cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
    text_pdf = bytes(pdf.output())
    (out / "rules.pdf").write_bytes(text_pdf)
    _check_round_trip(out / "rules.pdf")

    scanned = _new_pdf()
    scanned.add_page()
    scanned.rect(20, 20, 170, 120, style="D")  # drawn shapes only, as a scan has no text layer
    (out / "scanned.pdf").write_bytes(bytes(scanned.output()))

    writer = _StableIdWriter(clone_from=PdfReader(io.BytesIO(text_pdf)))
    # RC4 rather than AES: pypdf needs the cryptography package for AES, in tests too.
    writer.encrypt(ENCRYPTED_PDF_PASSWORD, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    (out / "encrypted.pdf").write_bytes(buffer.getvalue())


class _StableIdWriter(PdfWriter):
    """A PdfWriter with a fixed file ID: the RC4 key derives from it, and pypdf randomises it."""

    def generate_file_identifiers(self) -> None:
        """Set both identifiers to a constant."""
        fixed = ByteStringObject(b"DutyDesk-fixture")
        self._ID = ArrayObject((fixed, fixed))


def _new_pdf() -> FPDF:
    """An FPDF document whose metadata does not depend on the clock."""
    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_producer("DutyDesk tests")
    return pdf


def _cjk_font() -> str:
    """Path of a CJK TrueType font, or exit with a hint on how to get one."""
    candidates = [os.environ.get("DUTYDESK_FIXTURE_FONT", ""), *FONT_CANDIDATES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("no CJK font found: apt-get install fonts-wqy-microhei, or set DUTYDESK_FIXTURE_FONT")


def _check_round_trip(path: Path) -> None:
    """Fail loudly if pypdf cannot extract the Chinese text back (font not embedded properly)."""
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    for line in (line for page in PDF_PAGES for line in page):
        if line not in text:
            sys.exit(f"{path.name}: text does not round-trip through pypdf: {line!r}")


def main(out: Path = HERE) -> None:
    """Write every fixture into out."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_fixtures(out)
    write_bad_fixtures(out)
    write_docx(out)
    write_pdfs(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
