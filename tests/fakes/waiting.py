"""Waiting for a fake server to record something: one poll loop for every fake, sync and async."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _check(found: list[T], count: int, what: str, deadline: float) -> bool:
    """True when enough was recorded; an AssertionError naming what was seen once the deadline passed."""
    if len(found) >= count:
        return True
    if time.monotonic() > deadline:
        raise AssertionError(f"expected {count} {what}, got {len(found)}: {found}")
    return False


def wait_for_count(fetch: Callable[[], list[T]], count: int, what: str, timeout: float,
                   pause: float = 0.02) -> list[T]:
    """Poll `fetch` (blocking) until it returns at least `count` entries; return them."""
    deadline = time.monotonic() + timeout
    while not _check(found := fetch(), count, what, deadline):
        time.sleep(pause)
    return found


async def await_count(fetch: Callable[[], list[T]], count: int, what: str, timeout: float,
                      pause: float = 0.02) -> list[T]:
    """`wait_for_count` without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not _check(found := fetch(), count, what, deadline):
        await asyncio.sleep(pause)
    return found
