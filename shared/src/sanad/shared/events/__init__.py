"""The integration events Sanad services exchange: envelope, payloads, topics."""

from sanad.shared.events.applications import (
    AppealFiled,
    ApplicationSubmitted,
    ApplicationSubmittedV2,
    DecisionIssued,
    DecisionIssuedV2,
)
from sanad.shared.events.cards import CardIssued
from sanad.shared.events.catalog import EVENT_MODELS, model_for
from sanad.shared.events.eligibility import (
    EligibilityEvaluated,
    EligibilityEvaluatedV2,
    EligibilityEvaluatedV3,
)
from sanad.shared.events.envelope import Envelope, Event, correlation_id_var
from sanad.shared.events.identity import CitizenRegistered, OtpRequested
from sanad.shared.events.notifications import NotificationDispatched
from sanad.shared.events.profile import ProfileUpdated

__all__ = [
    "EVENT_MODELS",
    "AppealFiled",
    "ApplicationSubmitted",
    "ApplicationSubmittedV2",
    "CardIssued",
    "CitizenRegistered",
    "DecisionIssued",
    "DecisionIssuedV2",
    "EligibilityEvaluated",
    "EligibilityEvaluatedV2",
    "EligibilityEvaluatedV3",
    "Envelope",
    "Event",
    "NotificationDispatched",
    "OtpRequested",
    "ProfileUpdated",
    "correlation_id_var",
    "model_for",
]
