"""Kafka handlers: evaluate each submission and appeal; keep each citizen's latest profile;
keep the beneficiary registry from decisions.

They run in the inbox's transaction (``sanad.shared.inbox``): the stored evaluation and the
EligibilityEvaluated it queues commit with the event's processed mark, or not at all.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.eligibility import repository, service
from sanad.eligibility.service import Subject
from sanad.shared.app import ConsumerRegistrar, Runtime
from sanad.shared.clock import Clock
from sanad.shared.events import (
    AppealFiled,
    ApplicationSubmitted,
    ApplicationSubmittedV2,
    DecisionIssued,
    DecisionIssuedV2,
    DecisionIssuedV3,
    Envelope,
    ProfileUpdated,
    ProfileUpdatedV2,
)
from sanad.shared.inbox import BatchHandler, BatchHandlers, Handler, Handlers
from sanad.shared.logging import get_logger
from sanad.shared.topics import SUBSCRIPTIONS

log = get_logger(__name__)
GROUP = "eligibility"


async def on_profiles_updated(
    session: AsyncSession, events: list[tuple[ProfileUpdated | ProfileUpdatedV2, Envelope]]
) -> None:
    """Keep the newest profile per citizen (no contact details, no names, no national IDs:
    a version 1 of the history is upcast to version 2). One statement for the batch."""
    kept = await repository.keep_profiles(
        session,
        [
            repository.KeptProfile(
                event.citizen_id,
                event.version,
                service.profile_of(
                    (event.upcast() if isinstance(event, ProfileUpdated) else event).model_dump(
                        mode="json"
                    )
                ),
            )
            for event, _ in events
        ],
    )
    log.debug("profiles_kept", kept=kept, events=len(events))


def submission_of(
    event: ApplicationSubmitted | ApplicationSubmittedV2, envelope: Envelope
) -> service.Submission:
    if isinstance(event, ApplicationSubmittedV2):
        submission_id: UUID | None = event.submission_id
        documents = [d.kind for d in event.documents]
    else:  # v1: no submission id; documents named by type
        submission_id = None
        documents = [d.document_type for d in event.documents]
    return service.Submission(
        subject=Subject(
            application_id=event.application_id,
            citizen_id=event.citizen_id,
            program_code=event.program_code,
            trigger="submission",
            at=event.submitted_at,
            submission_id=submission_id,
        ),
        form=dict(event.form),
        documents=documents,
        snapshot=dict(event.household_snapshot),
        cause=envelope,
    )


def on_applications_submitted(clock: Clock) -> BatchHandler:
    """A batch of submissions: a handful of statements for all of them."""

    async def handle(
        session: AsyncSession,
        events: list[tuple[ApplicationSubmitted | ApplicationSubmittedV2, Envelope]],
    ) -> None:
        await service.on_submissions(
            session, [submission_of(event, envelope) for event, envelope in events], clock=clock
        )

    return handle


def on_appeal_filed(clock: Clock) -> Handler:
    async def handle(session: AsyncSession, event: AppealFiled, envelope: Envelope) -> None:
        subject = Subject(
            application_id=event.application_id,
            citizen_id=event.citizen_id,
            program_code=event.program_code,
            trigger="appeal",
            at=event.filed_at,
            appeal_id=event.appeal_id,
        )
        await service.on_appeal(session, subject, envelope, clock=clock)

    return handle


async def on_decisions_issued(
    session: AsyncSession,
    events: list[tuple[DecisionIssued | DecisionIssuedV2 | DecisionIssuedV3, Envelope]],
) -> None:
    """The registry row of each application follows its latest decision: an approval makes
    the citizen an active beneficiary of the program. One statement for the batch."""
    await repository.record_decisions(
        session,
        [
            repository.Decided(
                application_id=event.application_id,
                citizen_id=event.citizen_id,
                program_code=event.program_code,
                active=event.decision == "APPROVED",
                decision_id=event.decision_id,
                decided_at=event.decided_at,
            )
            for event, _ in events
        ],
    )


def handlers(clock: Clock) -> Handlers:
    return {
        AppealFiled: on_appeal_filed(clock),
    }


def batch_handlers(clock: Clock) -> BatchHandlers:
    submitted = on_applications_submitted(clock)
    return {
        ApplicationSubmitted: submitted,
        ApplicationSubmittedV2: submitted,
        DecisionIssued: on_decisions_issued,
        DecisionIssuedV2: on_decisions_issued,
        DecisionIssuedV3: on_decisions_issued,  # v3 adds the program's terms: same registry row
        ProfileUpdated: on_profiles_updated,
        ProfileUpdatedV2: on_profiles_updated,
    }


def consumers(clock: Clock) -> ConsumerRegistrar:
    def register_consumers(runtime: Runtime) -> None:
        runtime.require_inbox().subscribe(
            group_id=GROUP,
            topics=SUBSCRIPTIONS[GROUP],
            handlers=handlers(clock),
            batch_handlers=batch_handlers(clock),
        )

    return register_consumers
