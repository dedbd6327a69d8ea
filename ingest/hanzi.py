"""Traditional and simplified Chinese characters: one form for matching, the original for quoting.

A school in Hong Kong or Taiwan writes its rules in traditional characters (often Big5-encoded),
and staff ask in either form. Every rule that matches text (key terms, BM25 tokens, owner names,
"岗位职责" headings, "第X条" labels, boilerplate) sees `simplified(text)`; what is stored and quoted
stays verbatim. The mapping is one character for one character (OpenCC's table, which ships with
opencc-python-reimplemented), so a match found in the simplified text sits at the same positions
in the original: `original[match.start():match.end()]` is the verbatim span.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import opencc


def simplified(text: str) -> str:
    """The text with traditional characters in their simplified form, the same length as the text."""
    return text.translate(_table())


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """Traditional → simplified, for the characters whose first simplified form is one character."""
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0] if targets else ""
        # 乾 → 干 too: both sides of every match go through the same table, so the pair still meets.
        if len(source) == 1 and len(target) == 1 and source != target:
            table[ord(source)] = target
    return table
