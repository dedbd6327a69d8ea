"""The Stream connection: the SDK's frame routing and acks, with DutyDesk's own connection loop.

What the SDK does not do well is done here: its reconnect loop sleeps a fixed 10 s, opens the
connection without a timeout and logs the ticket. Every connection ticket is scrubbed from all log
records (`bot.chat.redact`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import platform
import random
from typing import Any
from urllib.parse import quote_plus

import httpx
import websockets
from dingtalk_stream import Credential, DingTalkStreamClient, SystemMessage
from dingtalk_stream.version import VERSION_STRING

from bot.chat.redact import protect, redact
from bot.dingtalk.replies import json_object

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
PING_TOPIC = "ping"  # SYSTEM frames DingTalk sends to keep the stream alive; the ack echoes their data
REDACTED = "<dingtalk-secret>"  # what logs show instead of the app's credentials and the tickets


class StreamClient(DingTalkStreamClient):
    """The SDK's client with its frame routing and acks, but its own connection loop.

    The SDK's `start` sleeps a fixed 10 s after a drop (none after a clean close), opens the
    connection with `requests` and no timeout, logs the ticket and keeps no reference to its tasks.
    Here: exponential backoff with jitter (reset once a connection opens), a timeout, no secrets logged.
    """

    def __init__(self, credential: Credential, endpoint: str, backoff: tuple[float, float] = (1.0, 60.0),
                 timeout: float = 10.0) -> None:
        super().__init__(credential, logger=log)
        self.endpoint, self.backoff, self.timeout = endpoint.rstrip("/"), backoff, timeout
        self.connections = 0  # websockets opened so far
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, credential=<redacted>)"

    async def start(self) -> None:
        """Connect, serve frames, and reconnect with backoff whenever the stream drops or cannot open."""
        self.pre_start()
        delay = self.backoff[0]
        while True:
            opened = await self.serve_once()
            delay = self.backoff[0] if opened else min(delay * 2, self.backoff[1])
            wait = delay * random.uniform(0.8, 1.2)  # jitter: many bots must not reconnect in step
            log.warning("DingTalk stream %s; reconnecting in %.1f s", "closed" if opened else "unavailable", wait)
            await asyncio.sleep(wait)

    async def serve_once(self) -> bool:
        """One connection: open it, route its frames until it closes; whether it opened at all."""
        connection = await self.open_stream()
        if connection is None:
            return False
        opened = False
        try:
            async with websockets.connect(connection, open_timeout=self.timeout, ping_interval=20,
                                          ping_timeout=20) as websocket:
                self.websocket, opened = websocket, True
                self.connections += 1
                log.info("DingTalk stream connected")
                async for raw in websocket:
                    self._spawn(raw)
        except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as exc:
            log.warning("DingTalk stream: %s: %s", type(exc).__name__, exc)
        return opened

    async def open_stream(self) -> str | None:
        """Ask the gateway for a stream endpoint and ticket; the websocket URI, or None (logged)."""
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": self._subscriptions(), "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
                "localIp": self.get_host_ip()}
        headers = {"User-Agent": f"DingTalkStream/1.0 SDK/{VERSION_STRING} Python/{platform.python_version()}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(self.endpoint + OPEN_PATH, json=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("DingTalk gateway unreachable: %s", type(exc).__name__)
            return None
        found = json_object(response)
        if response.status_code != 200 or not found.get("endpoint") or not found.get("ticket"):
            log.error("DingTalk gateway refused the connection: HTTP %s %s", response.status_code,
                      redact(str(found.get("message") or found.get("code") or ""))[:200])
            return None
        protect(REDACTED, str(found["ticket"]), quote_plus(str(found["ticket"])), recent=True)
        return f"{found['endpoint']}?ticket={quote_plus(str(found['ticket']))}"

    async def route_message(self, json_message: dict[str, Any]) -> str:
        """The SDK's routing and acks, except that DingTalk's keep-alive pings are acked without the
        warning the SDK logs for every SYSTEM topic but `disconnect`."""
        headers = json_message.get("headers") or {}
        if json_message.get("type") != SystemMessage.TYPE or headers.get("topic") != PING_TOPIC:
            return str(await super().route_message(json_message))
        ack = await self.system_handler.raw_process(SystemMessage.from_dict(json_message))
        await self.websocket.send(json.dumps(ack.to_dict()))
        return ""

    def _subscriptions(self) -> list[dict[str, str]]:
        """The topics asked for: every registered callback topic (bot messages)."""
        topics = [{"type": "EVENT", "topic": "*"}] if self._is_event_required else []
        return topics + [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]

    def _spawn(self, raw: str | bytes) -> None:
        """Route one frame in its own task (as the SDK does), keeping a reference until it is done."""
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("ignored a DingTalk frame that is not JSON")
            return
        task = asyncio.create_task(self.background_task(frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
