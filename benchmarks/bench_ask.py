"""/ask latency over HTTP against the real app (`dutydesk serve` in a subprocess), and the server's memory.

Run: .venv/bin/python benchmarks/bench_ask.py [--data DIR] [--set FILE ...] [--rounds N]

- The server is `python -m bot serve --host 127.0.0.1 --port <free port>` with DUTYDESK_DATA_DIR set
  to a pre-ingested data dir: `--data DIR` (already ingested), else a fresh temp dir ingested first by
  `python -m bot ingest` (not timed here; see bench_ingest.py).
- Warm-up: /healthz, then every question once. Then every question of every set, sequentially, for
  N rounds (default 5, at most 20) over one keep-alive connection.
- Latency is the client's round trip (request → parsed JSON); the server's own `timings_ms`
  (retrieve + answer) are shown next to it. Memory: RSS sampled every 50 ms with psutil while the
  server runs, and VmHWM (kernel-tracked peak RSS) from /proc/PID/status at the end.
The server inherits this environment, so e.g. DUTYDESK_EMBED_THREADS=1 can be A/B-tested from outside;
its answer cache is off (DUTYDESK_ANSWER_CACHE_SIZE=0 unless set): every round must do the whole work.
Targets (printed, never asserted): p50 <= 30 ms, p95 <= 60 ms.
"""
from __future__ import annotations

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: F401  (environment first)
import httpx  # noqa: E402
import psutil  # noqa: E402
from _common import KNOWLEDGE, latency_summary, machine_line, question_sets, rss_mb, summary_arg, verdict, write_summary  # noqa: E402

P50_TARGET_MS = 30.0
P95_TARGET_MS = 60.0
STARTUP_TIMEOUT_S = 180.0
INGEST_TIMEOUT_S = 900.0


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment of the product's subprocesses: the data dir and the quiet-threads settings."""
    env = dict(os.environ)
    env.update({"DUTYDESK_DATA_DIR": str(data_dir), "DUTYDESK_KNOWLEDGE_DIR": str(KNOWLEDGE),
                "OMP_WAIT_POLICY": env.get("OMP_WAIT_POLICY", "PASSIVE"), "ORT_DISABLE_TELEMETRY": "1",
                "ANONYMIZED_TELEMETRY": "False", "PYTHONUNBUFFERED": "1"})
    return env


def ingest_with_cli(data_dir: Path, workdir: Path) -> float:
    """`python -m bot ingest --data DIR` in a subprocess; returns its wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "ingest", str(KNOWLEDGE), "--data", str(data_dir)],
                          cwd=workdir, env=server_env(data_dir), capture_output=True, text=True,
                          timeout=INGEST_TIMEOUT_S)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
        raise SystemExit(f"ingest failed (exit {done.returncode})")
    return time.perf_counter() - started


class MemorySampler(threading.Thread):
    """Samples a process tree's RSS until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                rss = self.process.memory_info().rss
                rss += sum(child.memory_info().rss for child in self.process.children(recursive=True))
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


def wait_ready(client: httpx.Client, proc: subprocess.Popen, log_path: Path) -> dict[str, Any]:
    """Poll /healthz until the server answers (bounded); fail with the server's log tail."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            response = client.get("/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-3000:]}")


def ask(client: httpx.Client, question: str) -> tuple[float, dict[str, Any]]:
    """One POST /ask; (client round-trip ms, response JSON)."""
    started = time.perf_counter()
    response = client.post("/ask", json={"question": question})
    body = response.json()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"/ask {question!r} → {response.status_code}: {body}")
    return elapsed, body


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def run(data_dir: Path, workdir: Path, sets: list[tuple[str, list[Any]]], rounds: int) -> dict[str, Any]:
    """Start the server, warm it, time the questions; always stop the server."""
    port = free_port()
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    with log_path.open("w") as log:
        # Rounds repeat the questions: with the answer cache on they would time a dict lookup.
        env = {**server_env(data_dir), "DUTYDESK_ANSWER_CACHE_SIZE": os.environ.get("DUTYDESK_ANSWER_CACHE_SIZE", "0")}
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    sampler = None
    try:
        sampler = MemorySampler(proc.pid)
        sampler.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            health = wait_ready(client, proc, log_path)
            startup_s = time.perf_counter() - started
            rss_ready, _ = rss_mb(proc.pid)
            first_ms, _ = ask(client, sets[0][1][0].question)  # loads the model and the index
            for _, questions in sets:
                for gold in questions:
                    ask(client, gold.question)
            rss_warm, _ = rss_mb(proc.pid)
            cpu_before = psutil.Process(proc.pid).cpu_times()
            loop_started = time.perf_counter()
            per_set: dict[str, list[float]] = {name: [] for name, _ in sets}
            server_ms: list[float] = []
            retrieve_ms: list[float] = []
            slowest: list[tuple[float, str]] = []
            for _ in range(rounds):
                for name, questions in sets:
                    for gold in questions:
                        elapsed, body = ask(client, gold.question)
                        per_set[name].append(elapsed)
                        timings = body.get("timings_ms") or {}
                        server_ms.append(float(timings.get("retrieve", 0)) + float(timings.get("answer", 0)))
                        retrieve_ms.append(float(timings.get("retrieve", 0)))
                        slowest.append((elapsed, gold.id))
            loop_s = time.perf_counter() - loop_started
            cpu_after = psutil.Process(proc.pid).cpu_times()
        rss_end, hwm = rss_mb(proc.pid)
        requests = sum(len(v) for v in per_set.values())
        cpu_ms = ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)) * 1000 / max(requests, 1)
    finally:
        if sampler is not None:
            sampler.stop()
        stop(proc)
    slowest.sort(reverse=True)
    return {"port": port, "startup_s": startup_s, "health": health, "first_ms": first_ms, "per_set": per_set,
            "server_ms": server_ms, "retrieve_ms": retrieve_ms, "slowest": slowest[:5], "cpu_ms_per_request": cpu_ms, "loop_s": loop_s,
            "rss_ready_mb": rss_ready, "rss_warm_mb": rss_warm, "rss_end_mb": rss_end, "hwm_mb": hwm,
            "sampled_peak_mb": sampler.peak / 2**20 if sampler else None,
            "samples": sampler.samples if sampler else 0}


def _line(label: str, stats: dict[str, float]) -> str:
    return (f"  {label:26} n={stats['n']:4d}  p50 {stats['p50']:7.1f} ms  p95 {stats['p95']:7.1f} ms  "
            f"max {stats['max']:7.1f} ms  mean {stats['mean']:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0 (figures are reported, not judged)."""
    argv, summary_path = summary_arg(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an already ingested data dir (default: ingest a temp one)")
    parser.add_argument("--set", dest="sets", type=Path, action="append",
                        help="question set (repeatable; default dev.jsonl and evals/holdout.jsonl)")
    parser.add_argument("--rounds", type=int, default=5, choices=range(1, 21), metavar="N")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server

    print("== bench_ask ==")
    print(f"  {machine_line()}")
    sets = question_sets(args.sets)
    if not sets:
        raise SystemExit("no question set found")
    with tempfile.TemporaryDirectory(prefix="dutydesk-bench-ask-") as tmp:
        workdir = Path(tmp)
        data_dir = args.data.resolve() if args.data else workdir / "data"
        if not (data_dir / "manifest.json").exists():
            print(f"  ingesting {KNOWLEDGE} into {data_dir} first (python -m bot ingest) ...", flush=True)
            print(f"  ingest took {ingest_with_cli(data_dir, workdir):.1f} s (not part of the figures)")
        figures = run(data_dir, workdir, sets, args.rounds)
    health = figures["health"]
    print(f"  server: 127.0.0.1:{figures['port']}, {health.get('documents')} documents, {health.get('clauses')} clauses, "
          f"ready in {figures['startup_s']:.1f} s; first /ask (cold) {figures['first_ms']:.0f} ms")
    print(f"  sets: {', '.join(f'{name} ({len(qs)} q)' for name, qs in sets)}; {args.rounds} rounds, sequential, warm; "
          f"answer cache size {os.environ.get('DUTYDESK_ANSWER_CACHE_SIZE', '0')}")
    everything = [ms for values in figures["per_set"].values() for ms in values]
    overall = latency_summary(everything)
    print(_line("/ask all (client)", overall)
          + f"   targets p50 <= {P50_TARGET_MS:.0f} [{verdict(overall['p50'], P50_TARGET_MS)}], "
            f"p95 <= {P95_TARGET_MS:.0f} [{verdict(overall['p95'], P95_TARGET_MS)}]")
    for name, values in figures["per_set"].items():
        print(_line(f"/ask {name} (client)", latency_summary(values)))
    print(_line("server retrieve+answer", latency_summary(figures["server_ms"])))
    print(_line("server retrieve only", latency_summary(figures["retrieve_ms"])))
    print(f"  server CPU per request {figures['cpu_ms_per_request']:.1f} ms (user+sys, all threads); "
          f"timed loop {figures['loop_s']:.1f} s")
    print("  slowest: " + ", ".join(f"{qid} {ms:.0f} ms" for ms, qid in figures["slowest"]))
    print(f"  server RSS: ready {figures['rss_ready_mb']:.0f} MB, warm {figures['rss_warm_mb']:.0f} MB, "
          f"end {figures['rss_end_mb']:.0f} MB; peak sampled {figures['sampled_peak_mb']:.0f} MB "
          f"({figures['samples']} samples), VmHWM {figures['hwm_mb']:.0f} MB")
    write_summary(summary_path, {
        "requests": overall["n"], "p50_ms": round(overall["p50"], 1), "p95_ms": round(overall["p95"], 1),
        "max_ms": round(overall["max"], 1), "p50_ok": overall["p50"] <= P50_TARGET_MS,
        "p95_ok": overall["p95"] <= P95_TARGET_MS, "server_p50_ms": round(latency_summary(figures["server_ms"])["p50"], 1),
        "peak_rss_mb": round(max(figures["hwm_mb"] or 0, figures["sampled_peak_mb"] or 0)),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
