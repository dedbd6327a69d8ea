"""Replies: posted to each message's session webhook, retried when DingTalk did not take them."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


class Replier:
    """Posts replies to session webhooks; retries what DingTalk did not take, logs what still fails."""

    RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
    RETRY_ERRCODES = frozenset({-1, 130101})  # system busy; sending too fast

    def __init__(self, retries: int = 3, backoff: float = 0.5, timeout: float = 10.0) -> None:
        self.retries, self.backoff = retries, backoff
        self.http = httpx.AsyncClient(timeout=timeout)

    async def send(self, webhook: str, payload: dict[str, object], label: str) -> bool:
        """Post one message, tried up to 1 + retries times; False (and an error logged) if never taken."""
        for attempt in range(self.retries + 1):
            problem, retry = await self._post(webhook, payload)
            if problem is None:
                return True
            if not retry or attempt == self.retries:
                break
            log.warning("DingTalk reply to %s failed (%s, attempt %d), retrying", label, problem, attempt + 1)
            await asyncio.sleep(self.backoff * 2 ** attempt)
        log.error("DingTalk reply to %s not delivered after %d attempt(s): %s", label, attempt + 1, problem)
        return False

    async def _post(self, webhook: str, payload: dict[str, object]) -> tuple[str | None, bool]:
        """(None, _) when DingTalk took the message, else (what went wrong, whether to retry)."""
        try:
            response = await self.http.post(webhook, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # never sent: safe again
            return type(exc).__name__, True
        except httpx.HTTPError as exc:  # may have been delivered: sending again could post it twice
            return type(exc).__name__, False
        if response.status_code != 200:
            return f"HTTP {response.status_code}", response.status_code in self.RETRY_STATUS
        body = json_object(response)
        code = body.get("errcode", 0)
        if code in (0, "0", None):
            return None, False
        return f"errcode {code}: {str(body.get('errmsg', ''))[:200]}", code in self.RETRY_ERRCODES

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self.http.aclose()


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
