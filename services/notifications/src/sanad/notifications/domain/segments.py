"""SMS segment counting (3GPP TS 23.038 / 23.040).

A text that fits the GSM-7 default alphabet costs 7 bits a character: 160 in one SMS,
153 a part when concatenated. Anything else (Arabic) goes as UCS-2: 70, then 67 a part.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Encoding = Literal["GSM-7", "UCS-2"]

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sent as escape + code: two septets each.
_GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")

_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


class SegmentCount(NamedTuple):
    segments: int
    encoding: Encoding


def encoding_of(text: str) -> Encoding:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _units(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in _GSM7_EXTENSION else 1 for ch in text]
    # UTF-16 on the wire: characters outside the BMP (emoji) take a surrogate pair.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    encoding = encoding_of(text)
    units = _units(text, encoding)
    single, per_part = _LIMITS[encoding]
    if sum(units) <= single:
        return SegmentCount(1, encoding)
    # An escape pair or a surrogate pair is never split across parts: pack greedily.
    parts, used = 1, 0
    for cost in units:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return SegmentCount(parts, encoding)
