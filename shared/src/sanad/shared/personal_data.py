"""What personal data each topic carries and who may read it, declared once: the AsyncAPI
document and the README's Security section show it, and a test keeps every topic covered.

Who may read a topic is what the ACLs allow (``sanad.shared.kafka_acls``): the consumer
groups that subscribe to it, ``audit`` (every topic) and the platform's ``admin``.
"""

from __future__ import annotations

from sanad.shared import topics
from sanad.shared.kafka_acls import AUDIT_PRINCIPAL
from sanad.shared.kafka_clients import ADMIN_PRINCIPAL

PERSONAL_DATA: dict[str, str] = {
    topics.CITIZEN_REGISTERED: (
        "the citizen's names (Arabic, English), sex, birth date, nationality, marital status, "
        "mobile, email, language; from version 3 the national ID only as its keyed pseudonym "
        "(HMAC-SHA256, sanad.shared.pseudonym) and of each family member only the pseudonym, "
        "relationship and birth date; from version 4 also the pseudonym key's id (versions 1 "
        "and 2, in the history, carried the citizen's national ID and version 2 each family "
        "member's national ID, names, sex and birth date)"
    ),
    topics.OTP_REQUESTED: (
        "a mobile number and language; the one-time code only sealed for notifications "
        "(X25519), never in clear"
    ),
    topics.STAFF_ACCOUNT_CREATED: (
        "the staff member's role; from version 2 their national ID only as its pseudonym, "
        "from version 3 with the pseudonym key's id (version 1, in the history, carried the "
        "number)"
    ),
    topics.REGISTRATION_ATTEMPTED: "the account's mobile number and language",
    topics.MOBILE_CHANGED: "the citizen's new mobile number",
    topics.PSEUDONYMS_REKEYED: (
        "after a rotation of the pseudonym key, an account's national ID and its family "
        "register relatives' only as pseudonyms, each under the previous key and the new one "
        "(with both keys' ids); the account's role. No number, name or contact"
    ),
    topics.PROFILE_UPDATED: (
        "the household profile: names, sex, birth date, housing and national address, income "
        "sources, employer, licences, property, disability; of each dependent the "
        "relationship, birth date, income, disability and whether they are a citizen. From "
        "version 2 no contact details and no dependent's name or national ID (version 1, in "
        "the history, carried the mobile, email and each dependent's name and national ID)"
    ),
    topics.CONTACT_CHANGED: "the citizen's mobile, email and language",
    topics.APPLICATION_SUBMITTED: (
        "the form (payment destination as method and last four characters only) and the "
        "household snapshot without names, contact details or national IDs (of dependents "
        "whether they are citizens; submissions before ProfileUpdated v2 carried dependents' "
        "names and national IDs), with income, property and disability"
    ),
    topics.ELIGIBILITY_EVALUATED: (
        "the citizen id and each criterion's observed values (income, household size, ages)"
    ),
    topics.DECISION_ISSUED: "the citizen id, the decision, its reasons and the benefit",
    topics.APPEAL_FILED: "the citizen id and the citizen's free-text reason",
    topics.CARD_ISSUED: "the citizen id and the card number",
    topics.CARD_STATUS_CHANGED: "the citizen id, the card's status and the reason",
    topics.NOTIFICATION_DISPATCHED: (
        "the citizen id, channel and template: no address, no message text"
    ),
}


def readers(topic: str) -> tuple[str, ...]:
    """The principals Kafka lets read ``topic``."""
    groups = sorted(
        group for group, subscribed in topics.SUBSCRIPTIONS.items() if topic in subscribed
    )
    return (*groups, AUDIT_PRINCIPAL, ADMIN_PRINCIPAL)


def description(topic: str) -> str:
    return f"Personal data: {PERSONAL_DATA[topic]}. Readable by: {', '.join(readers(topic))}."
