"""Decisions on the real Kafka and Postgres: EligibilityEvaluated (published here as
eligibility would) decides; duplicates and stale evaluations change nothing; the completion
deadline, appeals and caseworkers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from sanad.applications.service.decisions import expire_overdue
from sanad.shared import topics
from sanad.shared.auth import Role
from sanad.shared.db import session_factory

from .conftest import PDF, TEST_PROGRAM, Citizen, World


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_eligible_approves_and_publishes_the_decision(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    evaluation = await world.evaluate(citizen, application, "eligible")

    approved = await world.status_becomes(citizen, application_id, "APPROVED")
    assert [(h["from"], h["to"], h["by"]) for h in approved["history"]] == [
        (None, "DRAFT", str(citizen.citizen_id)),
        ("DRAFT", "SUBMITTED", str(citizen.citizen_id)),
        ("SUBMITTED", "UNDER_EVALUATION", "auto"),
        ("UNDER_EVALUATION", "APPROVED", "auto"),
    ]
    assert approved["eligibility"]["evaluation_id"] == evaluation.payload["evaluation_id"]
    assert approved["decision"]["monthly_benefit"] == "1850.00"
    assert approved["next"]["action"] == "none"
    [decision] = await world.on_topic(topics.DECISION_ISSUED, application_id, 1)
    assert (decision.event_type, decision.schema_version) == ("DecisionIssued", 3)
    assert decision.causation_id == evaluation.event_id
    payload = decision.payload
    assert payload["decision"] == "APPROVED"
    assert payload["monthly_benefit"] == "1850.00"
    assert payload["decided_by"] == "auto"
    assert payload["rule_set_version"] == "SSP-DEV@2026-01-01"
    assert payload["evaluation_id"] == evaluation.payload["evaluation_id"]
    assert payload["citizen_id"] == str(citizen.citizen_id)
    assert payload["program_code"] == TEST_PROGRAM
    # v3: the program's names and card terms as the catalog held them.
    assert payload["program"] == {
        "name_ar": payload["program"]["name_ar"],
        "name_en": payload["program"]["name_en"],
        "card_on_approval": True,
        "card_validity_days": 365,
    }


async def test_ineligible_rejects_with_the_failed_reasons_and_opens_the_appeal_window(
    world: World,
) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await world.evaluate(citizen, application, "ineligible")

    rejected = await world.status_becomes(citizen, application_id, "REJECTED")
    assert rejected["history"][-1]["reasons"] == [
        {"code": "income", "reason_ar": "سبب income", "reason_en": "reason income"}
    ]
    assert rejected["next"]["action"] == "appeal"
    window = at(rejected["appeal_until"]) - at(rejected["status_since"])
    assert window == timedelta(days=30)  # SSP-DEV's appeal window
    [decision] = await world.on_topic(topics.DECISION_ISSUED, application_id, 1)
    assert decision.payload["decision"] == "REJECTED"
    assert [r["code"] for r in decision.payload["reasons"]] == ["income"]
    assert decision.payload["respond_by"] == rejected["appeal_until"][:10]


async def test_a_duplicated_evaluation_changes_nothing(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    first = await world.evaluate(citizen, application, "eligible")
    await world.status_becomes(citizen, application_id, "APPROVED")
    before = await world.table_counts(application_id)

    await world.send(first)  # the very same message again
    again = await world.evaluate(  # the same evaluation under a new event id
        citizen, application, "ineligible", evaluation_id=first.payload["evaluation_id"]
    )
    await world.processed(again)

    assert await world.table_counts(application_id) == before
    assert len(await world.queued(application_id, "DecisionIssued")) == 1
    assert (await world.get(citizen, application_id))["status"] == "APPROVED"


async def test_a_stale_evaluation_changes_nothing(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    before = await world.table_counts(application_id)
    stale = await world.evaluate(citizen, application, "eligible", submission_id=uuid.uuid4())
    await world.processed(stale)
    assert await world.table_counts(application_id) == before
    assert (await world.get(citizen, application_id))["status"] == "SUBMITTED"


async def test_needs_completion_round_trip_ends_in_a_decision(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await world.evaluate(citizen, application, "incomplete")

    needs = await world.status_becomes(citizen, application_id, "NEEDS_COMPLETION")
    assert needs["next"]["action"] == "complete_and_submit"
    assert at(needs["complete_by"]) - at(needs["status_since"]) == timedelta(days=14)
    assert needs["history"][-1]["reasons"][0]["code"] == "missing.family_register"
    [decision] = await world.on_topic(topics.DECISION_ISSUED, application_id, 1)
    assert decision.payload["missing_documents"] == ["family_register"]

    # The citizen completes: a clearer family register, then submits again.
    response = await world.upload(citizen, application_id, "family_register", PDF + b"clear")
    assert response.status_code == 201, response.text
    again = await world.submit(citizen, application_id)
    assert again.status_code == 200, again.text
    resubmitted = again.json()
    assert resubmitted["status"] == "SUBMITTED"
    assert resubmitted["submission_number"] == 2
    assert resubmitted["submission_id"] != application["submission_id"]
    submissions = await world.on_topic(topics.APPLICATION_SUBMITTED, application_id, 2)
    assert [s.payload["submission_number"] for s in submissions] == [1, 2]

    # A late answer to the first submission is stale; the answer to the second decides.
    late = await world.evaluate(citizen, application, "ineligible")
    await world.processed(late)
    assert (await world.get(citizen, application_id))["status"] == "SUBMITTED"
    await world.evaluate(citizen, resubmitted, "eligible")
    approved = await world.status_becomes(citizen, application_id, "APPROVED")
    assert [h["to"] for h in approved["history"]] == [
        "DRAFT",
        "SUBMITTED",
        "UNDER_EVALUATION",
        "NEEDS_COMPLETION",
        "SUBMITTED",
        "UNDER_EVALUATION",
        "APPROVED",
    ]


async def test_a_passed_completion_deadline_rejects_even_after_a_restart(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await world.evaluate(citizen, application, "incomplete")
    await world.status_becomes(citizen, application_id, "NEEDS_COMPLETION")

    # A job run before the deadline changes nothing.
    engine = create_async_engine(world.settings.database_url)
    try:
        sessions = session_factory(engine, producer="applications")
        world.clock.advance(by=timedelta(days=13))
        await expire_overdue(sessions, world.clock)
        assert (await world.get(citizen, application_id))["status"] == "NEEDS_COMPLETION"
        # The deadline is in the database: a fresh process (new engine, new job) finds it.
        world.clock.advance(by=timedelta(days=2))
        assert await expire_overdue(sessions, world.clock) >= 1
    finally:
        await engine.dispose()

    rejected = await world.get(citizen, application_id)
    assert rejected["status"] == "REJECTED"
    last = rejected["history"][-1]
    assert (last["from"], last["to"], last["by"]) == ("NEEDS_COMPLETION", "REJECTED", "system")
    assert last["reasons"][0]["code"] == "completion_deadline_passed"
    decisions = await world.on_topic(topics.DECISION_ISSUED, application_id, 2)
    assert [d.payload["decision"] for d in decisions] == ["NEEDS_COMPLETION", "REJECTED"]
    # Completing after the deadline is too late.
    late = await world.submit(citizen, application_id)
    assert late.status_code == 409
    assert late.json()["current_status"] == "REJECTED"


async def rejected_application(world: World) -> tuple[Citizen, str, dict[str, Any]]:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await world.evaluate(citizen, application, "ineligible")
    rejected = await world.status_becomes(citizen, application_id, "REJECTED")
    return citizen, application_id, rejected


async def test_appeal_reevaluation_and_a_caseworkers_final_decision(world: World) -> None:
    citizen, application_id, _ = await rejected_application(world)
    world.clock.advance(by=timedelta(days=29))
    response = await world.client.post(
        f"/v1/applications/{application_id}/appeal",
        json={"reason": "My husband passed away last month; our income fell."},
        headers=citizen.headers,
    )
    assert response.status_code == 201, response.text
    appealed = response.json()
    assert appealed["status"] == "APPEALED"
    appeal_id = appealed["appeal"]["appeal_id"]
    [filed] = await world.on_topic(topics.APPEAL_FILED, application_id, 1)
    assert filed.payload["appeal_id"] == appeal_id

    # Eligibility re-evaluates the appeal: attached to it, deciding nothing.
    reevaluation = await world.evaluate(
        citizen,
        appealed,
        "eligible",
        submission_id=None,
        appeal_id=appeal_id,
    )
    await world.processed(reevaluation)
    caseworker = world.staff()
    queue = await world.client.get("/v1/review/queue?page_size=100", headers=caseworker)
    assert application_id in [item["application_id"] for item in queue.json()["items"]]
    review = await world.client.get(f"/v1/review/{application_id}", headers=caseworker)
    assert review.status_code == 200
    body = review.json()
    assert body["status"] == "APPEALED"
    assert body["appeal"]["evaluation"]["evaluation_id"] == reevaluation.payload["evaluation_id"]
    assert len(body["documents"]) == 4
    assert len(await world.queued(application_id, "DecisionIssued")) == 1

    decided = await world.client.post(
        f"/v1/review/{application_id}/decision",
        json={"decision": "APPROVED", "reason": "Income fell after the death of the spouse."},
        headers=caseworker,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "APPROVED"
    decisions = await world.on_topic(topics.DECISION_ISSUED, application_id, 2)
    final = decisions[-1].payload
    assert final["decision"] == "APPROVED"
    assert final["appeal_id"] == appeal_id
    assert final["decided_by"] != "auto"
    assert final["monthly_benefit"] == "1850.00"  # the appeal's re-evaluation
    history = (await world.get(citizen, application_id))["history"]
    assert [(h["from"], h["to"], h["by_role"]) for h in history[-2:]] == [
        ("REJECTED", "APPEALED", "citizen"),
        ("APPEALED", "APPROVED", "caseworker"),
    ]


async def test_an_appeal_after_its_window_is_refused_and_writes_nothing(world: World) -> None:
    citizen, application_id, _ = await rejected_application(world)
    before = await world.table_counts(application_id)
    world.clock.advance(by=timedelta(days=31))
    response = await world.client.post(
        f"/v1/applications/{application_id}/appeal",
        json={"reason": "late"},
        headers=citizen.headers,
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("appeal-window-closed")
    assert response.json()["current_status"] == "REJECTED"
    assert await world.table_counts(application_id) == before
    assert (await world.get(citizen, application_id))["next"]["action"] == "none"


async def test_a_rejected_appeal_is_final(world: World) -> None:
    citizen, application_id, _ = await rejected_application(world)
    headers = citizen.headers
    url = f"/v1/applications/{application_id}/appeal"
    assert (await world.client.post(url, json={"reason": "x"}, headers=headers)).status_code == 201
    decided = await world.client.post(
        f"/v1/review/{application_id}/decision",
        json={"decision": "REJECTED", "reason": "The property ceiling still applies."},
        headers=world.staff(),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["next"]["action"] == "none"
    again = await world.client.post(url, json={"reason": "again"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("already-appealed")


async def test_review_goes_to_a_caseworker_who_cannot_decide_their_own(world: World) -> None:
    citizen = await world.citizen()
    application_id, application = await world.submitted(citizen)
    await world.evaluate(citizen, application, "review")
    await world.status_becomes(citizen, application_id, "UNDER_REVIEW")

    url = f"/v1/review/{application_id}/decision"
    body = {"decision": "APPROVED", "reason": "Documents verified by phone."}
    own = world.token_headers(str(citizen.citizen_id), Role.CASEWORKER)
    refused = await world.client.post(url, json=body, headers=own)
    assert refused.status_code == 403
    auditor = await world.client.post(url, json=body, headers=world.staff(Role.AUDITOR))
    assert auditor.status_code == 403
    bad = await world.client.post(url, json={"decision": "MAYBE"}, headers=world.staff())
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.decision", "body.reason"}
    assert len(await world.queued(application_id, "DecisionIssued")) == 1

    caseworker = world.staff()
    decided = await world.client.post(url, json=body, headers=caseworker)
    assert decided.status_code == 200, decided.text
    decisions = await world.on_topic(topics.DECISION_ISSUED, application_id, 2)
    assert [d.payload["decision"] for d in decisions] == ["UNDER_REVIEW", "APPROVED"]
    assert decisions[-1].payload["reasons"][0]["reason_en"] == body["reason"]
    twice = await world.client.post(url, json=body, headers=caseworker)
    assert twice.status_code == 409
    assert twice.json()["current_status"] == "APPROVED"


async def test_illegal_transitions_answer_409_naming_the_state(world: World) -> None:
    citizen = await world.citizen()
    draft = (await world.start(citizen))["application_id"]
    appeal = await world.client.post(
        f"/v1/applications/{draft}/appeal", json={"reason": "x"}, headers=citizen.headers
    )
    assert appeal.status_code == 409
    assert appeal.json()["current_status"] == "DRAFT"
    decide = await world.client.post(
        f"/v1/review/{draft}/decision",
        json={"decision": "APPROVED", "reason": "x"},
        headers=world.staff(),
    )
    assert decide.status_code == 409
    assert decide.json()["current_status"] == "DRAFT"

    other = await world.citizen()
    submitted_id, _ = await world.submitted(other)
    owner_headers = other.headers
    edit = await world.client.put(
        f"/v1/applications/{submitted_id}", json={"family_size": 2}, headers=owner_headers
    )
    assert edit.status_code == 409
    assert edit.json()["current_status"] == "SUBMITTED"
    upload = await world.client.post(
        f"/v1/applications/{submitted_id}/documents",
        data={"kind": "national_id"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=owner_headers,
    )
    assert upload.status_code == 409
