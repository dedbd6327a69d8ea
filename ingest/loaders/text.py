"""Plain text and markdown: bytes → str, detecting UTF-8, GBK/GB18030, Big5 and Unicode BOMs."""
from __future__ import annotations

import codecs
import unicodedata
from functools import lru_cache

from charset_normalizer import from_bytes

from ingest.errors import LoadError

# Tried strictly in this order; the first decoding that reads as plausible text wins. GB18030 is a
# superset of GB2312 and GBK; CP950 and Big5-HKSCS are supersets of Big5 for files Big5 rejects.
_CANDIDATE_ENCODINGS = ("utf-8", "gb18030", "big5", "cp950", "big5hkscs")
_GOOD_ENOUGH = 0.9  # quality at which a candidate is taken without looking further
LAST_RESORT = 0.8  # lowest quality accepted when no candidate is good enough
_QUALITY_SAMPLE = 50_000  # characters scored; enough to judge, cheap on huge files

UNICODE_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_TEXT_CONTROL_BYTES = b"\t\n\r\x0b\x0c\x1b"  # whitespace, and ESC from terminal-coloured logs
_SUSPECT_CATEGORIES = frozenset({"Co", "Cn", "Cs", "Cc"})  # private use, unassigned, controls
# Ranges of the most frequent hanzi: GB2312 level 1 (simplified) and Big5 常用字 (traditional).
# A wrong CJK decoding yields valid but mostly rare characters, so their share tells the two apart.
_FREQUENT_HANZI = (("gb2312", b"\xb0\xa1", b"\xd7\xf9"), ("big5", b"\xa4\x40", b"\xc6\x7e"))


def load_plain(data: bytes) -> str:
    """Text or markdown: decoded verbatim, so line n of the result is line n of the file."""
    text = normalise_newlines(decode(data))
    if not text.strip():
        raise LoadError("文件为空（只有空白字符）")
    return text


def decode(data: bytes) -> str:
    """Decode a text file's bytes: Unicode BOM, else strict UTF-8 → GB18030 → Big5, then a guess."""
    for bom, encoding in UNICODE_BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data[len(bom):], encoding)
    if b"\x00" in data:  # NUL never occurs in text in any of the encodings above
        raise LoadError("看起来是二进制文件而不是文本（含有 NUL 字节）")
    tried: list[tuple[float, str]] = []
    utf8 = strict_decode(data, "utf-8")
    # Valid UTF-8 with multi-byte sequences is practically never another encoding by accident, while
    # a short text with a few Latin accents or symbols scores low on the CJK-tuned quality measure.
    if utf8 is not None and not data.isascii() and quality(utf8) >= 0.3:
        return utf8
    for encoding in _CANDIDATE_ENCODINGS:
        text = strict_decode(data, encoding)
        if text is not None:
            score = quality(text)
            if score >= _GOOD_ENOUGH:
                return text
            tried.append((score, text))
    _reject_damaged_utf8(data)
    tried.append(_charset_normalizer_guess(data))
    score, text = max(tried, key=lambda pair: pair[0])  # max keeps the earliest among equals
    if score >= LAST_RESORT:
        return text
    if _control_byte_share(data) > 0.02:
        raise LoadError("看起来是二进制文件而不是文本（控制字符过多）")
    raise LoadError("无法识别文件编码（不是 UTF-8、GBK/GB18030 或 Big5）")


def _decode_with_bom(data: bytes, encoding: str) -> str:
    """Decode the bytes after a BOM, which names the encoding for certain."""
    text = strict_decode(data, encoding)
    if text is None:
        raise LoadError(f"文件以 {encoding.upper()} 的 BOM 开头，但内容不是有效的 {encoding.upper()}")
    return text


def strict_decode(data: bytes, encoding: str) -> str | None:
    """The strict decoding, or None if the bytes are invalid in that encoding."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def quality(text: str) -> float:
    """Share of non-space characters that look like real text (1.0 = all of them)."""
    chars = [ch for ch in text[:_QUALITY_SAMPLE] if not ch.isspace()]
    if not chars:
        return 1.0
    return sum(_char_weight(ch) for ch in chars) / len(chars)


@lru_cache(maxsize=65536)
def _char_weight(ch: str) -> float:
    """1 for ordinary text characters, 0 for ones no real document holds, 0.5 in between."""
    if ch == "\ufffd" or unicodedata.category(ch) in _SUSPECT_CATEGORIES:
        return 0.0
    if ch.isascii() or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef":
        return 1.0  # ASCII, CJK punctuation, full-width forms
    if "\u2000" <= ch <= "\u206f":
        return 1.0  # general punctuation: quotes, dashes, ellipsis
    return 1.0 if _is_frequent_hanzi(ch) else 0.5


def _is_frequent_hanzi(ch: str) -> bool:
    """Whether ch is among the common simplified or traditional characters."""
    for codec, low, high in _FREQUENT_HANZI:
        try:
            code = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False


def _reject_damaged_utf8(data: bytes) -> None:
    """Raise if the bytes are UTF-8 with a few bad bytes: decoding them otherwise gives mojibake."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if not ch.isascii()) - bad
    if bad and good >= 10 * bad:
        line = text[: text.index("\ufffd")].count("\n") + 1
        raise LoadError(f"文件是 UTF-8 编码，但第 {line} 行含有无效字节（文件可能已损坏或被截断）")


def _charset_normalizer_guess(data: bytes) -> tuple[float, str]:
    """charset-normalizer's best decoding with its quality, or (0, "") when it has none."""
    match = from_bytes(data).best()
    if match is None:
        return 0.0, ""
    text = str(match)
    return quality(text), text


def _control_byte_share(data: bytes) -> float:
    """Share of bytes that are control codes other than the usual whitespace."""
    controls = sum(1 for byte in data if byte < 0x20 or byte == 0x7F)
    controls -= sum(data.count(byte) for byte in _TEXT_CONTROL_BYTES)
    return controls / len(data)


def normalise_newlines(text: str) -> str:
    """Turn \\r\\n and lone \\r into \\n, leaving every other character as it is."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
