"""What an uploaded document really is, from its first bytes (never its name or declared
type), and the limits on documents."""

from __future__ import annotations

from typing import Literal

ContentType = Literal["application/pdf", "image/jpeg", "image/png"]
DocumentFormat = Literal["pdf", "jpeg", "png"]

FORMAT_OF: dict[ContentType, DocumentFormat] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpeg",
    "image/png": "png",
}
_MAGIC: tuple[tuple[bytes, ContentType], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
# How many leading bytes ``sniff`` needs.
SNIFF_BYTES = 8


def sniff(head: bytes) -> ContentType | None:
    """The content type the bytes begin with, or None when they are not PDF, JPEG or PNG."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    return None
