"""The SQL of the applications schema (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sanad.applications.domain.application import Appeal, Application
from sanad.applications.domain.catalog import Program, ProgramDefinition
from sanad.applications.domain.decision import Evaluation
from sanad.applications.domain.form import ApplicationForm
from sanad.applications.domain.states import OPEN, REVIEWABLE, Status
from sanad.applications.models import (
    appeals,
    application_views,
    applications,
    citizen_profiles,
    documents,
    evaluations,
    programs,
    status_history,
    submit_keys,
)
from sanad.shared.db import on_driver

# -- the status read model ---------------------------------------------------------------

# Applications changed in a session's transaction, whose views must be stored again before
# it commits (``service.views.refresh_touched``; a commit without it fails: see views).
TOUCHED = "applications_touched"


def touch(session: AsyncSession, application_id: UUID) -> None:
    session.info.setdefault(TOUCHED, set()).add(application_id)


def touched(session: AsyncSession) -> list[UUID]:
    return sorted(session.info.pop(TOUCHED, set()))


async def store_view(
    session: AsyncSession,
    application: Application,
    *,
    appealed: bool,
    detail: str,
    summary: str,
) -> None:
    values = {
        "citizen_id": application.citizen_id,
        "status": application.status.value,
        "created_at": application.created_at,
        "complete_by": application.complete_by,
        "appeal_until": application.appeal_until,
        "appealed": appealed,
        "detail": detail,
        "summary": summary,
    }
    statement = pg_insert(application_views).values(
        application_id=application.application_id, version=1, **values
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[application_views.c.application_id],
            set_={**values, "version": application_views.c.version + 1},
        )
    )


# The status reads are one statement each, run on the driver (``on_driver``): asyncpg
# prepares each once per connection, and no transaction wraps a single SELECT.


class View(NamedTuple):
    citizen_id: UUID
    status: str
    complete_by: datetime | None
    appeal_until: datetime | None
    appealed: bool
    version: int
    detail: str


class Summary(NamedTuple):
    status: str
    complete_by: datetime | None
    appeal_until: datetime | None
    summary: str
    total: int


VIEW_SQL = """
SELECT citizen_id, status, complete_by, appeal_until, appealed, version, detail
FROM application_views WHERE application_id = $1
"""
# $2: a status, or NULL for every status.
VIEWS_OF_CITIZEN_SQL = """
SELECT status, complete_by, appeal_until, summary, count(*) OVER () AS total
FROM application_views
WHERE citizen_id = $1 AND ($2::text IS NULL OR status = $2::text)
ORDER BY created_at DESC, application_id
OFFSET $3 LIMIT $4
"""
COUNT_VIEWS_OF_CITIZEN_SQL = """
SELECT count(*) FROM application_views
WHERE citizen_id = $1 AND ($2::text IS NULL OR status = $2::text)
"""


async def view_of(conn: AsyncConnection, application_id: UUID) -> View | None:
    """The stored view: one primary-key read."""
    row = await on_driver(conn, "fetchrow", VIEW_SQL, application_id)
    return None if row is None else View(*row)


async def views_of_citizen(
    conn: AsyncConnection, citizen_id: UUID, *, status: Status | None, offset: int, limit: int
) -> list[Summary]:
    """One page of a citizen's views, newest first, each with the total count."""
    wanted = None if status is None else status.value
    rows = await on_driver(conn, "fetch", VIEWS_OF_CITIZEN_SQL, citizen_id, wanted, offset, limit)
    return [Summary(*row) for row in rows]


async def count_views_of_citizen(
    conn: AsyncConnection, citizen_id: UUID, *, status: Status | None
) -> int:
    wanted = None if status is None else status.value
    found = await on_driver(conn, "fetchval", COUNT_VIEWS_OF_CITIZEN_SQL, citizen_id, wanted)
    return int(found)


async def without_view(session: AsyncSession, citizen_id: UUID | None = None) -> list[UUID]:
    """Applications (of one citizen, or one given by id elsewhere) stored before the read
    model existed: their views are built on first read."""
    query = select(applications.c.application_id).where(
        ~select(application_views.c.application_id)
        .where(application_views.c.application_id == applications.c.application_id)
        .exists()
    )
    if citizen_id is not None:
        query = query.where(applications.c.citizen_id == citizen_id)
    return list((await session.execute(query)).scalars())


# -- programs ------------------------------------------------------------------------------


def _program(row: Row[Any]) -> Program:
    return Program.model_validate({**row.definition, "code": row.code, "version": row.version})


async def list_programs(session: AsyncSession) -> list[Program]:
    rows = await session.execute(select(programs).order_by(programs.c.code))
    return [_program(row) for row in rows]


async def load_program(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> Program | None:
    query = select(programs).where(programs.c.code == code)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _program(row)


async def save_program(
    session: AsyncSession, code: str, definition: ProgramDefinition, updated_by: str
) -> Program:
    """Create the program (version 1) or replace it (one version higher)."""
    data = definition.model_dump(mode="json")
    statement = pg_insert(programs).values(
        code=code, version=1, definition=data, updated_by=updated_by
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[programs.c.code],
        set_={
            "version": programs.c.version + 1,
            "definition": statement.excluded.definition,
            "updated_by": statement.excluded.updated_by,
            "updated_at": func.now(),
        },
    ).returning(programs.c.version)
    version = (await session.execute(upsert)).scalar_one()
    return Program.model_validate({**data, "code": code, "version": version})


# -- citizens' profiles (event-carried state) ----------------------------------------------


async def keep_profile(
    session: AsyncSession, citizen_id: UUID, version: int, snapshot: dict[str, Any]
) -> bool:
    """Keep the newest version per citizen; an older or repeated one changes nothing."""
    statement = pg_insert(citizen_profiles).values(
        citizen_id=citizen_id, version=version, snapshot=snapshot
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[citizen_profiles.c.citizen_id],
        set_={
            "version": statement.excluded.version,
            "snapshot": statement.excluded.snapshot,
            "received_at": func.now(),
        },
        where=citizen_profiles.c.version < statement.excluded.version,
    ).returning(citizen_profiles.c.version)
    return (await session.execute(upsert)).first() is not None


async def latest_profile(
    session: AsyncSession, citizen_id: UUID
) -> tuple[int, dict[str, Any]] | None:
    row = (
        await session.execute(
            select(citizen_profiles.c.version, citizen_profiles.c.snapshot).where(
                citizen_profiles.c.citizen_id == citizen_id
            )
        )
    ).first()
    return None if row is None else (row.version, row.snapshot)


# -- applications --------------------------------------------------------------------------


def _application(row: Row[Any]) -> Application:
    return Application(
        application_id=row.application_id,
        citizen_id=row.citizen_id,
        program_code=row.program_code,
        status=Status(row.status),
        status_since=row.status_since,
        form=ApplicationForm.model_validate(row.form),
        created_at=row.created_at,
        updated_at=row.updated_at,
        submission_id=row.submission_id,
        submission_number=row.submission_number,
        submitted_at=row.submitted_at,
        decision=row.decision,
        complete_by=row.complete_by,
        appeal_until=row.appeal_until,
    )


class OpenApplicationExists(Exception):
    pass


async def insert_application(session: AsyncSession, application: Application) -> None:
    """Raises ``OpenApplicationExists`` when the citizen has an open one to the program
    (the database's partial unique index decides, so two racing requests cannot both win)."""
    touch(session, application.application_id)
    try:
        async with session.begin_nested():
            await session.execute(
                insert(applications).values(
                    application_id=application.application_id,
                    citizen_id=application.citizen_id,
                    program_code=application.program_code,
                    status=application.status.value,
                    status_since=application.status_since,
                    form=application.form.model_dump(mode="json"),
                    created_at=application.created_at,
                    updated_at=application.updated_at,
                )
            )
    except IntegrityError as exc:
        if "applications_one_open_per_program" in str(exc.orig):
            raise OpenApplicationExists from None
        raise


async def open_application_of(
    session: AsyncSession, citizen_id: UUID, program_code: str
) -> UUID | None:
    return (
        await session.execute(
            select(applications.c.application_id).where(
                applications.c.citizen_id == citizen_id,
                applications.c.program_code == program_code,
                applications.c.status.in_([s.value for s in OPEN]),
            )
        )
    ).scalar_one_or_none()


async def load(
    session: AsyncSession, application_id: UUID, *, for_update: bool = False
) -> Application | None:
    query = select(applications).where(applications.c.application_id == application_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _application(row)


async def save(session: AsyncSession, application: Application) -> None:
    touch(session, application.application_id)
    await session.execute(
        update(applications)
        .where(applications.c.application_id == application.application_id)
        .values(
            status=application.status.value,
            status_since=application.status_since,
            form=application.form.model_dump(mode="json"),
            submission_id=application.submission_id,
            submission_number=application.submission_number,
            submitted_at=application.submitted_at,
            decision=application.decision,
            complete_by=application.complete_by,
            appeal_until=application.appeal_until,
            updated_at=application.updated_at,
        )
    )


async def list_of_citizen(
    session: AsyncSession,
    citizen_id: UUID,
    *,
    status: Status | None,
    offset: int,
    limit: int,
) -> tuple[list[Application], int]:
    where = [applications.c.citizen_id == citizen_id]
    if status is not None:
        where.append(applications.c.status == status.value)
    total = (
        await session.execute(select(func.count()).select_from(applications).where(*where))
    ).scalar_one()
    rows = await session.execute(
        select(applications)
        .where(*where)
        .order_by(applications.c.created_at.desc(), applications.c.application_id)
        .offset(offset)
        .limit(limit)
    )
    return [_application(row) for row in rows], int(total)


async def review_queue(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[Application], int]:
    where = applications.c.status.in_([s.value for s in REVIEWABLE])
    total = (
        await session.execute(select(func.count()).select_from(applications).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(applications)
        .where(where)
        .order_by(applications.c.status_since, applications.c.application_id)
        .offset(offset)
        .limit(limit)
    )
    return [_application(row) for row in rows], int(total)


async def overdue_completions(
    session: AsyncSession, now: datetime, *, limit: int
) -> list[Application]:
    """Applications past their completion deadline, locked; others running the job skip
    them."""
    rows = await session.execute(
        select(applications)
        .where(applications.c.status == Status.NEEDS_COMPLETION.value)
        .where(applications.c.complete_by < now)
        .order_by(applications.c.complete_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_application(row) for row in rows]


# -- history -------------------------------------------------------------------------------


async def record_transition(
    session: AsyncSession,
    application_id: UUID,
    *,
    from_status: Status | None,
    to_status: Status,
    at: datetime,
    actor: str,
    actor_role: str,
    reasons: Sequence[dict[str, Any]] = (),
    note: str | None = None,
) -> None:
    touch(session, application_id)
    await session.execute(
        insert(status_history).values(
            application_id=application_id,
            from_status=None if from_status is None else from_status.value,
            to_status=to_status.value,
            at=at,
            actor=actor,
            actor_role=actor_role,
            reasons=list(reasons),
            note=note,
        )
    )


async def history(session: AsyncSession, application_id: UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(status_history)
        .where(status_history.c.application_id == application_id)
        .order_by(status_history.c.id)
    )
    return [
        {
            "from": row.from_status,
            "to": row.to_status,
            "at": row.at,
            "by": row.actor,
            "by_role": row.actor_role,
            "reasons": row.reasons,
            "note": row.note,
        }
        for row in rows
    ]


# -- documents -----------------------------------------------------------------------------


async def add_document(session: AsyncSession, **values: Any) -> None:
    touch(session, values["application_id"])
    await session.execute(insert(documents).values(**values))


async def list_documents(session: AsyncSession, application_id: UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(documents)
        .where(documents.c.application_id == application_id)
        .order_by(documents.c.position)
    )
    return [{k: v for k, v in row._mapping.items() if k != "position"} for row in rows]


async def count_documents(session: AsyncSession, application_id: UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(documents)
                .where(documents.c.application_id == application_id)
            )
        ).scalar_one()
    )


async def remove_document(
    session: AsyncSession, application_id: UUID, document_id: UUID
) -> str | None:
    """The removed document's hash, or None if the application has no such document."""
    touch(session, application_id)
    return (
        await session.execute(
            delete(documents)
            .where(documents.c.application_id == application_id)
            .where(documents.c.document_id == document_id)
            .returning(documents.c.sha256)
        )
    ).scalar_one_or_none()


async def lock_content(session: AsyncSession, sha256: str) -> None:
    """Serialise uploads and removals of the same content until the transaction ends, so a
    removal never deletes a blob an upload is about to reference."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext("applications.documents:" + sha256)))
    )


async def content_referenced(session: AsyncSession, sha256: str) -> bool:
    return (
        await session.execute(select(documents.c.document_id).where(documents.c.sha256 == sha256))
    ).first() is not None


# -- evaluations and appeals ---------------------------------------------------------------


async def store_evaluation(session: AsyncSession, evaluation: Evaluation, at: datetime) -> bool:
    """False when this evaluation id was stored already (a duplicate)."""
    touch(session, evaluation.application_id)
    result = await session.execute(
        pg_insert(evaluations)
        .values(
            evaluation_id=evaluation.evaluation_id,
            application_id=evaluation.application_id,
            submission_id=evaluation.submission_id,
            appeal_id=evaluation.appeal_id,
            rule_set_version=evaluation.rule_set_version,
            outcome=evaluation.outcome,
            criteria=[c.model_dump(mode="json") for c in evaluation.criteria],
            missing=[m.model_dump(mode="json") for m in evaluation.missing],
            monthly_benefit=evaluation.monthly_benefit,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=[evaluations.c.evaluation_id])
        .returning(evaluations.c.evaluation_id)
    )
    return result.first() is not None


async def evaluation_known(session: AsyncSession, evaluation_id: UUID) -> bool:
    return (
        await session.execute(
            select(evaluations.c.evaluation_id).where(evaluations.c.evaluation_id == evaluation_id)
        )
    ).first() is not None


def _evaluation_view(row: Row[Any]) -> dict[str, Any]:
    benefit: Decimal | None = row.monthly_benefit
    return {
        "evaluation_id": row.evaluation_id,
        "submission_id": row.submission_id,
        "appeal_id": row.appeal_id,
        "rule_set_version": row.rule_set_version,
        "outcome": row.outcome,
        "criteria": row.criteria,
        "missing": row.missing,
        "monthly_benefit": None if benefit is None else str(benefit),
        "received_at": row.received_at,
    }


async def evaluations_of(session: AsyncSession, application_id: UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(evaluations)
        .where(evaluations.c.application_id == application_id)
        .order_by(evaluations.c.received_at, evaluations.c.evaluation_id)
    )
    return [_evaluation_view(row) for row in rows]


def _appeal(row: Row[Any]) -> Appeal:
    return Appeal(
        appeal_id=row.appeal_id,
        application_id=row.application_id,
        reason=row.reason,
        filed_at=row.filed_at,
        evaluation_id=row.evaluation_id,
        decided=row.decided,
    )


async def appeal_of(session: AsyncSession, application_id: UUID) -> Appeal | None:
    row = (
        await session.execute(select(appeals).where(appeals.c.application_id == application_id))
    ).first()
    return None if row is None else _appeal(row)


async def insert_appeal(session: AsyncSession, appeal: Appeal) -> None:
    touch(session, appeal.application_id)
    await session.execute(
        insert(appeals).values(
            appeal_id=appeal.appeal_id,
            application_id=appeal.application_id,
            reason=appeal.reason,
            filed_at=appeal.filed_at,
        )
    )


async def attach_appeal_evaluation(
    session: AsyncSession, appeal_id: UUID, evaluation_id: UUID
) -> None:
    await session.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(evaluation_id=evaluation_id)
    )


async def close_appeal(session: AsyncSession, appeal_id: UUID) -> None:
    await session.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(decided=True)
    )


# -- idempotent submits --------------------------------------------------------------------


async def remember_submit_key(
    session: AsyncSession, application_id: UUID, key: str, at: datetime
) -> bool:
    """False when this key already submitted this application."""
    result = await session.execute(
        pg_insert(submit_keys)
        .values(application_id=application_id, key=key, created_at=at)
        .on_conflict_do_nothing()
        .returning(submit_keys.c.key)
    )
    return result.first() is not None


async def submit_key_used(session: AsyncSession, application_id: UUID, key: str) -> bool:
    return (
        await session.execute(
            select(submit_keys.c.key).where(
                submit_keys.c.application_id == application_id, submit_keys.c.key == key
            )
        )
    ).first() is not None
