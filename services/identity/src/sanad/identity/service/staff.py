"""Staff accounts (caseworker, auditor, admin), from the CLI or, for the first admin, the
environment; they sign in like citizens but need no civil-registry record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from sanad.identity import repository
from sanad.identity.domain.password_policy import password_problem
from sanad.identity.passwords import hash_password
from sanad.shared import outbox
from sanad.shared.auth import STAFF, Role
from sanad.shared.db import SessionFactory
from sanad.shared.events import StaffAccountCreatedV3
from sanad.shared.national_id import validate_national_id
from sanad.shared.pseudonym import Pseudonyms


class StaffAccountError(ValueError):
    """A staff account that cannot be created; the message names the field."""


async def create_staff(
    sessions: SessionFactory,
    pseudonyms: Pseudonyms,
    *,
    national_id: str,
    role: str,
    password: str,
    name: str,
) -> uuid.UUID:
    try:
        staff_role = Role(role)
    except ValueError:
        staff_role = Role.CITIZEN
    if staff_role not in STAFF:
        raise StaffAccountError("role: must be one of caseworker, auditor, admin")
    try:
        national_id = validate_national_id(national_id)
    except ValueError as exc:
        raise StaffAccountError(f"national_id: {exc}") from None
    if problem := password_problem(password, national_id=national_id):
        raise StaffAccountError(f"password: {problem}")
    if not name.strip():
        raise StaffAccountError("name: required")
    account_id = uuid.uuid4()
    password_hash = await hash_password(password)
    try:
        async with sessions() as session, session.begin():
            await repository.insert_account(
                session,
                id=account_id,
                national_id=national_id,
                role=staff_role.value,
                password_hash=password_hash,
                full_name_en=name.strip(),
                language="en",
                pseudonym_key_id=pseudonyms.key_id,
            )
            # Staff are nobody's dependents: the profile service keeps their IDs' pseudonyms.
            event = StaffAccountCreatedV3(
                account_id=account_id,
                national_id_ref=pseudonyms.of(national_id),
                key_id=pseudonyms.key_id,
                role=staff_role.value,
                created_at=datetime.now(UTC),
            )
            await outbox.publish(session, event)
    except IntegrityError:
        raise StaffAccountError("national_id: an account with this national ID exists") from None
    return account_id


async def create_first_admin(
    sessions: SessionFactory, pseudonyms: Pseudonyms, *, national_id: str, password: str, name: str
) -> uuid.UUID | None:
    """The first admin, unless an account has the ID already (then nothing happens)."""
    async with sessions() as session:
        if await repository.account_by_national_id(session, national_id) is not None:
            return None
    return await create_staff(
        sessions, pseudonyms, national_id=national_id, role="admin", password=password, name=name
    )
