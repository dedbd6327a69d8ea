"""A/B: character unigram+bigram BM25 (ours) vs word-level BM25 (rjieba, = jieba's segmentation).

Everything else in the pipeline stays the same; only the lexical index and query tokens change.
Run: python benchmarks/tokenizer_ab.py [DATA_DIR]  (an ingested data dir; default ./data)
"""
from __future__ import annotations

import sys
from pathlib import Path

import bm25s
import rjieba

import ingest.lexical as lexical
from bot.evaluate import evaluate, load_gold
from bot.service import build
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETS = [ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "holdout.jsonl"]


def word_tokens(text: str) -> list[str]:
    """rjieba words, punctuation and spaces dropped."""
    return [w for w in rjieba.cut(text) if w.strip() and any(ch.isalnum() for ch in w)]


def run(name: str, desk, questions) -> None:  # type: ignore[no-untyped-def]
    metrics = evaluate(desk, questions).metrics()
    print(f"{name:28} hit@1={metrics['hit@1']:.3f} hit@5={metrics['hit@5']:.3f} mrr@10={metrics['mrr@10']:.3f} "
          f"refusal_recall={metrics['refusal_recall']} false_refusal={metrics['false_refusal_rate']}")


def main() -> None:
    """Print both variants' metrics on the dev and held-out sets."""
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data"
    desk = build(Settings(data_dir=data, knowledge_dir=ROOT / "knowledge"))
    desk.ensure_index()
    questions = [q for path in SETS if path.exists() for q in load_gold(path)]
    run("char unigram+bigram (ours)", desk, questions)
    knowledge = desk.knowledge()
    model = bm25s.BM25()
    model.index([word_tokens(c.embed_text()) or [""] for c in knowledge.clauses], show_progress=False)
    original = lexical.tokenize
    lexical.tokenize = word_tokens  # the query side goes through the same function
    knowledge.lexical = lexical.LexicalIndex(model)
    try:
        run("rjieba words", desk, questions)
    finally:
        lexical.tokenize = original


if __name__ == "__main__":
    main()
