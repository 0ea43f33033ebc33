"""The citizen's application: start a draft, fill the form, upload documents, submit."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.applications import repository
from sanad.applications.adapters.storage import DocumentStore
from sanad.applications.domain.application import Application, next_action
from sanad.applications.domain.catalog import Program
from sanad.applications.domain.documents import FORMAT_OF, sniff
from sanad.applications.domain.form import ApplicationForm, missing_for_submission
from sanad.applications.domain.states import IllegalTransition, Status, check_move
from sanad.applications.service import views
from sanad.applications.service.catalog import program_not_found
from sanad.applications.service.common import (
    Actor,
    conflict,
    move,
    not_editable,
    not_found,
    owned,
)
from sanad.shared import outbox
from sanad.shared.auth import Principal, Role, forbidden
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.events import ApplicationSubmittedV2
from sanad.shared.events.applications import SubmittedDocumentV2
from sanad.shared.national_id import is_citizen_id
from sanad.shared.problems import FieldError, Problem


def citizen_id_of(principal: Principal) -> UUID:
    if principal.role is not Role.CITIZEN:
        raise forbidden("Only citizens apply to programs.")
    try:
        return UUID(principal.subject)
    except ValueError:
        raise forbidden("Only citizens apply to programs.") from None


async def _program(session: AsyncSession, code: str, *, version: int | None = None) -> Program:
    program = await repository.load_program(session, code, version=version)
    if program is None:
        raise program_not_found(code)
    return program


async def start(
    sessions: SessionFactory, clock: Clock, principal: Principal, program_code: str
) -> Application:
    citizen_id = citizen_id_of(principal)
    now = clock.now()
    async with sessions() as session, session.begin():
        program = await repository.load_program(session, program_code)
        if program is None:
            raise Problem.invalid("body.program_code", "is not a program in the catalog", "unknown")
        if not program.accepting_applications:
            raise Problem.invalid(
                "body.program_code", "is not accepting applications", "not_accepting"
            )
        application = Application(
            application_id=uuid.uuid4(),
            citizen_id=citizen_id,
            program_code=program.code,
            status=Status.DRAFT,
            status_since=now,
            form=ApplicationForm(),
            created_at=now,
            updated_at=now,
        )
        try:
            await repository.insert_application(session, application)
        except repository.OpenApplicationExists:
            first = await repository.open_application_of(session, citizen_id, program.code)
            raise Problem(
                409,
                "Conflict",
                f"You already have an open application to {program.code}: {first}.",
                "open-application-exists",
                errors=[
                    FieldError("body.program_code", "has an open application of yours", "open")
                ],
                extra={"open_application_id": str(first)},
            ) from None
        await repository.record_transition(
            session,
            application.application_id,
            from_status=None,
            to_status=Status.DRAFT,
            at=now,
            actor=principal.subject,
            actor_role=principal.role.value,
        )
        await views.refresh_touched(session)
    return application


async def save_form(
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    form: ApplicationForm,
) -> Application:
    async with sessions() as session, session.begin():
        application = owned(
            await repository.load(session, application_id, for_update=True),
            principal,
            application_id,
        )
        if not application.editable:
            raise not_editable(application, "change the form")
        program = await _program(session, application.program_code)
        if form.category is not None and form.category not in [c.code for c in program.categories]:
            codes = ", ".join(c.code for c in program.categories)
            raise Problem.invalid(
                "body.category",
                f"must be one of {codes}" if codes else f"{program.code} has no categories",
                "unknown",
            )
        updated = replace(application, form=form, updated_at=clock.now())
        await repository.save(session, updated)
        await views.refresh_touched(session)
    return updated


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_count: int


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Content Too Large",
        f"A document may be at most {limit} bytes.",
        "document-too-large",
        errors=[FieldError("body.file", f"is larger than {limit} bytes", "too_large")],
    )


async def upload_document(
    sessions: SessionFactory,
    store: DocumentStore,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    *,
    kind: str,
    content: bytes,
    filename: str | None,
    limits: Limits,
) -> dict[str, Any]:
    """Checked by content (magic bytes), size and count before anything is written; then
    stored under its SHA-256 and recorded, or neither."""
    if len(content) > limits.max_bytes:
        raise _too_large(limits.max_bytes)
    if not content:
        raise Problem.invalid("body.file", "is empty", "empty")
    content_type = sniff(content[:16])
    if content_type is None:
        raise Problem(
            415,
            "Unsupported Media Type",
            "A document must be a PDF, JPEG or PNG (judged by its content, not its name).",
            "unsupported-document",
            errors=[FieldError("body.file", "is not a PDF, JPEG or PNG", "content_type")],
        )
    digest = hashlib.sha256(content).hexdigest()
    now = clock.now()
    created = False
    try:
        async with sessions() as session, session.begin():
            application = owned(
                await repository.load(session, application_id, for_update=True),
                principal,
                application_id,
            )
            if not application.editable:
                raise not_editable(application, "add a document")
            program = await _program(session, application.program_code)
            requirement = program.document(kind)
            if requirement is None:
                kinds = ", ".join(d.kind for d in program.required_documents)
                raise Problem.invalid("body.kind", f"must be one of {kinds}", "unknown")
            if FORMAT_OF[content_type] not in requirement.formats:
                raise Problem(
                    415,
                    "Unsupported Media Type",
                    f"{kind} is accepted as {', '.join(requirement.formats)}.",
                    "unsupported-document",
                    errors=[
                        FieldError(
                            "body.file",
                            f"is {FORMAT_OF[content_type]}; {kind} must be "
                            + " or ".join(requirement.formats),
                            "content_type",
                        )
                    ],
                )
            if await repository.count_documents(session, application_id) >= limits.max_count:
                raise Problem(
                    409,
                    "Conflict",
                    f"An application holds at most {limits.max_count} documents.",
                    "too-many-documents",
                    errors=[
                        FieldError(
                            "body.file", f"would be more than {limits.max_count}", "too_many"
                        )
                    ],
                )
            document = {
                "document_id": uuid.uuid4(),
                "application_id": application_id,
                "kind": kind,
                "content_type": content_type,
                "size_bytes": len(content),
                "sha256": digest,
                "filename": (filename or "")[:255] or None,
                "uploaded_at": now,
            }
            await repository.lock_content(session, digest)
            await repository.add_document(session, **document)
            await repository.save(session, replace(application, updated_at=now))
            await views.refresh_touched(session)
            created = await store.put(digest, content)
    except BaseException:
        if created:
            async with sessions() as session, session.begin():
                await repository.lock_content(session, digest)
                if not await repository.content_referenced(session, digest):
                    await store.delete(digest)
        raise
    return document


async def list_documents(
    sessions: SessionFactory, principal: Principal, application_id: UUID
) -> list[dict[str, Any]]:
    async with sessions() as session:
        owned(await repository.load(session, application_id), principal, application_id)
        return await repository.list_documents(session, application_id)


async def remove_document(
    sessions: SessionFactory,
    store: DocumentStore,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    document_id: UUID,
) -> None:
    async with sessions() as session, session.begin():
        application = owned(
            await repository.load(session, application_id, for_update=True),
            principal,
            application_id,
        )
        if not application.editable:
            raise not_editable(application, "remove a document")
        digest = await repository.remove_document(session, application_id, document_id)
        if digest is None:
            raise Problem(
                404,
                "Not Found",
                f"The application has no document {document_id}.",
                "document-not-found",
                errors=[FieldError("path.document_id", "is not a document of it", "unknown")],
            )
        await repository.save(session, replace(application, updated_at=clock.now()))
        await views.refresh_touched(session)
        # Under the content's lock: no upload of the same content can slip in between.
        await repository.lock_content(session, digest)
        if not await repository.content_referenced(session, digest):
            await store.delete(digest)


def household_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The ProfileUpdated as eligibility needs it: no contact details, no names, no national
    IDs (a dependent's ``is_citizen`` instead, as ProfileUpdated v2 has it; a copy kept from
    a version 1 is converted)."""
    registry = snapshot.get("registry") or {}
    return {
        "registry": {k: registry.get(k) for k in ("sex", "birth_date")},
        "sections": snapshot.get("sections"),
        "dependents": [_dependent(d) for d in snapshot.get("dependents") or []],
        "household": snapshot.get("household"),
        "completeness": snapshot.get("completeness"),
    }


def _dependent(dependent: dict[str, Any]) -> dict[str, Any]:
    if "national_id" not in dependent:
        return dependent
    kept = {k: v for k, v in dependent.items() if k not in ("full_name", "national_id")}
    return kept | {"is_citizen": is_citizen_id(str(dependent["national_id"]))}


@dataclass(frozen=True)
class Submitted:
    application: Application
    replayed: bool  # an earlier submit with the same Idempotency-Key did it


async def submit(
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    application_id: UUID,
    *,
    declaration_accepted: bool,
    idempotency_key: str | None,
) -> Submitted:
    now = clock.now()
    async with sessions() as session, session.begin():
        loaded = await repository.load_for_submit(session, application_id)
        if loaded is None:
            raise not_found(application_id)
        application = owned(loaded.application, principal, application_id)
        # Under the application's lock; a refused submit rolls the key back with the rest.
        if idempotency_key is not None and not await repository.remember_submit_key(
            session, application_id, idempotency_key, now
        ):
            return Submitted(application, replayed=True)
        action = "submit" if application.status is Status.DRAFT else "submit again"
        try:
            check_move(application.status, Status.SUBMITTED, action)
        except IllegalTransition as exc:
            raise conflict(exc) from None
        program = await _program(session, application.program_code, version=loaded.program_version)
        documents, profile = loaded.documents, loaded.profile
        missing = missing_for_submission(
            application.form,
            program,
            {d["kind"] for d in documents},
            has_profile=profile is not None,
        )
        errors = [FieldError(m.field, m.message, m.code) for m in missing]
        if not declaration_accepted:
            errors.insert(
                0,
                FieldError(
                    "body.declaration_accepted", "the declaration must be accepted", "declaration"
                ),
            )
        if errors:
            raise Problem(
                422,
                "Cannot submit",
                "The application is not ready: " + "; ".join(e.field for e in errors),
                "submission-incomplete",
                errors=errors,
                extra={"missing": [e.field for e in errors]},
            )
        assert profile is not None
        submission_id = uuid.uuid4()
        moved = await move(
            session,
            application,
            Status.SUBMITTED,
            action=action,
            actor=Actor.of(principal),
            now=now,
            submission_id=submission_id,
            submission_number=application.submission_number + 1,
            submitted_at=now,
            complete_by=None,
        )
        profile_version, snapshot = profile
        await outbox.publish(
            session,
            ApplicationSubmittedV2(
                application_id=application_id,
                submission_id=submission_id,
                submission_number=moved.submission_number,
                citizen_id=application.citizen_id,
                program_code=application.program_code,
                submitted_at=now,
                form=application.form.for_event(),
                documents=[
                    SubmittedDocumentV2(
                        kind=d["kind"],
                        content_type=d["content_type"],
                        size_bytes=d["size_bytes"],
                        sha256=d["sha256"],
                    )
                    for d in documents
                ],
                profile_version=profile_version,
                household_snapshot=household_snapshot(snapshot),
            ),
        )
        await views.refresh_touched(session)
    return Submitted(moved, replayed=False)


async def view(session: AsyncSession, application: Application, clock: Clock) -> dict[str, Any]:
    """Everything the citizen (or a caseworker) sees of an application, ``next`` included,
    assembled from the tables (the read model stores the same, see ``views``)."""
    found = await views.assemble(session, application)
    step = next_action(
        application.status,
        complete_by=application.complete_by,
        appeal_until=application.appeal_until,
        appealed=found["appeal"] is not None,
        now=clock.now(),
    )
    found["next"] = {"action": step.action, "until": step.until}
    return found


async def read(
    sessions: SessionFactory, clock: Clock, principal: Principal, application_id: UUID
) -> dict[str, Any]:
    """The owner sees their application; caseworkers and auditors see any."""
    async with sessions() as session:
        application = await repository.load(session, application_id)
        if principal.role in (Role.CASEWORKER, Role.AUDITOR):
            if application is None:
                raise not_found(application_id)
        else:
            application = owned(application, principal, application_id)
        return await view(session, application, clock)
