"""Cards on the real Kafka and Postgres: decisions and profiles are published on their real
topics; the cards app (in-process, with the running service in the same consumer group)
consumes them."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.cards import repository, service
from sanad.cards.domain.number import is_card_number, new_card_number
from sanad.cards.handlers import record_of
from sanad.cards.settings import CardsSettings
from sanad.platform.journey import read_card_qr
from sanad.platform.testing import eventually, read_topic
from sanad.shared import topics
from sanad.shared.auth import Role
from sanad.shared.clock import FakeClock
from sanad.shared.settings import reveal

from .conftest import World, profile_updated


async def test_an_approval_issues_exactly_one_card_even_when_the_event_arrives_twice(
    world: World,
) -> None:
    citizen = await world.citizen()
    decision = world.decision(citizen)
    first = await world.decide(decision)
    await world.send(first)  # the same envelope again (a redelivery)
    # The same decision under another event id (a producer that published twice).
    await world.decide(decision)
    # A sentinel on the same key (same partition), processed after both duplicates.
    await world.decide(
        world.decision(citizen, "UNDER_REVIEW", application_id=decision.application_id)
    )

    [card] = await world.cards(citizen)
    assert card["status"] == "active" and card["program_code"] == "SSP-DEV"
    assert is_card_number(card["card_number"].replace(" ", ""))
    assert card["holder_name_en"] == citizen.name_en
    assert card["holder_name_ar"] == "ليلى خالد العتيبي"
    assert card["program_name_en"] == "Developed Social Security"
    assert card["monthly_benefit"] == "1850.00"
    assert card["application_id"] == str(decision.application_id)
    issued = await world.queued(citizen, "CardIssued")
    assert len(issued) == 1
    payload = issued[0]["payload"]
    assert payload["card_id"] == card["card_id"]
    assert issued[0]["causation_id"] == str(first.event_id)
    # And CardIssued reaches its topic (the relay publishes the outbox).
    on_topic = await eventually(
        lambda: read_topic(world.infra, topics.CARD_ISSUED, str(citizen.citizen_id)),
        until=lambda found: len(found) >= 1,
        what="CardIssued on its topic",
    )
    assert [e.payload["card_id"] for e in on_topic] == [card["card_id"]]


async def test_a_request_without_an_approval_is_refused_and_writes_nothing(world: World) -> None:
    citizen = await world.citizen()
    before = await world.counts(citizen)
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/no-approval")
    assert body["errors"][0]["field"] == "body.program_code"
    assert "no approval for SSP-DEV" in body["detail"]

    # A rejection on record is refused with what it says.
    await world.decide(world.decision(citizen, "REJECTED"))
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 409 and response.json()["decision"] == "REJECTED"
    assert "is REJECTED" in response.json()["detail"]

    for bad, field in [
        ({}, "body.program_code"),
        ({"program_code": "ssp dev"}, "body.program_code"),
        ({"program_code": "SSP-DEV", "extra": 1}, "body.extra"),
    ]:
        response = await world.client.post("/v1/cards", json=bad, headers=citizen.headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == field
    cards, decisions, outbox = await world.counts(citizen)
    assert (cards, outbox) == (before[0], before[2]) and decisions == 1


async def test_a_program_without_automatic_cards_issues_on_request_once(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen, program="FOOD-SUPPORT", card_on_approval=False))
    assert await world.cards(citizen) == []

    first = await world.client.post(
        "/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=citizen.headers
    )
    assert first.status_code == 201, first.text
    again = await world.client.post(
        "/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=citizen.headers
    )
    assert again.status_code == 200
    assert again.json()["card_id"] == first.json()["card_id"]
    assert again.headers["location"] == f"/v1/cards/{first.json()['card_id']}"
    assert len(await world.queued(citizen, "CardIssued")) == 1


async def test_a_card_number_already_taken_is_drawn_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number's uniqueness is the index's: an insert that finds it taken draws another
    (no read before each insert)."""
    holder = await world.citizen()
    await world.decide(world.decision(holder, program="FOOD-SUPPORT", card_on_approval=False))
    taken = await world.client.post(
        "/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=holder.headers
    )
    assert taken.status_code == 201, taken.text
    taken_number = taken.json()["card_number"].replace(" ", "")
    drawn: list[str] = []

    def draw() -> str:  # the taken number first, then fresh ones
        drawn.append(taken_number if not drawn else new_card_number())
        return drawn[-1]

    monkeypatch.setattr(service, "new_card_number", draw)
    citizen = await world.citizen()
    await world.decide(world.decision(citizen, program="FOOD-SUPPORT", card_on_approval=False))
    issued = await world.client.post(
        "/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=citizen.headers
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["card_number"].replace(" ", "")
    assert number != taken_number and is_card_number(number)
    assert drawn == [taken_number, number]
    [event] = await world.queued(citizen, "CardIssued")
    assert event["payload"]["card_number"] == number


async def test_a_v1_approval_issues_nothing_by_itself_but_allows_a_request(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen, card_on_approval=None))
    assert await world.cards(citizen) == []
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 201
    assert response.json()["program_name_en"] == "SSP-DEV"  # v1 carries no program names


async def test_a_rejection_suspends_and_a_new_approval_reactivates(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen))
    [card] = await world.cards(citizen)
    token = (
        await world.client.get(f"/v1/cards/{card['card_id']}", headers=citizen.headers)
    ).json()["qr_token"]

    world.clock.advance(60)
    await world.decide(world.decision(citizen, "REJECTED"))
    [suspended] = await world.cards(citizen)
    assert suspended["status"] == "suspended"
    assert suspended["status_reason"] == "a later decision rejected the application"
    [change] = await world.queued(citizen, "CardStatusChanged")
    assert change["payload"]["from_status"] == "active"
    assert change["payload"]["status"] == "suspended"
    assert change["payload"]["changed_by"] == "auto"
    # The code made while active is now answered "suspended" by the service.
    verdict = (await world.client.post("/v1/cards/verify", json={"token": token})).json()
    assert verdict["result"] == "suspended" and "suspended since" in verdict["reason"]
    # A request is refused while suspended.
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 409

    world.clock.advance(60)
    await world.decide(world.decision(citizen))
    [again] = await world.cards(citizen)
    assert (again["card_id"], again["status"]) == (card["card_id"], "active")
    assert len(await world.queued(citizen, "CardIssued")) == 1
    assert (await world.client.post("/v1/cards/verify", json={"token": token})).json()[
        "result"
    ] == "valid"


async def test_a_caseworker_suspends_and_reinstates_while_the_approval_stands(
    world: World,
) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen))
    [card] = await world.cards(citizen)
    url = f"/v1/cards/{card['card_id']}"
    caseworker = world.staff()
    reinstate = await world.client.post(
        f"{url}/reinstate", json={"reason": "looks fine"}, headers=caseworker
    )
    assert reinstate.status_code == 409 and reinstate.json()["current_status"] == "active"
    suspended = await world.client.post(
        f"{url}/suspend", json={"reason": "address check"}, headers=caseworker
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert suspended.json()["status_reason"] == "address check"
    again = await world.client.post(f"{url}/suspend", json={"reason": "twice"}, headers=caseworker)
    assert again.status_code == 409
    reinstated = await world.client.post(
        f"{url}/reinstate", json={"reason": "address confirmed"}, headers=caseworker
    )
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"
    changes = await world.queued(citizen, "CardStatusChanged")
    assert [(c["payload"]["status"], c["payload"]["reason"]) for c in changes] == [
        ("suspended", "address check"),
        ("active", "address confirmed"),
    ]


async def test_an_older_decision_arriving_late_changes_nothing(world: World) -> None:
    citizen = await world.citizen()
    approval = world.decision(citizen)
    await world.decide(approval)
    older = world.decision(citizen, "REJECTED", decided_at=approval.decided_at - timedelta(days=3))
    await world.decide(older)
    [card] = await world.cards(citizen)
    assert card["status"] == "active"


async def test_names_arriving_after_the_approval_issue_the_card_then(world: World) -> None:
    citizen = await world.citizen(profile=False)
    await world.decide(world.decision(citizen))
    assert await world.cards(citizen) == []
    await world.processed(
        await world.publish(profile_updated(citizen.citizen_id, 3, citizen.name_en), "profile")
    )
    [card] = await world.cards(citizen)
    assert card["holder_name_en"] == citizen.name_en


async def test_a_citizen_sees_only_their_own_cards(world: World) -> None:
    owner = await world.citizen()
    other = await world.citizen()
    await world.decide(world.decision(owner))
    [card] = await world.cards(owner)
    assert await world.cards(other) == []
    for path in ("", ".png", ".pdf"):
        response = await world.client.get(
            f"/v1/cards/{card['card_id']}{path}", headers=other.headers
        )
        assert response.status_code == 404, path
        assert response.json()["type"].endswith("/card-not-found")
    # Caseworkers and auditors read it; admins do not; nobody without a token.
    for role, status in [(Role.CASEWORKER, 200), (Role.AUDITOR, 200), (Role.ADMIN, 403)]:
        response = await world.client.get(f"/v1/cards/{card['card_id']}", headers=world.staff(role))
        assert response.status_code == status, role
    assert (await world.client.get(f"/v1/cards/{card['card_id']}")).status_code == 401
    assert (await world.client.get("/v1/cards/me", headers=world.staff())).status_code == 403
    response = await world.client.get("/v1/cards/not-a-uuid", headers=owner.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "path.card_id"


async def test_renderings_carry_a_qr_that_verifies_and_revocation_is_final(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen))
    [card] = await world.cards(citizen)
    png = await world.client.get(f"/v1/cards/{card['card_id']}.png", headers=citizen.headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    qr = read_card_qr(png.content)
    verdict = (await world.client.post("/v1/cards/verify", json={"token": qr})).json()
    assert verdict["result"] == "valid", verdict
    assert verdict["card"]["card_id"] == card["card_id"]
    assert verdict["card"]["card_number_last4"] == card["card_number"][-4:]
    assert verdict["card"]["holder_name_en"] == citizen.name_en

    pdf = await world.client.get(f"/v1/cards/{card['card_id']}.pdf", headers=citizen.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert citizen.name_en in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()

    # A citizen cannot revoke; a caseworker must give a reason.
    url = f"/v1/cards/{card['card_id']}/revoke"
    assert (
        await world.client.post(url, json={"reason": "fraud"}, headers=citizen.headers)
    ).status_code == 403
    caseworker = world.staff()
    response = await world.client.post(url, json={"reason": ""}, headers=caseworker)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.reason"
    response = await world.client.post(url, json={"reason": "reported stolen"}, headers=caseworker)
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    verdict = (await world.client.post("/v1/cards/verify", json={"token": qr})).json()
    assert verdict["result"] == "revoked" and "reported stolen" in verdict["reason"]
    response = await world.client.post(
        f"/v1/cards/{card['card_id']}/suspend", json={"reason": "check"}, headers=caseworker
    )
    assert response.status_code == 409 and response.json()["current_status"] == "revoked"
    changes = await world.queued(citizen, "CardStatusChanged")
    assert [c["payload"]["status"] for c in changes] == ["revoked"]
    # A revoked card no longer counts: the standing approval allows a new one on request.
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 201 and response.json()["card_id"] != card["card_id"]


async def test_a_rotated_key_signs_new_codes_and_old_codes_still_verify(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen))
    [card] = await world.cards(citizen)
    url = f"/v1/cards/{card['card_id']}"
    old = (await world.client.get(url, headers=citizen.headers)).json()["qr_token"]

    assert (
        await world.client.post("/v1/cards/keys/rotate", headers=world.staff())
    ).status_code == 403
    rotated = await world.client.post("/v1/cards/keys/rotate", headers=world.staff(Role.ADMIN))
    assert rotated.status_code == 200
    active = rotated.json()["active_kid"]
    keys = (await world.client.get("/v1/cards/keys")).json()["keys"]
    assert keys[0]["kid"] == active and keys[0]["status"] == "active"
    assert all(k["status"] == "retired" for k in keys[1:]) and len(keys) >= 2
    assert all(set(k) >= {"kty", "crv", "x", "kid"} and "d" not in k for k in keys)

    new = (await world.client.get(url, headers=citizen.headers)).json()["qr_token"]
    assert new != old
    for token in (old, new):
        verdict = (await world.client.post("/v1/cards/verify", json={"token": token})).json()
        assert verdict["result"] == "valid", verdict
    assert (await world.client.post("/v1/cards/verify", json={"token": new})).json()[
        "kid"
    ] == active


async def test_an_expired_card_is_answered_expired_and_replaced_on_request(world: World) -> None:
    citizen = await world.citizen()
    await world.decide(world.decision(citizen))
    [card] = await world.cards(citizen)
    token = (
        await world.client.get(f"/v1/cards/{card['card_id']}", headers=citizen.headers)
    ).json()["qr_token"]
    world.clock.advance(by=timedelta(days=367))
    verdict = (await world.client.post("/v1/cards/verify", json={"token": token})).json()
    assert verdict["result"] == "expired" and card["expires_on"] in verdict["reason"]
    response = await world.client.post(
        "/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert response.status_code == 201 and response.json()["card_id"] != card["card_id"]
    statuses = sorted(c["status"] for c in await world.cards(citizen))
    assert statuses == ["active", "revoked"]


async def test_verification_refuses_garbage_with_a_reason(world: World) -> None:
    response = await world.client.post("/v1/cards/verify", json={"token": "SC1:ABC"})
    assert response.status_code == 200 and response.json()["result"] == "invalid"
    response = await world.client.post("/v1/cards/verify", json={"token": ""})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.token"


async def test_a_new_key_encryption_key_reseals_every_stored_key_when_cards_starts(
    cards_app: FastAPI, clock: FakeClock
) -> None:
    """The rotation in the README: cards started with the new key-encryption key and the old
    one as previous re-seals every stored signing key with the new one, after which the new
    key alone opens them and the old one alone no longer starts the service."""
    sessions = cards_app.state.runtime.require_sessions()
    old = reveal(CardsSettings().key_encryption_key.get_secret_value())
    new = Fernet.generate_key().decode()

    async def sealed_keys() -> list[Any]:
        async with sessions() as session:
            return await repository.all_keys(session)

    try:
        await service.ensure_signing_key(sessions, service.KeyRing(new, [old]), clock)
        rows = await sealed_keys()
        assert rows
        for row in rows:
            service.KeyRing(new).open(row.kid, row.public_key, row.private_key_encrypted)
        with pytest.raises(RuntimeError, match="does not open"):
            await service.ensure_signing_key(sessions, service.KeyRing(old), clock)
    finally:
        # Back to the platform's key, the same way (the running cards service shares the rows).
        await service.ensure_signing_key(sessions, service.KeyRing(old, [new]), clock)
    for row in await sealed_keys():
        service.KeyRing(old).open(row.kid, row.public_key, row.private_key_encrypted)


@pytest.mark.parametrize("first", ["approval", "names"])
async def test_the_first_approval_and_names_handled_at_once_still_issue_the_card(
    world: World, cards_app: FastAPI, first: str
) -> None:
    """Two topics, two inbox transactions: one records the first approval, the other the
    holder's first names, each before the other commits. Whichever goes first, the card is
    issued once both have committed."""
    citizen = await world.citizen(profile=False)
    record = record_of(world.decision(citizen))
    sessions = cards_app.state.runtime.require_sessions()
    now = world.clock.now()

    async def approval(session: AsyncSession) -> None:
        await service.apply_decision(session, record, now)

    async def names(session: AsyncSession) -> None:
        await service.apply_holder(session, citizen.citizen_id, 1, ("ليلى", citizen.name_en), now)

    steps = {"approval": approval, "names": names}
    [then] = [step for name, step in steps.items() if name != first]

    async def in_own_transaction() -> None:
        async with sessions() as session, session.begin():
            await then(session)

    async with sessions() as session, session.begin():
        await steps[first](session)
        other = asyncio.create_task(in_own_transaction())
        # The other transaction has run (no lock) or waits on this one's lock.
        await eventually(lambda: _done_or_waiting(world, other), what="the other handler")
    await other
    [card] = await world.cards(citizen)
    assert card["holder_name_en"] == citizen.name_en


async def _done_or_waiting(world: World, task: asyncio.Task[None]) -> bool:
    waiting = await world.scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = 1128354372 AND objsubid = 2"  # cards' key space, two-key form
    )
    return task.done() or waiting > 0
