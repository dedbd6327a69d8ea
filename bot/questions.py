"""The question log: what staff asked, how it went, and their feedback (SQLite in the data dir).

One small SQLite file (`questions.sqlite3`, WAL mode) on the school's own server, shared by every
process that answers (serve workers, the Telegram bot, the CLI): WAL lets readers go on while one
writer writes, and the busy timeout makes concurrent writers wait their turn instead of failing.
A Telegram user is stored only as a salted hash; the salt (`question_log.salt`, mode 600) is made
once per data dir. Entries older than the retention period are dropped on every write.
The question text itself is never written to the application logs.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

from ingest.errors import InvalidRequestError, NotFoundError

FILE_NAME = "questions.sqlite3"
SALT_NAME = "question_log.salt"
FRONTS = ("api", "web", "telegram", "cli", "dingtalk")
State = Literal["open", "known_gap", "resolved"]
STATES: tuple[str, ...] = get_args(State)
MAX_COMMENT_CHARS = 1000
_BUSY_MS = 30_000  # a writer waits this long for another process's write to finish

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asks (
    answer_id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL,
    clause_ids TEXT NOT NULL,
    front TEXT NOT NULL,
    user_hash TEXT
);
CREATE INDEX IF NOT EXISTS asks_asked_at ON asks (asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY REFERENCES asks (answer_id) ON DELETE CASCADE,
    helpful INTEGER NOT NULL,
    comment TEXT,
    given_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS gap_states (
    gap_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    set_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Ask:
    """One logged question, with the feedback it got (None when none)."""

    answer_id: str
    asked_at: datetime
    question: str
    status: str
    clause_ids: list[str]
    front: str
    helpful: bool | None = None
    comment: str | None = None


class QuestionLog:
    """The log of one data dir, shared by the threads of a process (one connection) and by processes."""

    def __init__(self, data_dir: Path, days: int) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FILE_NAME
        self.days = days
        self._salt_bytes: bytes | None = None
        self._open: tuple[tuple[int, ...], sqlite3.Connection] | None = None  # see _connection
        self._lock = threading.Lock()  # one transaction at a time on the shared connection

    # -- writing ----------------------------------------------------------------------------
    def record(self, answer_id: str, question: str, status: str, clause_ids: list[str], front: str,
               user: str | None = None, at: datetime | None = None) -> None:
        """Log one answered question (and drop entries past the retention period)."""
        if front not in FRONTS:
            raise ValueError(f"unknown front end {front!r}")
        when = (at or _now()).timestamp()
        row = (answer_id, when, question, status, json.dumps(clause_ids), front, self._hash(user))
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO asks VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            db.execute("DELETE FROM asks WHERE asked_at < ?", (self._cutoff(None),))

    def feedback(self, answer_id: str, helpful: bool, comment: str | None = None) -> None:
        """Record (or replace) the feedback on one answer; NotFoundError for an id never logged."""
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise InvalidRequestError(f"留言过长：最多 {MAX_COMMENT_CHARS} 个字符")
        with self._connect() as db:
            if db.execute("SELECT 1 FROM asks WHERE answer_id = ?", (answer_id,)).fetchone() is None:
                raise NotFoundError("没有这条回答（编号不对，或记录已过保存期）")
            db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                       (answer_id, int(helpful), comment, _now().timestamp()))

    def set_state(self, gap_id: str, state: str, at: datetime | None = None) -> None:
        """Mark a gap open, a known gap, or resolved (kept in the data dir)."""
        if state not in STATES:
            raise InvalidRequestError(f"状态只能是 {' / '.join(STATES)}")
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO gap_states VALUES (?, ?, ?)",
                       (gap_id, state, (at or _now()).timestamp()))

    # -- reading ----------------------------------------------------------------------------
    def asks(self, now: datetime | None = None) -> list[Ask]:
        """Every logged question within the retention period, oldest first, with its feedback."""
        if not self.path.exists():
            return []
        query = ("SELECT a.answer_id, a.asked_at, a.question, a.status, a.clause_ids, a.front, f.helpful, f.comment "
                 "FROM asks a LEFT JOIN feedback f USING (answer_id) WHERE a.asked_at >= ? ORDER BY a.asked_at")
        with self._connect(write=False) as db:
            rows = db.execute(query, (self._cutoff(now),)).fetchall()
        return [Ask(r[0], _time(r[1]), r[2], r[3], json.loads(r[4]), r[5],
                    None if r[6] is None else bool(r[6]), r[7]) for r in rows]

    def states(self) -> dict[str, tuple[str, datetime]]:
        """{gap id: (state, when it was set)}."""
        if not self.path.exists():
            return {}
        with self._connect(write=False) as db:
            rows = db.execute("SELECT gap_id, state, set_at FROM gap_states").fetchall()
        return {gap_id: (state, _time(at)) for gap_id, state, at in rows}

    def user_hashes(self) -> list[str | None]:
        """The stored (salted, hashed) user of every entry, for checking what is kept."""
        with self._connect(write=False) as db:
            return [row[0] for row in db.execute("SELECT user_hash FROM asks ORDER BY asked_at")]

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (committed on success); the schema is made if the file is new."""
        with self._lock:
            with self._transaction(self._connection(), write) as db:
                yield db

    @contextmanager
    def _transaction(self, db: sqlite3.Connection, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction on `db`; on a database or disk error the connection is dropped."""
        # A writer takes the write lock up front (no read-to-write upgrade deadlock between processes);
        # a reader never waits for writers: WAL gives it the last committed state.
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except (sqlite3.Error, OSError):
            self._forget()  # a full or locked disk, a deleted file: start from a fresh connection next time
            raise

    def _connection(self) -> sqlite3.Connection:
        """The process's open connection to the file as it is now (call with the lock held).

        Opening one and setting it up cost about 0.8 ms of CPU, most of what logging a question cost
        (measured), so it is kept, and reopened only when the file is not the one it opened (the office
        may delete it to forget everything). One connection, not one per thread: each holds its own
        page cache, and 40 server threads' caches grew the server's memory by about 47 MB over 20,000
        questions (measured), while a write holds SQLite's one write lock anyway.
        """
        try:
            stat = os.stat(self.path)
            identity: tuple[int, ...] | None = (os.getpid(), stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            identity = None
        if self._open is not None and identity is not None and self._open[0] == identity:
            return self._open[1]
        self._forget()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        db = _open(self.path)
        stat = os.stat(self.path)
        self._open = ((os.getpid(), stat.st_dev, stat.st_ino), db)
        return db

    def _forget(self) -> None:
        """Close the kept connection, if any (call with the lock held)."""
        cached, self._open = self._open, None
        if cached is not None:
            cached[1].close()

    def _cutoff(self, now: datetime | None) -> float:
        return ((now or _now()) - timedelta(days=self.days)).timestamp()

    def _hash(self, user: str | None) -> str | None:
        """A salted hash of a user id: the same user gives the same hash here, nobody can reverse it."""
        if user is None:
            return None
        return hashlib.sha256(self._salt() + str(user).encode()).hexdigest()

    def _salt(self) -> bytes:
        """The data dir's random salt, created once with mode 600 (whoever links it first wins)."""
        if self._salt_bytes is None:
            path = self.data_dir / SALT_NAME
            if not path.exists():
                _create_salt(path)
            self._salt_bytes = path.read_bytes().strip()
        return self._salt_bytes


def _enter_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting for other processes doing the same on a new file.

    The busy timeout did not cover it once: three writers started together on a new log, and one failed
    here with "database is locked" (a loaded CI run); SQLite answers busy at once where waiting could
    deadlock, so the switch is retried until the same deadline."""
    deadline = time.monotonic() + _BUSY_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _open(path: Path) -> sqlite3.Connection:
    """A new connection in autocommit mode (transactions are explicit), in WAL, with the schema made."""
    db = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        _enter_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")  # WAL's advice: a power cut may lose the last entry, never corrupt
        db.executescript(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def _create_salt(path: Path) -> None:
    """Write a salt beside `path` and hard-link it into place: another process never sees it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        draft.unlink(missing_ok=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _time(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
