"""The DingTalk front end: a thin translation of DingTalk bot messages (Stream mode) to DutyDesk calls.

`dutydesk dingtalk` opens an outbound Stream connection with the official `dingtalk-stream` SDK (no
public address needed), receives each bot message as a CALLBACK frame on the topic
`/v1.0/im/bot/messages/get`, answers it from the core and posts the reply, as DingTalk markdown, to
the message's session webhook.

Chats: every 1:1 message is for the bot; in a group only messages that @-mention it (`isInAtList`).
Access fails closed like Telegram's: allow-listed senders (staffId, or unionId when DingTalk sends
one) anywhere and everyone in an allow-listed group; strangers get a short refusal naming their
staffId and nothing from the knowledge base; an empty allow-list admits nobody. Each sender is rate
limited with the API's `RateLimiter`. Follow-ups go through the core's conversations, keyed per
conversation and sender.

What the SDK does not do well is done here (see `StreamClient`): its reconnect loop sleeps a fixed
10 s, opens the connection without a timeout and logs the ticket; its replies swallow errors.
The app secret and every connection ticket are scrubbed from all log records.

Modules: `app` (settings → client, `run_stream`), `gate`, `handlers` (`DeskHandler`), `replies`
(`Replier`), `stream` (`StreamClient`) and `format` (DingTalk markdown). What the Telegram front
end shares is in `bot.chat`.
"""
from __future__ import annotations

from bot.dingtalk.app import build_client, config_problem, run_stream
from bot.dingtalk.gate import STRANGER
from bot.dingtalk.handlers import FRONT, NOT_TEXT, DeskHandler
from bot.dingtalk.replies import Replier
from bot.dingtalk.stream import REDACTED, StreamClient

__all__ = ["FRONT", "NOT_TEXT", "REDACTED", "STRANGER", "DeskHandler", "Replier", "StreamClient", "build_client",
           "config_problem", "run_stream"]
