"""Load one knowledge document as plain text lines; their numbers are what citations point to.

One loader per format, each turning a file's bytes into text; the registry below picks one by suffix.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.errors import LoadError
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_plain

Loader = Callable[[bytes], str]  # a file's bytes → its text as "\n"-separated lines, or LoadError

LOADERS: dict[str, Loader] = {
    ".txt": load_plain,
    ".md": load_plain,
    ".markdown": load_plain,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
    ".pdf": load_pdf,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(LOADERS)


def load_text(path: Path) -> str:
    """Read one knowledge document and return its text as "\\n"-separated lines."""
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        supported = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError(f"不支持的文件类型 {suffix or '（无扩展名）'}，支持的类型：{supported}")
    data = _read_bytes(path)
    if not data:
        raise LoadError("文件为空（0 字节）")
    try:
        return loader(data)
    except RecursionError as exc:  # pathologically nested HTML/XML
        raise LoadError("文档结构嵌套过深，无法解析") from exc


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, with OS errors turned into a LoadError that says what went wrong."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise LoadError("文件不存在") from exc
    except IsADirectoryError as exc:
        raise LoadError("这是一个目录，不是文件") from exc
    except PermissionError as exc:
        raise LoadError("没有读取该文件的权限") from exc
    except OSError as exc:
        raise LoadError(f"无法读取文件（{exc.strerror or exc}）") from exc
