"""The query combiner: concurrent questions share one engine call; each caller gets its own vector."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ingest.combine import Combiner


class SlowEngine:
    """A predictable engine: the vector of a text is [len(text), first char code]; each call takes 50 ms."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError("engine failed")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def test_a_lone_question_runs_at_once_on_its_own() -> None:
    engine = SlowEngine()
    combine = Combiner(engine, threading.BoundedSemaphore(2))
    assert combine("图书").tolist() == [2.0, float(ord("图"))]
    assert engine.calls == [["图书"]]


def test_questions_waiting_for_a_core_share_a_call_and_each_gets_its_own_vector() -> None:
    engine = SlowEngine()
    combine = Combiner(engine, threading.BoundedSemaphore(1), limit=4)
    texts = [chr(0x4E00 + n) * (n + 1) for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        vectors = list(pool.map(combine, texts))
    assert [v.tolist() for v in vectors] == [[len(t), ord(t[0])] for t in texts]
    assert sorted(t for call in engine.calls for t in call) == sorted(texts)  # each embedded exactly once
    assert len(engine.calls) < len(texts) and max(len(call) for call in engine.calls) <= 4


def test_a_failed_call_raises_in_every_thread_whose_question_it_held() -> None:
    engine = SlowEngine(fail_on="坏")
    combine = Combiner(engine, threading.BoundedSemaphore(1), limit=8)
    blocker = threading.Thread(target=combine, args=("先",))
    blocker.start()  # holds the only core for 50 ms while the rest queue up behind it
    time.sleep(0.01)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(combine, text) for text in ("坏", "好", "中")]
        time.sleep(0.01)
    blocker.join()
    errors = [f.exception() for f in futures]
    batched_with_bad = next(call for call in engine.calls if "坏" in call)
    for text, error in zip(("坏", "好", "中"), errors, strict=True):
        assert (error is not None) == (text in batched_with_bad)
    with pytest.raises(RuntimeError):
        combine("坏")
