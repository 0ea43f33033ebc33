from __future__ import annotations

import pytest

from sanad.notifications.domain.segments import count_segments


@pytest.mark.parametrize(
    ("text", "segments", "encoding"),
    [
        ("", 1, "GSM-7"),
        ("a" * 160, 1, "GSM-7"),
        ("a" * 161, 2, "GSM-7"),
        ("a" * 306, 2, "GSM-7"),  # 2 x 153
        ("a" * 307, 3, "GSM-7"),
        ("€" * 80, 1, "GSM-7"),  # extension characters cost two septets
        ("€" * 81, 2, "GSM-7"),
        ("ب" * 70, 1, "UCS-2"),  # Arabic: 70 a segment
        ("ب" * 71, 2, "UCS-2"),
        ("ب" * 134, 2, "UCS-2"),  # 2 x 67
        ("ب" * 135, 3, "UCS-2"),
        ("a" * 69 + "ب", 1, "UCS-2"),  # one Arabic letter makes the whole text UCS-2
        ("a" * 160 + "ب", 3, "UCS-2"),
        ("😀" * 35, 1, "UCS-2"),  # outside the BMP: a surrogate pair each
        ("😀" * 36, 2, "UCS-2"),
    ],
)
def test_segments_and_encoding(text: str, segments: int, encoding: str) -> None:
    assert count_segments(text) == (segments, encoding)


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 plain septets + one 2-septet character: 154 > 153, so the euro starts part two.
    assert count_segments("a" * 152 + "€" + "a" * 10).segments == 2
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3
