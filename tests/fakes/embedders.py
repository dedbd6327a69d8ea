"""Fake embedders (the `ingest.embed.Embedder` protocol): fast, deterministic, the same on every run.

They stand in for the bundled e5 model wherever a test is not about retrieval quality. Each one
exists for a different reason, and their names go into the index manifest, so they are not
interchangeable:

- `HashEmbedder`: the suite's default. Texts that share words get similar vectors, and it records
  its calls (the fixtures of tests/conftest.py, the e2e servers over SMALL_CORPUS, the CLI in
  tests/e2e/deploy_faulty_cli.py).
- `LengthEmbedder`: "another model" of the same dimension, whose index the real embedder (or the
  HashEmbedder) must refuse to read; its vectors depend only on the text length.
- `BigramEmbedder` and `MessengerBigramEmbedder`: hashed bigrams plus a component every vector
  shares, so every cosine clears bot.support's similarity floor (tuned for e5) and key-term
  coverage decides support, as it does with e5. Two variants, because the LLM-mode tests and the
  Telegram/DingTalk tests were each written against their own (different shared weight, whitespace
  handled differently); see their docstrings.
"""
from __future__ import annotations

import re
import zlib
from itertools import pairwise

import numpy as np

DIM = 384  # the dimension of the bundled multilingual-e5-small
_GRAM = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]")


class HashEmbedder:
    """Deterministic bag of hashed character unigrams + bigrams, L2-normalised (the `Embedder` protocol)."""

    name = "test/hash-384"

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each embed_documents call got

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, shape (len(texts), 384)."""
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] = self._vector(text)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query, shape (384,)."""
        return self._vector(text)

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        """Signed counts of hashed character unigrams and bigrams (Chinese, Latin, digits), normalised."""
        chars = [ch.lower() for ch in text if _GRAM.match(ch)]
        grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
        vector = np.zeros(DIM, dtype=np.float32)
        for gram in grams:
            digest = zlib.crc32(gram.encode("utf-8"))  # stable across runs, unlike hash()
            vector[digest % DIM] += 1.0 if digest >> 31 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0], norm = 1.0, 1.0  # a text without words still gets a valid unit vector
        return vector / norm


class LengthEmbedder:
    """Another model of the same dimension: its index must not be read with the real one or the HashEmbedder.

    Only the name matters to the tests (it goes into the manifest); pass the one a test expects
    (tests/integration/test_ingest.py uses the default, the e2e `fake_embedder` fixture its own).
    """

    def __init__(self, name: str = "test/other-384") -> None:
        self.name = name

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Unit vectors that depend only on the text length."""
        vectors = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            vectors[row, len(text) % DIM] = 1.0
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query."""
        return self.embed_documents([text])[0]


class BigramEmbedder:
    """Hashed character bigrams plus one shared component, L2-normalised (ingest.embed.Embedder).

    The shared component keeps every cosine at or above 0.8, the similarity floor of
    bot.support (tuned for e5); key-term coverage then decides support, as it does with e5.
    Whitespace is dropped before pairing. The LLM-mode tests (tests/e2e/test_llm_server.py,
    test_llm_api.py) use this one.
    """

    name = "test/bigram-384"
    shared = 2.0  # weight of the component every vector shares: cosines >= shared² / (shared² + 1)
    drop_whitespace = True

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384)."""
        return np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape (384,)."""
        chars = "".join(text.split()) if self.drop_whitespace else text
        vector = np.zeros(DIM, np.float32)
        for pair in pairwise(chars):
            vector[1 + zlib.crc32("".join(pair).encode()) % (DIM - 1)] += 1.0
        norm = float(np.linalg.norm(vector))
        vector = vector / norm if norm else vector
        vector[0] = self.shared
        return (vector / np.linalg.norm(vector)).astype(np.float32)


class MessengerBigramEmbedder(BigramEmbedder):
    """Fast, deterministic stand-in for e5: hashed character bigrams plus a constant component.

    The constant keeps every cosine at or above ~0.83, like e5's, so the core's similarity floor
    passes and refusals are decided by key-term coverage, as they are with the real model.
    Unlike `BigramEmbedder`, whitespace and line breaks stay in the bigrams and the constant is
    2.2, not 2.0: the Telegram and DingTalk tests (tests/e2e/test_telegram.py, test_dingtalk.py)
    were written against this variant.
    """

    name = "test/hashed-bigrams-384"
    shared = 2.2
    drop_whitespace = False
