"""GET /v1/notifications and PUT /v1/notifications/preferences, through the real app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sanad.platform.testing import eventually
from sanad.shared.auth import Role
from sanad.shared.events import DecisionIssued, Envelope

from .conftest import Service, mail_to, registered, sms_to


async def citizen(service: Service, language: str = "ar") -> tuple[uuid.UUID, str, str]:
    citizen_id, number, address = await registered(service, language)
    assert address is not None
    return citizen_id, number, address


def under_review(citizen_id: uuid.UUID) -> Envelope:
    return Envelope.wrap(
        DecisionIssued(
            decision_id=uuid.uuid4(),
            application_id=uuid.uuid4(),
            citizen_id=citizen_id,
            program_code="SSP-DEV",
            decision="UNDER_REVIEW",
            reasons=[],
            decided_by="rules",
            decided_at=datetime.now(UTC),
        ),
        producer="test",
    )


async def test_a_citizen_lists_only_their_own_notifications_paginated(service: Service) -> None:
    me, _, _ = await citizen(service)
    other, _, _ = await citizen(service)  # contacts stored: see registered()
    mine = [under_review(me) for _ in range(2)]
    for envelope in [*mine, under_review(other)]:
        await service.publish(envelope)
    for envelope in mine:
        await service.settled(envelope.event_id, 2)

    page = await service.client.get("/v1/notifications?limit=3", headers=service.token(str(me)))
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (4, 3, 0, 3)
    item = body["items"][0]
    assert set(item) >= {"channel", "template", "status", "created_at"}
    assert {i["template"] for i in body["items"]} == {"decision_under_review"}
    assert all(i["status"] == "sent" for i in body["items"])
    rest = await service.client.get(
        "/v1/notifications?limit=3&offset=3", headers=service.token(str(me))
    )
    assert len(rest.json()["items"]) == 1
    ids = {i["id"] for i in body["items"]} | {i["id"] for i in rest.json()["items"]}
    assert len(ids) == 4


async def test_bad_requests_answer_problem_json_naming_the_field(service: Service) -> None:
    anonymous = await service.client.get("/v1/notifications")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"

    token = service.token(str(uuid.uuid4()))
    bad_limit = await service.client.get("/v1/notifications?limit=0", headers=token)
    assert bad_limit.status_code == 422
    assert bad_limit.json()["errors"][0]["field"] == "query.limit"

    bad_language = await service.client.put(
        "/v1/notifications/preferences",
        json={"email_enabled": True, "language": "fr"},
        headers=token,
    )
    assert bad_language.status_code == 422
    assert bad_language.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad_language.json()["errors"]] == ["body.language"]

    missing = await service.client.put(
        "/v1/notifications/preferences", json={"language": "en"}, headers=token
    )
    assert [e["field"] for e in missing.json()["errors"]] == ["body.email_enabled"]

    staff = await service.client.get(
        "/v1/notifications", headers=service.token("staff-1", Role.CASEWORKER)
    )
    assert staff.status_code == 403


async def test_preferences_turn_email_off_and_switch_the_language(service: Service) -> None:
    citizen_id, number, address = await citizen(service, "ar")
    token = service.token(str(citizen_id))
    assert (await service.client.get("/v1/notifications/preferences", headers=token)).json() == {
        "email_enabled": True,
        "language": "ar",
    }
    put = await service.client.put(
        "/v1/notifications/preferences",
        json={"email_enabled": False, "language": "en"},
        headers=token,
    )
    assert put.status_code == 200
    assert (await service.client.get("/v1/notifications/preferences", headers=token)).json() == {
        "email_enabled": False,
        "language": "en",
    }

    envelope = under_review(citizen_id)
    await service.publish(envelope)
    [row] = await service.settled(envelope.event_id, 1)
    assert (row.channel, row.language) == ("sms", "en")
    [sms] = await eventually(lambda: sms_to(number), what="the SMS")
    assert "reviewed by a caseworker" in sms["body"]
    assert await mail_to(address) == []


async def test_preferences_of_an_unknown_citizen_are_not_found(service: Service) -> None:
    response = await service.client.get(
        "/v1/notifications/preferences", headers=service.token(str(uuid.uuid4()))
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
