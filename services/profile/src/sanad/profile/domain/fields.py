"""Constrained value types the sections and dependents are built from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# SAR with halalas; the ceiling only rejects absurd input, it is not a policy.
MAX_AMOUNT = Decimal("1000000000000")
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)]

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

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
