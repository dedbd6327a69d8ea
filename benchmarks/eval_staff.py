"""The staff-wording question sets, both halves, on the real knowledge and the real embedder.

    python benchmarks/eval_staff.py [--write]

Prints `dutydesk eval`'s metrics for evals/staff_knowledge.jsonl (the bundled knowledge) and
evals/staff_corpus.jsonl (evals/corpus: 12 other schools' documents), each split into its tune half
(what the answerability model was fitted on) and its blind half (never tuned on). With --write, the
figures go to evals/figures.json, which the README quotes and tests/integration/test_quality.py guards.
"""
from __future__ import annotations

import argparse
import json

import _common  # noqa: F401  (environment first)
from _common import ROOT
from fit_answerability import desk_for

from bot.evaluate import evaluate, load_gold

FIGURES = ROOT / "evals" / "figures.json"
SETS = (("staff_knowledge", "knowledge", ROOT / "knowledge"), ("staff_corpus", "corpus", ROOT / "evals" / "corpus"))
SHOWN = ("n", "hit@1", "answered_first", "useful_first", "owner_accuracy", "refusal_recall", "confident_error_rate")


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
    """Measure, print a table, optionally write the figures file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {FIGURES.relative_to(ROOT)}")
    args = parser.parse_args()
    figures = measure()
    print(f"{'set/half':24}" + "".join(f"{key:>22}" for key in SHOWN))
    for where, metrics in figures.items():
        print(f"{where:24}" + "".join(f"{metrics[key]!s:>22}" for key in SHOWN))
    if args.write:
        FIGURES.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {FIGURES}")


if __name__ == "__main__":
    main()
