"""What a citizen may say about one dependent. Household-wide rules (no one twice, not the
citizen, the size limit, the family register) are the profile aggregate's. The birth date
comes from the family register: it may be left out, and when sent it must be the register's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sanad.profile.domain.fields import BirthDate, LongText, Money
from sanad.profile.domain.sections import disability_type_matches
from sanad.shared.events import profile as wire
from sanad.shared.events.profile import DisabilityType, Relationship
from sanad.shared.national_id import PATTERN, validate_national_id


class DependentInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    full_name: LongText
    national_id: str = Field(
        description="10 digits, starting with 1 or 2, the last a Luhn check digit",
        json_schema_extra={"pattern": PATTERN},
    )
    relationship: Relationship
    birth_date: BirthDate | None = None
    has_disability: bool = False
    disability_type: DisabilityType | None = Field(default=None, validate_default=True)
    monthly_income: Money = Field(default=Decimal("0"))  # the dependent's own income, SAR a month

    _disability = field_validator("disability_type")(disability_type_matches)

    @field_validator("national_id", mode="before")
    @classmethod
    def _valid_national_id(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string of 10 digits")
        return validate_national_id(value)

    def to_dependent(self, dependent_id: UUID, *, birth_date: date) -> wire.Dependent:
        """The dependent, with the birth date the family register holds."""
        return wire.Dependent(
            dependent_id=dependent_id, **(self.model_dump() | {"birth_date": birth_date})
        )
