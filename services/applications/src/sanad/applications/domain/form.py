"""The application form and what a submission still lacks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sanad.applications.domain.catalog import ProgramDefinition
from sanad.applications.domain.payment import (
    PaymentMethod,
    masked,
    normalise_card,
    normalise_iban,
)
from sanad.shared.events.profile import EmploymentStatus

# Money is exact: at most 2 decimal places, under ten million riyals a month.
Money = Annotated[Decimal, Field(ge=0, lt=10_000_000, max_digits=9, decimal_places=2)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IbanDestination(Strict):
    method: Literal["iban"]
    iban: str = Field(max_length=64)

    @field_validator("iban")
    @classmethod
    def _valid(cls, value: str) -> str:
        return normalise_iban(value)

    @property
    def number(self) -> str:
        return self.iban


class CardDestination(Strict):
    method: Literal["card"]
    card_number: str = Field(max_length=64)

    @field_validator("card_number")
    @classmethod
    def _valid(cls, value: str) -> str:
        return normalise_card(value)

    @property
    def number(self) -> str:
        return self.card_number


Payment = Annotated[IbanDestination | CardDestination, Field(discriminator="method")]


class ApplicationForm(Strict):
    """``PUT /v1/applications/{id}``: the whole form, saved as given (a draft may be partial;
    ``submit`` lists what is still missing)."""

    monthly_income: Money | None = None
    family_size: int | None = Field(None, ge=1, le=50)
    employment_status: EmploymentStatus | None = None
    category: str | None = Field(None, max_length=40)
    payment: Payment | None = None

    def public(self) -> dict[str, object]:
        """The form as responses show it: the payment destination masked."""
        data = self.model_dump(mode="json", exclude={"payment"})
        data["payment"] = None if self.payment is None else payment_view(self.payment)
        return data

    def for_event(self) -> dict[str, object]:
        """The form ApplicationSubmitted carries: the destination's method and last four."""
        data = self.model_dump(mode="json", exclude={"payment"})
        if self.payment is not None:
            data["payment"] = {
                "method": self.payment.method,
                "last4": self.payment.number[-4:],
            }
        return data


def payment_view(payment: IbanDestination | CardDestination) -> dict[str, str]:
    method: PaymentMethod = payment.method
    return {"method": method, "masked": masked(method, payment.number)}


@dataclass(frozen=True)
class Missing:
    field: str  # where it goes: form.monthly_income, documents.family_register, profile
    message: str
    code: str = "missing"


def missing_for_submission(
    form: ApplicationForm,
    program: ProgramDefinition,
    document_kinds: Collection[str],
    *,
    has_profile: bool,
) -> list[Missing]:
    """Everything a submission still needs, in a stable order; empty when it may go."""
    missing: list[Missing] = []
    for name in ("monthly_income", "family_size", "employment_status", "payment"):
        if getattr(form, name) is None:
            missing.append(Missing(f"form.{name}", "is required to submit"))
    if program.categories:
        codes = [c.code for c in program.categories]
        if form.category is None:
            missing.append(Missing("form.category", f"choose one of {', '.join(codes)}", "missing"))
        elif form.category not in codes:
            missing.append(
                Missing("form.category", f"must be one of {', '.join(codes)}", "unknown")
            )
    for kind in program.mandatory_documents:
        if kind not in document_kinds:
            missing.append(Missing(f"documents.{kind}", "a mandatory document is not uploaded"))
    if not has_profile:
        missing.append(
            Missing("profile", "your household profile has not reached this service yet")
        )
    return missing
