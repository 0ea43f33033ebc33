"""SMS segment counting follows the GSM 03.38 / UCS-2 rules real providers bill by."""

from __future__ import annotations

import pytest

from sanad.platform.sinks.sms_sink import GSM7_BASIC, GSM7_EXTENSION, Segments, count_segments


def test_alphabet_tables_have_the_standard_sizes() -> None:
    # 128 basic code points minus the escape; 10 extension characters.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments(1, "GSM-7")),
        ("Your code is 482913", Segments(1, "GSM-7")),
        ("a" * 160, Segments(1, "GSM-7")),
        ("a" * 161, Segments(2, "GSM-7")),
        ("a" * 306, Segments(2, "GSM-7")),
        ("a" * 307, Segments(3, "GSM-7")),
        # Extension characters cost two septets: 80 x 2 = 160 fits, 81 does not.
        ("€" * 80, Segments(1, "GSM-7")),
        ("€" * 81, Segments(2, "GSM-7")),
        ("[" * 81, Segments(2, "GSM-7")),
        # 306 septets, but the escape pair may not straddle parts: 152 | 153 | 1.
        ("a" * 152 + "€" + "a" * 152, Segments(3, "GSM-7")),
        # Ç is in the GSM alphabet, ç is not.
        ("Ç", Segments(1, "GSM-7")),
        ("ç", Segments(1, "UCS-2")),
        ("line one\nline two\r\n", Segments(1, "GSM-7")),
    ],
)
def test_gsm7(text: str, expected: Segments) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مرحبا", Segments(1, "UCS-2")),
        ("ب" * 70, Segments(1, "UCS-2")),
        ("ب" * 71, Segments(2, "UCS-2")),
        ("ب" * 134, Segments(2, "UCS-2")),
        ("ب" * 135, Segments(3, "UCS-2")),
        # One Arabic character turns a whole GSM-7 text into UCS-2.
        ("a" * 69 + "ب", Segments(1, "UCS-2")),
        ("a" * 70 + "ب", Segments(2, "UCS-2")),
        # Emoji are surrogate pairs (2 units) and are never split: 33 per 67-unit part.
        ("😀" * 35, Segments(1, "UCS-2")),
        ("😀" * 36, Segments(2, "UCS-2")),
        ("😀" * 67, Segments(3, "UCS-2")),
    ],
)
def test_ucs2(text: str, expected: Segments) -> None:
    assert count_segments(text) == expected


def test_realistic_arabic_otp() -> None:
    text = "رمز التحقق الخاص بك في سند هو 482913. لا تشاركه مع أحد."
    assert len(text) <= 70
    assert count_segments(text) == Segments(1, "UCS-2")
