"""Fit the retrieval blend weights (bot/retrieve.py) on the tune halves; report the blind halves.

    python benchmarks/fit_fusion.py

For every answerable question of the fitting sets (the tune halves of evals/staff_knowledge.jsonl and
staff_corpus.jsonl, plus evals/dev and holdout), every candidate clause's three signals are taken
from one real retrieval: dense similarity (min-max scaled over the candidates), BM25 relative to the
best clause, and key-term coverage. The owner and article lifts stay as they are. A grid of
(dense, lexical, coverage) weights is scored by the mean reciprocal rank of the first clause that
holds an expected text; the best on the fitting sets is then reported beside today's weights on both
blind halves, which play no part in the choice.

Result (2026-12-05): the fitted weights, (0.4, 0.6, 1.0), are today's (0.2, 0.4, 0.6) scaled up
against the owner lift. Fitting sets (286 questions) MRR 0.830 → 0.834; blind halves: bundled
knowledge MRR 0.907 → 0.906, other schools 0.754 → 0.751. A linear blend of these three signals is
at its best already, so the weights stay; what ranks wrong needs a signal none of them carries.
"""
from __future__ import annotations

import itertools

import _common  # noqa: F401  (environment first)
import numpy as np
from _common import ROOT
from fit_answerability import desk_for

from bot import retrieve
from bot.evaluate import GoldQuestion, load_gold, squash
from bot.service import DutyDesk
from bot.terms import normalize_question

EVALS = ROOT / "evals"
GRID = np.round(np.arange(0.0, 1.01, 0.1), 2)
Table = list[tuple[np.ndarray, np.ndarray]]  # per question: (candidates × 5 signals, which hold the answer)


def signals(desk: DutyDesk, gold: GoldQuestion) -> tuple[np.ndarray, np.ndarray] | None:
    """(dense, lexical, coverage, owner, article) per candidate, and the candidates that answer."""
    knowledge = desk.knowledge()
    retrieval = desk.retriever.retrieve(knowledge, normalize_question(gold.question), limit=100_000)
    wanted = [squash(s) for s in gold.any_of if squash(s)]
    if not retrieval.hits or not wanted:
        return None
    dense = np.asarray([h.dense for h in retrieval.hits])
    present = dense != 0.0  # a candidate only BM25 found has no similarity (cosines here are never 0)
    low, high = (dense[present].min(), dense[present].max()) if present.any() else (0.0, 1.0)
    dense_norm = np.where(present, (dense - low) / ((high - low) or 1.0), 0.0)
    rows = np.column_stack([dense_norm, [h.lexical for h in retrieval.hits], [h.coverage for h in retrieval.hits],
                            [h.clause.owner in retrieval.owners for h in retrieval.hits],
                            [h.clause.id in retrieval.articles for h in retrieval.hits]]).astype(float)
    right = np.asarray([any(w in squash(h.clause.text) for w in wanted) for h in retrieval.hits])
    return rows, right


def table(sets: list[tuple[str, str]], half: str | None) -> Table:
    """Signals of every answerable question of the named sets."""
    desks = {"knowledge": desk_for("knowledge", ROOT / "knowledge"), "corpus": desk_for("corpus", EVALS / "corpus")}
    out = []
    for name, base in sets:
        for gold in load_gold(EVALS / f"{name}.jsonl", half):
            if gold.kind != "refuse" and (seen := signals(desks[base], gold)) is not None:
                out.append(seen)
    return out


def ranks(rows: Table, weights: tuple[float, float, float]) -> np.ndarray:
    """1-based rank of the first answering clause per question (0 when none is a candidate)."""
    lifts = np.asarray([*weights, retrieve.OWNER_BONUS, retrieve.ARTICLE_BONUS])
    found = []
    for signal, right in rows:
        order = np.argsort(-(signal @ lifts), kind="stable")
        hits = np.flatnonzero(right[order])
        found.append(hits[0] + 1 if len(hits) else 0)
    return np.asarray(found)


def summary(found: np.ndarray) -> str:
    """hit@1, hit@5 and MRR of a rank list."""
    mrr = np.mean([1.0 / r if r else 0.0 for r in found])
    return f"hit@1 {np.mean(found == 1):.3f}  hit@5 {np.mean((found >= 1) & (found <= 5)):.3f}  mrr {mrr:.3f}"


def main() -> None:
    """Grid-search the weights on the fitting sets; print them and both blind halves."""
    fitting = table([("staff_knowledge", "knowledge"), ("staff_corpus", "corpus")], "tune") + \
        table([("dev", "knowledge"), ("holdout", "knowledge")], None)
    today = (retrieve.DENSE_WEIGHT, retrieve.LEXICAL_WEIGHT, retrieve.COVERAGE_WEIGHT)

    def mrr(weights: tuple[float, float, float]) -> float:
        return float(np.mean([1.0 / r if r else 0.0 for r in ranks(fitting, weights)]))

    # Not scaled to a sum: the owner and article lifts are absolute, so the weights' size matters too.
    grid = [w for w in itertools.product(GRID, GRID, GRID) if sum(w) > 0]
    best = tuple(float(x) for x in max(grid, key=lambda w: (round(mrr(w), 4), -abs(w[0] - today[0]))))
    print(f"fitting sets, {len(fitting)} questions")
    for label, weights in (("today", today), ("fitted", best)):
        print(f"  {label:7} {weights}: {summary(ranks(fitting, weights))}")
    for name, base in (("staff_knowledge", "knowledge"), ("staff_corpus", "corpus")):
        blind = table([(name, base)], "blind")
        print(f"{name}/blind, {len(blind)} answerable questions")
        for label, weights in (("today", today), ("fitted", best)):
            print(f"  {label:7} {weights}: {summary(ranks(blind, weights))}")


if __name__ == "__main__":
    main()
