"""Concurrency in the embedded default: no Chroma server, chromadb on disk in the data dir, and
several `dutydesk` processes (the real console script, the real model) sharing that data dir.

- two ingests racing: the second waits for the first's writer lock (seen in /proc/locks, not
  guessed from timing), then finds nothing left to do; the index ends whole;
- `dutydesk serve` answering without pause while a separate `dutydesk ingest` and a separate
  `dutydesk ask` run: all succeed, the server moves to the new generation, nothing is corrupt.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_topology import (
    NEW_PHONE,
    OLD_PHONE,
    PHONE_QUESTION,
    ApiServer,
    deploy_env,
    dutydesk_command,
    manifest,
    poll,
    run_dutydesk,
    small_corpus,
    stop,
    write_corpus,
)

from bot.service import DutyDesk
from ingest.settings import Settings

HERE = Path(__file__).resolve().parent
FAULTY_CLI = HERE / "deploy_faulty_cli.py"
DUTIES_QUESTION = "谁负责宿舍钥匙的登记保管？"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir that `dutydesk ingest` filled from the small corpus (each test works on a copy)."""
    root = tmp_path_factory.mktemp("concurrency")
    knowledge = write_corpus(root / "knowledge", small_corpus(OLD_PHONE))
    result = run_dutydesk("ingest", env=deploy_env(root / "data", knowledge, None), cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "data"


@pytest.fixture()
def site(tmp_path: Path, ingested: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """(data dir, knowledge dir, environment) of a fresh copy of the ingested site, embedded chromadb."""
    shutil.copytree(ingested, tmp_path / "data")
    knowledge = write_corpus(tmp_path / "knowledge", small_corpus(OLD_PHONE))
    (tmp_path / "logs").mkdir()
    yield tmp_path / "data", knowledge, deploy_env(tmp_path / "data", knowledge, None)


def lock_waiters(lock: Path) -> set[int]:
    """Pids blocked in flock() on the lock file (Linux lists them in /proc/locks after a '->')."""
    if not lock.exists():
        return set()
    inode = lock.stat().st_ino
    waiting = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:
            at = fields.index("->")
            if int(fields[at + 5].rsplit(":", 1)[1]) == inode:
                waiting.add(int(fields[at + 4]))
    return waiting


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start a process in its own session, its output captured."""
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", start_new_session=True, stdin=subprocess.DEVNULL)


def finish(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str, str]:
    """Wait for a process; its exit status, stdout and stderr."""
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        stop(process)
    return process.returncode, out, err


def assert_whole(data: Path, knowledge: Path, embedder: Any, phone: str) -> None:
    """The generation the manifest names is complete in every part, readable afresh, and answers."""
    current = manifest(data)
    settings = Settings(_env_file=None, data_dir=data, knowledge_dir=knowledge,  # type: ignore[call-arg]
                        chroma_url=None, answer_mode="extractive", answer_cache_size=0)
    desk = DutyDesk(settings, embedder)
    knowledge_now = desk.knowledge()
    ids = sorted(i for entry in current["documents"].values() for i in entry["clause_ids"])
    assert ids and sorted(c.id for c in knowledge_now.clauses) == ids
    assert knowledge_now.collection.count() == len(ids)
    assert phone in desk.ask(PHONE_QUESTION).answer.text
    assert not desk.ask(DUTIES_QUESTION).answer.refused
    with sqlite3.connect(data / "chroma" / "chroma.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    generations = {p.name for p in (data / "generations").iterdir()}
    assert str(current["generation"]) in generations and len(generations) <= 2, generations


@pytest.mark.slow
def test_two_ingests_racing_on_one_data_dir_take_turns_and_leave_the_index_whole(
        site: tuple[Path, Path, dict[str, str]], embedder: Any, tmp_path: Path) -> None:
    data, knowledge, env = site
    before = manifest(data)["generation"]
    write_corpus(knowledge, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
    held, release = tmp_path / "held", tmp_path / "release"
    first = start([sys.executable, str(FAULTY_CLI), "hold-before-swap", "ingest"],
                  {**env, "DEPLOY_MARKER": str(held), "DEPLOY_RELEASE": str(release)}, tmp_path)
    second = None
    try:
        # The first ingest has written its generation and holds the writer lock, not yet swapped in.
        poll(lambda: held.exists() or first.poll() is not None, 120, 0.05, what="the first ingest holding the lock")
        assert first.poll() is None, first.communicate()
        second = start([*dutydesk_command(), "ingest"], env, tmp_path)
        poll(lambda: second.pid in lock_waiters(data / "ingest.lock") or second.poll() is not None, 120, 0.05,
             what="the second ingest waiting for the writer lock")
        assert second.poll() is None, f"the second ingest did not wait for the lock: {second.communicate()}"
        release.touch()
        status, out, err = finish(first)
        assert status == 0 and "更新 1" in out, out + err
        status, out, err = finish(second)
        assert status == 0, out + err
        # It read the index only once it had the lock: the first one's work was already done.
        assert "更新 0" in out and "未变 2" in out and "新嵌入 0" in out, out + err
    finally:
        stop(first)
        stop(second)
    assert manifest(data)["generation"] == before + 1
    assert_whole(data, knowledge, embedder, NEW_PHONE)


@pytest.mark.slow
def test_serve_ingest_and_ask_processes_share_the_embedded_data_dir(
        site: tuple[Path, Path, dict[str, str]], embedder: Any, tmp_path: Path) -> None:
    data, knowledge, env = site
    before = manifest(data)["generation"]
    api = ApiServer(env, tmp_path, tmp_path / "logs").start()  # the shipped settings: answer cache on
    outcomes: list[tuple[int, str, list[str]]] = []
    done = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=60) as http:
            while not done.is_set():
                response = http.post(f"{api.url}/ask", json={"question": PHONE_QUESTION})
                body = response.json() if response.status_code == 200 else {}
                outcomes.append((response.status_code, body.get("answer", response.text),
                                 [c["text"] for c in body.get("citations", [])]))

    thread = threading.Thread(target=hammer, daemon=True)
    try:
        api.wait_listening()
        poll(lambda: httpx.get(f"{api.url}/healthz", timeout=30).status_code == 200, 60, what="/healthz == 200")
        thread.start()
        write_corpus(knowledge, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
        ingest = start([*dutydesk_command(), "ingest"], env, tmp_path)
        ask = start([*dutydesk_command(), "ask", PHONE_QUESTION, "--json"], env, tmp_path)
        status, out, err = finish(ingest)
        assert status == 0 and "更新 1" in out, out + err
        status, out, err = finish(ask)
        assert status == 0, out + err
        asked = json.loads(out)
        assert_one_generation(asked["answer"], [c["text"] for c in asked["citations"]])

        after = manifest(data)["generation"]
        assert after == before + 1
        poll(lambda: httpx.get(f"{api.url}/healthz", timeout=30).json().get("generation") == after, 30,
             what=f"the server on generation {after}")
        poll(lambda: NEW_PHONE in httpx.post(f"{api.url}/ask", json={"question": PHONE_QUESTION},
                                             timeout=30).json()["answer"], 30, what="the server answering anew")
    finally:
        done.set()
        if thread.is_alive():
            thread.join(60)
        api.stop()
    assert outcomes
    for status, answer, citations in outcomes:
        assert status == 200, (status, answer)
        assert_one_generation(answer, citations)
    assert_whole(data, knowledge, embedder, NEW_PHONE)
    # A separate `dutydesk ask` after it all reads the new generation too.
    result = run_dutydesk("ask", PHONE_QUESTION, env=env, cwd=tmp_path)
    assert result.returncode == 0 and NEW_PHONE in result.stdout, result.stdout + result.stderr


def assert_one_generation(answer: str, citations: list[str]) -> None:
    """The answer gives exactly one of the two phones, and its first citation is where it comes from."""
    phones = [phone for phone in (OLD_PHONE, NEW_PHONE) if phone in answer]
    assert len(phones) == 1, f"neither or both generations in one answer: {answer}"
    assert citations and phones[0] in citations[0], f"answer and citation from different generations: {answer}"
