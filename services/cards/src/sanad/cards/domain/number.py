"""Card numbers: 16 digits, the last a Luhn check digit over the whole number.

The first 15 digits are drawn from the operating system's CSPRNG (``secrets``), so numbers
are neither sequential nor guessable from one another; uniqueness is the database's unique
index (a clash, about one in 10**14 per draw at a million cards, is drawn again).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sanad.shared.national_id import luhn_valid

LENGTH = 16


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_valid(body + d))


def new_card_number(draw: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh number: a first digit 1-9 (never a leading zero), 14 random digits, the check."""
    body = str(1 + draw(9)) + "".join(str(draw(10)) for _ in range(LENGTH - 2))
    return body + luhn_check_digit(body)


def is_card_number(value: str) -> bool:
    return len(value) == LENGTH and value.isascii() and value.isdigit() and luhn_valid(value)


def grouped(number: str) -> str:
    """``1234 5678 9012 3456``, as printed on the card."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
