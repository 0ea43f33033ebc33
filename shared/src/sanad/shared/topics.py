"""Every Kafka topic Sanad uses, declared once: the platform creates them from this list.

Event topics keep every message forever (auditors replay from offset 0) and have several
partitions so a consumer group can scale out. Each consumer group has a dead-letter topic
where messages its handler could not process land, with the error, after the retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CITIZEN_REGISTERED = "identity.citizen-registered"
OTP_REQUESTED = "identity.otp-requested"
STAFF_ACCOUNT_CREATED = "identity.staff-account-created"
REGISTRATION_ATTEMPTED = "identity.registration-attempted"
MOBILE_CHANGED = "identity.mobile-changed"
PSEUDONYMS_REKEYED = "identity.pseudonyms-rekeyed"
PROFILE_UPDATED = "profile.profile-updated"
CONTACT_CHANGED = "profile.contact-changed"
APPLICATION_SUBMITTED = "applications.application-submitted"
ELIGIBILITY_EVALUATED = "eligibility.eligibility-evaluated"
DECISION_ISSUED = "applications.decision-issued"
APPEAL_FILED = "applications.appeal-filed"
CARD_ISSUED = "cards.card-issued"
CARD_STATUS_CHANGED = "cards.card-status-changed"
NOTIFICATION_DISPATCHED = "notifications.notification-dispatched"

EVENT_TOPICS: tuple[str, ...] = (
    CITIZEN_REGISTERED,
    OTP_REQUESTED,
    STAFF_ACCOUNT_CREATED,
    REGISTRATION_ATTEMPTED,
    MOBILE_CHANGED,
    PSEUDONYMS_REKEYED,
    PROFILE_UPDATED,
    CONTACT_CHANGED,
    APPLICATION_SUBMITTED,
    ELIGIBILITY_EVALUATED,
    DECISION_ISSUED,
    APPEAL_FILED,
    CARD_ISSUED,
    CARD_STATUS_CHANGED,
    NOTIFICATION_DISPATCHED,
)

# Who listens to what: one consumer group per service (eShop keeps this list in one place too).
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "profile": (CITIZEN_REGISTERED, STAFF_ACCOUNT_CREATED, MOBILE_CHANGED, PSEUDONYMS_REKEYED),
    "applications": (ELIGIBILITY_EVALUATED, PROFILE_UPDATED, CARD_ISSUED),
    "eligibility": (APPLICATION_SUBMITTED, APPEAL_FILED, DECISION_ISSUED, PROFILE_UPDATED),
    # notifications reads ProfileUpdated for version 1's contact details only (history).
    "notifications": (
        OTP_REQUESTED,
        REGISTRATION_ATTEMPTED,
        CITIZEN_REGISTERED,
        PROFILE_UPDATED,
        CONTACT_CHANGED,
        DECISION_ISSUED,
        CARD_ISSUED,
    ),
    "cards": (DECISION_ISSUED, PROFILE_UPDATED),
}

EVENT_PARTITIONS = 6


def dead_letter_topic(group_id: str) -> str:
    return f"dlq.{group_id}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = EVENT_PARTITIONS
    config: dict[str, str] = field(default_factory=lambda: {"retention.ms": "-1"})


def all_topics() -> list[TopicSpec]:
    """Event topics plus one dead-letter topic per consumer group (also kept forever)."""
    names = [*EVENT_TOPICS, *(dead_letter_topic(group) for group in SUBSCRIPTIONS)]
    return [TopicSpec(name) for name in names]
