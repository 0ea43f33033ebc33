"""Kafka handlers: keep each citizen's latest profile; decide on eligibility's evaluations.

They run in the inbox's transaction (``sanad.shared.inbox``): what they write and the
DecisionIssued they queue commit with the event's processed mark, or not at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.applications import repository
from sanad.applications.domain.decision import Evaluation
from sanad.applications.service.decisions import apply_evaluation
from sanad.shared.app import ConsumerRegistrar, Runtime
from sanad.shared.clock import Clock
from sanad.shared.events import (
    EligibilityEvaluated,
    EligibilityEvaluatedV2,
    EligibilityEvaluatedV3,
    Envelope,
    ProfileUpdated,
    ProfileUpdatedV2,
)
from sanad.shared.inbox import Handler, Handlers
from sanad.shared.logging import get_logger
from sanad.shared.topics import SUBSCRIPTIONS

log = get_logger(__name__)
GROUP = "applications"


async def on_profile_updated(
    session: AsyncSession, event: ProfileUpdated | ProfileUpdatedV2, envelope: Envelope
) -> None:
    """Keep the newest profile per citizen, as version 2 says it (a version 1 of the history
    is upcast: no contact details, no dependent's name or national ID are kept)."""
    profile = event.upcast() if isinstance(event, ProfileUpdated) else event
    snapshot = profile.model_dump(mode="json")
    kept = await repository.keep_profile(session, event.citizen_id, event.version, snapshot)
    log.debug("profile_kept" if kept else "profile_stale", version=event.version)


def on_eligibility_evaluated(clock: Clock) -> Handler:
    async def handle(
        session: AsyncSession,
        event: EligibilityEvaluated | EligibilityEvaluatedV2 | EligibilityEvaluatedV3,
        envelope: Envelope,
    ) -> None:
        outcome = await apply_evaluation(session, Evaluation.of(event), clock)
        log.info("evaluation_applied", outcome=outcome)

    return handle


def handlers(clock: Clock) -> Handlers:
    evaluated = on_eligibility_evaluated(clock)
    return {
        ProfileUpdated: on_profile_updated,
        ProfileUpdatedV2: on_profile_updated,
        EligibilityEvaluated: evaluated,
        EligibilityEvaluatedV2: evaluated,
        EligibilityEvaluatedV3: evaluated,
    }


def consumers(clock: Clock) -> ConsumerRegistrar:
    def register_consumers(runtime: Runtime) -> None:
        runtime.require_inbox().subscribe(
            group_id=GROUP, topics=SUBSCRIPTIONS[GROUP], handlers=handlers(clock)
        )

    return register_consumers
