"""Start-up hooks: seed the civil registry from the shipped CSV, create the first admin."""

from __future__ import annotations

from sanad.identity.adapters.civil_registry import (
    TableCivilRegistry,
    shipped_records,
    shipped_relations,
)
from sanad.identity.service.staff import create_first_admin as create_admin
from sanad.identity.settings import IdentitySettings
from sanad.shared.app import Runtime
from sanad.shared.logging import get_logger
from sanad.shared.settings import reveal

log = get_logger(__name__)


async def seed_civil_registry(runtime: Runtime) -> None:
    """Idempotent: records already there (including ones changed by the CLI) are kept; the
    shipped mobiles and family relations are added to them."""
    records = shipped_records()
    async with runtime.require_sessions()() as session, session.begin():
        registry = TableCivilRegistry(session)
        added = await registry.add(records)
        await registry.add_mobiles(records)
        problems = await registry.relate(shipped_relations())
    if problems:
        log.warning("civil_registry_family_problems", problems=problems)
    log.info("civil_registry_seeded", added=added)


async def create_first_admin(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    if not settings.admin_national_id or settings.admin_password is None:
        return
    account_id = await create_admin(
        runtime.require_sessions(),
        settings.pseudonyms,
        national_id=settings.admin_national_id,
        password=reveal(settings.admin_password.get_secret_value()),
        name=settings.admin_name,
    )
    if account_id is not None:
        log.info("first_admin_created", account_id=str(account_id))
