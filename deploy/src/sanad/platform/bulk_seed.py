"""Citizens with a draft application each, seeded in bulk: for the fault tests and the load
benchmark, where registering thousands through OTP (argon2-bound, about 15/s) and filling
their profiles and drafts request by request would take minutes.

- each citizen's ``CitizenRegistered`` (version 3: the national ID as its keyed pseudonym,
  made with identity's key) is published on identity's topic, as identity does when an
  account is verified (profile creates the profile, notifications the contact);
- each citizen's filled-in household is published as ``ProfileUpdated`` version 2 (no
  contact, made from the whole profile as profile's ``to_event`` does; profile version
  ``PROFILE_VERSION``, so profile's own version 1 from the registration is older and
  ignored), as profile does once the citizen has filled in the sections. Every other citizen
  earns 900 SAR alone (SSP-DEV approves: a 200 SAR top-up, and a card), the others 5,000 SAR
  (rejected on income), unless told that all are approved;
- one SSP-DEV draft with the form and the four documents is made through the applications
  API (``template_draft``) and copied in the applications schema for every citizen, in one
  transaction (``copy_drafts``: rows only and the same documents; applications builds a
  copy's status view when it first needs it, and the benches store them first:
  ``bench/seeded_views.py``).
Tokens are signed with identity's signing key (the caller passes it), so every service
accepts them as identity's own. What a caller then submits goes through HTTP as a citizen's
app would.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.shared.auth import Role, TokenSigner
from sanad.shared.events import (
    CitizenRegisteredV3,
    DecisionIssuedV3,
    Envelope,
    ProfileUpdated,
    ProfileUpdatedV2,
)
from sanad.shared.events.applications import ProgramTerms, Reason
from sanad.shared.pseudonym import Pseudonyms

PROGRAM = "SSP-DEV"
DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")
PDF = b"%PDF-1.4\n% a scanned document, seeded in bulk\n%%EOF\n"
IBAN = "SA0380000000608010167519"
APPROVED_INCOME, REJECTED_INCOME = "900.00", "5000.00"
PROFILE_VERSION = 100


@dataclass
class Citizen:
    citizen_id: uuid.UUID
    national_id: str
    mobile: str
    email: str
    language: str
    approved: bool
    headers: dict[str, str] = field(default_factory=dict)
    application_id: uuid.UUID | None = None


def national_id(number: int) -> str:
    """A Saudi-format ID (starts with 1) with a valid Luhn check digit."""
    body = f"1{number:08d}"
    for digit in "0123456789":
        candidate = body + digit
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def citizens(
    count: int,
    tokens: TokenSigner | None,
    *,
    all_approved: bool = False,
    email_domain: str = "faults.example",
    token_ttl_seconds: int = 3600,
) -> list[Citizen]:
    """``count`` new citizens, every other one (or all) with an income SSP-DEV approves.
    Their mobiles are distinct among themselves; the sinks are read only from a run's start
    on. Without ``tokens`` they have no ``Authorization`` header (for work in process)."""
    numbers = random.sample(range(10**8), count)
    found = []
    for i, number in enumerate(numbers):
        citizen_id = uuid.uuid4()
        headers = {}
        if tokens is not None:
            token, _, _ = tokens.issue(str(citizen_id), Role.CITIZEN, ttl_seconds=token_ttl_seconds)
            headers["Authorization"] = f"Bearer {token}"
        found.append(
            Citizen(
                citizen_id=citizen_id,
                national_id=national_id(number),
                mobile=f"+9665{number:08d}",
                email=f"c{citizen_id.hex[:12]}@{email_domain}",
                language="ar" if i % 2 else "en",
                approved=all_approved or i % 2 == 0,
                headers=headers,
            )
        )
    assert len({c.mobile for c in found}) == count, "mobiles must be distinct"
    return found


def registered(citizen: Citizen, pseudonyms: Pseudonyms) -> CitizenRegisteredV3:
    """What identity publishes when the citizen's account is verified (no family)."""
    return CitizenRegisteredV3(
        citizen_id=citizen.citizen_id,
        national_id_ref=pseudonyms.of(citizen.national_id),
        full_name_ar="ليلى خالد",
        full_name_en="Layla Khaled",
        nationality="SA",
        sex="F",
        birth_date=date(1980, 1, 2),
        marital_status="widowed",
        mobile=citizen.mobile,
        email=citizen.email,
        language=citizen.language,
        registered_at=datetime.now(UTC),
    )


def household(citizen: Citizen) -> ProfileUpdatedV2:
    """What profile publishes once the sections are filled in: its whole view of the profile
    (version 1's shape, contact included) cut down to version 2, as ``Profile.to_event``."""
    payload = profile_payload(
        citizen.citizen_id,
        version=PROFILE_VERSION,
        income=APPROVED_INCOME if citizen.approved else REJECTED_INCOME,
        contact={"mobile": citizen.mobile, "email": citizen.email, "language": citizen.language},
    )
    return ProfileUpdated.model_validate(payload).upcast()


def profile_payload(
    citizen_id: uuid.UUID,
    *,
    version: int,
    income: str,
    contact: dict[str, Any],
    nationality: str = "SA",
    dependents: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A ProfileUpdated (version 1) payload: a widow's filled-in household, with
    ``dependents``, as JSON values (benchmarks and tests build their profiles from it)."""
    return {
        "citizen_id": str(citizen_id),
        "version": version,
        "registry": {
            "full_name_ar": "ليلى خالد",
            "full_name_en": "Layla Khaled",
            "sex": "F",
            "birth_date": "1980-01-02",
        },
        "contact": contact,
        "sections": {
            "personal": {"marital_status": "widowed", "nationality": nationality},
            "housing": {
                "region": "riyadh",
                "city": "Riyadh",
                "district": "Olaya",
                "national_address": "RRRD2929",
                "housing_type": "rented",
                "monthly_rent": "1500",
            },
            "income": {"sources": [{"type": "other", "monthly_amount": income, "payer": "x"}]},
            "employment": {"status": "unemployed"},
            "property": {"assets": []},
        },
        "dependents": list(dependents),
        "household": {
            "household_size": 1 + len(dependents),
            "total_monthly_income": income,
            "total_property_value": "0",
        },
        "completeness": {
            "personal": True,
            "housing": True,
            "income": True,
            "education": False,
            "employment": True,
            "licenses": False,
            "property": True,
            "dependents": True,
            "complete": False,
        },
    }


def form(citizen: Citizen) -> dict[str, object]:
    """The citizen's SSP-DEV draft form as seeded (the template's, with their own income)."""
    return {
        "monthly_income": APPROVED_INCOME if citizen.approved else REJECTED_INCOME,
        "family_size": 1,
        "employment_status": "unemployed",
        "payment": {"method": "iban", "iban": IBAN},
    }


# An approval as applications issues it: every criterion as a reason, the benefit, the
# program's terms (SSP-DEV issues a card on approval).
APPROVAL_REASONS = [
    Reason(code=code, reason_ar=f"استوفى شرط {code}", reason_en=f"meets the {code} criterion")
    for code in ("citizenship", "residence", "property", "income", "exclusive_programs")
]
PROGRAM_TERMS = ProgramTerms(
    name_ar="الضمان الاجتماعي المطور",
    name_en="Developed Social Security",
    card_on_approval=True,
    card_validity_days=365,
)


def approval(citizen: Citizen, application_id: uuid.UUID | None = None) -> DecisionIssuedV3:
    """The citizen's SSP-DEV application approved, as applications decides it (benches that
    feed a consumer what reaches it in the journey)."""
    return DecisionIssuedV3(
        decision_id=uuid.uuid4(),
        application_id=application_id or citizen.application_id or uuid.uuid4(),
        citizen_id=citizen.citizen_id,
        program_code=PROGRAM,
        decision="APPROVED",
        reasons=APPROVAL_REASONS,
        monthly_benefit=Decimal("200.00"),
        decided_by="eligibility",
        decided_at=datetime.now(UTC),
        rule_set_version="SSP-DEV@bench",
        evaluation_id=uuid.uuid4(),
        program=PROGRAM_TERMS,
    )


async def publish(producer: AIOKafkaProducer, envelopes: Iterable[Envelope]) -> None:
    sent = [
        await producer.send(e.topic, e.to_bytes(), key=e.key.encode(), headers=e.headers())
        for e in envelopes
    ]
    await asyncio.gather(*sent)


async def seed_profiles(
    producer: AIOKafkaProducer, people: list[Citizen], pseudonyms: Pseudonyms
) -> None:
    """Every citizen's CitizenRegistered, then every household's ProfileUpdated."""
    await publish(
        producer,
        (
            Envelope.wrap(registered(c, pseudonyms), producer="identity", correlation_id="seed")
            for c in people
        ),
    )
    await publish(
        producer,
        (Envelope.wrap(household(c), producer="profile", correlation_id="seed") for c in people),
    )


async def template_draft(
    http: httpx.AsyncClient, owner: Citizen, applications_url: str
) -> uuid.UUID:
    """One SSP-DEV draft, form and documents complete, made through the applications API."""
    base = f"{applications_url}/v1/applications"
    started = await http.post(base, json={"program_code": PROGRAM}, headers=owner.headers)
    assert started.status_code == 201, started.text
    application_id = started.json()["application_id"]
    saved = await http.put(
        f"{base}/{application_id}", json=form(replace(owner, approved=True)), headers=owner.headers
    )
    assert saved.status_code == 200, saved.text
    for number, kind in enumerate(DOCUMENTS):
        uploaded = await http.post(
            f"{base}/{application_id}/documents",
            data={"kind": kind},
            files={"file": (f"{kind}.pdf", PDF + bytes([number]), "application/pdf")},
            headers=owner.headers,
        )
        assert uploaded.status_code == 201, uploaded.text
    return uuid.UUID(application_id)


async def copy_drafts(db: AsyncEngine, template: uuid.UUID, people: list[Citizen]) -> None:
    """The template draft copied for every citizen (their own form income), in one
    transaction: the application, its four documents and its DRAFT history entry. (Their
    status views are built by applications when it first needs them.)"""
    for citizen in people:
        citizen.application_id = uuid.uuid4()
    params = {
        "template": template,
        "ids": [c.application_id for c in people],
        "citizens": [c.citizen_id for c in people],
        "incomes": [APPROVED_INCOME if c.approved else REJECTED_INCOME for c in people],
    }
    async with db.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO applications.applications (application_id, citizen_id,
                    program_code, status, status_since, form, submission_number,
                    created_at, updated_at)
                SELECT n.id, n.citizen, t.program_code, t.status, now(),
                    jsonb_set(t.form, '{monthly_income}', to_jsonb(n.income)), 0, now(), now()
                FROM applications.applications t,
                    unnest(CAST(:ids AS uuid[]), CAST(:citizens AS uuid[]),
                           CAST(:incomes AS text[])) AS n(id, citizen, income)
                WHERE t.application_id = :template
                """
            ),
            params,
        )
        await conn.execute(
            text(
                """
                INSERT INTO applications.documents (document_id, application_id, kind,
                    content_type, size_bytes, sha256, filename, uploaded_at)
                SELECT gen_random_uuid(), n.id, d.kind, d.content_type, d.size_bytes,
                    d.sha256, d.filename, now()
                FROM applications.documents d, unnest(CAST(:ids AS uuid[])) AS n(id)
                WHERE d.application_id = :template
                ORDER BY n.id, d.position
                """
            ),
            params,
        )
        await conn.execute(
            text(
                """
                INSERT INTO applications.status_history (application_id, from_status,
                    to_status, at, actor, actor_role, reasons)
                SELECT n.id, NULL, 'DRAFT', now(), n.citizen::text, 'citizen', '[]'::jsonb
                FROM unnest(CAST(:ids AS uuid[]), CAST(:citizens AS uuid[])) AS n(id, citizen)
                """
            ),
            params,
        )
