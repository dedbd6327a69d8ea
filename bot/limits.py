"""HTTP guards: a request-body size limit and an optional per-client rate limit on questions."""
from __future__ import annotations

import json
import math
import threading
import time
from collections import deque

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: a body larger than `limit` bytes gets 413 before the app reads it whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front, and count streamed bytes for chunked bodies."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _too_large(send, self.limit)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send, self.limit)


class _TooLarge(HTTPException):
    """Raised mid-read; FastAPI re-raises HTTPExceptions from body parsing instead of turning them into 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"请求体过大：上限 {limit} 字节"}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `per_minute` requests per client in any sliding minute (0 = unlimited)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """None when the request may go ahead (and is counted), else seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._seen.setdefault(client, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, math.ceil(60 - (now - window[0])))
            window.append(now)
            if len(self._seen) > 10_000:  # forget idle clients so memory stays bounded
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < 60}
            return None
