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
from sanad.audit.domain.records import Record

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
    p = record.payload
    match record.event_type:
        case "ApplicationSubmitted":
            return f"{p.get('program_code')} submitted (submission {p.get('submission_number', 1)})"
        case "EligibilityEvaluated":
            outcome = p.get("outcome") or ("eligible" if p.get("eligible") else "ineligible")
            return (
                f"{p.get('rule_set_version')}: {outcome}, benefit {p.get('monthly_benefit')}"
                f" ({p.get('trigger', 'submission')})"
            )
        case "DecisionIssued":
            return (
                f"{p.get('decision')} by {p.get('decided_by')}, benefit {p.get('monthly_benefit')}"
            )
        case "AppealFiled":
            return f"appeal {p.get('appeal_id')} filed"
        case "CardIssued":
            return f"card …{str(p.get('card_number', ''))[-4:]} issued for {p.get('program_code')}"
        case "CardStatusChanged":
            return f"card {p.get('from_status')} → {p.get('status')} by {p.get('changed_by')}"
        case "NotificationDispatched":
            return f"{p.get('channel')} {p.get('template')}: {p.get('status')}"
        case "ProfileUpdated":
            return f"profile version {p.get('version')}"
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


def build(events: list[Record]) -> Projections:
    """Every projection from ``events`` (``Stream.events()``: valid types, each event once,
    in order)."""
    out = Projections()
    applications: dict[str, _Application] = {}
    cards: dict[str, list[Any]] = {}
    notified: Counter[tuple[Any, ...]] = Counter()

    def application(p: dict[str, Any]) -> _Application | None:
        application_id = uuid_or_none(p.get("application_id"))
        if application_id is None:
            return None
        found = applications.get(application_id)
        if found is None:
            found = applications[application_id] = _Application(
                application_id, uuid_or_none(p.get("citizen_id")), p.get("program_code")
            )
        return found

    for record in events:
        p = record.payload
        event_id = record.event_id or ""
        out.events.append(
            (
                event_id,
                record.event_type,
                record.schema_version,
                record.position.topic,
                record.position.partition,
                record.position.offset,
                record.occurred_at,
                (record.envelope or {}).get("producer"),
                record.key,
                record.correlation_id,
                uuid_or_none(record.causation_id),
                uuid_or_none(record.citizen_id),
                uuid_or_none(record.application_id),
                summary(record),
            )
        )
        match record.event_type:
            case "ApplicationSubmitted":
                if (app := application(p)) is None:
                    continue
                at = moment(p.get("submitted_at")) or record.occurred_at
                app.submissions += 1
                app.first_submitted_at = app.first_submitted_at or at
                app.submission_id = uuid_or_none(p.get("submission_id"))
                app.move(Status.SUBMITTED, at, "citizen", event_id)
            case "EligibilityEvaluated":
                out.evaluations.append(
                    (
                        uuid_or_none(p.get("evaluation_id")),
                        uuid_or_none(p.get("application_id")),
                        uuid_or_none(p.get("citizen_id")),
                        p.get("program_code"),
                        p.get("trigger", "appeal" if p.get("appeal_id") else "submission"),
                        uuid_or_none(p.get("submission_id")),
                        uuid_or_none(p.get("appeal_id")),
                        p.get("rule_set_version"),
                        p.get("outcome") or ("eligible" if p.get("eligible") else "ineligible"),
                        money(p.get("monthly_benefit")),
                        p.get("facts_hash"),
                        moment(p.get("evaluated_at")) or record.occurred_at,
                        event_id,
                    )
                )
            case "DecisionIssued":
                decided_at = moment(p.get("decided_at")) or record.occurred_at
                out.decisions.append(
                    (
                        uuid_or_none(p.get("decision_id")),
                        uuid_or_none(p.get("application_id")),
                        uuid_or_none(p.get("citizen_id")),
                        p.get("program_code"),
                        p.get("decision"),
                        money(p.get("monthly_benefit")),
                        p.get("decided_by"),
                        decided_at,
                        uuid_or_none(p.get("evaluation_id")),
                        uuid_or_none(p.get("appeal_id")),
                        p.get("rule_set_version"),
                        event_id,
                    )
                )
                if (app := application(p)) is None:
                    continue
                if app.status is Status.SUBMITTED:
                    app.move(Status.UNDER_EVALUATION, decided_at, "eligibility", event_id)
                app.move(Status(p["decision"]), decided_at, str(p.get("decided_by")), event_id)
                app.decision_id = uuid_or_none(p.get("decision_id"))
                app.monthly_benefit = money(p.get("monthly_benefit"))
            case "AppealFiled":
                if (app := application(p)) is None:
                    continue
                app.appeal_id = uuid_or_none(p.get("appeal_id"))
                app.move(
                    Status.APPEALED,
                    moment(p.get("filed_at")) or record.occurred_at,
                    "citizen",
                    event_id,
                )
            case "CardIssued":
                card_id = uuid_or_none(p.get("card_id"))
                if card_id is None:
                    continue
                issued_at = moment(p.get("issued_at"))
                cards[card_id] = [
                    card_id,
                    uuid_or_none(p.get("citizen_id")),
                    uuid_or_none(p.get("application_id")),
                    p.get("program_code"),
                    str(p.get("card_number", ""))[-4:],
                    "active",
                    issued_at,
                    day(p.get("expires_at")),
                    issued_at,
                ]
            case "CardStatusChanged":
                card = cards.get(uuid_or_none(p.get("card_id")) or "")
                if card is not None:
                    card[5] = p.get("status")
                    card[8] = moment(p.get("changed_at"))
            case "NotificationDispatched":
                notified[
                    (
                        uuid_or_none(p.get("citizen_id")),
                        p.get("channel"),
                        p.get("template"),
                        p.get("status"),
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
