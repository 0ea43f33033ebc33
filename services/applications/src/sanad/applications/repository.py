"""The SQL of the applications schema (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import (
    Row,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
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
)
from sanad.shared.db import on_driver

CENTS = Decimal("0.01")

# -- the status read model ---------------------------------------------------------------

# Applications changed in a session's transaction, whose views must be stored again before
# it commits (``service.views.refresh_touched``; a commit without it fails: see views), with
# what the transaction did to each, so that the view is brought up to date from memory.
TOUCHED = "applications_touched"
CHANGES = "applications_changes"
STORED_VIEWS = "applications_stored_views"  # read along with a locked application


def jsonb_ordered(value: Any) -> Any:
    """``value`` with its objects' keys in the order Postgres's jsonb gives them back
    (shorter keys first, then bytewise), so a view made from memory is encoded byte for byte
    as one made from the tables."""
    if isinstance(value, dict):
        return {
            k: jsonb_ordered(value[k])
            for k in sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        }
    if isinstance(value, list):
        return [jsonb_ordered(v) for v in value]
    return value


@dataclass
class Changes:
    """What one transaction did to one application, as its view shows it."""

    application: Application | None = None  # as last saved or inserted
    created: bool = False  # inserted in this transaction: nothing else of it exists
    history: list[dict[str, Any]] = field(default_factory=list)  # entries added, in order
    documents: list[dict[str, Any]] = field(default_factory=list)  # documents added, in order
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # evaluations stored
    rebuild: bool = False  # something a view cannot follow from memory (an appeal, a removal)


def touch(session: AsyncSession, application_id: UUID, *, rebuild: bool = False) -> Changes:
    session.info.setdefault(TOUCHED, set()).add(application_id)
    root = session.sync_session.get_transaction()
    owner, changes = session.info.get(CHANGES, (None, {}))
    if owner is not root:  # left by a transaction that did not commit: not this one's
        changes = {}
        session.info[CHANGES] = (root, changes)
    found: Changes = changes.setdefault(application_id, Changes())
    found.rebuild = found.rebuild or rebuild
    return found


def touched(session: AsyncSession) -> list[tuple[UUID, Changes | None]]:
    """The applications changed, each with what changed (None: unknown, rebuild its view)."""
    ids = sorted(session.info.pop(TOUCHED, set()))
    root = session.sync_session.get_transaction()
    owner, changes = session.info.pop(CHANGES, (None, {}))
    if owner is not root:
        changes = {}
    return [(application_id, changes.get(application_id)) for application_id in ids]


async def stored_detail(session: AsyncSession, application_id: UUID) -> str | None:
    """The stored view's JSON, or None when it has none yet."""
    loaded: dict[UUID, str | None] = session.info.get(STORED_VIEWS, {})
    if application_id in loaded:  # read with the application, under its lock
        return loaded.pop(application_id)
    found: str | None = (
        await session.execute(_STORED_DETAIL, {"application_id": application_id})
    ).scalar_one_or_none()
    return found


_STORED_DETAIL = select(application_views.c.detail).where(
    application_views.c.application_id == bindparam("application_id")
)
_INSERT_VIEW = insert(application_views)
_UPDATE_VIEW = (
    update(application_views)
    .where(application_views.c.application_id == bindparam("id"))
    .values(version=application_views.c.version + 1)
)
_STORE_VIEW = pg_insert(application_views)
_STORE_VIEW = _STORE_VIEW.on_conflict_do_update(
    index_elements=[application_views.c.application_id],
    set_={
        **{
            name: _STORE_VIEW.excluded[name]
            for name in (
                "citizen_id",
                "status",
                "created_at",
                "complete_by",
                "appeal_until",
                "appealed",
                "detail",
                "summary",
            )
        },
        "version": application_views.c.version + 1,
    },
)


async def store_view(
    session: AsyncSession,
    application: Application,
    *,
    appealed: bool,
    detail: str,
    summary: str,
    exists: bool | None = None,
) -> None:
    """Insert or replace the view (``exists``: known to be stored already, or known not to
    be; then a plain UPDATE or INSERT, which SQLAlchemy compiles once, unlike an upsert)."""
    session.info.get(STORED_VIEWS, {}).pop(application.application_id, None)
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
    if exists:
        await session.execute(_UPDATE_VIEW, {"id": application.application_id, **values})
        return
    statement = _STORE_VIEW if exists is None else _INSERT_VIEW
    await session.execute(
        statement, {"application_id": application.application_id, "version": 1, **values}
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


# Programs as validated, by (code, version): a change makes a new version, so an entry is
# never stale; reading the version alone spares decoding and validating the definition.
_PROGRAMS: dict[tuple[str, int], Program] = {}
_PROGRAM_VERSION = select(programs.c.version).where(programs.c.code == bindparam("code"))
_PROGRAM = select(programs).where(programs.c.code == bindparam("code"))


async def load_program(
    session: AsyncSession, code: str, *, for_update: bool = False, version: int | None = None
) -> Program | None:
    """The program as validated; ``version``: its version, read already (with the
    application, see ``load_for_evaluation``), which spares reading it."""
    if for_update:
        row = (await session.execute(_PROGRAM.with_for_update(), {"code": code})).first()
        return None if row is None else _program(row)
    if version is None:
        version = (await session.execute(_PROGRAM_VERSION, {"code": code})).scalar_one_or_none()
    if version is None:
        return None
    found = _PROGRAMS.get((code, version))
    if found is None:
        row = (await session.execute(_PROGRAM, {"code": code})).first()
        if row is None:
            return None
        found = _program(row)
        if len(_PROGRAMS) > 256:  # old versions of a catalog that keeps changing
            _PROGRAMS.clear()
        _PROGRAMS[(found.code, found.version)] = found
    return found


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


_LATEST_PROFILE = select(citizen_profiles.c.version, citizen_profiles.c.snapshot).where(
    citizen_profiles.c.citizen_id == bindparam("citizen_id")
)


async def latest_profile(
    session: AsyncSession, citizen_id: UUID
) -> tuple[int, dict[str, Any]] | None:
    row = (await session.execute(_LATEST_PROFILE, {"citizen_id": citizen_id})).first()
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
    changes = touch(session, application.application_id)
    changes.created, changes.application = True, application
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


# The hot path's statements are built once: SQLAlchemy then reuses their compiled form
# without building them and their cache keys again on every call.
_LOAD = select(applications).where(applications.c.application_id == bindparam("id"))
# A use case that locks the application is about to store its view again: the stored view
# comes in the same round trip (no writer changes it without that lock).
_LOAD_FOR_UPDATE = (
    select(applications, application_views.c.detail.label("stored_view"))
    .outerjoin(
        application_views,
        application_views.c.application_id == applications.c.application_id,
    )
    .where(applications.c.application_id == bindparam("id"))
    .with_for_update(of=applications)
)
_SAVE = update(applications).where(applications.c.application_id == bindparam("id"))


async def load(
    session: AsyncSession, application_id: UUID, *, for_update: bool = False
) -> Application | None:
    query = _LOAD_FOR_UPDATE if for_update else _LOAD
    row = (await session.execute(query, {"id": application_id})).first()
    if row is None:
        return None
    if for_update:
        session.info.setdefault(STORED_VIEWS, {})[application_id] = row.stored_view
    return _application(row)


# What deciding on an evaluation reads, in the round trip that locks the application: its
# stored view, whether this evaluation was stored already, its appeal, its program's version.
_LOAD_FOR_EVALUATION = (
    select(
        applications,
        application_views.c.detail.label("stored_view"),
        exists()
        .where(evaluations.c.evaluation_id == bindparam("evaluation_id"))
        .label("evaluation_known"),
        appeals.c.appeal_id.label("appeal_id"),
        appeals.c.reason.label("appeal_reason"),
        appeals.c.filed_at.label("appeal_filed_at"),
        appeals.c.evaluation_id.label("appeal_evaluation_id"),
        appeals.c.decided.label("appeal_decided"),
        programs.c.version.label("program_version"),
    )
    .outerjoin(
        application_views,
        application_views.c.application_id == applications.c.application_id,
    )
    .outerjoin(appeals, appeals.c.application_id == applications.c.application_id)
    .outerjoin(programs, programs.c.code == applications.c.program_code)
    .where(applications.c.application_id == bindparam("id"))
    .with_for_update(of=applications)
)


# What a submit reads, in the round trip that locks the application: its stored view, its
# program's version, the citizen's latest profile known here and its documents as the
# submission carries them (in upload order).
_SUBMITTED_DOCUMENTS = (
    select(
        func.coalesce(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object(
                        "kind",
                        documents.c.kind,
                        "content_type",
                        documents.c.content_type,
                        "size_bytes",
                        documents.c.size_bytes,
                        "sha256",
                        documents.c.sha256,
                    ),
                    documents.c.position,
                )
            ),
            text("'[]'::jsonb"),
        )
    )
    .where(documents.c.application_id == applications.c.application_id)
    .scalar_subquery()
)
_LOAD_FOR_SUBMIT = (
    select(
        applications,
        application_views.c.detail.label("stored_view"),
        programs.c.version.label("program_version"),
        citizen_profiles.c.version.label("profile_version"),
        citizen_profiles.c.snapshot.label("profile_snapshot"),
        type_coerce(_SUBMITTED_DOCUMENTS, JSONB).label("submitted_documents"),
    )
    .outerjoin(
        application_views,
        application_views.c.application_id == applications.c.application_id,
    )
    .outerjoin(programs, programs.c.code == applications.c.program_code)
    .outerjoin(citizen_profiles, citizen_profiles.c.citizen_id == applications.c.citizen_id)
    .where(applications.c.application_id == bindparam("id"))
    .with_for_update(of=applications)
)


class ForSubmit(NamedTuple):
    application: Application
    program_version: int | None
    profile: tuple[int, dict[str, Any]] | None  # as ``latest_profile``
    documents: list[dict[str, Any]]  # kind, content_type, size_bytes, sha256


async def load_for_submit(session: AsyncSession, application_id: UUID) -> ForSubmit | None:
    """``load(for_update=True)``, with the program's version, ``latest_profile`` and the
    documents the submission names, in the same statement."""
    row = (await session.execute(_LOAD_FOR_SUBMIT, {"id": application_id})).first()
    if row is None:
        return None
    session.info.setdefault(STORED_VIEWS, {})[application_id] = row.stored_view
    profile = None if row.profile_version is None else (row.profile_version, row.profile_snapshot)
    return ForSubmit(_application(row), row.program_version, profile, row.submitted_documents)


class ForEvaluation(NamedTuple):
    application: Application
    evaluation_known: bool
    appeal: Appeal | None
    program_version: int | None


async def load_for_evaluation(
    session: AsyncSession, application_id: UUID, evaluation_id: UUID
) -> ForEvaluation | None:
    """``load(for_update=True)``, with ``evaluation_known``, ``appeal_of`` and the program's
    version in the same statement."""
    row = (
        await session.execute(
            _LOAD_FOR_EVALUATION, {"id": application_id, "evaluation_id": evaluation_id}
        )
    ).first()
    if row is None:
        return None
    session.info.setdefault(STORED_VIEWS, {})[application_id] = row.stored_view
    appeal = (
        None
        if row.appeal_id is None
        else Appeal(
            appeal_id=row.appeal_id,
            application_id=application_id,
            reason=row.appeal_reason,
            filed_at=row.appeal_filed_at,
            evaluation_id=row.appeal_evaluation_id,
            decided=row.appeal_decided,
        )
    )
    return ForEvaluation(_application(row), row.evaluation_known, appeal, row.program_version)


async def save(session: AsyncSession, application: Application) -> None:
    touch(session, application.application_id).application = application
    await session.execute(
        _SAVE,
        {
            "id": application.application_id,
            "status": application.status.value,
            "status_since": application.status_since,
            "form": application.form.model_dump(mode="json"),
            "submission_id": application.submission_id,
            "submission_number": application.submission_number,
            "submitted_at": application.submitted_at,
            "decision": application.decision,
            "complete_by": application.complete_by,
            "appeal_until": application.appeal_until,
            "updated_at": application.updated_at,
        },
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
    touch(session, application_id).history.append(
        {
            "from": None if from_status is None else from_status.value,
            "to": to_status.value,
            "at": at,
            "by": actor,
            "by_role": actor_role,
            "reasons": jsonb_ordered(list(reasons)),
            "note": note,
        }
    )
    await session.execute(
        _RECORD_TRANSITION,
        {
            "application_id": application_id,
            "from_status": None if from_status is None else from_status.value,
            "to_status": to_status.value,
            "at": at,
            "actor": actor,
            "actor_role": actor_role,
            "reasons": list(reasons),
            "note": note,
        },
    )


_RECORD_TRANSITION = insert(status_history)


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
    # As ``list_documents`` gives it: the table's columns in order, without the position.
    touch(session, values["application_id"]).documents.append(
        {c.name: values.get(c.name) for c in documents.columns if c.name != "position"}
    )
    await session.execute(insert(documents).values(**values))


_DOCUMENTS = (
    select(documents)
    .where(documents.c.application_id == bindparam("application_id"))
    .order_by(documents.c.position)
)


async def list_documents(session: AsyncSession, application_id: UUID) -> list[dict[str, Any]]:
    rows = await session.execute(_DOCUMENTS, {"application_id": application_id})
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
    touch(session, application_id, rebuild=True)
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


# (Written as SQL: SQLAlchemy compiles its PostgreSQL INSERT … ON CONFLICT on every call.)
_STORE_EVALUATION = text(
    "INSERT INTO evaluations (evaluation_id, application_id, submission_id, appeal_id, "
    "rule_set_version, outcome, criteria, missing, monthly_benefit, received_at) "
    "VALUES (:evaluation_id, :application_id, :submission_id, :appeal_id, :rule_set_version, "
    ":outcome, :criteria, :missing, :monthly_benefit, :received_at) "
    "ON CONFLICT (evaluation_id) DO NOTHING RETURNING evaluation_id"
).bindparams(
    *(
        bindparam(name, type_=evaluations.c[name].type)
        for name in ("criteria", "missing", "monthly_benefit", "received_at")
    )
)


async def store_evaluation(session: AsyncSession, evaluation: Evaluation, at: datetime) -> bool:
    """False when this evaluation id was stored already (a duplicate)."""
    changes = touch(session, evaluation.application_id)
    criteria = [c.model_dump(mode="json") for c in evaluation.criteria]
    missing = [m.model_dump(mode="json") for m in evaluation.missing]
    result = await session.execute(
        _STORE_EVALUATION,
        {
            "evaluation_id": evaluation.evaluation_id,
            "application_id": evaluation.application_id,
            "submission_id": evaluation.submission_id,
            "appeal_id": evaluation.appeal_id,
            "rule_set_version": evaluation.rule_set_version,
            "outcome": evaluation.outcome,
            "criteria": criteria,
            "missing": missing,
            "monthly_benefit": evaluation.monthly_benefit,
            "received_at": at,
        },
    )
    stored = result.first() is not None
    if stored:  # as ``evaluations_of`` gives it (numeric(12, 2) keeps two places)
        benefit = evaluation.monthly_benefit
        changes.evaluations.append(
            {
                "evaluation_id": evaluation.evaluation_id,
                "submission_id": evaluation.submission_id,
                "appeal_id": evaluation.appeal_id,
                "rule_set_version": evaluation.rule_set_version,
                "outcome": evaluation.outcome,
                "criteria": jsonb_ordered(criteria),
                "missing": jsonb_ordered(missing),
                "monthly_benefit": None
                if benefit is None
                else str(benefit.quantize(CENTS, rounding=ROUND_HALF_UP)),
                "received_at": at,
            }
        )
    return stored


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


_APPEAL_OF = select(appeals).where(appeals.c.application_id == bindparam("application_id"))


async def appeal_of(session: AsyncSession, application_id: UUID) -> Appeal | None:
    row = (await session.execute(_APPEAL_OF, {"application_id": application_id})).first()
    return None if row is None else _appeal(row)


async def insert_appeal(session: AsyncSession, appeal: Appeal) -> None:
    touch(session, appeal.application_id, rebuild=True)
    await session.execute(
        insert(appeals).values(
            appeal_id=appeal.appeal_id,
            application_id=appeal.application_id,
            reason=appeal.reason,
            filed_at=appeal.filed_at,
        )
    )


async def attach_appeal_evaluation(
    session: AsyncSession, application_id: UUID, appeal_id: UUID, evaluation_id: UUID
) -> None:
    touch(session, application_id, rebuild=True)
    await session.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(evaluation_id=evaluation_id)
    )


async def close_appeal(session: AsyncSession, application_id: UUID, appeal_id: UUID) -> None:
    touch(session, application_id, rebuild=True)
    await session.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(decided=True)
    )


# -- idempotent submits --------------------------------------------------------------------


async def remember_submit_key(
    session: AsyncSession, application_id: UUID, key: str, at: datetime
) -> bool:
    """False when this key already submitted this application."""
    result = await session.execute(
        _REMEMBER_SUBMIT_KEY, {"application_id": application_id, "key": key, "created_at": at}
    )
    return result.first() is not None


# (Written as SQL: SQLAlchemy compiles its PostgreSQL INSERT … ON CONFLICT on every call.)
_REMEMBER_SUBMIT_KEY = text(
    "INSERT INTO submit_keys (application_id, key, created_at) "
    "VALUES (:application_id, :key, :created_at) ON CONFLICT DO NOTHING RETURNING key"
)
