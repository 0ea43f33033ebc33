"""What the use cases share: who acts, the errors they raise, the decision event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.applications import repository
from sanad.applications.domain.application import Application
from sanad.applications.domain.catalog import Program
from sanad.applications.domain.states import IllegalTransition, Status, check_move
from sanad.shared import outbox
from sanad.shared.auth import Principal, Role
from sanad.shared.events import DecisionIssuedV3
from sanad.shared.events.applications import ProgramTerms, Reason
from sanad.shared.problems import FieldError, Problem


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the history records it."""

    id: str  # an account id, "auto" (the evaluation) or "system" (the deadline job)
    role: str  # citizen, caseworker, eligibility, system

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, principal.role.value)


AUTO = Actor("auto", "eligibility")
SYSTEM = Actor("system", "system")


def not_found(application_id: UUID) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"There is no application {application_id} of yours.",
        "application-not-found",
        errors=[FieldError("path.application_id", "is not an application of yours", "unknown")],
    )


def conflict(exc: IllegalTransition) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"Cannot {exc.action}: the application is {exc.current.value}.",
        "illegal-transition",
        extra={"current_status": exc.current.value},
    )


def not_editable(application: Application, action: str) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"Cannot {action}: the application is {application.status.value}; "
        "it can be changed only while DRAFT or NEEDS_COMPLETION.",
        "not-editable",
        extra={"current_status": application.status.value},
    )


def owned(
    application: Application | None, principal: Principal, application_id: UUID
) -> Application:
    """The application if the caller is the citizen who owns it (404 for anyone else's, so
    that its existence is not given away)."""
    if (
        application is None
        or principal.role is not Role.CITIZEN
        or str(application.citizen_id) != principal.subject
    ):
        raise not_found(application_id)
    return application


async def move(
    session: AsyncSession,
    application: Application,
    to: Status,
    *,
    action: str,
    actor: Actor,
    now: datetime,
    reasons: list[dict[str, Any]] | None = None,
    note: str | None = None,
    save: bool = True,
    **changes: Any,
) -> Application:
    """The one way a status changes: checked against the state machine, recorded in the
    history (who, when, from, to, why) and saved (``save=False``: by a later move of the
    same transaction, which writes the row once)."""
    try:
        check_move(application.status, to, action)
    except IllegalTransition as exc:
        raise conflict(exc) from None
    moved = replace(application, status=to, status_since=now, updated_at=now, **changes)
    await repository.record_transition(
        session,
        application.application_id,
        from_status=application.status,
        to_status=to,
        at=now,
        actor=actor.id,
        actor_role=actor.role,
        reasons=reasons or [],
        note=note,
    )
    if save:
        await repository.save(session, moved)
    return moved


async def decide(
    session: AsyncSession,
    application: Application,
    to: Status,
    *,
    program: Program,
    action: str,
    actor: Actor,
    now: datetime,
    reasons: list[Reason],
    appeal_until: datetime | None = None,
    complete_by: datetime | None = None,
    missing_documents: list[str] | None = None,
    monthly_benefit: Decimal | None = None,
    rule_set_version: str | None = None,
    evaluation_id: UUID | None = None,
    appeal_id: UUID | None = None,
    note: str | None = None,
) -> Application:
    """Move to a decided state and publish its DecisionIssued, in the caller's transaction.
    The application keeps the decision as the event said it."""
    respond_by = complete_by or appeal_until
    event = DecisionIssuedV3(
        decision_id=uuid.uuid4(),
        application_id=application.application_id,
        citizen_id=application.citizen_id,
        program_code=application.program_code,
        decision=to.value,
        reasons=reasons,
        missing_documents=missing_documents or [],
        monthly_benefit=monthly_benefit,
        respond_by=None if respond_by is None else respond_by.date(),
        decided_by=actor.id,
        decided_at=now,
        rule_set_version=rule_set_version,
        evaluation_id=evaluation_id,
        appeal_id=appeal_id,
        program=ProgramTerms(
            name_ar=program.name_ar,
            name_en=program.name_en,
            card_on_approval=program.card_on_approval,
            card_validity_days=program.card_validity_days,
        ),
    )
    summary = event.model_dump(
        mode="json", exclude={"application_id", "citizen_id", "program_code", "program"}
    )
    moved = await move(
        session,
        application,
        to,
        action=action,
        actor=actor,
        now=now,
        reasons=[r.model_dump(mode="json") for r in reasons],
        note=note,
        decision=summary,
        appeal_until=appeal_until,
        complete_by=complete_by,
    )
    await outbox.publish(session, event)
    return moved
