"""bot.evaluate: metric arithmetic on hand-made outcomes, ranking, hits, question-set parsing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Answer
from bot.evaluate import GoldQuestion, Outcome, Report, _percentile, evaluate, first_hit, load_gold, ranked_clauses
from bot.retrieve import Hit, Retrieval
from bot.service import AskResult
from ingest.errors import InvalidRequestError
from ingest.model import Clause, Source

METRIC_KEYS = ["hit@1", "hit@5", "mrr@10", "answered_first", "useful_first", "owner_accuracy", "refusal_recall",
               "false_refusal_rate", "confident_error_rate", "n", "latency_ms_p50", "latency_ms_p95"]


def clause(cid: str, text: str, owner: str | None = None) -> Clause:
    return Clause(id=cid, doc_id="doc", document="测试文档", section=("一、总则",), owner=owner, contact=None,
                  label=None, text=text, source=Source("doc.md", 1, 1), position=0)


def hit(c: Clause, score: float = 1.0) -> Hit:
    return Hit(clause=c, score=score, dense=score, lexical=score)


def gold(kind: str, owner: str | None = None, any_of: tuple[str, ...] = (), qid: str = "q") -> GoldQuestion:
    return GoldQuestion(id=qid, question="问题？", kind=kind, owner=owner, any_of=any_of)


def outcome(kind: str, rank: int | None = None, refused: bool = False, owner: str | None = None,
            expected_owner: str | None = None, ms: float = 10.0, related: bool = False) -> Outcome:
    status = "related" if related else "refused" if refused else "answered"
    return Outcome(gold(kind, expected_owner), rank, status != "answered", owner, ms, status=status,
                   first_cited=rank == 1 and status != "refused")


# -- Report.metrics -------------------------------------------------------------------------------
def test_metrics_on_a_mixed_set() -> None:
    report = Report([
        outcome("owner", rank=1, owner="信息中心", expected_owner="信息中心", ms=10),
        outcome("owner", rank=3, owner="后勤保障处", expected_owner="信息中心", ms=20),
        outcome("fact", rank=None, refused=True, ms=30),
        outcome("duties", rank=12, owner="门卫", ms=40),
        outcome("fact", rank=5, ms=50),
        outcome("refuse", refused=True, ms=60),
        outcome("refuse", refused=False, ms=70),
    ])
    metrics = report.metrics()
    assert list(metrics) == METRIC_KEYS
    assert metrics["n"] == 7
    assert metrics["hit@1"] == pytest.approx(1 / 5)
    assert metrics["hit@5"] == pytest.approx(3 / 5)  # ranks 1, 3, 5 (not None, not 12)
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3 + 0 + 0 + 1 / 5) / 5, abs=1e-4)
    assert metrics["owner_accuracy"] == pytest.approx(1 / 2)
    assert metrics["refusal_recall"] == pytest.approx(1 / 2)
    assert metrics["false_refusal_rate"] == pytest.approx(1 / 5)
    assert metrics["latency_ms_p50"] == 40  # nearest rank: ceil(0.50 * 7) = 4th
    assert metrics["latency_ms_p95"] == 70  # ceil(0.95 * 7) = 7th


def test_answered_useful_and_confident_error_follow_the_status() -> None:
    report = Report([
        outcome("fact", rank=1),  # answered, right first citation
        outcome("fact", rank=2),  # answered, wrong first citation: a confident error
        outcome("fact", rank=1, related=True),  # related with the right clause first: useful, not answered
        outcome("fact", rank=1, refused=True),  # refused: no citations, useful to nobody
        outcome("refuse", related=True),  # unanswerable shown as related: not answered, so recalled
        outcome("refuse"),  # unanswerable but answered: a confident error
    ])
    metrics = report.metrics()
    assert metrics["answered_first"] == pytest.approx(1 / 4)
    assert metrics["useful_first"] == pytest.approx(2 / 4)
    assert metrics["refusal_recall"] == pytest.approx(1 / 2)
    assert metrics["false_refusal_rate"] == pytest.approx(2 / 4)
    assert metrics["confident_error_rate"] == pytest.approx(2 / 3, abs=1e-4)


def test_metrics_are_json_numbers() -> None:
    metrics = Report([outcome("fact", rank=2, ms=12.3456), outcome("refuse", refused=True, ms=1.0)]).metrics()
    assert json.loads(json.dumps(metrics)) == metrics
    assert metrics["hit@1"] == 0.0 and metrics["hit@5"] == 1.0 and metrics["mrr@10"] == 0.5
    assert type(metrics["n"]) is int


def test_rank_ten_counts_for_mrr_and_eleven_does_not() -> None:
    assert Report([outcome("fact", rank=10)]).metrics()["mrr@10"] == pytest.approx(0.1)
    assert Report([outcome("fact", rank=11)]).metrics()["mrr@10"] == 0.0
    assert Report([outcome("fact", rank=5)]).metrics()["hit@5"] == 1.0
    assert Report([outcome("fact", rank=6)]).metrics()["hit@5"] == 0.0


def test_owner_accuracy_is_containment() -> None:
    def accuracy(answered: str | None, expected: str | None) -> float | None:
        return Report([outcome("owner", rank=1, owner=answered, expected_owner=expected)]).metrics()["owner_accuracy"]

    assert accuracy("校长办公室", "办公室") == 1.0  # the answer's owner contains the expected one
    assert accuracy("办公室", "校长办公室") == 0.0
    assert accuracy(None, "办公室") == 0.0
    assert accuracy("办公室", None) == 0.0


def test_only_refuse_questions_leave_answerable_metrics_null() -> None:
    metrics = Report([outcome("refuse", refused=True), outcome("refuse", refused=True)]).metrics()
    for key in ("hit@1", "hit@5", "mrr@10", "owner_accuracy", "false_refusal_rate"):
        assert metrics[key] is None, key
    assert metrics["refusal_recall"] == 1.0 and metrics["n"] == 2


def test_no_refuse_or_owner_questions_leave_those_null() -> None:
    metrics = Report([outcome("fact", rank=1), outcome("duties", rank=2)]).metrics()
    assert metrics["refusal_recall"] is None
    assert metrics["owner_accuracy"] is None
    assert metrics["false_refusal_rate"] == 0.0 and metrics["hit@1"] == 0.5


def test_empty_report_is_all_null() -> None:
    metrics = Report().metrics()
    assert list(metrics) == METRIC_KEYS
    assert metrics["n"] == 0
    assert all(metrics[key] is None for key in METRIC_KEYS if key != "n")


def test_refusal_of_an_answerable_question_counts_against_it() -> None:
    metrics = Report([outcome("fact", rank=None, refused=True), outcome("fact", rank=1)]).metrics()
    assert metrics["false_refusal_rate"] == 0.5
    assert metrics["hit@1"] == 0.5


# -- percentile -------------------------------------------------------------------------------------
def test_percentile_single_and_extremes() -> None:
    assert _percentile([7.0], 50) == 7.0 and _percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(1, 8)]
    assert _percentile(values, 100) == 7.0
    assert _percentile(values, 1) == 1.0
    assert _percentile(values, 50) == 4.0
    assert _percentile([1.0, 2.0, 3.0], 50) == 2.0


@pytest.mark.parametrize(("values", "percent", "expected"), [
    (list(range(1, 11)), 50, 5),   # ceil(5) = 5th value
    (list(range(1, 21)), 95, 19),  # ceil(19) = 19th value, not the 20th
    ([1, 2], 50, 1),               # ceil(1) = 1st value
])
def test_percentile_is_nearest_rank_on_exact_ranks(values: list[int], percent: float, expected: int) -> None:
    assert _percentile([float(v) for v in values], percent) == expected


# -- first_hit / ranked_clauses -----------------------------------------------------------------------
def test_first_hit_is_whitespace_insensitive_and_one_based() -> None:
    clauses = [clause("a", "负责 校舍维修"), clause("b", "负责教职工邮箱\n账号的开通"), clause("c", "邮箱账号")]
    assert first_hit(clauses, ("邮箱 账号",)) == 2
    assert first_hit(clauses, ("校舍\u3000维修",)) == 1
    assert first_hit(clauses, ("不存在", "邮箱账号的开通")) == 2  # any of the strings
    assert first_hit(clauses, ("不存在",)) is None


def test_first_hit_ignores_empty_expectations() -> None:
    clauses = [clause("a", "任何文字")]
    assert first_hit(clauses, ()) is None
    assert first_hit(clauses, ("", "  ", "\n")) is None
    assert first_hit([], ("任何",)) is None


def test_ranked_clauses_are_citations_then_the_rest_of_retrieval() -> None:
    a, b, c, d = (clause(x, f"条款{x}") for x in "abcd")
    retrieval = Retrieval(question="问题？", hits=[hit(a, 0.9), hit(b, 0.8), hit(c, 0.7), hit(d, 0.6)])
    answer = Answer(text="「条款c」[1]「条款a」[2]", citations=[hit(c), hit(a)])
    result = AskResult(answer, retrieval, 1.0, 1.0)
    assert [x.id for x in ranked_clauses(result)] == ["c", "a", "b", "d"]


def test_ranked_clauses_of_a_refusal_is_the_retrieval_ranking() -> None:
    a, b = clause("a", "甲"), clause("b", "乙")
    result = AskResult(Answer(text="抱歉", status="refused"), Retrieval("问题？", [hit(b), hit(a)]), 1.0, 1.0)
    assert [x.id for x in ranked_clauses(result)] == ["b", "a"]


def test_a_cited_clause_outside_the_retrieval_still_ranks() -> None:
    a, b, extra = clause("a", "甲"), clause("b", "乙"), clause("x", "职责清单里的条款")
    result = AskResult(Answer(text="「职责清单里的条款」[1]", citations=[hit(extra, 0.0)]),
                       Retrieval("问题？", [hit(a), hit(b)]), 1.0, 1.0)
    assert [x.id for x in ranked_clauses(result)] == ["x", "a", "b"]
    assert first_hit(ranked_clauses(result), ("乙",)) == 3


# -- evaluate --------------------------------------------------------------------------------------------
class ScriptedDesk:
    """Answers each question from a script and records what it was asked."""

    def __init__(self, script: dict[str, AskResult]) -> None:
        self.script = script
        self.asked: list[str] = []

    def ask(self, question: str, top_k: int | None = None) -> AskResult:
        self.asked.append(question)
        return self.script[question]


def test_evaluate_warms_up_then_records_each_outcome() -> None:
    duty = clause("d1", "负责校园网络的运行维护", owner="信息中心")
    other = clause("o1", "负责校舍维修", owner="后勤保障处")
    answered = AskResult(Answer(text="「负责校园网络的运行维护」[1]", citations=[hit(duty)], owner="信息中心"),
                         Retrieval("网络", [hit(other), hit(duty)]), 1.0, 1.0)
    refused = AskResult(Answer(text="抱歉", status="refused"), Retrieval("运动会", [hit(other)]), 1.0, 1.0)
    desk = ScriptedDesk({"谁负责网络？": answered, "运动会几号？": refused, "校舍谁修？": answered})
    questions = [
        GoldQuestion("1", "谁负责网络？", "owner", "信息中心", ("运行 维护",)),
        GoldQuestion("2", "运动会几号？", "refuse", None, ()),
        GoldQuestion("3", "校舍谁修？", "fact", None, ("校舍维修",)),
    ]
    report = evaluate(desk, questions)  # type: ignore[arg-type]
    assert desk.asked == ["谁负责网络？", "谁负责网络？", "运动会几号？", "校舍谁修？"]  # one warm-up
    assert [(o.gold.id, o.rank, o.refused, o.owner) for o in report.outcomes] == [
        ("1", 1, False, "信息中心"), ("2", None, True, None), ("3", 2, False, "信息中心")]
    assert all(o.milliseconds >= 0 for o in report.outcomes)
    metrics = report.metrics()
    assert metrics["hit@1"] == 0.5 and metrics["mrr@10"] == 0.75 and metrics["refusal_recall"] == 1.0


def test_evaluate_nothing_asks_nothing() -> None:
    desk = ScriptedDesk({})
    assert evaluate(desk, []).outcomes == []  # type: ignore[arg-type]
    assert desk.asked == []


# -- load_gold ---------------------------------------------------------------------------------------------
def write(tmp_path: Path, *lines: Any) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines),
                    encoding="utf-8")
    return path


def test_load_gold_reads_every_kind_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path,
                 {"id": 1, "question": "谁负责网络？", "kind": "owner", "owner": "信息中心", "any_of": ["网络"]},
                 "", "   ",
                 {"id": "f", "question": "几点签到？", "kind": "fact", "any_of": ["7:30", "七点半"]},
                 {"id": "d", "question": "门卫职责？", "kind": "duties", "owner": "门卫", "any_of": []},
                 {"id": "r", "question": "运动会？", "kind": "refuse", "owner": None})
    questions = load_gold(path)
    assert questions == [
        GoldQuestion("1", "谁负责网络？", "owner", "信息中心", ("网络",)),
        GoldQuestion("f", "几点签到？", "fact", None, ("7:30", "七点半")),
        GoldQuestion("d", "门卫职责？", "duties", "门卫", ()),
        GoldQuestion("r", "运动会？", "refuse", None, ()),
    ]


def test_load_gold_empty_file_is_an_empty_set(tmp_path: Path) -> None:
    assert load_gold(write(tmp_path, "")) == []


@pytest.mark.parametrize(("lines", "line_number"), [
    (["{not json"], 1),
    ([{"id": "1", "question": "x", "kind": "fact"}, "{\"id\": \"2\", "], 2),
    ([{"question": "x", "kind": "fact"}], 1),
    ([{"id": "1", "kind": "fact"}], 1),
    ([{"id": "1", "question": "x"}], 1),
    ([{"id": "1", "question": "x", "kind": "fact"}, "", {"id": "2", "question": "y", "kind": "answer"}], 3),
    (["[1, 2, 3]"], 1),
    (["\"一个字符串\""], 1),
    (["42"], 1),
    (["null"], 1),
])
def test_load_gold_errors_name_the_line(tmp_path: Path, lines: list[Any], line_number: int) -> None:
    path = write(tmp_path, *lines)
    with pytest.raises(InvalidRequestError) as caught:
        load_gold(path)
    assert f"{path}:{line_number}" in caught.value.message
    assert caught.value.status_code == 400


@pytest.mark.parametrize("case", ["missing", "gbk", "list kind"])
def test_load_gold_unreadable_files_are_invalid_requests(tmp_path: Path, case: str) -> None:
    path = tmp_path / "gold.jsonl"
    if case == "gbk":
        path.write_bytes(json.dumps({"id": "1", "question": "门卫职责", "kind": "fact"}, ensure_ascii=False)
                         .encode("gbk"))
    elif case == "list kind":
        path.write_text(json.dumps({"id": "1", "question": "x", "kind": ["fact"]}), encoding="utf-8")
    with pytest.raises(InvalidRequestError):
        load_gold(path)


def test_load_gold_any_of_string_is_not_split_into_characters(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": "1", "question": "谁负责网络？", "kind": "fact", "any_of": "校园网络"})
    try:
        questions = load_gold(path)
    except InvalidRequestError:
        return
    assert questions[0].any_of == ("校园网络",)
