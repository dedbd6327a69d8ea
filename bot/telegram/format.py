"""Telegram HTML for answers, clauses and owner lists, packed into messages of at most 4096 characters.

Every piece of user and document text goes through `escape`; the only markup is the few tags written
here. A message is built from *blocks* (one answer line, one source, one clause) and split between
blocks, so a clause never straddles two messages; only a single block longer than a whole message is
cut, and then between characters with its open tags closed and reopened.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable

from bot.answer import Answer
from bot.chat.format import clause_place, shorten
from bot.knowledge import Owner
from ingest.model import Clause

MESSAGE_LIMIT = 4096
QUOTE_CHARS = 60  # a source's quote is shortened to this many characters
OWNERS_SHOWN = 8  # owners suggested when /duties names an unknown one
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]")
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")

HELP = """<b>DutyDesk · 学校规章制度问答</b>
我按学校现行的规章制度回答问题，每个回答都附上原文条款和出处；制度里没有的，我会直说没有。

直接发消息提问{group_hint}。例如：
• 谁负责学生的安全教育？
• 班主任的职责有哪些？
• 教务处的电话是多少？
• 那他们的电话是多少？（追问上一个回答里的部门）

/ask 问题 — 提问
/who 任务 — 这项工作由谁负责
/duties 岗位或部门 — 完整的职责清单（新教师必看）
/source 条款编号 — 条款原文与出处
/owners — 全部部门与岗位
/help — 显示本说明

点回答下方的「[1] 原文」按钮，可看到该条款的全文和出处。"""


def escape(text: str) -> str:
    """Text made safe for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); counting the markup too keeps us on the safe side."""
    return len(text.encode("utf-16-le")) // 2


def help_html(username: str | None) -> str:
    """The /start and /help text; in groups people address the bot by name."""
    hint = f"（群聊中请 @{escape(username)}、回复我的消息，或用 /ask）" if username else ""
    return HELP.format(group_hint=hint)


def where(clause: Clause) -> str:
    """《document》 section › path · label, escaped."""
    return escape(clause_place(clause))


def answer_blocks(answer: Answer, rewritten: str | None = None) -> list[str]:
    """The answer (one block per line, [n] markers kept) followed by its sources block."""
    blocks = [f"<i>（按“{escape(rewritten)}”理解）</i>"] if rewritten else []
    blocks += [escape(line) for line in answer.text.split("\n") if line.strip()]
    if answer.citations:
        blocks += ["", "<b>来源</b>"]
        blocks += [source_block(n, hit.clause) for n, hit in enumerate(answer.citations, start=1)]
    return blocks


def source_block(number: int, clause: Clause) -> str:
    """[n] 《document》 section · label, then the quoted text shortened with an ellipsis."""
    return f"[{number}] {where(clause)}\n<i>「{escape(shorten(clause.text, QUOTE_CHARS))}」</i>"


def clause_blocks(clause: Clause) -> list[str]:
    """One clause verbatim with its document, section, label, source lines and id."""
    start, end = clause.source.line_start, clause.source.line_end
    lines = f"第 {start} 行" if start == end else f"第 {start}–{end} 行"
    return [f"<b>{escape('《' + clause.document + '》')}</b>",
            escape(" › ".join(clause.section)) if clause.section else "",
            f"<blockquote>{escape(clause.quoted())}</blockquote>",
            escape(f"出处：{clause.source.path} {lines}"),
            f"编号：<code>{escape(clause.id)}</code>"]


def duties_blocks(owner: Owner, clauses: list[Clause]) -> list[str]:
    """An owner's full duty list: a header, one block per clause with its [n], the sources."""
    reach = f"（联系电话：{owner.contact}）" if owner.contact else ""
    blocks = [f"<b>{escape(owner.name)}</b>{escape(reach)}的职责共 {len(clauses)} 条："]
    for n, clause in enumerate(clauses, start=1):
        blocks.append(f"{escape(clause.quoted())} [{n}]")
    places = dict.fromkeys((c.document, " › ".join(c.section[-2:])) for c in clauses)
    return [*blocks, "", "<b>来源</b>", *(escape(f"《{doc}》{section}") for doc, section in places)]


def owners_blocks(owners: Iterable[Owner]) -> list[str]:
    """Departments and posts with contact and clause count."""
    listed = list(owners)
    blocks = [f"<b>部门与岗位（共 {len(listed)} 个）</b>"]
    for owner in listed:
        reach = f" · 电话 {escape(owner.contact)}" if owner.contact else ""
        blocks.append(f"• <b>{escape(owner.name)}</b>{reach} · {owner.clause_count} 条")
    return [*blocks, "", "发送 /duties 名称 查看某个部门或岗位的全部职责。"]


def unknown_owner_html(name: str, owners: list[str]) -> str:
    """The friendly reply to /duties with a name the rules don't know, suggesting a few owners."""
    shown = "、".join(owners[:OWNERS_SHOWN]) + ("……" if len(owners) > OWNERS_SHOWN else "")
    tail = f"可以试试：{shown}（/owners 查看全部）。" if owners else "知识库里还没有任何部门或岗位。"
    return escape(f"没有找到名为“{name}”的部门或岗位。{tail}")


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks with newlines into as few messages as fit the limit, splitting only between blocks."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n{block}" if current else block
        if telegram_length(candidate.strip("\n")) <= limit:
            current = candidate
            continue
        messages.append(current)
        pieces = cut(block, limit) if telegram_length(block) > limit else [block]
        messages += pieces[:-1]
        current = pieces[-1]
    messages.append(current)
    return [m.strip("\n") for m in messages if m.strip()]


def cut(block: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut one over-long block into pieces within the limit, never inside a tag or an entity."""
    pieces: list[str] = []
    current, size = "", 0
    stack: list[tuple[str, str]] = []  # the open tags as (name, opening tag)
    for token in _TOKEN.findall(block):
        closing = "".join(f"</{name}>" for name, _ in reversed(stack))
        if current and size + telegram_length(token) + telegram_length(closing) > limit:
            pieces.append(current + closing)
            current = "".join(tag for _, tag in stack)
            size = telegram_length(current)
        current += token
        size += telegram_length(token)
        _track(token, stack)
    return [*pieces, current]


def _track(token: str, stack: list[tuple[str, str]]) -> None:
    """Push an opening tag, pop a closing one."""
    match = _TAG.fullmatch(token)
    if not match:
        return
    if match.group(1):
        if stack and stack[-1][0] == match.group(2):
            stack.pop()
    else:
        stack.append((match.group(2), token))
