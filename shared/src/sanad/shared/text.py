"""Text a person typed: names, addresses, reasons, notes. One validated type for all of them.

Refused, because they are invisible or change how the text around them is displayed (a
name ``ACME\\u202egnp.exe`` shows as ``ACMEexe.png``; zero-width characters make two
different names look identical; tag characters smuggle hidden text):
- format characters (Unicode category Cf): the bidi controls U+061C, U+200E, U+200F,
  U+202A–U+202E, U+2066–U+2069, the zero-width U+200B, U+2060, U+FEFF, the soft hyphen,
  the tag characters U+E0000–U+E007F, … — except ZWNJ and ZWJ (below);
- control characters (Cc; in multi-line text TAB, LF and CR stay), surrogates (Cs),
  private-use characters (Co) and the line/paragraph separators U+2028/U+2029.

Kept: ZERO WIDTH NON-JOINER U+200C and ZERO WIDTH JOINER U+200D, each between two visible
characters (never first, last or doubled). Persian, Kurdish (Sorani) and Urdu names are
written in Arabic script and need ZWNJ to keep a letter from joining the next
(``مهرآبادی‌نژاد``, ``می‌خواهم``); ZWJ forces the joined form of an Arabic letter where a
word is abbreviated, and joins emoji sequences in free text. At either end or doubled they
show nothing and only serve to make look-alike strings.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

ZWNJ, ZWJ = "\u200c", "\u200d"
JOINERS = frozenset({ZWNJ, ZWJ})
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
MULTILINE_ALLOWED = frozenset("\t\n\r")

# The refused characters as a regular-expression class body, for the OpenAPI document
# (a unit test checks it against ``unicodedata``). BMP ranges as \\u escapes; the few
# characters beyond the BMP as themselves (ECMA-262 and Python read both).
_CF_AND_SEPARATORS = (
    r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    r"\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    + "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    + "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_PRIVATE_USE = r"\ue000-\uf8ff" + "\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_CONTROLS_LINE = r"\u0000-\u001f\u007f-\u009f"
_CONTROLS_MULTILINE = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"


def _pattern(controls: str) -> str:
    # The private-use ranges (131,000 characters) are refused by a lookahead rather than in
    # the class: the same language, but Hypothesis (under Schemathesis) builds a class by
    # visiting each of its characters — two minutes per pattern on a loaded machine, again
    # for every operation that has a text field — and skips lookaheads, filtering instead.
    plain = f"(?![{_PRIVATE_USE}])[^{controls}{_CF_AND_SEPARATORS}\\u200c\\u200d]"
    return f"^(?:(?:{plain})+(?:[\\u200c\\u200d](?:{plain})+)*)?$"


LINE_PATTERN = _pattern(_CONTROLS_LINE)
MULTILINE_PATTERN = _pattern(_CONTROLS_MULTILINE)


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character ``value`` may not hold (as ``U+202E``), or None."""
    previous = ""
    for index, char in enumerate(value):
        if char in JOINERS:
            # A joiner only between two visible characters.
            last = index == len(value) - 1
            if index == 0 or previous in JOINERS or last:
                return f"U+{ord(char):04X}"
        elif unicodedata.category(char) in REFUSED_CATEGORIES and not (
            multiline and char in MULTILINE_ALLOWED
        ):
            return f"U+{ord(char):04X}"
        previous = char
    return None


@dataclass(frozen=True)
class PlainText:
    """``Annotated`` metadata refusing the characters above (``multiline`` keeps TAB, LF, CR),
    with the rule stated in the JSON Schema as a ``pattern``. The check itself is
    ``refused_character``: its message names the character, and it knows the joiner rule."""

    multiline: bool = False

    def _check(self, value: str) -> str:
        if (found := refused_character(value, multiline=self.multiline)) is not None:
            raise ValueError(
                f"must not contain invisible or direction-changing characters ({found})"
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = MULTILINE_PATTERN if self.multiline else LINE_PATTERN
        return json_schema


PLAIN_LINE = PlainText()
PLAIN_MULTILINE = PlainText(multiline=True)


def _stripped(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


# The shared types; a field with other bounds writes
# ``Annotated[str, StringConstraints(...), PLAIN_LINE]``.
ShortText = Annotated[str, _stripped(1, 100), PLAIN_LINE]
Name = Annotated[str, _stripped(1, 200), PLAIN_LINE]
FreeText = Annotated[str, _stripped(1, 2000), PLAIN_MULTILINE]
