"""The fresh blind sets of 2026-12-06, each asked of the index a school would have.

    python benchmarks/eval_fresh.py

evals/fresh_knowledge.jsonl asks the bundled knowledge; evals/fresh_kuanrou.jsonl and
evals/fresh_fuxing.jsonl ask one school's documents each, on an index of only that school's documents
(benchmarks/schools.py). Written blind by helpers who read only the documents, measured, never tuned on:
nothing in the code may be changed for a question of these sets (evals/README.md).
"""
from __future__ import annotations

import json

import _common  # noqa: F401  (environment first)
from _common import ROOT, metrics_row
from fit_answerability import desk_for
from schools import school_desk

from bot.evaluate import evaluate, load_gold

SETS = ("fresh_knowledge", "fresh_kuanrou", "fresh_fuxing", "fresh2_knowledge", "fresh2_kuanrou", "fresh2_fuxing")


def main() -> None:
    """Print each fresh set's metrics on its own index."""
    print(metrics_row("set", width=18))
    for name in SETS:
        path = ROOT / "evals" / f"{name}.jsonl"
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        desk = desk_for("knowledge", ROOT / "knowledge") if name.endswith("_knowledge") else school_desk(first["doc"])
        metrics = evaluate(desk, load_gold(path)).metrics()
        print(metrics_row(name, metrics, width=18))


if __name__ == "__main__":
    main()
