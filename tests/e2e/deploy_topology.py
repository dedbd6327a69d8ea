"""The docker-compose topology without Docker: a Chroma server, `dutydesk ingest` and `dutydesk serve`
as subprocesses on 127.0.0.1, sharing one data dir (the compose file's `dutydesk-data` volume).

Used by tests/e2e/test_deploy.py and tests/e2e/test_faults.py. Every process starts in its own
session, so stopping it also stops anything it spawned; callers stop what they start in `finally`
(or through the context managers here).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Two short rule documents: a department table with phones, and the duties of two posts.
DEPARTMENTS = (
    "---\ntitle: 学校内设机构\n---\n\n"
    "|   |   |   |   |\n|---|---|---|---|\n"
    "|机构名称|总务处|办公电话|0535-3450820|\n"
    "|机构职能|1.负责校舍、水电设施的维修与管理。<br><br>2.负责学校固定资产登记和年度清查。|   |   |\n"
    "|机构名称|信息中心|办公电话|{phone}|\n"
    "|机构职能|1.负责校园网络和多媒体设备的运行维护。<br><br>2.负责教职工邮箱账号的开通与密码重置。|   |   |\n"
)
DUTIES = (
    "学校各岗位职责\n\n"
    "宿舍管理员岗位职责\n1．每晚九点半清点住宿学生人数。\n2．负责宿舍钥匙的登记保管。\n\n"
    "出纳员岗位职责\n1．办理现金收付和银行结算业务，做到日清月结。\n2．妥善保管空白支票和有关印鉴。\n"
)
OLD_PHONE = "0535-3450899"
NEW_PHONE = "0535-3450900"
PHONE_QUESTION = "信息中心的电话是多少？"


def small_corpus(phone: str = OLD_PHONE) -> dict[str, str]:
    """{file name: text} of the two documents (the 信息中心 phone is the part a test changes)."""
    return {"机构.md": DEPARTMENTS.format(phone=phone), "岗位职责.txt": DUTIES}


def write_corpus(directory: Path, docs: dict[str, str]) -> Path:
    """Write the documents (UTF-8) into directory; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dutydesk_command() -> list[str]:
    """The `dutydesk` console script of this environment (what the image's ENTRYPOINT runs)."""
    script = BIN / "dutydesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def deploy_env(data_dir: Path, knowledge_dir: Path, chroma_url: str | None, **extra: str) -> dict[str, str]:
    """The environment compose gives the dutydesk services, pointed at tmp dirs and a local Chroma."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYDESK_")}
    env.update(DUTYDESK_DATA_DIR=str(data_dir), DUTYDESK_KNOWLEDGE_DIR=str(knowledge_dir),
               DUTYDESK_EMBED_WORKERS="1",  # no worker pool: a SIGKILLed ingest leaves no orphans
               PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    if chroma_url:
        env["DUTYDESK_CHROMA_URL"] = chroma_url
    env.update(extra)
    return env


def stop(process: subprocess.Popen[Any] | None, timeout: float = 15) -> None:
    """Terminate a process started with start_new_session=True (and its group); kill if it lingers."""
    if process is None or process.poll() is not None:
        return
    with _quiet():
        os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with _quiet():
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def kill(process: subprocess.Popen[Any]) -> int:
    """SIGKILL a process group at once (a crash or the OOM killer); return the exit status."""
    with _quiet():
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait(15)


@contextmanager
def _quiet() -> Iterator[None]:
    try:
        yield
    except ProcessLookupError:
        pass


def log_tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for assertion messages."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


class ChromaServer:
    """`chroma run` on 127.0.0.1 with its data in `path` (the compose `chroma` service)."""

    def __init__(self, path: Path, log_dir: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.log = log_dir / f"chroma-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ChromaServer:
        """Start the server and wait until its heartbeat answers."""
        command = [str(BIN / "chroma"), "run", "--host", "127.0.0.1", "--port", str(self.port),
                   "--path", str(self.path)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.alive():
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma exited with {self.process.returncode}:\n{log_tail(self.log)}")
            if time.monotonic() > deadline:
                stop(self.process)
                raise RuntimeError(f"chroma heartbeat never answered:\n{log_tail(self.log)}")
            time.sleep(0.1)
        return self

    def alive(self) -> bool:
        """GET /api/v2/heartbeat answers 200."""
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (the port closes, its data stays on disk)."""
        if self.process is not None:
            kill(self.process)

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung server, a dropped network)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.process is not None:
            with _quiet():
                os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        stop(self.process)

    def collections(self) -> set[str]:
        """Names of the collections the server holds (through the chromadb client DutyDesk uses)."""
        import chromadb
        from chromadb.config import Settings

        client = chromadb.HttpClient(host="127.0.0.1", port=self.port, settings=Settings(anonymized_telemetry=False))
        return {getattr(c, "name", c) for c in client.list_collections()}


class ApiServer:
    """`dutydesk serve --host 127.0.0.1 --port P` (the compose `api` service) with the given environment."""

    def __init__(self, env: dict[str, str], cwd: Path, log_dir: Path, port: int | None = None) -> None:
        self.env = env
        self.cwd = cwd
        self.port = port or free_port()
        self.log = log_dir / f"api-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        """Start the process (returns at once; see wait_listening)."""
        command = [*dutydesk_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        return self

    def wait_listening(self, timeout: float = 120) -> ApiServer:
        """Wait until /healthz answers at all (any status): the server is up."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dutydesk serve exited with {self.process.returncode}:\n{log_tail(self.log)}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=5)
                return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dutydesk serve did not listen within {timeout} s:\n{log_tail(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop(self.process)


def run_dutydesk(*args: str, env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `dutydesk ARGS` to completion."""
    return subprocess.run([*dutydesk_command(), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def ask(url: str, question: str, timeout: float = 30) -> httpx.Response:
    """POST /ask."""
    return httpx.post(f"{url}/ask", json={"question": question}, timeout=timeout)


def poll(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    """Call predicate until it returns something truthy; return that, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


def manifest(data_dir: Path) -> dict[str, Any]:
    """The current manifest.json of a data dir."""
    import json

    return json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
