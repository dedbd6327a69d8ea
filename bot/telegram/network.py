"""Network: retry what is safe to retry when calling the Bot API."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
from telegram.error import NetworkError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger(__name__)

DEFAULT_NONE = BaseRequest.DEFAULT_NONE


class RetryingRequest(HTTPXRequest):
    """HTTPXRequest that retries, with exponential backoff, requests Telegram never received
    (connection failures) and the answers that ask for a retry (429 and 502–504)."""

    RETRY_STATUS = frozenset({429, 502, 503, 504})

    def __init__(self, retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retries, self.backoff = retries, backoff

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """One Bot API call, tried up to 1 + retries times."""
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout,
                    "connect_timeout": connect_timeout, "pool_timeout": pool_timeout}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                code, payload = await super().do_request(url, method, request_data, **timeouts)
            except NetworkError as exc:
                if last or not _never_sent(exc):
                    raise
                delay = self.backoff * 2 ** attempt
            else:
                if code not in self.RETRY_STATUS or last:
                    return code, payload
                delay = _retry_after(payload) or self.backoff * 2 ** attempt
            log.warning("Telegram %s failed (attempt %d), retrying in %.1f s",
                        url.rsplit("/", 1)[-1], attempt + 1, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _never_sent(error: NetworkError) -> bool:
    """The request failed before Telegram could have acted on it, so sending it again is safe."""
    return isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _retry_after(payload: bytes) -> float | None:
    """The retry_after a 429 answer asks for (capped at 30 s), if any."""
    try:
        seconds = float(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, TypeError, KeyError):
        return None
    return min(seconds, 30.0)
