"""Who the bot answers: messages addressed to it, from allow-listed senders, within the rate limit.

Chats: every 1:1 message is for the bot; in a group only messages that @-mention it (`isInAtList`).
Access fails closed like Telegram's: allow-listed senders (staffId, or unionId when DingTalk sends
one) anywhere and everyone in an allow-listed group; strangers get a short refusal naming their
staffId and nothing from the knowledge base; an empty allow-list admits nobody.
"""
from __future__ import annotations

import logging

from dingtalk_stream import ChatbotMessage

from bot.chat.gate import Gate, GateSettings
from bot.chat.messages import stranger

log = logging.getLogger(__name__)

PREFIX = "DUTYDESK_DINGTALK"  # of the allow-list settings
GROUP_CHAT = "2"  # conversationType: "1" is a 1:1 chat
STRANGER = stranger("钉钉 ID")


def parse_ids(text: str, name: str) -> frozenset[str]:
    """Comma-separated DingTalk ids; an id with spaces inside is a configuration error."""
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    broken = next((i for i in ids if len(i.split()) > 1), None)
    if broken:
        raise ValueError(f"{name} 是逗号分隔的钉钉 ID，“{broken}”中间有空格")
    return ids


# Where this front end's allow-lists and rate limit live in Settings: bot.chat reads them for the gate.
GATE_SETTINGS: GateSettings[str] = GateSettings(
    PREFIX, parse_ids,
    lambda s: (s.dingtalk_allowed_users, s.dingtalk_allowed_chats, s.dingtalk_rate_limit_per_minute),
    "Add staffIds or group conversationIds (comma-separated).", STRANGER, log)


def sender_ids(message: ChatbotMessage) -> list[str]:
    """The ids an allow-list may name: staffId, unionId (when sent) and the app-scoped senderId."""
    found = (message.sender_staff_id, message.extensions.get("senderUnionId"), message.sender_id)
    return [str(i) for i in found if i]


def sender(message: ChatbotMessage) -> str:
    """The sender, for rate limits, conversations and the question log (which keeps only a salted hash)."""
    return str(message.sender_staff_id or message.sender_id or "unknown")


def addressed(message: ChatbotMessage) -> bool:
    """A 1:1 message, or a group message that @-mentions the bot."""
    return message.conversation_type != GROUP_CHAT or bool(message.is_in_at_list)


def refusal(gate: Gate[str], message: ChatbotMessage) -> str | None:
    """None to answer; else the polite refusal (not allow-listed) or the rate-limit notice."""
    ids, group = sender_ids(message), message.conversation_type == GROUP_CHAT
    if not gate.access.allows(ids, message.conversation_id if group else None):
        who = ids[0] if ids else "未知"
        log.info("refused message %s: sender %s in conversation %s is not allow-listed",
                 message.message_id, who, message.conversation_id)
        return gate.stranger_text(who, message.conversation_id if group else None)
    return gate.too_fast(sender(message))
