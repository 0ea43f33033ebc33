"""Events the profile service publishes.

``ProfileUpdated`` is event-carried state: the whole unified profile as the profile service
shows it (``GET /v1/profile`` answers exactly this payload), so another service can rebuild
it from the stream alone by keeping the highest ``version`` per ``citizen_id``.

The vocabularies (the ``Literal`` aliases) are the contract; the profile service adds the
input limits (lengths, list sizes, amounts) on its side before anything is published.
The citizen's own national ID is not carried (consumers key by ``citizen_id``).

Version 2 carries only what its consumers read: no contact details (only notifications writes
to the citizen, and it reads them from ``ContactChanged``, a topic of their own), and of each
dependent no name and no national ID, only whether they are a citizen (eligibility's one use of
the number). ``GET /v1/profile`` still answers the whole profile, in version 1's shape;
``ProfileUpdated.upcast`` turns a version 1 event (history) into version 2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict

from sanad.shared import topics
from sanad.shared.events.base import Language, Part
from sanad.shared.events.envelope import Event
from sanad.shared.national_id import is_citizen_id

MaritalStatus = Literal["single", "married", "divorced", "widowed"]
DisabilityType = Literal[
    "physical", "visual", "hearing", "intellectual", "psychological", "multiple", "other"
]
Region = Literal[
    "riyadh",
    "makkah",
    "madinah",
    "eastern",
    "qassim",
    "asir",
    "tabuk",
    "hail",
    "northern_borders",
    "jazan",
    "najran",
    "al_bahah",
    "al_jawf",
]
HousingType = Literal["owned", "rented", "provided", "other"]
IncomeType = Literal["salary", "pension", "private_business", "social_insurance", "other"]
EducationLevel = Literal[
    "none",
    "primary",
    "intermediate",
    "secondary",
    "diploma",
    "bachelor",
    "master",
    "doctorate",
]
EmploymentStatus = Literal["employed", "unemployed", "student", "retired", "unable_to_work"]
LicenseKind = Literal["commercial_registration", "professional_license"]
AssetKind = Literal["real_estate", "vehicle", "other"]
Relationship = Literal["spouse", "son", "daughter", "father", "mother", "other"]
SectionName = Literal[
    "personal", "housing", "income", "education", "employment", "licenses", "property"
]


class Contact(Part):
    mobile: str
    email: str | None = None
    language: Language = "ar"


class Registry(Part):
    """What the civil registry gave at registration; read-only for the citizen."""

    full_name_ar: str
    full_name_en: str
    sex: Literal["M", "F"]
    birth_date: date


class Personal(Part):
    marital_status: MaritalStatus | None = None
    nationality: str  # from the registry, read-only
    has_disability: bool | None = None
    disability_type: DisabilityType | None = None
    is_orphan: bool | None = None


class Housing(Part):
    region: Region
    city: str
    district: str
    national_address: str  # the short address, e.g. RRRD2929
    housing_type: HousingType
    monthly_rent: Decimal


class IncomeSource(Part):
    type: IncomeType
    monthly_amount: Decimal
    payer: str


class Income(Part):
    sources: list[IncomeSource]


class Education(Part):
    highest_level: EducationLevel


class Employment(Part):
    status: EmploymentStatus
    employer: str | None = None
    since: date | None = None


class License(Part):
    kind: LicenseKind
    number: str
    type: str
    active: bool


class Licenses(Part):
    items: list[License]


class Asset(Part):
    kind: AssetKind
    description: str
    estimated_value: Decimal


class Property(Part):
    assets: list[Asset]


class Sections(Part):
    """Every section; ``None`` until the citizen fills it (personal is pre-filled)."""

    personal: Personal
    housing: Housing | None = None
    income: Income | None = None
    education: Education | None = None
    employment: Employment | None = None
    licenses: Licenses | None = None
    property: Property | None = None


class Dependent(Part):
    dependent_id: UUID
    full_name: str
    national_id: str
    relationship: Relationship
    birth_date: date
    has_disability: bool
    disability_type: DisabilityType | None = None
    monthly_income: Decimal


class Household(Part):
    """The derived figures eligibility needs."""

    household_size: int  # the citizen plus each dependent
    total_monthly_income: Decimal  # the citizen's income sources plus dependents' own income
    total_property_value: Decimal  # the estimated value of every asset


class Completeness(Part):
    personal: bool
    housing: bool
    income: bool
    education: bool
    employment: bool
    licenses: bool
    property: bool
    dependents: bool
    complete: bool  # every section above


class ProfileUpdated(Event):
    """Event-carried state: the whole profile, versioned per citizen so stale copies lose."""

    EVENT_TYPE = "ProfileUpdated"
    TOPIC = topics.PROFILE_UPDATED

    citizen_id: UUID
    version: int
    registry: Registry
    contact: Contact
    sections: Sections
    dependents: list[Dependent]
    household: Household
    completeness: Completeness

    def aggregate_key(self) -> str:
        return str(self.citizen_id)

    def upcast(self) -> ProfileUpdatedV2:
        """This version 1 event as version 2 says it: its contact and its dependents' names
        and national IDs dropped (a dependent's ID read only for "is a citizen")."""
        return ProfileUpdatedV2(
            citizen_id=self.citizen_id,
            version=self.version,
            registry=self.registry,
            sections=self.sections,
            dependents=[
                DependentV2(
                    dependent_id=d.dependent_id,
                    relationship=d.relationship,
                    birth_date=d.birth_date,
                    has_disability=d.has_disability,
                    disability_type=d.disability_type,
                    monthly_income=d.monthly_income,
                    is_citizen=is_citizen_id(d.national_id),
                )
                for d in self.dependents
            ],
            household=self.household,
            completeness=self.completeness,
        )


class DependentV2(Part):
    """A dependent as version 2 carries them: no name, no national ID."""

    dependent_id: UUID
    relationship: Relationship
    birth_date: date
    has_disability: bool
    disability_type: DisabilityType | None = None
    monthly_income: Decimal
    is_citizen: bool  # their national ID is a citizen's (starts with 1), not a residence permit


class ProfileUpdatedV2(Event):
    """Version 2: the profile without contact details, and dependents without names or
    national IDs (see the module's docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="ProfileUpdated")

    EVENT_TYPE = "ProfileUpdated"
    SCHEMA_VERSION = 2
    TOPIC = topics.PROFILE_UPDATED

    citizen_id: UUID
    version: int
    registry: Registry
    sections: Sections
    dependents: list[DependentV2]
    household: Household
    completeness: Completeness

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class ContactChanged(Event):
    """How to reach the citizen, as of profile ``version`` (the same counter as
    ``ProfileUpdated``'s, so a consumer of both keeps the newest): published when the contact
    changes (a change of mobile); the first one is in ``CitizenRegistered``. Read only by
    notifications."""

    EVENT_TYPE = "ContactChanged"
    TOPIC = topics.CONTACT_CHANGED

    citizen_id: UUID
    version: int
    mobile: str
    email: str | None = None
    language: Language = "ar"

    def aggregate_key(self) -> str:
        return str(self.citizen_id)
