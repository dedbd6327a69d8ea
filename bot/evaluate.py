"""`dutydesk eval`: retrieval and answer metrics for a question set (format in evals/README.md)."""
from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.service import AskResult, DutyDesk
from ingest.errors import InvalidRequestError
from ingest.model import Clause

_KINDS = {"owner", "fact", "duties", "refuse"}


@dataclass(frozen=True)
class GoldQuestion:
    """One line of a question set."""

    id: str
    question: str
    kind: str
    owner: str | None = None
    any_of: tuple[str, ...] = ()
    split: str | None = None  # "tune" or "blind" in the staff-wording sets (evals/README.md)


@dataclass
class Outcome:
    """How one question fared."""

    gold: GoldQuestion
    rank: int | None  # 1-based position of the first hitting clause, None if none in the list
    refused: bool
    owner: str | None
    milliseconds: float
    mode: str = "extractive"
    cited_in_context: bool = True  # every citation is a clause the retrieval handed to the answerer
    status: str = "answered"
    first_cited: bool = False  # the answer's first citation contains an expected string


@dataclass
class Report:
    """All outcomes and the metrics over them."""

    outcomes: list[Outcome] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        """The metric object of `dutydesk eval` (evals/README.md) (null where a metric has no questions)."""
        answerable = [o for o in self.outcomes if o.gold.kind != "refuse"]
        owners = [o for o in self.outcomes if o.gold.kind == "owner"]
        refuse = [o for o in self.outcomes if o.gold.kind == "refuse"]
        answered = [o for o in self.outcomes if o.status == "answered"]
        latencies = sorted(o.milliseconds for o in self.outcomes)
        return {
            "hit@1": _share(answerable, lambda o: o.rank is not None and o.rank <= 1),
            "hit@5": _share(answerable, lambda o: o.rank is not None and o.rank <= 5),
            "mrr@10": _mean(answerable, lambda o: 1.0 / o.rank if o.rank is not None and o.rank <= 10 else 0.0),
            "answered_first": _share(answerable, lambda o: o.status == "answered" and o.first_cited),
            "useful_first": _share(answerable, lambda o: o.status in ("answered", "related") and o.first_cited),
            "owner_accuracy": _share(owners, lambda o: o.status == "answered" and _owner_right(o)),
            "refusal_recall": _share(refuse, lambda o: o.status != "answered"),
            "false_refusal_rate": _share(answerable, lambda o: o.status != "answered"),
            "confident_error_rate": _share(answered, lambda o: o.gold.kind == "refuse" or not o.first_cited),
            "n": len(self.outcomes),
            "latency_ms_p50": round(_percentile(latencies, 50), 2) if latencies else None,
            "latency_ms_p95": round(_percentile(latencies, 95), 2) if latencies else None,
        }


def _owner_right(outcome: Outcome) -> bool:
    """The answer's owner contains the expected one (school prefixes and all: "XX中学门卫" ⊇ "门卫")."""
    expected = outcome.gold.owner
    return bool(outcome.owner and expected and squash(expected) in squash(outcome.owner))


def llm_figures(report: Report) -> dict[str, float | int] | None:
    """In LLM mode: how often the model's answer was used, and the share of answers whose citations
    all resolve to clauses that were in its context (1.0 by construction; counted to prove it)."""
    llm = [o for o in report.outcomes if o.mode in ("llm", "fallback")]
    if not llm:
        return None
    return {"llm_answers": sum(o.mode == "llm" for o in llm), "fallbacks": sum(o.mode == "fallback" for o in llm),
            "citations_in_context": round(sum(o.cited_in_context for o in llm if o.mode == "llm")
                                          / max(1, sum(o.mode == "llm" for o in llm)), 4)}


def _share(items: list[Outcome], test: Any) -> float | None:
    return round(sum(1 for o in items if test(o)) / len(items), 4) if items else None


def _mean(items: list[Outcome], value: Any) -> float | None:
    return round(statistics.fmean(value(o) for o in items), 4) if items else None


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values: the smallest value with percent% at or below it."""
    rank = math.ceil(percent / 100 * len(values))
    return values[max(0, min(len(values), rank) - 1)]


def load_gold(path: Path, split: str | None = None) -> list[GoldQuestion]:
    """Parse a question set (only one half of it, given `split`); a malformed line is reported clearly."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"无法读取题集 {path}：{exc}") from exc
    questions = [_gold_line(path, number, line) for number, line in enumerate(text.splitlines(), start=1)
                 if line.strip()]
    return [q for q in questions if split is None or q.split == split]


def _gold_line(path: Path, number: int, line: str) -> GoldQuestion:
    """One line of a question set, validated."""
    try:
        data = json.loads(line)
        any_of = data.get("any_of") or []
        if not isinstance(any_of, list) or not isinstance(data["kind"], str):
            raise TypeError("kind 须为字符串，any_of 须为字符串列表")
        gold = GoldQuestion(id=str(data["id"]), question=str(data["question"]), kind=data["kind"],
                            owner=data.get("owner"), any_of=tuple(str(s) for s in any_of),
                            split=data.get("split"))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidRequestError(f"{path}:{number}: 题目格式错误（{exc}）") from exc
    if gold.kind not in _KINDS:
        raise InvalidRequestError(f"{path}:{number}: 未知的题型 {gold.kind!r}")
    return gold


def squash(text: str) -> str:
    """Text with all whitespace removed (how any_of strings are compared)."""
    return "".join(text.split())


def ranked_clauses(result: AskResult) -> list[Clause]:
    """The answer's citations in order, then the rest of the retrieval ranking."""
    cited = [hit.clause for hit in result.answer.citations]
    seen = {c.id for c in cited}
    return cited + [hit.clause for hit in result.retrieval.hits if hit.clause.id not in seen]


def first_hit(clauses: list[Clause], any_of: tuple[str, ...]) -> int | None:
    """1-based rank of the first clause whose text contains any expected string."""
    wanted = [squash(s) for s in any_of if squash(s)]
    for rank, clause in enumerate(clauses, start=1):
        text = squash(clause.text)
        if any(w in text for w in wanted):
            return rank
    return None


def evaluate(desk: DutyDesk, questions: list[GoldQuestion]) -> Report:
    """Ask every question (after one warm-up) and record how each fared."""
    if questions:
        desk.ask(questions[0].question)  # warm: load the index and the model before timing
    report = Report()
    for gold in questions:
        started = time.perf_counter()
        result = desk.ask(gold.question)
        elapsed = (time.perf_counter() - started) * 1000
        rank = first_hit(ranked_clauses(result), gold.any_of) if gold.kind != "refuse" else None
        cited = [hit.clause for hit in result.answer.citations[:1]]
        first_cited = gold.kind != "refuse" and first_hit(cited, gold.any_of) == 1
        context = {hit.clause.id for hit in result.retrieval.hits}
        in_context = all(hit.clause.id in context for hit in result.answer.citations)
        report.outcomes.append(Outcome(gold, rank, result.answer.refused, result.answer.owner, elapsed,
                                       result.answer.mode, in_context, result.answer.status, first_cited))
    return report
