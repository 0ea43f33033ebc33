"""The integration events Sanad services exchange: envelope, payloads, topics."""

from sanad.shared.events.applications import (
    AppealFiled,
    ApplicationSubmitted,
    ApplicationSubmittedV2,
    DecisionIssued,
    DecisionIssuedV2,
    DecisionIssuedV3,
)
from sanad.shared.events.cards import CardIssued, CardStatusChanged
from sanad.shared.events.catalog import EVENT_MODELS, model_for
from sanad.shared.events.eligibility import (
    EligibilityEvaluated,
    EligibilityEvaluatedV2,
    EligibilityEvaluatedV3,
)
from sanad.shared.events.envelope import Envelope, Event, correlation_id_var
from sanad.shared.events.identity import (
    CitizenRegistered,
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    CitizenRegisteredV4,
    FamilyMember,
    MobileChanged,
    OtpRequested,
    OtpRequestedV2,
    PseudonymsRekeyed,
    RegistrationAttempted,
    RekeyedRelative,
    RelativeRef,
    StaffAccountCreated,
    StaffAccountCreatedV2,
    StaffAccountCreatedV3,
)
from sanad.shared.events.notifications import NotificationDispatched
from sanad.shared.events.profile import ContactChanged, ProfileUpdated, ProfileUpdatedV2

__all__ = [
    "EVENT_MODELS",
    "AppealFiled",
    "ApplicationSubmitted",
    "ApplicationSubmittedV2",
    "CardIssued",
    "CardStatusChanged",
    "CitizenRegistered",
    "CitizenRegisteredV1",
    "CitizenRegisteredV3",
    "CitizenRegisteredV4",
    "ContactChanged",
    "DecisionIssued",
    "DecisionIssuedV2",
    "DecisionIssuedV3",
    "EligibilityEvaluated",
    "EligibilityEvaluatedV2",
    "EligibilityEvaluatedV3",
    "Envelope",
    "Event",
    "FamilyMember",
    "MobileChanged",
    "NotificationDispatched",
    "OtpRequested",
    "OtpRequestedV2",
    "ProfileUpdated",
    "ProfileUpdatedV2",
    "PseudonymsRekeyed",
    "RegistrationAttempted",
    "RekeyedRelative",
    "RelativeRef",
    "StaffAccountCreated",
    "StaffAccountCreatedV2",
    "StaffAccountCreatedV3",
    "correlation_id_var",
    "model_for",
]
