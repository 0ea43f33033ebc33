"""Constrained value types the sections and dependents are built from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

from sanad.shared import text

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


# Text a person typed: no control, bidi or zero-width characters (sanad.shared.text).
ShortText = text.ShortText
LongText = text.Name

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
