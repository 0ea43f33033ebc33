"""Sign-in on the real Postgres and Redis: lockout, rotating refresh tokens and their reuse,
forged access tokens, staff accounts from the CLI and the first admin from the environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.settings import DEV_SIGNING_KEY
from sanad.shared.auth import Role, TokenSigner, generate_signing_key
from sanad.shared.national_id import is_valid_national_id

Factory = Any


async def test_five_failures_lock_the_id_alike_whether_or_not_it_exists(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    person, _ = await identity.registered_citizen()
    unknown = _random_id("2")  # no account has it

    for national_id in (person.national_id, unknown):
        answers = [await identity.login(national_id, "wrong password!") for _ in range(5)]
        assert [a.status_code for a in answers] == [401] * 5
        assert {a.json()["detail"] for a in answers} == {
            "The national ID or password is incorrect."
        }
        locked = await identity.login(national_id, identity.password)  # even the right one
        assert locked.status_code == 423
        assert locked.json()["type"].endswith("account-locked")
        assert 0 < int(locked.headers["Retry-After"]) <= 900


async def test_an_unknown_id_costs_the_same_argon2_verification_as_a_wrong_password(
    identity_app: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = await identity_app()
    person, _ = await identity.registered_citizen()
    verifications: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verifications.append("argon2")
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    answers = {}
    for case, national_id in {
        "wrong password": person.national_id,
        "no account": _random_id(),
    }.items():
        verifications.clear()
        answers[case] = await identity.login(national_id, "wrong password!")
        assert len(verifications) == 1, f"{case}: {len(verifications)} argon2 verifications"
    assert {a.status_code for a in answers.values()} == {401}
    strip = {"request_id", "instance"}
    bodies = [{k: v for k, v in a.json().items() if k not in strip} for a in answers.values()]
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize("has_account", [True, False], ids=["account", "no account"])
async def test_a_burst_of_wrong_passwords_cannot_outrun_the_lockout(
    identity_app: Factory, monkeypatch: pytest.MonkeyPatch, has_account: bool
) -> None:
    # One address may hold many hashing places here: this is about the per-ID count.
    identity = await identity_app(hash_per_client=100, hash_queue=100)
    national_id = (
        (await identity.registered_citizen())[0].national_id if has_account else _random_id()
    )
    verifications: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verifications.append("argon2")
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    locked_seen = asyncio.Event()

    async def wrong() -> Any:
        answer = await identity.login(national_id, "wrong password!")
        if answer.status_code == 423:
            locked_seen.set()
        return answer

    async def right_once_over_the_limit() -> Any:
        # Still within the burst: the evaluated attempts are busy in argon2 by then.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(locked_seen.wait(), timeout=20)
        return await identity.login(national_id, identity.password)

    *wrongs, right = await asyncio.gather(
        *(wrong() for _ in range(20)), right_once_over_the_limit()
    )
    statuses = [a.status_code for a in wrongs]
    assert statuses.count(401) == 5 and statuses.count(423) == 15, statuses
    assert right.status_code == 423, right.text
    assert len(verifications) == 5  # the refused attempts never reached argon2
    assert all(
        0 < int(a.headers["Retry-After"]) <= 900 for a in [*wrongs, right] if a.status_code == 423
    )
    assert (await identity.login(national_id, identity.password)).status_code == 423


async def test_a_lock_ends_and_a_success_clears_the_failures(identity_app: Factory) -> None:
    identity = await identity_app(login_max_failures=2)  # locked for 15 minutes
    person, _ = await identity.registered_citizen()
    assert (await identity.login(person.national_id, "wrong password!")).status_code == 401
    assert (await identity.login(person.national_id)).status_code == 200  # clears the count
    assert (await identity.login(person.national_id, "wrong password!")).status_code == 401
    assert (await identity.login(person.national_id, "wrong password!")).status_code == 401
    locked = await identity.login(person.national_id)
    assert locked.status_code == 423 and locked.headers["Retry-After"] == "900"
    identity.clock.advance(899)
    still = await identity.login(person.national_id)
    assert still.status_code == 423 and still.headers["Retry-After"] == "1"
    identity.clock.advance(1)
    assert (await identity.login(person.national_id)).status_code == 200


async def test_failures_older_than_the_window_are_forgotten(identity_app: Factory) -> None:
    identity = await identity_app(login_max_failures=2)  # within 15 minutes
    person, _ = await identity.registered_citizen()
    for _ in range(2):
        assert (await identity.login(person.national_id, "wrong password!")).status_code == 401
    identity.clock.advance(900)
    assert (await identity.login(person.national_id, "wrong password!")).status_code == 401
    assert (await identity.login(person.national_id)).status_code == 200


async def test_a_refresh_token_lives_fourteen_days(identity_app: Factory) -> None:
    identity = await identity_app()
    person, _ = await identity.registered_citizen()
    tokens = (await identity.login(person.national_id)).json()
    assert tokens["refresh_expires_in"] == 14 * 24 * 3600

    identity.clock.advance(14 * 24 * 3600 - 1)
    rotated = await identity.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    identity.clock.advance(14 * 24 * 3600)  # the successor's fourteen days, from its issue
    expired = await identity.http.post(
        "/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(identity_app: Factory) -> None:
    identity = await identity_app()
    person, citizen_id = await identity.registered_citizen()
    first = (await identity.login(person.national_id)).json()

    async def refresh(token: str) -> Any:
        return await identity.http.post("/v1/auth/refresh", json={"refresh_token": token})

    rotated = await refresh(first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    claims = jwt.decode(second["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"]) == (citizen_id, "citizen")
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]

    reused = await refresh(first["refresh_token"])  # stolen and replayed
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    revoked = await refresh(second["refresh_token"])  # the legitimate holder's is gone too
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]

    other = (await identity.login(person.national_id)).json()  # a new sign-in is unaffected
    assert (
        await identity.http.post("/v1/auth/logout", json={"refresh_token": other["refresh_token"]})
    ).status_code == 204
    assert (await refresh(other["refresh_token"])).status_code == 401
    assert (await refresh("not-a-token")).status_code == 401
    empty = await identity.http.post("/v1/auth/refresh", json={})
    assert empty.json()["errors"][0]["field"] == "body.refresh_token"


async def test_me_refuses_missing_and_forged_tokens(identity_app: Factory) -> None:
    identity = await identity_app()
    _, citizen_id = await identity.registered_citizen()
    jwks = (await identity.http.get("/.well-known/jwks.json")).json()
    kid = jwks["keys"][0]["kid"]
    now = int(time.time())
    claims = {
        "sub": citizen_id,
        "role": "admin",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "iss": "sanad-identity",
        "aud": "sanad",
    }

    async def me(token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await identity.http.get("/v1/auth/me", headers=headers)

    wrong_key = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )
    alg_none = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
    expired = TokenSigner(DEV_SIGNING_KEY).issue(citizen_id, Role.CITIZEN, -60)[0]
    other_identity = TokenSigner(generate_signing_key()).issue(citizen_id, Role.ADMIN, 600)[0]
    answers = {
        "missing": await me(None),
        "wrong key": await me(wrong_key),
        "alg none": await me(alg_none),
        "expired": await me(expired),
        "unknown key": await me(other_identity),
        "garbage": await me("abc.def"),
    }
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 401)
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers.values())
    assert "expired" in answers["expired"].json()["detail"]
    assert "algorithm" in answers["alg none"].json()["detail"]


async def _cli(*args: str, stdin: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sanad.identity",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SANAD_ENV": "dev"},
    )
    out, _ = await process.communicate(stdin.encode())
    return int(process.returncode or 0), out.decode()


async def test_staff_accounts_from_the_cli_sign_in_with_their_role(identity_app: Factory) -> None:
    identity = await identity_app()
    staff_id = _random_id()
    code, out = await _cli(
        "create-user",
        "--role",
        "caseworker",
        "--national-id",
        staff_id,
        "--name",
        "Case Worker",
        stdin="a long staff passphrase\n",
    )
    assert code == 0, out
    tokens = await identity.login(staff_id, "a long staff passphrase")
    assert tokens.status_code == 200 and tokens.json()["role"] == "caseworker"

    duplicate = await _cli(
        "create-user",
        "--role",
        "auditor",
        "--national-id",
        staff_id,
        "--name",
        "Again",
        stdin="another long passphrase\n",
    )
    assert (
        duplicate[0] == 1 and "national_id: an account with this national ID exists" in duplicate[1]
    )
    weak = await _cli(
        "create-user",
        "--role",
        "admin",
        "--national-id",
        _random_id(),
        "--name",
        "Weak",
        stdin="password\n",
    )
    assert weak[0] == 1 and "password: is too common" in weak[1]
    bad_role = await _cli(
        "create-user", "--role", "citizen", "--national-id", _random_id(), "--name", "X"
    )
    assert bad_role[0] != 0


async def test_registry_records_from_the_cli_can_register(identity_app: Factory) -> None:
    identity = await identity_app()
    national_id = _random_id("2")
    mobile = "077" + str(uuid.uuid4().int % 10**8).zfill(8)
    code, out = await _cli(
        "add-registry-record",
        "--national-id",
        national_id,
        "--name-ar",
        "زينب",
        "--name-en",
        "Zainab",
        "--nationality",
        "IQ",
        "--sex",
        "F",
        "--birth-date",
        "1979-12-01",
        "--marital-status",
        "widowed",
        "--mobile",
        mobile,
        "--mobile",
        "0551234567",
    )
    assert code == 0, out
    answer = await identity.http.post(
        "/v1/auth/register",
        json={
            "national_id": national_id,
            "date_of_birth": "1979-12-01",
            "mobile": mobile,
            "password": identity.password,
        },
    )
    assert answer.status_code == 202, answer.text
    # Her son, related through the CLI, is in the family register she registers with.
    son = _random_id()
    code, out = await _cli(
        "add-registry-record", "--national-id", son, "--name-ar", "علي", "--name-en", "Ali",
        "--nationality", "IQ", "--sex", "M", "--birth-date", "2004-02-02",
        "--marital-status", "single", "--relative-of", national_id, "--relationship", "son",
    )  # fmt: skip
    assert code == 0, out
    async with identity.sessions() as session:
        family = await TableCivilRegistry(session).family(national_id)
        mother = await TableCivilRegistry(session).family(son)
    assert [(m.record.national_id, m.relationship) for m in family] == [(son, "son")]
    assert [(m.record.national_id, m.relationship) for m in mother] == [(national_id, "mother")]
    impossible = await _cli(
        "add-registry-record", "--national-id", _random_id(), "--name-ar", "x", "--name-en", "x",
        "--nationality", "IQ", "--sex", "M", "--birth-date", "1950-02-02",
        "--marital-status", "single", "--relative-of", national_id, "--relationship", "daughter",
    )  # fmt: skip
    assert impossible[0] == 1 and "a daughter is female" in impossible[1]
    bad = await _cli(
        "add-registry-record",
        "--national-id",
        "1000000009",
        "--name-ar",
        "x",
        "--name-en",
        "x",
        "--nationality",
        "SA",
        "--sex",
        "M",
        "--birth-date",
        "1990-01-01",
        "--marital-status",
        "single",
    )
    assert bad[0] == 1 and "national_id: has an invalid check digit" in bad[1]


async def test_the_first_admin_comes_from_the_environment(identity_app: Factory) -> None:
    admin_id = _random_id()
    identity = await identity_app(
        admin_national_id=admin_id, admin_password="dev-first admin passphrase"
    )
    tokens = await identity.login(admin_id, "first admin passphrase")
    assert tokens.status_code == 200 and tokens.json()["role"] == "admin"


def _random_id(first: str = "1") -> str:
    body = first + str(uuid.uuid4().int % 10**8).zfill(8)
    return body + next(c for c in "0123456789" if is_valid_national_id(body + c))
