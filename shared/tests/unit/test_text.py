"""The shared text type refuses invisible and direction-changing characters; the pattern the
OpenAPI document states agrees with the check."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Annotated

import pytest
from pydantic import BaseModel, StringConstraints, ValidationError

from sanad.shared.text import (
    LINE_PATTERN,
    MULTILINE_PATTERN,
    PLAIN_LINE,
    FreeText,
    Name,
    refused_character,
)


class Person(BaseModel):
    name: Name
    note: FreeText | None = None
    aliases: list[Annotated[str, StringConstraints(max_length=20), PLAIN_LINE]] = []


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("ACME\u202egnp.exe", "U+202E"),  # RIGHT-TO-LEFT OVERRIDE: shows as ACMEexe.png
        ("Ali\u200bHassan", "U+200B"),  # ZERO WIDTH SPACE
        ("\u2066Ali\u2069", "U+2066"),  # LEFT-TO-RIGHT ISOLATE
        ("Ali\u200f", "U+200F"),  # RIGHT-TO-LEFT MARK
        ("\u061cAli", "U+061C"),  # ARABIC LETTER MARK
        ("Ali\ufeff", "U+FEFF"),  # BOM / ZERO WIDTH NO-BREAK SPACE
        ("Ali\u2060", "U+2060"),  # WORD JOINER
        ("Al\u00adi", "U+00AD"),  # SOFT HYPHEN
        ("Ali\U000e0041\U000e0042", "U+E0041"),  # tag characters (hidden ASCII)
        ("Ali\ue000", "U+E000"),  # private use
        ("Ali\u2028Hassan", "U+2028"),  # LINE SEPARATOR
        ("Ali\nHassan", "U+000A"),  # a name is one line
        ("Ali\x00", "U+0000"),
        ("\u200cAli", "U+200C"),  # a joiner first,
        ("Ali\u200d", "U+200D"),  # last,
        ("A\u200c\u200cli", "U+200C"),  # or doubled joins nothing
    ],
)
def test_a_name_with_an_invisible_or_bidi_character_is_refused(value: str, named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Person(name=value)
    (error,) = refused.value.errors()
    assert error["loc"] == ("name",)
    assert named in error["msg"]
    assert not re.fullmatch(LINE_PATTERN, value)


@pytest.mark.parametrize(
    "value",
    [
        "Ali Hassan",
        "علي حسن",
        "مهرآبادی\u200cنژاد",  # Persian: ZWNJ keeps ی from joining ن
        "کوردستان\u200cی",  # Sorani Kurdish
        "ه\u200dه",  # ZWJ: the joined form of a letter
        "José Müller-Lüdenscheidt",
        "👨\u200d👩\u200d👧",  # an emoji family (a ZWJ sequence)
    ],
)
def test_names_in_every_script_are_kept_with_zwnj_and_zwj_between_characters(value: str) -> None:
    assert Person(name=value).name == value
    assert re.fullmatch(LINE_PATTERN, value)


def test_free_text_keeps_lines_and_tabs_but_not_other_controls() -> None:
    assert Person(name="A", note="first line\n\tsecond\r\n").note == "first line\n\tsecond"
    assert re.fullmatch(MULTILINE_PATTERN, "a\nb\tc")
    with pytest.raises(ValidationError):
        Person(name="A", note="bell\x07")


def test_list_items_are_checked_one_by_one() -> None:
    with pytest.raises(ValidationError) as refused:
        Person(name="A", aliases=["ok", "bad\u202e"])
    assert refused.value.errors()[0]["loc"] == ("aliases", 1)


def test_the_documented_pattern_is_in_the_json_schema() -> None:
    schema = Person.model_json_schema()
    assert schema["properties"]["name"]["pattern"] == LINE_PATTERN
    assert schema["properties"]["name"]["maxLength"] == 200


def test_the_pattern_refuses_exactly_what_the_check_refuses() -> None:
    """Every code point of this Python's Unicode database, alone between two letters."""
    line = re.compile(LINE_PATTERN)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) == "Cs":
            continue  # not in a JSON string a client can send as UTF-8
        value = f"a{char}b"
        by_check = refused_character(value) is None
        by_pattern = line.fullmatch(value) is not None
        assert by_check == by_pattern, f"U+{code:04X} ({unicodedata.category(char)})"
