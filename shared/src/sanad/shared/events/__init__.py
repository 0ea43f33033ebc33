"""The integration events Sanad services exchange: envelope, payloads, topics."""

from sanad.shared.events.catalog import (
    EVENT_MODELS,
    AppealFiled,
    ApplicationSubmitted,
    CardIssued,
    CitizenRegistered,
    DecisionIssued,
    EligibilityEvaluated,
    NotificationDispatched,
    OtpRequested,
    ProfileUpdated,
    model_for,
)
from sanad.shared.events.envelope import Envelope, Event, correlation_id_var

__all__ = [
    "EVENT_MODELS",
    "AppealFiled",
    "ApplicationSubmitted",
    "CardIssued",
    "CitizenRegistered",
    "DecisionIssued",
    "EligibilityEvaluated",
    "Envelope",
    "Event",
    "NotificationDispatched",
    "OtpRequested",
    "ProfileUpdated",
    "correlation_id_var",
    "model_for",
]
