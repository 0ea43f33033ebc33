"""Evaluation on the real broker and database: one ApplicationSubmitted → one stored
evaluation and one EligibilityEvaluated v3; duplicates change nothing; an appeal is
re-evaluated on the current profile; decisions feed the beneficiary registry; a stored
evaluation replays identically."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sanad.platform.testing import eventually
from sanad.shared.auth import Role
from sanad.shared.events import EligibilityEvaluatedV3

from .conftest import World


async def test_one_submission_gives_one_explained_evaluation(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="4200.00", children=5)
    submitted = world.submission(citizen, profile)
    envelope = await world.publish(submitted, "applications")

    [message] = await world.evaluated(submitted.application_id)
    assert (message.event_type, message.schema_version) == ("EligibilityEvaluated", 3)
    assert message.causation_id == envelope.event_id
    assert message.correlation_id == "test"
    event = EligibilityEvaluatedV3.model_validate(message.payload)
    assert event.submission_id == submitted.submission_id
    assert event.appeal_id is None
    assert (event.trigger, event.rule_set_id, event.rule_set_version) == (
        "submission",
        "SSP-DEV",
        "SSP-DEV@2025.1",
    )
    assert event.outcome == "ineligible"
    assert event.monthly_benefit == 0
    income = next(c for c in event.criteria if c.code == "household_income")
    assert (income.passed, income.observed, income.required) == (False, "4200.00", "<= 3850.00")
    assert income.reason_en == (
        "Household income 4,200 SAR exceeds the limit of 3,850 SAR (1,100 SAR + 5 × 550 SAR)"
    )
    assert income.reason_ar.startswith("دخل الأسرة 4,200 ريال يتجاوز الحد 3,850 ريال")
    assert [c.code for c in event.criteria] == [
        "nationality",
        "residence",
        "property",
        "household_income",
        "not_excluded",
        "income_consistent",
        "documents",
    ]
    [row] = await world.rows(
        "SELECT evaluation_id, outcome, facts_hash, inputs, facts, result "
        "FROM eligibility.evaluations WHERE application_id = :a",
        a=submitted.application_id,
    )
    assert row.evaluation_id == event.evaluation_id
    assert row.facts_hash == event.facts_hash
    assert row.facts["household_income"] == 420000  # halalas
    assert row.inputs["documents"] == list(
        submitted.model_dump()["documents"][i]["kind"] for i in range(4)
    )
    assert row.result["outcome"] == "ineligible"


async def test_an_eligible_household_gets_the_benefit(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="900.00", children=2)
    submitted = world.submission(citizen, profile)
    await world.publish(submitted, "applications")
    [message] = await world.evaluated(submitted.application_id)
    assert message.payload["outcome"] == "eligible"
    assert message.payload["monthly_benefit"] == "1300.00"  # 1100 + 2 × 550 − 900


async def test_missing_documents_are_listed(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen)
    submitted = world.submission(citizen, profile, documents=("national_id",))
    await world.publish(submitted, "applications")
    [message] = await world.evaluated(submitted.application_id)
    assert message.payload["outcome"] == "incomplete"
    assert [m["code"] for m in message.payload["missing"]] == [
        "family_register",
        "proof_of_income",
        "bank_account",
    ]


async def test_duplicates_change_nothing(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen)
    submitted = world.submission(citizen, profile)
    envelope = await world.publish(submitted, "applications")
    await world.send(envelope)  # redelivered: the same event id
    await world.publish(submitted, "applications")  # the same submission under a new event id
    # A later submission of the same application (same key, so after them on its partition)
    later = submitted.model_copy(update={"submission_id": uuid.uuid4(), "submission_number": 2})
    await world.publish(later, "applications")
    found = await world.evaluated(submitted.application_id, count=2)
    await eventually(
        lambda: world.scalar(
            "SELECT count(*) FROM eligibility.evaluations WHERE application_id = :a",
            a=submitted.application_id,
        ),
        until=lambda n: n == 2,
        what="two evaluations",
    )
    assert [m.payload["submission_id"] for m in found] == [
        str(submitted.submission_id),
        str(later.submission_id),
    ]
    assert len(await world.evaluated(submitted.application_id, count=2)) == 2


async def test_the_version_in_force_at_submission_applies(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen)
    program = f"T-{uuid.uuid4().hex[:8].upper()}"
    from .test_rules_api import publish_test_program

    await publish_test_program(world, program, limit="1000", version="1")
    early = world.submission(
        citizen, profile, program=program, submitted_at=datetime.now(UTC) - timedelta(days=400)
    )
    now = world.submission(citizen, profile, program=program)
    await world.publish(early, "applications")
    await world.publish(now, "applications")
    [old] = await world.evaluated(early.application_id)
    [new] = await world.evaluated(now.application_id)
    # No version was in force 400 days ago: a caseworker decides.
    assert (old.payload["outcome"], old.payload["rule_set_version"]) == (
        "review",
        f"{program}@none",
    )
    assert (new.payload["outcome"], new.payload["rule_set_version"]) == ("eligible", f"{program}@1")


async def test_an_appeal_is_re_evaluated_on_the_current_profile(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="3000.00", children=1)
    submitted = world.submission(citizen, profile)
    await world.publish(submitted, "applications")
    [first] = await world.evaluated(submitted.application_id)
    assert first.payload["outcome"] == "ineligible"  # over 1650

    await world.profile(citizen, version=2, income="1000.00", children=1)
    appeal = world.appeal(submitted)
    await world.publish(appeal, "applications")
    _, again = await world.evaluated(submitted.application_id, count=2)
    assert again.payload["trigger"] == "appeal"
    assert again.payload["appeal_id"] == str(appeal.appeal_id)
    assert again.payload["submission_id"] is None
    assert again.payload["outcome"] == "eligible"
    assert again.payload["monthly_benefit"] == "650.00"
    consistency = next(c for c in again.payload["criteria"] if c["code"] == "income_consistent")
    assert consistency["status"] == "not_applicable"  # the form's old income is not compared


async def test_an_active_beneficiary_is_excluded_from_an_exclusive_program(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="500.00")
    ssp = world.submission(citizen, profile)
    await world.publish(world.approval(ssp), "applications")
    await eventually(
        lambda: world.scalar(
            "SELECT active FROM eligibility.beneficiaries WHERE application_id = :a",
            a=ssp.application_id,
        ),
        what="the approval in the registry",
    )
    spn = world.submission(
        citizen,
        profile,
        program="IQ-SPN",
        documents=("national_id", "family_register", "category_proof"),
        form={"monthly_income": "500.00", "family_size": 2, "category": "widows_divorcees"},
    )
    await world.publish(spn, "applications")
    [message] = await world.evaluated(spn.application_id)
    assert message.payload["outcome"] == "ineligible"
    excluded = next(c for c in message.payload["criteria"] if c["code"] == "not_excluded")
    assert (excluded["status"], excluded["observed"]) == ("failed", "SSP-DEV")


async def test_replay_gives_the_identical_result(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="1234.56", children=3)
    submitted = world.submission(citizen, profile, form_income="2000.00")
    await world.publish(submitted, "applications")
    [message] = await world.evaluated(submitted.application_id)
    assert message.payload["outcome"] == "review"  # 765.44 apart
    evaluation_id = message.payload["evaluation_id"]

    replayed = await world.client.post(
        f"/v1/eligibility/evaluations/{evaluation_id}/replay",
        headers=world.headers(Role.AUDITOR),
    )
    assert replayed.status_code == 200, replayed.text
    body = replayed.json()
    assert body["identical"] is True, body["differences"]
    assert body["replayed"]["facts_hash"] == message.payload["facts_hash"]

    for role in (Role.CITIZEN, Role.CASEWORKER):
        refused = await world.client.post(
            f"/v1/eligibility/evaluations/{evaluation_id}/replay", headers=world.headers(role)
        )
        assert refused.status_code == 403
    missing = await world.client.post(
        f"/v1/eligibility/evaluations/{uuid.uuid4()}/replay", headers=world.headers(Role.AUDITOR)
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "path.evaluation_id"

    own = await world.client.get(
        f"/v1/eligibility/evaluations/{evaluation_id}",
        headers=world.headers(Role.CITIZEN, str(citizen)),
    )
    assert own.status_code == 200
    assert own.json()["outcome"] == "review"
    other = await world.client.get(
        f"/v1/eligibility/evaluations/{evaluation_id}", headers=world.headers(Role.CITIZEN)
    )
    assert other.status_code == 404


async def test_a_program_without_rules_is_not_answered(world: World) -> None:
    citizen = uuid.uuid4()
    profile = await world.profile(citizen)
    unruled = world.submission(citizen, profile, program="NO-RULES-EVER")
    await world.publish(unruled, "applications")
    # The same application (same key, same partition) submitted again to SSP-DEV afterwards.
    sentinel = world.submission(citizen, profile, application_id=unruled.application_id)
    await world.publish(sentinel, "applications")
    found = await world.evaluated(unruled.application_id)
    assert [m.payload["submission_id"] for m in found] == [str(sentinel.submission_id)]


async def test_an_appeal_uses_the_latest_submission_and_a_batch_of_decisions_the_latest(
    world: World,
) -> None:
    """The submissions kept for appeals are written with the evaluations (one statement):
    an application submitted twice is appealed on its second submission's documents; and
    the registry keeps an application's latest decision, however the batch came."""
    citizen = uuid.uuid4()
    profile = await world.profile(citizen, income="900.00")
    first = world.submission(
        citizen, profile, documents=("national_id",), submitted_at=datetime.now(UTC)
    )
    second = first.model_copy(
        update={
            "submission_id": uuid.uuid4(),
            "submission_number": 2,
            "submitted_at": first.submitted_at + timedelta(minutes=5),
            "documents": world.submission(citizen, profile).documents,
        }
    )
    await world.publish(first, "applications")
    await world.publish(second, "applications")
    one, two = await world.evaluated(first.application_id, count=2)
    assert (one.payload["outcome"], two.payload["outcome"]) == ("incomplete", "eligible")

    await world.publish(world.appeal(first), "applications")
    *_, appealed = await world.evaluated(first.application_id, count=3)
    assert appealed.payload["trigger"] == "appeal"
    documents = next(c for c in appealed.payload["criteria"] if c["code"] == "documents")
    assert documents["status"] == "passed"  # the second submission's four documents

    approved = world.approval(first)
    rejected = approved.model_copy(
        update={
            "decision_id": uuid.uuid4(),
            "decision": "REJECTED",
            "decided_at": approved.decided_at + timedelta(seconds=1),
        }
    )
    await world.publish(rejected, "applications")  # the later decision delivered first
    older = await world.publish(approved, "applications")
    await eventually(
        lambda: world.scalar(
            "SELECT count(*) FROM eligibility.processed_events WHERE event_id = :e",
            e=older.event_id,
        ),
        until=lambda n: n == 1,
        what="the older decision handled",
    )
    [row] = await world.rows(
        "SELECT active, decision_id FROM eligibility.beneficiaries WHERE application_id = :a",
        a=first.application_id,
    )
    assert (row.active, row.decision_id) == (False, rejected.decision_id)
