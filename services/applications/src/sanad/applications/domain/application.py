"""An application as stored, and what its citizen can do next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sanad.applications.domain.form import ApplicationForm
from sanad.applications.domain.states import EDITABLE, Status


@dataclass(frozen=True)
class Application:
    application_id: UUID
    citizen_id: UUID
    program_code: str
    status: Status
    status_since: datetime
    form: ApplicationForm
    created_at: datetime
    updated_at: datetime
    submission_id: UUID | None = None
    submission_number: int = 0
    submitted_at: datetime | None = None
    decision: dict[str, Any] | None = None
    complete_by: datetime | None = None
    appeal_until: datetime | None = None

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE


@dataclass(frozen=True)
class Appeal:
    appeal_id: UUID
    application_id: UUID
    reason: str
    filed_at: datetime
    evaluation_id: UUID | None = None
    decided: bool = False


NextAction = Literal["complete_and_submit", "submit", "appeal", "none"]


@dataclass(frozen=True)
class Next:
    action: NextAction
    until: datetime | None = None


def next_step(application: Application, appeal: Appeal | None, now: datetime) -> Next:
    """What the citizen can do now: submit a draft, complete by a date, appeal until a
    date, or nothing (waiting for a decision, or decided for good)."""
    return next_action(
        application.status,
        complete_by=application.complete_by,
        appeal_until=application.appeal_until,
        appealed=appeal is not None,
        now=now,
    )


def next_action(
    status: Status,
    *,
    complete_by: datetime | None,
    appeal_until: datetime | None,
    appealed: bool,
    now: datetime,
) -> Next:
    """``next_step`` from the few fields it depends on (what the status read model keeps)."""
    match status:
        case Status.DRAFT:
            return Next("submit")
        case Status.NEEDS_COMPLETION:
            if complete_by is not None and now <= complete_by:
                return Next("complete_and_submit", complete_by)
            return Next("none")
        case Status.REJECTED:
            if not appealed and appeal_until is not None and now <= appeal_until:
                return Next("appeal", appeal_until)
            return Next("none")
        case _:
            return Next("none")
