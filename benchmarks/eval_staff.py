"""The staff-wording question sets, both halves, on the real knowledge and the real embedder.

    python benchmarks/eval_staff.py [--write]

Prints `dutydesk eval`'s metrics for evals/staff_knowledge.jsonl (the bundled knowledge) and
evals/staff_corpus.jsonl (evals/corpus: 12 other schools' documents), each split into its tune half
(what the answerability model was fitted on) and its blind half (never tuned on). With --write, the
figures go to evals/figures.json, which the README quotes and tests/integration/test_quality.py guards.
"""
from __future__ import annotations

import _common  # noqa: F401  (environment first)
from _common import ROOT, evaluation_main
from fit_answerability import desk_for

from bot.evaluate import evaluate, load_gold

SETS = (("staff_knowledge", "knowledge", ROOT / "knowledge"), ("staff_corpus", "corpus", ROOT / "evals" / "corpus"))


def measure() -> dict[str, dict[str, object]]:
    """{set/half: metrics} for both sets and both halves."""
    figures = {}
    for name, cache, knowledge in SETS:
        desk = desk_for(cache, knowledge)
        for half in ("tune", "blind"):
            questions = load_gold(ROOT / "evals" / f"{name}.jsonl", half)
            figures[f"{name}/{half}"] = evaluate(desk, questions).metrics()
    return figures


def main() -> None:
    """Measure, print a table, optionally record the figures."""
    evaluation_main(__doc__ or "", "set/half", measure)


if __name__ == "__main__":
    main()
