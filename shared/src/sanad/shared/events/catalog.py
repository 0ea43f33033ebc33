"""Every event payload, by type and schema version.

Each producing service's events live in their own module (``events/<service>.py``); this
module only indexes them. A published (type, version) never changes shape: its JSON Schema
is checked in under ``shared/schemas`` and a test compares. A new shape is a new version,
added beside the old. Money is a decimal string; dates are ISO 8601; national IDs appear
only where a consumer needs them (see ``events/identity.py``).
"""

from __future__ import annotations

from sanad.shared.events.applications import (
    AppealFiled,
    ApplicationSubmitted,
    ApplicationSubmittedV2,
    DecisionIssued,
    DecisionIssuedV2,
    DecisionIssuedV3,
)
from sanad.shared.events.cards import CardIssued, CardStatusChanged
from sanad.shared.events.eligibility import (
    EligibilityEvaluated,
    EligibilityEvaluatedV2,
    EligibilityEvaluatedV3,
)
from sanad.shared.events.envelope import Event
from sanad.shared.events.identity import (
    CitizenRegistered,
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    CitizenRegisteredV4,
    MobileChanged,
    OtpRequested,
    OtpRequestedV2,
    PseudonymsRekeyed,
    RegistrationAttempted,
    StaffAccountCreated,
    StaffAccountCreatedV2,
    StaffAccountCreatedV3,
)
from sanad.shared.events.notifications import NotificationDispatched
from sanad.shared.events.profile import ContactChanged, ProfileUpdated, ProfileUpdatedV2

EVENT_MODELS: dict[tuple[str, int], type[Event]] = {
    (model.EVENT_TYPE, model.SCHEMA_VERSION): model
    for model in (
        CitizenRegisteredV1,
        CitizenRegistered,
        CitizenRegisteredV3,
        CitizenRegisteredV4,
        OtpRequested,
        OtpRequestedV2,
        StaffAccountCreated,
        StaffAccountCreatedV2,
        StaffAccountCreatedV3,
        PseudonymsRekeyed,
        RegistrationAttempted,
        MobileChanged,
        ProfileUpdated,
        ProfileUpdatedV2,
        ContactChanged,
        ApplicationSubmitted,
        ApplicationSubmittedV2,
        EligibilityEvaluated,
        EligibilityEvaluatedV2,
        EligibilityEvaluatedV3,
        DecisionIssued,
        DecisionIssuedV2,
        DecisionIssuedV3,
        AppealFiled,
        CardIssued,
        CardStatusChanged,
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
