"""Every event payload, by type and schema version.

Each producing service's events live in their own module (``events/<service>.py``); this
module only indexes them. A published (type, version) never changes shape: its JSON Schema
is checked in under ``shared/schemas`` and a test compares. A new shape is a new version,
added beside the old. Money is a decimal string; dates are ISO 8601; national IDs appear
only where a consumer needs them (profile checks dependents against the citizen's own ID).
"""

from __future__ import annotations

from sanad.shared.events.applications import (
    AppealFiled,
    ApplicationSubmitted,
    ApplicationSubmittedV2,
    DecisionIssued,
    DecisionIssuedV2,
)
from sanad.shared.events.cards import CardIssued
from sanad.shared.events.eligibility import (
    EligibilityEvaluated,
    EligibilityEvaluatedV2,
    EligibilityEvaluatedV3,
)
from sanad.shared.events.envelope import Event
from sanad.shared.events.identity import CitizenRegistered, OtpRequested
from sanad.shared.events.notifications import NotificationDispatched
from sanad.shared.events.profile import ProfileUpdated

EVENT_MODELS: dict[tuple[str, int], type[Event]] = {
    (model.EVENT_TYPE, model.SCHEMA_VERSION): model
    for model in (
        CitizenRegistered,
        OtpRequested,
        ProfileUpdated,
        ApplicationSubmitted,
        ApplicationSubmittedV2,
        EligibilityEvaluated,
        EligibilityEvaluatedV2,
        EligibilityEvaluatedV3,
        DecisionIssued,
        DecisionIssuedV2,
        AppealFiled,
        CardIssued,
        NotificationDispatched,
    )
}


class UnknownEventType(LookupError):
    pass


def model_for(event_type: str, schema_version: int) -> type[Event]:
    try:
        return EVENT_MODELS[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventType(f"{event_type} v{schema_version}") from None
