"""The projections rebuilt from the stream: applications with their status histories,
evaluations, decisions, cards and notifications per citizen.

A pure function of the events (in ``Stream.events()`` order), so replaying the same stream
twice gives the same rows. Rows are tuples in the column order of the ``audit`` tables.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sanad.applications.domain.states import Status
from sanad.audit.domain.records import Fields, Record

APPLICATION_COLUMNS = (
    "application_id",
    "citizen_id",
    "program_code",
    "status",
    "submissions",
    "first_submitted_at",
    "submission_id",
    "decision_id",
    "monthly_benefit",
    "appeal_id",
    "updated_at",
)
HISTORY_COLUMNS = ("application_id", "seq", "from_status", "to_status", "at", "actor", "event_id")
EVALUATION_COLUMNS = (
    "evaluation_id",
    "application_id",
    "citizen_id",
    "program_code",
    "trigger",
    "submission_id",
    "appeal_id",
    "rule_set_version",
    "outcome",
    "monthly_benefit",
    "facts_hash",
    "evaluated_at",
    "event_id",
)
DECISION_COLUMNS = (
    "decision_id",
    "application_id",
    "citizen_id",
    "program_code",
    "decision",
    "monthly_benefit",
    "decided_by",
    "decided_at",
    "evaluation_id",
    "appeal_id",
    "rule_set_version",
    "event_id",
)
CARD_COLUMNS = (
    "card_id",
    "citizen_id",
    "application_id",
    "program_code",
    "number_last4",
    "status",
    "issued_at",
    "expires_on",
    "status_changed_at",
)
NOTIFICATION_COLUMNS = ("citizen_id", "channel", "template", "status", "deliveries")
EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "schema_version",
    "topic",
    "partition",
    "offset",
    "occurred_at",
    "producer",
    "key",
    "correlation_id",
    "causation_id",
    "citizen_id",
    "application_id",
    "summary",
)


@dataclass
class Projections:
    applications: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    evaluations: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    cards: list[tuple[Any, ...]] = field(default_factory=list)
    notifications: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        return {
            "applications": (APPLICATION_COLUMNS, self.applications),
            "status_history": (HISTORY_COLUMNS, self.history),
            "evaluations": (EVALUATION_COLUMNS, self.evaluations),
            "decisions": (DECISION_COLUMNS, self.decisions),
            "cards": (CARD_COLUMNS, self.cards),
            "notifications": (NOTIFICATION_COLUMNS, self.notifications),
            "events": (EVENT_COLUMNS, self.events),
        }

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, (_, rows) in self.tables().items()}


UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


def uuid_or_none(value: Any) -> str | None:
    """A UUID as text (asyncpg writes text to a uuid column; building ``UUID`` objects for
    every id costs more than the rest of the replay), or None when it is not one."""
    if value is None:
        return None
    text = str(value)
    return text if UUID_TEXT.fullmatch(text) else None


def moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def summary(record: Record) -> str:
    """One line about an event for a timeline: what happened, never personal data."""
    p = record.fields
    match record.event_type:
        case "ApplicationSubmitted":
            return f"{p.program_code} submitted (submission {p.submission_number or 1})"
        case "EligibilityEvaluated":
            outcome = p.outcome or ("eligible" if p.eligible else "ineligible")
            return (
                f"{p.rule_set_version}: {outcome}, benefit {p.monthly_benefit}"
                f" ({p.trigger or 'submission'})"
            )
        case "DecisionIssued":
            return f"{p.decision} by {p.decided_by}, benefit {p.monthly_benefit}"
        case "AppealFiled":
            return f"appeal {p.appeal_id} filed"
        case "CardIssued":
            return f"card …{str(p.card_number or '')[-4:]} issued for {p.program_code}"
        case "CardStatusChanged":
            return f"card {p.from_status} → {p.status} by {p.changed_by}"
        case "NotificationDispatched":
            return f"{p.channel} {p.template}: {p.status}"
        case "ProfileUpdated":
            return f"profile version {p.version}"
        case _:
            return record.event_type or "?"


@dataclass
class _Application:
    application_id: str
    citizen_id: str | None
    program_code: str | None
    status: Status | None = None
    submissions: int = 0
    first_submitted_at: datetime | None = None
    submission_id: str | None = None
    decision_id: str | None = None
    monthly_benefit: Decimal | None = None
    appeal_id: str | None = None
    updated_at: datetime | None = None
    history: list[tuple[Any, ...]] = field(default_factory=list)

    def move(self, to: Status, at: datetime | None, actor: str, event_id: str) -> None:
        self.history.append(
            (
                self.application_id,
                len(self.history) + 1,
                None if self.status is None else self.status.value,
                to.value,
                at,
                actor,
                event_id,
            )
        )
        self.status = to
        self.updated_at = at


def event_index(events: list[Record]) -> list[tuple[Any, ...]]:
    """The ``events`` table's rows: where each event is and what it says in one line."""
    return [
        (
            record.event_id or "",
            record.event_type,
            record.schema_version,
            record.position.topic,
            record.position.partition,
            record.position.offset,
            record.occurred_at,
            record.producer,
            record.key,
            record.correlation_id,
            uuid_or_none(record.causation_id),
            uuid_or_none(record.citizen_id),
            uuid_or_none(record.application_id),
            summary(record),
        )
        for record in events
    ]


def build(events: list[Record], *, index: bool = True) -> Projections:
    """Every projection from ``events`` (``Stream.events()``: valid types, each event once,
    in order); with ``index=False`` all but the event index (``event_index``)."""
    out = Projections(events=event_index(events) if index else [])
    applications: dict[str, _Application] = {}
    cards: dict[str, list[Any]] = {}
    notified: Counter[tuple[Any, ...]] = Counter()

    def application(p: Fields) -> _Application | None:
        application_id = uuid_or_none(p.application_id)
        if application_id is None:
            return None
        found = applications.get(application_id)
        if found is None:
            found = applications[application_id] = _Application(
                application_id, uuid_or_none(p.citizen_id), p.program_code
            )
        return found

    for record in events:
        p = record.fields
        event_id = record.event_id or ""
        match record.event_type:
            case "ApplicationSubmitted":
                if (app := application(p)) is None:
                    continue
                at = moment(p.submitted_at) or record.occurred_at
                app.submissions += 1
                app.first_submitted_at = app.first_submitted_at or at
                app.submission_id = uuid_or_none(p.submission_id)
                app.move(Status.SUBMITTED, at, "citizen", event_id)
            case "EligibilityEvaluated":
                out.evaluations.append(
                    (
                        uuid_or_none(p.evaluation_id),
                        uuid_or_none(p.application_id),
                        uuid_or_none(p.citizen_id),
                        p.program_code,
                        p.trigger or ("appeal" if p.appeal_id else "submission"),
                        uuid_or_none(p.submission_id),
                        uuid_or_none(p.appeal_id),
                        p.rule_set_version,
                        p.outcome or ("eligible" if p.eligible else "ineligible"),
                        money(p.monthly_benefit),
                        p.facts_hash,
                        moment(p.evaluated_at) or record.occurred_at,
                        event_id,
                    )
                )
            case "DecisionIssued":
                decided_at = moment(p.decided_at) or record.occurred_at
                out.decisions.append(
                    (
                        uuid_or_none(p.decision_id),
                        uuid_or_none(p.application_id),
                        uuid_or_none(p.citizen_id),
                        p.program_code,
                        p.decision,
                        money(p.monthly_benefit),
                        p.decided_by,
                        decided_at,
                        uuid_or_none(p.evaluation_id),
                        uuid_or_none(p.appeal_id),
                        p.rule_set_version,
                        event_id,
                    )
                )
                if (app := application(p)) is None:
                    continue
                if app.status is Status.SUBMITTED:
                    app.move(Status.UNDER_EVALUATION, decided_at, "eligibility", event_id)
                app.move(Status(p.decision), decided_at, str(p.decided_by), event_id)
                app.decision_id = uuid_or_none(p.decision_id)
                app.monthly_benefit = money(p.monthly_benefit)
            case "AppealFiled":
                if (app := application(p)) is None:
                    continue
                app.appeal_id = uuid_or_none(p.appeal_id)
                app.move(
                    Status.APPEALED,
                    moment(p.filed_at) or record.occurred_at,
                    "citizen",
                    event_id,
                )
            case "CardIssued":
                card_id = uuid_or_none(p.card_id)
                if card_id is None:
                    continue
                issued_at = moment(p.issued_at)
                cards[card_id] = [
                    card_id,
                    uuid_or_none(p.citizen_id),
                    uuid_or_none(p.application_id),
                    p.program_code,
                    str(p.card_number or "")[-4:],
                    "active",
                    issued_at,
                    day(p.expires_at),
                    issued_at,
                ]
            case "CardStatusChanged":
                card = cards.get(uuid_or_none(p.card_id) or "")
                if card is not None:
                    card[5] = p.status
                    card[8] = moment(p.changed_at)
            case "NotificationDispatched":
                notified[
                    (
                        uuid_or_none(p.citizen_id),
                        p.channel,
                        p.template,
                        p.status,
                    )
                ] += 1

    for app in sorted(applications.values(), key=lambda a: a.application_id):
        if app.status is None:  # only evaluations or cards named it: no submission seen
            continue
        out.applications.append(
            (
                app.application_id,
                app.citizen_id,
                app.program_code,
                app.status.value,
                app.submissions,
                app.first_submitted_at,
                app.submission_id,
                app.decision_id,
                app.monthly_benefit,
                app.appeal_id,
                app.updated_at,
            )
        )
        out.history.extend(app.history)
    out.cards = [tuple(card) for _, card in sorted(cards.items())]
    out.notifications = [
        (*key, count)
        for key, count in sorted(notified.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
    ]
    return out
