"""Decisions: from eligibility's evaluations, from the completion deadline, from caseworkers;
and the appeals that reopen a rejection."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.applications import repository
from sanad.applications.domain.application import Appeal, Application
from sanad.applications.domain.decision import (
    AttachToAppeal,
    Decide,
    Evaluation,
    Ignore,
    Target,
    deadlines_for,
    effect_of,
)
from sanad.applications.domain.states import REVIEWABLE, Status
from sanad.applications.service import views
from sanad.applications.service.applications import view
from sanad.applications.service.common import (
    AUTO,
    SYSTEM,
    Actor,
    decide,
    move,
    not_found,
    owned,
)
from sanad.shared import outbox
from sanad.shared.auth import Principal, Role, forbidden
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.events import AppealFiled
from sanad.shared.events.applications import Reason
from sanad.shared.logging import get_logger
from sanad.shared.problems import Problem

log = get_logger(__name__)


async def apply_evaluation(session: AsyncSession, evaluation: Evaluation, clock: Clock) -> str:
    """Inside the inbox's transaction: decide, attach to the appeal, or change nothing.
    Answers what it did (for logs and tests)."""
    loaded = await repository.load_for_evaluation(
        session, evaluation.application_id, evaluation.evaluation_id
    )
    if loaded is None:
        log.warning("evaluation_of_unknown_application")
        return "unknown application"
    application, known, appeal, program_version = loaded
    if known:
        return "duplicate"
    target = Target(
        status=application.status,
        submission_id=application.submission_id,
        open_appeal_id=appeal.appeal_id if appeal is not None and not appeal.decided else None,
        appeal_evaluated=appeal is not None and appeal.evaluation_id is not None,
    )
    effect = effect_of(evaluation, target)
    now = clock.now()
    match effect:
        case Ignore(why):
            log.info("evaluation_ignored", why=why)
            return "ignored: " + why
        case AttachToAppeal(appeal_id):
            await repository.store_evaluation(session, evaluation, now)
            await repository.attach_appeal_evaluation(
                session, application.application_id, appeal_id, evaluation.evaluation_id
            )
            await views.refresh_touched(session)
            return "attached to the appeal"
        case Decide():
            await repository.store_evaluation(session, evaluation, now)
            await _decide(session, application, evaluation, effect, clock, program_version)
            await views.refresh_touched(session)
            return "decided " + effect.to.value
    raise AssertionError(effect)  # pragma: no cover


async def _decide(
    session: AsyncSession,
    application: Application,
    evaluation: Evaluation,
    effect: Decide,
    clock: Clock,
    program_version: int | None,
) -> None:
    now = clock.now()
    program = await repository.load_program(
        session, application.program_code, version=program_version
    )
    assert program is not None  # a foreign key keeps it
    if application.status is Status.SUBMITTED:
        application = await move(
            session,
            application,
            Status.UNDER_EVALUATION,
            action="evaluate",
            actor=AUTO,
            now=now,
            note=f"evaluated under rule set {evaluation.rule_set_version}",
            save=False,  # the decision below saves the row
        )
    deadlines = deadlines_for(
        effect.to,
        now,
        appeal_window_days=program.appeal_window_days,
        completion_window_days=program.completion_window_days,
    )
    await decide(
        session,
        application,
        effect.to,
        program=program,
        action="decide",
        actor=AUTO,
        now=now,
        reasons=list(effect.reasons),
        appeal_until=deadlines.appeal_until,
        complete_by=deadlines.complete_by,
        missing_documents=[m.code for m in effect.missing if m.kind == "document"],
        monthly_benefit=effect.monthly_benefit,
        rule_set_version=evaluation.rule_set_version,
        evaluation_id=evaluation.evaluation_id,
    )


DEADLINE_PASSED = Reason(
    code="completion_deadline_passed",
    reason_ar="انتهت مهلة استكمال الطلب دون استكماله.",
    reason_en="The deadline to complete the application passed without it being completed.",
)


async def expire_overdue(sessions: SessionFactory, clock: Clock, *, batch: int = 100) -> int:
    """Reject every application whose completion deadline has passed. The deadline is stored
    with the application, so a restarted service finds what it missed. Answers how many."""
    expired = 0
    while True:
        now = clock.now()
        async with sessions() as session, session.begin():
            overdue = await repository.overdue_completions(session, now, limit=batch)
            for application in overdue:
                program = await repository.load_program(session, application.program_code)
                assert program is not None
                deadlines = deadlines_for(
                    Status.REJECTED,
                    now,
                    appeal_window_days=program.appeal_window_days,
                    completion_window_days=program.completion_window_days,
                )
                await decide(
                    session,
                    application,
                    Status.REJECTED,
                    program=program,
                    action="reject for a passed completion deadline",
                    actor=SYSTEM,
                    now=now,
                    reasons=[DEADLINE_PASSED],
                    appeal_until=deadlines.appeal_until,
                )
            await views.refresh_touched(session)
        expired += len(overdue)
        if len(overdue) < batch:
            return expired


async def appeal(
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    reason: str,
) -> Appeal:
    now = clock.now()
    async with sessions() as session, session.begin():
        application = owned(
            await repository.load(session, application_id, for_update=True),
            principal,
            application_id,
        )
        if application.status is Status.REJECTED:
            if await repository.appeal_of(session, application_id) is not None:
                raise Problem(
                    409,
                    "Conflict",
                    "This application was appealed already; the appeal's decision is final.",
                    "already-appealed",
                    extra={"current_status": application.status.value},
                )
            if application.appeal_until is None or now > application.appeal_until:
                until = application.appeal_until
                raise Problem(
                    409,
                    "Conflict",
                    "The appeal window has closed"
                    + (f" (it ended {until.isoformat()})." if until else "."),
                    "appeal-window-closed",
                    extra={
                        "current_status": application.status.value,
                        "appeal_until": None if until is None else until.isoformat(),
                    },
                )
        filed = Appeal(
            appeal_id=uuid.uuid4(), application_id=application_id, reason=reason, filed_at=now
        )
        await move(
            session,
            application,
            Status.APPEALED,
            action="appeal",
            actor=Actor.of(principal),
            now=now,
            note=reason,
            appeal_until=None,
        )
        await repository.insert_appeal(session, filed)
        await views.refresh_touched(session)
        await outbox.publish(
            session,
            AppealFiled(
                appeal_id=filed.appeal_id,
                application_id=application_id,
                citizen_id=application.citizen_id,
                program_code=application.program_code,
                reason=reason,
                filed_at=now,
            ),
        )
    return filed


def require_caseworker(principal: Principal) -> None:
    if principal.role is not Role.CASEWORKER:
        raise forbidden("Only caseworkers review applications.")


async def queue(
    sessions: SessionFactory, clock: Clock, principal: Principal, *, page: int, page_size: int
) -> dict[str, Any]:
    require_caseworker(principal)
    async with sessions() as session:
        items, total = await repository.review_queue(
            session, offset=(page - 1) * page_size, limit=page_size
        )
    return {
        "items": [
            {
                "application_id": a.application_id,
                "citizen_id": a.citizen_id,
                "program_code": a.program_code,
                "status": a.status.value,
                "waiting_since": a.status_since,
                "submitted_at": a.submitted_at,
            }
            for a in items
        ],
        "page": page,
        "page_size": page_size,
        "total": total,
    }


async def review(
    sessions: SessionFactory, clock: Clock, principal: Principal, application_id: UUID
) -> dict[str, Any]:
    require_caseworker(principal)
    async with sessions() as session:
        application = await repository.load(session, application_id)
        if application is None:
            raise not_found(application_id)
        found = await view(session, application, clock)
        found["evaluations"] = await repository.evaluations_of(session, application_id)
        return found


CaseworkerDecision = Literal["APPROVED", "REJECTED"]


async def decide_review(
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    decision: CaseworkerDecision,
    reason: str,
) -> dict[str, Any]:
    require_caseworker(principal)
    now = clock.now()
    async with sessions() as session, session.begin():
        application = await repository.load(session, application_id, for_update=True)
        if application is None:
            raise not_found(application_id)
        if str(application.citizen_id) == principal.subject:
            raise forbidden("A caseworker cannot decide their own application.")
        if application.status not in REVIEWABLE:
            raise Problem(
                409,
                "Conflict",
                f"Cannot decide: the application is {application.status.value}; "
                "caseworkers decide applications UNDER_REVIEW or APPEALED.",
                "illegal-transition",
                extra={"current_status": application.status.value},
            )
        appeal = await repository.appeal_of(session, application_id)
        from_appeal = application.status is Status.APPEALED and appeal is not None
        evaluations = await repository.evaluations_of(session, application_id)
        basis = next(
            (e for e in reversed(evaluations) if from_appeal and e["appeal_id"] is not None),
            evaluations[-1] if evaluations else None,
        )
        program = await repository.load_program(session, application.program_code)
        assert program is not None
        to = Status(decision)
        deadlines = deadlines_for(
            to,
            now,
            appeal_window_days=program.appeal_window_days,
            completion_window_days=program.completion_window_days,
            appealable=not from_appeal,
        )
        benefit = basis["monthly_benefit"] if basis and to is Status.APPROVED else None
        moved = await decide(
            session,
            application,
            to,
            program=program,
            action="decide",
            actor=Actor.of(principal),
            now=now,
            reasons=[Reason(code="caseworker_decision", reason_ar=reason, reason_en=reason)],
            appeal_until=deadlines.appeal_until,
            monthly_benefit=None if benefit is None else Decimal(benefit),
            rule_set_version=None if basis is None else basis["rule_set_version"],
            evaluation_id=None if basis is None else basis["evaluation_id"],
            appeal_id=appeal.appeal_id if from_appeal and appeal is not None else None,
            note=reason,
        )
        if from_appeal and appeal is not None:
            await repository.close_appeal(session, application_id, appeal.appeal_id)
        await views.refresh_touched(session)
        return await view(session, moved, clock)
