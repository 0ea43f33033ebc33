"""The profile aggregate: one citizen's unified profile, its invariants and derived figures.

Every change returns a new profile one version higher; the service stores it and publishes
``to_event()`` in the same transaction (and ``contact_event()`` when the contact changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import cast, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from sanad.profile.domain.dependents import DependentInput
from sanad.profile.domain.household import PersonFacts, RegisteredRelative
from sanad.profile.domain.sections import PersonalInput, SectionInput
from sanad.shared.events import CitizenRegisteredV1, CitizenRegisteredV3
from sanad.shared.events import profile as wire
from sanad.shared.events.profile import MaritalStatus, SectionName

MARITAL_STATUSES: frozenset[str] = frozenset(get_args(MaritalStatus))


@dataclass(frozen=True)
class RuleBroken(Exception):
    """An input that is well-formed alone but breaks a rule of the profile."""

    field: str  # where the client put it, e.g. body.national_id
    message: str
    code: str


class DependentNotFound(LookupError):
    pass


def check_against_register(data: DependentInput, facts: PersonFacts) -> RegisteredRelative:
    """The register's record of the claimed dependent, or the rule the claim breaks. The
    family register is checked first, so nothing is said about a stranger's ID (whether it
    is staff's, or has an account) beyond "not in your family register"."""
    relative = facts.relative
    if relative is None:
        raise RuleBroken(
            "body.national_id",
            "is not in your family register (spouse, children and parents, as the civil "
            "registry records them)",
            "not_in_family_register",
        )
    if relative.relationship != data.relationship:
        raise RuleBroken(
            "body.relationship",
            f"does not match the family register, which records this person as your "
            f"{relative.relationship}",
            "registry_mismatch",
        )
    if data.birth_date is not None and data.birth_date != relative.birth_date:
        raise RuleBroken(
            "body.birth_date",
            "does not match the family register (leave it out: the register's is used)",
            "registry_mismatch",
        )
    if facts.is_staff:
        raise RuleBroken(
            "body.national_id", "belongs to a staff member: staff are nobody's dependents", "staff"
        )
    if facts.has_own_account:
        raise RuleBroken(
            "body.national_id",
            "has their own account: they cannot be claimed as a dependent without their consent",
            "has_own_account",
        )
    if facts.in_another_household:
        raise RuleBroken(
            "body.national_id",
            "is already a dependent in another household (a person is a dependent in one "
            "household at a time)",
            "in_another_household",
        )
    return relative


def registry_marital_status(value: str) -> MaritalStatus | None:
    """The registry's marital status if it is one we know; else the citizen gives it."""
    normalised = value.strip().lower()
    return cast(MaritalStatus, normalised) if normalised in MARITAL_STATUSES else None


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    citizen_id: UUID
    # The citizen's own national ID's pseudonym: who has an account (nobody's dependent).
    national_id_ref: str
    version: int
    registry: wire.Registry
    contact: wire.Contact
    sections: wire.Sections
    dependents: tuple[wire.Dependent, ...] = ()

    @classmethod
    def from_registration(
        cls, event: CitizenRegisteredV1 | CitizenRegisteredV3, national_id_ref: str
    ) -> Profile:
        return cls(
            citizen_id=event.citizen_id,
            national_id_ref=national_id_ref,
            version=1,
            registry=wire.Registry(
                full_name_ar=event.full_name_ar,
                full_name_en=event.full_name_en,
                sex=event.sex,
                birth_date=event.birth_date,
            ),
            contact=wire.Contact(mobile=event.mobile, email=event.email, language=event.language),
            sections=wire.Sections(
                personal=wire.Personal(
                    marital_status=registry_marital_status(event.marital_status),
                    nationality=event.nationality,
                )
            ),
        )

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    # -- changes -------------------------------------------------------------------------

    def _next(self, **changes: object) -> Profile:
        return self.model_copy(update={"version": self.version + 1, **changes})

    def with_section(self, name: SectionName, data: SectionInput) -> Profile:
        if isinstance(data, PersonalInput) and data.nationality is not None:
            if data.nationality != self.sections.personal.nationality:
                raise RuleBroken(
                    "body.nationality",
                    "comes from the civil registry and cannot be changed",
                    "read_only",
                )
        section = data.to_section(self.sections)
        return self._next(sections=self.sections.model_copy(update={name: section}))

    def with_mobile(self, mobile: str) -> Profile:
        """The citizen's mobile changed in identity (after its checks)."""
        return self._next(contact=self.contact.model_copy(update={"mobile": mobile}))

    def add_dependent(
        self,
        dependent_id: UUID,
        data: DependentInput,
        facts: PersonFacts,
        *,
        max_household_size: int,
    ) -> Profile:
        if 1 + len(self.dependents) + 1 > max_household_size:
            raise RuleBroken(
                "dependents",
                f"a household has at most {max_household_size} members",
                "household_limit",
            )
        self._check_dependent(data, dependent_id, facts)
        relative = check_against_register(data, facts)
        dependent = data.to_dependent(dependent_id, birth_date=relative.birth_date)
        return self._next(dependents=(*self.dependents, dependent))

    def replace_dependent(
        self, dependent_id: UUID, data: DependentInput, facts: PersonFacts
    ) -> Profile:
        self.dependent(dependent_id)
        self._check_dependent(data, dependent_id, facts)
        relative = check_against_register(data, facts)
        dependent = data.to_dependent(dependent_id, birth_date=relative.birth_date)
        return self._next(
            dependents=tuple(
                dependent if d.dependent_id == dependent_id else d for d in self.dependents
            )
        )

    def remove_dependent(self, dependent_id: UUID) -> Profile:
        self.dependent(dependent_id)
        return self._next(
            dependents=tuple(d for d in self.dependents if d.dependent_id != dependent_id)
        )

    def dependent(self, dependent_id: UUID) -> wire.Dependent:
        for dependent in self.dependents:
            if dependent.dependent_id == dependent_id:
                return dependent
        raise DependentNotFound(str(dependent_id))

    def _check_dependent(
        self, data: DependentInput, dependent_id: UUID, facts: PersonFacts
    ) -> None:
        if facts.is_the_citizen:
            raise RuleBroken(
                "body.national_id",
                "is the citizen's own: a citizen is not their own dependent",
                "is_citizen",
            )
        for other in self.dependents:
            if other.dependent_id != dependent_id and other.national_id == data.national_id:
                raise RuleBroken(
                    "body.national_id", "is already a dependent in this household", "duplicate"
                )

    # -- derived -------------------------------------------------------------------------

    def household(self) -> wire.Household:
        sources = self.sections.income.sources if self.sections.income else []
        assets = self.sections.property.assets if self.sections.property else []
        incomes = [s.monthly_amount for s in sources] + [d.monthly_income for d in self.dependents]
        return wire.Household(
            household_size=1 + len(self.dependents),
            total_monthly_income=sum(incomes, Decimal("0")),
            total_property_value=sum((a.estimated_value for a in assets), Decimal("0")),
        )

    def completeness(self) -> wire.Completeness:
        personal = self.sections.personal
        done = {
            "personal": None
            not in (personal.marital_status, personal.has_disability, personal.is_orphan),
            "housing": self.sections.housing is not None,
            "income": self.sections.income is not None,
            "education": self.sections.education is not None,
            "employment": self.sections.employment is not None,
            "licenses": self.sections.licenses is not None,
            "property": self.sections.property is not None,
            # Having no dependents is a complete answer.
            "dependents": True,
        }
        return wire.Completeness(**done, complete=all(done.values()))

    def to_event(self) -> wire.ProfileUpdatedV2:
        """What the profile's consumers are told: no contact, no dependent's name or ID."""
        return self.to_view().upcast()

    def contact_event(self) -> wire.ContactChanged:
        """The contact as of this version, for notifications alone."""
        return wire.ContactChanged(
            citizen_id=self.citizen_id,
            version=self.version,
            mobile=self.contact.mobile,
            email=self.contact.email,
            language=self.contact.language,
        )

    def to_view(self) -> wire.ProfileUpdated:
        """The whole profile as its citizen (and staff) read it, in ProfileUpdated version 1's
        shape, which ``GET /v1/profile`` has always answered: with the contact and the
        dependents' names and national IDs."""
        return wire.ProfileUpdated(
            citizen_id=self.citizen_id,
            version=self.version,
            registry=self.registry,
            contact=self.contact,
            sections=self.sections,
            dependents=list(self.dependents),
            household=self.household(),
            completeness=self.completeness(),
        )
