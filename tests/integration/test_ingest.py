"""Incremental ingest against a real chromadb in tmp_path: add, skip, update, delete, fail, interrupt.

Documents are the format fixtures of tests/data, copied into a private knowledge dir; the
embedder is the deterministic HashEmbedder (it records what it was asked to embed).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot import cli
from bot.knowledge import Knowledge
from bot.service import DutyDesk
from ingest import pipeline as ingest_pipeline
from ingest.errors import IndexMismatchError, IndexMissingError, NotFoundError
from ingest.model import Clause
from ingest.settings import Settings
from ingest.store import IndexStore, embed_key
from tests.fakes.embedders import LengthEmbedder

DATA = Path(__file__).resolve().parent.parent / "data"
DOCS = ("role_duties.txt", "md_table.md", "regulation.md", "gbk_rules.txt", "web_page.html")


@pytest.fixture()
def desk(settings_factory: Callable[..., Settings], make_desk: Callable[..., DutyDesk]) -> DutyDesk:
    """A desk whose knowledge dir holds copies of the format fixtures (nothing ingested yet)."""
    settings = settings_factory()
    for name in DOCS:
        shutil.copy(DATA / name, settings.knowledge_dir / name)
    return make_desk(settings=settings)


def manifest_bytes(desk: DutyDesk) -> bytes:
    """The manifest file as it is on disk."""
    return (desk.settings.data_dir / "manifest.json").read_bytes()


def fresh(desk: DutyDesk, embedder: object | None = None) -> DutyDesk:
    """Another process's view of the same data dir (nothing cached)."""
    return DutyDesk(desk.settings, embedder or desk.embedder)  # type: ignore[arg-type]


def clauses_of(desk: DutyDesk, key: str) -> list[Clause]:
    """The current clauses of one document."""
    return [c for c in desk.knowledge().clauses if c.source.path == key]


def generation_dirs(desk: DutyDesk) -> set[int]:
    """Generation directories on disk."""
    return {int(p.name) for p in (desk.settings.data_dir / "generations").iterdir()}


def collections(desk: DutyDesk) -> set[str]:
    """Chroma collection names in the data dir."""
    return {getattr(c, "name", c) for c in desk.store.client().list_collections()}


def top_hit(desk: DutyDesk, question: str) -> Clause:
    """The best retrieved clause for a question."""
    return desk.retriever.retrieve(desk.knowledge(), question).hits[0].clause


# --- add, skip, update, delete ---------------------------------------------------------------------


def test_first_ingest_adds_every_document(desk: DutyDesk) -> None:
    report = desk.ingest()
    assert sorted(report.added) == sorted(DOCS)
    assert (report.updated, report.unchanged, report.removed, report.failed) == ([], [], [], [])
    knowledge = desk.knowledge()
    assert report.clauses == len(knowledge.clauses) == report.embedded
    assert knowledge.manifest.generation == 1
    assert set(knowledge.manifest.documents) == set(DOCS)
    assert knowledge.collection.count() == len(knowledge.clauses)
    assert {"出纳员", "图书馆", "教务处", "图书管理员", "学生处宿管科"} <= set(knowledge.owners)
    assert top_hit(desk, "危险化学品实行双人双锁管理").text.endswith("危险化学品实行双人双锁管理。")


def test_an_unchanged_reingest_skips_everything_and_leaves_the_manifest_alone(desk: DutyDesk) -> None:
    desk.ingest()
    before, stamp = manifest_bytes(desk), (desk.settings.data_dir / "manifest.json").stat().st_mtime_ns
    calls = list(desk.embedder.calls)  # type: ignore[attr-defined]
    report = desk.ingest()
    assert sorted(report.unchanged) == sorted(DOCS)
    assert (report.added, report.updated, report.removed, report.failed) == ([], [], [], [])
    assert not report.changed and report.embedded == 0
    assert manifest_bytes(desk) == before
    assert (desk.settings.data_dir / "manifest.json").stat().st_mtime_ns == stamp
    assert desk.embedder.calls == calls  # type: ignore[attr-defined]
    assert generation_dirs(desk) == {1}


def test_changed_parsing_rules_read_unchanged_files_again_and_keep_their_ids_and_vectors(desk: DutyDesk) -> None:
    desk.ingest()
    manifest = desk.settings.data_dir / "manifest.json"
    old = json.loads(manifest.read_text(encoding="utf-8"))
    ids = {key: entry["clause_ids"] for key, entry in old["documents"].items()}
    for entry in old["documents"].values():
        entry["parser"] = "older-rules"  # as an index built before this release's parsing rules
    manifest.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    again = fresh(desk)
    report = again.ingest()
    assert sorted(report.reparsed) == sorted(DOCS) and report.changed
    assert (report.added, report.updated, report.unchanged, report.failed) == ([], [], [], [])
    assert report.embedded == 0  # the texts are the same: their vectors are reused
    documents = again.knowledge().manifest.documents
    assert {key: entry.clause_ids for key, entry in documents.items()} == ids
    assert {entry.parser for entry in documents.values()} == {ingest_pipeline.parser_fingerprint()}
    assert sorted(fresh(again).ingest().unchanged) == sorted(DOCS)  # read once, then skipped again


def test_a_modified_document_alone_is_reparsed_and_only_new_texts_are_embedded(
        desk: DutyDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk.ingest()
    old = {c.id: c for c in desk.knowledge().clauses}
    old_keys = {embed_key(c) for c in old.values()}
    path = desk.settings.knowledge_dir / "role_duties.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("每学期至少家访一次", "每学期至少家访两次"),
                    encoding="utf-8")
    parsed: list[str] = []
    import ingest.pipeline as pipeline
    real_parse = pipeline.parse_file
    monkeypatch.setattr(pipeline, "parse_file", lambda p, key, *a: parsed.append(key) or real_parse(p, key, *a))
    desk.embedder.calls.clear()  # type: ignore[attr-defined]
    report = desk.ingest()
    assert parsed == ["role_duties.txt"]
    assert report.updated == ["role_duties.txt"] and sorted(report.unchanged) == sorted(set(DOCS) - {path.name})
    knowledge = desk.knowledge()
    new_keys = {embed_key(c) for c in knowledge.clauses} - old_keys
    assert report.embedded == len(new_keys) == 1
    assert sum(desk.embedder.calls) == 1  # type: ignore[attr-defined]
    assert knowledge.manifest.generation == 2
    edited = knowledge.clause("role-duties-banzhuren-1")
    assert "每学期至少家访两次" in edited.text and edited.sha256 != old["role-duties-banzhuren-1"].sha256
    assert {c.id for c in knowledge.clauses} == set(old)  # ids are stable across the edit


def test_unchanged_clauses_keep_their_vectors(desk: DutyDesk) -> None:
    desk.ingest()
    first = desk.knowledge().collection.get(ids=["md-table-tushuguan-1"], include=["embeddings"])["embeddings"][0]
    path = desk.settings.knowledge_dir / "md_table.md"
    path.write_text(path.read_text(encoding="utf-8").replace("年度清查", "年度全面清查"), encoding="utf-8")
    desk.ingest()
    second = desk.knowledge().collection.get(ids=["md-table-tushuguan-1"], include=["embeddings"])["embeddings"][0]
    assert desk.knowledge().manifest.generation == 2
    assert np.array_equal(np.asarray(first), np.asarray(second))


def test_a_deleted_document_is_removed_with_its_clauses(desk: DutyDesk) -> None:
    desk.ingest()
    gone = [c.id for c in clauses_of(desk, "gbk_rules.txt")]
    (desk.settings.knowledge_dir / "gbk_rules.txt").unlink()
    report = desk.ingest()
    assert report.removed == ["gbk_rules.txt"] and report.embedded == 0
    knowledge = desk.knowledge()
    assert "gbk_rules.txt" not in knowledge.manifest.documents
    assert "图书管理员" not in knowledge.owners
    assert knowledge.collection.count() == len(knowledge.clauses)
    with pytest.raises(NotFoundError):
        desk.clause(gone[0])


def test_ingesting_one_path_leaves_documents_outside_it_alone(desk: DutyDesk) -> None:
    desk.ingest()
    before = {c.id for c in desk.knowledge().clauses}
    report = desk.ingest([desk.settings.knowledge_dir / "md_table.md"])
    assert report.unchanged == ["md_table.md"] and report.removed == []
    assert {c.id for c in desk.knowledge().clauses} == before


def test_documents_whose_names_share_initials_get_distinct_stable_ids(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk({"安全.md": "# 安全\n\n1.门卫实行登记制度。\n", "暗泉.md": "# 暗泉\n\n1.暗泉水质每月检测。\n",
                      "制度/安全.md": "# 安全\n\n1.实验室实行双人双锁。\n"})
    desk.ingest()
    ids = {key: entry.id for key, entry in desk.knowledge().manifest.documents.items()}
    assert len(set(ids.values())) == 3 and all(doc_id.startswith("aq") for doc_id in ids.values())
    clause_ids = {c.id for c in desk.knowledge().clauses}
    assert len(clause_ids) == 3
    (desk.settings.knowledge_dir / "暗泉.md").write_text("# 暗泉\n\n1.暗泉水质每周检测。\n", encoding="utf-8")
    desk.ingest()
    assert {key: entry.id for key, entry in desk.knowledge().manifest.documents.items()} == ids
    assert {c.id for c in desk.knowledge().clauses} == clause_ids


# --- failures ----------------------------------------------------------------------------------------


def test_a_corrupt_file_is_reported_and_the_others_are_ingested(desk: DutyDesk) -> None:
    shutil.copy(DATA / "corrupt.docx", desk.settings.knowledge_dir / "坏文件.docx")
    shutil.copy(DATA / "empty.txt", desk.settings.knowledge_dir / "空白.txt")
    report = desk.ingest()
    failed = dict(report.failed)
    assert set(failed) == {"坏文件.docx", "空白.txt"}
    assert all(isinstance(reason, str) and reason for reason in failed.values())
    assert sorted(report.added) == sorted(DOCS)
    assert set(desk.knowledge().manifest.documents) == set(DOCS)
    again = desk.ingest()  # still bad: reported again, nothing else happens
    assert set(dict(again.failed)) == {"坏文件.docx", "空白.txt"} and not again.changed


def test_the_cli_exits_1_when_a_file_failed_and_0_otherwise(desk: DutyDesk, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUTYDESK_KNOWLEDGE_DIR", str(desk.settings.knowledge_dir))
    monkeypatch.setenv("DUTYDESK_DATA_DIR", str(desk.settings.data_dir))
    monkeypatch.setattr("bot.service.build_embedder", lambda settings: desk.embedder)
    bad = desk.settings.knowledge_dir / "坏文件.docx"
    shutil.copy(DATA / "corrupt.docx", bad)
    assert cli.main(["ingest"]) == 1
    err = capsys.readouterr().err
    assert "坏文件.docx" in err and "失败" in err
    bad.unlink()
    assert cli.main(["ingest"]) == 0
    assert f"未变 {len(DOCS)}" in capsys.readouterr().out


def test_a_changed_file_that_is_now_corrupt_keeps_its_previous_version(desk: DutyDesk) -> None:
    desk.ingest()
    before = clauses_of(desk, "regulation.md")
    entry = desk.knowledge().manifest.documents["regulation.md"]
    (desk.settings.knowledge_dir / "regulation.md").write_bytes(b"\x00\x01\x02" * 200)
    report = desk.ingest()
    assert [key for key, _ in report.failed] == ["regulation.md"]
    assert "regulation.md" not in report.updated + report.removed
    assert clauses_of(desk, "regulation.md") == before
    assert desk.knowledge().manifest.documents["regulation.md"].sha256 == entry.sha256  # retried next time
    shutil.copy(DATA / "regulation.md", desk.settings.knowledge_dir / "regulation.md")
    healed = desk.ingest()
    assert healed.unchanged and not healed.failed and "regulation.md" in healed.unchanged


def test_a_missing_path_is_reported(desk: DutyDesk) -> None:
    report = desk.ingest([desk.settings.knowledge_dir / "不存在.md"])
    assert [key for key, _ in report.failed] == [str(desk.settings.knowledge_dir / "不存在.md")]


# --- interrupted ingest ------------------------------------------------------------------------------


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("simulated crash in the middle of writing a generation")


@pytest.mark.parametrize("target", [
    "ingest.store.LexicalIndex.build",  # after clauses.jsonl of the new generation is written
    "chromadb.api.models.Collection.Collection.add",  # after the new collection was created
    "ingest.store._atomic_write",  # everything written, only the manifest swap is missing
])
def test_an_interrupted_ingest_leaves_the_previous_index_whole(desk: DutyDesk, monkeypatch: pytest.MonkeyPatch,
                                                               target: str) -> None:
    desk.ingest()
    before = manifest_bytes(desk)
    clauses_before = [c.to_dict() for c in desk.knowledge().clauses]
    path = desk.settings.knowledge_dir / "md_table.md"
    path.write_text(path.read_text(encoding="utf-8").replace("年度清查", "年度全面清查"), encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(target, _boom)
        with pytest.raises(RuntimeError, match="simulated crash"):
            desk.ingest()
    assert manifest_bytes(desk) == before
    reader = fresh(desk)
    knowledge = reader.knowledge()
    assert knowledge.manifest.generation == 1
    assert [c.to_dict() for c in knowledge.clauses] == clauses_before
    assert knowledge.collection.count() == len(clauses_before)
    assert reader.ask("图书馆负责哪些工作？").answer.text
    assert top_hit(reader, "学校固定资产登记和年度清查").text == "负责学校固定资产登记和年度清查。"
    report = desk.ingest()  # the next ingest succeeds and cleans up the orphan
    assert report.updated == ["md_table.md"]
    current = fresh(desk).knowledge()
    assert "负责学校固定资产登记和年度全面清查。" in [c.text for c in current.clauses]
    assert current.collection.count() == len(current.clauses)
    assert generation_dirs(desk) == {1, current.manifest.generation}
    assert collections(desk) == {"dutydesk_g1", current.manifest.collection}


def test_a_reader_never_sees_an_index_when_the_first_ingest_crashes(desk: DutyDesk,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr("ingest.store.LexicalIndex.build", _boom)
        with pytest.raises(RuntimeError):
            desk.ingest()
    with pytest.raises(IndexMissingError):
        fresh(desk).ask("出纳员有哪些职责？")
    assert desk.ingest().added


# --- another embedder ----------------------------------------------------------------------------------


def test_an_index_built_by_another_embedder_is_refused_until_reingested(desk: DutyDesk) -> None:
    desk.ingest()
    other = fresh(desk, LengthEmbedder())
    with pytest.raises(IndexMismatchError):
        Knowledge.load(other.store, other.embedder.name)
    with pytest.raises(IndexMismatchError):
        other.ask("出纳员有哪些职责？")
    report = other.ingest()
    assert sorted(report.added) == sorted(DOCS) and report.embedded == report.clauses
    assert other.knowledge().manifest.embedder == "test/other-384"
    assert other.ask("出纳员有哪些职责？").retrieval.hits
    with pytest.raises(IndexMismatchError):
        fresh(desk).ask("出纳员有哪些职责？")  # and now the hash index is the stranger


def test_an_index_of_an_older_format_is_refused(desk: DutyDesk) -> None:
    desk.ingest()
    path = desk.settings.data_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format"] -= 1
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexMismatchError):
        fresh(desk).knowledge()
    report = desk.ingest()
    assert sorted(report.added) == sorted(DOCS)
    assert report.embedded == 0, "re-parsed, but the same model's vectors of the same texts are reused"
    assert fresh(desk).knowledge().manifest.format == manifest["format"] + 1


def test_store_without_any_ingest_is_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError):
        IndexStore(tmp_path / "data").require_manifest("test/hash-384")
