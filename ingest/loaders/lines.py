"""Output lines shared by the HTML and .docx loaders: markdown table rows and blank-line tidying."""
from __future__ import annotations


def escape_cell(text: str) -> str:
    """A cell's text with pipes escaped so the row still splits into the right cells."""
    return text.replace("|", "\\|")


def markdown_row(cells: list[str]) -> str:
    """One table row as |cell|cell|."""
    return "|" + "|".join(cells) + "|"


def trim_blank(lines: list[str]) -> list[str]:
    """Lines with whitespace-only ones made empty, runs of them collapsed and the ends trimmed."""
    kept: list[str] = []
    for line in lines:
        if line.strip():
            kept.append(line)
        elif kept and kept[-1]:
            kept.append("")
    while kept and not kept[-1]:
        kept.pop()
    return kept
