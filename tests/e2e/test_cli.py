"""The `dutydesk` CLI as a subprocess: ingest, ask, serve, eval, with tmp data and knowledge dirs.

One module-wide data dir is ingested once and reused; each subprocess loads the real model, so
the number of runs that embed anything is kept small.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_topology import free_port, stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
CORRUPT_DOCX = ROOT / "tests" / "data" / "corrupt.docx"
DOCUMENTS = sorted(p.name for p in CORPUS.iterdir())
METRIC_KEYS = {"hit@1", "hit@5", "mrr@10", "answered_first", "useful_first", "owner_accuracy", "refusal_recall",
               "false_refusal_rate", "confident_error_rate", "n", "latency_ms_p50", "latency_ms_p95"}
GOLD = [
    {"id": "w1", "question": "沙盘游戏室归哪个部门管？", "kind": "owner", "owner": "心理健康中心", "any_of": ["沙盘游戏室"]},
    {"id": "w2", "question": "谁负责教职工邮箱密码重置？", "kind": "owner", "owner": "信息中心", "any_of": ["密码 重置"]},
    {"id": "d1", "question": "门卫有哪些职责？", "kind": "duties", "owner": "门卫", "any_of": ["外来人员登记"]},
    {"id": "f1", "question": "门卫夜间多久巡查一次？", "kind": "fact", "owner": None, "any_of": ["每两小时巡查"]},
    {"id": "f2", "question": "易制爆化学品领用需要谁批准？", "kind": "fact", "owner": None,
     "any_of": ["不会出现的字样", "分管副校长签字批准"]},
    {"id": "r1", "question": "学校运动会什么时候举行？", "kind": "refuse", "owner": None, "any_of": []},
    {"id": "r2", "question": "教师出国培训的报销标准是什么？", "kind": "refuse", "owner": None, "any_of": []},
]


@dataclass
class Workspace:
    """A knowledge dir (copy of the test corpus), a data dir ingested once, and a scratch dir."""

    knowledge: Path
    data: Path
    scratch: Path
    first_ingest: subprocess.CompletedProcess[str]


def cli_env(data: Path, knowledge: Path) -> dict[str, str]:
    """This environment with only our DUTYDESK_ settings, and Python's own output buffering."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_") and k != "PYTHONUNBUFFERED"}
    env.update(DUTYDESK_DATA_DIR=str(data), DUTYDESK_KNOWLEDGE_DIR=str(knowledge), PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    return env


def run_cli(*args: str | Path, data: Path, knowledge: Path, cwd: Path,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` with only our DUTYDESK_ settings, from a dir without a .env file."""
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], env=cli_env(data, knowledge), cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False)


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stdout, result.stdout[-3000:]


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The counts of the ingest summary line (新增/更新/未变/删除/失败)."""
    counts = {word: int(n) for word, n in re.findall(r"(新增|更新|未变|删除|失败)\s*(\d+)", result.stdout)}
    assert set(counts) >= {"新增", "未变", "失败"}, result.stdout
    return counts


def line_index(lines: list[str], pattern: str) -> int:
    """The index of the first line matching pattern (the test fails when none does)."""
    found = [n for n, line in enumerate(lines) if re.search(pattern, line)]
    assert found, (pattern, lines)
    return found[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cli")
    knowledge = root / "knowledge"
    shutil.copytree(CORPUS, knowledge)
    (root / "scratch").mkdir()
    first = run_cli("ingest", data=root / "data", knowledge=knowledge, cwd=root / "scratch")
    return Workspace(knowledge, root / "data", root / "scratch", first)


@pytest.fixture()
def cli(workspace: Workspace) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the CLI against the module's workspace (keyword arguments override data/knowledge)."""

    def _run(*args: str | Path, **overrides: Any) -> subprocess.CompletedProcess[str]:
        options = {"data": workspace.data, "knowledge": workspace.knowledge, "cwd": workspace.scratch, **overrides}
        return run_cli(*args, **options)

    return _run


def write_gold(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


# -- the console script -----------------------------------------------------------------------
def test_console_script_is_installed_and_helps() -> None:
    script = Path(sys.executable).parent / "dutydesk"
    assert script.exists(), f"no console script next to {sys.executable}"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, encoding="utf-8",
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for command in ("ingest", "ask", "serve", "eval", "telegram"):
        assert command in result.stdout


# -- ingest ---------------------------------------------------------------------------------------
def test_ingest_prints_summary(workspace: Workspace) -> None:
    result = workspace.first_ingest
    assert result.returncode == 0, result.stderr[-3000:]
    assert_no_traceback(result)
    assert summary(result) == {"新增": len(DOCUMENTS), "更新": 0, "未变": 0, "删除": 0, "失败": 0}
    for name in DOCUMENTS:
        assert re.search(rf"新增\s+{re.escape(name)}", result.stdout), result.stdout
    clauses = re.search(r"条款\s*(\d+)", result.stdout)
    assert clauses and int(clauses.group(1)) >= 20


def test_second_ingest_reports_everything_unchanged(cli: Callable[..., Any]) -> None:
    result = cli("ingest")
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(result) == {"新增": 0, "更新": 0, "未变": len(DOCUMENTS), "删除": 0, "失败": 0}
    assert re.search(r"新嵌入\s*0", result.stdout), result.stdout


def test_corrupt_file_is_reported_and_the_rest_stays(cli: Callable[..., Any], workspace: Workspace,
                                                     tmp_path: Path, desk_factory: Callable[..., Any]) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(workspace.knowledge, knowledge)
    shutil.copy(CORRUPT_DOCX, knowledge / "损坏的通知.docx")
    data = tmp_path / "data"
    shutil.copytree(workspace.data, data)
    result = cli("ingest", data=data, knowledge=knowledge)
    assert result.returncode == 1, (result.stdout, result.stderr[-3000:])
    assert_no_traceback(result)
    assert summary(result) == {"新增": 0, "更新": 0, "未变": len(DOCUMENTS), "删除": 0, "失败": 1}
    failure = re.search(r"失败\s+损坏的通知\.docx[：:]\s*(\S.*)", result.stderr)
    assert failure, result.stderr
    assert len(failure.group(1).strip()) >= 4  # a reason, not just the name
    documents = desk_factory(data, knowledge).knowledge().manifest.documents
    assert sorted(documents) == DOCUMENTS


def test_piped_ingest_keeps_its_lines_in_order(workspace: Workspace, tmp_path: Path) -> None:
    """Piped into one stream (`2>&1 | less`), a failure stays between the documents and the summary."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(workspace.knowledge, knowledge)
    (knowledge / "新通知.txt").write_text("值班规定\n1．值班教师须提前十分钟到岗。\n", encoding="utf-8")
    shutil.copy(CORRUPT_DOCX, knowledge / "损坏的通知.docx")
    data = tmp_path / "data"
    shutil.copytree(workspace.data, data)
    result = subprocess.run([sys.executable, "-m", "bot", "ingest"], env=cli_env(data, knowledge),
                            cwd=workspace.scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            encoding="utf-8", timeout=180, check=False)
    assert result.returncode == 1, result.stdout[-3000:]
    lines = result.stdout.splitlines()
    added = line_index(lines, r"^\s*新增\s+新通知\.txt$")
    failed = line_index(lines, r"^\s*失败\s+损坏的通知\.docx[：:]")
    summarised = line_index(lines, r"^文档：新增 1，.*失败 1")
    assert added < failed < summarised, lines


def test_ingest_honours_path_and_data_arguments(cli: Callable[..., Any], workspace: Workspace,
                                                tmp_path: Path, desk_factory: Callable[..., Any]) -> None:
    env_data = tmp_path / "env-data"  # what DUTYDESK_DATA_DIR says: --data wins
    data = tmp_path / "arg-data"
    result = cli("ingest", workspace.knowledge / "岗位职责.txt", "--data", data, data=env_data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(result)["新增"] == 1 and summary(result)["失败"] == 0
    assert not env_data.exists()
    desk = desk_factory(data, workspace.knowledge)
    assert list(desk.knowledge().manifest.documents) == ["岗位职责.txt"]
    assert {o.name for o in desk.owners()} == {"宿舍管理员", "校医", "门卫"}


def test_ingest_same_file_name_from_elsewhere(cli: Callable[..., Any], workspace: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "下载"
    other.mkdir()
    (other / "岗位职责.txt").write_text(
        (workspace.knowledge / "岗位职责.txt").read_text(encoding="utf-8").replace("每月清理", "每周清理"),
        encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(workspace.data, data)
    result = cli("ingest", other / "岗位职责.txt", data=data)
    assert_no_traceback(result)
    assert result.returncode == 0 and summary(result)["新增"] == 1, result.stderr[-2000:]


# -- ask -------------------------------------------------------------------------------------------
def test_ask_prints_answer_and_citations(cli: Callable[..., Any], client: httpx.Client) -> None:
    question = "谁负责教职工邮箱密码重置？"
    text = cli("ask", question)
    assert text.returncode == 0, text.stderr[-3000:]
    served = client.post("/ask", json={"question": question}).json()  # same corpus, same answer
    assert served["answer"] in text.stdout
    assert "信息中心" in text.stdout and "0571-8861299" in text.stdout and "密码重置" in text.stdout
    assert served["citations"]
    for n, cite in enumerate(served["citations"], start=1):
        source = cite["source"]
        line = next((ln for ln in text.stdout.splitlines() if ln.startswith(f"[{n}] {cite['id']}")), None)
        assert line is not None, text.stdout
        assert f"{source['path']}:{source['line_start']}-{source['line_end']}" in line


@pytest.mark.parametrize("question", ["易制爆化学品领用需要谁批准？", "学校运动会什么时候举行？"])
def test_ask_json_is_the_api_json(cli: Callable[..., Any], client: httpx.Client, question: str) -> None:
    result = cli("ask", question, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads(result.stdout)
    served = client.post("/ask", json={"question": question}).json()
    assert set(printed) == set(served) == {"id", "answer", "status", "refused", "mode", "owner", "citations", "timings_ms"}
    assert set(printed["timings_ms"]) == set(served["timings_ms"])
    for key in ("answer", "refused", "mode", "owner"):
        assert printed[key] == served[key], key
    assert len(printed["citations"]) == len(served["citations"])
    for mine, theirs in zip(printed["citations"], served["citations"], strict=True):
        assert set(mine) == set(theirs)
        assert {k: v for k, v in mine.items() if k != "score"} == {k: v for k, v in theirs.items() if k != "score"}
        assert type(mine["score"]) is type(theirs["score"])


def test_ask_on_empty_data_dir_ingests_first(cli: Callable[..., Any], workspace: Workspace, tmp_path: Path,
                                             desk_factory: Callable[..., Any]) -> None:
    data = tmp_path / "fresh-data"
    result = cli("ask", "门卫夜间多久巡查一次？", "--json", data=data)
    assert result.returncode == 0, result.stderr[-3000:]
    body = json.loads(result.stdout)  # the first-start lines go to stderr: stdout stays JSON
    assert re.search(r"^首次启动：.*\n(.*\n)*文档：新增 \d+", result.stderr, re.MULTILINE), result.stderr
    assert body["refused"] is False
    assert "每两小时巡查" in body["citations"][0]["text"]
    assert sorted(desk_factory(data, workspace.knowledge).knowledge().manifest.documents) == DOCUMENTS


def test_ask_empty_question_is_a_clear_error(cli: Callable[..., Any]) -> None:
    result = cli("ask", "   ")
    assert result.returncode != 0
    assert_no_traceback(result)
    assert "问题不能为空" in result.stderr


# -- serve -----------------------------------------------------------------------------------------
def serve_until_listening(knowledge: Path, data: Path, cwd: Path) -> list[str]:
    """The lines `dutydesk serve` writes into one pipe until it listens (then it is stopped)."""
    command = [sys.executable, "-m", "bot", "serve", "--port", str(free_port())]
    process = subprocess.Popen(command, env=cli_env(data, knowledge), cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, encoding="utf-8", start_new_session=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:  # ends early (EOF) if the server dies
            lines.append(line.rstrip("\n"))
            if "Uvicorn running on" in line:
                break
    finally:
        stop(process)
    return lines


def test_first_serve_announces_the_ingest_and_summarises_it_when_piped(workspace: Workspace,
                                                                     tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(workspace.knowledge, knowledge)
    shutil.copy(CORRUPT_DOCX, knowledge / "损坏的通知.docx")
    lines = serve_until_listening(knowledge, tmp_path / "empty-data", workspace.scratch)
    started = line_index(lines, rf"^首次启动：正在为 {len(DOCUMENTS) + 1} 份文件建立索引")
    failed = line_index(lines, r"^\s*失败\s+损坏的通知\.docx[：:]\s*\S")
    summarised = line_index(lines, rf"^文档：新增 {len(DOCUMENTS)}，.*失败 1；条款 \d+.*用时 [\d.]+ 秒$")
    serving = line_index(lines, r"Uvicorn running on")
    assert started < failed < summarised < serving, lines
    assert not any("Traceback" in line for line in lines), lines


def test_second_serve_says_nothing_about_indexing(workspace: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(workspace.data, data)
    lines = serve_until_listening(workspace.knowledge, data, workspace.scratch)
    assert any("Uvicorn running on" in line for line in lines), lines
    assert not any("首次启动" in line or line.startswith("文档：") for line in lines), lines


# -- eval ------------------------------------------------------------------------------------------
def test_eval_json_prints_exactly_the_metric_keys(cli: Callable[..., Any], tmp_path: Path) -> None:
    gold = write_gold(tmp_path / "gold.jsonl", [*GOLD[:3], "", *GOLD[3:]])  # a blank line is skipped
    result = cli("eval", "--gold", gold, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout)
    assert set(metrics) == METRIC_KEYS
    assert metrics["n"] == len(GOLD)
    # Every question here is answered (or refused) correctly; test_api checks the same answers over HTTP.
    assert metrics["hit@1"] == metrics["hit@5"] == metrics["mrr@10"] == 1.0
    assert metrics["owner_accuracy"] == 1.0
    assert metrics["refusal_recall"] == 1.0
    assert metrics["false_refusal_rate"] == 0.0
    assert metrics["answered_first"] == metrics["useful_first"] == 1.0
    assert metrics["confident_error_rate"] == 0.0
    assert 0 < metrics["latency_ms_p50"] <= metrics["latency_ms_p95"]


def test_eval_text_lists_questions_and_metrics(cli: Callable[..., Any], tmp_path: Path) -> None:
    gold = write_gold(tmp_path / "gold.jsonl", [GOLD[0], GOLD[5]])
    result = cli("eval", "--gold", gold)
    assert result.returncode == 0, result.stderr[-3000:]
    for row in (GOLD[0], GOLD[5]):
        assert row["question"] in result.stdout
    for key in METRIC_KEYS:
        assert re.search(rf"^{re.escape(key)}\s", result.stdout, re.MULTILINE), key
    assert re.search(r"^hit@1\s+None$", result.stdout, re.MULTILINE) is None


MALFORMED = {
    "not json": ['{"id": "1", "question": "门卫有哪些职责？", "kind": "duties", "any_of": []}', "{not json"],
    "missing question": [{"id": "1", "kind": "fact", "any_of": ["x"]}],
    "unknown kind": [{"id": "1", "question": "门卫有哪些职责？", "kind": "duty", "any_of": []}],
    "line is a list": ['["1", "门卫有哪些职责？", "fact"]'],
}


@pytest.mark.parametrize("rows", list(MALFORMED.values()), ids=list(MALFORMED))
def test_eval_malformed_gold_is_a_clear_error(cli: Callable[..., Any], tmp_path: Path, rows: list[Any]) -> None:
    gold = write_gold(tmp_path / "bad.jsonl", rows)
    result = cli("eval", "--gold", gold, "--json")
    assert result.returncode != 0
    assert_no_traceback(result)
    assert result.stdout.strip() == ""
    assert f"bad.jsonl:{len(rows)}" in result.stderr, result.stderr  # names the file and the line


def _write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


BROKEN_GOLD_FILES: dict[str, Callable[[Path], Path]] = {
    "missing file": lambda d: d / "no-such-gold.jsonl",
    "not utf-8": lambda d: _write_bytes(d / "gbk.jsonl", json.dumps(GOLD[0], ensure_ascii=False).encode("gbk")),
    "kind is a list": lambda d: write_gold(d / "list-kind.jsonl", [{**GOLD[0], "kind": ["owner"]}]),
}


@pytest.mark.parametrize("make", list(BROKEN_GOLD_FILES.values()), ids=list(BROKEN_GOLD_FILES))
def test_eval_unreadable_gold_is_a_clear_error(cli: Callable[..., Any], tmp_path: Path,
                                               make: Callable[[Path], Path]) -> None:
    result = cli("eval", "--gold", make(tmp_path), "--json")
    assert result.returncode != 0
    assert_no_traceback(result)
    assert result.stderr.strip()


def test_eval_requires_gold(cli: Callable[..., Any]) -> None:
    result = cli("eval", "--json")
    assert result.returncode == 2
    assert "--gold" in result.stderr
    assert_no_traceback(result)
