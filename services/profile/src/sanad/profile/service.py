"""The profile's use cases: each is one transaction that stores the change and queues its
ProfileUpdated in the outbox, or writes nothing at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.profile import repository
from sanad.profile.domain.household import PersonFacts
from sanad.profile.domain.profile import Profile
from sanad.shared import outbox
from sanad.shared.db import SessionFactory
from sanad.shared.problems import Problem
from sanad.shared.pseudonym import Pseudonyms


def not_found() -> Problem:
    return Problem(
        404,
        "Not Found",
        "There is no profile for this citizen (yet): it is created when registration completes.",
        "profile-not-found",
    )


def if_match_matches(header: str, etag: str) -> bool:
    """RFC 9110 If-Match: ``*`` (the profile exists) or any listed tag, compared strongly
    (a weak ``W/`` tag never matches)."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags


def _check_precondition(profile: Profile, if_match: str | None, *, required: bool) -> None:
    if if_match is None:
        if required:
            raise Problem(
                428,
                "Precondition Required",
                "Send If-Match with the ETag of the profile you read (GET /v1/profile).",
                "precondition-required",
                headers={"ETag": profile.etag},
            )
        return
    if not if_match_matches(if_match, profile.etag):
        raise Problem(
            412,
            "Precondition Failed",
            "The profile changed since you read it; read it again and reapply your change.",
            "precondition-failed",
            headers={"ETag": profile.etag},
            extra={"current_version": profile.version},
        )


async def read(engine: AsyncEngine, citizen_id: UUID) -> Profile:
    """The hot read: one query on a pooled connection, no session."""
    async with engine.connect() as conn:
        profile = await repository.read(conn, citizen_id)
    if profile is None:
        raise not_found()
    return profile


async def change(
    sessions: SessionFactory,
    citizen_id: UUID,
    apply: Callable[[Profile], Profile],
    *,
    if_match: str | None,
    if_match_required: bool,
) -> Profile:
    """Apply ``apply`` to the current profile under a row lock; any exception rolls back."""
    async with sessions() as session, session.begin():
        current = await repository.load(session, citizen_id, for_update=True)
        if current is None:
            raise not_found()
        _check_precondition(current, if_match, required=if_match_required)
        updated = apply(current)
        await repository.save(session, current, updated)
        await outbox.publish(session, updated.to_event())
    return updated


async def change_household(
    sessions: SessionFactory,
    pseudonyms: Pseudonyms,
    citizen_id: UUID,
    national_id: str,
    apply: Callable[[Profile, PersonFacts], Profile],
    *,
    if_match: str | None,
) -> Profile:
    """Add or replace the dependent ``national_id``: under the profile's row lock and the
    person's lock (one household at a time), with what the family register, the staff IDs
    and the other households say about them (identity's IDs compared by pseudonym)."""
    async with sessions() as session, session.begin():
        current = await repository.load(session, citizen_id, for_update=True)
        if current is None:
            raise not_found()
        _check_precondition(current, if_match, required=False)
        await repository.lock_person(session, national_id)
        facts = await repository.person_facts(
            session, citizen_id, national_id, pseudonyms.of(national_id)
        )
        is_the_citizen = pseudonyms.matches(national_id, current.national_id_ref)
        updated = apply(current, dataclasses.replace(facts, is_the_citizen=is_the_citizen))
        await repository.save(session, current, updated)
        await outbox.publish(session, updated.to_event())
    return updated
