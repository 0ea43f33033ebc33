"""The status read model: what a citizen reads of an application, stored encoded.

Every write to an application (its row, history, documents, evaluations, appeal) marks it
touched in the session (``repository.touch``), with what it wrote; the use case stores its
view again with ``refresh_touched`` before its transaction commits, so the view commits with
the change. A commit that forgets fails (``_views_stored``), instead of leaving a stale view.

Storing it again costs no re-reading: the stored view is brought up to date from what the
transaction wrote (the application's row as saved, history entries, documents and the
evaluation added — encoded exactly as read from the tables, jsonb's key order included); a
new application's view is made from memory alone. What memory cannot follow (an appeal, a
removed document, a second submission's evaluation, a view not stored yet) is assembled from
the tables, as before. A test compares both byte for byte.

Reading is then one indexed row (``GET /v1/applications/{id}``: by primary key; ``GET
/v1/applications``: the citizen's index, with the total in the same query) and no JSON
decoding: the stored text is sent as it is, with ``next`` — the only part that depends on
the clock — added at read time from the fields kept beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic_core import from_json, to_json
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from sanad.applications import repository
from sanad.applications.domain.application import Appeal, Application, Next, next_action
from sanad.applications.domain.states import Status
from sanad.applications.service.common import not_found
from sanad.shared.auth import Principal, Role
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory

# Who may read any application (the owner reads their own).
READERS = (Role.CASEWORKER, Role.AUDITOR)


async def assemble(session: AsyncSession, application: Application) -> dict[str, Any]:
    """Everything the citizen (or a caseworker) sees of an application, except ``next``."""
    appeal = await repository.appeal_of(session, application.application_id)
    evaluations = await repository.evaluations_of(session, application.application_id)
    return _detail(
        application,
        documents=await repository.list_documents(session, application.application_id),
        evaluations=evaluations,
        appeal=appeal,
        history=await repository.history(session, application.application_id),
    )


def _detail(
    application: Application,
    *,
    documents: list[dict[str, Any]],
    evaluations: list[dict[str, Any]],
    appeal: Appeal | None,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    submission_evaluations = [e for e in evaluations if e["appeal_id"] is None]
    appeal_view = None
    if appeal is not None:
        appeal_view = {
            "appeal_id": appeal.appeal_id,
            "reason": appeal.reason,
            "filed_at": appeal.filed_at,
            "decided": appeal.decided,
            "evaluation": next(
                (e for e in evaluations if e["evaluation_id"] == appeal.evaluation_id), None
            ),
        }
    return {
        "application_id": application.application_id,
        "citizen_id": application.citizen_id,
        "program_code": application.program_code,
        **_application_fields(application),
        "documents": documents,
        "decision": repository.jsonb_ordered(application.decision),
        "eligibility": submission_evaluations[-1] if submission_evaluations else None,
        "appeal": appeal_view,
        "complete_by": application.complete_by,
        "appeal_until": application.appeal_until,
        "history": history,
    }


def _application_fields(application: Application) -> dict[str, Any]:
    """The view's members that come from the application's row alone, up to the documents
    (the decision and the deadlines come later in the view)."""
    return {
        "status": application.status.value,
        "status_since": application.status_since,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
        "form": application.form.public(),
        "submission_id": application.submission_id,
        "submission_number": application.submission_number,
        "submitted_at": application.submitted_at,
    }


def summary_of(application: Application) -> dict[str, Any]:
    """An item of "my requests", except ``next``."""
    return {
        "application_id": application.application_id,
        "program_code": application.program_code,
        "status": application.status.value,
        "status_since": application.status_since,
        "created_at": application.created_at,
        "decision": repository.jsonb_ordered(application.decision),
    }


def _patched(stored: str, changes: repository.Changes) -> dict[str, Any] | None:
    """The stored view brought up to date with what this transaction did, or None when that
    takes the tables (then the view is assembled again)."""
    application = changes.application
    assert application is not None
    detail: dict[str, Any] = from_json(stored)
    detail.update(_application_fields(application))
    detail["decision"] = repository.jsonb_ordered(application.decision)
    detail["complete_by"] = application.complete_by
    detail["appeal_until"] = application.appeal_until
    detail["documents"].extend(changes.documents)
    detail["history"].extend(changes.history)
    if changes.evaluations:
        if len(changes.evaluations) > 1 or detail["eligibility"] is not None:
            return None  # which one is the latest is the table's order to say
        (evaluation,) = changes.evaluations
        if evaluation["appeal_id"] is not None:
            return None
        detail["eligibility"] = evaluation
    return detail


async def _store(
    session: AsyncSession,
    application: Application,
    detail: dict[str, Any],
    *,
    exists: bool | None = None,
) -> None:
    await repository.store_view(
        session,
        application,
        appealed=detail["appeal"] is not None,
        detail=to_json(detail).decode(),
        summary=to_json(summary_of(application)).decode(),
        exists=exists,
    )


async def refresh(
    session: AsyncSession, application_id: UUID, changes: repository.Changes | None = None
) -> None:
    """Store the application's view again: from what the transaction did (``changes``) and
    the stored view when it can, assembled from the tables otherwise."""
    application = None if changes is None or changes.rebuild else changes.application
    if application is not None and changes is not None:
        if changes.created:  # nothing else of it exists yet
            detail = _detail(
                application,
                documents=changes.documents,
                evaluations=changes.evaluations,
                appeal=None,
                history=changes.history,
            )
            await _store(session, application, detail, exists=False)
            return
        stored = await repository.stored_detail(session, application_id)
        patched = None if stored is None else _patched(stored, changes)
        if patched is not None:
            await _store(session, application, patched, exists=True)
            return
    application = await repository.load(session, application_id)
    if application is None:
        return
    await _store(session, application, await assemble(session, application))


async def refresh_touched(session: AsyncSession) -> None:
    """Store again the view of every application this transaction changed."""
    for application_id, changes in repository.touched(session):
        await refresh(session, application_id, changes)


@event.listens_for(Session, "before_commit")
def _views_stored(session: Session) -> None:
    """A commit that changed an application without storing its view fails (a bug to fix,
    not a state to serve)."""
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction is checked when it commits
    left = session.info.get(repository.TOUCHED)
    if left:
        raise AssertionError(
            f"applications {sorted(left)} changed without refresh_touched(): "
            "their status views would be stale"
        )


def _with_next(encoded: str, step: Next) -> bytes:
    """The stored JSON object with ``next`` added as its last member."""
    tail = to_json({"action": step.action, "until": step.until})
    return encoded[:-1].encode() + b',"next":' + tail + b"}"


def _next(row: Any, now: datetime, *, appealed: bool) -> Next:
    return next_action(
        Status(row.status),
        complete_by=row.complete_by,
        appeal_until=row.appeal_until,
        appealed=appealed,
        now=now,
    )


@dataclass(frozen=True)
class Encoded:
    body: bytes
    etag: str


async def _build_missing(sessions: SessionFactory, application_ids: list[UUID]) -> None:
    async with sessions() as session, session.begin():
        for application_id in application_ids:
            repository.touch(session, application_id)
        await refresh_touched(session)


async def read(
    engine: AsyncEngine,
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
) -> Encoded:
    """The owner reads their application; caseworkers and auditors read any. 404 for
    anyone else (its existence is not given away)."""
    async with engine.connect() as conn:
        row = await repository.view_of(conn, application_id)
    if row is None:
        async with sessions() as session:
            exists = await repository.load(session, application_id) is not None
        if not exists:
            raise not_found(application_id)
        await _build_missing(sessions, [application_id])  # stored before the read model
        async with engine.connect() as conn:
            row = await repository.view_of(conn, application_id)
        assert row is not None
    owner = principal.role is Role.CITIZEN and str(row.citizen_id) == principal.subject
    if not owner and principal.role not in READERS:
        raise not_found(application_id)
    step = _next(row, clock.now(), appealed=row.appealed)
    return Encoded(_with_next(row.detail, step), f'"{row.version}.{step.action}"')


async def list_mine(
    engine: AsyncEngine,
    sessions: SessionFactory,
    clock: Clock,
    citizen_id: UUID,
    *,
    status: Status | None,
    page: int,
    page_size: int,
) -> bytes:
    """My requests, newest first: one page and the total, in one query."""
    offset = (page - 1) * page_size
    async with engine.connect() as conn:
        rows = await repository.views_of_citizen(
            conn, citizen_id, status=status, offset=offset, limit=page_size
        )
        total = rows[0].total if rows else None
        if total is None and page > 1:
            total = await repository.count_views_of_citizen(conn, citizen_id, status=status)
    if not rows and page == 1:
        async with sessions() as session:
            missing = await repository.without_view(session, citizen_id)
        if missing:  # stored before the read model
            await _build_missing(sessions, missing)
            return await list_mine(
                engine, sessions, clock, citizen_id, status=status, page=page, page_size=page_size
            )
        total = 0
    now = clock.now()
    # A list item's next step never considers an appeal (as it always has).
    items = b",".join(_with_next(row.summary, _next(row, now, appealed=False)) for row in rows)
    tail = to_json({"page": page, "page_size": page_size, "total": total})
    return b'{"items":[' + items + b"]," + tail[1:]
