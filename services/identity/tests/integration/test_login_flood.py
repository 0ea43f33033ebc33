"""Sign-in under a flood, on the real Postgres and Redis: password hashes are bounded (a few
places per client address, a short queue), failed sign-ins are counted per address as well
as per ID, and a password hashed with older parameters is re-hashed on a good sign-in."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx
from argon2 import PasswordHasher, Type
from sqlalchemy import select, update

from sanad.identity.models import accounts
from sanad.shared.national_id import is_valid_national_id

Factory = Any


def random_id() -> str:
    body = "1" + str(uuid.uuid4().int % 10**8).zfill(8)
    return body + next(c for c in "0123456789" if is_valid_national_id(body + c))


def from_address(identity: Any, address: str | None = None) -> httpx.AsyncClient:
    address = address or f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.7"
    transport = httpx.ASGITransport(app=identity.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity")


async def login(client: httpx.AsyncClient, national_id: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/login", json={"national_id": national_id, "password": password}
    )


async def test_a_flood_from_one_address_does_not_starve_a_good_sign_in_from_another(
    identity_app: Factory,
) -> None:
    identity = await identity_app(hash_concurrency=1, hash_queue=4, hash_per_client=2)
    person, _ = await identity.registered_citizen()
    async with from_address(identity) as attacker, from_address(identity) as citizen:
        flood = [login(attacker, random_id(), "wrong password!") for _ in range(60)]
        *bad, good = await asyncio.gather(
            *flood, login(citizen, person.national_id, identity.password)
        )
    assert good.status_code == 200, good.text
    statuses = [a.status_code for a in bad]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 10  # the rest were refused before any argon2 work
    refused = next(a for a in bad if a.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_a_full_queue_answers_503_with_retry_after(identity_app: Factory) -> None:
    identity = await identity_app(hash_concurrency=1, hash_queue=0, hash_per_client=100)
    async with from_address(identity) as client:
        answers = await asyncio.gather(
            *(login(client, random_id(), "wrong password!") for _ in range(8))
        )
    statuses = [a.status_code for a in answers]
    assert 401 in statuses and 503 in statuses, statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.json()["type"].endswith("overloaded")
    assert busy.headers["Retry-After"] == "1"


async def test_failed_sign_ins_are_counted_per_address_whatever_the_ids(
    identity_app: Factory,
) -> None:
    identity = await identity_app(login_ip_max_failures=3)
    person, _ = await identity.registered_citizen()
    async with from_address(identity) as noisy, from_address(identity) as other:
        answers = [await login(noisy, random_id(), "wrong password!") for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        # Every ID from that address is refused now; another address is not affected, and
        # a good sign-in there does not count as a failure.
        assert (await login(noisy, person.national_id, identity.password)).status_code == 429
        for _ in range(4):
            assert (await login(other, person.national_id, identity.password)).status_code == 200
        identity.clock.advance(15 * 60)
        assert (await login(noisy, person.national_id, identity.password)).status_code == 200


async def test_a_password_hashed_with_older_parameters_is_rehashed_on_sign_in(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    person, citizen_id = await identity.registered_citizen()
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
    async with identity.sessions() as session, session.begin():
        await session.execute(
            update(accounts)
            .where(accounts.c.id == uuid.UUID(citizen_id))
            .values(password_hash=old.hash(identity.password))
        )

    assert (await identity.login(person.national_id)).status_code == 200
    async with identity.sessions() as session:
        stored = (
            await session.execute(
                select(accounts.c.password_hash).where(accounts.c.id == uuid.UUID(citizen_id))
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (await identity.login(person.national_id)).status_code == 200
