"""Gaps: the questions staff could not get answered, near-duplicates grouped, most asked first.

A question is a gap when its answer was `related` or `refused`, or when the asker marked it unhelpful.
Near-duplicates are grouped twice: first by their normalised text (full-width/half-width, traditional/
simplified, punctuation and spaces do not count), then by the similarity of their embeddings with the
desk's own embedder. A group is named by its first-asked text, so its id stays the same while new
variants join it; the office's state for it ("open", "known_gap", "resolved") is kept by that id.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bot.questions import Ask
from ingest.hanzi import simplified

# Cosine similarity of two questions' e5 query vectors above which they are one gap. Measured with the
# bundled multilingual-e5-small on staff-style variants: rewordings of one question scored 0.948–0.992
# (宿管阿姨晚上几点查房 / 宿管几点查寝 0.951, 学校wifi密码找谁 / wifi密码问谁 0.948); different
# questions about the same subject 0.89–0.939 (门卫什么时候锁门 / 门卫的职责是什么 0.936, 宿管阿姨晚上
# 几点查房 / 宿管阿姨负责什么 0.939); unrelated questions 0.84–0.89.
SIMILAR = 0.945
MAX_VARIANTS = 20
MAX_NEAREST = 3
MAX_COMMENTS = 10
_NOT_WORD = re.compile(r"[\W_]+")
_VECTOR_MEMO_MAX = 10_000
CSV_COLUMNS = ("编号", "问题", "次数", "最近提问（UTC）", "状态", "没帮助", "处理状态", "最接近的条款",
               "其他说法", "留言")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


@dataclass
class Gap:
    """One group of unanswered (or unhelpful) questions."""

    id: str
    question: str
    variants: list[str]
    count: int
    last_asked: datetime
    status: str
    nearest: list[str]
    unhelpful: int
    state: str
    comments: list[str]


def normalize(text: str) -> str:
    """The text as compared: half-width (NFKC), lower case, simplified, without punctuation or spaces."""
    return _NOT_WORD.sub("", simplified(unicodedata.normalize("NFKC", text)).lower())


def is_gap(ask: Ask) -> bool:
    """Not answered, or answered but marked unhelpful."""
    return ask.status != "answered" or ask.helpful is False


def gap_id(key: str) -> str:
    """A stable id from the normalised text that names the group."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class GapFinder:
    """Groups logged questions into gaps, remembering question vectors between calls."""

    def __init__(self, embed: Callable[[str], np.ndarray], threshold: float = SIMILAR) -> None:
        self.embed, self.threshold = embed, threshold
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def find(self, asks: list[Ask], states: dict[str, tuple[str, datetime]]) -> list[Gap]:
        """The gaps among `asks` (oldest first), most asked first, then most recently asked."""
        by_text: dict[str, list[Ask]] = {}
        for ask in filter(is_gap, asks):
            by_text.setdefault(normalize(ask.question) or ask.question, []).append(ask)
        groups = self._cluster(list(by_text))
        gaps = [summarize(anchor, [a for key in keys for a in by_text[key]], states.get(gap_id(anchor)))
                for anchor, keys in groups.items()]
        return sorted(gaps, key=lambda g: (-g.count, -g.last_asked.timestamp()))

    def _cluster(self, keys: list[str]) -> dict[str, list[str]]:
        """{anchor: member keys}: each key (first asked first) joins the most similar anchor, or becomes one."""
        groups: dict[str, list[str]] = {}
        anchors: list[str] = []
        matrix = np.zeros((0, 0), np.float32)
        for key in keys:
            vector = self._vector(key)
            similarities = matrix @ vector if anchors else np.zeros(0)
            best = int(np.argmax(similarities)) if len(similarities) else -1
            if best >= 0 and similarities[best] >= self.threshold:
                groups[anchors[best]].append(key)
                continue
            anchors.append(key)
            groups[key] = [key]
            matrix = np.vstack([matrix.reshape(-1, vector.size), vector])
        return groups

    def _vector(self, key: str) -> np.ndarray:
        """The unit query vector of a normalised question (memoised: the log repeats itself)."""
        with self._lock:
            found = self._vectors.get(key)
        if found is not None:
            return found
        vector = np.asarray(self.embed(key), np.float32)
        vector = vector / (np.linalg.norm(vector) or 1.0)
        with self._lock:
            if len(self._vectors) >= _VECTOR_MEMO_MAX:
                self._vectors.clear()
            self._vectors[key] = vector
        return vector


def summarize(anchor: str, asks: list[Ask], state: tuple[str, datetime] | None) -> Gap:
    """One gap from its asks: variants most asked first, the latest status, the clauses most often nearest."""
    asks = sorted(asks, key=lambda a: a.asked_at)
    variants = [text for text, _ in Counter(a.question for a in asks).most_common(MAX_VARIANTS)]
    nearest = Counter(clause for a in asks for clause in a.clause_ids[:MAX_NEAREST])
    last = asks[-1]
    return Gap(id=gap_id(anchor), question=variants[0], variants=variants, count=len(asks),
               last_asked=last.asked_at, status=last.status,
               nearest=[clause for clause, _ in nearest.most_common(MAX_NEAREST)],
               unhelpful=sum(a.helpful is False for a in asks), state=current_state(state, last.asked_at),
               comments=[a.comment for a in reversed(asks) if a.comment][:MAX_COMMENTS])


def current_state(state: tuple[str, datetime] | None, last_asked: datetime) -> str:
    """The office's state; a resolved gap asked (and missed) again since it was resolved is open again."""
    if state is None:
        return "open"
    name, since = state
    return "open" if name == "resolved" and last_asked > since else name


def gaps_csv(gaps: list[Gap]) -> bytes:
    """The gaps as a spreadsheet: UTF-8 with a BOM (so Excel reads the Chinese), one row per gap."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for gap in gaps:
        writer.writerow([_cell(value) for value in (
            gap.id, gap.question, gap.count, gap.last_asked.strftime("%Y-%m-%d %H:%M:%S"), gap.status,
            gap.unhelpful, gap.state, " ".join(gap.nearest), " | ".join(gap.variants[1:]),
            " | ".join(gap.comments))])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    """Staff's text that starts like a formula is quoted, so the spreadsheet shows it instead of running it."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value
