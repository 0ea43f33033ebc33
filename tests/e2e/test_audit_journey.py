"""The audit through the running platform: a history made by the services themselves —
citizens applying to three programs, an approval with a card, a rejection appealed and
approved by a caseworker, a review decided by a caseworker — is replayed, verified,
reproduced and compared clean by the audit CLI (its own process, as an auditor would run
it), and through the gateway by an auditor only. Then events are published straight to the
topics — a decision contradicting its evaluation, a duplicate event id, a card without an
approval, an unknown schema version — and each is caught with a non-zero exit.

Every run is scoped to this test's citizens (the topics hold every other test's events too),
and each replay is a generation of its own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform.journey import (
    DOCUMENTS,
    IBAN,
    SECTIONS,
    Citizen,
    Person,
    Platform,
    add_to_registry,
    applications_knows,
    new_mobile,
    new_national_id,
    salary,
)
from sanad.platform.services import platform_env
from sanad.platform.testing import Infra, eventually
from sanad.shared import kafka_clients, topics
from sanad.shared.kafka_clients import KafkaAccess

PROJECTIONS = ("applications", "status_history", "evaluations", "decisions", "cards", "events")


def audit(*args: str, out: Path) -> tuple[int, dict[str, Any]]:
    """``python -m sanad.audit …`` as its own process: exit code and the JSON report."""
    out = out / uuid.uuid4().hex  # runs side by side: a folder each
    result = subprocess.run(
        [sys.executable, "-m", "sanad.audit", *args, "--out", str(out), "--quiet"],
        env=os.environ | platform_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    [report] = out.glob("*.json")
    data: dict[str, Any] = json.loads(report.read_text())
    assert report.with_suffix(".md").read_text().startswith(f"# Sanad audit: {args[0]}")
    return result.returncode, data


def failed(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        c["name"]: [e.get("error", "") for e in c["examples"]]
        for c in report["checks"]
        if c["failures"]
    }


async def apply(
    platform: Platform,
    citizen: Citizen,
    program: str,
    income: str,
    documents: tuple[str, ...] = DOCUMENTS,
) -> str:
    form = {
        "monthly_income": income,
        "family_size": 1,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": IBAN},
    }
    application_id = await platform.draft(citizen, program, form, documents)
    await platform.submit(citizen, application_id)
    return application_id


async def citizen_with_income(platform: Platform, db: AsyncEngine, income: str) -> Citizen:
    """A widow living alone, registered, her profile filled in with one salary and known to
    applications."""
    person = Person(
        new_national_id(), "Hind Abdullah", "هند عبدالله", "1984-09-30", mobile=new_mobile()
    )
    await add_to_registry(person)
    citizen = await platform.register(person, language="en")
    sections = {k: SECTIONS[k] for k in ("housing", "employment", "property")}
    version = await platform.fill_profile(citizen, sections | {"income": salary(income)})
    await applications_knows(db, citizen, version, platform.wait)
    return citizen


async def cards_of(platform: Platform, citizen: Citizen, count: int) -> None:
    assert len(await platform.cards(citizen, count)) == count


async def publish(producer: AIOKafkaProducer, topic: str, envelope: dict[str, Any]) -> None:
    await producer.send_and_wait(topic, orjson.dumps(envelope), key=str(envelope["key"]).encode())


@pytest.mark.timeout(1800)  # a dozen audit processes and a history made through the gateway
async def test_the_audit_replays_verifies_reproduces_a_real_history_and_catches_tampering(
    platform: Platform,
    admin_db: AsyncEngine,
    provisioned: Infra,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    api = platform.api
    staff = await platform.caseworker()
    # A: SSP-DEV approved (a card on approval), then food and electricity support.
    a = await citizen_with_income(platform, admin_db, "900")
    a_ssp = await apply(platform, a, "SSP-DEV", "900.00")
    await platform.status_becomes(a, a_ssp, "APPROVED")
    await cards_of(platform, a, 1)
    a_food = await apply(platform, a, "FOOD-SUPPORT", "900.00", DOCUMENTS[:3])
    await platform.status_becomes(a, a_food, "APPROVED")
    a_power = await apply(
        platform,
        a,
        "ELECTRICITY-SUPPORT",
        "900.00",
        ("national_id", "electricity_bill", "proof_of_income"),
    )
    await platform.status_becomes(a, a_power, "APPROVED")
    # B: rejected, appeals, a caseworker approves on the re-evaluation; a card follows.
    b = await citizen_with_income(platform, admin_db, "4200")
    b_ssp = await apply(platform, b, "SSP-DEV", "4200.00")
    await platform.status_becomes(b, b_ssp, "REJECTED")
    appealed = await api.post(
        f"/v1/applications/{b_ssp}/appeal", json={"reason": "My salary stopped."}, headers=b.headers
    )
    assert appealed.status_code == 201, appealed.text
    await eventually(
        lambda: api.get(f"/v1/review/{b_ssp}", headers=staff),
        until=lambda r: r.status_code == 200 and len(r.json()["evaluations"]) >= 2,
        timeout=platform.wait,
        what="the appeal's re-evaluation",
    )
    decided = await api.post(
        f"/v1/review/{b_ssp}/decision",
        json={"decision": "APPROVED", "reason": "Salary stopped; verified."},
        headers=staff,
    )
    assert decided.status_code == 200, decided.text
    await platform.status_becomes(b, b_ssp, "APPROVED")
    # C: the form's income disagrees with the profile's → review → a caseworker rejects.
    c = await citizen_with_income(platform, admin_db, "900")
    c_ssp = await apply(platform, c, "SSP-DEV", "2500.00")
    await platform.status_becomes(c, c_ssp, "UNDER_REVIEW")
    rejected = await api.post(
        f"/v1/review/{c_ssp}/decision",
        json={"decision": "REJECTED", "reason": "Income not as declared."},
        headers=staff,
    )
    assert rejected.status_code == 200, rejected.text
    await platform.status_becomes(c, c_ssp, "REJECTED")
    await cards_of(platform, b, 1)
    await cards_of(platform, a, 2)  # SSP-DEV and food support (electricity issues none)

    scope = [arg for person in (a, b, c) for arg in ("--citizen", person.id)]
    out = tmp_path / "reports"
    # Notifications go on publishing for a moment after the last decision: wait until a
    # replay of this scope reads the same events twice in a row.
    counts: list[int] = []

    async def settled() -> list[int]:
        _, report = await asyncio.to_thread(audit, "verify", *scope, out=out)
        counts.append(report["figures"]["events in scope"])
        return counts

    await eventually(settled, until=lambda n: len(n) > 1 and n[-1] == n[-2], timeout=600)

    # The audit's processes run side by side (each is a group-less reader of the topics).
    (code, verified), reproduced, compared, replayed, story = await asyncio.gather(
        asyncio.to_thread(audit, "verify", *scope, out=out),
        asyncio.to_thread(audit, "reproduce", *scope, out=out),
        asyncio.to_thread(audit, "compare", *scope, out=out),
        asyncio.to_thread(audit, "replay", *scope, out=out),
        asyncio.to_thread(audit, "timeline", b_ssp, out=out),
    )
    assert (code, failed(verified)) == (0, {})
    checked = {c["name"]: c["checked"] for c in verified["checks"]}
    assert checked["decisions"] >= 5 and checked["order"] >= 15 and checked["causation"] >= 20

    assert (reproduced[0], failed(reproduced[1])) == (0, {})
    assert reproduced[1]["figures"]["evaluations"] == 6  # five submissions and one appeal

    assert (compared[0], failed(compared[1])) == (0, {})
    assert {c["name"]: c["checked"] for c in compared[1]["checks"]} == {
        "applications": 5,
        "evaluations": 6,
        "cards": 3,
    }

    # Replaying twice (compare replays first) gives the same projections, row for row.
    first, second = compared[1], replayed[1]
    assert first["generation"] != second["generation"]
    async with admin_db.connect() as conn:
        for table in PROJECTIONS:
            rows = []
            for generation in (first["generation"], second["generation"]):
                found = await conn.execute(
                    text(f"SELECT * FROM audit.{table} WHERE generation_id = :g"),
                    {"g": uuid.UUID(generation)},
                )
                rows.append(sorted(tuple(r[1:]) for r in found))
            assert rows[0] == rows[1], table
            assert rows[0], table
        history = await conn.execute(
            text(
                "SELECT to_status FROM audit.status_history WHERE generation_id = :g"
                " AND application_id = :a ORDER BY seq"
            ),
            {"g": uuid.UUID(first["generation"]), "a": uuid.UUID(b_ssp)},
        )
        assert list(history.scalars()) == [
            "SUBMITTED",
            "UNDER_EVALUATION",
            "REJECTED",
            "APPEALED",
            "APPROVED",
        ]

    assert story[0] == 0
    kinds = [item["event_type"] for item in story[1]["timeline"]]
    assert kinds[:3] == ["ApplicationSubmitted", "EligibilityEvaluated", "DecisionIssued"]
    assert "AppealFiled" in kinds and all(i["correlation_id"] for i in story[1]["timeline"])

    # The same through the gateway, for auditors only.
    inspector = await platform.staff("auditor")
    body = {"citizens": [a.id, b.id, c.id]}
    answered = await api.post("/v1/audit/verify", json=body, headers=inspector, timeout=120)
    assert answered.status_code == 200, answered.text
    assert answered.json()["ok"] is True and answered.headers["x-audit-discrepancies"] == "0"
    for other in (staff, a.headers):
        assert (await api.post("/v1/audit/verify", json=body, headers=other)).status_code == 403
    assert (await api.post("/v1/audit/verify", json=body)).status_code == 401
    bad = await api.post("/v1/audit/verify", json={"citizens": ["x"]}, headers=inspector)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "body.citizens.0"

    # Tampering, each in a scope of its own, each caught.
    raw = await _raw_events(admin_db, first["generation"])
    # 1. A's food-support decision said again, contradicting its evaluation.
    food = next(
        e for e in raw if e["event_type"] == "DecisionIssued" and e["application_id"] == a_food
    )
    forged = await _envelope_of(provisioned.kafka, food)
    forged |= {"event_id": str(uuid.uuid4())}
    forged["payload"] |= {"decision_id": str(uuid.uuid4()), "decision": "REJECTED"}
    # 2. An event id used again for another event (one of B's decisions, other reasons).
    decision = next(
        e for e in raw if e["event_type"] == "DecisionIssued" and e["application_id"] == b_ssp
    )
    copy = await _envelope_of(provisioned.kafka, decision)
    copy["payload"] |= {"reasons": []}
    # 3. A card for C's rejected application.
    card = {
        "event_id": str(uuid.uuid4()),
        "event_type": "CardIssued",
        "schema_version": 1,
        "occurred_at": "2030-01-01T00:00:00+00:00",
        "producer": "cards",
        "key": c.id,
        "correlation_id": "tampered",
        "causation_id": None,
        "payload": {
            "card_id": str(uuid.uuid4()),
            "card_number": "4000000000000002",
            "citizen_id": c.id,
            "application_id": c_ssp,
            "program_code": "SSP-DEV",
            "issued_at": "2030-01-01T00:00:00+00:00",
            "expires_at": "2031-01-01",
        },
    }
    # 4. An envelope of a schema version nobody registered, for a citizen of its own.
    stranger = str(uuid.uuid4())
    future = card | {"event_id": str(uuid.uuid4()), "schema_version": 99, "key": stranger}
    future["payload"] = card["payload"] | {"citizen_id": stranger, "hologram": True}

    for topic, envelope in (
        (topics.DECISION_ISSUED, forged),
        (topics.DECISION_ISSUED, copy),
        (topics.CARD_ISSUED, card),
        (topics.CARD_ISSUED, future),
    ):
        await publish(producer, topic, envelope)
    contradicted, duplicated, carded, unknown = await asyncio.gather(
        *(
            asyncio.to_thread(audit, "verify", "--citizen", who, out=out)
            for who in (a.id, b.id, c.id, stranger)
        )
    )
    assert contradicted[0] == 1
    assert any("outcome eligible means APPROVED" in e for e in failed(contradicted[1])["decisions"])
    assert (duplicated[0], list(failed(duplicated[1]))) == (1, ["duplicates"])
    assert (carded[0], failed(carded[1])) == (
        1,
        {"order": ["card without approval: the application is REJECTED"]},
    )
    assert unknown[0] == 1
    assert failed(unknown[1])["schemas"] == ["unknown event type or version: CardIssued v99"]


async def _raw_events(db: AsyncEngine, generation: str) -> list[dict[str, Any]]:
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT * FROM audit.events WHERE generation_id = :g"),
            {"g": uuid.UUID(generation)},
        )
        return [
            {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r._mapping.items()}
            for r in found
        ]


async def _envelope_of(kafka: KafkaAccess, indexed: dict[str, Any]) -> dict[str, Any]:
    """The envelope as it is on its topic (the audit's index keeps no payloads)."""
    consumer = kafka_clients.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(indexed["topic"], indexed["partition"])
        consumer.assign([tp])
        consumer.seek(tp, indexed["offset"])
        message = await consumer.getone()
        envelope: dict[str, Any] = orjson.loads(message.value or b"{}")
        return envelope
    finally:
        await consumer.stop()
