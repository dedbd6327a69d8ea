"""Schools nobody tuned on: each asked of an index holding only its own four documents.

    python benchmarks/eval_new_schools.py [--write]

evals/new_schools/ holds six schools' documents and questions written by helpers who saw no code and
no answer (evals/new_schools/README.md). Four are tune schools (their outcomes were read to find what
the rules misread); two are held out and only ever measured. Every other set shares its documents with
the sets the model was fitted on; these do not, as a school installing DutyDesk does not. Prints each
school's metrics and both groups pooled; with --write, the pooled figures go to evals/figures.json
(keys new_schools/tune and new_schools/held_out), which tests/integration/test_quality.py guards.
"""
from __future__ import annotations

import _common  # noqa: F401  (environment first)
from _common import ROOT, evaluation_main
from fit_answerability import desk_for

from bot.evaluate import Report, evaluate, load_gold

SCHOOLS = ROOT / "evals" / "new_schools"
GROUPS = {"tune": ("qizhong", "nanchuan", "yucai", "xiling"), "held_out": ("yunxi", "qingshi")}


def school_report(slug: str) -> Report:
    """One school's questions asked of an index of its own documents only."""
    desk = desk_for(f"new_{slug}", SCHOOLS / slug / "docs")
    return evaluate(desk, load_gold(SCHOOLS / slug / "questions.jsonl"))


def measure() -> dict[str, dict[str, object]]:
    """{school or group: metrics}, each school on its own index, the groups pooled."""
    figures: dict[str, dict[str, object]] = {}
    for group, slugs in GROUPS.items():
        pooled = Report()
        for slug in slugs:
            report = school_report(slug)
            figures[slug] = report.metrics()
            pooled.outcomes += report.outcomes
        figures[f"new_schools/{group}"] = pooled.metrics()
    return figures


def main() -> None:
    """Measure, print a table, optionally record the figures."""
    evaluation_main(__doc__ or "", "school", measure, lambda key: key.startswith("new_schools/"))


if __name__ == "__main__":
    main()
