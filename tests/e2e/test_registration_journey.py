"""A new citizen registers, verifies the SMS code and signs in, through the gateway of the
running platform: identity → OtpRequested on Kafka → notifications → the SMS sink. Plus the
bad cases, each with its precise problem+json."""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sanad.identity.settings import DEV_SIGNING_KEY
from sanad.platform.testing import eventually, redis_admin
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.national_id import is_valid_national_id

GATEWAY = os.environ.get("SANAD_GATEWAY_URL", "http://127.0.0.1:8000")
SMS_SINK = os.environ.get("SANAD_SMS_BASE_URL", "http://127.0.0.1:8025")
REDIS_URL = os.environ.get("SANAD_REDIS_URL", "redis://127.0.0.1:6379/0")
PROBLEM = "application/problem+json"
PASSWORD = "a journey passphrase"


def new_national_id() -> str:
    body = "1" + str(uuid.uuid4().int % 10**8).zfill(8)
    return body + next(c for c in "0123456789" if is_valid_national_id(body + c))


def new_mobile() -> str:
    return "+9665" + str(random.randint(50_000_000, 99_999_999))


async def add_registry_record(national_id: str, birth_date: date, *mobiles: str) -> None:
    """The operator's way in: the identity CLI, with the mobiles registered to the ID."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sanad.identity", "add-registry-record",
        "--national-id", national_id, "--name-ar", "مسافر", "--name-en", "Journey Citizen",
        "--nationality", "SA", "--sex", "M", "--birth-date", birth_date.isoformat(),
        "--marital-status", "married", *(arg for m in mobiles for arg in ("--mobile", m)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=15) as client:
        yield client


class Citizen:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.national_id = new_national_id()
        self.birth_date = date(1985, 3, 9)
        self.mobile = new_mobile()
        self.second_mobile = new_mobile()  # also registered to the ID

    async def in_registry(self) -> Citizen:
        await add_registry_record(
            self.national_id, self.birth_date, self.mobile, self.second_mobile
        )
        return self

    async def register(self, **overrides: Any) -> httpx.Response:
        body = {
            "national_id": self.national_id,
            "date_of_birth": self.birth_date.isoformat(),
            "mobile": "0" + self.mobile[4:],  # typed the local way
            "password": PASSWORD,
            "preferred_language": "en",
            **overrides,
        }
        return await self.client.post("/v1/auth/register", json=body)

    async def sms(self, *, count: int = 1, to: str | None = None) -> list[dict[str, Any]]:
        """The SMS the sink received for this mobile (or ``to``), once it has ``count``."""
        mobile = to or self.mobile
        async with httpx.AsyncClient(base_url=SMS_SINK, timeout=5) as sink:

            async def received() -> list[dict[str, Any]]:
                answer = await sink.get("/messages", params={"to": mobile})
                return list(answer.json()["messages"])

            return await eventually(
                received, until=lambda found: len(found) >= count, what=f"an SMS to {mobile}"
            )

    async def sms_code(self, *, count: int = 1) -> str:
        """The code in the latest SMS the sink received for this mobile, once it has ``count``."""
        messages = await self.sms(count=count)
        found = re.search(r"\b(\d{6})\b", messages[-1]["body"])
        assert found, messages[-1]["body"]
        return found.group(1)

    async def verify(self, registration_id: str, code: str) -> httpx.Response:
        return await self.client.post(
            "/v1/auth/register/verify", json={"registration_id": registration_id, "code": code}
        )


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
    return body


async def test_register_verify_login_and_me_through_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    citizen = await Citizen(gateway).in_registry()

    pending = await citizen.register(email="journey@example.com")
    assert pending.status_code == 202, pending.text
    registration_id = pending.json()["registration_id"]
    code = await citizen.sms_code()

    verified = await citizen.verify(registration_id, code)
    assert verified.status_code == 201, verified.text
    citizen_id = verified.json()["citizen_id"]

    login = await gateway.post(
        "/v1/auth/login", json={"national_id": citizen.national_id, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    me = await gateway.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == citizen_id
    assert (me.json()["role"], me.json()["mobile"]) == ("citizen", citizen.mobile)
    assert me.json()["full_name_en"] == "Journey Citizen"

    refreshed = await gateway.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200

    # Registering again with the ID answers as for a new account (no enumeration); the
    # holder is told by SMS on the account's mobile, and no code goes anywhere.
    again = await citizen.register(mobile=citizen.second_mobile)
    newcomer = await Citizen(gateway).in_registry()
    fresh = await newcomer.register()
    strip = {"registration_id", "otp_expires_at"}
    assert again.status_code == fresh.status_code == 202, again.text
    assert {k: v for k, v in again.json().items() if k not in strip} == {
        k: v for k, v in fresh.json().items() if k not in strip
    }
    notice = (await citizen.sms(count=2))[-1]["body"]
    assert "someone tried to register" in notice
    await newcomer.sms_code()  # the newcomer's code came; the attempt's never does
    assert await citizen.sms(count=0, to=citizen.second_mobile) == []


async def test_a_wrong_check_digit_is_refused(gateway: httpx.AsyncClient) -> None:
    citizen = Citizen(gateway)
    wrong = citizen.national_id[:-1] + str((int(citizen.national_id[-1]) + 1) % 10)
    body = assert_problem(await citizen.register(national_id=wrong), 422, "body.national_id")
    assert body["errors"][0]["message"] == "The national ID has an invalid check digit."


async def test_id_and_birth_date_must_match_the_registry(gateway: httpx.AsyncClient) -> None:
    citizen = await Citizen(gateway).in_registry()
    wrong_date = assert_problem(await citizen.register(date_of_birth="1985-03-10"), 422)
    # The takeover: the right ID and birth date with a mobile not registered to the ID.
    attacker = new_mobile()
    takeover = assert_problem(await citizen.register(mobile=attacker), 422)
    for body in (wrong_date, takeover):
        assert {e["field"] for e in body["errors"]} == {
            "body.national_id",
            "body.date_of_birth",
            "body.mobile",
        }
        assert {e["code"] for e in body["errors"]} == {"registry_mismatch"}
    assert takeover["detail"] == wrong_date["detail"]
    # The holder's own registration goes through and its code arrives; none went to the
    # attacker's number before it.
    assert (await citizen.register()).status_code == 202
    await citizen.sms_code()
    assert await citizen.sms(count=0, to=attacker) == []


async def test_an_expired_code_is_refused(gateway: httpx.AsyncClient) -> None:
    citizen = await Citizen(gateway).in_registry()
    registration_id = (await citizen.register()).json()["registration_id"]
    code = await citizen.sms_code()
    # The running service reads the real clock, so cut the code's 5-minute life short in
    # Redis (a code whose key is gone is expired) and wait until Redis has dropped it.
    key = f"identity:otp:code:{registration_id}"
    async with redis_admin(REDIS_URL) as redis:
        assert await redis.pexpire(key, 1)
        await eventually(lambda: redis.exists(key), until=lambda n: n == 0, what=f"{key} gone")
    body = assert_problem(await citizen.verify(registration_id, code), 422, "body.code")
    assert body["errors"][0]["code"] == "otp_expired"


async def test_the_sixth_code_is_refused_after_five_wrong_ones(gateway: httpx.AsyncClient) -> None:
    citizen = await Citizen(gateway).in_registry()
    registration_id = (await citizen.register()).json()["registration_id"]
    code = await citizen.sms_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert_problem(await citizen.verify(registration_id, wrong), 422, "body.code")
    body = assert_problem(await citizen.verify(registration_id, code), 409, "body.code")
    assert body["errors"][0]["code"] == "otp_tries_exhausted"

    # It stays over once the tries counter has long expired: no fresh code, no new tries.
    async with redis_admin(REDIS_URL) as redis:
        await redis.delete(f"identity:otp:attempts:{registration_id}")
    resent = await gateway.post(
        "/v1/auth/register/resend", json={"registration_id": registration_id}
    )
    assert assert_problem(resent, 409)["type"].endswith("otp-tries-exhausted")
    assert_problem(await citizen.verify(registration_id, code), 409, "body.code")


async def login(client: httpx.AsyncClient, national_id: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/login", json={"national_id": national_id, "password": password}
    )


async def test_repeated_sign_ins_lock_the_id(gateway: httpx.AsyncClient) -> None:
    national_id = new_national_id()  # locked alike whether or not an account has it
    answers = [await login(gateway, national_id, f"guess number {n}") for n in range(7)]
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * 5 + [423] * 2, statuses
    locked = answers[-1]
    assert assert_problem(locked, 423)["type"].endswith("account-locked")
    assert 0 < int(locked.headers["Retry-After"]) <= 900


async def test_a_burst_of_sign_ins_from_one_address_is_bounded(gateway: httpx.AsyncClient) -> None:
    # Twenty at once from one address: a few are verified, the rest refused at once (429,
    # Retry-After) before any password work; none waits in an unbounded queue.
    answers = await asyncio.gather(
        *(login(gateway, new_national_id(), "a wrong password") for _ in range(20))
    )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429, 503}, statuses
    assert 429 in statuses, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert int(assert_problem(refused, 429)["retry_after"]) >= 1
    assert int(refused.headers["Retry-After"]) >= 1


async def test_forged_and_missing_tokens_are_refused(gateway: httpx.AsyncClient) -> None:
    kid = (await gateway.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()), "role": "admin", "jti": str(uuid.uuid4()), "iat": now,
        "exp": now + 600, "iss": "sanad-identity", "aud": "sanad",
    }  # fmt: skip
    forged = {
        "wrong key": jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
        ),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),  # type: ignore[arg-type]
        "expired": TokenSigner(DEV_SIGNING_KEY).issue(str(uuid.uuid4()), Role.CITIZEN, -60)[0],
    }
    for name, token in forged.items():
        response = await gateway.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert_problem(await gateway.get("/v1/auth/me"), 401)
