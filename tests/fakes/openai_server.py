"""A scripted OpenAI-compatible chat server (POST /v1/chat/completions) for tests, on 127.0.0.1.

The request's `model` picks the script, so each test chooses its reply through the settings'
`llm_model`. Replies come whole or, with `"stream": true`, as chat.completion.chunk SSE events.
Every request body and Authorization header is recorded for the test to inspect.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.uvicorn_thread import serve_in_thread


@dataclass
class Script:
    """One scripted reply: its text, a delay before it, a pause between chunks, an HTTP status."""

    text: str = ""
    delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 200
    chunk_size: int = 3


@dataclass
class FakeOpenAI:
    """The scripts, the requests received, and the ASGI app that serves them."""

    scripts: dict[str, Script]
    requests: list[dict[str, Any]] = field(default_factory=list)
    closing: threading.Event = field(default_factory=threading.Event)

    def app(self) -> Starlette:
        """The Starlette app with the one chat-completions route."""
        return Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])

    async def completions(self, request: Request) -> Response:
        """Answer one chat-completions request by its model's script."""
        body = await request.json()
        self.requests.append({"body": body, "authorization": request.headers.get("authorization", "")})
        script = self.scripts[body["model"]]
        await self._pause(script.delay)
        if script.status != 200:
            # Echo the credential back, as careless servers do: the client must not log it.
            detail = f"internal error for {request.headers.get('authorization', '')}"
            return JSONResponse({"error": {"message": detail, "type": "server_error"}}, status_code=script.status)
        if body.get("stream"):
            return StreamingResponse(self._chunks(body, script), media_type="text/event-stream")
        return JSONResponse(_completion(body["model"], script.text))

    async def _chunks(self, body: dict[str, Any], script: Script) -> AsyncIterator[str]:
        """The reply as SSE chunks, then the finish chunk, optional usage and [DONE]."""
        model = body["model"]
        pieces = [script.text[i:i + script.chunk_size] for i in range(0, len(script.text), script.chunk_size)]
        for index, piece in enumerate(pieces):
            if index:
                await self._pause(script.chunk_delay)
            yield _event(_chunk(model, {"role": "assistant", "content": piece} if index == 0 else {"content": piece}))
        yield _event(_chunk(model, {}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _event({**_chunk(model, {}), "choices": [], "usage": _usage()})
        yield "data: [DONE]\n\n"

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server is shutting down."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.closing.is_set():
            await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _completion(model: str, text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": _usage()}


def _chunk(model: str, delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


@contextmanager
def serving(fake: FakeOpenAI) -> Iterator[str]:
    """Run the fake under uvicorn on 127.0.0.1 in a thread; yield its OpenAI base URL (…/v1)."""
    with serve_in_thread(fake.app(), start_timeout=10, lifespan="off", timeout_graceful_shutdown=2) as base:
        try:
            yield f"{base}/v1"
        finally:
            fake.closing.set()  # open streams end, so the server can stop
