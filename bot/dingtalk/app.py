"""Settings → the stream client with the desk's handler; `run_stream` is `dutydesk dingtalk`."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from urllib.parse import urlsplit

from dingtalk_stream import ChatbotMessage, Credential

from bot.chat.redact import protect
from bot.dingtalk.gate import GATE_SETTINGS
from bot.dingtalk.handlers import DeskHandler
from bot.dingtalk.replies import Replier
from bot.dingtalk.stream import REDACTED, StreamClient
from bot.service import DutyDesk, build
from ingest.settings import Settings

log = logging.getLogger(__name__)

MISSING_CREDENTIALS = ("没有设置钉钉应用凭证。请在钉钉开发者后台创建企业内部应用、添加机器人并选择 Stream 模式，"
                       "再把 Client ID 和 Client Secret 写入环境变量 DUTYDESK_DINGTALK_CLIENT_ID 和 "
                       "DUTYDESK_DINGTALK_CLIENT_SECRET（或 .env 文件）。")


def credential(settings: Settings) -> Credential | None:
    """The app's Client ID and Client Secret, or None when either is unset or blank."""
    client_id = settings.dingtalk_client_id.get_secret_value().strip() if settings.dingtalk_client_id else ""
    secret = settings.dingtalk_client_secret.get_secret_value().strip() if settings.dingtalk_client_secret else ""
    return Credential(client_id, secret) if client_id and secret else None


def config_problem(settings: Settings) -> str | None:
    """What keeps the bot from starting: no credentials, or a malformed allow-list."""
    return GATE_SETTINGS.problem(settings, MISSING_CREDENTIALS if credential(settings) is None else None)


def build_client(desk: DutyDesk, settings: Settings, replier: Replier | None = None,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> StreamClient:
    """The stream client from settings, with the desk's handler registered for bot messages."""
    found = credential(settings)
    if found is None:
        raise ValueError(MISSING_CREDENTIALS)
    protect(REDACTED, found.client_id, found.client_secret)
    gate = GATE_SETTINGS.gate(settings)
    client = StreamClient(found, settings.dingtalk_openapi_endpoint, backoff)
    client.register_callback_handler(ChatbotMessage.TOPIC, DeskHandler(desk, settings, gate, replier))
    return client


def run_stream(settings: Settings) -> int:
    """`dutydesk dingtalk`: the Stream connection until interrupted."""
    problem, found = config_problem(settings), credential(settings)
    if problem or found is None:
        print(f"错误：{problem or MISSING_CREDENTIALS}", file=sys.stderr)
        return 2
    protect(REDACTED, found.client_id, found.client_secret)
    desk = build(settings)
    desk.ensure_index()
    desk.warm_up()
    client = build_client(desk, settings)
    log.info("DingTalk bot starting (gateway %s)", urlsplit(client.endpoint).netloc)
    asyncio.run(until_stopped(client))
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_stopped(client: StreamClient) -> None:
    """Serve until SIGINT (Ctrl-C) or SIGTERM (`docker stop`); then raise KeyboardInterrupt (exit 130).

    The loop's own handlers catch both whatever the process inherited: started in the background of a
    script, a process inherits SIGINT ignored, and asyncio.run leaves it so (Ctrl-C then did nothing).
    """
    loop = asyncio.get_running_loop()
    served = asyncio.ensure_future(client.start())
    handled = []
    for signum in _STOP_SIGNALS:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
            loop.add_signal_handler(signum, served.cancel)
            handled.append(signum)
    try:
        await served
    except asyncio.CancelledError:
        if served.cancelled() and not _cancelling():
            raise KeyboardInterrupt from None
        raise
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def _cancelling() -> bool:
    """True when this task itself is being cancelled (not only the served one by a signal)."""
    task = asyncio.current_task()
    return bool(task and task.cancelling())
