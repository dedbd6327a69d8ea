"""A calibrated probability that a clause answers a question, and the status it earns.

The coefficients are data (`answerability.json`), fitted by `benchmarks/fit_answerability.py` on the
tune half of the blind-written question sets; the thresholds were chosen on predictions for questions
the fitted model had not seen (grouped cross-fitting), so that confident answers are right ≥ 95 %.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.answering.features import NAMES

MODEL_PATH = Path(__file__).with_name("answerability.json")


@dataclass(frozen=True)
class Model:
    """Standardised logistic regression over some of the figures of features.NAMES, with two thresholds."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answered: float  # a probability at least this: the clause states the answer
    related: float  # at least this (below `answered`): show the closest clauses, claim nothing

    def probability(self, figures: list[float]) -> float:
        """P(the clause answers the question), from the figures (in features.NAMES order) it was fitted on."""
        used = [figures[NAMES.index(name)] for name in self.names]
        terms = zip(self.coef, used, self.mean, self.scale, strict=True)
        z = self.intercept + sum(c * (x - m) / s for c, x, m, s in terms)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def status(self, probability: float) -> str:
        """answered | related | refused for a probability."""
        if probability >= self.answered:
            return "answered"
        return "related" if probability >= self.related else "refused"


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> Model:
    """The shipped model (the figures it uses must be measured today: a stale file is an error, not a guess)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not set(data["names"]) <= set(NAMES):
        raise ValueError(f"{path} was fitted on other features: re-run benchmarks/fit_answerability.py")
    return Model(tuple(data["names"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]),
                 float(data["intercept"]), float(data["thresholds"]["answered"]), float(data["thresholds"]["related"]))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0,
        steps: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Logistic regression by Newton's method on standardised columns: (mean, scale, coef, intercept)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[1:], float(w[0])
