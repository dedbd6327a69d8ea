"""A fake DingTalk on 127.0.0.1 for driving the real `dingtalk-stream` client (aiohttp in a thread).

- `POST /v1.0/gateway/connections/open` checks the app's credentials and the subscription to bot
  messages, and answers the websocket endpoint with a fresh one-time ticket;
- `GET /connect?ticket=…` is the stream: it delivers bot messages as CALLBACK frames on the topic
  `/v1.0/im/bot/messages/get` and records the acks the client sends back;
- `POST /robot/sendBySession?session=…` is the session webhook the replies are posted to.

Tests push messages (`push`), drop the stream (`drop`), make the webhook fail (`fail_next`) and
assert the exact recorded payloads. Every request of every kind is recorded.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.waiting import wait_for_count

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CLIENT_ID = "dingfakeclientid0042"
CLIENT_SECRET = "FakeDingTalkSecret_9f8e7d6c5b4a3f2e1d0c-XYZ"
ROBOT_CODE = CLIENT_ID
CORP = "dingcorp0001"


class FakeDingTalk:
    """The gateway, the stream and the session webhook, with a record of everything (thread-safe)."""

    def __init__(self) -> None:
        self.opens: list[dict[str, Any]] = []  # bodies posted to connections/open
        self.tickets: list[str] = []  # every ticket handed out, in order
        self.acks: list[dict[str, Any]] = []  # frames the client sent back
        self.replies: list[dict[str, Any]] = []  # JSON bodies posted to the session webhook
        self.sessions: list[str] = []  # the session each reply was posted to
        self.webhook_attempts = 0
        self.failures: list[tuple[int, dict[str, Any]]] = []  # (status, body) for the next webhook posts
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._socket: web.WebSocketResponse | None = None
        self._transport: asyncio.Transport | None = None  # the stream's TCP connection (to cut it)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- test side -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """What DUTYDESK_DINGTALK_OPENAPI_ENDPOINT points at."""
        return f"http://127.0.0.1:{self.port}"

    def webhook(self, conversation: str) -> str:
        """The session webhook DingTalk would hand out for a conversation."""
        return f"{self.endpoint}/robot/sendBySession?session=sess-{conversation}"

    def reset(self) -> None:
        """Forget everything recorded and any pending failures."""
        with self._lock:
            for record in (self.opens, self.tickets, self.acks, self.replies, self.sessions, self.failures):
                record.clear()
            self.webhook_attempts = 0

    def fail_next(self, status: int, body: dict[str, Any] | None = None, times: int = 1) -> None:
        """Answer the next `times` webhook posts with this status and body."""
        with self._lock:
            self.failures += [(status, body or {"errcode": 500, "errmsg": "fake failure"})] * times

    def message(self, text: str, sender: str, conversation: str = "", group: bool = False,
                mentioned: bool = True, **extra: Any) -> dict[str, Any]:
        """A bot message as DingTalk sends it (conversationType 1 = 1:1, 2 = group)."""
        conversation = conversation or f"cid-single-{sender}"
        number = next(self._ids)
        data: dict[str, Any] = {
            "conversationId": conversation, "conversationType": "2" if group else "1",
            "chatbotCorpId": CORP, "chatbotUserId": "$:LWCP_v1:$bot", "msgId": f"msg{number:06d}",
            "senderNick": "王老师", "isAdmin": False, "senderStaffId": sender,
            "senderId": f"$:LWCP_v1:${sender}", "senderCorpId": CORP, "robotCode": ROBOT_CODE,
            "sessionWebhook": self.webhook(conversation), "sessionWebhookExpiredTime": int(time.time() * 1000) + 5_400_000,
            "createAt": int(time.time() * 1000), "msgtype": "text", "text": {"content": text}}
        if group:
            data.update(conversationTitle="初一教研组", isInAtList=mentioned,
                        atUsers=[{"dingtalkId": "$:LWCP_v1:$bot"}] if mentioned else [])
        return {**data, **extra}

    def push(self, data: dict[str, Any], kind: str = "CALLBACK", topic: str = BOT_TOPIC, timeout: float = 30.0) -> str:
        """Deliver a frame (by default a bot message) on the open stream, waiting for one; its messageId."""
        deadline = time.monotonic() + timeout
        while self._socket is None or self._socket.closed:
            if time.monotonic() > deadline:
                raise AssertionError("the client never opened a stream")
            time.sleep(0.02)
        frame_id = f"frame-{next(self._ids)}"
        frame = {"specVersion": "1.0", "type": kind, "data": json.dumps(data, ensure_ascii=False),
                 "headers": {"appId": "app-1", "connectionId": "conn-1", "contentType": "application/json",
                             "messageId": frame_id, "time": str(int(time.time() * 1000)), "topic": topic}}
        self._call(self._socket.send_str(json.dumps(frame, ensure_ascii=False)))
        return frame_id

    def drop(self) -> None:
        """Cut the stream without a closing handshake, as a network failure would."""
        if self._transport is not None:
            self._loop.call_soon_threadsafe(self._transport.abort)  # type: ignore[union-attr]

    def wait(self, what: str, count: int = 1, timeout: float = 30.0) -> list[Any]:
        """Block until `count` entries of `replies`, `acks` or `opens` were recorded; return them all."""
        return wait_for_count(lambda: self.recorded(what), count, what, timeout)

    def recorded(self, what: str) -> list[Any]:
        """A copy of one record."""
        with self._lock:
            return list(getattr(self, what))

    @contextmanager
    def running(self) -> Iterator[FakeDingTalk]:
        """Serve on an ephemeral port of 127.0.0.1 in a background thread."""
        started = threading.Event()
        thread = threading.Thread(target=self._serve, args=(started,), daemon=True, name="fake-dingtalk")
        thread.start()
        assert started.wait(30), "the fake DingTalk did not start"
        try:
            yield self
        finally:
            assert self._loop is not None
            self._call(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(timeout=10)

    # -- server side -----------------------------------------------------------------------------
    def _call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop from the test thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def _serve(self, started: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._stream)
        app.router.add_post("/robot/sendBySession", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self._loop.run_forever()

    async def _stop(self) -> None:
        if self._transport is not None:
            self._transport.abort()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _open(self, request: web.Request) -> web.Response:
        """connections/open: the right credentials and a bot subscription get an endpoint and a ticket."""
        body = await request.json()
        with self._lock:
            self.opens.append(body)
        if (body.get("clientId"), body.get("clientSecret")) != (CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"code": "invalidClient", "message": "clientId or clientSecret wrong"}, status=401)
        ticket = secrets.token_hex(16)
        with self._lock:
            self.tickets.append(ticket)
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": ticket})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """The stream: one connection per ticket, the last ticket only; records every frame received."""
        with self._lock:
            valid = bool(self.tickets) and request.query.get("ticket") == self.tickets[-1]
        if not valid:
            return web.Response(status=403, text="bad ticket")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._socket, self._transport = socket, request.transport
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                with self._lock:
                    self.acks.append(json.loads(frame.data))
        return socket

    async def _webhook(self, request: web.Request) -> web.Response:
        """sendBySession: records the body; answers errcode 0 unless told to fail."""
        body = await request.json()
        with self._lock:
            self.webhook_attempts += 1
            failure = self.failures.pop(0) if self.failures else None
            if failure is None:
                self.replies.append(body)
                self.sessions.append(request.query.get("session", ""))
        if failure is not None:
            return web.json_response(failure[1], status=failure[0])
        return web.json_response({"errcode": 0, "errmsg": "ok"})

