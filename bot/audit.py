"""The verification audit log: who checked what, when, and with what result (append-only JSONL)."""
from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.model import sha256_text
from ingest.versions import append_lines

log = logging.getLogger(__name__)


class AuditLog:
    """`audit.jsonl` in the data dir; the quote itself is not stored, only its hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, quote: str, citation_id: str | None, verified: bool, stale: bool) -> None:
        """Append one verification."""
        self._append({"at": _now(), "quote_sha256": sha256_text(quote), "citation_id": citation_id,
                      "verified": verified, "stale": stale})

    def record_batch(self, text: str, statuses: list[str], checked: int) -> None:
        """Append one line for a whole pasted answer: its parts' verdicts counted, `checked` distinct quotes.

        The five fields of a single verification keep their meaning (the hash is of the pasted text;
        verified = every part verified; stale = some part stale), so older readers still understand it.
        """
        self._append({"at": _now(), "quote_sha256": sha256_text(text), "citation_id": None,
                      "verified": bool(statuses) and all(s == "verified" for s in statuses),
                      "stale": "stale" in statuses, "kind": "batch", "parts": len(statuses), "checked": checked,
                      "verified_count": statuses.count("verified"), "stale_count": statuses.count("stale")})

    def _append(self, row: dict[str, Any]) -> None:
        """One JSON line, written whole under the lock (or not at all: a full disk loses it, not the answer)."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                append_lines(self.path, [json.dumps(row, ensure_ascii=False)], sync=False)
            except OSError as exc:  # the verdict the user asked for matters more than its log line
                log.warning("audit log %s not written: %s", self.path, exc.strerror or exc)

    def recent(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest entries, newest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return rows[::-1][:limit]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
