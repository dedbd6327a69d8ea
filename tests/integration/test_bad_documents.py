"""Bad documents at ingest (real chromadb in tmp_path, the deterministic HashEmbedder).

Every bad input is answered with a clear ingest report: the good files beside it still ingest,
the bad one is listed in `report.failed` with a Chinese reason, nothing already in the index is
lost, and the CLI exits 1 without a traceback. Covered: empty and whitespace-only files, binary
files named .txt, corrupt/truncated/fake docx and pdf, encrypted pdf (RC4 and AES), GBK and Big5
text, a 50 MB file, duplicate documents, names with spaces and Chinese characters, a file that
disappears between discovery and reading, a directory named like a file, symlink loops.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

import ingest.pipeline
from bot.service import DutyDesk
from ingest.errors import NotFoundError
from ingest.pipeline import IngestReport
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Two small good documents that must ingest whatever lies beside them.
GOOD = {
    "门卫职责.txt": "门卫岗位职责\n1．负责学校大门的值守，外来人员一律登记。\n2．夜间每两小时巡查校园一次。\n",
    "考勤办法.md": "# 教职工考勤办法\n\n第一条 教职工上午7:30前签到。\n\n第二条 请假一天以内的，由年级主任审批。\n",
}
GOOD_PHRASES = ("外来人员一律登记", "请假一天以内的")


# --- bad files -----------------------------------------------------------------------------------


def _pdf_encrypted(algorithm: str, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(DATA / "rules.pdf"))
    writer.encrypt(user_password, owner_password="owner-pw", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _docx_without_body() -> bytes:
    """A valid zip with every part of a .docx except word/document.xml."""
    source = zipfile.ZipFile(io.BytesIO((DATA / "table_rules.docx").read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info.filename, source.read(info.filename))
    return buffer.getvalue()


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


# name → (bytes factory, what the reason must mention)
BAD_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "空文件.txt": (lambda: b"", "空"),
    "空白.md": (lambda: " \n\u3000\u3000\n\t\r\n".encode(), "空"),
    "只有BOM.txt": (lambda: b"\xef\xbb\xbf", "空"),
    "图片.txt": (lambda: (DATA / "binary.txt").read_bytes(), "二进制"),
    "含NUL.md": (lambda: "第一条 正文。\x00".encode(), "二进制"),
    "损坏.docx": (lambda: (DATA / "corrupt.docx").read_bytes(), "DOCX"),
    "截断.docx": (lambda: (DATA / "table_rules.docx").read_bytes()[:20_000], "DOCX"),
    "普通压缩包.docx": (_plain_zip, "DOCX"),
    "缺正文.docx": (_docx_without_body, "DOCX"),
    "其实是文本.docx": (lambda: "第一条 这是纯文本。".encode(), "DOCX"),
    "旧版Word.docx": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), "doc"),
    "截断.pdf": (lambda: (DATA / "rules.pdf").read_bytes()[:5_000], "PDF"),
    "其实是网页.pdf": (lambda: b"<html><body>hello</body></html>", "PDF"),
    "加密RC4.pdf": (lambda: (DATA / "encrypted.pdf").read_bytes(), "加密"),
    "加密AES.pdf": (lambda: _pdf_encrypted("AES-256", "secret"), "加密"),
    "扫描件.pdf": (lambda: (DATA / "scanned.pdf").read_bytes(), "文字"),
    "空网页.html": (lambda: b"<html><head><title></title></head><body><script>x=1</script></body></html>", "网页"),
}


def failed_reason(report: IngestReport, key: str) -> str:
    """The reason the report gives for key (fails the test when key is not listed as failed)."""
    reasons = dict(report.failed)
    assert key in reasons, f"{key} not reported as failed: {report.failed}"
    return reasons[key]


def assert_clear(reason: str) -> None:
    """A reason an office worker can read: Chinese, no traceback, not an internal error dump."""
    assert CJK.search(reason), reason
    assert "Traceback" not in reason and "解析失败" not in reason, reason  # 解析失败 = unexpected exception
    assert len(reason) < 300, reason


def assert_good_ingested(desk: DutyDesk, report: IngestReport) -> None:
    """The good documents are in the index and answer questions."""
    assert set(GOOD) <= set(report.added) | set(report.unchanged), report
    texts = "".join(c.text for c in desk.knowledge().clauses)
    for phrase in GOOD_PHRASES:
        assert phrase in texts


@pytest.fixture()
def knowledge(settings_factory: Callable[..., Settings]) -> Settings:
    """Settings whose knowledge dir holds the good documents."""
    settings = settings_factory()
    for name, text in GOOD.items():
        (settings.knowledge_dir / name).write_text(text, encoding="utf-8")
    return settings


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_is_reported_and_the_rest_ingest(name: str, knowledge: Settings,
                                                  make_desk: Callable[..., DutyDesk]) -> None:
    """Each bad file: listed in report.failed with a clear Chinese reason; the good files still ingest."""
    make, mention = BAD_FILES[name]
    (knowledge.knowledge_dir / name).write_bytes(make())
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    reason = failed_reason(report, name)
    assert_clear(reason)
    assert mention.lower() in reason.lower(), reason
    assert_good_ingested(desk, report)
    assert [key for key, _ in report.failed] == [name]


def test_all_bad_files_together(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """All of them in one knowledge dir: every one reported once, the good ones ingested."""
    for name, (make, _) in BAD_FILES.items():
        (knowledge.knowledge_dir / name).write_bytes(make())
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert sorted(key for key, _ in report.failed) == sorted(BAD_FILES)
    for _, reason in report.failed:
        assert_clear(reason)
    assert_good_ingested(desk, report)


def test_a_good_document_turned_bad_keeps_its_last_good_version(knowledge: Settings,
                                                                make_desk: Callable[..., DutyDesk]) -> None:
    """Nothing lost: a document that becomes unreadable is reported, its indexed clauses stay."""
    desk = make_desk(settings=knowledge)
    first = desk.ingest()
    assert not first.failed
    ids = {c.id for c in desk.knowledge().clauses if c.source.path == "门卫职责.txt"}
    assert ids
    (knowledge.knowledge_dir / "门卫职责.txt").write_bytes((DATA / "binary.txt").read_bytes())
    (knowledge.knowledge_dir / "考勤办法.md").write_bytes(b"")
    second = desk.ingest()
    assert {key for key, _ in second.failed} == {"门卫职责.txt", "考勤办法.md"}
    assert not second.removed
    assert {c.id for c in desk.knowledge().clauses if c.source.path == "门卫职责.txt"} == ids
    texts = "".join(c.text for c in desk.knowledge().clauses)
    assert all(phrase in texts for phrase in GOOD_PHRASES)
    assert {d.path for d in desk.documents()} == set(GOOD)


@pytest.mark.parametrize("tag", ["font", "div"])
def test_deeply_nested_html_ingests_or_is_clearly_refused(tag: str, knowledge: Settings,
                                                          make_desk: Callable[..., DutyDesk],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """An old web page whose 600 lines each open an unclosed tag (and no traceback in the log, which the CLI prints)."""
    lines = "".join(f"<{tag}>第{n}条 教职工应当遵守学校第{n}项规定。<br>" for n in range(1, 601))
    page = f"<html><head><title>学校管理制度</title></head><body>{lines}</body></html>"
    (knowledge.knowledge_dir / "旧网页.html").write_text(page, encoding="utf-8")
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert_good_ingested(desk, report)
    if "旧网页.html" not in report.added:
        assert_clear(failed_reason(report, "旧网页.html"))
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged (the CLI shows it on stderr)"


# --- encodings -----------------------------------------------------------------------------------


def test_gbk_and_big5_text_ingest(settings_factory: Callable[..., Settings],
                                  make_desk: Callable[..., DutyDesk]) -> None:
    """GBK and Big5 files ingest with their Chinese text intact."""
    settings = settings_factory()
    for name in ("gbk_rules.txt", "big5_notice.txt"):
        (settings.knowledge_dir / name).write_bytes((DATA / name).read_bytes())
    desk = make_desk(settings=settings)
    report = desk.ingest()
    assert not report.failed and sorted(report.added) == ["big5_notice.txt", "gbk_rules.txt"]
    texts = "".join(c.text for c in desk.knowledge().clauses)
    assert "每学期开学前两周完成新书登记" in texts  # GBK
    assert "每位學生每次最多借閱三冊" in texts  # Big5


def test_big5_traditional_article_labels(settings_factory: Callable[..., Settings],
                                         make_desk: Callable[..., DutyDesk]) -> None:
    """A Big5 regulation numbered 第一條 … gets the labels 第一條, 第二條 like its simplified twin."""
    settings = settings_factory()
    text = "圖書館管理辦法\n第一條 本館開放時間為週一至週五。\n第二條 每位學生每次最多借閱三冊。\n"
    (settings.knowledge_dir / "辦法.txt").write_bytes(text.encode("big5"))
    desk = make_desk(settings=settings)
    assert not desk.ingest().failed
    assert [c.label for c in desk.knowledge().clauses] == ["第一條", "第二條"]


# --- size ----------------------------------------------------------------------------------------

LARGE_MB = 50
LARGE_BUDGET_S = 30
_LARGE_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.conftest import make_settings
from tests.fakes.embedders import HashEmbedder
from pathlib import Path
from bot.service import DutyDesk
root = Path(sys.argv[2])
desk = DutyDesk(make_settings(root / "data", root / "knowledge"), HashEmbedder())
started = time.perf_counter()
report = desk.ingest()
print("RESULT", repr(report.added), repr(report.failed), report.clauses, round(time.perf_counter() - started, 1))
"""


def _write_large(path: Path, megabytes: int) -> None:
    """A valid UTF-8 regulation of numbered articles, about `megabytes` MB."""
    article = "第{n}条 教职工应当按时到校，不得迟到早退，违者按学校考勤管理办法第{n}款处理。\n"
    block = "".join(article.format(n=n) for n in range(1, 1001))
    data = block.encode("utf-8")
    with path.open("wb") as handle:
        for _ in range(megabytes * 1024 * 1024 // len(data) + 1):
            handle.write(data)


def test_large_file_is_ingested_or_refused_quickly(tmp_path: Path) -> None:
    """A 50 MB file: ingested, or reported with a reason naming its size, within the budget; the rest ingest."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name, text in GOOD.items():
        (knowledge / name).write_text(text, encoding="utf-8")
    _write_large(knowledge / "超大文件.txt", LARGE_MB)
    assert (knowledge / "超大文件.txt").stat().st_size >= LARGE_MB * 1024 * 1024
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-c", _LARGE_SCRIPT, str(ROOT), str(tmp_path)],
                                capture_output=True, text=True, encoding="utf-8", timeout=LARGE_BUDGET_S,
                                env=_clean_env(), cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ingest of a {LARGE_MB} MB file still running after {time.monotonic() - started:.0f} s")
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    assert all(name in line for name in GOOD), line
    ingested = "'超大文件.txt'" in line.split("[", 2)[1]
    refused = re.search(r"超大文件\.txt', '[^']*(?:大|MB|字节|size)", line)
    assert ingested or refused, line


# --- duplicates, names -----------------------------------------------------------------------------


def test_duplicate_documents_both_ingest_with_distinct_ids(settings_factory: Callable[..., Settings],
                                                           make_desk: Callable[..., DutyDesk]) -> None:
    """The same content under two names: both documents are ingested, their clause ids never collide."""
    settings = settings_factory()
    text = GOOD["门卫职责.txt"]
    (settings.knowledge_dir / "门卫职责.txt").write_text(text, encoding="utf-8")
    (settings.knowledge_dir / "门卫职责（副本）.txt").write_text(text, encoding="utf-8")
    desk = make_desk(settings=settings)
    report = desk.ingest()
    assert not report.failed
    assert sorted(report.added) == ["门卫职责.txt", "门卫职责（副本）.txt"]
    clauses = desk.knowledge().clauses
    ids = [c.id for c in clauses]
    assert len(ids) == len(set(ids)) == 2 * 2
    by_doc = {c.source.path for c in clauses}
    assert by_doc == {"门卫职责.txt", "门卫职责（副本）.txt"}
    documents = desk.documents()
    assert len({d.id for d in documents}) == 2


def test_duplicate_documents_do_not_double_the_answer(settings_factory: Callable[..., Settings],
                                                      make_desk: Callable[..., DutyDesk]) -> None:
    """The same document under two names: an answer never cites the same text twice."""
    settings = settings_factory()
    text = GOOD["门卫职责.txt"]
    (settings.knowledge_dir / "门卫职责.txt").write_text(text, encoding="utf-8")
    (settings.knowledge_dir / "门卫职责（副本）.txt").write_text(text, encoding="utf-8")
    desk = make_desk(settings=settings)
    desk.ingest()
    answer = desk.ask("门卫有哪些职责？").answer
    texts = [hit.clause.text for hit in answer.citations]
    assert texts and len(texts) == len(set(texts)), answer.text


def test_names_with_spaces_and_chinese_characters(settings_factory: Callable[..., Settings],
                                                  make_desk: Callable[..., DutyDesk]) -> None:
    """File and folder names with spaces, full-width characters and brackets keep their exact keys."""
    settings = settings_factory()
    names = ["学校 规章 (2024 版).md", "岗位职责　最终版.txt", "子目录 一/值班 安排#1.txt", "a b/c d.md"]
    for index, name in enumerate(names):
        path = settings.knowledge_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"第一条 第{index}号文件规定教师每天提前十分钟到岗。\n", encoding="utf-8")
    desk = make_desk(settings=settings)
    report = desk.ingest()
    assert not report.failed and sorted(report.added) == sorted(names)
    for clause in desk.knowledge().clauses:
        assert clause.source.path in names
        assert desk.clause(clause.id) == clause
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", clause.id), clause.id
    assert not desk.ingest().changed  # re-ingest: all unchanged


def test_file_name_that_is_not_utf8(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """A GBK-encoded file name: the good files ingest; that file is ingested or reported, never a crash."""
    raw_name = os.fsencode(knowledge.knowledge_dir) + b"/" + "学校规章.txt".encode("gbk")
    with open(raw_name, "w", encoding="utf-8") as handle:
        handle.write("第一条 教师应当按时上课。\n")
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert_good_ingested(desk, report)
    assert len(report.added) + len(report.failed) == len(GOOD) + 1, report
    for _, reason in report.failed:
        assert_clear(reason)


# --- the file system changing under the ingest -----------------------------------------------------


def test_file_that_disappears_between_discovery_and_reading(knowledge: Settings, make_desk: Callable[..., DutyDesk],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovered, then deleted before it is parsed: reported as gone, the rest ingest."""
    (knowledge.knowledge_dir / "临时文件.txt").write_text("第一条 这份文件马上会被删除。\n", encoding="utf-8")
    real_discover = ingest.pipeline.discover

    def discover_then_delete(roots: list[Path], knowledge_dir: Path, *rest):  # type: ignore[no-untyped-def]
        found = real_discover(roots, knowledge_dir, *rest)
        (knowledge_dir / "临时文件.txt").unlink()
        return found

    monkeypatch.setattr(ingest.pipeline, "discover", discover_then_delete)
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    reason = failed_reason(report, "临时文件.txt")
    assert_clear(reason)
    assert "不存在" in reason
    assert_good_ingested(desk, report)


def test_directory_named_like_a_file(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """`x.txt/` is a folder: it is not read as a file; the documents inside it ingest."""
    folder = knowledge.knowledge_dir / "x.txt"
    folder.mkdir()
    (folder / "里面.md").write_text("第一条 目录里的文件照常入库。\n", encoding="utf-8")
    (knowledge.knowledge_dir / "空目录.pdf").mkdir()
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert "x.txt/里面.md" in report.added
    assert not report.failed, report.failed
    assert_good_ingested(desk, report)
    # Named explicitly as the path to ingest, the folder is walked too.
    again = desk.ingest([folder])
    assert not again.failed and again.unchanged == ["x.txt/里面.md"]


@pytest.mark.timeout(60)
def test_symlink_loops(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """A self-referencing file link, a pair of links pointing at each other, a folder linking to its parent."""
    root = knowledge.knowledge_dir
    (root / "自环.txt").symlink_to("自环.txt")
    (root / "甲.md").symlink_to("乙.md")
    (root / "乙.md").symlink_to("甲.md")
    (root / "子目录").mkdir()
    (root / "子目录" / "上级").symlink_to("..", target_is_directory=True)
    (root / "断链.txt").symlink_to("不存在的文件.txt")
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert_good_ingested(desk, report)
    assert sorted(report.added) == sorted(GOOD), report.added  # nothing ingested twice through 上级/
    for _, reason in report.failed:
        assert_clear(reason)


def test_unreadable_symlinks_are_reported(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """A link named like a document that cannot be followed is a file nobody can read: report it."""
    root = knowledge.knowledge_dir
    (root / "断链.txt").symlink_to(root.parent / "已移走.txt")
    (root / "自环.txt").symlink_to("自环.txt")
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert_good_ingested(desk, report)
    assert {key for key, _ in report.failed} == {"断链.txt", "自环.txt"}, report


def test_symlinked_document_keeps_a_relative_key(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """knowledge/链接.txt → /elsewhere/共享.txt is cited as 链接.txt, not as a server path."""
    shared = knowledge.knowledge_dir.parent / "共享.txt"
    shared.write_text("第一条 共享盘上的文件。\n", encoding="utf-8")
    (knowledge.knowledge_dir / "链接.txt").symlink_to(shared)
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert "链接.txt" in report.added, report.added
    assert not any(c.source.path.startswith("/") for c in desk.knowledge().clauses)


def test_link_to_a_document_of_the_knowledge_dir(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """A shortcut to a document beside it: the ingest completes (link ingested under its own name, or reported)."""
    (knowledge.knowledge_dir / "快捷方式.txt").symlink_to("门卫职责.txt")
    desk = make_desk(settings=knowledge)
    report = desk.ingest()
    assert_good_ingested(desk, report)
    assert "快捷方式.txt" in report.added or "快捷方式.txt" in dict(report.failed)


@pytest.mark.parametrize("extra", ["门卫职责.txt", "."])
def test_overlapping_paths_ingest_each_document_once(extra: str, knowledge: Settings,
                                                     make_desk: Callable[..., DutyDesk]) -> None:
    """`dutydesk ingest knowledge knowledge/门卫职责.txt` (or the folder twice) ingests each document once."""
    root = knowledge.knowledge_dir
    desk = make_desk(settings=knowledge)
    report = desk.ingest([root, root / extra])
    assert sorted(report.added) == sorted(GOOD) and not report.failed


# --- the CLI -----------------------------------------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.update(extra)
    return env


def test_cli_ingest_reports_bad_files_and_exits_1(tmp_path: Path) -> None:
    """`python -m bot ingest` over good and bad files: exit 1, each bad file named with its reason, no traceback."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name, text in GOOD.items():
        (knowledge / name).write_text(text, encoding="utf-8")
    for name, (make, _) in BAD_FILES.items():
        (knowledge / name).write_bytes(make())
    (knowledge / "gbk_rules.txt").write_bytes((DATA / "gbk_rules.txt").read_bytes())
    (knowledge / "目录.txt").mkdir()
    (knowledge / "自环.txt").symlink_to("自环.txt")
    result = subprocess.run([sys.executable, "-m", "bot", "ingest"], capture_output=True, text=True,
                            encoding="utf-8", timeout=120, cwd=tmp_path,
                            env=_clean_env(DUTYDESK_DATA_DIR=str(tmp_path / "data"),
                                           DUTYDESK_KNOWLEDGE_DIR=str(knowledge)))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output[-3000:]
    for name in BAD_FILES:
        assert re.search(rf"失败\s+{re.escape(name)}：.*[\u4e00-\u9fff]", result.stderr), (name, result.stderr)
    for name in [*GOOD, "gbk_rules.txt"]:
        assert re.search(rf"新增\s+{re.escape(name)}", result.stdout), (name, result.stdout)
    assert re.search(r"失败\s+自环.txt：链接失效或形成循环", result.stderr), result.stderr
    assert re.search(rf"失败 {len(BAD_FILES) + 1}(?!\d)", result.stdout), result.stdout  # + the looping symlink


def test_clauses_of_a_failed_file_are_not_served(knowledge: Settings, make_desk: Callable[..., DutyDesk]) -> None:
    """A file that never ingested has no clauses: asking for an id under its name is a plain 404."""
    (knowledge.knowledge_dir / "图片.txt").write_bytes((DATA / "binary.txt").read_bytes())
    desk = make_desk(settings=knowledge)
    desk.ingest()
    assert not [c for c in desk.knowledge().clauses if c.source.path == "图片.txt"]
    with pytest.raises(NotFoundError):
        desk.clause("tp-p-1")
