"""Rotating the pseudonym key on the real Kafka and Postgres, as an operator would: identity
registers a mother (with her sons in the family register, one of them a caseworker) under key A; the
profile service restarts with B as its key and A as a previous one; identity restarts the same
way and re-announces every account under A (``rekey-pseudonyms``); profile re-keys its rows.
Before, during and after, a son typed in by his number is matched with the family register
and the caseworker's number is refused as staff; a second re-announcement publishes nothing;
the re-keying given to profile again changes nothing; an event made under A, replayed after
the rotation, still resolves.

Each test uses key ids of its own, so the re-announcement touches only the accounts it made
(the platform's others stay under their key)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.identity import cli
from sanad.identity.models import accounts
from sanad.identity.service.pseudonym_rotation import rekey_all
from sanad.identity.service.staff import create_staff
from sanad.platform.testing import Infra, asgi_client, eventually, trust_test_tokens
from sanad.profile.main import MIGRATIONS as PROFILE_MIGRATIONS
from sanad.profile.main import create_app as create_profile_app
from sanad.profile.settings import ProfileSettings
from sanad.shared import topics
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.events import CitizenRegisteredV4, Envelope, PseudonymsRekeyed, RelativeRef
from sanad.shared.messaging_tables import outbox
from sanad.shared.migrations import upgrade
from sanad.shared.pseudonym import PseudonymKey, Pseudonyms

from .conftest import PASSWORD, IdentityFactory, random_national_id, settings_for

SUFFIX = uuid.uuid4().hex[:8]
_A_TEXT, _B_TEXT = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
KEY_A = PseudonymKey(_A_TEXT, f"a-{SUFFIX}")
KEY_B = PseudonymKey(_B_TEXT, f"b-{SUFFIX}")
BEFORE = Pseudonyms(KEY_A)  # identity and profile before the rotation
AFTER = Pseudonyms(KEY_B, previous=[KEY_A])  # ... and after it

ROTATED: dict[str, Any] = {
    "pseudonym_key": SecretStr(_B_TEXT),
    "pseudonym_key_id": KEY_B.key_id,
    "pseudonym_previous_keys": SecretStr(f"{KEY_A.key_id}:{_A_TEXT}"),
}


@pytest.fixture(scope="module")
async def profile_app(provisioned: Infra) -> AsyncIterator[FastAPI]:
    """The profile service already restarted with B and A (it goes first: it then matches
    under both while identity still announces under A)."""
    pg = make_url(provisioned.pg_admin_url)
    settings = ProfileSettings(
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
        **ROTATED,
    )
    assert settings.pseudonyms.every("1000000008") == AFTER.every("1000000008")
    assert PROFILE_MIGRATIONS is not None
    await asyncio.to_thread(upgrade, PROFILE_MIGRATIONS, settings.database_url, "profile")
    app = create_profile_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def profile(profile_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, TokenSigner]]:
    signer = trust_test_tokens(profile_app)
    async with asgi_client(profile_app, "http://profile") as http:
        yield http, signer


def citizen_headers(signer: TokenSigner, citizen_id: str) -> dict[str, str]:
    token, _, _ = signer.issue(citizen_id, Role.CITIZEN, ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


async def claim(
    profile: tuple[httpx.AsyncClient, TokenSigner], citizen_id: str, national_id: str
) -> httpx.Response:
    http, signer = profile
    return await http.post(
        "/v1/profile/dependents",
        json={"full_name": "Son", "national_id": national_id, "relationship": "son"},
        headers=citizen_headers(signer, citizen_id),
    )


def refused_as(answer: httpx.Response) -> str:
    assert answer.status_code == 422, answer.text
    return str(answer.json()["errors"][0]["code"])


async def rows(admin_db: AsyncEngine, citizen_id: str, staff_id: str) -> dict[str, Any]:
    """What profile holds of the mother and the caseworker: (key id, pseudonym) pairs."""
    async with admin_db.connect() as conn:
        mother = (
            await conn.execute(
                text("SELECT key_id, national_id_ref FROM profile.profiles WHERE citizen_id = :c"),
                {"c": citizen_id},
            )
        ).all()
        family = (
            await conn.execute(
                text(
                    "SELECT key_id, national_id_ref FROM profile.family_register "
                    "WHERE citizen_id = :c"
                ),
                {"c": citizen_id},
            )
        ).all()
        staff = (
            await conn.execute(
                text("SELECT key_id, national_id_ref FROM profile.staff_ids WHERE account_id = :a"),
                {"a": staff_id},
            )
        ).all()
    return {
        "mother": [tuple(r) for r in mother],
        "family": sorted(tuple(r) for r in family),
        "staff": [tuple(r) for r in staff],
    }


def under(ring: Pseudonyms, key_id: str, *national_ids: str) -> list[tuple[str, str]]:
    return sorted((key_id, ring.under(key_id, n)) for n in national_ids)


async def processed(admin_db: AsyncEngine, event_id: uuid.UUID) -> bool:
    async with admin_db.connect() as conn:
        query = text("SELECT count(*) FROM profile.processed_events WHERE event_id = :e")
        return bool((await conn.execute(query, {"e": event_id})).scalar_one())


async def rekey_events(identity: Any, account_id: str) -> int:
    """PseudonymsRekeyed of one account in identity's outbox (every one ever queued)."""
    async with identity.sessions() as session:
        query = (
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.event_type == "PseudonymsRekeyed", outbox.c.key == account_id)
        )
        return int((await session.execute(query)).scalar_one())


async def test_rotating_the_key_rekeys_profile_and_no_answer_is_wrong_meanwhile(
    identity_app: IdentityFactory,
    profile: tuple[httpx.AsyncClient, TokenSigner],
    admin_db: AsyncEngine,
    producer: AIOKafkaProducer,
) -> None:
    # Before: identity under A.
    identity = await identity_app(pseudonym_key=SecretStr(_A_TEXT), pseudonym_key_id=KEY_A.key_id)
    mother = await identity.new_person()
    sons = [
        await identity.new_person(date(2014, 2, 3), sex="M", relative_of=(mother, "son"))
        for _ in range(4)
    ]
    _, citizen_id = await identity.registered_citizen(mother)
    staff_number = sons[-1].national_id  # a son who is a caseworker: staff are nobody's dependent
    staff_id = str(
        await create_staff(
            identity.sessions,
            BEFORE,
            national_id=staff_number,
            role="caseworker",
            password=PASSWORD,
            name="Case Worker",
        )
    )
    (registered,) = await identity.events(topics.CITIZEN_REGISTERED, citizen_id)
    assert (registered.schema_version, registered.payload["key_id"]) == (4, KEY_A.key_id)
    assert registered.payload["national_id_ref"] == KEY_A.of(mother.national_id)
    (staff_event,) = await identity.events(topics.STAFF_ACCOUNT_CREATED, staff_id)
    assert (staff_event.schema_version, staff_event.payload["key_id"]) == (3, KEY_A.key_id)

    sons_numbers = [son.national_id for son in sons]
    a = KEY_A.key_id
    before = {
        "mother": under(AFTER, a, mother.national_id),
        "family": under(AFTER, a, *sons_numbers),
        "staff": under(AFTER, a, staff_number),
    }
    await eventually(
        lambda: rows(admin_db, citizen_id, staff_id),
        until=lambda found: found == before,
        what="profile's rows under A",
    )

    # Mid-rotation (profile holds B and A, its rows are under A): still the right answers.
    first = await claim(profile, citizen_id, sons[0].national_id)
    assert first.status_code == 201, first.text
    assert refused_as(await claim(profile, citizen_id, staff_number)) == "staff"
    assert refused_as(await claim(profile, citizen_id, random_national_id())) == (
        "not_in_family_register"
    )

    # Identity restarts with B (A as previous) and re-announces, batch by batch.
    rotated = settings_for(identity.infra, **ROTATED).pseudonyms
    progress: list[tuple[int, int]] = []
    report = await rekey_all(
        identity.sessions, rotated, batch_size=1, progress=lambda *p: progress.append(p)
    )
    assert (report.rekeyed, progress) == (2, [(0, 2), (1, 2), (2, 2)])
    async with identity.sessions() as session:
        marked = await session.execute(
            select(accounts.c.pseudonym_key_id).where(accounts.c.id.in_([citizen_id, staff_id]))
        )
        assert set(marked.scalars()) == {KEY_B.key_id}

    b = KEY_B.key_id
    after = {
        "mother": under(AFTER, b, mother.national_id),
        "family": under(AFTER, b, *sons_numbers),
        "staff": under(AFTER, b, staff_number),
    }
    await eventually(
        lambda: rows(admin_db, citizen_id, staff_id),
        until=lambda found: found == after,
        what="profile's rows re-keyed under B",
    )
    (rekeyed,) = await identity.events(topics.PSEUDONYMS_REKEYED, citizen_id)
    assert rekeyed.payload["previous_key_id"] == a and rekeyed.payload["key_id"] == b
    assert not {mother.national_id, *sons_numbers} & set(rekeyed.to_bytes().decode().split('"'))

    # After: matched under B; the son claimed before is still one (not claimable twice).
    second = await claim(profile, citizen_id, sons[1].national_id)
    assert second.status_code == 201, second.text
    assert refused_as(await claim(profile, citizen_id, sons[0].national_id)) != (
        "not_in_family_register"
    )
    assert refused_as(await claim(profile, citizen_id, staff_number)) == "staff"

    # A second run (or one after a crash) finds nothing left and publishes nothing.
    assert (await rekey_all(identity.sessions, rotated)).rekeyed == 0
    assert await rekey_events(identity, citizen_id) == 1
    assert await rekey_events(identity, staff_id) == 1
    assert await rows(admin_db, citizen_id, staff_id) == after
    # Profile given the re-keying again (a replay: another event id), nothing changes either.
    again = Envelope.wrap(
        PseudonymsRekeyed.model_validate(rekeyed.payload), producer="identity", correlation_id="t"
    )
    await producer.send_and_wait(
        topics.PSEUDONYMS_REKEYED, again.to_bytes(), key=again.key.encode()
    )
    await eventually(
        lambda: processed(admin_db, again.event_id), until=bool, what="the replayed re-keying"
    )
    assert await rows(admin_db, citizen_id, staff_id) == after

    # Replay: a registration published under A before the rotation, read after it (a
    # profile rebuilt from the topics), resolves under A — the key id it carries.
    late_son = random_national_id()
    late = CitizenRegisteredV4(
        key_id=a,
        citizen_id=uuid.uuid4(),
        national_id_ref=KEY_A.of(random_national_id()),
        full_name_ar="مواطنة",
        full_name_en="Replayed Citizen",
        nationality="SA",
        sex="F",
        birth_date=date(1980, 1, 1),
        marital_status="married",
        mobile="+966550000001",
        registered_at=datetime.now(UTC),
        family=[
            RelativeRef(
                national_id_ref=KEY_A.of(late_son), relationship="son", birth_date=date(2015, 5, 5)
            )
        ],
    )
    envelope = Envelope.wrap(late, producer="identity", correlation_id="test-replay")
    await producer.send_and_wait(
        topics.CITIZEN_REGISTERED, envelope.to_bytes(), key=envelope.key.encode()
    )
    late_id = str(late.citizen_id)
    await eventually(
        lambda: claim(profile, late_id, late_son),
        until=lambda answer: answer.status_code == 201,
        what="the replayed registration's son matched under A",
    )


async def command(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """``python -m sanad.identity`` in a process of its own: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sanad.identity",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.timeout(300)  # two processes start, on a busy shared machine
async def test_the_command_shows_progress_and_names_keys_it_does_not_hold(
    identity_app: IdentityFactory,
) -> None:
    """``python -m sanad.identity rekey-pseudonyms`` as an operator runs it: settings from
    the environment, progress on stderr, accounts under a key not held counted and left."""
    suffix = uuid.uuid4().hex[:8]
    old, new, lost = (secrets.token_urlsafe(32) for _ in range(3))
    old_id, new_id, lost_id = f"o-{suffix}", f"n-{suffix}", f"l-{suffix}"
    identity = await identity_app(pseudonym_key=SecretStr(old), pseudonym_key_id=old_id)
    await identity.registered_citizen()
    lost_app = await identity_app(pseudonym_key=SecretStr(lost), pseudonym_key_id=lost_id)
    await lost_app.registered_citizen()

    settings = settings_for(identity.infra)
    env = {
        **os.environ,
        "SANAD_ENV": "test",
        "SANAD_PG_HOST": settings.pg_host,
        "SANAD_PG_PORT": str(settings.pg_port),
        "SANAD_PSEUDONYM_KEY": new,
        "SANAD_PSEUDONYM_KEY_ID": new_id,
        "SANAD_PSEUDONYM_PREVIOUS_KEYS": f"{old_id}:{old}",
    }
    status, out, err = await command(env, "rekey-pseudonyms", "--batch-size", "5")
    assert status == 0, err
    assert f"re-announcing accounts under {old_id} under {new_id}" in err
    assert "  1 / 1 accounts re-announced (100%)" in err.splitlines()
    summary = out.splitlines()[-1]
    assert summary.startswith(f"1 accounts re-announced under {new_id}; left"), out
    assert f"1 under {lost_id}" in summary  # and whatever other tests left under their keys
    assert old not in out + err and new not in out + err

    status, out, err = await command(env, "rekey-pseudonyms")
    assert status == 0, err
    assert out.splitlines()[-1].startswith(f"0 accounts re-announced under {new_id}")

    # Refused, naming what is wrong, and nothing done.
    rotated = settings_for(identity.infra, **ROTATED)
    with pytest.raises(ValueError, match="batch_size: between 1 and 10000"):
        await cli.rekey(rotated, argparse.Namespace(batch_size=0))
    with pytest.raises(ValueError, match="SANAD_PSEUDONYM_PREVIOUS_KEYS: no previous key"):
        await cli.rekey(settings, argparse.Namespace(batch_size=10))
