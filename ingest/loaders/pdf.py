"""PDF: the extracted text, page after page."""
from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import LoadError
from ingest.loaders.text import normalise_newlines


def load_pdf(data: bytes) -> str:
    """A PDF's extracted text, page after page."""
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock_pdf(reader)
        pages = [normalise_newlines(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types (and plain KeyError/ValueError) on bad files
        raise LoadError(f"PDF 文件已损坏，无法读取（{exc}）") from exc
    if not any(page.strip() for page in pages):
        raise LoadError("PDF 中没有可提取的文字（可能是扫描件，需要先做文字识别）")
    return "\n".join(page.rstrip("\n") for page in pages)


def _unlock_pdf(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password, as viewers do, or raise."""
    if not reader.is_encrypted:
        return
    try:
        result = reader.decrypt("")
    except DependencyError as exc:  # AES needs the optional cryptography package
        raise LoadError("PDF 已加密（AES），解密需要安装 cryptography 库") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise LoadError("PDF 已加密，需要密码才能打开，无法读取")
