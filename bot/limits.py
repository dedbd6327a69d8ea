"""HTTP guards (ASGI middleware): allowed Host names, a per-client rate limit on every POST, a body-size limit."""
from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterable

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
    await _json_error(send, 413, f"请求体过大：上限 {limit} 字节")


async def _json_error(send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer `{"detail": ...}` with `status` straight from the middleware (the app never runs)."""
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimit:
    """ASGI middleware: every POST (any method but GET/HEAD/OPTIONS) on any route, present or added later,
    counts against one per-client `RateLimiter`; over it, 429 with Retry-After before the body is read."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, exempt: Iterable[str] = ()) -> None:
        self.app, self.limiter, self.exempt = app, limiter, frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request, or refuse it when its client is over the limit."""
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        client = scope.get("client")
        wait = self.limiter.retry_after(client[0] if client else "unknown")
        if wait is None:
            return await self.app(scope, receive, send)
        await _json_error(send, 429, f"请求过于频繁，请 {wait} 秒后再试", [(b"retry-after", str(wait).encode())])


class AllowedHosts:
    """ASGI middleware: a request whose Host header is not an allowed name gets 400 (DUTYDESK_ALLOWED_HOSTS).

    The URLs the app builds (the redirect of /docs/ to /docs, say) take their host from this header,
    so an unknown one is refused rather than reflected. "*" among the names allows any host.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(host_name(h) for h in hosts if h.strip())
        self.any = "*" in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request for an allowed host on; refuse others (and a missing or repeated Host) at once."""
        if self.any or scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = [value for key, value in scope.get("headers", []) if key == b"host"]
        if len(given) == 1 and host_name(given[0].decode("latin-1")) in self.hosts:
            return await self.app(scope, receive, send)
        # The refused name is not echoed back: the point is never to reflect it.
        await _json_error(send, 400, "Host 请求头不是本服务的主机名（允许的主机名见 DUTYDESK_ALLOWED_HOSTS）")


def host_name(value: str) -> str:
    """A Host header or a configured name as a bare lower-case name: no port, no IPv6 brackets, no final dot."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:  # name:port (a bare IPv6 address has several colons and no port)
        value = value.partition(":")[0]
    return value.rstrip(".")


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
