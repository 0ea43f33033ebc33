"""Constrained value types the sections and dependents are built from."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# SAR with halalas; the ceiling only rejects absurd input, it is not a policy.
MAX_AMOUNT = Decimal("1000000000000")
HALALA = Decimal("0.01")


def in_halalas(value: Decimal) -> Decimal:
    """Always two decimals: ``1e2`` or ``100.000`` become ``100.00``, never ``1E+2`` on the wire."""
    return value.quantize(HALALA)


Money = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(in_halalas),
]


def printable(value: str) -> str:
    # Control characters (NUL above all, which Postgres refuses in JSON) are never text.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(printable),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(printable),
]

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def not_in_future(value: date) -> date:
    if value > date.today():
        raise ValueError("must not be in the future")
    return value


def plausible_birth_date(value: date) -> date:
    if value < EARLIEST_BIRTH_DATE:
        raise ValueError(f"must not be before {EARLIEST_BIRTH_DATE.isoformat()}")
    return not_in_future(value)


PastDate = Annotated[date, AfterValidator(not_in_future)]
BirthDate = Annotated[date, AfterValidator(plausible_birth_date)]
