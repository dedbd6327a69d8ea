"""The question log (bot/questions.py) and gap grouping (bot/gaps.py) on real SQLite files in tmp_path.

Concurrency is tested with real separate processes writing one data dir at once; retention with
explicit times (no sleeping).
"""
from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.gaps import GapFinder, normalize
from bot.questions import FILE_NAME, SALT_NAME, QuestionLog
from bot.service import DutyDesk
from ingest.errors import InvalidRequestError, NotFoundError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


def rows(log: QuestionLog) -> list[tuple[str, str]]:
    """(answer id, question) of every row physically in the file, retention filter or not."""
    with sqlite3.connect(log.path) as db:
        return db.execute("SELECT answer_id, question FROM asks ORDER BY asked_at").fetchall()


def test_an_ask_is_recorded_with_everything_the_office_needs(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, days=180)
    log.record("a1", "食堂师傅有哪些职责？", "related", ["c-1", "c-2"], "web", at=NOW)
    [ask] = log.asks()
    assert (ask.answer_id, ask.question, ask.status, ask.clause_ids, ask.front) == \
        ("a1", "食堂师傅有哪些职责？", "related", ["c-1", "c-2"], "web")
    assert ask.asked_at == datetime.fromtimestamp(NOW.timestamp(), UTC) and ask.helpful is None
    with pytest.raises(ValueError, match="front"):
        log.record("a2", "问题", "answered", [], "email")
    assert sqlite3.connect(log.path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_entries_older_than_the_configured_days_are_dropped(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, days=180)
    log.record("old", "半年前的问题", "refused", [], "api", at=NOW - timedelta(days=181))
    log.record("recent", "上个季度的问题", "refused", [], "api", at=NOW - timedelta(days=179))
    log.record("today", "今天的问题", "refused", [], "api")
    assert [a.answer_id for a in log.asks()] == ["recent", "today"]
    assert [r[0] for r in rows(log)] == ["recent", "today"]  # deleted from the file, not just hidden
    assert [a.answer_id for a in log.asks(now=NOW + timedelta(days=2))] == ["today"]
    with pytest.raises(NotFoundError):
        log.feedback("old", helpful=False)


def test_retention_days_come_from_the_settings(make_desk: Callable[..., DutyDesk], settings_factory) -> None:  # type: ignore[no-untyped-def]
    desk = make_desk(settings=settings_factory().model_copy(update={"question_log_days": 7}))
    assert desk.questions is not None and desk.questions.days == 7
    desk.questions.record("a", "八天前的问题", "refused", [], "cli", at=NOW - timedelta(days=8))
    desk.questions.record("b", "六天前的问题", "refused", [], "cli", at=NOW - timedelta(days=6))
    assert [a.question for a in desk.questions.asks()] == ["六天前的问题"]


def test_a_telegram_user_is_kept_only_as_a_salted_hash(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, days=180)
    log.record("a1", "问题一", "answered", [], "telegram", user="123456789")
    log.record("a2", "问题二", "answered", [], "telegram", user="123456789")
    log.record("a3", "问题三", "answered", [], "api")
    first, second, none = log.user_hashes()
    assert first == second and none is None and len(first or "") == 64
    salt = tmp_path / SALT_NAME
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600 and len(salt.read_text()) == 64
    assert b"123456789" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    other = QuestionLog(tmp_path / "other", days=180)  # another data dir: another salt, another hash
    other.record("a1", "问题一", "answered", [], "telegram", user="123456789")
    assert other.user_hashes()[0] != first
    again = QuestionLog(tmp_path, days=180)  # a restart keeps the salt: the same user, the same hash
    again.record("a4", "问题四", "answered", [], "telegram", user="123456789")
    assert again.user_hashes()[-1] == first


def test_feedback_is_kept_per_answer_and_checked(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, days=180)
    log.record("a1", "问题", "answered", [], "api")
    log.feedback("a1", helpful=True)
    log.feedback("a1", helpful=False, comment="说的不是我问的")  # a second press replaces the first
    [ask] = log.asks()
    assert ask.helpful is False and ask.comment == "说的不是我问的"
    with pytest.raises(NotFoundError):
        log.feedback("no-such-answer", helpful=True)
    with pytest.raises(InvalidRequestError, match="留言过长"):
        log.feedback("a1", helpful=True, comment="长" * 1001)


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from bot.questions import QuestionLog
    data, front, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    log = QuestionLog(data, days=180)
    while not go.exists():
        time.sleep(0.001)
    for i in range(n):
        log.record(f"{front}-{i}", f"{front} 的第 {i} 个问题", "refused", ["c-1"], front,
                   user="42" if front == "telegram" else None)
        if i % 10 == 0:
            log.asks()  # readers interleave with the other processes' writes
""")


def test_separate_processes_write_one_log_at_once(tmp_path: Path) -> None:
    """Two serve workers and the Telegram bot: three processes, started together, lose nothing."""
    go, n = tmp_path / "go", 150
    processes = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "data"), front, str(n), str(go)],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)
                 for front in ("api", "web", "telegram")]
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    asks = QuestionLog(tmp_path / "data", days=180).asks()
    assert len(asks) == 3 * n == len({a.answer_id for a in asks})
    assert {front: sum(a.front == front for a in asks) for front in ("api", "web", "telegram")} == \
        {"api": n, "web": n, "telegram": n}
    assert (tmp_path / "data" / SALT_NAME).exists()


def test_threads_of_one_process_share_the_log_and_lose_nothing(tmp_path: Path) -> None:
    """Server worker threads write, give feedback and read at once through the one kept connection."""
    log, n = QuestionLog(tmp_path, days=180), 60
    failures: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(n):
                log.record(f"t{k}-{i}", f"线程{k}的第{i}个问题", "answered", [f"c-{i}"], "api")
                log.feedback(f"t{k}-{i}", helpful=bool(i % 2))
                assert any(a.answer_id == f"t{k}-{i}" for a in log.asks())
        except BaseException as exc:  # noqa: BLE001 (re-raised in the main thread below)
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    asks = log.asks()
    assert len(asks) == 8 * n == len({a.answer_id for a in asks})
    assert sum(bool(a.helpful) for a in asks) == 8 * (n // 2)


def test_the_log_survives_a_restart(tmp_path: Path) -> None:
    QuestionLog(tmp_path, days=180).record("a1", "重启前的问题", "refused", [], "api")
    QuestionLog(tmp_path, days=180).set_state("gap-1", "known_gap")
    reopened = QuestionLog(tmp_path, days=180)
    assert [a.question for a in reopened.asks()] == ["重启前的问题"]
    assert reopened.states()["gap-1"][0] == "known_gap"


# -- the desk records, once, what front ends ask ----------------------------------------------------
ROLES = {"岗位.txt": "学校岗位职责\n\n炊事员岗位职责\n1．按时开饭，保证饭菜卫生。\n2．注意食品的新鲜。\n"}


def test_the_desk_records_front_end_questions_only(make_desk: Callable[..., DutyDesk]) -> None:
    desk = make_desk(ROLES)
    assert not desk.ingest().failed
    evaluated = desk.ask("炊事员有哪些职责？")  # the eval and other internal callers name no front end
    asked = desk.ask("  炊事员有哪些职责？ ", front="cli")
    cached = desk.ask("炊事员有哪些职责？", front="telegram", user="7")  # a cache hit is an ask too
    streamed = desk.prepare("火星上有食堂吗", front="web")
    assert desk.questions is not None
    logged = desk.questions.asks()
    assert [(a.answer_id, a.front, a.question) for a in logged] == [
        (asked.id, "cli", "炊事员有哪些职责？"), (cached.id, "telegram", "炊事员有哪些职责？"),
        (streamed.id, "web", "火星上有食堂吗")]
    assert evaluated.id not in {a.answer_id for a in logged}
    assert logged[0].status == "answered" and logged[0].clause_ids[0] == asked.answer.citations[0].clause.id
    assert logged[2].status == streamed.answer.status != "answered"


def test_with_the_log_off_nothing_is_recorded(make_desk: Callable[..., DutyDesk], settings_factory) -> None:  # type: ignore[no-untyped-def]
    desk = make_desk(ROLES, settings=settings_factory().model_copy(update={"question_log": False}))
    assert not desk.ingest().failed
    result = desk.ask("炊事员有哪些职责？", front="api")
    assert desk.questions is None and not (desk.settings.data_dir / FILE_NAME).exists()
    with pytest.raises(NotFoundError):
        desk.feedback(result.id, helpful=True)
    assert desk.gaps() == []


# -- grouping ---------------------------------------------------------------------------------------
def test_normalisation_ignores_width_script_punctuation_and_spaces() -> None:
    assert normalize("大厨要做哪些工作？") == normalize("大廚 要做哪些工作 ?") == normalize("大厨要做哪些工作")
    assert normalize("ＷＩＦＩ密码找谁？") == normalize("wifi 密码找谁") == "wifi密码找谁"
    assert normalize("谁管校服") != normalize("校服归谁管")


def _log_with(tmp_path: Path, questions: list[tuple[str, str]]) -> QuestionLog:
    log = QuestionLog(tmp_path, days=180)
    for n, (text, status) in enumerate(questions):
        log.record(f"a{n}", text, status, [f"c-{n % 2}"], "api", at=NOW - timedelta(minutes=len(questions) - n))
    return log


def test_gaps_group_variants_count_them_and_keep_their_id(tmp_path: Path) -> None:
    orthogonal = GapFinder(lambda text: _one_hot(text))  # no two texts are similar: text grouping only
    log = _log_with(tmp_path, [("大厨要做哪些工作", "refused"), ("谁负责校服", "answered"),
                               ("大廚要做哪些工作？", "refused"), ("校服多少钱", "related"),
                               ("大厨 要做哪些工作", "related")])
    first = orthogonal.find(log.asks(), log.states())
    assert [(g.question, g.count) for g in first] == [("大厨要做哪些工作", 3), ("校服多少钱", 1)]
    cook = first[0]
    assert cook.variants == ["大厨要做哪些工作", "大廚要做哪些工作？", "大厨 要做哪些工作"]
    assert cook.status == "related" and cook.nearest == ["c-0"] and cook.state == "open"
    log.feedback("a1", helpful=False, comment="没说清楚")  # answered, but unhelpful: a gap too
    log.record("a9", "大厨要做哪些工作?", "refused", ["c-1"], "web")
    again = orthogonal.find(log.asks(), log.states())
    assert again[0].id == cook.id and again[0].count == 4 and again[0].nearest == ["c-0", "c-1"]
    [school_uniform] = [g for g in again if g.question == "谁负责校服"]
    assert (school_uniform.unhelpful, school_uniform.status, school_uniform.comments) == (1, "answered", ["没说清楚"])


def test_similar_embeddings_join_one_gap(tmp_path: Path) -> None:
    vectors = {normalize("宿管几点查寝"): [1.0, 0.2], normalize("宿管阿姨晚上几点查房"): [1.0, 0.0],
               normalize("门卫几点锁门"): [0.0, 1.0]}
    finder = GapFinder(lambda text: vectors[text], threshold=0.945)  # cos([1, .2], [1, 0]) = 0.98
    log = _log_with(tmp_path, [("宿管阿姨晚上几点查房", "related"), ("门卫几点锁门", "refused"),
                               ("宿管几点查寝", "refused"), ("宿管几点查寝", "refused")])
    gaps = finder.find(log.asks(), log.states())
    assert [(g.question, g.variants, g.count) for g in gaps] == [
        ("宿管几点查寝", ["宿管几点查寝", "宿管阿姨晚上几点查房"], 3), ("门卫几点锁门", ["门卫几点锁门"], 1)]


def test_a_resolved_gap_missed_again_is_open_again(tmp_path: Path) -> None:
    log = _log_with(tmp_path, [("大厨要做哪些工作", "refused")])
    finder = GapFinder(_one_hot)
    [gap] = finder.find(log.asks(), log.states())
    log.set_state(gap.id, "resolved")
    assert finder.find(log.asks(), log.states())[0].state == "resolved"
    log.record("later", "大厨要做哪些工作", "refused", [], "api", at=datetime.now(UTC) + timedelta(seconds=1))
    assert finder.find(log.asks(), log.states())[0].state == "open"
    log.set_state(gap.id, "known_gap")
    log.record("later2", "大厨要做哪些工作", "refused", [], "api", at=datetime.now(UTC) + timedelta(seconds=2))
    assert finder.find(log.asks(), log.states())[0].state == "known_gap"  # known: stays known
    with pytest.raises(InvalidRequestError):
        log.set_state(gap.id, "done")


_SEEN: dict[str, int] = {}


def _one_hot(text: str) -> list[float]:
    """A vector orthogonal to every other text's: no two texts are similar."""
    vector = [0.0] * 256
    vector[_SEEN.setdefault(text, len(_SEEN))] = 1.0
    return vector
