"""A citizen's application on the real Postgres and Kafka: drafts, the form, documents,
submission (once per Idempotency-Key) and what other people may not do."""

from __future__ import annotations

import hashlib
import uuid

from sanad.shared import topics
from sanad.shared.auth import Role

from .conftest import JPEG, MAX_DOCUMENTS, PDF, PNG, World, stored_files


async def test_a_draft_one_open_per_program_and_a_second_names_the_first(world: World) -> None:
    citizen = await world.citizen()
    first = await world.start(citizen)
    assert first["status"] == "DRAFT"
    assert first["next"] == {"action": "submit", "until": None}
    assert [(h["from"], h["to"], h["by"]) for h in first["history"]] == [
        (None, "DRAFT", str(citizen.citizen_id))
    ]
    again = await world.client.post(
        "/v1/applications", json={"program_code": first["program_code"]}, headers=citizen.headers
    )
    assert again.status_code == 409
    assert again.json()["open_application_id"] == first["application_id"]
    assert first["application_id"] in again.json()["detail"]
    other_program = await world.start(citizen, "FOOD-SUPPORT")
    assert other_program["status"] == "DRAFT"
    unknown = await world.client.post(
        "/v1/applications", json={"program_code": "NOPE"}, headers=citizen.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.program_code"


BAD_IBAN = "SA0380000000608010167518"  # one digit off: mod-97 fails
BAD_CARD = "4111111111111112"  # Luhn digit wrong


async def test_the_form_validates_each_field_and_writes_nothing_when_bad(world: World) -> None:
    citizen = await world.citizen()
    application_id = (await world.start(citizen))["application_id"]
    cases = [
        ({"monthly_income": "-5"}, "body.monthly_income"),
        ({"family_size": 0}, "body.family_size"),
        ({"employment_status": "pirate"}, "body.employment_status"),
        ({"payment": {"method": "iban", "iban": BAD_IBAN}}, "body.payment.iban"),
        ({"payment": {"method": "card", "card_number": BAD_CARD}}, "body.payment.card_number"),
        ({"category": "orphans"}, "body.category"),  # SSP-DEV has no categories
    ]
    for body, field in cases:
        response = await world.client.put(
            f"/v1/applications/{application_id}", json=body, headers=citizen.headers
        )
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field], body
    form = (await world.get(citizen, application_id))["form"]
    assert set(form.values()) == {None}

    card = {"method": "card", "card_number": "4111 1111 1111 1111"}
    await world.fill(citizen, application_id, payment=card)
    form = (await world.get(citizen, application_id))["form"]
    assert form["monthly_income"] == "900.00"
    assert form["payment"] == {"method": "card", "masked": "**** 1111"}


async def test_documents_are_judged_by_content_and_stored_by_hash(world: World) -> None:
    citizen = await world.citizen()
    application_id = (await world.start(citizen))["application_id"]
    pdf = await world.upload(citizen, application_id, "national_id", PDF)
    jpeg = await world.upload(citizen, application_id, "bank_account", JPEG, "x.bin", "text/plain")
    assert pdf.status_code == jpeg.status_code == 201, (pdf.text, jpeg.text)
    assert jpeg.json()["content_type"] == "image/jpeg"  # its content, not its declared type
    digest = hashlib.sha256(PDF).hexdigest()
    assert pdf.json()["sha256"] == digest
    assert (world.settings.document_root / digest[:2] / digest[2:4] / digest).read_bytes() == PDF

    listed = await world.client.get(
        f"/v1/applications/{application_id}/documents", headers=citizen.headers
    )
    assert [d["kind"] for d in listed.json()] == ["national_id", "bank_account"]
    wrong_kind = await world.upload(citizen, application_id, "passport", PNG)
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["errors"][0]["field"] == "body.kind"

    removed = await world.client.delete(
        f"/v1/applications/{application_id}/documents/{jpeg.json()['document_id']}",
        headers=citizen.headers,
    )
    assert removed.status_code == 204
    listed = await world.client.get(
        f"/v1/applications/{application_id}/documents", headers=citizen.headers
    )
    assert [d["kind"] for d in listed.json()] == ["national_id"]


async def test_a_spoofed_upload_is_refused_and_nothing_is_stored(world: World) -> None:
    citizen = await world.citizen()
    application_id = (await world.start(citizen))["application_id"]
    before_files = stored_files(world.settings.document_root)
    before = await world.table_counts(application_id)
    executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200
    response = await world.upload(
        citizen, application_id, "national_id", executable, "id-card.pdf", "application/pdf"
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.file"
    assert await world.table_counts(application_id) == before
    assert stored_files(world.settings.document_root) == before_files


async def test_an_11_mb_file_is_refused_and_nothing_is_stored(world: World) -> None:
    citizen = await world.citizen()
    application_id = (await world.start(citizen))["application_id"]
    before_files = stored_files(world.settings.document_root)
    before = await world.table_counts(application_id)
    big = PDF + b"0" * (11 * 1000 * 1000)
    response = await world.upload(citizen, application_id, "national_id", big)
    # Over the service's body limit: refused by the request guard before a byte is parsed.
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert await world.table_counts(application_id) == before
    assert stored_files(world.settings.document_root) == before_files


async def test_at_most_20_documents(world: World) -> None:
    citizen = await world.citizen()
    application_id = (await world.start(citizen))["application_id"]
    for number in range(MAX_DOCUMENTS):
        response = await world.upload(
            citizen, application_id, "proof_of_income", PDF + number.to_bytes(2, "big")
        )
        assert response.status_code == 201, response.text
    response = await world.upload(citizen, application_id, "proof_of_income", PDF + b"x")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "body.file"
    assert (await world.table_counts(application_id))["documents"] == MAX_DOCUMENTS


async def test_submit_refuses_with_the_list_of_what_is_missing(world: World) -> None:
    citizen = await world.citizen(profile=False)
    application_id = (await world.start(citizen))["application_id"]
    await world.upload(citizen, application_id, "national_id", PDF)
    response = await world.client.post(
        f"/v1/applications/{application_id}/submit", json={}, headers=citizen.headers
    )
    assert response.status_code == 422
    assert response.json()["missing"] == [
        "body.declaration_accepted",
        "form.monthly_income",
        "form.family_size",
        "form.employment_status",
        "form.payment",
        "documents.family_register",
        "documents.proof_of_income",
        "documents.bank_account",
        "profile",
    ]
    application = await world.get(citizen, application_id)
    assert application["status"] == "DRAFT"
    assert await world.queued(application_id, "ApplicationSubmitted") == []


async def test_submit_publishes_one_application_submitted_with_the_snapshot(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)

    assert application["status"] == "SUBMITTED"
    assert [(h["from"], h["to"]) for h in application["history"]] == [
        (None, "DRAFT"),
        ("DRAFT", "SUBMITTED"),
    ]
    assert len(await world.queued(application_id, "ApplicationSubmitted")) == 1
    [event] = await world.on_topic(topics.APPLICATION_SUBMITTED, application_id, 1)
    assert (event.event_type, event.schema_version, event.producer) == (
        "ApplicationSubmitted",
        2,
        "applications",
    )
    payload = event.payload
    assert payload["submission_id"] == application["submission_id"]
    assert payload["profile_version"] == 3
    assert payload["household_snapshot"]["household"]["household_size"] == 2
    # Of a dependent "is a citizen", not the number or the name (the profile here is a
    # ProfileUpdated v1 of the history, which carried both).
    [dependent] = payload["household_snapshot"]["dependents"]
    assert dependent["is_citizen"] is True
    assert "national_id" not in dependent and "full_name" not in dependent
    assert "1000000008" not in event.to_bytes().decode()
    assert "contact" not in payload["household_snapshot"]
    assert payload["form"]["payment"] == {"method": "iban", "last4": "7519"}
    assert "SA0380000000608010167519" not in event.to_bytes().decode()
    assert sorted(d["kind"] for d in payload["documents"]) == sorted(
        ["national_id", "family_register", "proof_of_income", "bank_account"]
    )
    assert all(len(d["sha256"]) == 64 for d in payload["documents"])


async def test_a_repeated_submit_with_one_idempotency_key_submits_once(world: World) -> None:
    citizen = await world.citizen()
    application_id = await world.ready(citizen)
    key = f"submit-{uuid.uuid4()}"
    first = await world.submit(citizen, application_id, key)
    second = await world.submit(citizen, application_id, key)
    assert first.status_code == second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json()["history"] == second.json()["history"]
    assert len(await world.queued(application_id, "ApplicationSubmitted")) == 1
    # Without the key, a second submit is an illegal transition naming the state.
    third = await world.submit(citizen, application_id)
    assert third.status_code == 409
    assert third.json()["current_status"] == "SUBMITTED"
    assert "SUBMITTED" in third.json()["detail"]
    assert len(await world.queued(application_id, "ApplicationSubmitted")) == 1


async def test_another_citizens_application_is_out_of_reach(world: World) -> None:
    owner = await world.citizen()
    application_id = await world.ready(owner)
    before = await world.table_counts(application_id)
    intruder = await world.citizen()
    base = f"/v1/applications/{application_id}"
    attempts = [
        world.client.get(base, headers=intruder.headers),
        world.client.put(base, json={"family_size": 9}, headers=intruder.headers),
        world.client.get(f"{base}/documents", headers=intruder.headers),
        world.upload(intruder, application_id, "national_id", PNG),
        world.client.post(
            f"{base}/submit", json={"declaration_accepted": True}, headers=intruder.headers
        ),
        world.client.post(f"{base}/appeal", json={"reason": "mine"}, headers=intruder.headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("application-not-found")
    mine = await world.client.get("/v1/applications", headers=intruder.headers)
    assert mine.json()["total"] == 0
    assert await world.table_counts(application_id) == before
    assert (await world.get(owner, application_id))["form"]["family_size"] == 4
    # A citizen cannot reach the review console at all.
    for path in ("/v1/review/queue", f"/v1/review/{application_id}"):
        assert (await world.client.get(path, headers=intruder.headers)).status_code == 403
    decided = await world.client.post(
        f"/v1/review/{application_id}/decision",
        json={"decision": "APPROVED", "reason": "ok"},
        headers=owner.headers,
    )
    assert decided.status_code == 403


async def test_my_requests_are_paginated_and_filtered(world: World) -> None:
    citizen = await world.citizen()
    for program in ("SSP-DEV", "FOOD-SUPPORT", "ELECTRICITY-SUPPORT"):
        await world.start(citizen, program)
    page = await world.client.get("/v1/applications?page=1&page_size=2", headers=citizen.headers)
    assert page.status_code == 200
    assert (page.json()["total"], len(page.json()["items"])) == (3, 2)
    second = await world.client.get("/v1/applications?page=2&page_size=2", headers=citizen.headers)
    assert len(second.json()["items"]) == 1
    none = await world.client.get("/v1/applications?status=APPROVED", headers=citizen.headers)
    assert none.json()["total"] == 0
    bad = await world.client.get("/v1/applications?status=LOST", headers=citizen.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.status"
    staff = await world.client.get("/v1/applications", headers=world.staff(Role.CASEWORKER))
    assert staff.status_code == 403


async def test_identical_content_is_stored_once_and_kept_while_referenced(world: World) -> None:
    content = PDF + uuid.uuid4().bytes
    digest = hashlib.sha256(content).hexdigest()
    blob = world.settings.document_root / digest[:2] / digest[2:4] / digest
    first, second = await world.citizen(), await world.citizen()
    uploads = []
    for citizen in (first, second):
        application_id = (await world.start(citizen))["application_id"]
        response = await world.upload(citizen, application_id, "national_id", content)
        assert response.status_code == 201, response.text
        uploads.append((citizen, application_id, response.json()["document_id"]))
    assert blob.read_bytes() == content

    citizen, application_id, document_id = uploads[0]
    url = f"/v1/applications/{application_id}/documents/{document_id}"
    assert (await world.client.delete(url, headers=citizen.headers)).status_code == 204
    assert blob.exists()  # the other application still refers to it
    citizen, application_id, document_id = uploads[1]
    url = f"/v1/applications/{application_id}/documents/{document_id}"
    assert (await world.client.delete(url, headers=citizen.headers)).status_code == 204
    assert not blob.exists()
    gone = await world.client.delete(url, headers=citizen.headers)
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["field"] == "path.document_id"
