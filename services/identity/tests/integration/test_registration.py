"""Registration on the real Postgres, Redis and Kafka: the OTP sealed on Kafka, verification,
expiry, tries, resend limits, nothing written on a refused request; the mobile must be
registered to the ID, and the answer is the same whether or not the ID has an account."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import func, select

from sanad.identity.models import accounts, registrations
from sanad.identity.service.staff import create_staff
from sanad.shared import topics
from sanad.shared.messaging_tables import outbox
from sanad.shared.national_id import is_valid_national_id

from .conftest import random_national_id

Factory = Any  # the identity_app fixture: async (**settings) -> Identity


async def count_rows(identity: Any, table: Any, national_id: str) -> int:
    async with identity.sessions() as session:
        query = select(func.count()).select_from(table).where(table.c.national_id == national_id)
        return int((await session.execute(query)).scalar_one())


async def test_register_verify_login_me_with_the_otp_sealed_on_kafka(identity_app: Factory) -> None:
    identity = await identity_app()
    local = "05" + str(random.randint(50_000_000, 59_999_999))  # 05XXXXXXXX
    person = await identity.new_person(mobiles=[local])

    answer = await identity.register(person, mobile=local)
    assert answer.status_code == 202, answer.text
    registration_id = answer.json()["registration_id"]
    assert answer.json()["otp_ttl_seconds"] == 300

    (otp_event,) = await identity.events(topics.OTP_REQUESTED, registration_id)
    code = await identity.code_sent(registration_id)
    assert len(code) == 6 and code.isdigit()
    assert otp_event.payload["mobile"] == "+966" + local[1:]
    assert otp_event.payload["language"] == "en"
    assert code not in otp_event.to_bytes().decode()  # nowhere in clear on Kafka
    assert otp_event.payload["encrypted_code"].startswith("v1.")

    verified = await identity.verify(registration_id, code)
    assert verified.status_code == 201, verified.text
    citizen_id = verified.json()["citizen_id"]
    (registered,) = await identity.events(topics.CITIZEN_REGISTERED, citizen_id)
    assert registered.schema_version == 4
    payload = registered.payload
    assert payload["family"] == []
    # The number leaves identity only as its keyed pseudonym, with the key's id.
    pseudonyms = identity.app.state.runtime.settings.pseudonyms
    assert payload["national_id_ref"] == pseudonyms.of(person.national_id)
    assert payload["key_id"] == pseudonyms.key_id == "k0"
    assert person.national_id not in registered.to_bytes().decode()
    assert (payload["nationality"], payload["sex"], payload["marital_status"]) == (
        "SA",
        "F",
        "divorced",
    )
    assert payload["birth_date"] == "1988-05-17"
    assert (payload["mobile"], payload["email"], payload["language"]) == (
        "+966" + local[1:],
        "citizen@example.com",
        "en",
    )

    tokens = await identity.login(person.national_id)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["expires_in"] == 900 and body["role"] == "citizen"
    me = await identity.http.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == citizen_id and me.json()["national_id"] == person.national_id

    again = await identity.verify(registration_id, code)  # a registration verifies once
    assert again.status_code == 404
    assert again.json()["errors"][0]["field"] == "body.registration_id"


STRIP = {"request_id", "instance", "registration_id", "otp_expires_at"}


def shape(answer: httpx.Response) -> tuple[int, dict[str, Any]]:
    """The answer without what differs on every request (ids, times)."""
    return answer.status_code, {k: v for k, v in answer.json().items() if k not in STRIP}


async def outbox_rows(identity: Any, event_type: str, key: str) -> int:
    async with identity.sessions() as session:
        query = (
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.event_type == event_type, outbox.c.key == key)
        )
        return int((await session.execute(query)).scalar_one())


async def test_registering_answers_alike_with_or_without_an_account_and_tells_the_holder(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    holder, citizen_id = await identity.registered_citizen()
    newcomer = await identity.new_person()
    identity.clock.advance(60)  # past the mobile's cooldown since the holder's own code

    taken = await identity.register(holder)  # matching details, an account exists
    fresh = await identity.register(newcomer)  # matching details, no account
    assert shape(taken) == shape(fresh)
    assert taken.status_code == 202 and set(taken.json()) == set(fresh.json())
    # A mismatch is the same mismatch whether or not the ID has an account.
    taken_wrong = await identity.register(holder, date_of_birth="1970-01-01")
    fresh_wrong = await identity.register(newcomer, date_of_birth="1970-01-01")
    assert shape(taken_wrong) == shape(fresh_wrong)
    assert taken_wrong.status_code == 422

    # The stranger gets no code; the holder is told by SMS (RegistrationAttempted).
    (notice,) = await identity.events(topics.REGISTRATION_ATTEMPTED, citizen_id)
    assert notice.payload["mobile"] == holder.mobiles[0]
    assert "national_id" not in notice.payload
    attempt = taken.json()["registration_id"]
    assert await outbox_rows(identity, "OtpRequested", attempt) == 0
    assert await outbox_rows(identity, "OtpRequested", fresh.json()["registration_id"]) == 1
    # Verifying the attempt behaves as for any registration: a wrong code is a wrong code.
    guess = await identity.verify(attempt, "000000")
    assert guess.status_code == 422 and guess.json()["errors"][0]["code"] == "otp_wrong"
    assert await count_rows(identity, accounts, holder.national_id) == 1
    # A resend of the attempt tells the holder again; still no code.
    identity.clock.advance(60)
    resent = await identity.http.post("/v1/auth/register/resend", json={"registration_id": attempt})
    assert resent.status_code == 202
    await identity.events(topics.REGISTRATION_ATTEMPTED, citizen_id, count=2)
    assert await outbox_rows(identity, "OtpRequested", attempt) == 0


async def test_a_mobile_not_registered_to_the_id_is_refused_like_any_mismatch_and_sends_nothing(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    holder = await identity.new_person()
    attacker_mobile = "+96655" + str(random.randint(1_000_000, 9_999_999))

    takeover = await identity.register(holder, mobile=attacker_mobile)  # right ID and birth date
    wrong_date = await identity.register(holder, date_of_birth="1988-05-18")
    unknown = await identity.register(holder, national_id=unknown_national_id())
    assert takeover.status_code == 422
    assert shape(takeover) == shape(wrong_date) == shape(unknown)
    assert {e["field"] for e in takeover.json()["errors"]} == {
        "body.national_id",
        "body.date_of_birth",
        "body.mobile",
    }
    assert {e["code"] for e in takeover.json()["errors"]} == {"registry_mismatch"}
    assert await count_rows(identity, registrations, holder.national_id) == 0
    async with identity.sessions() as session:
        sent = await session.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.envelope["payload"]["mobile"].astext == attacker_mobile)
        )
        assert sent.scalar_one() == 0  # no code went anywhere

    # Any of the holder's registered mobiles works.
    second = await identity.new_person(mobiles=["0551112223", "+9647701234567"])
    assert (await identity.register(second, mobile="07701234567")).status_code == 202


async def test_one_mobile_cannot_be_tried_against_many_ids(identity_app: Factory) -> None:
    identity = await identity_app(registry_mismatch_mobile_limit=5)
    mobile = "+96655" + str(random.randint(1_000_000, 9_999_999))
    people = [await identity.new_person() for _ in range(7)]

    answers = [await identity.register(p, mobile=mobile) for p in people[:6]]
    assert [a.status_code for a in answers] == [422] * 5 + [429]
    assert answers[-1].json()["errors"][0]["field"] == "body.mobile"
    assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_an_expired_code_is_refused_and_a_resent_one_works(identity_app: Factory) -> None:
    identity = await identity_app()  # codes live 5 minutes
    person = await identity.new_person()
    registration_id = (await identity.register(person)).json()["registration_id"]
    code = await identity.code_sent(registration_id)

    identity.clock.advance(299)
    almost = await identity.verify(registration_id, f"{(int(code) + 1) % 1_000_000:06d}")
    assert almost.json()["errors"][0]["code"] == "otp_wrong"  # still alive a second before
    identity.clock.advance(1)
    expired = await identity.verify(registration_id, code)
    assert expired.status_code == 422
    assert expired.json()["errors"][0]["code"] == "otp_expired"
    assert await count_rows(identity, accounts, person.national_id) == 0

    resent = await identity.http.post(
        "/v1/auth/register/resend", json={"registration_id": registration_id}
    )
    assert resent.status_code == 202
    fresh = await identity.code_sent(registration_id, nth=2)
    assert (await identity.verify(registration_id, fresh)).status_code == 201


async def test_five_wrong_codes_end_the_registration(identity_app: Factory) -> None:
    identity = await identity_app(otp_resend_cooldown_seconds=0)
    person = await identity.new_person()
    registration_id = (await identity.register(person)).json()["registration_id"]
    code = await identity.code_sent(registration_id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    messages = []
    for _ in range(5):
        answer = await identity.verify(registration_id, wrong)
        assert answer.status_code == 422
        messages.append(answer.json()["errors"][0]["message"])
    assert messages[0] == "The code is wrong. 4 tries left."
    assert messages[-1] == "The code is wrong. No tries left; start the registration again."

    sixth = await identity.verify(registration_id, code)  # even the right code
    assert sixth.status_code == 409
    assert sixth.json()["errors"][0]["code"] == "otp_tries_exhausted"
    resend = await identity.http.post(
        "/v1/auth/register/resend", json={"registration_id": registration_id}
    )
    assert resend.status_code == 409
    assert await count_rows(identity, accounts, person.national_id) == 0

    restarted = await identity.register(person)  # registering again is the way out
    assert restarted.status_code == 202


async def test_resend_at_most_once_a_minute_and_three_times_per_window(
    identity_app: Factory,
) -> None:
    identity = await identity_app()  # a minute's cooldown; 3 resends per 10 minutes
    person = await identity.new_person()
    registration_id = (await identity.register(person)).json()["registration_id"]

    async def resend() -> Any:
        return await identity.http.post(
            "/v1/auth/register/resend", json={"registration_id": registration_id}
        )

    too_soon = await resend()
    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "60"
    identity.clock.advance(59)
    still = await resend()
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    for _ in range(3):
        identity.clock.advance(60)
        assert (await resend()).status_code == 202
    identity.clock.advance(60)
    over = await resend()  # the first code and 3 resends: 4 in the window
    assert over.status_code == 429
    assert "at most 4 times" in over.json()["detail"]
    elapsed = 59 + 4 * 60
    assert over.headers["Retry-After"] == str(600 - elapsed)  # when the window ends
    identity.clock.advance(600 - elapsed)
    assert (await resend()).status_code == 202  # a new window
    await identity.events(topics.OTP_REQUESTED, registration_id, count=5)


async def test_codes_per_client_address_are_limited(identity_app: Factory) -> None:
    identity = await identity_app(otp_ip_limit=2)
    people = [await identity.new_person() for _ in range(3)]
    answers = [await identity.register(person) for person in people]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].headers["Retry-After"]
    assert await count_rows(identity, registrations, people[2].national_id) == 0


async def test_bad_verification_requests(identity_app: Factory) -> None:
    identity = await identity_app()
    unknown = await identity.verify("6f1f4c1e-0000-4000-8000-000000000000", "123456")
    assert unknown.status_code == 404
    not_digits = await identity.verify("6f1f4c1e-0000-4000-8000-000000000000", "12a456")
    assert not_digits.json()["errors"][0]["field"] == "body.code"
    not_uuid = await identity.verify("nope", "123456")
    assert not_uuid.json()["errors"][0]["field"] == "body.registration_id"
    extra = await identity.http.post(
        "/v1/auth/register",
        json={
            "national_id": "1000000008",
            "date_of_birth": date(1990, 1, 1).isoformat(),
            "mobile": "0551234567",
            "password": "correct horse battery",
            "role": "admin",
        },
    )
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["field"] == "body.role"


def unknown_national_id() -> str:
    """A valid random ID, which the civil registry does not hold (but for a 1 in 10^7 chance)."""
    body = "19" + str(uuid4().int % 10**7).zfill(7)
    return body + next(c for c in "0123456789" if is_valid_national_id(body + c))


def from_address(identity: Any) -> httpx.AsyncClient:
    """Another client of the same app, from a new address of its own."""
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{uuid4().int % 250 + 1}"
    transport = httpx.ASGITransport(app=identity.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity")


async def status_of(identity: Any, registration_id: str) -> str:
    async with identity.sessions() as session:
        query = select(registrations.c.status).where(registrations.c.id == registration_id)
        return str((await session.execute(query)).scalar_one())


async def test_registering_again_counts_towards_the_codes_sent_to_a_mobile(
    identity_app: Factory,
) -> None:
    # No cooldown, so only the window counts: the first code and 3 resends per 10 minutes.
    identity = await identity_app(otp_resend_cooldown_seconds=0, otp_resend_limit=3)
    mobile = "055" + str(random.randint(1_000_000, 9_999_999))
    people = [await identity.new_person(mobiles=[mobile]) for _ in range(10)]  # a family phone

    answers = await asyncio.gather(*(identity.register(p, mobile=mobile) for p in people))
    statuses = [a.status_code for a in answers]
    assert statuses.count(202) == 4 and statuses.count(429) == 6, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["errors"][0]["field"] == "body.mobile"
    assert "at most 4 times in 10 minutes" in refused.json()["detail"]
    async with identity.sessions() as session:
        query = (
            select(func.count())
            .select_from(registrations)
            .where(registrations.c.mobile == "+966" + mobile[1:])
        )
        assert (await session.execute(query)).scalar_one() == 4  # nothing written when refused

    pending = next(a for a in answers if a.status_code == 202).json()["registration_id"]
    resend = await identity.http.post("/v1/auth/register/resend", json={"registration_id": pending})
    assert resend.status_code == 429 and "at most 4 times" in resend.json()["detail"]


async def test_open_registrations_per_national_id_are_capped(identity_app: Factory) -> None:
    identity = await identity_app()
    mobiles = ["+96655" + str(random.randint(1_000_000, 9_999_999)) for _ in range(10)]
    person = await identity.new_person(mobiles=mobiles)

    answers = await asyncio.gather(*(identity.register(person, mobile=m) for m in mobiles))
    statuses = [a.status_code for a in answers]
    assert statuses.count(202) == 3 and statuses.count(429) == 7, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["errors"][0]["field"] == "body.national_id"
    assert int(refused.headers["Retry-After"]) >= 1
    assert await count_rows(identity, registrations, person.national_id) == 3


async def test_a_registration_out_of_tries_is_failed_for_good(identity_app: Factory) -> None:
    identity = await identity_app(otp_resend_cooldown_seconds=0)
    person = await identity.new_person()
    registration_id = (await identity.register(person)).json()["registration_id"]
    code = await identity.code_sent(registration_id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answers = await asyncio.gather(*(identity.verify(registration_id, wrong) for _ in range(10)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(422) == 5 and statuses.count(409) == 5, statuses
    assert await status_of(identity, registration_id) == "failed"

    # Long after (the tries counter in Redis has expired), it stays failed.
    await identity.app.state.runtime.redis.delete(f"identity:otp:attempts:{registration_id}")
    resend = await identity.http.post(
        "/v1/auth/register/resend", json={"registration_id": registration_id}
    )
    assert resend.status_code == 409, resend.text
    assert resend.json()["errors"][0]["code"] == "otp_tries_exhausted"
    again = await identity.verify(registration_id, code)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "body.code"
    assert await status_of(identity, registration_id) == "failed"
    assert await count_rows(identity, accounts, person.national_id) == 0
    assert len(await identity.events(topics.OTP_REQUESTED, registration_id)) == 1


async def test_birth_date_guesses_are_limited_per_national_id_from_any_address(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    person = await identity.new_person()  # born 1988-05-17
    unknown = SimpleNamespace(national_id=unknown_national_id(), birth_date=person.birth_date)

    async def guess(who: Any, born: date, mobile: str | None = None) -> httpx.Response:
        async with from_address(identity) as client:
            return await client.post(
                "/v1/auth/register",
                json={
                    "national_id": who.national_id,
                    "date_of_birth": born.isoformat(),
                    "mobile": mobile or "055" + str(random.randint(1_000_000, 9_999_999)),
                    "password": identity.password,
                },
            )

    strip = {"request_id", "instance"}
    for who in (person, unknown):  # the same whether or not the registry knows the ID
        dates = [date(1980, 1, 1 + day) for day in range(10)]
        answers = await asyncio.gather(*(guess(who, born) for born in dates))
        statuses = [a.status_code for a in answers]
        assert statuses.count(422) == 5 and statuses.count(429) == 5, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["errors"][0]["field"] == "body.national_id"
        assert int(refused.headers["Retry-After"]) >= 1

        right = await guess(who, who.birth_date)  # even the right date now, and alike
        assert right.status_code == 429
        assert {k: v for k, v in right.json().items() if k not in strip} == {
            k: v for k, v in refused.json().items() if k not in strip
        }
        assert await count_rows(identity, registrations, who.national_id) == 0

    other = await identity.new_person()  # other IDs are not affected
    assert (await guess(other, other.birth_date, other.mobiles[0])).status_code == 202


async def test_national_ids_leave_identity_only_as_pseudonyms(identity_app: Factory) -> None:
    """CitizenRegistered v3 names the citizen and each relative of the family register only by
    pseudonym, and of a relative only what profile checks; StaffAccountCreated v3 likewise."""
    identity = await identity_app()
    pseudonyms = identity.app.state.runtime.settings.pseudonyms
    person = await identity.new_person()
    son = await identity.new_person(date(2010, 1, 2), sex="M", relative_of=(person, "son"))
    _, citizen_id = await identity.registered_citizen(person)
    (registered,) = await identity.events(topics.CITIZEN_REGISTERED, citizen_id)
    assert (registered.event_type, registered.schema_version) == ("CitizenRegistered", 4)
    assert registered.payload["national_id_ref"] == pseudonyms.of(person.national_id)
    assert registered.payload["family"] == [
        {
            "national_id_ref": pseudonyms.of(son.national_id),
            "relationship": "son",
            "birth_date": "2010-01-02",
        }
    ]
    raw = registered.to_bytes().decode()
    assert person.national_id not in raw and son.national_id not in raw

    staff_id = random_national_id()
    account_id = await create_staff(
        identity.sessions,
        pseudonyms,
        national_id=staff_id,
        role="caseworker",
        password="Caseworker-Pass-2026!",
        name="Case Worker",
    )
    (created,) = await identity.events(topics.STAFF_ACCOUNT_CREATED, str(account_id))
    assert (created.schema_version, created.payload["national_id_ref"]) == (
        3,
        pseudonyms.of(staff_id),
    )
    assert created.payload["key_id"] == pseudonyms.key_id
    assert staff_id not in created.to_bytes().decode()
