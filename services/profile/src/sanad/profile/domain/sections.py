"""What a citizen may put in each section: the input models, with every limit.

Each ``<Section>Input`` validates one ``PUT /v1/profile/{section}`` body and converts to the
section as published (``sanad.shared.events.profile``). Rules that need more than the body
(nationality is read-only) live on the profile aggregate.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from sanad.profile.domain.fields import LongText, Money, PastDate, ShortText
from sanad.shared.events import profile as wire
from sanad.shared.events.base import Part
from sanad.shared.events.profile import (
    AssetKind,
    DisabilityType,
    EducationLevel,
    EmploymentStatus,
    HousingType,
    IncomeType,
    LicenseKind,
    MaritalStatus,
    Region,
    SectionName,
)

MAX_INCOME_SOURCES = 20
MAX_LICENSES = 20
MAX_ASSETS = 50

# The short national address: four letters then four digits (e.g. RRRD2929).
NATIONAL_ADDRESS = re.compile(r"^[A-Z]{4}[0-9]{4}$")
COMMERCIAL_REGISTRATION = re.compile(r"^[0-9]{10}$")
PROFESSIONAL_LICENSE = re.compile(r"^[A-Za-z0-9-]{1,30}$")

LicenseNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)
]


class SectionInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @abstractmethod
    def to_section(self, current: wire.Sections) -> Part:
        """The section as published, given the sections it replaces one of."""


def disability_type_matches(value: DisabilityType | None, info: ValidationInfo) -> Any:
    """A disability type is required with a disability and refused without one."""
    has_disability = info.data.get("has_disability")
    if has_disability and value is None:
        raise ValueError("is required when has_disability is true")
    if has_disability is False and value is not None:
        raise ValueError("must be empty when has_disability is false")
    return value


class PersonalInput(SectionInput):
    marital_status: MaritalStatus
    # Read-only (it comes from the civil registry); accepted only unchanged, so a client may
    # send back what it read. The profile aggregate checks it.
    nationality: str | None = None
    has_disability: bool
    disability_type: DisabilityType | None = Field(default=None, validate_default=True)
    is_orphan: bool

    _disability = field_validator("disability_type")(disability_type_matches)

    def to_section(self, current: wire.Sections) -> wire.Personal:
        return wire.Personal(
            marital_status=self.marital_status,
            nationality=current.personal.nationality,
            has_disability=self.has_disability,
            disability_type=self.disability_type,
            is_orphan=self.is_orphan,
        )


class HousingInput(SectionInput):
    region: Region
    city: ShortText
    district: ShortText
    national_address: str
    housing_type: HousingType
    monthly_rent: Money | None = Field(default=None, validate_default=True)

    @field_validator("national_address", mode="before")
    @classmethod
    def _short_address(cls, value: Any) -> Any:
        normalised = value.strip().upper() if isinstance(value, str) else value
        if not isinstance(normalised, str) or not NATIONAL_ADDRESS.fullmatch(normalised):
            raise ValueError("must be a short national address: 4 letters then 4 digits (AAAA1234)")
        return normalised

    @field_validator("monthly_rent")
    @classmethod
    def _rent_only_when_rented(cls, value: Decimal | None, info: ValidationInfo) -> Decimal:
        rented = info.data.get("housing_type") == "rented"
        if rented and not value:
            raise ValueError("is required (more than 0) when housing_type is rented")
        if not rented and value:
            raise ValueError("must be empty or 0 unless housing_type is rented")
        return value or Decimal("0")

    def to_section(self, current: wire.Sections) -> wire.Housing:
        assert self.monthly_rent is not None  # the validator fills it
        return wire.Housing(
            region=self.region,
            city=self.city,
            district=self.district,
            national_address=self.national_address,
            housing_type=self.housing_type,
            monthly_rent=self.monthly_rent,
        )


class IncomeSourceInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: IncomeType
    monthly_amount: Money
    payer: LongText  # the employer or payer


class IncomeInput(SectionInput):
    sources: list[IncomeSourceInput] = Field(max_length=MAX_INCOME_SOURCES)

    def to_section(self, current: wire.Sections) -> wire.Income:
        return wire.Income(
            sources=[wire.IncomeSource(**source.model_dump()) for source in self.sources]
        )


class EducationInput(SectionInput):
    highest_level: EducationLevel

    def to_section(self, current: wire.Sections) -> wire.Education:
        return wire.Education(highest_level=self.highest_level)


class EmploymentInput(SectionInput):
    status: EmploymentStatus
    employer: LongText | None = Field(default=None, validate_default=True)
    since: PastDate | None = None

    @field_validator("employer")
    @classmethod
    def _employer_when_employed(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("status") == "employed" and value is None:
            raise ValueError("is required when status is employed")
        return value

    def to_section(self, current: wire.Sections) -> wire.Employment:
        return wire.Employment(status=self.status, employer=self.employer, since=self.since)


class LicenseInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LicenseKind
    number: LicenseNumber
    type: ShortText  # the activity or profession
    active: bool

    @field_validator("number")
    @classmethod
    def _number_format(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "commercial_registration":
            if not COMMERCIAL_REGISTRATION.fullmatch(value):
                raise ValueError("a commercial registration number is exactly 10 digits")
        elif not PROFESSIONAL_LICENSE.fullmatch(value):
            raise ValueError("a license number has letters, digits and dashes only")
        return value


class LicensesInput(SectionInput):
    items: list[LicenseInput] = Field(max_length=MAX_LICENSES)

    @field_validator("items")
    @classmethod
    def _no_duplicates(cls, items: list[LicenseInput]) -> list[LicenseInput]:
        seen = set()
        for item in items:
            if (item.kind, item.number) in seen:
                raise ValueError(f"{item.kind} {item.number} is listed twice")
            seen.add((item.kind, item.number))
        return items

    def to_section(self, current: wire.Sections) -> wire.Licenses:
        return wire.Licenses(items=[wire.License(**item.model_dump()) for item in self.items])


class AssetInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AssetKind
    description: LongText
    estimated_value: Money


class PropertyInput(SectionInput):
    assets: list[AssetInput] = Field(max_length=MAX_ASSETS)

    def to_section(self, current: wire.Sections) -> wire.Property:
        return wire.Property(assets=[wire.Asset(**asset.model_dump()) for asset in self.assets])


SECTION_INPUTS: dict[SectionName, type[SectionInput]] = {
    "personal": PersonalInput,
    "housing": HousingInput,
    "income": IncomeInput,
    "education": EducationInput,
    "employment": EmploymentInput,
    "licenses": LicensesInput,
    "property": PropertyInput,
}
