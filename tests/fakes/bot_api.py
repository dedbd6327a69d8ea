"""A fake Telegram Bot API server on 127.0.0.1 for driving the real python-telegram-bot Application.

PTB posts every call to `{base_url}{token}/{method}` with form-encoded parameters (objects such as
reply_markup JSON-encoded inside). This server answers getMe with a bot user, hands out queued updates
to getUpdates (long polling: it waits a little for new ones), answers sendMessage with a Message,
and records every call except getUpdates so tests can assert the exact payloads. A call can be made
to fail a few times (e.g. 502) to exercise retries. `press` clicks an inline button under a message
the bot sent, queueing the callback query Telegram would send for it.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.waiting import await_count, wait_for_count

BOT_USER = {"id": 7700001, "is_bot": True, "first_name": "DutyDesk", "username": "dutydesk_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
_JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "link_preview_options",
                "reply_parameters", "entities"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "timeout", "limit", "cache_time", "max_connections"}
_BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification", "protect_content"}
_LONG_POLL_CAP = 0.5  # seconds getUpdates waits for an update before answering []


@dataclass
class Call:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]
    result: Any = None


class FakeBotApi:
    """The server, its queue of updates and its record of calls (thread-safe)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.attempts: dict[str, int] = {}
        self._next_update_id = 1
        self._next_message_id = 5000
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # -- test side -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The base URL in python-telegram-bot's form (the token is appended to it)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._changed:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
            self.updates.append(update)
            self._changed.notify_all()
            return update["update_id"]

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The Message objects the server answered `method` calls with, in order (ids included)."""
        with self._changed:
            return [c.result for c in self.calls if c.method == method]

    def press(self, message: dict[str, Any], label: str, user: dict[str, Any]) -> dict[str, Any]:
        """Click the inline button labelled `label` under a message the bot sent; returns the queued update."""
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        data = next((b["callback_data"] for row in rows for b in row if b["text"] == label), None)
        if data is None:
            raise AssertionError(f"no button {label!r} under message {message.get('message_id')}: {rows}")
        query = {"id": f"cq-{self._next_update_id}", "from": user, "chat_instance": "ci-fake",
                 "message": message, "data": data}
        update_id = self.push({"callback_query": query})
        return {"update_id": update_id, "callback_query": query}

    def fail_next(self, method: str, status: int, times: int = 1, parameters: dict[str, Any] | None = None) -> None:
        """Answer the next `times` calls of `method` with an error status."""
        self.failures[method] = [(status, parameters or {})] * times

    def reset(self) -> None:
        """Forget recorded calls, pending updates and failures."""
        with self._changed:
            self.calls.clear()
            self.updates.clear()
            self.failures.clear()
            self.attempts.clear()

    def recorded(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every recorded call of a method, in order."""
        with self._changed:
            return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait (without blocking the event loop) until `count` calls of `method` were recorded."""
        return await await_count(lambda: self.recorded(method), count, f"{method} call(s)", timeout)

    def wait_for_sync(self, method: str, count: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        """`wait_for` for callers outside an event loop."""
        return wait_for_count(lambda: self.recorded(method), count, f"{method} call(s)", timeout, pause=0.05)

    @contextmanager
    def running(self) -> Iterator[FakeBotApi]:
        """Serve on an ephemeral port of 127.0.0.1 in a background thread."""
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True, name="fake-bot-api")
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)

    # -- server side -----------------------------------------------------------------------------
    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The (status, JSON body) answering one call."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        with self._changed:
            self.attempts[method] = self.attempts.get(method, 0) + 1
            pending = self.failures.get(method)
            if pending:
                status, parameters = pending.pop(0)
                return status, {"ok": False, "error_code": status, "description": "Bad Gateway",
                                **({"parameters": parameters} if parameters else {})}
            result = self._result(method, params)
            self.calls.append(Call(method, params, result))
            return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Updates from `offset` on (confirming the earlier ones); waits briefly when there are none."""
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), _LONG_POLL_CAP)
        with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait:
                self._changed.wait(wait)
            return list(self.updates)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText"):
            self._next_message_id += 1
            chat_id = params.get("chat_id")
            chat = {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "group",
                    "title": "测试群"}
            message = {"message_id": params.get("message_id", self._next_message_id), "date": int(time.time()),
                       "chat": chat, "from": BOT_USER, "text": params.get("text", "")}
            if params.get("reply_markup"):  # Telegram returns the keyboard with the message
                message["reply_markup"] = params["reply_markup"]
            return message
        return True


class _QuietServer(ThreadingHTTPServer):
    """Daemon threads; a client that hung up mid long-poll is not an error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _handler_for(api: FakeBotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            _, _, rest = self.path.partition("/bot")
            token, _, method = rest.partition("/")
            length = int(self.headers.get("Content-Length") or 0)
            status, body = api.handle(token, method, _decode(self.rfile.read(length), self.headers))
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request line carries the token."""

    return Handler


def _decode(body: bytes, headers: Any) -> dict[str, Any]:
    """PTB's form-encoded parameters, with JSON objects and integers decoded."""
    if "json" in (headers.get("Content-Type") or ""):
        return json.loads(body or b"{}")
    params: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key, value in params.items():
        if key in _JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in _INT_FIELDS and value.lstrip("-").isdigit():
            params[key] = int(value)
        elif key in _BOOL_FIELDS:
            params[key] = value == "true"
    return params
