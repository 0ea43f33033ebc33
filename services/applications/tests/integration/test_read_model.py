"""The status read model is brought up to date from what each use case wrote (not re-read
from the tables): after every step of an application's life, the stored view is byte for
byte the view assembled from the tables."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.applications import repository
from sanad.applications.service import views
from sanad.shared.db import engine_for

from .conftest import PDF, SSP_DOCUMENTS, World


async def assert_view_as_assembled(world: World, application_id: str) -> None:
    engine = engine_for(world.settings)
    try:
        async with AsyncSession(engine) as session:
            application = await repository.load(session, uuid.UUID(application_id))
            assert application is not None
            assembled = to_json(await views.assemble(session, application)).decode()
            stored = await repository.stored_detail(session, uuid.UUID(application_id))
    finally:
        await engine.dispose()
    assert stored == assembled


async def test_the_stored_view_is_the_assembled_view_at_every_step(world: World) -> None:
    citizen = await world.citizen()
    application_id = str((await world.start(citizen))["application_id"])
    await assert_view_as_assembled(world, application_id)
    await world.fill(citizen, application_id)
    await assert_view_as_assembled(world, application_id)
    for number, kind in enumerate(SSP_DOCUMENTS):
        uploaded = await world.upload(citizen, application_id, kind, PDF + bytes([number]))
        assert uploaded.status_code == 201, uploaded.text
        await assert_view_as_assembled(world, application_id)
    removed = await world.client.delete(
        f"/v1/applications/{application_id}/documents/{uploaded.json()['document_id']}",
        headers=citizen.headers,
    )
    assert removed.status_code == 204, removed.text
    await assert_view_as_assembled(world, application_id)
    again = await world.upload(citizen, application_id, SSP_DOCUMENTS[-1], PDF + b"again")
    assert again.status_code == 201, again.text

    submitted = await world.submit(citizen, application_id)
    assert submitted.status_code == 200, submitted.text
    await assert_view_as_assembled(world, application_id)
    await world.processed(await world.evaluate(citizen, submitted.json(), "incomplete"))
    await assert_view_as_assembled(world, application_id)
    completed = await world.upload(citizen, application_id, "family_register", PDF + b"clear")
    assert completed.status_code == 201, completed.text
    resubmitted = await world.submit(citizen, application_id)
    assert resubmitted.status_code == 200, resubmitted.text
    await assert_view_as_assembled(world, application_id)
    # A second submission's evaluation: the view's eligibility is the newer one.
    await world.processed(await world.evaluate(citizen, resubmitted.json(), "ineligible"))
    await assert_view_as_assembled(world, application_id)

    world.clock.advance(by=timedelta(days=1))
    appealed = await world.client.post(
        f"/v1/applications/{application_id}/appeal",
        json={"reason": "Our income fell."},
        headers=citizen.headers,
    )
    assert appealed.status_code == 201, appealed.text
    await assert_view_as_assembled(world, application_id)
    body = appealed.json()
    reevaluation = await world.evaluate(
        citizen, body, "eligible", submission_id=None, appeal_id=body["appeal"]["appeal_id"]
    )
    await world.processed(reevaluation)
    await assert_view_as_assembled(world, application_id)
    decided = await world.client.post(
        f"/v1/review/{application_id}/decision",
        json={"decision": "APPROVED", "reason": "Income fell."},
        headers=world.staff(),
    )
    assert decided.status_code == 200, decided.text
    await assert_view_as_assembled(world, application_id)


async def test_an_approval_is_stored_as_assembled(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await assert_view_as_assembled(world, application_id)
    await world.processed(await world.evaluate(citizen, application, "eligible"))
    await assert_view_as_assembled(world, application_id)
    assert (await world.get(citizen, application_id))["eligibility"]["monthly_benefit"] == "1850.00"
