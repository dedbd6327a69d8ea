"""Checking pasted text against the rules: what `DutyDesk.verify` and `verify_answer` do before their audit line.

The input rules (words to check, at most DUTYDESK_VERIFY_BATCH_MAX parts) and the batch's bookkeeping
(identical quotes checked once, a bare [n] resolved) live here; the comparison itself is `bot.verify`.
"""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from bot.textcheck import check_text
from bot.verify import Part, TooManyParts, Verification, split_answer, verify_quote
from ingest.errors import InvalidRequestError, NotFoundError

if TYPE_CHECKING:
    from bot.service import DutyDesk

_WORDS = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")


def check_quote(desk: DutyDesk, quote: str, citation_id: str | None) -> Verification:
    """The check behind `verify`, without its audit line (a batch writes one line for all its quotes)."""
    if not isinstance(quote, str) or not _WORDS.search(quote):
        raise InvalidRequestError("引用内容须包含文字（不能为空或只有标点）")
    check_text(quote, "引用内容")
    return verify_quote(quote, citation_id, desk.knowledge(), desk.store.load_history())


def check_answer(desk: DutyDesk, text: str, citation_ids: list[str] | None) -> tuple[list[Part], int]:
    """The check behind `verify_answer`, without its audit line: every part, and how many distinct checks."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("要核对的内容不能为空")
    found = split_answer(check_text(text, "要核对的内容"), citation_ids)
    limit = desk.settings.verify_batch_max
    if len(found) > limit:
        raise TooManyParts(f"要核对的引文和引用标记过多：共 {len(found)} 处，每次最多 {limit} 处"
                           "（DUTYDESK_VERIFY_BATCH_MAX）")
    checked: dict[tuple[str, str | None], Part] = {}
    parts = [_check_once(desk, checked, passage, marker, cited) for passage, marker, cited in found]
    return parts, len(checked)


def _check_once(desk: DutyDesk, checked: dict[tuple[str, str | None], Part], passage: str, marker: int | None,
                cited: str | None) -> Part:
    """A quote already checked under the same citation id reuses its verdict; only its marker differs."""
    if not passage:  # a bare [n] is a dictionary lookup, and each marker is distinct already
        return _check_part(desk, passage, marker, cited)
    if (passage, cited) not in checked:
        checked[(passage, cited)] = _check_part(desk, passage, marker, cited)
    return dataclasses.replace(checked[(passage, cited)], marker=marker)


def _check_part(desk: DutyDesk, passage: str, marker: int | None, cited: str | None) -> Part:
    """One part: a quote is verified (against its cited clause when known); a bare [n] is resolved."""
    try:
        if passage:
            return Part(passage, marker, cited, check_quote(desk, passage, cited))
        if cited is None:
            return Part("", marker, None, None, f"[{marker}] 没有对应的引用编号", unresolved=True)
        current = desk.knowledge().by_id.get(cited)
        gone = current is None and cited not in desk.store.load_history()
        if gone:
            return Part("", marker, cited, None, f"没有编号为 {cited} 的条款")
        return Part("", marker, cited, Verification(current is not None, current is None, current))
    except NotFoundError as exc:
        return Part(passage, marker, cited, None, exc.message)
