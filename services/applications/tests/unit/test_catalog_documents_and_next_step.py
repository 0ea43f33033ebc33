"""The seeded catalog, document sniffing, what a submission lacks, and the next step."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from sanad.applications.domain.application import Appeal, Application, next_step
from sanad.applications.domain.catalog import Program, ProgramDefinition
from sanad.applications.domain.documents import sniff
from sanad.applications.domain.form import ApplicationForm, missing_for_submission
from sanad.applications.domain.states import Status

SEED = Path(__file__).resolve().parents[2] / "migrations" / "seed" / "programs.json"
PROGRAMS = {p["code"]: Program.model_validate(p) for p in json.loads(SEED.read_text())}
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_seed_holds_the_four_programs_and_validates() -> None:
    assert set(PROGRAMS) == {"SSP-DEV", "FOOD-SUPPORT", "ELECTRICITY-SUPPORT", "IQ-SPN"}
    assert PROGRAMS["SSP-DEV"].mandatory_documents == [
        "national_id",
        "family_register",
        "proof_of_income",
        "bank_account",
    ]
    assert [c.code for c in PROGRAMS["IQ-SPN"].categories] == [
        "poor_families",
        "orphans",
        "widows_divorcees",
        "elderly_without_provider",
        "people_with_disabilities",
        "unemployed",
    ]
    for program in PROGRAMS.values():
        assert program.name_ar and program.name_en and program.conditions


def test_a_program_definition_refuses_repeated_document_kinds() -> None:
    data = PROGRAMS["SSP-DEV"].model_dump(exclude={"code", "version"})
    data["required_documents"] = data["required_documents"] * 2
    with pytest.raises(ValidationError, match="each code may appear once"):
        ProgramDefinition.model_validate(data)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"MZ\x90\x00\x03\x00", None),  # a Windows executable
        (b"\x7fELF\x02\x01", None),
        (b"PK\x03\x04", None),  # a zip (or docx)
        (b"<html>%PDF-", None),
        (b"", None),
    ],
)
def test_documents_are_judged_by_their_first_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


FULL = ApplicationForm.model_validate(
    {
        "monthly_income": "900",
        "family_size": 4,
        "employment_status": "unemployed",
        "payment": {"method": "iban", "iban": "SA0380000000608010167519"},
    }
)


def test_a_submission_lists_everything_missing() -> None:
    missing = missing_for_submission(
        ApplicationForm(), PROGRAMS["IQ-SPN"], {"national_id"}, has_profile=False
    )
    assert [m.field for m in missing] == [
        "form.monthly_income",
        "form.family_size",
        "form.employment_status",
        "form.payment",
        "form.category",
        "documents.family_register",
        "documents.category_proof",
        "profile",
    ]
    everything = {"national_id", "family_register", "proof_of_income", "bank_account"}
    assert missing_for_submission(FULL, PROGRAMS["SSP-DEV"], everything, has_profile=True) == []


def application(status: Status, **changes: object) -> Application:
    fields: dict[str, object] = {
        "application_id": uuid.uuid4(),
        "citizen_id": uuid.uuid4(),
        "program_code": "SSP-DEV",
        "status": status,
        "status_since": NOW,
        "form": ApplicationForm(),
        "created_at": NOW,
        "updated_at": NOW,
    } | changes
    return Application(**fields)  # type: ignore[arg-type]


def test_the_next_step() -> None:
    until = NOW + timedelta(days=30)
    assert next_step(application(Status.DRAFT), None, NOW).action == "submit"
    rejected = application(Status.REJECTED, appeal_until=until)
    assert next_step(rejected, None, NOW).action == "appeal"
    assert next_step(rejected, None, NOW).until == until
    assert next_step(rejected, None, until + timedelta(seconds=1)).action == "none"
    appealed_once = Appeal(uuid.uuid4(), rejected.application_id, "why", NOW)
    assert next_step(rejected, appealed_once, NOW).action == "none"
    completing = application(Status.NEEDS_COMPLETION, complete_by=until)
    assert next_step(completing, None, NOW).action == "complete_and_submit"
    assert next_step(completing, None, until + timedelta(days=1)).action == "none"
    for status in (Status.SUBMITTED, Status.UNDER_REVIEW, Status.APPEALED, Status.APPROVED):
        assert next_step(application(status), None, NOW).action == "none"
