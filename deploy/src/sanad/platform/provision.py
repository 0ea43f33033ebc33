"""The database ``sanad`` with one schema and one login role per service, each role granted
only its own schema — except that the ``audit`` role may read (never write) the schemas of
the services whose decisions it checks (``AUDITED``). Idempotent: run on every ``up`` (and by
test fixtures)."""

from __future__ import annotations

import asyncpg

from sanad.platform.services import database_services

AUDITOR_ROLE = "audit"
# The schemas the audit compares its replayed projections with (and reads published rule
# sets from): SELECT only, on the tables there now and on those their owners create later.
AUDITED = ("applications", "eligibility", "cards")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def provision(admin_url: str, database: str = "sanad") -> list[str]:
    """Create the database, roles and schemas that are missing. Returns the services done."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f"CREATE DATABASE {_quote_ident(database)}")
    finally:
        await conn.close()

    conn = await asyncpg.connect(admin_url, database=database)
    done = []
    try:
        db = _quote_ident(database)
        await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
        # Statement statistics (bench/pg_statements.py), where the server loads the library.
        if "pg_stat_statements" in await conn.fetchval("SHOW shared_preload_libraries"):
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for name, password in database_services():
            role = _quote_ident(name)
            verb = (
                "ALTER"
                if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
                else "CREATE"
            )
            await conn.execute(
                f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"PASSWORD {_quote_literal(password)}"
            )
            await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {role}")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {role} AUTHORIZATION {role}")
            await conn.execute(f"ALTER ROLE {role} SET search_path = {role}")
            done.append(name)
        if AUDITOR_ROLE in done:
            auditor = _quote_ident(AUDITOR_ROLE)
            for name in AUDITED:
                if name not in done:
                    continue
                schema = _quote_ident(name)
                await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {auditor}")
                await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {auditor}")
                await conn.execute(
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {schema} IN SCHEMA {schema} "
                    f"GRANT SELECT ON TABLES TO {auditor}"
                )
    finally:
        await conn.close()
    return done
