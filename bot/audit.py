"""The verification audit log: who checked what, when, and with what result (append-only JSONL)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ingest.model import sha256_text


class AuditLog:
    """`audit.jsonl` in the data dir; the quote itself is not stored, only its hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, quote: str, citation_id: str | None, verified: bool, stale: bool) -> None:
        """Append one verification."""
        row = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quote_sha256": sha256_text(quote),
               "citation_id": citation_id, "verified": verified, "stale": stale}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def recent(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest entries, newest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return rows[::-1][:limit]
