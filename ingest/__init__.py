"""DutyDesk write path: documents → clauses → index."""
import ctypes
import os
import sys

# These must be set before chromadb/onnxruntime or the embedding engine load anywhere in the process:
# onnxruntime phones home unless told not to, and OpenMP threads busy-wait by default, which turns a
# 15 ms query into seconds when another process is busy on this 2-core class of machine.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's OpenBLAS splits a few-thousand-row product (the exact dense search) over every core, then
# its threads spin between questions: measured here at 3k-10k clauses, a 0.3 ms search cost 15 ms
# of CPU per question, a core stolen from the embeddings under load. One thread does it in 0.3 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (unless MALLOC_ARENA_MAX is set), so freed memory is reused.

    By default glibc gives busy threads up to 8 arenas per core, each keeping what it freed: under
    50 clients the server's 40 worker threads grew its heap by 82 MB (+24 %) in 40 s; with two
    arenas it grew by 19-20 MB (+5.4-5.9 %; benchmarks/bench_load.py, 2026-12-05, four runs).
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX from malloc.h
    except (OSError, AttributeError):
        pass  # not glibc (musl, say): nothing to tune


_limit_malloc_arenas()
