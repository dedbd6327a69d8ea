"""Run every benchmark (each in its own process) and print one summary.

Run: .venv/bin/python benchmarks/run_all.py [--quick] [--profile]

Order: bench_ingest (its cold ingest fills a temp data dir that the others reuse), bench_ask (the real
server over HTTP), bench_baseline (ours vs the LangChain-tutorial baseline). --quick skips the ingest
parse/embed split (saves one full embedding pass, ~1 min here); --profile adds profile_ask.py.
Each child is bounded by a timeout and the temp dir is removed at the end. Figures are printed, never
asserted: the machine is shared and noisy.
"""
from __future__ import annotations

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: F401  (environment first)
from _common import machine_line  # noqa: E402

HERE = Path(__file__).resolve().parent
CHILD_TIMEOUT_S = 1200


def run_child(script: str, args: list[str], summary: Path | None) -> tuple[float, int]:
    """Run one benchmark script with this interpreter, its output streamed; (seconds, exit status)."""
    command = [sys.executable, str(HERE / script), *args]
    if summary is not None:
        command += ["--summary-json", str(summary)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, start_new_session=True)
    try:
        status = proc.wait(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"  {script}: no result after {CHILD_TIMEOUT_S} s, stopping it")
        status = -1
    finally:
        if proc.poll() is None:  # timed out or we were interrupted: stop the child (it stops its server)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    return time.perf_counter() - started, status


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _ok(flag: Any) -> str:
    return "ok" if flag else "MISSED" if flag is not None else "n/a"


def main(argv: list[str] | None = None) -> int:
    """Run the three benchmarks and summarise; exit status 1 only if a benchmark itself failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the ingest parse/embed split")
    parser.add_argument("--profile", action="store_true", help="also run profile_ask.py")
    parser.add_argument("--rounds", type=int, default=5, choices=range(1, 21), metavar="N",
                        help="/ask rounds for bench_ask (default 5)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    print(f"== run_all ==  {machine_line()}", flush=True)
    wall: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="dutydesk-bench-all-") as tmp:
        root = Path(tmp)
        data = root / "data"
        plan = [("bench_ingest.py", ["--data-dir", str(data), *(["--no-split"] if args.quick else [])]),
                ("bench_ask.py", ["--data", str(data), "--rounds", str(args.rounds)]),
                ("bench_baseline.py", ["--data", str(data)])]
        if args.profile:
            plan.append(("profile_ask.py", ["--data", str(data)]))
        for script, script_args in plan:
            print(flush=True)
            summary = root / f"{script}.json" if script != "profile_ask.py" else None
            wall[script] = run_child(script, script_args, summary)
            if script == "bench_ingest.py" and not (data / "manifest.json").exists():
                print("  bench_ingest left no index: stopping")
                break
        ingest = _load(root / "bench_ingest.py.json")
        ask = _load(root / "bench_ask.py.json")
        baseline = _load(root / "bench_baseline.py.json")

    print("\n== summary ==")
    print(f"  {machine_line()}")
    if ingest:
        print(f"  ingest   {ingest['clauses']} clauses: cold {ingest['cold_s']:.1f} s (target 20) [{_ok(ingest['cold_ok'])}], "
              f"unchanged {ingest['unchanged_s']:.3f} s (target 2) [{_ok(ingest['unchanged_ok'])}]"
              + (f"; parse {ingest['parse_s']:.2f} s, embed {ingest['embed_s']:.1f} s, write {ingest['write_s']:.2f} s"
                 if ingest.get("embed_s") is not None else "")
              + f"; peak RSS {ingest['peak_rss_mb']} MB")
    if ask:
        print(f"  /ask     {ask['requests']} requests over HTTP: p50 {ask['p50_ms']:.1f} ms (target 30) [{_ok(ask['p50_ok'])}], "
              f"p95 {ask['p95_ms']:.1f} ms (target 60) [{_ok(ask['p95_ok'])}], max {ask['max_ms']:.1f} ms; "
              f"server-side p50 {ask['server_p50_ms']:.1f} ms; server peak RSS {ask['peak_rss_mb']} MB")
    for name, row in baseline.items():
        ours, base = row["ours"], row["baseline"]
        print(f"  quality  {name:14} ours hit@1 {ours['hit@1']:.3f} hit@5 {ours['hit@5']:.3f} mrr@10 {ours['mrr@10']:.3f} "
              f"(refusal_recall {ours['refusal_recall']}, false_refusal {ours['false_refusal_rate']}) | "
              f"baseline hit@1 {base['hit@1']:.3f} hit@5 {base['hit@5']:.3f} mrr@10 {base['mrr@10']:.3f} | "
              f"p50 {row['ours_p50_ms']:.1f} vs {row['baseline_p50_ms']:.1f} ms")
    print("  wall time: " + ", ".join(f"{script} {seconds:.0f} s" + (f" (exit {status})" if status else "")
                                      for script, (seconds, status) in wall.items()))
    return 1 if any(status for _, status in wall.values()) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
