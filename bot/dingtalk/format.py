"""DingTalk markdown for answers, packed into messages of at most 5000 characters.

DingTalk renders a small markdown dialect (headings, bold, italics, links, images, lists, quotes and
a few HTML tags such as <font>) and documents no escape character, so every character that could
start markup in user or document text is replaced by its full-width twin (［ ］ （ ） ＊ ＿ ＃ ＜ ＞ …),
which reads the same in Chinese text and can never form a link, an image, a tag or a heading
(an & only where it would start an entity). Only
the `[n]` markers of the core's answer text and the markup written here survive as they are.

A message is built from *blocks* (one answer line, one source) joined as paragraphs and split only
between blocks, so a citation never straddles two messages; a single block longer than a whole
message is shortened, with a visible 「…」 where text was left out.
"""
from __future__ import annotations

import re
from itertools import zip_longest
from urllib.parse import quote

from bot.answer import Answer
from bot.chat.format import clause_place, shorten
from ingest.model import Clause

MESSAGE_LIMIT = 5000  # DingTalk's limit for markdown.text
TITLE = "规章问答"  # markdown.title: shown in notifications and the chat list (fixed: never user text)
MORE = "「…」"  # marks text left out to fit
QUOTE_CHARS = 300  # an inline quote (no web page to link to) is shortened beyond this
PLACE_CHARS = 120  # 《document》section · label, shortened beyond this
FEEDBACK_HINT = "这个回答有用吗？回复“有帮助”或“没帮助”告诉我。"

_FULL_WIDTH = str.maketrans({"\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］", "(": "（",
                             ")": "）", "<": "＜", ">": "＞", "#": "＃", "|": "｜", "~": "～", "!": "！"})
_LINE_START = re.compile(r"^([ \t]*)([-+=])", re.MULTILINE)  # list items and setext heading underlines
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")  # http://… would be linked automatically
_ENTITY = re.compile(r"&(?=#?\w+;)")  # &lt;font&gt; must not turn into a tag in the client
_MARKER = re.compile(r"\[\d+\]")
_MARKER_COLON = re.compile(r"(\[\d+\]):")  # "[1]: x" at a line start would define a link target
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\d+\])*\s*$")


def escape(text: str) -> str:
    """User or document text made inert in DingTalk markdown: no link, image, tag, heading or emphasis."""
    text = text.translate(_FULL_WIDTH)
    text = _ENTITY.sub("＆", _SCHEME.sub(r"\1：", text))
    return _LINE_START.sub(lambda m: m.group(1) + chr(ord(m.group(2)) + 0xFEE0), text)  # - + = → full width


def escape_answer(line: str) -> str:
    """An answer line escaped like `escape`, its [n] markers kept as they are."""
    pieces = _MARKER.split(line)
    marked = "".join(escape(p) + m for p, m in zip_longest(pieces, _MARKER.findall(line), fillvalue=""))
    return _MARKER_COLON.sub(r"\1：", marked)


def place(clause: Clause) -> str:
    """《document》section › path · label as plain text, shortened beyond PLACE_CHARS."""
    return shorten(clause_place(clause), PLACE_CHARS)


def clause_url(public_url: str, clause_id: str) -> str:
    """The clause on the office server: GET /clauses/{id} (its text, source and neighbours)."""
    return f"{quote(public_url.rstrip('/'), safe=':/%@')}/clauses/{quote(clause_id, safe='')}"


def quote_text(clause: Clause) -> str:
    """The clause's text for an inline quote, shortened with 「…」 beyond QUOTE_CHARS."""
    whole = " ".join(clause.text.split())
    short = shorten(whole, QUOTE_CHARS)
    return short if short == whole else short[:-1] + MORE


def source_block(number: int, clause: Clause, public_url: str) -> str:
    """[n] and where the clause stands: a link to it on the office page, else the quote inline."""
    where_text = escape(place(clause))
    if public_url:
        return f"[{number}] [{where_text}]({clause_url(public_url, clause.id)})"
    return f"[{number}] {where_text}\n\n> {escape(quote_text(clause))}"


def answer_blocks(answer: Answer, rewritten: str | None = None, public_url: str = "",
                  feedback: bool = False) -> list[str]:
    """The answer (one block per line, [n] markers kept), its sources, then the feedback hint."""
    blocks = [f"*（按“{escape(rewritten)}”理解）*"] if rewritten else []
    blocks += [escape_answer(line.strip()) for line in answer.text.split("\n") if line.strip()]
    if answer.citations:
        blocks.append("**来源**")
        blocks += [source_block(n, hit.clause, public_url) for n, hit in enumerate(answer.citations, start=1)]
    return [*blocks, FEEDBACK_HINT] if feedback else blocks


def fit(block: str, limit: int = MESSAGE_LIMIT) -> str:
    """The block, or when longer than the limit its start, 「…」 and its trailing [n] markers."""
    if len(block) <= limit:
        return block
    markers = _TRAILING_MARKERS.search(block)
    tail = markers.group().strip() if markers else ""
    tail = f" {tail}" if tail else ""
    return block[: limit - len(MORE) - len(tail)].rstrip() + MORE + tail


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks as paragraphs into as few messages as fit the limit, splitting only between blocks."""
    messages: list[str] = []
    current = ""
    for block in (fit(b, limit) for b in blocks if b.strip()):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        messages.append(current)
        current = block
    return [*messages, current] if current else messages


def markdown(text: str, at: str | None = None, title: str = TITLE) -> dict[str, object]:
    """The session-webhook payload of one markdown message, @-ing the asker (as the SDK's reply_markdown)."""
    payload: dict[str, object] = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    if at:
        payload["at"] = {"atUserIds": [at]}
    return payload


def notice(text: str, at: str | None = None) -> dict[str, object]:
    """A short plain notice (a refusal, an error) as one markdown message."""
    return markdown(fit(escape(text)), at)

