"""Merge the blind-written question files into one set per knowledge base, split by document section.

The split is fixed before any result is seen: a section's questions all go to one half, chosen by a
hash of (document, section), so no half is tuned on a sibling of a question it reports.
Usage: python evals/split.py OUT.jsonl IN.jsonl [IN.jsonl ...]
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def half(doc: str, section: str) -> str:
    """'tune' or 'blind' for a document section, by a stable hash."""
    digest = hashlib.sha256(f"{doc}|{''.join(section.split())}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "blind"


def first_party(owner: str | None) -> str | None:
    """An expected owner written as alternatives ("校长或训导处主任") expects the first one named;
    a 、 or 或 inside parentheses ("县（市、区）人民政府") is part of one name."""
    if not owner:
        return owner
    depth, cut = 0, len(owner)
    for i, ch in enumerate(owner):
        depth += 1 if ch in "（(" else -1 if ch in "）)" else 0
        if depth == 0 and ch in "、或":
            cut = i
            break
    return owner[:cut]


def main(out: str, sources: list[str]) -> None:
    """Write the merged, split set."""
    lines = []
    for source in sources:
        for line in Path(source).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                item["split"] = half(item["doc"], item["section"])
                item["owner"] = first_party(item.get("owner"))
                lines.append(json.dumps(item, ensure_ascii=False))
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
