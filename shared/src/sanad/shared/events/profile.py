"""Events the profile service publishes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.base import Language, Part
from sanad.shared.events.envelope import Event


class Contact(Part):
    mobile: str
    email: str | None = None
    language: Language = "ar"


class Household(Part):
    household_size: int
    total_monthly_income: Decimal
    total_property_value: Decimal


class ProfileUpdated(Event):
    """Event-carried state: the whole profile, versioned per citizen so stale copies lose."""

    EVENT_TYPE = "ProfileUpdated"
    TOPIC = topics.PROFILE_UPDATED

    citizen_id: UUID
    version: int
    contact: Contact
    household: Household
    sections: dict[str, Any]
    dependents: list[dict[str, Any]]

    def aggregate_key(self) -> str:
        return str(self.citizen_id)
