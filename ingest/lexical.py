"""Lexical side of the index: Chinese-aware tokens and a persisted bm25s index."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import bm25s
import numpy as np

from ingest.hanzi import simplified

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself and chats on every build

# Character unigrams + bigrams of CJK runs beat word segmentation on short school questions:
# a question's "课表" must meet the clause's "课表的安排" even where a segmenter splits differently.
_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z]+|\d+")


def tokenize(text: str) -> list[str]:
    """Character unigrams and bigrams for Chinese (traditional characters as simplified), lower-cased
    words and numbers otherwise."""
    tokens: list[str] = []
    for run in _RUN.findall(simplified(text)):
        if run[0].isascii():
            tokens.append(run.lower())
            continue
        tokens.extend(run)
        tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
    return tokens


class LexicalIndex:
    """BM25 over clause texts, aligned with a list of clause ids."""

    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts (row i of the index is texts[i])."""
        model = bm25s.BM25()
        model.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(model)

    def save(self, directory: Path) -> None:
        """Persist next to the generation's clauses."""
        self._model.save(str(directory))

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Load a saved index."""
        return cls(bm25s.BM25.load(str(directory)))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for a query (unknown tokens count for nothing)."""
        tokens = tokenize(query)
        if not tokens:
            return np.zeros(self._model.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens))
