"""A real full disk: the data dir on a small tmpfs, so chromadb's SQLite, numpy, the manifest and the
history, version and audit logs all meet a real ENOSPC (no write function of the product is patched;
one test only picks the moment, filling the disk just before the clause history is appended).

The bundled knowledge/ is ingested once (with the suite's HashEmbedder) into a template data dir,
which each test copies onto a fresh tmpfs; the ingest that fails is the real CLI (`deploy_faulty_cli.py
hash-embedder`: the CLI with the HashEmbedder in place of the model). The tmpfs is then shrunk (`mount -o remount,size=`) to what the index uses plus a little
room, so the next ingest, of a larger knowledge base, runs out of space part-way. Mounting needs root
(CI runs as root); elsewhere these tests skip and say why.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_topology import ROOT, deploy_env, manifest
from uvicorn_thread import serve_in_thread

from bot.api import create_app
from bot.service import DutyDesk
from ingest.errors import DiskFullError
from ingest.store import IndexStore
from tests.conftest import make_settings
from tests.fakes.embedders import HashEmbedder

HERE = Path(__file__).resolve().parent
FAULTY_CLI = HERE / "deploy_faulty_cli.py"
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = ["教务处的电话是多少？", "出纳员负责哪些工作？", "谁负责学生的学籍管理？"]
NEW_QUESTION = "编号00150的物资由谁负责登记？"
ROOM_KB = {"no-room": 64, "room-for-files-not-vectors": None}  # None: twice the generation's files


def warehouse_rules(articles: int = 300) -> str:
    """A regulation with `articles` numbered articles (~100 KB): the document the new ingest adds."""
    lines = ["# 学校仓库物资管理办法", ""]
    for n in range(1, articles + 1):
        lines.append(f"第{n}条 学校第{n}号仓库的物资由总务处负责登记，编号{n:05d}的物资每月清点一次，"
                     f"清点记录交总务处存档备查。")
    return "\n".join(lines) + "\n"


def kilobytes(path: Path) -> int:
    """Disk usage of a directory tree in KiB (as tmpfs counts it: whole pages)."""
    return sum(-(-p.stat().st_size // 4096) * 4 for p in path.rglob("*") if p.is_file())


@contextmanager
def tmpfs(directory: Path, size_kb: int) -> Iterator[Path]:
    """Mount a tmpfs of size_kb at directory (skip when not permitted); unmount however the test ends."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(directory)],
                             capture_output=True, text=True, check=False) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        reason = mounted.stderr.strip() if mounted is not None else "not running as root"
        pytest.skip(f"a real full disk needs a small tmpfs, and mounting one is not permitted here ({reason})")
    try:
        yield directory
    finally:
        # The in-process chromadb client may still hold its SQLite file open: detach lazily then.
        if subprocess.run(["umount", str(directory)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def resize(directory: Path, size_kb: int) -> None:
    """Grow or shrink a mounted tmpfs (what it already holds stays)."""
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", str(directory)], check=True, capture_output=True)


def fill(directory: Path) -> Path:
    """Write a ballast file until the filesystem refuses even one more byte; return it."""
    ballast = directory / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return ballast


def hash_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`dutydesk ARGS` (the real CLI) with the suite's HashEmbedder in place of the model."""
    return subprocess.run([sys.executable, str(FAULTY_CLI), "hash-embedder", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=180, check=False)


def reader(data: Path, knowledge: Path) -> DutyDesk:
    """A desk that reads the data dir afresh, with the answer cache off (every answer is recomputed)."""
    settings = make_settings(data, knowledge).model_copy(update={"answer_cache_size": 0})
    return DutyDesk(settings, HashEmbedder())


def answers(ask: Callable[[str], dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(answer text, cited clause ids) for each of QUESTIONS."""
    bodies = [ask(question) for question in QUESTIONS]
    return [(body["answer"], [c["id"] for c in body["citations"]]) for body in bodies]


def assert_logs_whole(data: Path) -> None:
    """Every line of every append-only log is one whole JSON object (no torn last line)."""
    for name in ("history.jsonl", "versions.jsonl", "audit.jsonl"):
        path = data / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            assert not text or text.endswith("\n"), f"{name} ends in a torn line"
            for line in text.splitlines():
                json.loads(line)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data dir, knowledge dir): knowledge/ ingested once, to be copied onto each tmpfs."""
    root = tmp_path_factory.mktemp("fulldisk-template")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    report = reader(root / "data", knowledge).ingest()
    assert report.added and not report.failed, report.failed
    return root / "data", knowledge


@pytest.fixture()
def disk(tmp_path: Path, template: tuple[Path, Path]) -> Iterator[Path]:
    """A 64 MB tmpfs holding a copy of the template data dir (as `data/`)."""
    with tmpfs(tmp_path / "disk", 64 * 1024) as mounted:
        shutil.copytree(template[0], mounted / "data")
        yield mounted


@pytest.mark.parametrize("room", list(ROOM_KB))
def test_an_ingest_that_runs_out_of_disk_fails_clearly_and_the_index_in_use_stays_whole(
        room: str, disk: Path, template: tuple[Path, Path], tmp_path: Path) -> None:
    data = disk / "data"
    knowledge = tmp_path / "knowledge"
    shutil.copytree(template[1], knowledge)
    env = deploy_env(data, knowledge, None)
    before = (data / "manifest.json").read_bytes()
    generation = manifest(data)["generation"]
    desk = reader(data, knowledge)
    with serve_in_thread(create_app(desk, ingest_on_start=False)) as base, httpx.Client(base_url=base,
                                                                                      timeout=60) as http:
        served = answers(lambda q: http.post("/ask", json={"question": q}).json())
        assert all(citations for _, citations in served)

        # Shrink the disk to what the index uses plus a little room, then ingest a larger knowledge base.
        files_kb = kilobytes(data / "generations" / str(generation))
        resize(disk, kilobytes(disk) + (ROOM_KB[room] or 2 * files_kb))
        (knowledge / "仓库管理办法.md").write_text(warehouse_rules(), encoding="utf-8")
        result = hash_cli("ingest", env=env, cwd=tmp_path)
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "错误" in result.stderr and "磁盘" in result.stderr, result.stderr[-3000:]

        # The previous generation is current, whole and in use; nothing half-written is left.
        assert (data / "manifest.json").read_bytes() == before
        assert not list(data.glob(".manifest.json.*"))
        assert sorted(p.name for p in (data / "generations").iterdir()) == [str(generation)]
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["generation"] == generation, health.text
        assert answers(lambda q: http.post("/ask", json={"question": q}).json()) == served
        fresh = reader(data, knowledge)
        assert answers(lambda q: _body(fresh, q)) == served
        assert fresh.knowledge().collection.count() == len(fresh.knowledge().clauses)
        assert_logs_whole(data)

        # Not one byte free: a verification still answers (its audit line is lost, not torn).
        ballast = fill(disk)
        quote = served[0][0].split("「")[1].split("」")[0] if "「" in served[0][0] else "负责"
        verified = http.post("/verify", json={"quote": quote})
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True
        assert_logs_whole(data)

        # Space freed: the next ingest goes through and the running server moves to it.
        ballast.unlink()
        resize(disk, 64 * 1024)
        assert reader(data, knowledge).ingest().added == ["仓库管理办法.md"]
        assert http.get("/healthz").json()["generation"] > generation
        body = http.post("/ask", json={"question": NEW_QUESTION}).json()
        assert any("00150" in c["text"] for c in body["citations"]), body
        assert_logs_whole(data)


def _body(desk: DutyDesk, question: str) -> dict[str, Any]:
    """The API's JSON for a question, asked in-process."""
    from bot.api.schemas import ask_response

    return json.loads(ask_response(desk.ask(question)).model_dump_json())


def test_the_history_and_version_logs_meet_a_full_disk_without_a_torn_line(tmp_path: Path,
                                                                            template: tuple[Path, Path]) -> None:
    with tmpfs(tmp_path / "disk", 64 * 1024) as disk:
        data = disk / "data"
        shutil.copytree(template[0], data)
        knowledge = tmp_path / "knowledge"
        shutil.copytree(template[1], knowledge)
        desk = reader(data, knowledge)
        history_before = (data / "history.jsonl").read_bytes()
        (knowledge / "仓库管理办法.md").write_text(warehouse_rules(), encoding="utf-8")

        # The disk fills up just as the new generation has gone live and its clauses are logged.
        store = desk.store
        record = IndexStore._record_history

        def record_on_a_full_disk(self: IndexStore, clauses: list[Any]) -> None:
            fill(disk)
            record(self, clauses)

        store._record_history = record_on_a_full_disk.__get__(store)  # type: ignore[method-assign]
        with pytest.raises((DiskFullError, OSError)) as caught:
            desk.ingest()
        assert isinstance(caught.value, DiskFullError) or caught.value.errno == errno.ENOSPC
        del store._record_history
        assert (data / "history.jsonl").read_bytes() == history_before, "a partial append was left in the log"
        assert_logs_whole(data)

        # Everything that reads the logs still works, on the full disk.
        current = reader(data, knowledge)
        assert "仓库管理办法.md" in current.knowledge().manifest.documents, "the new generation went live"
        clause = current.knowledge().clauses[-1]
        assert current.verify(clause.text, clause.id).verified
        assert current.document_versions(current.documents()[0].id)

        # Space freed: the next ingest has nothing to re-index, but logs what the full disk kept out.
        (disk / "ballast").unlink()
        report = desk.ingest()
        assert not report.changed
        assert_logs_whole(data)
        history = current.store.load_history()
        assert all(c.id in history for c in current.knowledge().clauses)
        (doc,) = [d for d in current.documents() if d.path == "仓库管理办法.md"]
        assert [v.version for v in current.document_versions(doc.id)] == [1]
