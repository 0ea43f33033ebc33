"""Each service connects as its own Postgres role, and that role reaches only its schema."""

from __future__ import annotations

import asyncpg
import pytest

from sanad.platform.services import database_services
from sanad.platform.testing import Infra


def role_dsn(infra: Infra, role: str, password: str) -> str:
    host_part = infra.pg_admin_url.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{role}:{password}@{host_part}/sanad"


async def test_every_service_role_owns_its_schema_and_nothing_else(provisioned: Infra) -> None:
    services = dict(database_services())
    assert set(services) == {
        "identity",
        "profile",
        "applications",
        "eligibility",
        "notifications",
        "cards",
        "audit",
    }
    conn = await asyncpg.connect(role_dsn(provisioned, "identity", services["identity"]))
    try:
        assert await conn.fetchval("SELECT current_schema()") == "identity"
        await conn.execute("CREATE TABLE IF NOT EXISTS isolation_probe (id int)")
        for other in ("profile", "notifications"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {other}.outbox")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"CREATE TABLE {other}.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
        await conn.execute("DROP TABLE isolation_probe")
    finally:
        await conn.close()


async def test_the_audit_role_reads_the_audited_schemas_and_writes_none(
    provisioned: Infra,
) -> None:
    services = dict(database_services())
    conn = await asyncpg.connect(role_dsn(provisioned, "audit", services["audit"]))
    try:
        for schema in ("applications", "eligibility", "cards"):
            await conn.fetch(f"SELECT * FROM {schema}.outbox LIMIT 1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"DELETE FROM {schema}.outbox")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"CREATE TABLE {schema}.intruder (id int)")
        for schema in ("identity", "profile", "notifications"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {schema}.outbox LIMIT 1")
    finally:
        await conn.close()


async def test_provisioning_twice_changes_nothing(provisioned: Infra) -> None:
    from sanad.platform.provision import provision

    assert await provision(provisioned.pg_admin_url) == list(dict(database_services()))


async def test_a_wrong_password_is_refused(provisioned: Infra) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(role_dsn(provisioned, "profile", "not-the-password"))
