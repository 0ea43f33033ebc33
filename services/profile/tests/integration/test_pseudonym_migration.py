"""profile_0004 and 0005 on the real Postgres: the national IDs that earlier versions of
identity's events put in profile's tables become their pseudonyms under the original key (k0),
labelled with its id, and no number stays in clear."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.platform.testing import Infra
from sanad.profile.main import MIGRATIONS
from sanad.shared.migrations import upgrade
from sanad.shared.pseudonym import DEV_PSEUDONYM_KEY, ORIGINAL_KEY_ID

from .conftest import PSEUDONYMS, new_national_id


@pytest.fixture
async def schema(provisioned: Infra) -> AsyncIterator[str]:
    name = f"t_profile_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(provisioned.database_admin_url())
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        await admin.dispose()


@pytest.mark.parametrize("rotated", [False, True])
async def test_stored_national_ids_become_pseudonyms(
    provisioned: Infra, schema: str, rotated: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if rotated:  # upgraded after a rotation: the original key is a previous one
        monkeypatch.setenv("SANAD_PSEUDONYM_KEY", "r" * 40)
        monkeypatch.setenv("SANAD_PSEUDONYM_KEY_ID", "k1")
        monkeypatch.setenv("SANAD_PSEUDONYM_PREVIOUS_KEYS", f"k0:{DEV_PSEUDONYM_KEY}")
    assert MIGRATIONS is not None
    url = provisioned.database_admin_url()
    await asyncio.to_thread(upgrade, MIGRATIONS, url, schema, "profile_0003")
    citizen, son, staff = new_national_id(), new_national_id(), new_national_id()
    citizen_id = uuid.uuid4()
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO profiles (citizen_id, national_id, version, registry, contact, "
                    "sections) VALUES (:c, :n, 1, '{}', '{}', '{}')"
                ),
                {"c": citizen_id, "n": citizen},
            )
            await conn.execute(
                text(
                    "INSERT INTO family_register VALUES (:c, :n, 'son', 'عمر', 'Omar', 'M', "
                    "'2012-05-01')"
                ),
                {"c": citizen_id, "n": son},
            )
            await conn.execute(
                text("INSERT INTO staff_ids VALUES (:n, :a)"), {"n": staff, "a": uuid.uuid4()}
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url, schema)
        async with engine.connect() as conn:
            profiles = (await conn.execute(text("SELECT * FROM profiles"))).mappings().one()
            family = (await conn.execute(text("SELECT * FROM family_register"))).mappings().one()
            staff_row = (await conn.execute(text("SELECT * FROM staff_ids"))).mappings().one()
    finally:
        await engine.dispose()
    # Under the original key (k0), whichever key is current (profile_0005 labels them so).
    original = PSEUDONYMS.under(ORIGINAL_KEY_ID, citizen), PSEUDONYMS.under(ORIGINAL_KEY_ID, son)
    assert (profiles["national_id_ref"], profiles["key_id"]) == (original[0], "k0")
    assert dict(family) == {
        "citizen_id": citizen_id,
        "national_id_ref": original[1],
        "relationship": "son",
        "birth_date": family["birth_date"],
        "key_id": "k0",
    }
    assert staff_row["national_id_ref"] == PSEUDONYMS.under(ORIGINAL_KEY_ID, staff)
    assert staff_row["key_id"] == "k0"
    for row in (profiles, family, staff_row):
        assert not {citizen, son, staff} & {str(value) for value in row.values()}
