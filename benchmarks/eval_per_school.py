"""The other schools' questions, each asked of an index holding only its own organisation's documents.

    python benchmarks/eval_per_school.py

A school running DutyDesk indexes its own documents, not six schools' (benchmarks/schools.py). Prints
evals/staff_corpus.jsonl's metrics per half on the mixed index (what evals/figures.json reports) and on
each question's own school's index.
"""
from __future__ import annotations

import json

import _common  # noqa: F401  (environment first)
from _common import ROOT, metrics_row
from fit_answerability import desk_for
from schools import CORPUS, organisations, school_desk

from bot.evaluate import Report, evaluate, load_gold

SET = ROOT / "evals" / "staff_corpus.jsonl"


def main() -> None:
    """Ask every question of the mixed index and of its own school's; print both halves."""
    doc_of = {json.loads(line)["id"]: json.loads(line)["doc"] for line in SET.read_text().splitlines() if line.strip()}
    mixed = desk_for("corpus", CORPUS)
    print(f"{len(organisations())} organisations: " + "; ".join(f"{k[:10]}… ({len(v)})" for k, v in organisations().items()))
    print(metrics_row("half / index"))
    for half in ("tune", "blind"):
        questions = load_gold(SET, half)
        own = Report()
        for files in organisations().values():
            asked = [q for q in questions if doc_of[q.id] in files]
            if asked:
                own.outcomes += evaluate(school_desk(files[0]), asked).outcomes
        for label, report in (("mixed", evaluate(mixed, questions)), ("own school", own)):
            metrics = report.metrics()
            print(metrics_row(f"{half} / {label}", metrics))


if __name__ == "__main__":
    main()
